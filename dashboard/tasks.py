"""Celery tasks of the dashboard: the daily release (a shell around dashboard.releases)."""

from __future__ import annotations

from celery import shared_task

from dashboard import releases


@shared_task(
    name="dashboard.tasks.build_release",
    acks_late=True,
    ignore_result=True,
    # A release reads every table twice over; far beyond a scrape's ten minutes.
    time_limit=3 * 3600,
    soft_time_limit=3 * 3600 - 60,
)
def build_release() -> str:
    """Build today's release. Safe to run twice: from unchanged data the files are the same
    bytes, and a rebuild only replaces today's release."""
    return releases.build_release().name
