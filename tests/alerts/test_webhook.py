"""Webhook delivery to a real HTTP receiver on loopback: signatures, delivery ids, failures
(500, timeout, redirect) and the retry schedule that ends with the endpoint disabled."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from tests.alerts.conftest import Inbox, body
from tests.conftest import at
from tracker.alerts import matching, outbox
from tracker.alerts.models import DeliveryAttempt, Notification, Rule, WebhookEndpoint

pytestmark = pytest.mark.django_db


class Receiver(ThreadingHTTPServer):
    """Records every request; answers per `script` (ok, 500, slow, redirect), then ok."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.script: list[str] = []
        self.redirect_to = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        payload = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"headers": dict(self.headers), "body": payload})
        mode = self.server.script.pop(0) if self.server.script else "ok"
        if mode == "slow":
            time.sleep(3)
        code = {"ok": 200, "500": 500, "slow": 200, "redirect": 302}[mode]
        self.send_response(code)
        if mode == "redirect":
            self.send_header("Location", self.server.redirect_to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ALERTS_WEBHOOK_PORTS = [server.server_address[1]]
    settings.ALERTS_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]  # only for this receiver
    settings.ALERTS_WEBHOOK_TIMEOUT = 1
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(receiver, publish, make_rule) -> Notification:
    """A webhook rule matched by one published drop."""
    publish({("acme", "m1", "input"): "2"}, at(0))
    rule = make_rule(
        target="model", model="m1", condition="drop", meter="input", percent=10, channel="webhook"
    )
    rule.webhook = WebhookEndpoint.objects.create(subscriber=rule.subscriber, url=receiver.url)
    rule.save()
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    return Notification.objects.get()


def verify(secret: str, header: str, payload: bytes) -> bool:
    """What a receiver does with X-Signature."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + payload, hashlib.sha256)
    fresh = abs(time.time() - int(fields["t"])) < 300
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_the_receiver_verifies_the_signature(receiver, hooked):
    outbox.deliver_due()
    [request] = receiver.requests
    secret = hooked.rule.webhook.secret
    assert verify(secret, request["headers"]["X-Signature"], request["body"])
    assert not verify("another-secret", request["headers"]["X-Signature"], request["body"])
    assert not verify(secret, request["headers"]["X-Signature"], request["body"] + b" ")


def test_the_body_describes_the_change_and_carries_the_delivery_id(receiver, hooked):
    outbox.deliver_due()
    [request] = receiver.requests
    payload = json.loads(request["body"])
    assert request["headers"]["X-Delivery-Id"] == payload["delivery_id"] == f"ntf-{hooked.pk}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert payload["change"]["old_usd_per_mtok"] == "2.000000000000"
    assert payload["change"]["new_usd_per_mtok"] == "1.500000000000"
    assert (payload["change"]["model"], payload["change"]["provider"]) == ("m1", "acme")
    assert payload["detail"] == "input price dropped 25.0 %: $2 → $1.5"
    hooked.refresh_from_db()
    assert hooked.status == "sent"
    assert list(hooked.deliveries.values_list("outcome", flat=True)) == ["sent"]


def test_a_500_is_retried_with_the_same_delivery_id(receiver, hooked):
    receiver.script = ["500"]
    now = timezone.now()
    outbox.deliver_due(now=now)
    hooked.refresh_from_db()
    assert (hooked.status, hooked.attempts) == ("pending", 1)
    assert hooked.next_attempt_at == now + timedelta(seconds=60)
    assert outbox.deliver_due(now=now + timedelta(seconds=59)) == 0
    outbox.deliver_due(now=now + timedelta(seconds=60))
    hooked.refresh_from_db()
    assert hooked.status == "sent"
    ids = [r["headers"]["X-Delivery-Id"] for r in receiver.requests]
    assert ids == [f"ntf-{hooked.pk}"] * 2
    outcomes = list(hooked.deliveries.values_list("outcome", "detail"))
    assert outcomes == [("failed", "HTTP 500"), ("sent", "")]


def test_a_timeout_is_a_failed_attempt(receiver, hooked):
    receiver.script = ["slow"]
    outbox.deliver_due()
    attempt = DeliveryAttempt.objects.get()
    assert attempt.outcome == "failed" and "timed out" in attempt.detail


def test_redirects_are_not_followed(receiver, hooked):
    import socket

    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(1)
    receiver.redirect_to = f"http://127.0.0.1:{target.getsockname()[1]}/elsewhere"
    receiver.script = ["redirect"]
    outbox.deliver_due()
    assert "redirects are not followed" in DeliveryAttempt.objects.get().detail
    target.setblocking(False)
    with pytest.raises(BlockingIOError):
        target.accept()
    target.close()


def test_retries_grow_for_a_day_then_the_endpoint_is_disabled_and_its_owner_told(
    receiver, hooked, smtp: Inbox, django_capture_on_commit_callbacks
):
    receiver.script = ["500"] * 100
    created = hooked.created_at
    now = created
    waits: list[float] = []
    while True:
        with django_capture_on_commit_callbacks(execute=True):
            outbox.deliver_due(now=now)
        hooked.refresh_from_db()
        if hooked.status != "pending":
            break
        waits.append((hooked.next_attempt_at - now).total_seconds())
        now = hooked.next_attempt_at
    assert waits == [60, 240, 960, 3840, 15360, 21600, 21600, 21600]
    assert hooked.status == "failed"
    assert (now - created) < timedelta(days=1) < (now - created) + timedelta(seconds=21600)
    assert len(receiver.requests) == len(waits) + 1
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.disabled_at is not None and endpoint.last_error == "HTTP 500"
    [notice] = smtp.to(hooked.rule.subscriber.email)
    assert "Webhook disabled" in notice["Subject"] and receiver.url in body(notice)
    assert hooked.deliveries.last().outcome == "permanent"


def test_a_disabled_endpoint_gets_nothing(receiver, hooked):
    WebhookEndpoint.objects.update(disabled_at=timezone.now())
    outbox.deliver_due()
    assert receiver.requests == []
    hooked.refresh_from_db()
    assert hooked.status == "failed"


def test_a_rule_pointed_at_an_unsafe_url_fails_for_good(receiver, hooked, settings):
    settings.ALERTS_WEBHOOK_ALLOW_NETWORKS = []
    outbox.deliver_due()
    assert receiver.requests == []
    assert "refused" in DeliveryAttempt.objects.get().detail
    assert Rule.objects.get().webhook.disabled_at is not None
