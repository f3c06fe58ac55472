"""Which webhook URLs the policy refuses: every non-public address (literal or resolved), unless allowlisted."""

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import pytest
from reelscope_outbound import AddressRefused, HostUnresolved, IPAddress, OutboundRefused, OutboundSettings, UrlPolicy

pytestmark = pytest.mark.unit

REFUSED = [
    ("http://127.0.0.1/hook", "127.0.0.1, a loopback address"),
    ("http://[::1]/hook", "::1, a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address (the cloud metadata service)"),
    ("http://10.0.0.1/hook", "10.0.0.1, a private address"),
    ("http://172.16.0.1/hook", "172.16.0.1, a private address"),
    ("http://192.168.1.1/hook", "192.168.1.1, a private address"),
    ("http://100.64.0.1/hook", "100.64.0.1, a shared (carrier-grade NAT) address"),
    ("http://0.0.0.0/hook", "0.0.0.0, an unspecified address"),
    ("http://[::]/hook", "::, an unspecified address"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1, an IPv4-mapped loopback address"),
    ("http://[fd00::1]/hook", "fd00::1, a unique local (private) address"),
    ("http://[fec0::1]/hook", "fec0::1, a site-local address"),
    ("http://[fe80::1]/hook", "fe80::1, a link-local address"),
    ("http://224.0.0.1/hook", "224.0.0.1, a multicast address"),
    ("http://[ff02::1]/hook", "ff02::1, a multicast address"),
    ("http://localhost:8080/hook", ", a loopback address"),
]


def _resolver(answers: dict[str, list[str]]) -> "StubResolver":
    return StubResolver(answers)


class StubResolver:
    """Answers fixed addresses per host and counts the lookups."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@pytest.mark.parametrize(("url", "expected"), REFUSED)
async def test_non_public_addresses_are_refused_with_the_reason(url: str, expected: str) -> None:
    """Each non-global address (literal, IPv4-mapped, or `localhost` through the real resolver) is refused, and
    the reason names the address and its kind."""
    with pytest.raises(AddressRefused) as refused:
        await UrlPolicy().check_url(url)
    assert refused.value.reason.startswith("webhook_url resolves to ")
    assert expected in refused.value.reason
    assert refused.value.reason.endswith("; only public addresses are allowed")


async def test_a_public_literal_passes_without_any_lookup() -> None:
    """A public IP literal is accepted without asking the resolver (no network needed)."""
    resolver = _resolver({})
    assert await UrlPolicy(resolver=resolver).check_url("https://93.184.215.14/hook") == [
        ipaddress.ip_address("93.184.215.14")
    ]
    assert resolver.calls == []


async def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    """ANY refused address refuses the host: a name answering a public and a private address is refused."""
    policy = UrlPolicy(resolver=_resolver({"mixed.example": ["93.184.215.14", "10.1.2.3"]}))
    with pytest.raises(AddressRefused, match=r"10\.1\.2\.3, a private address"):
        await policy.check_url("https://mixed.example/hook")


async def test_a_public_hostname_passes_with_its_port() -> None:
    """A name resolving to public addresses only passes; the resolver is asked for the URL's port."""
    resolver = _resolver({"hooks.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    addresses = await UrlPolicy(resolver=resolver).check_url("https://hooks.example:8443/x")
    assert len(addresses) == 2
    assert resolver.calls == [("hooks.example", 8443)]


async def test_the_allowlist_admits_loopback_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """REELSCOPE_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"] admits 127.0.0.1, but still refuses 10.0.0.1."""
    monkeypatch.setenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    policy = UrlPolicy.from_settings(OutboundSettings())
    assert await policy.check_url("http://127.0.0.1:9/hook") == [ipaddress.ip_address("127.0.0.1")]
    assert await policy.check_url("http://[::ffff:127.0.0.1]:9/hook")  # the mapped form is the same host
    with pytest.raises(AddressRefused):
        await policy.check_url("http://10.0.0.1/hook")


def test_the_allowlist_is_empty_by_default_and_rejects_bad_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    """No allowlist unless configured; a malformed CIDR refuses to start."""
    monkeypatch.delenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", raising=False)
    assert OutboundSettings().webhook_allowed_networks == []
    monkeypatch.setenv("REELSCOPE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/33"]')
    with pytest.raises(ValueError, match="webhook_allowed_networks"):
        OutboundSettings()


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    """A name with no address is HostUnresolved, naming the host."""
    with pytest.raises(HostUnresolved, match=r"webhook_url host nowhere\.invalid does not resolve"):
        await UrlPolicy(resolver=_resolver({})).check_url("https://nowhere.invalid/hook")


async def test_resolution_is_bounded_in_time() -> None:
    """A resolver that hangs is given up after resolve_timeout_s."""

    async def hanging(host: str, port: int) -> Sequence[IPAddress]:
        await asyncio.sleep(30)
        return []

    with pytest.raises(HostUnresolved, match=r"did not resolve within 0\.2 s"):
        await UrlPolicy(resolve_timeout_s=0.2, resolver=hanging).check_url("https://slow.example/hook")


@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "file:///etc/passwd", "http:///nohost"])
async def test_only_http_urls_with_a_host_are_checked(url: str) -> None:
    """Other schemes, or a URL without a host, are refused before any lookup."""
    with pytest.raises(OutboundRefused):
        await UrlPolicy(resolver=_resolver({})).check_url(url)
