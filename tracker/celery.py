"""The Celery app. Tasks live in tracker/tasks.py; beat's schedule is the one `tick` below."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule(sender: Celery, **_: object) -> None:
    from django.conf import settings

    # expires: a tick that could not run within its minute is dropped, not piled up.
    sender.add_periodic_task(
        float(settings.TICK_SECONDS),
        sender.signature("tracker.tasks.tick"),
        name="tick",
        expires=float(settings.TICK_SECONDS) * 0.9,
    )
    # Alerts: the outbox sweeper (idempotent) and the daily digest.
    sender.add_periodic_task(
        float(settings.ALERTS_SWEEP_SECONDS),
        sender.signature("alerts.sweep"),
        name="alerts-sweep",
        expires=float(settings.ALERTS_SWEEP_SECONDS) * 0.9,
    )
    # The dated release of the whole dataset (dashboard/releases.py); idempotent for the day.
    sender.add_periodic_task(
        crontab(hour=settings.RELEASES_HOUR, minute=30),
        sender.signature("dashboard.tasks.build_release"),
        name="release",
        expires=6 * 3600.0,
    )
    sender.add_periodic_task(
        crontab(hour=settings.ALERTS_DIGEST_HOUR, minute=0),
        sender.signature("alerts.digest"),
        name="alerts-digest",
        expires=3600.0,
    )
