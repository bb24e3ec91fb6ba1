"""Celery tasks: thin shells around tracker.scraping. Retries live here, logic does not."""

from __future__ import annotations

import functools
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from tracker import scraping
from tracker.models import ScrapeRun, Source


@shared_task(name="tracker.tasks.tick", acks_late=True, ignore_result=True)
def tick() -> list[str]:
    """Enqueue every due source. Idempotent: a source is claimed once per slot."""
    with transaction.atomic():
        slugs = scraping.due_sources(timezone.now())
        intervals = dict(Source.objects.filter(slug__in=slugs).values_list("slug", "interval"))
        for slug in slugs:
            # Expire before the next slot: a backlog of stale scrapes is worth nothing.
            expires = max(intervals[slug].total_seconds() * 0.9, 30.0)
            transaction.on_commit(functools.partial(_enqueue, slug, expires))
    return slugs


def _enqueue(slug: str, expires: float) -> None:
    scrape.apply_async((slug,), expires=expires)


@shared_task(
    name="tracker.tasks.scrape",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(scraping.TransientError,),
    max_retries=3,
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    ignore_result=True,
)
def scrape(self: Any, slug: str) -> int:
    """Run one source. Safe to run twice: recording the same payload again changes nothing."""
    try:
        run = scraping.run_source(
            slug, trigger=ScrapeRun.Trigger.SCHEDULE, task_id=self.request.id or ""
        )
    except scraping.TransientError as exc:
        if exc.retry_after is not None:  # the server said when; still within max_retries
            raise self.retry(exc=exc, countdown=exc.retry_after) from exc
        raise
    return run.pk
