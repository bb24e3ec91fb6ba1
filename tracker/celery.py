"""The Celery app. Tasks live in tracker/tasks.py; beat's schedule is the one `tick` below."""

import os

from celery import Celery

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
