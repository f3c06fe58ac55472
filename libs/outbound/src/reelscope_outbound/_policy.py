"""Which addresses an outbound request may reach: resolve the host, refuse any non-global address.

`ipaddress`'s `is_global` is the basis; multicast, site-local and IPv4-mapped IPv6 are checked explicitly
because `is_global` alone lets some of them through on Python 3.11."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
from pydantic import Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolve (host, port) to addresses; raises OSError (e.g. socket.gaierror) when the host does not resolve."""

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_METADATA = ipaddress.IPv4Address("169.254.169.254")


class OutboundRefused(Exception):
    """An outbound URL we will not call; `reason` says why, for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressRefused(OutboundRefused):
    """The host resolves to an address outside the public internet (and outside the allowlist): final."""


class HostUnresolved(OutboundRefused):
    """The host did not resolve (or not in time); at delivery time this may pass."""


class OutboundSettings(BaseSettings):
    """Which private networks webhooks, and separately source downloads, may reach anyway, and how long a
    resolution may take."""

    model_config = SettingsConfigDict(env_prefix="REELSCOPE_", extra="ignore")

    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='CIDRs webhooks may reach although not public, e.g. ["127.0.0.0/8"] for a local stack',
    )
    webhook_resolve_timeout_s: float = Field(default=5.0, gt=0, le=60, description="Longest a DNS lookup may take")
    source_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description=(
            "CIDRs a job's source_url may be downloaded from although not public; separate from the webhook "
            "allowlist because a download reads the answer back, a webhook only posts"
        ),
    )


def describe(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("a loopback address"), or None for a global address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        inner = describe(address.ipv4_mapped)
        return f"an IPv4-mapped {inner.removeprefix('a ').removeprefix('an ')}" if inner else None
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address == _METADATA, "a link-local address (the cloud metadata service)"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared (carrier-grade NAT) address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local address"),
        (
            isinstance(address, ipaddress.IPv6Address) and address.is_private and address.packed[0] & 0xFE == 0xFC,
            "a unique local (private) address",
        ),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a special-purpose (non-global) address"),
    ]
    return next((kind for refused, kind in checks if refused), None)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver, run without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _shown(address: IPAddress) -> str:
    """The address as people write it (`::ffff:127.0.0.1`, not `::ffff:7f00:1`)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


@dataclass(frozen=True)
class UrlPolicy:
    """Resolve-and-check for one kind of outbound URL (`subject` names it in reasons)."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    resolve_timeout_s: float = 5.0
    resolver: Resolver = system_resolver
    subject: str = "webhook_url"

    @classmethod
    def from_settings(cls, settings: OutboundSettings, resolver: Resolver = system_resolver) -> "UrlPolicy":
        """The webhook policy the settings describe."""
        return cls(tuple(settings.webhook_allowed_networks), settings.webhook_resolve_timeout_s, resolver)

    @classmethod
    def for_sources(cls, settings: OutboundSettings, resolver: Resolver = system_resolver) -> "UrlPolicy":
        """The policy for downloading a job's `source_url` (its own allowlist, the same DNS time limit)."""
        return cls(tuple(settings.source_allowed_networks), settings.webhook_resolve_timeout_s, resolver, "source_url")

    def _allowed(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a.version == n.version and a in n for a in candidates for n in self.allowed_networks)

    def check_address(self, address: IPAddress) -> None:
        """Raise AddressRefused unless the address is public or allowlisted."""
        kind = describe(address)
        if kind is not None and not self._allowed(address):
            shown = _shown(address)
            raise AddressRefused(f"{self.subject} resolves to {shown}, {kind}; only public addresses are allowed")

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of the host, each checked; raises AddressRefused or HostUnresolved."""
        literal = _literal(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                async with asyncio.timeout(self.resolve_timeout_s):
                    addresses = list(dict.fromkeys(await self.resolver(host, port)))
            except TimeoutError:
                raise HostUnresolved(
                    f"{self.subject} host {host} did not resolve within {self.resolve_timeout_s:g} s"
                ) from None
            except (OSError, UnicodeError) as exc:
                raise HostUnresolved(f"{self.subject} host {host} does not resolve: {exc}") from None
            if not addresses:
                raise HostUnresolved(f"{self.subject} host {host} resolves to no address")
        for address in addresses:
            self.check_address(address)
        return addresses

    async def check_url(self, url: str) -> list[IPAddress]:
        """Resolve an http(s) URL's host and check every address it resolves to."""
        try:
            parsed = httpx.URL(url)
            host = parsed.raw_host.decode("ascii")
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise OutboundRefused(f"{self.subject} is not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not host:
            raise OutboundRefused(f"{self.subject} must be an absolute http(s) URL")
        return await self.resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
