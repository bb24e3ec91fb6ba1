"""A real Celery worker (beat embedded) delivering webhooks, killed with SIGKILL mid-delivery
and restarted: every notification is delivered, recorded as sent exactly once, and a receiver
deduplicating on X-Delivery-Id sees each exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from tests.alerts.test_webhook import Receiver
from tests.conftest import at
from tests.tracker.test_worker import _database_url
from tracker.alerts import matching
from tracker.alerts.models import DeliveryAttempt, Notification, WebhookEndpoint
from tracker.models import Source

ROOT = Path(__file__).resolve().parents[2]
RULES = 30


class SlowReceiver(Receiver):
    """Takes 0.15 s per request, so a kill lands mid-delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.script = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        time.sleep(0.15)
        super().finish_request(request, client_address)


def _start(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tracker", "worker", "-B", "--concurrency", "1",
         "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _wait(condition: Any, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what}\n" + log.read_text()[-3000:]
        )
        time.sleep(0.2)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_nothing(
    publish, make_rule, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    broker = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
    redis.Redis.from_url(broker).flushdb()
    receiver = SlowReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    publish({("acme", "m1", "input"): "2"}, at(0))
    Source.objects.update(enabled=False)  # the embedded beat's tick must not scrape
    for i in range(RULES):
        rule = make_rule(
            f"r{i}@example.org",
            target="all",
            condition="drop",
            percent=1,
            meter="input",
            channel="webhook",
        )
        rule.webhook = WebhookEndpoint.objects.create(subscriber=rule.subscriber, url=receiver.url)
        rule.save()
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    assert Notification.objects.filter(status="pending").count() == RULES
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(tmp_path),
        "TRACKER_TICK_SECONDS": "3600",
        "ALERTS_SWEEP_SECONDS": "1",
        "ALERTS_CLAIM_TIMEOUT_SECONDS": "3",
        "ALERTS_WEBHOOK_PORTS": str(receiver.server_address[1]),
        "ALERTS_WEBHOOK_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        first = _start(env, log)
        try:
            _wait(lambda: len(receiver.requests) >= 8, 90, "the first deliveries", log_path)
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        killed_at = len(receiver.requests)
        assert killed_at < RULES, "the kill came too late to interrupt anything"
        second = _start(env, log)
        try:
            _wait(
                lambda: Notification.objects.filter(status="sent").count() == RULES,
                90, "every notification to be sent", log_path,
            )  # fmt: skip
        finally:
            second.terminate()
            second.wait(timeout=30)
    receiver.shutdown()
    ids = [r["headers"]["X-Delivery-Id"] for r in receiver.requests]
    expected = {f"ntf-{pk}" for pk in Notification.objects.values_list("pk", flat=True)}
    assert set(ids) == expected  # none lost
    assert len(ids) - len(set(ids)) <= 1  # at most the one in flight at the kill, same id
    sent = DeliveryAttempt.objects.filter(outcome="sent").values_list("notification_id", flat=True)
    assert sorted(sent) == sorted(Notification.objects.values_list("pk", flat=True))  # once each
    # An attempt the kill interrupted is closed as abandoned by the sweeper; the kill can also
    # land between attempts. Either way a repeat on the wire needs an abandoned attempt.
    abandoned = DeliveryAttempt.objects.filter(outcome="abandoned").count()
    assert abandoned <= 1
    assert len(ids) - len(set(ids)) <= abandoned
