"""Every unsafe webhook URL is refused before any connection is made: a listening socket on
loopback proves that nothing connected to it."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tracker.alerts import channels, ssrf
from tracker.alerts.forms import RuleForm
from tracker.alerts.models import Subscriber, WebhookEndpoint


class Listener:
    """A listening socket that never accepts; `connected()` says whether anyone connected."""

    def __init__(self, family: int, host: str) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])

    def connected(self) -> bool:
        self.sock.setblocking(False)
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


@pytest.fixture
def listener(settings) -> Iterator[Listener]:
    """Loopback listener on IPv4 and IPv6, its port allowed, its addresses not."""
    v4 = Listener(socket.AF_INET, "127.0.0.1")
    settings.ALERTS_WEBHOOK_PORTS = [80, 443, v4.port]
    settings.ALERTS_WEBHOOK_ALLOW_NETWORKS = []
    yield v4
    v4.sock.close()


LOOPBACK_FORMS = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://127.1:{port}/hook",
    "http://2130706433:{port}/hook",
    "http://0x7f000001:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://[64:ff9b::127.0.0.1]:{port}/hook",
    "https://127.0.0.1:{port}/hook",
]


@pytest.mark.parametrize("url", LOOPBACK_FORMS)
def test_loopback_in_any_spelling_is_refused_without_connecting(listener, url):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.post(url.format(port=listener.port), b"{}", {}, timeout=2)
    assert not listener.connected()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "100.127.255.254", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "240.0.0.1",  # noqa: S104
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::a00:1", "64:ff9b::6440:1", "64:ff9b:1::1",
        "2002:7f00:1::1", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address):
    ssrf.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/", "only http"),
        ("file:///etc/passwd", "only http"),
        ("gopher://example.com/", "only http"),
        ("http://example.com:8080/", "port 8080"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///nohost", "no host"),
    ],
)
def test_bad_url_forms_are_refused(url, why):
    with pytest.raises(ssrf.UnsafeURL, match=why):
        ssrf.parse(url)


def test_a_name_with_one_private_address_among_public_ones_is_refused(listener, monkeypatch):
    answers = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("127.0.0.1")]
    monkeypatch.setattr(ssrf, "lookup", lambda host, port: answers)
    with pytest.raises(ssrf.UnsafeURL, match=r"127\.0\.0\.1"):
        ssrf.post(f"http://mixed.example:{listener.port}/", b"{}", {}, timeout=2)
    assert not listener.connected()


def test_a_name_that_now_resolves_privately_is_refused_at_connect_time(listener, monkeypatch, db):
    """DNS rebinding: the URL passed when saved, and resolves to loopback when used."""
    subscriber = Subscriber.objects.create(email="a@example.org")
    endpoint = WebhookEndpoint.objects.create(
        subscriber=subscriber, url=f"http://rebind.example:{listener.port}/"
    )
    monkeypatch.setattr(ssrf, "lookup", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    entry = channels.Item(1, 1, "t", "d", {})
    with pytest.raises(channels.DeliveryError) as refused:
        channels.send_webhook(
            endpoint, endpoint.rules.model(pk=1, target="all", condition="any"), entry
        )
    assert refused.value.permanent
    assert not listener.connected()


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(settings, monkeypatch):
    """Pinning: connect to the address that was checked, send the name in the Host header."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    settings.ALERTS_WEBHOOK_PORTS = [port]
    settings.ALERTS_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr(ssrf, "lookup", lambda host, port: [ipaddress.ip_address("127.0.0.1")])
    seen: list[bytes] = []

    def answer() -> None:
        conn, _ = server.accept()
        seen.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    reply = ssrf.post(f"http://hooks.example:{port}/in", b"{}", {}, timeout=5)
    thread.join(5)
    server.close()
    assert reply.status == 204
    assert f"Host: hooks.example:{port}".encode() in seen[0]


def test_the_form_refuses_an_unsafe_webhook_url(db):
    form = RuleForm(
        {"target": "all", "condition": "any", "meter": "any", "blend": "3:1", "delivery": "instant",
         "channel": "webhook", "webhook_url": "http://localhost/hook"}
    )  # fmt: skip
    assert not form.is_valid()
    assert "is not a public internet address" in form.errors["webhook_url"][0]


def test_https_sends_the_name_as_sni_and_verifies_the_certificate(settings, monkeypatch, tmp_path):
    """TLS to the pinned address still names the host (SNI) and checks its certificate: a
    self-signed one is refused."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.example", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    settings.ALERTS_WEBHOOK_PORTS = [port]
    settings.ALERTS_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr(ssrf, "lookup", lambda host, p: [ipaddress.ip_address("127.0.0.1")])

    def answer() -> None:
        conn, _ = server.accept()
        with contextlib.suppress(ssl.SSLError, OSError):  # the client hangs up on our cert
            context.wrap_socket(conn, server_side=True).close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with pytest.raises(ssl.SSLCertVerificationError):
        ssrf.post(f"https://hooks.example:{port}/in", b"{}", {}, timeout=5)
    thread.join(5)
    server.close()
    assert names == ["hooks.example"]
