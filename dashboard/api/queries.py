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

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

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
        following = PriceSpan.objects.filter(
            source_id=OuterRef("source_id"),
            offering_id=OuterRef("offering_id"),
            meter=OuterRef("meter"),
            tier=OuterRef("tier"),
            valid_from=OuterRef("valid_to"),
        )
        # No ordering: the model's default one would join two tables into every lookup.
        successor = following.order_by().values("first_seen_at")[:1]
        queryset = queryset.filter(first_seen_at__lte=as_of).annotate(
            successor_seen=Subquery(successor)
        )
    # The names (slugs) come from named(), per page: a join here would walk the offerings
    # from the first one on every deep page.
    return queryset.values(*SPAN_FIELDS, *(["successor_seen"] if as_of else []))


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


Keep = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def published_page(
    candidates: QuerySet[PriceSpan, Any], cursor: str | None, limit: int, keep: Keep | None = None
) -> Page:
    """One page of published prices: per (offering, meter, tier), the span of the most
    authoritative source (lowest (priority, slug)) among each source's latest candidate that
    `keep` keeps (all, by default). The rows carry the key, source, id and dates only: read
    the page's spans by id.

    The candidates are read in key order, in chunks; a key is decided once a later key shows
    up, in batches (one `keep` call each), until `limit` keys are decided."""
    ranks = source_ranks()
    if cursor is not None:
        candidates = candidates.filter(PRICE_KEY.after(PRICE_KEY.decode(cursor)))
    # Only what deciding needs: a page reads many more candidates than it shows.
    candidates = candidates.values("id", *_PRICE_ROWS.names, "valid_to")
    pending: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    page: list[dict[str, Any]] = []
    after: list[Any] | None = None
    # Rows per key: a few sources' current spans, or (with `keep`) their whole histories.
    chunk = (limit + 1) * (4 if keep is None else 32)
    while len(page) <= limit:
        query = candidates if after is None else candidates.filter(_PRICE_ROWS.after(after))
        rows = list(query.order_by(*_PRICE_ROWS.order_by)[:chunk])
        for row in rows:  # in valid_from order: a source's latest candidate wins
            pending.setdefault(_key(row), {})[row["source_id"]] = row
        exhausted = len(rows) < chunk
        decided = list(pending) if exhausted else list(pending)[:-1]
        batch = [row for key in decided for row in pending.pop(key).values()]
        page.extend(_best(keep(batch) if keep else batch, ranks))
        if exhausted:
            break
        after = _PRICE_ROWS.values_of(rows[-1])
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


def current_candidates(lookups: Q, at: datetime) -> QuerySet[PriceSpan]:
    """Spans in force at `at` (at most one per source and key)."""
    return PriceSpan.objects.filter(lookups, in_force(at, None))


def known_candidates(lookups: Q, at: datetime, as_of: datetime) -> QuerySet[PriceSpan]:
    """Spans that may be in force at `at` as known on `as_of`: known by then and started by
    `at`. Only each source's latest one can be; `known_in_force` decides."""
    return PriceSpan.objects.filter(lookups, first_seen_at__lte=as_of, valid_from__lte=at)


def by_id(ids: list[int], as_of: datetime | None) -> list[dict[str, Any]]:
    """The span rows of `ids`, in that order."""
    rows = {row["id"]: row for row in spans(Q(id__in=ids), as_of=as_of)}
    return [rows[i] for i in ids]


def known_in_force(at: datetime, as_of: datetime) -> Keep:
    """Keeps the rows still in force at `at` as known on `as_of`: one query per batch for when
    the end of each was learnt (rather than one lookup per historical span)."""

    def keep(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [row["id"] for row in rows]
        learnt = {r["id"]: r["successor_seen"] for r in spans(Q(id__in=ids), as_of=as_of)}
        marked = [{**row, "successor_seen": learnt.get(row["id"])} for row in rows]
        return [row for row in marked if (known_valid_to(row, as_of) or _END) > at]

    return keep


_END = datetime.max.replace(tzinfo=UTC)


def changes(lookups: Q) -> QuerySet[PriceChange, Any]:
    return PriceChange.objects.filter(lookups).values(
        "id", "offering_id", "meter", "tier", "kind", "old_usd_per_mtok", "new_usd_per_mtok",
        "ratio", "changed_at", "detected_at", "is_backfill", "retracted_at", "span_id",
        "source_id",
    )  # fmt: skip


def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows (keyed by offering, from a source) with the slugs that name them: one query
    for the page's offerings, one for the (few) sources."""
    offerings = {
        o["id"]: o
        for o in Offering.objects.filter(id__in={row["offering_id"] for row in rows})
        .order_by()
        .values(
            "id",
            "provider_model_id",
            provider_slug=F("provider__slug"),
            model_slug=F("model__slug"),
        )
    }
    sources = dict(Source.objects.values_list("id", "slug"))
    return [
        {
            **row,
            "provider_slug": offerings[row["offering_id"]]["provider_slug"],
            "model_slug": offerings[row["offering_id"]]["model_slug"],
            "provider_model_id": offerings[row["offering_id"]]["provider_model_id"],
            "source_slug": sources.get(row["source_id"]),
        }
        for row in rows
    ]


def grouped(rows: Iterable[tuple[int, Any]]) -> dict[int, list[Any]]:
    """(parent id, child) pairs -> {parent id: [children]}, in the pairs' order."""
    result: dict[int, list[Any]] = {}
    for parent, child in rows:
        result.setdefault(parent, []).append(child)
    return result
