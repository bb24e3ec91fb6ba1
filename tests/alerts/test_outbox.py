"""The outbox: atomic claims, every attempt recorded, stale claims swept back, nothing sent
for a change retracted after it matched."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from tests.conftest import at
from tracker.alerts import matching, outbox
from tracker.alerts.models import DeliveryAttempt, Notification
from tracker.models import PriceChange


@pytest.fixture
def pending(publish, make_rule):
    """Ten pending instant email notifications (ten rules, one change)."""
    publish({("acme", "m1", "input"): "2"}, at(0))
    for i in range(10):
        make_rule(f"r{i}@example.org", target="model", model="m1", condition="any", meter="input")
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    assert Notification.objects.filter(status="pending").count() == 10


@pytest.mark.django_db
def test_a_claim_takes_rows_once(pending):
    now = timezone.now()
    _, first = outbox.claim(Notification.objects.filter(status="pending"), 6, now)
    _, second = outbox.claim(Notification.objects.filter(status="pending"), 6, now)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_claim_the_same_row(pending):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    claimed: list[list[int]] = []
    barrier = threading.Barrier(5)

    def worker() -> None:
        barrier.wait()
        try:
            claimed.append(
                outbox.claim(Notification.objects.filter(status="pending"), 3, timezone.now())[1]
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 10


@pytest.mark.django_db
def test_delivery_records_an_attempt_per_send(pending):
    outbox.deliver_due()
    assert len(mail.outbox) == 10
    assert DeliveryAttempt.objects.filter(outcome="sent").count() == 10
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_stale_claim_is_swept_back_and_sent_once(pending, settings):
    now = timezone.now()
    outbox.claim(Notification.objects.filter(status="pending"), 10, now)  # the worker dies here
    assert outbox.deliver_due(now=now) == 0
    later = now + timedelta(seconds=settings.ALERTS_CLAIM_TIMEOUT_SECONDS + 1)
    assert outbox.sweep(now=later)["requeued"] == 10
    assert outbox.deliver_due(now=later) == 10
    assert len(mail.outbox) == 10


@pytest.mark.django_db
def test_an_attempt_cut_short_is_marked_abandoned(pending, settings):
    n = Notification.objects.first()
    DeliveryAttempt.objects.create(notification=n, channel="email", started_at=timezone.now())
    outbox.sweep(now=timezone.now() + timedelta(seconds=settings.ALERTS_CLAIM_TIMEOUT_SECONDS + 1))
    assert DeliveryAttempt.objects.get().outcome == "abandoned"


@pytest.mark.django_db
def test_the_open_attempt_of_a_requeued_claim_is_abandoned_however_recent(pending, settings):
    """A worker claims a batch, then begins its attempts one by one: when it dies, its last
    attempt may be younger than the claim timeout. Re-queueing the row ends that attempt too,
    so the resend that follows has an abandoned attempt beside it."""
    now = timezone.now()
    outbox.claim(Notification.objects.filter(status="pending"), 10, now)
    later = now + timedelta(seconds=settings.ALERTS_CLAIM_TIMEOUT_SECONDS + 1)
    n = Notification.objects.first()
    DeliveryAttempt.objects.create(notification=n, channel="email", started_at=later)
    assert outbox.sweep(now=later)["requeued"] == 10
    assert DeliveryAttempt.objects.get().outcome == "abandoned"


@pytest.mark.django_db
def test_a_change_retracted_after_matching_is_never_sent(pending):
    PriceChange.objects.update(retracted_at=timezone.now())
    outbox.deliver_due()
    assert mail.outbox == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_an_smtp_failure_is_retried(pending, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    outbox.deliver_due()
    assert set(Notification.objects.values_list("status", "attempts")) == {("pending", 1)}
    assert DeliveryAttempt.objects.filter(outcome="failed").count() == 10


@pytest.mark.django_db
def test_the_management_command_delivers_without_a_broker(pending):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("alerts", "deliver", stdout=out)
    assert out.getvalue().strip() == "10 notifications processed"
    assert len(mail.outbox) == 10
