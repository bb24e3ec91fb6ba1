"""Read-only queries for the dashboard: published prices, now and over time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Max, Q

from tracker.ingest.record import published_span, source_ranks
from tracker.ingest.spans import Segment, Span, published_timeline
from tracker.models import Offering, PriceChange, PriceSpan, Source


def data_version() -> str:
    """Changes whenever a published price does (a new or retracted PriceChange): the key that
    chart caches hang on. A run that only sees prices again leaves it as it is."""
    latest = PriceChange.objects.aggregate(last=Max("id"), retracted=Max("retracted_at"))
    return f"{latest['last']}-{latest['retracted']}"


def published_history(
    offering_ids: Iterable[int], meters: Iterable[str], tier: str = ""
) -> dict[tuple[int, str], list[Segment]]:
    """The published price timeline of each (offering, meter) at `tier`."""
    ranks = source_ranks()
    ranked: dict[tuple[int, str], list[tuple[tuple[int, str], Span]]] = defaultdict(list)
    rows = PriceSpan.objects.filter(
        offering_id__in=list(offering_ids), meter__in=list(meters), tier=tier
    ).only("offering_id", "meter", "source_id", "usd_per_mtok", "valid_from", "valid_to")
    for row in rows:
        ranked[(row.offering_id, row.meter)].append((ranks[row.source_id], published_span(row)))
    return {key: published_timeline(spans) for key, spans in ranked.items()}


# Shown by default on the home chart; the ledger's other models are one legend click away.
# An editorial choice: one or two models per maker and generation, 2021 to today.
FEATURED_MODELS = frozenset(
    {
        "davinci", "gpt-3.5-turbo-0301", "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-4o-mini", "o1",
        "o3", "gpt-4.1", "gpt-5", "claude-2.0", "claude-3-opus", "claude-3-5-sonnet",
        "claude-sonnet-4", "claude-opus-4-5", "gemini-1.5-pro", "gemini-2.0-flash",
        "gemini-2.5-pro", "deepseek-chat", "deepseek-reasoner", "llama-3-70b-instruct",
        "mistral-large",
    }
)  # fmt: skip


def flagship_offerings() -> list[Offering]:
    """Offerings the bundled ledger tracks: the flagship models, sold by their makers."""
    return list(
        Offering.objects.filter(pricespan__source__kind=Source.Kind.LEDGER)
        .select_related("provider", "model", "model__creator")
        .distinct()
        .order_by("model__name")
    )


@dataclass(frozen=True)
class CurrentPrice:
    offering: Offering
    input: Decimal
    output: Decimal
    source: str

    @property
    def blended(self) -> Decimal:
        """3:1 input:output, the blend most price comparisons use."""
        return (3 * self.input + self.output) / 4


def cheapest_now(now: datetime, limit: int = 20) -> list[CurrentPrice]:
    """The cheapest offering of each model with an input and an output price in force now
    (base tier, not free), cheapest blended first. Each price is the most authoritative
    source's."""
    ranks = source_ranks()
    best: dict[tuple[int, str], tuple[tuple[int, str], Decimal, int]] = {}
    rows = PriceSpan.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now),
        valid_from__lte=now,
        meter__in=["input", "output"],
        tier="",
    ).values_list("offering_id", "meter", "source_id", "usd_per_mtok")
    for offering_id, meter, source_id, usd in rows:
        rank = ranks[source_id]
        key = (offering_id, meter)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, usd, source_id)
    priced: dict[int, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    for (offering_id, meter), (_, usd, source_id) in best.items():
        priced[offering_id][meter] = (usd, source_id)
    candidates = [
        (3 * p["input"][0] + p["output"][0], offering_id, p)
        for offering_id, p in priced.items()
        if "input" in p and "output" in p and p["input"][0] > 0 and p["output"][0] > 0
    ]
    candidates.sort(key=lambda c: (c[0], c[1]))
    model_of = dict(
        Offering.objects.filter(pk__in=[c[1] for c in candidates]).values_list("pk", "model_id")
    )
    top: list[tuple[Decimal, int, dict[str, tuple[Decimal, int]]]] = []
    models_seen: set[int] = set()
    for candidate in candidates:  # the cheapest offering of each model
        if model_of[candidate[1]] not in models_seen and len(top) < limit:
            models_seen.add(model_of[candidate[1]])
            top.append(candidate)
    offerings = Offering.objects.select_related("provider", "model").in_bulk(
        [offering_id for _, offering_id, _ in top]
    )
    return [
        CurrentPrice(offerings[oid], p["input"][0], p["output"][0], ranks[p["input"][1]][1])
        for _, oid, p in top
    ]
