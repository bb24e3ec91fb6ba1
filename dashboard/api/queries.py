"""What the API reads, as querysets and plain rows. Two clocks, kept apart:

- effective time (`at`, date ranges): when a price was in force (valid_from / valid_to);
- knowledge time (`as_of`): what this dataset said then. A span counts if it was first seen by
  then; its end counts only if it was learnt by then: the span that replaced it was first seen
  by then, or (a price that vanished, with no successor) it ended by then. Otherwise the span
  was still open as far as the dataset knew.

The dataset keeps spans, not every revision of them: a correction that replaced a price seen
only once leaves no trace of the old figure, so `as_of` cannot show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from dashboard.api.pagination import Keyset, Page
from tracker.ingest.record import source_ranks
from tracker.models import Offering, PriceChange, PriceSpan, Source

SPAN_FIELDS = (
    "id", "source_id", "offering_id", "meter", "tier", "usd_per_mtok", "original_amount",
    "original_currency", "original_unit", "valid_from", "valid_to", "first_seen_at",
    "last_seen_at",
)  # fmt: skip
# History: each key's spans in time order (the (offering, meter, tier, valid_from) index).
HISTORY_ORDER = Keyset(
    (
        ("offering_id", "int"), ("meter", "str"), ("tier", "str"), ("valid_from", "datetime"),
        ("source_id", "int"), ("id", "int"),
    )
)  # fmt: skip
PRICE_KEY = Keyset((("offering_id", "int"), ("meter", "str"), ("tier", "str")))
_PRICE_ROWS = Keyset((*PRICE_KEY.fields, ("source_id", "int"), ("valid_from", "datetime")))
CHANGES_ORDER = Keyset((("-changed_at", "datetime"), ("-id", "int")))


def spans(lookups: Q, *, as_of: datetime | None = None) -> QuerySet[PriceSpan, Any]:
    """Span rows matching `lookups`; with `as_of`, only those known then, each carrying
    `successor_seen` (when the span that ended it was first seen) for `known_valid_to`."""
    queryset = PriceSpan.objects.filter(lookups)
    if as_of is not None:
        queryset = queryset.filter(first_seen_at__lte=as_of).annotate(
            successor_seen=_successor_seen()
        )
    # The names (slugs) come from names(), per page: a join here would walk the offerings
    # from the first one on every deep page.
    return queryset.values(*SPAN_FIELDS, *(["successor_seen"] if as_of else []))


def _same_source_and_key() -> Q:
    """Spans of the outer span's source and (offering, meter, tier), for a subquery."""
    return Q(
        source_id=OuterRef("source_id"),
        offering_id=OuterRef("offering_id"),
        meter=OuterRef("meter"),
        tier=OuterRef("tier"),
    )


def _successor_seen() -> Subquery:
    """When the span that ended the outer one (its source's, for its key, from its valid_to)
    was first seen."""
    following = PriceSpan.objects.filter(_same_source_and_key(), valid_from=OuterRef("valid_to"))
    # No ordering: the model's default one would join two tables into every lookup.
    return Subquery(following.order_by().values("first_seen_at")[:1])


def open_after(when: datetime, as_of: datetime | None) -> Q:
    """Spans still in force after `when`, as known on `as_of` (needs `spans(as_of=...)`)."""
    condition = Q(valid_to__isnull=True) | Q(valid_to__gt=when)
    if as_of is not None:
        condition |= Q(successor_seen__gt=as_of) | Q(
            successor_seen__isnull=True, valid_to__gt=as_of
        )
    return condition


def in_force(at: datetime, as_of: datetime | None) -> Q:
    return Q(valid_from__lte=at) & open_after(at, as_of)


def overlapping(start: datetime | None, end: datetime | None, as_of: datetime | None) -> Q:
    """Spans in force at some instant of [start, end)."""
    condition = Q()
    if end is not None:
        condition &= Q(valid_from__lt=end)
    if start is not None:
        condition &= open_after(start, as_of)
    return condition


def known_valid_to(row: dict[str, Any], as_of: datetime | None) -> datetime | None:
    """The span's end as the dataset knew it on `as_of` (None: still open then)."""
    valid_to: datetime | None = row["valid_to"]
    if as_of is None or valid_to is None:
        return valid_to
    learnt = row["successor_seen"] if row["successor_seen"] is not None else valid_to
    return valid_to if learnt <= as_of else None


def known_last_seen(row: dict[str, Any], as_of: datetime | None) -> datetime | None:
    """The last sighting, or None on an `as_of` before it (the sightings up to then are not
    kept, only the latest)."""
    last: datetime = row["last_seen_at"]
    return None if as_of is not None and last > as_of else last


