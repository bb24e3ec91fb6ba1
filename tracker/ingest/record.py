"""record(): the one entry point that turns quotes into spans and published-price changes."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateField, DateTimeField, DecimalField, Max, Model
from django.utils import timezone

from tracker.alerts import hooks as alert_hooks
from tracker.db import convert_columns, value_rows
from tracker.identity import normalise
from tracker.ingest.quotes import Quote, QuoteError
from tracker.ingest.spans import KeyHistory, Observation, Span, published_timeline, transitions
from tracker.models import (
    TOKENS_PER_UNIT,
    FxRate,
    LanguageModel,
    ModelAlias,
    Offering,
    PendingPrice,
    PriceChange,
    PriceDisagreement,
    PriceSpan,
    Provider,
    ScrapeRun,
    Source,
)

log = logging.getLogger(__name__)

Key = tuple[int, str, str]  # (offering_id, meter, tier)
QUANTUM = Decimal("0.000000000001")
AMOUNT_QUANTUM = Decimal("0.000000000000000001")
SIGNIFICANT = Context(prec=15)
# A complete listing that would drop more than this share of a source's prices is refused:
# it is far likelier that the page or the parser broke than that half the market vanished.
MASS_VANISH_SHARE = Decimal("0.5")
MASS_VANISH_MIN = 10
# A change whose effective date lies this far before the run observed it is history, not news.
BACKFILL_SLACK = timedelta(days=1)
# Sources reporting the same offering that differ by more than this are a visible disagreement.
DISAGREEMENT = Decimal("0.01")


class IngestError(Exception):
    """The quotes cannot be recorded as given; nothing was written."""


@dataclass(frozen=True)
class Stated:
    """A price as the source stated it, with its USD conversion."""

    usd_per_mtok: Decimal
    amount: Decimal
    currency: str
    unit: str
    fx_rate_id: int | None

    @functools.cached_property
    def identity(self) -> tuple[str, Decimal]:
        """What makes two statements the same price (a CNY price is unchanged when FX moves)."""
        per_mtok = self.amount * Decimal(1_000_000) / TOKENS_PER_UNIT[self.unit]
        return (self.currency, per_mtok.normalize())


@dataclass
class RecordResult:
    quotes: int = 0
    spans_created: int = 0
    spans_extended: int = 0
    spans_closed: int = 0
    ignored: int = 0
    held: int = 0
    confirmed: int = 0
    skipped: int = 0
    change_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.change_ids)


def record(
    source: Source,
    quotes: Sequence[Quote],
    observed_at: datetime,
    *,
    run: ScrapeRun | None = None,
    complete: bool = False,
    backfill: bool = False,
) -> RecordResult:
    """Record what `source` stated at `observed_at`. Safe to run twice: the replay is a no-op.

    `complete` says the quotes are the source's whole listing, so a price it no longer lists
    has vanished (held until a second run confirms it). `backfill` marks the resulting price
    changes as learnt after the fact. Raises IngestError (writing nothing) on contradictory
    quotes or a listing that would drop most of the source's prices.
    """
    if timezone.is_naive(observed_at):
        raise IngestError("observed_at must be timezone-aware")
    result = RecordResult(quotes=len(quotes))
    with _cyclic_gc_paused(), transaction.atomic():
        # One recorder per source at a time; others wait here rather than interleave.
        source = Source.objects.select_for_update().get(pk=source.pk)
        if complete:
            newest = PriceSpan.objects.filter(source=source).aggregate(m=Max("last_seen_at"))["m"]
            if newest is not None and observed_at < newest:
                # Only the newest listing can show that a price is gone; an older one
                # (a replay, a backfill) says nothing about prices first seen after it.
                complete = False
        offerings = _resolve_offerings(quotes, curated=source.kind == Source.Kind.LEDGER)
        fx = _FxCache()
        grouped: dict[Key, list[tuple[Observation, Quote]]] = defaultdict(list)
        for quote in quotes:
            stated = fx.state(quote, (quote.valid_from or observed_at).date())
            if stated is None:
                result.skipped += 1
                result.warnings.append(
                    f"{quote.provider}/{quote.provider_model_id} {quote.meter}: no "
                    f"{quote.currency} exchange rate on or before that date; skipped"
                )
                continue
            key = (offerings[(quote.provider, quote.provider_model_id)], quote.meter, quote.tier)
            obs = Observation(
                price=stated.identity,
                effective_at=quote.valid_from or observed_at,
                seen_at=observed_at,
                run=run.pk if run else None,
                data=stated,
            )
            grouped[key].append((obs, quote))

        histories, snapshots = _load_histories(source, grouped.keys(), open_too=complete)
        pendings = {
            (p.offering_id, p.meter, p.tier): p
            for p in PendingPrice.objects.filter(
                source=source, status=PendingPrice.Status.PENDING
            ).select_for_update()
        }
        open_before = {key for key, hist in histories.items() if hist.open_span is not None}
        # A replay of a statement that was held and then rejected stays rejected.
        rejected = {
            ((p.offering_id, p.meter, p.tier), _pending_identity(p), p.effective_at)
            for p in PendingPrice.objects.filter(
                source=source, status=PendingPrice.Status.REJECTED, first_observed_at=observed_at
            )
        }
        for key, items in grouped.items():
            kept = [(o, q) for o, q in items if (key, o.price, o.effective_at) not in rejected]
            result.ignored += len(items) - len(kept)
            if kept:
                _apply_key(
                    source, key, kept, histories[key], pendings.get(key), run, observed_at, result
                )
        if complete:
            _handle_vanished(
                source, open_before, grouped.keys(), histories, pendings, run, observed_at, result
            )
        touched = _save_histories(source, histories, snapshots)
        result.change_ids = _sync_published(touched, run, observed_at, backfill)
    return result


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one record() call.

    A large listing builds hundreds of thousands of small objects (rows, spans, observations)
    that all live until the call ends, and each full collection walks every one of them:
    on 12,000 quotes, two or three full collections cost more than a third of a second. Reference
    counting still frees what the call drops; only cycles wait for the collector to resume.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _apply_key(
    source: Source,
    key: Key,
    items: list[tuple[Observation, Quote]],
    hist: KeyHistory,
    pending: PendingPrice | None,
    run: ScrapeRun | None,
    observed_at: datetime,
    result: RecordResult,
) -> None:
    if len(items) == 1:  # one statement per key, as in most listings
        observations = [items[0][0]]
    else:
        items.sort(key=lambda item: item[0].effective_at)
        by_instant: dict[datetime, Observation] = {}
        for obs, quote in items:
            other = by_instant.setdefault(obs.effective_at, obs)
            if other.price != obs.price:
                raise IngestError(
                    f"{source.slug}: {quote.provider}/{quote.provider_model_id} {quote.meter} "
                    f"{quote.tier or 'base'} has two prices for {obs.effective_at.isoformat()}"
                )
        observations = list(by_instant.values())
    latest = observations[-1]
    current = hist.open_span
    # Only a run observed after the one that held a price may confirm or reject it: replaying
    # or backfilling older observations leaves it pending.
    later = pending is not None and observed_at > pending.first_observed_at
    same_as_pending = (
        pending is not None
        and pending.kind != PendingPrice.Kind.VANISHED
        and _pending_identity(pending) == latest.price
    )
    is_news = current is not None and latest.effective_at >= current.valid_from
    kind = None
    if is_news and current is not None and latest.price != current.price:
        kind = _suspicion(current.data.usd_per_mtok, latest.data.usd_per_mtok)
    if kind is not None and current is not None:
        if same_as_pending and later:
            assert pending is not None
            hist.observe(
                Observation(
                    latest.price,
                    pending.effective_at,
                    pending.first_observed_at,
                    pending.run_id,
                    latest.data,
                )
            )
            _resolve(pending, PendingPrice.Status.CONFIRMED, f"confirmed by run {_run_id(run)}")
            result.confirmed += 1
        else:
            if pending is None or later:
                if pending is not None:
                    _resolve(pending, PendingPrice.Status.REJECTED, "superseded by a later value")
                _hold(source, key, kind, latest, current, run)
            result.held += 1
            observations = observations[:-1]
    elif pending is not None and later:
        _resolve(pending, PendingPrice.Status.REJECTED, "a later run stated an ordinary price")
    for obs in observations:
        outcome = hist.observe(obs)
        if outcome == "created":
            result.spans_created += 1
        elif outcome == "extended":
            result.spans_extended += 1
        else:
            result.ignored += 1


def _handle_vanished(
    source: Source,
    open_before: set[Key],
    listed: Iterable[Key],
    histories: dict[Key, KeyHistory],
    pendings: dict[Key, PendingPrice],
    run: ScrapeRun | None,
    observed_at: datetime,
    result: RecordResult,
) -> None:
    """Hold (or, at the second run, close) every open price the listing no longer has."""
    listed = set(listed)
    missing = sorted(open_before - listed)
    if len(missing) >= MASS_VANISH_MIN and len(missing) > len(open_before) * MASS_VANISH_SHARE:
        raise IngestError(
            f"{source.slug}: the listing lacks {len(missing)} of {len(open_before)} current "
            "prices; refusing to treat them as vanished (is the page or the parser broken?)"
        )
    for key in missing:
        hist = histories[key]
        pending = pendings.get(key)
        if pending is not None and observed_at <= pending.first_observed_at:
            continue  # an older listing (replay, backfill) neither confirms nor rejects
        if pending is not None and pending.kind == PendingPrice.Kind.VANISHED:
            if hist.close(pending.effective_at):
                result.spans_closed += 1
            _resolve(pending, PendingPrice.Status.CONFIRMED, f"still missing in run {_run_id(run)}")
            result.confirmed += 1
            continue
        if pending is not None:
            _resolve(pending, PendingPrice.Status.REJECTED, "superseded: the price vanished")
        offering_id, meter, tier = key
        current = hist.open_span
        assert current is not None
        PendingPrice.objects.create(
            source=source,
            offering_id=offering_id,
            meter=meter,
            tier=tier,
            kind=PendingPrice.Kind.VANISHED,
            previous_usd_per_mtok=current.data.usd_per_mtok,
            effective_at=observed_at,
            first_observed_at=observed_at,
            run=run,
        )
        result.held += 1


def _suspicion(old: Decimal, new: Decimal) -> str | None:
    factor = Decimal(settings.TRACKER_SUSPICIOUS_FACTOR)
    if new == 0:
        return PendingPrice.Kind.ZERO if old > 0 else None
    if old == 0:
        return None
    ratio = new / old
    if ratio >= factor or ratio <= 1 / factor:
        return PendingPrice.Kind.JUMP
    return None


def _hold(
    source: Source, key: Key, kind: str, obs: Observation, current: Span, run: ScrapeRun | None
) -> None:
    offering_id, meter, tier = key
    stated: Stated = obs.data
    PendingPrice.objects.create(
        source=source,
        offering_id=offering_id,
        meter=meter,
        tier=tier,
        kind=kind,
        usd_per_mtok=stated.usd_per_mtok,
        original_amount=stated.amount,
        original_currency=stated.currency,
        original_unit=stated.unit,
        fx_rate_id=stated.fx_rate_id,
        previous_usd_per_mtok=current.data.usd_per_mtok,
        effective_at=obs.effective_at,
        first_observed_at=obs.seen_at,
        run=run,
    )


def _pending_stated(pending: PendingPrice) -> Stated | None:
    """The price a held change states (None for a vanished price)."""
    if pending.original_amount is None or pending.usd_per_mtok is None:
        return None
    return Stated(
        pending.usd_per_mtok,
        pending.original_amount,
        pending.original_currency,
        pending.original_unit,
        pending.fx_rate_id,
    )


def _pending_identity(pending: PendingPrice) -> tuple[str, Decimal] | None:
    stated = _pending_stated(pending)
    return stated.identity if stated is not None else None


def _resolve(pending: PendingPrice, status: str, why: str) -> None:
    pending.status = status
    pending.resolution = why
    pending.resolved_at = timezone.now()
    pending.save(update_fields=["status", "resolution", "resolved_at"])


def _run_id(run: ScrapeRun | None) -> str:
    return str(run.pk) if run else "(none)"


def confirm_pending(pending_id: int) -> RecordResult:
    """An operator confirms a held price: apply it as if a second run had stated it."""
    result = RecordResult()
    with transaction.atomic():
        pending = PendingPrice.objects.select_for_update().get(pk=pending_id)
        if pending.status != PendingPrice.Status.PENDING:
            raise IngestError(f"pending price {pending_id} is already {pending.status}")
        key = (pending.offering_id, pending.meter, pending.tier)
        histories, snapshots = _load_histories(pending.source, [key], open_too=False)
        hist = histories[key]
        if pending.kind == PendingPrice.Kind.VANISHED:
            result.spans_closed += int(hist.close(pending.effective_at))
        else:
            stated = _pending_stated(pending)
            assert stated is not None
            hist.observe(
                Observation(
                    stated.identity,
                    pending.effective_at,
                    pending.first_observed_at,
                    pending.run_id,
                    stated,
                )
            )
        _resolve(pending, PendingPrice.Status.CONFIRMED, "confirmed by an operator")
        _save_histories(pending.source, histories, snapshots)
        result.change_ids = _sync_published({key}, None, timezone.now(), backfill=False)
        alert_hooks.changes_published(result.change_ids)
    return result


# --- loading and saving -------------------------------------------------------------------

_SNAPSHOT_FIELDS = (
    "valid_from",
    "valid_to",
    "observed_until",
    "first_seen_at",
    "last_seen_at",
    "first_run",
    "last_run",
)


_snapshot_of = operator.attrgetter(*_SNAPSHOT_FIELDS)


def _snapshot(span: Span) -> tuple[Any, ...]:
    snapshot: tuple[Any, ...] = _snapshot_of(span)
    return snapshot


def _load_histories(
    source: Source, keys: Iterable[Key], *, open_too: bool
) -> tuple[dict[Key, KeyHistory], dict[int, tuple[Any, ...]]]:
    wanted = set(keys)
    offering_ids = sorted({key[0] for key in wanted})
    fields = (
        "pk", "offering_id", "meter", "tier", "usd_per_mtok", "original_amount",
        "original_currency", "original_unit", "fx_rate_id", "valid_from", "valid_to",
        "observed_until", "first_seen_at", "last_seen_at", "first_run_id", "last_run_id",
    )  # fmt: skip
    # Unordered (the model's ordering joins three tables): KeyHistory sorts each key's spans.
    spans = PriceSpan.objects.filter(source=source).order_by()
    rows: list[tuple[Any, ...]] = []
    if open_too:
        # Every open span of the source (a complete listing may show some have vanished),
        # then the closed ones of the listed offerings.
        rows.extend(value_rows(spans.filter(valid_to__isnull=True).values_list(*fields)))
        spans = spans.filter(valid_to__isnull=False)
    for chunk in _chunks(offering_ids, 500):
        rows.extend(value_rows(spans.filter(offering_id__anyof=set(chunk)).values_list(*fields)))
    by_key: dict[Key, list[Span]] = defaultdict(list)
    snapshots: dict[int, tuple[Any, ...]] = {}
    statements: dict[tuple[Any, ...], Stated] = {}  # one Stated per distinct statement
    for (pk, offering_id, meter, tier, usd, amount, currency, unit, fx_rate_id, valid_from,
         valid_to, observed_until, first_seen, last_seen, first_run, last_run) in rows:  # fmt: skip
        key = (offering_id, meter, tier)
        if key not in wanted and not (open_too and valid_to is None):
            continue
        statement = (usd, amount, currency, unit, fx_rate_id)
        stated = statements.get(statement)
        if stated is None:
            stated = statements[statement] = Stated(*statement)
        span = Span(
            price=stated.identity,
            valid_from=valid_from,
            valid_to=valid_to,
            observed_until=observed_until,
            first_seen_at=first_seen,
            last_seen_at=last_seen,
            first_run=first_run,
            last_run=last_run,
            data=stated,
            id=pk,
        )
        by_key[key].append(span)
        snapshots[pk] = _snapshot(span)
    if open_too:
        wanted |= set(by_key)
    return {key: KeyHistory(by_key.get(key, [])) for key in wanted}, snapshots


def _save_histories(
    source: Source, histories: dict[Key, KeyHistory], snapshots: dict[int, tuple[Any, ...]]
) -> set[Key]:
    """Write what changed; return the keys whose timeline changed shape (a span appeared,
    vanished or moved a boundary): only there can the published price have moved. A span
    merely seen again changes last_seen_at, not the timeline."""
    reshaped = {key for key, hist in histories.items() if hist.removed}
    # Order matters for the one-open-span index: deletes, then updates, then inserts.
    removed = [span.id for hist in histories.values() for span in hist.removed if span.id]
    if removed:
        PriceSpan.objects.filter(pk__anyof=removed).delete()
    moved: list[PriceSpan] = []
    creates: list[tuple[Any, ...]] = []
    # Most updates only move last_seen_at, and share their new values (seen now, by this run):
    # one UPDATE ... WHERE id IN (...) per distinct set of values, no model objects.
    same_values: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for key, hist in histories.items():
        offering_id, meter, tier = key
        for span in hist.spans:
            now = _snapshot(span)
            before = snapshots.get(span.id) if span.id is not None else None
            if before == now:
                continue
            stated: Stated = span.data
            if span.id is None:
                creates.append(
                    (source.pk, offering_id, meter, tier, stated.usd_per_mtok, stated.amount,
                     stated.currency, stated.unit, stated.fx_rate_id, *now)
                )  # fmt: skip
                reshaped.add(key)
            elif before is not None and before[:2] == now[:2]:
                changes = tuple(
                    (name, value)
                    for name, old, value in zip(_SNAPSHOT_FIELDS, before, now, strict=True)
                    if old != value
                )
                same_values[changes].append(span.id)
            else:
                moved.append(
                    PriceSpan(pk=span.id, **dict(zip(_SNAPSHOT_COLUMNS, now, strict=True)))
                )
                reshaped.add(key)
    # Boundary moves go one by one, closing ones first, so that a span re-opened in this batch
    # finds no open twin.
    for row in sorted(moved, key=lambda row: row.valid_to is None):
        row.save(update_fields=list(_SNAPSHOT_COLUMNS))
    for changes, pks in same_values.items():
        values = {_SNAPSHOT_COLUMNS[_SNAPSHOT_FIELDS.index(name)]: value for name, value in changes}
        for chunk in _chunks(pks, 900):
            # A set: Django walks a list or tuple value element by element.
            PriceSpan.objects.filter(pk__anyof=set(chunk)).update(**values)
    insert_rows(PriceSpan, _INSERT_COLUMNS, creates)
    return reshaped


_SNAPSHOT_COLUMNS = (
    "valid_from", "valid_to", "observed_until", "first_seen_at", "last_seen_at",
    "first_run_id", "last_run_id",
)  # fmt: skip
_INSERT_COLUMNS = (
    "source_id", "offering_id", "meter", "tier", "usd_per_mtok", "original_amount",
    "original_currency", "original_unit", "fx_rate_id", *_SNAPSHOT_COLUMNS,
)  # fmt: skip


def insert_rows(
    model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT many rows of plain values at once: COPY on PostgreSQL, executemany elsewhere.

    `columns` are attribute names (`offering_id` for a foreign key). bulk_create() spends most
    of a large insert preparing each field of each model instance; these rows are already
    plain values. Elsewhere they are adapted by the backend's own adapters, so SQLite stores
    exactly what the ORM would. Errors are Django's (IntegrityError, ...), as from the ORM.
    """
    if not rows:
        return
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[c] for c in columns]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(str(f.column)) for f in fields)
    if connection.vendor == "postgresql":
        text = _copy_text(rows)
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            if text is not None:
                copy.write(text)
            else:
                for row in rows:
                    copy.write_row(row)
        return
    ops = connection.ops
    adapters: list[Any] = []
    for model_field in fields:
        if isinstance(model_field, DateTimeField):
            adapters.append(ops.adapt_datetimefield_value)
        elif isinstance(model_field, DateField):
            adapters.append(ops.adapt_datefield_value)
        elif isinstance(model_field, DecimalField):
            adapters.append(
                functools.partial(
                    ops.adapt_decimalfield_value,
                    max_digits=model_field.max_digits,
                    decimal_places=model_field.decimal_places,
                )
            )
        else:
            adapters.append(None)
    # Table and column names come from the model's own metadata, quoted; values are parameters.
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, convert_columns(rows, adapters))  # None passes every adapter


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(rows: Sequence[tuple[Any, ...]]) -> bytes | None:
    """The rows in COPY's text format, or None if a value is of a type it leaves to psycopg.

    Each distinct value of a column is formatted once (convert_columns()): about half the
    time of psycopg's write_row() per row.
    """
    try:
        cells = convert_columns(rows, [_copy_cell] * len(rows[0]))
    except (_NotCopyable, TypeError):  # TypeError: an unhashable value, such as a JSON list
        return None
    return "".join("\t".join(row) + "\n" for row in cells).encode()


