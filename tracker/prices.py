"""Published prices, read back: the timeline of each (offering, meter) and what is in force now.

The published price of an (offering, meter, tier) is, at each instant, the price of the most
authoritative source with a span covering it (ARCHITECTURE.md, "Published price"). These are
the read-side helpers every page, export and alert rule builds on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q

from tracker.ingest.record import SpanRow, published_span, source_ranks
from tracker.ingest.spans import Segment, Span, published_timeline
from tracker.models import PriceSpan

BASE_TIER = ""


def published_history(
    offering_ids: Iterable[int], meters: Iterable[str], tier: str = BASE_TIER
) -> dict[tuple[int, str], list[Segment]]:
    """The published price timeline of each (offering, meter) at `tier`. Segment prices are
    Decimals in USD per 1M tokens; each segment's `span.data` is the stored span row."""
    ranks = source_ranks()
    ranked: dict[tuple[int, str], list[tuple[tuple[int, str], Span]]] = defaultdict(list)
    rows = (
        PriceSpan.objects.filter(
            offering_id__anyof=list(offering_ids), meter__in=list(meters), tier=tier
        )
        .order_by()  # the model's ordering joins Source only to sort: the timeline sorts itself
        .values_list(*SpanRow._fields)
    )
    for values in rows.iterator(chunk_size=5000):
        row = SpanRow(*values)
        ranked[(row.offering_id, row.meter)].append((ranks[row.source_id], published_span(row)))
    return {key: published_timeline(spans) for key, spans in ranked.items()}


class Published(NamedTuple):
    usd_per_mtok: Decimal
    source_id: int


def published_at(
    at: datetime,
    *,
    offering_ids: Iterable[int] | None = None,
    meters: Iterable[str] | None = None,
    tier: str = BASE_TIER,
) -> dict[tuple[int, str], Published]:
    """(offering_id, meter) -> the price published at `at` (the most authoritative source's
    span covering that instant) and that source, at `tier`."""
    ranks = source_ranks()
    rows = PriceSpan.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at, tier=tier
    ).order_by()
    if offering_ids is not None:
        rows = rows.filter(offering_id__anyof=list(offering_ids))
    if meters is not None:
        rows = rows.filter(meter__in=list(meters))
    best: dict[tuple[int, str], tuple[tuple[int, str], Published]] = {}
    for offering_id, meter, source_id, usd in rows.values_list(
        "offering_id", "meter", "source_id", "usd_per_mtok"
    ).iterator(chunk_size=5000):
        rank = ranks[source_id]
        key = (offering_id, meter)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, Published(usd, source_id))
    return {key: published for key, (_, published) in best.items()}


def current_prices(
    at: datetime,
    *,
    offering_ids: Iterable[int] | None = None,
    meters: Iterable[str] | None = None,
    tier: str = BASE_TIER,
) -> dict[int, dict[str, Decimal]]:
    """offering_id -> {meter: USD per 1M tokens} published at `at`."""
    prices: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for (offering_id, meter), published in published_at(
        at, offering_ids=offering_ids, meters=meters, tier=tier
    ).items():
        prices[offering_id][meter] = published.usd_per_mtok
    return dict(prices)
