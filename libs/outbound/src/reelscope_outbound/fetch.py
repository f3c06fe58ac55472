"""Download a URL a user gave us (a job's `source_url`) to local disk without letting it reach inside our network.

Every hop goes through the pinned client, so each connection is resolved, checked and pinned; redirects are
followed here, one at a time, each target checked the same way. The size limit is enforced while reading (a
too-large Content-Length is refused before the body), the time limit covers the whole download, and a failed
download leaves nothing at the destination: the body goes to a temporary file beside it, renamed on success."""

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpcore
import httpx

from reelscope_outbound._client import PinnedBackend, pinned_client
from reelscope_outbound._policy import UrlPolicy

REDIRECTS = frozenset({301, 302, 303, 307, 308})
TRANSIENT_STATUSES = frozenset({408, 425, 429})
HEADERS = {"Accept-Encoding": "identity", "User-Agent": "reelscope-fetch/0.1"}


class DownloadFailed(Exception):
    """The download did not complete; `reason` is for people, `transient` says whether a retry may succeed."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class DownloadTooLarge(DownloadFailed):
    """The body is (or says it is) larger than the limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, transient=False)


@dataclass(frozen=True)
class Downloaded:
    """A completed download: where it is, how big, and where it finally came from."""

    path: Path
    size_bytes: int
    url: str
    """The URL the body came from, after redirects."""
    content_type: str | None
    redirects: int


async def download(
    url: str,
    policy: UrlPolicy,
    destination: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    max_redirects: int = 3,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> Downloaded:
    """GET `url` into `destination`; raise OutboundRefused (and its AddressRefused, HostUnresolved) for a URL
    or redirect target the policy refuses, DownloadFailed for anything else. `backend` is the network layer
    under the pinning (tests record dials with it)."""
    part = _part_file(destination)
    try:
        async with asyncio.timeout(timeout_s):
            downloaded = await _follow(url, policy, part, max_bytes, timeout_s, max_redirects, backend)
        os.replace(part, destination)
        return Downloaded(destination, *downloaded)
    except TimeoutError:
        raise DownloadFailed(
            f"{policy.subject} did not finish downloading within {timeout_s:g} s", transient=True
        ) from None
    finally:
        part.unlink(missing_ok=True)


def _part_file(destination: Path) -> Path:
    """An empty temporary file beside `destination` (same filesystem, so the final rename is atomic)."""
    handle, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    os.close(handle)
    return Path(name)


async def _follow(
    url: str,
    policy: UrlPolicy,
    part: Path,
    max_bytes: int,
    timeout_s: float,
    max_redirects: int,
    backend: httpcore.AsyncNetworkBackend | None,
) -> tuple[int, str, str | None, int]:
    """Request `url`, following up to `max_redirects` redirects; (size, final URL, content type, redirects)."""
    pinned = PinnedBackend(policy, backend) if backend is not None else None
    async with pinned_client(policy, timeout=timeout_s, backend=pinned) as client:
        for hop in range(max_redirects + 1):
            await policy.check_url(url)  # scheme and address, before any connection (the dial checks again)
            try:
                async with client.stream("GET", url, headers=HEADERS) as response:
                    if response.status_code in REDIRECTS and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    _check_status(response, policy.subject)
                    size = await _save(response, part, max_bytes, policy.subject)
                    return size, str(response.url), response.headers.get("content-type"), hop
            except httpx.TimeoutException as exc:
                raise DownloadFailed(f"{policy.subject} timed out ({_said(exc)})", transient=True) from None
            except httpx.TransportError as exc:
                raise DownloadFailed(f"{policy.subject} could not be fetched: {_said(exc)}", transient=True) from None
    raise DownloadFailed(f"{policy.subject} redirects more than {max_redirects} times", transient=False)


def _check_status(response: httpx.Response, subject: str) -> None:
    if not response.is_success:
        status = response.status_code
        raise DownloadFailed(
            f"{subject} answered HTTP {status} {response.reason_phrase}".rstrip(),
            transient=status >= 500 or status in TRANSIENT_STATUSES,
        )


async def _save(response: httpx.Response, part: Path, max_bytes: int, subject: str) -> int:
    """Stream the body into `part`, refusing it once it is larger than `max_bytes`."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise DownloadTooLarge(f"{subject} is {int(declared):,} bytes; the limit is {max_bytes:,}")
    size = 0
    handle: BinaryIO = await asyncio.to_thread(part.open, "wb")
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise DownloadTooLarge(
                    f"{subject} is larger than the limit of {max_bytes:,} bytes (stopped reading there)"
                )
            await asyncio.to_thread(handle.write, chunk)
    finally:
        await asyncio.to_thread(handle.close)
    return size


def _said(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
