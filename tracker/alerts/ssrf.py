"""The one guarded way to POST to a user-supplied URL (webhooks).

A webhook URL is checked when it is saved and again at connect time: http or https, an allowed
port, and every address the host resolves to globally routable (not loopback, private,
link-local, CGNAT, multicast, reserved, nor such an address inside NAT64, IPv4-mapped, 6to4 or
Teredo IPv6). The request then connects to the very address that was checked (so a DNS answer
that changes in between cannot redirect it) and sends the name as Host header and TLS SNI.
Redirects are never followed: a 3xx is a failed delivery.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class UnsafeURL(ValueError):
    """The URL may not be requested; the message says why, for the person who entered it."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def parse(url: str) -> Target:
    """Split and check the URL's form (scheme, host, port). Raises UnsafeURL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("only http:// and https:// URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host name")
    if parts.username or parts.password:
        raise UnsafeURL("credentials in the URL are not allowed; use the signature instead")
    port = port or (443 if parts.scheme == "https" else 80)
    if port not in settings.ALERTS_WEBHOOK_PORTS:
        allowed = ", ".join(str(p) for p in settings.ALERTS_WEBHOOK_PORTS)
        raise UnsafeURL(f"port {port} is not allowed (allowed: {allowed})")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path)


def _allowed_by_operator(ip: IPAddress) -> bool:
    return any(
        ip in ipaddress.ip_network(net, strict=False)
        for net in settings.ALERTS_WEBHOOK_ALLOW_NETWORKS
        if ipaddress.ip_network(net, strict=False).version == ip.version
    )


def check_address(ip: IPAddress) -> None:
    """Raise UnsafeURL unless `ip` is globally routable (or in an operator-allowed network)."""
    if _allowed_by_operator(ip):
        return
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL:
            raise UnsafeURL(f"{ip} is a local-use NAT64 address")
        if ip.teredo is not None or ip.sixtofour is not None:
            raise UnsafeURL(f"{ip} is a 6to4/Teredo tunnel address")
        inner = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None
        )
        if inner is not None:  # IPv4-mapped or NAT64: judged by the IPv4 address inside
            try:
                check_address(inner)
            except UnsafeURL:
                raise UnsafeURL(f"{ip} embeds the non-public address {inner}") from None
            return
    if ip in CGNAT or not ip.is_global or ip.is_multicast or ip.is_reserved:
        raise UnsafeURL(f"{ip} is not a public internet address")


def lookup(host: str, port: int) -> list[IPAddress]:
    """Every address DNS gives for `host` (the tests replace this to play DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def resolve(target: Target) -> list[IPAddress]:
    """Every address the host resolves to, each checked. Raises UnsafeURL if any is unsafe."""
    try:
        literal = ipaddress.ip_address(target.host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = lookup(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeURL(f"cannot resolve {target.host}: {exc}") from None
    if not addresses:
        raise UnsafeURL(f"{target.host} has no address")
    for ip in addresses:
        check_address(ip)
    return addresses


def check_url(url: str) -> Target:
    """The save-time check: the URL's form and its host's current addresses."""
    target = parse(url)
    resolve(target)
    return target


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to a checked address while keeping the name for the Host header."""

    def __init__(self, host: str, port: int, ip: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._ip), self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to a checked address, with the name as SNI and for certificate verification."""

    def __init__(self, host: str, port: int, ip: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((str(self._ip), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST `body` to `url` after checking it again; never follows a redirect.

    Raises UnsafeURL before any connection is made if the URL or an address is unsafe, and
    OSError / http.client.HTTPException on network failure or timeout.
    """
    target = parse(url)
    ip = resolve(target)[0]
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target.host, target.port, ip, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        reply = conn.getresponse()
        return Response(reply.status, reply.read(65536))
    finally:
        conn.close()
