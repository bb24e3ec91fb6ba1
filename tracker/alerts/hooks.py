"""Called where published PriceChange rows are created (scrape runs, confirmed held prices)."""

from __future__ import annotations

import functools
import logging

from django.db import transaction

log = logging.getLogger(__name__)


def changes_published(change_ids: list[int]) -> None:
    """Match the changes once the transaction that created them commits. Never raises: a
    failure here must not fail the scrape, and the sweeper matches whatever was missed."""
    if change_ids:
        transaction.on_commit(functools.partial(_match, list(change_ids)))


def _match(change_ids: list[int]) -> None:
    from tracker.alerts import matching, tasks

    try:
        if matching.match_and_mark(change_ids):
            tasks.deliver.delay()
    except Exception:
        log.exception("alerts: matching %d changes failed; the sweeper will retry", len(change_ids))
