"""`/v1/keys`: API keys managed over HTTP by a key with the `admin` scope (the same operations as
`python -m reelscope_ingest.keys`, for operators who cannot exec into a pod). A new key is in the answer once."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from reelscope_ingest.api.auth import AdminDep
from reelscope_ingest.api.deps import StateDep
from reelscope_ingest.api.problems import (
    BAD_REQUEST,
    INSUFFICIENT_SCOPE,
    KEY_NOT_FOUND,
    UNAUTHENTICATED,
    VALIDATION_ERROR,
    ApiProblem,
    problem_responses,
)
from reelscope_ingest.core.db import ApiKeyRow
from reelscope_ingest.core.keys import DEFAULT_TENANT, TENANT_PATTERN, KeyNotFound, Scope

router = APIRouter(prefix="/v1/keys", tags=["keys"])

KeyId = Annotated[str, Path(pattern=r"^[a-z0-9]{12}$", description="The key's id (its prefix without `rsk_`)")]


class KeyRequest(BaseModel):
    """A key to make: its name, tenant, scopes, and optional limits and notification targets of its own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    tenant: str = Field(default=DEFAULT_TENANT, pattern=TENANT_PATTERN)
    scopes: list[Literal["submit", "read", "admin"]] = Field(default=["submit", "read"], min_length=1)
    submissions_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    max_concurrent_jobs: int | None = Field(default=None, ge=1, le=100_000)
    storage_quota_bytes: int | None = Field(default=None, ge=1024, le=2**62)
    slack_webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https://\S+$", description="A Slack incoming-webhook URL (https)"
    )
    email_to: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class KeyView(BaseModel):
    """What is known of a key: never its secret nor its hash."""

    id: str
    prefix: str
    name: str
    tenant: str
    scopes: list[str]
    revoked: bool
    signing_generations: list[int]
    submissions_per_minute: int | None
    max_concurrent_jobs: int | None
    storage_quota_bytes: int | None


class NewKey(KeyView):
    """A key just made: `key` is shown this once."""

    key: str


def _view(row: ApiKeyRow) -> KeyView:
    return KeyView(
        id=row.id,
        prefix=f"rsk_{row.id}",
        name=row.name,
        tenant=row.tenant,
        scopes=row.scopes,
        revoked=row.revoked_at is not None,
        signing_generations=row.signing_generations,
        submissions_per_minute=row.submissions_per_minute,
        max_concurrent_jobs=row.max_concurrent_jobs,
        storage_quota_bytes=row.storage_quota_bytes,
    )


_AUTH = (UNAUTHENTICATED, INSUFFICIENT_SCOPE)


@router.get("", response_model=list[KeyView], responses=problem_responses(*_AUTH))
async def list_keys(state: StateDep, admin: AdminDep) -> list[KeyView]:
    """Every key, oldest first, revoked ones included."""
    return [_view(row) for row in await state.keys.list()]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewKey,
    responses=problem_responses(*_AUTH, BAD_REQUEST, VALIDATION_ERROR),
)
async def create_key(request: KeyRequest, state: StateDep, admin: AdminDep) -> NewKey:
    """Make a key; the answer holds it once (store it: it cannot be shown again)."""
    issued = await state.keys.create(
        request.name,
        request.tenant,
        [Scope(s) for s in request.scopes],
        submissions_per_minute=request.submissions_per_minute,
        max_concurrent_jobs=request.max_concurrent_jobs,
        storage_quota_bytes=request.storage_quota_bytes,
        slack_webhook_url=request.slack_webhook_url,
        email_to=request.email_to,
    )
    return NewKey(**_view(issued.row).model_dump(), key=_reveal(issued.secret))


def _reveal(secret: SecretStr) -> str:
    return secret.get_secret_value()


@router.delete(
    "/{key_id}", response_model=KeyView, responses=problem_responses(*_AUTH, KEY_NOT_FOUND, VALIDATION_ERROR)
)
async def revoke_key(key_id: KeyId, state: StateDep, admin: AdminDep) -> KeyView:
    """Revoke a key at once: its next request answers 401. Revoking again is harmless."""
    try:
        return _view(await state.keys.revoke(key_id))
    except KeyNotFound:
        raise ApiProblem(KEY_NOT_FOUND, f"no API key with id {key_id}") from None
