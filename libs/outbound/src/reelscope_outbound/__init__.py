"""Outbound HTTP to addresses users give us (webhooks) without server-side request forgery.

A URL's host is resolved and refused when any of its addresses is not globally routable (loopback,
link-local and cloud metadata, private, shared/CGNAT, multicast, unspecified, reserved, …) unless an explicit
allowlist admits it; the HTTP client then dials exactly the address that was checked (no DNS-rebinding window)
and never follows redirects. Deliveries are signed (`signature_header`), per API key when there is one
(`key_signing_secret`). `download` fetches a user-given URL the same way, each redirect checked again, bounded
in size and time."""

from reelscope_outbound._client import PinnedBackend, pinned_client
from reelscope_outbound._policy import (
    AddressRefused,
    HostUnresolved,
    IPAddress,
    OutboundRefused,
    OutboundSettings,
    Resolver,
    UrlPolicy,
    describe,
    system_resolver,
)
from reelscope_outbound.fetch import Downloaded, DownloadFailed, DownloadTooLarge, download
from reelscope_outbound.signing import (
    SIGNATURE_HEADER,
    SigningSettings,
    delivery_secrets,
    key_signing_secret,
    signature,
    signature_header,
)

__all__ = [
    "SIGNATURE_HEADER",
    "AddressRefused",
    "DownloadFailed",
    "DownloadTooLarge",
    "Downloaded",
    "HostUnresolved",
    "IPAddress",
    "OutboundRefused",
    "OutboundSettings",
    "PinnedBackend",
    "Resolver",
    "SigningSettings",
    "UrlPolicy",
    "delivery_secrets",
    "describe",
    "download",
    "key_signing_secret",
    "pinned_client",
    "signature",
    "signature_header",
    "system_resolver",
]
