"""Stream a multipart upload straight to storage, enforcing the size limit while reading, so an
oversized body is refused with 413 long before it is all received (and nothing is buffered in memory)."""

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

FILE_FIELD = "file"
SOURCE_FIELD = "source_url"
MAX_FIELD_BYTES = 8192
MAX_FIELDS = 16


class UploadError(Exception):
    """The request body is not an acceptable upload; `status_code` says which 4xx."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class ReceivedUpload:
    """The stored file and the form's text fields."""

    path: Path
    filename: str | None
    """None when the form gave a `source_url` instead of a file (nothing is at `path` then)."""
    size: int
    fields: dict[str, str] = field(default_factory=dict)


def safe_suffix(filename: str) -> str:
    """A file extension we are willing to write to disk (`.mp4`), or `.bin`."""
    match = re.search(r"\.([A-Za-z0-9]{1,8})$", filename)
    return f".{match.group(1).lower()}" if match else ".bin"


class _Collector:
    """Callbacks for python-multipart's push parser: route the `file` part to disk, others to memory."""

    def __init__(self, destination: Path, max_bytes: int) -> None:
        self.destination = destination
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self.pending: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._header_field = b""
        self._header_value = b""
        self._part_name: str | None = None
        self._part_is_file = False
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        # latin-1 keeps the raw bytes (parse_options_header encodes back to latin-1); names are decoded as UTF-8 after
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_field = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        self._part_name = params.get(b"name", b"").decode("utf-8", "replace")
        self._part_is_file = self._part_name == FILE_FIELD
        if self._part_is_file:
            if self.filename is not None:
                raise UploadError(422, f"only one '{FILE_FIELD}' part is allowed")
            self.filename = params.get(b"filename", b"upload").decode("utf-8", "replace")[:255] or "upload"
        elif len(self.fields) >= MAX_FIELDS:
            raise UploadError(422, "too many form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_is_file:
            self.size += end - start
            if self.size > self.max_bytes:
                raise UploadError(413, f"upload exceeds the limit of {self.max_bytes} bytes")
            self.pending.append(data[start:end])
        else:
            self._field_value += data[start:end]
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise UploadError(422, f"form field '{self._part_name}' is longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if not self._part_is_file and self._part_name:
            self.fields[self._part_name] = self._field_value.decode("utf-8", "replace")
        self._field_value = bytearray()
        self._headers = {}
        self._part_name = None
        self._part_is_file = False


async def _flush(sink: BinaryIO, pending: list[bytes]) -> None:
    if pending:
        chunk = b"".join(pending)
        pending.clear()
        await asyncio.to_thread(sink.write, chunk)


async def receive_upload(
    content_type: str,
    content_length: str | None,
    body: AsyncIterator[bytes],
    destination: Path,
    max_bytes: int,
) -> ReceivedUpload:
    """Parse a `multipart/form-data` body, writing the `file` part to `destination`.

    Raises `UploadError` (415, 411-free 413, 422) and removes any partial file on failure.
    """
    mime, params = parse_options_header(content_type)
    if mime != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(415, "send the video as multipart/form-data with a 'file' part")
    if content_length and content_length.isdigit() and int(content_length) > max_bytes + 64 * 1024:
        raise UploadError(413, f"upload exceeds the limit of {max_bytes} bytes")
    collector = _Collector(destination, max_bytes)
    parser = MultipartParser(
        params[b"boundary"],
        callbacks={
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
        },
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with destination.open("wb") as sink:
            try:
                async for chunk in body:
                    try:
                        parser.write(chunk)
                    except MultipartParseError as exc:
                        raise UploadError(422, f"malformed multipart body: {exc}") from exc
                    await _flush(sink, collector.pending)
            except ClientDisconnect:
                # The client's fault, not a server error (nobody reads the answer, but its span, log line and the
                # API error-rate SLI must not count a 500).
                raise UploadError(422, "the client closed the connection before the upload was complete") from None
            try:
                parser.finalize()
            except MultipartParseError as exc:
                raise UploadError(422, f"malformed multipart body: {exc}") from exc
            await _flush(sink, collector.pending)
        source = collector.fields.get(SOURCE_FIELD, "").strip()
        if collector.filename is None and not source:
            raise UploadError(
                422, f"send the video as the multipart field '{FILE_FIELD}', or its URL as '{SOURCE_FIELD}'"
            )
        if collector.filename is not None and source:
            raise UploadError(422, f"send either a '{FILE_FIELD}' or a '{SOURCE_FIELD}', not both")
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    if collector.filename is None:
        destination.unlink(missing_ok=True)  # nothing was uploaded: the caller downloads `source_url` here
    return ReceivedUpload(destination, collector.filename, collector.size, collector.fields)
