"""boto3's errors in our terms: a missing object is `ObjectNotFound`, anything else a `StorageError` whose message
says what failed in words. Messages name the bucket, key and endpoint, never credentials."""

from boto3.exceptions import Boto3Error
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable

from reelscope_storage.errors import ObjectNotFound, StorageError

S3_ERRORS = (BotoCoreError, ClientError, Boto3Error, OSError)
"""What a boto3 call can raise: botocore's own errors, the service's answers, s3transfer's wrappers, local I/O."""

NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
NO_BUCKET = frozenset({"NoSuchBucket"})
DENIED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
)


def error_code(exc: BaseException) -> str:
    """The S3 error code (`NoSuchKey`, `403`, ...) behind `exc`, or an empty string."""
    cause = root_cause(exc)
    return str(cause.response.get("Error", {}).get("Code", "")) if isinstance(cause, ClientError) else ""


def root_cause(exc: BaseException) -> BaseException:
    """The botocore error under boto3's transfer wrappers (`S3UploadFailedError`, `RetriesExceededError`)."""
    seen: set[int] = set()
    while id(exc) not in seen and not isinstance(exc, BotoCoreError | ClientError):
        seen.add(id(exc))
        underneath = getattr(exc, "last_exception", None) or exc.__cause__ or exc.__context__
        if not isinstance(underneath, BaseException):
            break
        exc = underneath
    return exc


def storage_error(exc: BaseException, action: str, subject: str, bucket: str) -> StorageError:
    """Our error for `exc`, raised while trying to `action` (`read`, `upload`, ...) `subject` (a key or prefix)."""
    cause = root_cause(exc)
    failed = f"could not {action} {subject} in bucket {bucket!r}"
    code = error_code(cause)
    if code in NOT_FOUND:
        return ObjectNotFound(f"no object {subject}")
    if code in NO_BUCKET:
        return StorageError(f"{failed}: the bucket does not exist")
    if code in DENIED:
        return StorageError(f"{failed}: access denied ({code}); check the AWS credentials and the bucket policy")
    if isinstance(cause, ClientError):
        message = cause.response.get("Error", {}).get("Message", "")
        return StorageError(f"{failed}: S3 answered {code or 'an error'}{f': {message}' if message else ''}")
    if isinstance(cause, NoCredentialsError):
        return StorageError(f"{failed}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    if isinstance(cause, ReadTimeoutError):
        return StorageError(f"{failed}: the S3 endpoint stopped answering ({cause})")
    if isinstance(cause, EndpointUnreachable):
        return StorageError(f"{failed}: the S3 endpoint is unreachable ({cause})")
    if isinstance(cause, OSError):
        return StorageError(f"{failed}: {cause.strerror or cause}")
    return StorageError(f"{failed}: {cause}")
