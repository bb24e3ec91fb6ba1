"""Read-only queries for the dashboard: published prices, now and over time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Max

from tracker import prices
from tracker.ingest.record import source_ranks
from tracker.models import Offering, PriceChange, Source
from tracker.prices import published_history

__all__ = ["cheapest_now", "data_version", "flagship_offerings", "published_history"]


def data_version() -> str:
    """Changes whenever a published price does (a new or retracted PriceChange): the key that
    chart caches hang on. A run that only sees prices again leaves it as it is."""
    latest = PriceChange.objects.aggregate(last=Max("id"), retracted=Max("retracted_at"))
    return f"{latest['last']}-{latest['retracted']}"


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
    published = prices.published_at(now, meters=["input", "output"])
    priced: dict[int, dict[str, prices.Published]] = defaultdict(dict)
    for (offering_id, meter), price in published.items():
        priced[offering_id][meter] = price
    candidates = [
        (3 * p["input"].usd_per_mtok + p["output"].usd_per_mtok, offering_id, p)
        for offering_id, p in priced.items()
        if "input" in p
        and "output" in p
        and p["input"].usd_per_mtok > 0
        and p["output"].usd_per_mtok > 0
    ]
    candidates.sort(key=lambda c: (c[0], c[1]))
    model_of = dict(
        Offering.objects.filter(pk__in=[c[1] for c in candidates]).values_list("pk", "model_id")
    )
    top: list[tuple[Decimal, int, dict[str, prices.Published]]] = []
    models_seen: set[int] = set()
    for candidate in candidates:  # the cheapest offering of each model
        if model_of[candidate[1]] not in models_seen and len(top) < limit:
            models_seen.add(model_of[candidate[1]])
            top.append(candidate)
    offerings = Offering.objects.select_related("provider", "model").in_bulk(
        [offering_id for _, offering_id, _ in top]
    )
    ranks = source_ranks()
    return [
        CurrentPrice(
            offerings[oid],
            p["input"].usd_per_mtok,
            p["output"].usd_per_mtok,
            ranks[p["input"].source_id][1],
        )
        for _, oid, p in top
    ]
