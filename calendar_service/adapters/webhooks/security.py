"""Which webhook targets we may connect to: scheme, URL form, and every address a name resolves to.

`AddressPolicy.check_url` runs when a subscription is registered; `AddressPolicy.connect_address` runs
inside the HTTP adapter on every attempt, so the address actually connected to is the one checked
(DNS can change between registration and delivery — "DNS rebinding").

`ipaddress` flags alone are not enough: an IPv6 address can carry an IPv4 one (mapped `::ffff:0:0/96`,
NAT64 `64:ff9b::/96` RFC 6052, 6to4 `2002::/16` RFC 3056, Teredo `2001::/32` RFC 4380), and
`inet_aton` accepts legacy IPv4 spellings (`2130706433`, `0177.0.0.1`, `0x7f.1`). Both are unwrapped or
refused here. The extra ranges requests-hardened maintains (CGNAT, NAT64, 6to4, …) are reused.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

from calendar_service.core.errors import UnsafeWebhookURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as text; raises OSError when it does not resolve
Resolver = Callable[[str, int], Sequence[str]]

# Cloud instance-metadata endpoints: refused even when private targets are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, …
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Legacy numeric host forms inet_aton accepts: 1 to 4 parts, each decimal, octal (0…) or hex (0x…).
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)
_DOTTED_QUAD = re.compile(r"^(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}$")


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve `host` with the operating system, TCP addresses only."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def redact_url(url: str) -> str:
    """`scheme://host:port/…` — drop userinfo, path and query, which may hold a token (Slack URLs do)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not parts.netloc:
        return "<not an absolute URL>"
    if ":" in host:
        host = f"[{host}]"
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{tail}"


class AddressPolicy:
    """Refuse webhook URLs and addresses that point inside our network or at cloud metadata."""

    def __init__(self, allow_private: bool = False, resolver: Resolver = system_resolver) -> None:
        # allow_private (TRADE_CALENDAR_ALLOW_PRIVATE_WEBHOOKS): loopback, RFC 1918, ULA, CGNAT and
        # link-local targets are allowed, for tests and local use. Still refused: schemes other than
        # http(s), userinfo, legacy numeric spellings, unspecified and multicast addresses, and the
        # cloud metadata addresses in METADATA_ADDRESSES.
        self.allow_private = allow_private
        self.resolver = resolver

    def __repr__(self) -> str:
        return f"AddressPolicy(allow_private={self.allow_private})"

    def check_url(self, url: str) -> None:
        """Raise UnsafeWebhookURL unless `url` is http(s), has no userinfo and every address is allowed."""
        host, port = self.split_url(url)
        literal = parse_literal(host)
        if literal is not None:
            self.check_address(literal, url)
            return
        try:
            addresses = self.resolver(host, port)
        except OSError as exc:
            raise UnsafeWebhookURL(redact_url(url), f"host {host!r} does not resolve ({exc})") from None
        if not addresses:
            raise UnsafeWebhookURL(redact_url(url), f"host {host!r} does not resolve")
        for text in addresses:
            self.check_address(ipaddress.ip_address(text.split("%")[0]), url)

    def split_url(self, url: str) -> tuple[str, int]:
        """Host (no brackets, lower case) and port of an acceptable URL; UnsafeWebhookURL otherwise."""
        shown = redact_url(url)
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UnsafeWebhookURL(shown, f"not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise UnsafeWebhookURL(shown, f"scheme {scheme or '(none)'!r} is not http or https")
        if "@" in parts.netloc:
            raise UnsafeWebhookURL(shown, "credentials in the URL (user:password@) are not allowed")
        if port == 0:  # urlsplit reads ":0" as port 0, which then fell back to the scheme's default
            raise UnsafeWebhookURL(shown, "port 0 is not a port a receiver can listen on — give its port")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UnsafeWebhookURL(shown, "the URL has no host")
        if _NUMERIC_HOST.match(host) and not _DOTTED_QUAD.match(host):
            raise UnsafeWebhookURL(shown, f"{host!r} is a non-standard IPv4 spelling; write a dotted quad")
        if not self.allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise UnsafeWebhookURL(shown, f"{host!r} is loopback (RFC 6761)")
        return host, port or (443 if scheme == "https" else 80)

    def connect_address(self, host: str, port: int, url: str = "") -> str:
        """Resolve `host` now, check every address, and return the one to connect to (pinned)."""
        literal = parse_literal(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            found = self.resolver(host, port)  # OSError propagates: a connection error, retried
            if not found:
                raise OSError(f"{host!r} resolved to no address")
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
        for address in addresses:
            self.check_address(address, url or f"http://{host}:{port}")
        return str(addresses[0])

    def check_address(self, address: IPAddress, url: str) -> None:
        """Raise UnsafeWebhookURL if connecting to `address` is not allowed."""
        reason = self.refusal(address)
        if reason:
            raise UnsafeWebhookURL(redact_url(url), reason)

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` is refused, or None when it is allowed."""
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = self.refusal(embedded)
            if inner:
                return f"{address} embeds {embedded}: {inner}"
        if address in METADATA_ADDRESSES:
            return f"{address} is a cloud metadata address"
        if address.is_unspecified:
            return f"{address} is the unspecified address"
        if address.is_multicast:
            return f"{address} is a multicast address"
        if self.allow_private:
            return None
        for flag in ("loopback", "private", "link_local", "reserved"):
            if getattr(address, f"is_{flag}"):
                return f"{address} is a {flag.replace('_', '-')} address"
        if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
            return f"{address} is a site-local address"
        for network in EXTRA_BLOCKED_NET_RANGES:
            if address.version == network.version and address in network:
                return f"{address} is in the special-purpose range {network}"
        if not address.is_global:
            return f"{address} is not a globally routable address"
        return None


def parse_literal(host: str) -> IPAddress | None:
    """The address `host` spells literally (brackets and an IPv6 zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None