def published_page(candidates: QuerySet[PriceSpan, Any], cursor: str | None, limit: int) -> Page:
    """One page of published prices: per (offering, meter, tier), the span of the most
    authoritative source (lowest (priority, slug)) among `candidates`: span rows (`spans()`),
    at most one per source and key (of two, the later one would count).

    The candidates are read in key order, in chunks; a key is decided once a later key shows
    up, until `limit` keys are decided. A key has a candidate or two (one per source pricing
    it): a first chunk of 1.5 rows per key usually holds the page, and each further chunk
    reads half a page more."""
    ranks = source_ranks()
    if cursor is not None:
        candidates = candidates.filter(PRICE_KEY.after(PRICE_KEY.decode(cursor)))
    pending: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    page: list[dict[str, Any]] = []
    after: list[Any] | None = None
    chunk = (limit + 1) * 3 // 2 + 1
    while len(page) <= limit:
        query = candidates if after is None else candidates.filter(_PRICE_ROWS.after(after))
        rows = list(query.order_by(*_PRICE_ROWS.order_by)[:chunk])
        for row in rows:  # in valid_from order: a source's latest candidate wins
            pending.setdefault(_key(row), {})[row["source_id"]] = row
        exhausted = len(rows) < chunk
        decided = list(pending) if exhausted else list(pending)[:-1]
        page.extend(_best([row for key in decided for row in pending.pop(key).values()], ranks))
        if exhausted:
            break
        after = _PRICE_ROWS.values_of(rows[-1])
        chunk = limit // 2 + 2
    more = len(page) > limit
    page = page[:limit]
    return Page(page, PRICE_KEY.encode(list(_key(page[-1]))) if more else None)


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["offering_id"], row["meter"], row["tier"])


def _best(rows: list[dict[str, Any]], ranks: dict[int, tuple[int, str]]) -> list[dict[str, Any]]:
    """The lowest-ranked source's row of each key, in key order."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        held = best.get(_key(row))
        if held is None or ranks[row["source_id"]] < ranks[held["source_id"]]:
            best[_key(row)] = row
    return list(best.values())


def current_candidates(lookups: Q, at: datetime) -> QuerySet[PriceSpan, Any]:
    """Span rows in force at `at` (at most one per source and key)."""
    return spans(lookups).filter(in_force(at, None))


def known_candidates(lookups: Q, at: datetime, as_of: datetime) -> QuerySet[PriceSpan, Any]:
    """Span rows (with `successor_seen`) in force at `at` as known on `as_of`, at most one per
    source and key: each source's latest span known by then that started by `at`, unless its
    end was learnt by then and came by `at`.

    Decided in SQL row by row: a span ending after `at` (or never) is its source's latest
    (a source's spans do not overlap); one that ended by `at` counts only while its end was
    not learnt yet (an index probe, which rules out most), and if no later span known on
    `as_of` started by `at` (a second probe)."""
    newer = PriceSpan.objects.filter(
        _same_source_and_key(),
        valid_from__gt=OuterRef("valid_from"),
        valid_from__lte=at,
        first_seen_at__lte=as_of,
    )
    return (
        spans(lookups, as_of=as_of)
        .filter(valid_from__lte=at)
        .alias(
            newer=Subquery(newer.order_by().values("id")[:1]),
            learnt=Coalesce(_successor_seen(), F("valid_to")),
        )
        .filter(
            Q(valid_to__isnull=True)
            | Q(valid_to__gt=at)
            | (Q(learnt__gt=as_of) & Q(newer__isnull=True))
        )
    )


def changes(lookups: Q) -> QuerySet[PriceChange, Any]:
    return PriceChange.objects.filter(lookups).values(
        "id", "offering_id", "meter", "tier", "kind", "old_usd_per_mtok", "new_usd_per_mtok",
        "ratio", "changed_at", "detected_at", "is_backfill", "retracted_at", "span_id",
        "source_id",
    )  # fmt: skip


@dataclass(frozen=True)
class Names:
    """The slugs that name a page's rows (keyed by offering, from a source)."""

    offerings: dict[int, tuple[str, str, str]]  # id -> (provider, model, provider_model_id)
    sources: dict[int, str]  # id -> slug

    def key_fields(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's key, named: offering_id, provider, model, provider_model_id, meter, tier."""
        provider, model, provider_model_id = self.offerings[row["offering_id"]]
        return {
            "offering_id": row["offering_id"],
            "provider": provider,
            "model": model,
            "provider_model_id": provider_model_id,
            "meter": row["meter"],
            "tier": row["tier"],
        }


def names(rows: list[dict[str, Any]]) -> Names:
    """The names of `rows`: one query for the page's offerings, one for the (few) sources."""
    offerings = Offering.objects.filter(id__in={row["offering_id"] for row in rows}).order_by()
    return Names(
        {
            pk: (provider, model, provider_model_id)
            for pk, provider, model, provider_model_id in offerings.values_list(
                "id", "provider__slug", "model__slug", "provider_model_id"
            )
        },
        dict(Source.objects.values_list("id", "slug")),
    )


def grouped(rows: Iterable[tuple[int, Any]]) -> dict[int, list[Any]]:
    """(parent id, child) pairs -> {parent id: [children]}, in the pairs' order."""
    result: dict[int, list[Any]] = {}
    for parent, child in rows:
        result.setdefault(parent, []).append(child)
    return result
