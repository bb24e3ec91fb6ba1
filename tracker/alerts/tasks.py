"""Celery tasks: thin shells around tracker.alerts.matching and .outbox (each has a management
command twin, `manage.py alerts sweep|deliver|digest`). All are idempotent and acks_late."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from tracker.alerts import outbox

# Batches one delivery task drains before handing over (so one task never runs for hours).
BATCHES_PER_TASK = 50


@shared_task(name="alerts.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver() -> int:
    """Drain due instant notifications, batch by batch."""
    total = 0
    for _ in range(BATCHES_PER_TASK):
        claimed = outbox.deliver_due()
        total += claimed
        if not claimed:
            break
    return total


@shared_task(name="alerts.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """Periodic: re-queue stale claims, expire requests, match missed changes, deliver."""
    summary = outbox.sweep()
    if outbox.has_due(timezone.now()):
        deliver.delay()
    return summary


@shared_task(name="alerts.digest", acks_late=True, ignore_result=True)
def digest() -> int:
    """Daily: one email per subscriber with everything their digest rules matched."""
    return outbox.send_digests()
