"""Outbound HTTP to addresses users give us (webhooks) without server-side request forgery.

A URL's host is resolved and refused when any of its addresses is not globally routable (loopback,
link-local and cloud metadata, private, shared/CGNAT, multicast, unspecified, reserved, …) unless an explicit
allowlist admits it; the HTTP client then dials exactly the address that was checked (no DNS-rebinding window)
and never follows redirects."""

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

__all__ = [
    "AddressRefused",
    "HostUnresolved",
    "IPAddress",
    "OutboundRefused",
    "OutboundSettings",
    "PinnedBackend",
    "Resolver",
    "UrlPolicy",
    "describe",
    "pinned_client",
    "system_resolver",
]