class _NotCopyable(Exception):
    """A value _copy_cell() leaves to psycopg's own adaptation."""


def _copy_cell(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, int | Decimal | date) and not isinstance(value, datetime):
        return str(value)
    raise _NotCopyable(type(value).__name__)


def insert_new(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT rows that were absent a moment ago; every field a row leaves out takes its
    default (`auto_now_add` fields: now). All rows give the same fields.

    The fast path is insert_rows(). Should another transaction have inserted one of them in
    the meantime (a unique violation), the rows go again through bulk_create(ignore_conflicts=
    True), which skips the ones that now exist.
    """
    if not rows:
        return
    given = list(rows[0])
    now = timezone.now()
    defaults = {
        f.attname: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in given
    }  # fmt: skip
    try:
        with transaction.atomic():
            insert_rows(
                model,
                [*given, *defaults],
                [(*(row[c] for c in given), *defaults.values()) for row in rows],
            )
    except IntegrityError:
        model._default_manager.bulk_create(
            [model(**row) for row in rows], batch_size=2000, ignore_conflicts=True
        )


class SpanRow(NamedTuple):
    """What the published timeline needs of a stored span (cheaper to load than a model)."""

    pk: int
    offering_id: int
    meter: str
    tier: str
    source_id: int
    usd_per_mtok: Decimal
    valid_from: datetime
    valid_to: datetime | None


def published_span(row: PriceSpan | SpanRow) -> Span:
    """A stored span as the published timeline sees it: its USD price, its row as data."""
    return Span(
        price=row.usd_per_mtok.normalize(),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        observed_until=row.valid_from,
        first_seen_at=row.valid_from,
        last_seen_at=row.valid_from,
        data=row,
        id=row.pk,
    )


def source_ranks() -> dict[int, tuple[int, str]]:
    """Each source's rank for the published price: (priority, slug), lowest wins."""
    return {s.pk: (s.priority, s.slug) for s in Source.objects.all()}


def resync_published(keys: set[Key], observed_at: datetime) -> list[int]:
    """Bring the PriceChange events of (offering_id, meter, tier) keys in line with their spans,
    e.g. after a source's spans were rebuilt. Returns the ids of the events created."""
    with transaction.atomic():
        return _sync_published(keys, None, observed_at, backfill=True)


def _sync_published(
    keys: set[Key], run: ScrapeRun | None, observed_at: datetime, backfill: bool
) -> list[int]:
    """Bring the PriceChange events of `keys` in line with their published timelines."""
    if not keys:
        return []
    ranks = source_ranks()
    offering_ids = sorted({key[0] for key in keys})
    ranked: dict[Key, list[tuple[tuple[int, str], Span]]] = defaultdict(list)
    existing: dict[Key, dict[datetime, PriceChange]] = defaultdict(dict)
    for chunk in _chunks(offering_ids, 500):
        for values in value_rows(
            PriceSpan.objects.filter(offering_id__anyof=chunk)
            .order_by()
            .values_list(*SpanRow._fields)
        ):
            row = SpanRow(*values)
            key = (row.offering_id, row.meter, row.tier)
            if key in keys:
                ranked[key].append((ranks[row.source_id], published_span(row)))
        for change in PriceChange.objects.filter(
            offering_id__anyof=chunk, retracted_at__isnull=True
        ).order_by():
            key = (change.offering_id, change.meter, change.tier)
            if key in keys:
                existing[key][change.changed_at] = change
    now = timezone.now()
    retract: list[int] = []
    creates: list[tuple[Any, ...]] = []
    for key in keys:
        have = existing[key]
        for step in transitions(published_timeline(ranked[key])):
            old = have.pop(step.at, None)
            if old is not None and (old.old_usd_per_mtok, old.new_usd_per_mtok) == (
                step.old,
                step.new,
            ):
                continue
            if old is not None:
                retract.append(old.pk)
            kind = (
                PriceChange.Kind.LISTED
                if step.old is None
                else PriceChange.Kind.DELISTED
                if step.new is None
                else PriceChange.Kind.CHANGED
            )
            published: SpanRow | None = step.segment.span.data if step.segment else None
            old_usd = Decimal(str(step.old)) if step.old is not None else None
            new_usd = Decimal(str(step.new)) if step.new is not None else None
            creates.append(
                (
                    key[0], key[1], key[2], kind, old_usd, new_usd,
                    PriceChange.ratio_of(old_usd, new_usd), step.at, now,
                    published.source_id if published else None,
                    published.pk if published else None,
                    run.pk if run else None,
                    backfill or step.at < observed_at - BACKFILL_SLACK,
                )
            )  # fmt: skip
        retract.extend(change.pk for change in have.values())
    _sync_disagreements(keys, ranked, now)
    if retract:
        PriceChange.objects.filter(pk__anyof=retract).update(retracted_at=now)
    insert_rows(PriceChange, _CHANGE_COLUMNS, creates)
    if not creates:
        return []
    # This call's events are the live ones it detected now (one recorder per source at a time).
    mine = PriceChange.objects.filter(detected_at=now, retracted_at__isnull=True).order_by()
    mine = mine.filter(run=run) if run else mine.filter(offering_id__anyof=offering_ids)
    return sorted(mine.values_list("pk", flat=True))


_CHANGE_COLUMNS = (
    "offering_id", "meter", "tier", "kind", "old_usd_per_mtok", "new_usd_per_mtok", "ratio",
    "changed_at", "detected_at", "source_id", "span_id", "run_id", "is_backfill",
)  # fmt: skip


def _sync_disagreements(
    keys: set[Key], ranked: dict[Key, list[tuple[tuple[int, str], Span]]], now: datetime
) -> None:
    """Open a PriceDisagreement for each source whose current price for a key differs from the
    published one by more than DISAGREEMENT; resolve the ones that no longer do."""
    still_open: dict[tuple[Key, int], PriceDisagreement] = {}
    offering_ids = sorted({key[0] for key in keys})
    for chunk in _chunks(offering_ids, 500):
        for row in PriceDisagreement.objects.filter(
            offering_id__anyof=chunk, resolved_at__isnull=True
        ).order_by():
            key = (row.offering_id, row.meter, row.tier)
            if key in keys:
                still_open[(key, row.source_id)] = row
    opened: list[PriceDisagreement] = []
    for key in keys:
        current = sorted(
            ((rank, span) for rank, span in ranked.get(key, []) if span.contains(now)),
            key=lambda pair: pair[0],
        )
        if len(current) < 2:
            continue
        published: SpanRow = current[0][1].data
        for _, span in current[1:]:
            other: SpanRow = span.data
            if other.source_id == published.source_id or published.usd_per_mtok == 0:
                continue
            difference = (other.usd_per_mtok - published.usd_per_mtok) / published.usd_per_mtok
            if abs(difference) <= DISAGREEMENT:
                continue
            existing = still_open.pop((key, other.source_id), None)
            if (
                existing is not None
                and existing.usd_per_mtok == other.usd_per_mtok
                and (existing.published_usd_per_mtok == published.usd_per_mtok)
            ):
                continue
            if existing is not None:
                existing.resolved_at = now
                existing.save(update_fields=["resolved_at"])
            opened.append(
                PriceDisagreement(
                    offering_id=key[0],
                    meter=key[1],
                    tier=key[2],
                    source_id=other.source_id,
                    usd_per_mtok=other.usd_per_mtok,
                    published_source_id=published.source_id,
                    published_usd_per_mtok=published.usd_per_mtok,
                    difference=difference.quantize(Decimal("0.000001")),
                    opened_at=now,
                )
            )
    if still_open:
        PriceDisagreement.objects.filter(pk__anyof=[r.pk for r in still_open.values()]).update(
            resolved_at=now
        )
    PriceDisagreement.objects.bulk_create(opened, batch_size=1000)


# --- entities and FX ----------------------------------------------------------------------


def _resolve_offerings(quotes: Sequence[Quote], *, curated: bool) -> dict[tuple[str, str], int]:
    """Map each quote's (provider, provider_model_id) to an Offering id, creating what is new.

    New providers, models and offerings are marked auto_discovered unless the source is curated.
    """
    wanted = {(q.provider, q.provider_model_id): q for q in quotes}
    if not wanted:
        return {}
    # Creators first, so a seller's stated name wins where a slug is both (openai makes and sells).
    providers = _ensure_providers(
        {q.creator: "" for q in quotes if q.creator}
        | {q.provider: q.provider_name for q in quotes},
        curated,
    )
    found: dict[tuple[str, str], int] = {}

    def lookup() -> None:
        for chunk in _chunks(sorted(wanted), 500):
            pmids = [pmid for _, pmid in chunk]
            for offering_id, provider_slug, pmid in (
                Offering.objects.filter(
                    provider__slug__anyof={p for p, _ in chunk}, provider_model_id__anyof=pmids
                )
                .order_by()
                .values_list("pk", "provider__slug", "provider_model_id")
            ):
                found[(provider_slug, pmid)] = offering_id

    lookup()
    missing = [wanted[k] for k in wanted if k not in found]
    if not missing:
        return found
    models = _ensure_models([q for q in quotes if q.key[:2] not in found], providers, curated)
    insert_new(
        Offering,
        [
            {
                "provider_id": providers[q.provider],
                "model_id": models[(q.provider, q.provider_model_id)],
                "provider_model_id": q.provider_model_id,
                "auto_discovered": not curated,
            }
            for q in missing
        ],
    )
    lookup()
    return found


def _ensure_providers(names: dict[str, str], curated: bool) -> dict[str, int]:
    existing = dict(Provider.objects.filter(slug__anyof=names).values_list("slug", "pk"))
    new = [
        {"slug": slug, "name": name or slug, "auto_discovered": not curated}
        for slug, name in names.items()
        if slug not in existing
    ]
    if new:
        insert_new(Provider, new)
        existing = dict(Provider.objects.filter(slug__anyof=names).values_list("slug", "pk"))
    return existing


def _ensure_models(
    quotes: Sequence[Quote], providers: dict[str, int], curated: bool
) -> dict[tuple[str, str], int]:
    """The LanguageModel id for each new offering's (provider, provider_model_id).

    A curated source names our model slug itself. Any other source's spellings (the adapter's
    hint, then the seller's id) are normalised and looked up as model slugs, then as aliases;
    only when none matches is a model created (auto-discovered), with the seller's spelling
    added as an alias for review.
    """
    first: dict[tuple[str, str], Quote] = {}
    for q in quotes:
        first.setdefault((q.provider, q.provider_model_id), q)
    spellings = {
        key: [q.model_slug]
        if curated
        else list(dict.fromkeys([q.model_slug, *(normalise(n) for n in (q.model, key[1]) if n)]))
        for key, q in first.items()
    }
    names = {name for options in spellings.values() for name in options}
    slugs = dict(LanguageModel.objects.filter(slug__anyof=names).values_list("slug", "pk"))
    aliases = (
        {}
        if curated
        else dict(ModelAlias.objects.filter(alias__anyof=names).values_list("alias", "model_id"))
    )
    resolved: dict[tuple[str, str], int] = {}
    for key, options in spellings.items():
        found = next(
            (slugs.get(n) or aliases.get(n) for n in options if n in slugs or n in aliases), None
        )
        if found is not None:
            resolved[key] = found
    missing = {key: first[key].model_slug for key in first if key not in resolved}
    if not missing:
        return resolved
    # Each hint is taken from the first quote of the model that carries it.
    hints: dict[str, dict[str, Any]] = defaultdict(dict)
    slug_of: dict[tuple[str, str], str] = {}  # model_slug depends on these two fields only
    for q in quotes:
        slug = missing.get((q.provider, q.provider_model_id))
        if slug is None:
            continue
        spelling = (q.model, q.provider_model_id)
        if spelling not in slug_of:
            slug_of[spelling] = q.model_slug
        if slug_of[spelling] != slug:
            continue
        merged = hints[slug]
        for name in ("model_name", "creator", "release_date", "context_window", "open_weights"):
            value = getattr(q, name)
            if value not in (None, "") and name not in merged:
                merged[name] = value
    insert_new(
        LanguageModel,
        [
            {
                "slug": slug,
                "name": hint.get("model_name", slug),
                "creator_id": providers.get(hint["creator"]) if "creator" in hint else None,
                "release_date": hint.get("release_date"),
                "context_window": hint.get("context_window"),
                "open_weights": hint.get("open_weights"),
                "auto_discovered": not curated,
            }
            for slug, hint in hints.items()
        ],
    )
    created = dict(
        LanguageModel.objects.filter(slug__anyof=set(missing.values())).values_list("slug", "pk")
    )
    for key, slug in missing.items():
        resolved[key] = created[slug]
    if not curated:
        spelt: dict[str, str] = {}  # the first model a spelling names wins
        for (_, pmid), slug in missing.items():
            spelt.setdefault(normalise(pmid), slug)
        insert_new(
            ModelAlias,
            [
                {"alias": alias, "model_id": created[slug], "auto_created": True}
                for alias, slug in spelt.items()
                if alias and alias != slug and alias not in aliases
            ],
        )
    return resolved


class _FxCache:
    """Converts stated prices to USD with the FxRate of the date (nearest earlier)."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, date], FxRate | None] = {}
        # A price list states few distinct prices: each is converted once.
        self._stated: dict[tuple[Any, ...], Stated | None] = {}

    def state(self, quote: Quote, on: date) -> Stated | None:
        memo = (quote.amount, quote.unit, quote.currency, None if quote.currency == "USD" else on)
        if memo not in self._stated:
            self._stated[memo] = self._state(quote, on)
        return self._stated[memo]

    def _state(self, quote: Quote, on: date) -> Stated | None:
        # 15 significant digits: what both databases keep exactly (SQLite stores a float), and
        # more than any price list states; it also absorbs float noise such as 1.0399999999999998.
        amount = SIGNIFICANT.create_decimal(quote.amount).quantize(AMOUNT_QUANTUM).normalize()
        per_mtok = SIGNIFICANT.create_decimal(
            amount * Decimal(1_000_000) / TOKENS_PER_UNIT[quote.unit]
        )
        if quote.currency == "USD":
            return Stated(per_mtok.quantize(QUANTUM), amount, "USD", quote.unit, None)
        rate = self._rate(quote.currency, on)
        if rate is None:
            return None
        usd = (per_mtok / rate.per_usd).quantize(QUANTUM)
        return Stated(usd, amount, quote.currency, quote.unit, rate.pk)

    def _rate(self, currency: str, on: date) -> FxRate | None:
        if (currency, on) not in self._rates:
            self._rates[(currency, on)] = (
                FxRate.objects.filter(currency=currency, date__lte=on).order_by("-date").first()
            )
        return self._rates[(currency, on)]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "IngestError",
    "QuoteError",
    "RecordResult",
    "confirm_pending",
    "published_span",
    "record",
    "resync_published",
    "source_ranks",
]
