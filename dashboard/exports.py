"""The downloadable tables, and their rows as CSV, JSON Lines or Parquet, in constant memory.

Each Table declares its columns (type, unit, description: the data dictionary of the /data/
page, docs/data.md and the releases' datapackage.json) and where its rows come from: an
ordered queryset, or for the daily series raw SQL on PostgreSQL and a Python sweep elsewhere.

On PostgreSQL a CSV is `COPY (query) TO STDOUT WITH (FORMAT csv, HEADER)` streamed in chunks,
the query formatting each value exactly as the Python writer does (so both backends give the
same bytes); JSON Lines reads a server-side cursor. Parquet is made from the CSV by Arrow, in
row groups, to a file (its footer comes last); the caller streams the file.

The spans CSV's columns and order are a contract (`/export/spans.csv`): add, never change.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, F, Model, Q, QuerySet, TextField
from django.db.models.functions import Collate
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.filters import FilterError, Filters, parse_filters
from tracker.models import (
    CapabilityScore,
    LanguageModel,
    ModelAlias,
    Offering,
    PriceChange,
    PriceSpan,
    Provider,
    Series,
    SeriesPoint,
    Source,
)

Row = tuple[Any, ...]
CHUNK_BYTES = 64 * 1024
FETCH_ROWS = 2000
SORT_MEMORY = "64MB"  # per sort, per worker
PARQUET_BLOCK_BYTES = 1024 * 1024
PARQUET_GROUP_ROWS = 64 * 1024

SPAN_COLUMNS = [
    "source", "provider", "provider_model_id", "model", "meter", "tier", "usd_per_mtok",
    "original_amount", "original_currency", "original_unit", "valid_from", "valid_to",
    "first_seen_at", "last_seen_at",
]  # fmt: skip
SPAN_FIELDS = [
    "source__slug", "offering__provider__slug", "offering__provider_model_id",
    "offering__model__slug", "meter", "tier", "usd_per_mtok", "original_amount",
    "original_currency", "original_unit", "valid_from", "valid_to", "first_seen_at",
    "last_seen_at",
]  # fmt: skip


# --- values as text: one rule for CSV and JSON Lines, mirrored by _pg_text() for COPY ---


def plain_decimal(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 2.5, 0.00000015, 60."""
    return format(value.normalize(), "f")


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cell(value: Any) -> Any:
    """A value as a CSV cell: decimals plain, instants UTC to the second, booleans lowercase."""
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_value(value: Any) -> Any:
    """A value for JSON: decimals as exact strings (a JSON number would become a float in most
    readers), dates and instants as text, the rest as it is."""
    if isinstance(value, (Decimal, datetime, date)):
        return cell(value)
    return value


# --- the tables ---


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string, integer, boolean, date, datetime, decimal
    description: str
    unit: str = ""
    digits: tuple[int, int] = (0, 0)  # a decimal's (precision, scale)


@dataclass(frozen=True)
class Table:
    """One download. Rows come in `key` order (unique), from `queryset` (values_list in column
    order), or from `rows` (Python) with `sql` used instead on PostgreSQL when given."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    filters: str  # the filters that apply, for people
    # For the release diff: columns whose change is not news (a span seen again), and columns
    # whose first filling is a named event (a span ended, an event retracted).
    volatile: tuple[str, ...] = ()
    milestones: tuple[tuple[str, str], ...] = ()
    queryset: Callable[[Filters], QuerySet[Any]] | None = None
    rows: Callable[[Filters, date], Iterator[Row]] | None = None
    sql: Callable[[Filters, date], tuple[str, list[Any]]] | None = None
    # `sql` cut into n parts, read at once on n connections (_copy_in_parts); None when not
    # worth it for these filters.
    parts: Callable[[Filters, date, int], list[tuple[str, list[Any]]] | None] | None = None
    # PostgreSQL settings for reading `sql` (planner choices it is written for).
    pg_settings: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


USD = "USD per 1,000,000 tokens"
_price = (24, 12)


def _s(name: str, description: str) -> Column:
    return Column(name, "string", description)


def _t(name: str, description: str) -> Column:
    return Column(name, "datetime", description + " (UTC, to the second).")


KEY_COLUMNS = (
    _s("provider", "Slug of the provider selling the model."),
    _s("provider_model_id", "The provider's own id of the model."),
    _s("model", "Slug of the model (the same model sold by several providers has one slug)."),
    _s(
        "meter",
        "What the price is per: input, output, cache_read, cache_write, batch_input, "
        "batch_output, reasoning, input_audio, output_audio.",
    ),
    _s("tier", "Condition of the price (e.g. over_200k, off_peak); empty for the base price."),
)


def _ordered(queryset: QuerySet[Any], *fields: str) -> QuerySet[Any]:
    """Order by `fields`, text byte-wise ("C" collation on PostgreSQL, SQLite's default), so
    that the order, and so a release's bytes, do not depend on the database's locale."""
    return queryset.order_by(*(_bytewise(queryset.model, f) for f in fields))


def _bytewise(model: type[Model], path: str) -> Any:
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model  # type: ignore[assignment]
    text = isinstance(model._meta.get_field(name), (CharField, TextField))
    if text and connection.vendor == "postgresql":
        return Collate(F(path), "C").asc()
    return F(path).asc()


def _spans(f: Filters) -> QuerySet[Any]:
    queryset = PriceSpan.objects.filter(f.span_q())
    return _ordered(
        queryset, "source__slug", "offering__provider__slug", "offering__provider_model_id",
        "meter", "tier", "valid_from",
    ).values_list(*SPAN_FIELDS)  # fmt: skip


def _spans_sql(
    f: Filters, until: date, part: tuple[int, int] | None = None
) -> tuple[str, list[Any]]:
    """PostgreSQL: the spans in key order without sorting them all; with `part` (i, n), only
    the i-th of n consecutive slices of that order (see _spans_parts).

    Sorting 1,000,000 joined rows by their slugs was most of a full download's time. Instead
    the (source, offering) pairs, about 40,000, are sorted by (source slug, provider slug,
    provider_model_id); each pair's spans are read in a nested loop through the index on
    (source_id, offering_id, meter, tier, valid_from) (pricespan_source_key, migration 0010),
    so the outer ORDER BY, which alone guarantees the order, costs only an Incremental Sort of
    a few dozen rows per pair. The planner expects
    few rows from that join and would hash it and sort everything: SPANS.pg_settings rule
    hash and merge joins out for this query.
    """
    sources = Source.objects.order_by()  # no default ordering: no joins it would bring
    if f.sources:
        sources = sources.filter(slug__in=f.sources)
    offerings = Offering.objects.filter(f.offering_q()).order_by()
    on_spans = replace(f, providers=(), models=(), sources=())  # meter, tier, dates
    spans = PriceSpan.objects.filter(on_spans.span_q()).order_by()
    parts = [
        sources.values_list("id", "slug").query.sql_with_params(),
        offerings.values_list(
            "id", "provider__slug", "provider_model_id", "model__slug"
        ).query.sql_with_params(),
        spans.values_list("source_id", "offering_id", *SPAN_FIELDS[4:]).query.sql_with_params(),
    ]
    (s_sql, _), (o_sql, _), (p_sql, _) = parts
    columns = ", ".join(SPAN_FIELDS[4:])
    selected = ", ".join(f"p.{name}" for name in SPAN_FIELDS[4:])
    pairs_order = 's.slug COLLATE "C", o.provider COLLATE "C", o.provider_model_id COLLATE "C"'
    select_pairs = "SELECT s.id, o.id, s.slug, o.provider, o.provider_model_id, o.model"
    from_pairs = f"""FROM ({s_sql}) AS s (id, slug)
            CROSS JOIN ({o_sql}) AS o (id, provider, provider_model_id, model)"""
    if part is None:
        pairs = f"{select_pairs}\n            {from_pairs}\n            ORDER BY {pairs_order}"
    else:
        # The pairs that have spans (a subplan probing pricespan_source_key per pair: as a
        # join the planner would read every span), cut into runs of consecutive pairs. The
        # ids break ties, so that every part's connection cuts at the same pairs.
        index, count = int(part[0]), int(part[1])
        table = connection.ops.quote_name(PriceSpan._meta.db_table)
        pairs = f"""SELECT * FROM (
                {select_pairs}, ntile({count}) OVER (ORDER BY {pairs_order}, s.id, o.id)
                {from_pairs}
                WHERE (SELECT 1 FROM {table} AS e
                    WHERE e.source_id = s.id AND e.offering_id = o.id LIMIT 1) IS NOT NULL
            ) AS r (source_id, offering_id, slug, provider, provider_model_id, model, part)
            WHERE r.part = {index}
            ORDER BY r.slug COLLATE "C", r.provider COLLATE "C", r.provider_model_id COLLATE "C"
        """  # noqa: S608 (integers and the model's quoted table name; Django's queries as above)
    sql = f"""
        SELECT k.source, k.provider, k.provider_model_id, k.model, {selected}
        FROM (
            {pairs}
        ) AS k (source_id, offering_id, source, provider, provider_model_id, model)
        JOIN ({p_sql}) AS p (source_id, offering_id, {columns})
            ON p.source_id = k.source_id AND p.offering_id = k.offering_id
        ORDER BY k.source COLLATE "C", k.provider COLLATE "C",
            k.provider_model_id COLLATE "C", p.meter COLLATE "C", p.tier COLLATE "C",
            p.valid_from
    """  # noqa: S608 (the inner queries are Django's, with their parameters kept apart)
    return sql, [param for _, params in parts for param in params]


def _spans_parts(f: Filters, until: date, count: int) -> list[tuple[str, list[Any]]] | None:
    """The spans query cut into `count` parts whose rows, one part after the other, are the
    whole query's in its order; None when the spans to read are too few to be worth it."""
    enough = settings.EXPORT_SPLIT_ROWS
    if PriceSpan.objects.filter(f.span_q()).order_by()[:enough].count() < enough:
        return None
    return [_spans_sql(f, until, (i, count)) for i in range(1, count + 1)]


SPANS = Table(
    name="spans",
    title="Price spans",
    description="What each source said an offering's meter cost, from valid_from until "
    "valid_to (empty while current). Per (source, provider, provider_model_id, meter, tier) "
    "spans never overlap. The published price is the span of the most authoritative source.",
    columns=(
        _s("source", "Slug of the source that stated the price."),
        *KEY_COLUMNS,
        Column(
            "usd_per_mtok", "decimal", "The price in US dollars per million tokens.", USD, _price
        ),
        Column(
            "original_amount",
            "decimal",
            "The price as the source stated it, in original_currency per original_unit.",
            "original_currency per original_unit",
            (30, 18),
        ),
        _s("original_currency", "ISO 4217 currency the source stated the price in."),
        _s("original_unit", "Tokens the stated amount is per: token, 1k or 1m."),
        _t("valid_from", "When the price took effect"),
        _t(
            "valid_to",
            "When the next price took effect or the price was withdrawn; empty while current",
        ),
        _t("first_seen_at", "When the source was first seen stating it"),
        _t("last_seen_at", "When the source was last seen stating it"),
    ),
    key=("source", "provider", "provider_model_id", "meter", "tier", "valid_from"),
    volatile=("first_seen_at", "last_seen_at"),
    milestones=(("valid_to", "ended"),),
    filters="provider, model, meter, source, tier, from, to (spans overlapping the range)",
    queryset=_spans,
    sql=_spans_sql,
    parts=_spans_parts,
    pg_settings=(("enable_hashjoin", "off"), ("enable_mergejoin", "off")),
)


def _changes(f: Filters) -> QuerySet[Any]:
    return (
        PriceChange.objects.filter(f.change_q())
        .order_by("id")
        .values_list(
            "id",
            "changed_at",
            "offering__provider__slug",
            "offering__provider_model_id",
            "offering__model__slug",
            "meter",
            "tier",
            "kind",
            "old_usd_per_mtok",
            "new_usd_per_mtok",
            "ratio",
            "source__slug",
            "is_backfill",
            "detected_at",
            "retracted_at",
        )
    )


CHANGES = Table(
    name="changes",
    title="Published price changes",
    description="Every change of a published price: listed (a price appears), changed, "
    "delisted (it vanishes). Append-only: an event later shown wrong is kept with "
    "retracted_at set. In the order they were recorded (id).",
    columns=(
        Column("id", "integer", "The event's id: stable, and increasing in recording order."),
        _t("changed_at", "When the new price took effect"),
        *KEY_COLUMNS,
        _s("kind", "listed, changed or delisted."),
        Column(
            "old_usd_per_mtok",
            "decimal",
            "The published price before; empty when listed.",
            USD,
            _price,
        ),
        Column(
            "new_usd_per_mtok",
            "decimal",
            "The published price after; empty when delisted.",
            USD,
            _price,
        ),
        Column(
            "ratio",
            "decimal",
            "new / old; empty when either is missing or old is zero.",
            "",
            (24, 12),
        ),
        _s("source", "Slug of the source of the new price."),
        Column("is_backfill", "boolean", "Learnt after the fact (backfill, ledger)."),
        _t("detected_at", "When the tracker recorded the event"),
        _t(
            "retracted_at",
            "When a later observation showed the event no longer holds; empty while it holds",
        ),
    ),
    key=("id",),
    milestones=(("retracted_at", "retracted"),),
    filters="provider, model, meter, source (of the new price), tier, from, to (changed_at)",
    queryset=_changes,
)


def _narrowed(queryset: QuerySet[Any], slugs: tuple[str, ...], offerings: Q, column: str) -> Any:
    """Rows among `slugs` (if any) with an offering matching `offerings` (if any): the
    providers selling a model, the models a provider sells."""
    if slugs:
        queryset = queryset.filter(slug__in=slugs)
    if offerings:
        queryset = queryset.filter(pk__in=Offering.objects.filter(offerings).values(column))
    return queryset


def _providers(f: Filters) -> QuerySet[Any]:
    sold = Q(model__slug__in=f.models) if f.models else Q()
    queryset = _narrowed(Provider.objects.all(), f.providers, sold, "provider_id")
    return _ordered(queryset, "slug").values_list("slug", "name", "website", "is_reseller")


PROVIDERS = Table(
    name="providers",
    title="Providers",
    description="Who sells tokens (or makes models).",
    columns=(
        _s("slug", "The provider's slug."),
        _s("name", "Its name."),
        _s("website", "Its website."),
        Column("is_reseller", "boolean", "Resells other providers' models (OpenRouter, ...)."),
    ),
    key=("slug",),
    filters="provider, model (providers selling it)",
    queryset=_providers,
)


def _model_queryset(f: Filters) -> QuerySet[LanguageModel]:
    sold = Q(provider__slug__in=f.providers) if f.providers else Q()
    queryset: QuerySet[LanguageModel] = _narrowed(
        LanguageModel.objects.all(), f.models, sold, "model_id"
    )
    return queryset


def _models(f: Filters, until: date) -> Iterator[Row]:
    """Models with their aliases and scores folded into one cell each (the scores table has
    the scores one per row)."""
    models = _model_queryset(f)
    aliases: dict[int, list[str]] = {}
    for model_id, alias in ModelAlias.objects.filter(model__in=models).values_list(
        "model_id", "alias"
    ):
        aliases.setdefault(model_id, []).append(alias)
    scores: dict[int, list[str]] = {}
    for model_id, benchmark, source, score in _ordered(
        CapabilityScore.objects.filter(model__in=models), "benchmark", "source"
    ).values_list("model_id", "benchmark", "source", "score"):
        scores.setdefault(model_id, []).append(f"{benchmark}={plain_decimal(score)} ({source})")
    rows = _ordered(models, "slug").values_list(
        "pk", "slug", "name", "creator__slug", "family", "release_date", "context_window",
        "open_weights",
    )  # fmt: skip
    for pk, *values in rows.iterator(chunk_size=FETCH_ROWS):
        yield (*values, "; ".join(sorted(aliases.get(pk, []))), "; ".join(scores.get(pk, [])))


MODELS = Table(
    name="models",
    title="Models",
    description="What is sold: one row per model, whoever sells it.",
    columns=(
        _s("slug", "The model's slug."),
        _s("name", "Its name."),
        _s("creator", "Slug of the provider that made it; empty if unknown."),
        _s("family", "Its family (gpt-4, claude-3, ...); empty if unknown."),
        Column("release_date", "date", "When it was released; empty if unknown."),
        Column("context_window", "integer", "Its context window; empty if unknown.", "tokens"),
        Column("open_weights", "boolean", "Whether its weights are published; empty if unknown."),
        _s("aliases", "Other spellings sources use for it, '; '-separated."),
        _s("scores", "Capability scores, '; '-separated 'benchmark=score (source)'."),
    ),
    key=("slug",),
    filters="model, provider (models it sells)",
    rows=_models,
)


def _scores(f: Filters) -> QuerySet[Any]:
    queryset = CapabilityScore.objects.filter(model__in=_model_queryset(f))
    queryset = queryset.filter(f.date_q("measured_on"))
    return _ordered(queryset, "model__slug", "benchmark", "source").values_list(
        "model__slug", "benchmark", "source", "score", "measured_on", "source_url"
    )


SCORES = Table(
    name="scores",
    title="Capability scores",
    description="A model's score on a named benchmark, as one source reports it.",
    columns=(
        _s("model", "Slug of the model."),
        _s("benchmark", "Slug of the benchmark (eci, gpqa_diamond, lmarena_text, ...)."),
        _s("source", "Slug of the source reporting the score."),
        Column("score", "decimal", "The score, in the benchmark's own scale.", "", (12, 4)),
        Column("measured_on", "date", "When it was measured; empty if unknown."),
        _s("source_url", "Where the source publishes it."),
    ),
    key=("model", "benchmark", "source"),
    filters="model, provider (models it sells), from, to (measured_on)",
    queryset=_scores,
)


def _offerings(f: Filters) -> QuerySet[Any]:
    queryset = Offering.objects.filter(f.offering_q())
    return _ordered(queryset, "provider__slug", "provider_model_id").values_list(
        "provider__slug", "provider_model_id", "model__slug", "auto_discovered"
    )


OFFERINGS = Table(
    name="offerings",
    title="Offerings",
    description="One model as sold by one provider, under the provider's own model id.",
    columns=(
        *KEY_COLUMNS[:3],
        Column("auto_discovered", "boolean", "Created by ingest from an unknown id."),
    ),
    key=("provider", "provider_model_id"),
    filters="provider, model",
    queryset=_offerings,
)


def _sources(f: Filters) -> QuerySet[Any]:
    queryset = Source.objects.filter(slug__in=f.sources) if f.sources else Source.objects.all()
    return _ordered(queryset, "slug").values_list(
        "slug", "name", "kind", "priority", "url", "licence"
    )


SOURCES = Table(
    name="sources",
    title="Sources",
    description="What reports prices (and reference data). The published price of an "
    "offering comes from the source with the lowest priority that reports it.",
    columns=(
        _s("slug", "The source's slug."),
        _s("name", "Its name."),
        _s("kind", "provider_page, curated_map, ledger, aggregator or reference."),
        Column("priority", "integer", "Lower is more authoritative."),
        _s("url", "Where it is fetched from, when set here (else the adapter's own)."),
        _s("licence", "Its data's licence."),
    ),
    key=("slug",),
    filters="source",
    queryset=_sources,
)


def _series(f: Filters) -> QuerySet[Any]:
    return _ordered(Series.objects.all(), "slug").values_list(
        "slug", "title", "unit", "kind", "basis", "basis_year", "cpi_base_year",
        "breakthrough_date", "breakthrough_event", "source", "source_url", "licence", "notes",
    )  # fmt: skip


SERIES = Table(
    name="series",
    title="Analogy series",
    description="Historical series the LLM price decline is compared with (aluminium, solar "
    "modules, DRAM, ...) and the CPI that puts prices in constant dollars.",
    columns=(
        _s("slug", "The series' slug."),
        _s("title", "Its title."),
        _s("unit", "The unit of its values."),
        _s("kind", "price, quantity or index."),
        _s("basis", "nominal (dollars of each year) or real (dollars of basis_year)."),
        Column("basis_year", "integer", "The year a real series' dollars are of."),
        Column("cpi_base_year", "integer", "The year series_points.real is in dollars of."),
        Column("breakthrough_date", "date", "The date the series is aligned on."),
        _s("breakthrough_event", "What happened then."),
        _s("source", "Where the data comes from."),
        _s("source_url", "Its address."),
        _s("licence", "Its licence."),
        _s("notes", "Notes on the data (splices, gaps)."),
    ),
    key=("slug",),
    filters="none",
    queryset=_series,
)


def _series_points(f: Filters) -> QuerySet[Any]:
    queryset = SeriesPoint.objects.filter(f.date_q("date"))
    return _ordered(queryset, "series__slug", "date").values_list(
        "series__slug", "date", "value", "nominal", "real", "quality", "note", "source"
    )


SERIES_POINTS = Table(
    name="series_points",
    title="Analogy series points",
    description="The points of each analogy series.",
    columns=(
        _s("series", "Slug of the series."),
        Column("date", "date", "The date of the point (1 January for a yearly value)."),
        Column("value", "decimal", "As published, in the series' unit and basis.", "", (30, 12)),
        Column(
            "nominal",
            "decimal",
            "In current dollars of the point's year (prices only).",
            "USD",
            (30, 12),
        ),
        Column(
            "real",
            "decimal",
            "In constant dollars of the series' cpi_base_year (prices only).",
            "USD",
            (30, 12),
        ),
        _s("quality", "measured, estimated or approximate."),
        _s("note", "A note on this point."),
        _s("source", "The point's own source, where it differs from the series'."),
    ),
    key=("series", "date"),
    filters="from, to (date)",
    queryset=_series_points,
)


# --- the daily series: one row per day per (offering, meter, tier) ---

DAILY_FIELDS = (
    "offering__provider__slug", "offering__provider_model_id", "offering__model__slug",
    "meter", "tier", "usd_per_mtok", "source__slug", "source__priority", "valid_from",
    "valid_to",
)  # fmt: skip


def _daily_bounds(f: Filters, until: date) -> tuple[datetime | None, datetime]:
    """The first and the after-last midnight of the daily series (days up to `until`)."""
    end = datetime.combine(until, time(), UTC) + timedelta(days=1)
    if f.end_at is not None:
        end = min(end, f.end_at)
    return f.start_at, end


def _daily_spans(f: Filters, until: date) -> QuerySet[Any]:
    _, end = _daily_bounds(f, until)
    return PriceSpan.objects.filter(f.span_q(), valid_from__lt=end)


def _daily_sql(f: Filters, until: date) -> tuple[str, list[Any]]:
    """PostgreSQL: each span's midnights by generate_series; per day the covering span of the
    most authoritative source (DISTINCT ON, ordered by the source's priority)."""
    start, end = _daily_bounds(f, until)
    inner = _daily_spans(f, until).values_list(
        *(Collate(F(name), "C") for name in DAILY_FIELDS[:5]), *DAILY_FIELDS[5:]
    )
    sql, params = inner.query.sql_with_params()
    outer = f"""
        SELECT DISTINCT ON (t.provider, t.pmid, t.meter, t.tier, g.day)
            (g.day AT TIME ZONE 'UTC')::date, t.provider, t.pmid, t.model, t.meter, t.tier,
            t.usd, t.source
        FROM ({sql}) AS t (provider, pmid, model, meter, tier, usd, source, priority, vf, vt)
        CROSS JOIN LATERAL generate_series(
            GREATEST(date_trunc('day', t.vf - interval '1 microsecond', 'UTC')
                     + interval '1 day', %s::timestamptz),
            LEAST(COALESCE(t.vt, %s::timestamptz), %s::timestamptz) - interval '1 microsecond',
            interval '1 day') AS g (day)
        ORDER BY t.provider, t.pmid, t.meter, t.tier, g.day, t.priority, t.source COLLATE "C"
    """  # noqa: S608 (the inner query is Django's, with its parameters kept apart)
    return outer, [*params, start, end, end]


def _daily_rows(f: Filters, until: date) -> Iterator[Row]:
    """The same as _daily_sql, in Python: per key, each midnight's most authoritative span."""
    start, end = _daily_bounds(f, until)
    spans = _ordered(
        _daily_spans(f, until), *DAILY_FIELDS[:2], "meter", "tier", "valid_from"
    ).values_list(*DAILY_FIELDS)
    for key, group in itertools.groupby(spans.iterator(chunk_size=FETCH_ROWS), lambda r: r[:5]):
        best: dict[date, tuple[tuple[int, str], Decimal, str]] = {}
        for *_, usd, source, priority, valid_from, valid_to in group:
            day = _first_midnight(valid_from, start)
            stop = end if valid_to is None else min(valid_to, end)
            while day < stop:
                held = best.get(day.date())
                if held is None or (priority, source) < held[0]:
                    best[day.date()] = ((priority, source), usd, source)
                day += timedelta(days=1)
        for day_date in sorted(best):
            _, usd, source = best[day_date]
            yield (day_date, *key, usd, source)


def _first_midnight(at: datetime, start: datetime | None) -> datetime:
    """The first midnight (UTC) at or after `at`, and not before `start`."""
    at = at.astimezone(UTC)
    midnight = datetime.combine(at.date(), time(), UTC)
    if midnight < at:
        midnight += timedelta(days=1)
    return midnight if start is None else max(midnight, start)


DAILY = Table(
    name="daily",
    title="Daily published prices",
    description="A regular series: for every day, the published price of each offering, "
    "meter and tier in force at 00:00 UTC that day (the span of the most authoritative "
    "source covering that instant). Days without a price have no row.",
    columns=(
        Column("date", "date", "The day (UTC); the price is the one in force at 00:00."),
        *KEY_COLUMNS,
        Column("usd_per_mtok", "decimal", "The published price.", USD, _price),
        _s("source", "Slug of the source the published price came from."),
    ),
    key=("provider", "provider_model_id", "meter", "tier", "date"),
    filters="provider, model, meter, source (only these sources' spans), tier, from, to",
    rows=_daily_rows,
    sql=_daily_sql,
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        SPANS, DAILY, CHANGES, PROVIDERS, MODELS, OFFERINGS, SCORES, SOURCES, SERIES,
        SERIES_POINTS,
    )
}  # fmt: skip


# --- reading rows ---


def table_sql(table: Table, f: Filters, until: date) -> tuple[str, list[Any]] | None:
    """The table's query as SQL and parameters, on PostgreSQL; None where rows are Python's."""
    if connection.vendor != "postgresql":
        return None
    if table.sql is not None:
        return table.sql(f, until)
    if table.queryset is not None:
        sql, params = table.queryset(f).query.sql_with_params()
        return sql, list(params)
    return None


def read_settings(table: Table) -> list[tuple[str, str]]:
    """The settings a whole-table read takes on PostgreSQL: memory to sort in RAM rather than
    on disk; no JIT, whose compiling costs seconds on such a plan; ISO dates, which the COPY
    formatting of instants relies on (_pg_text); and the table's own planner settings."""
    return [
        ("work_mem", SORT_MEMORY), ("jit", "off"), ("datestyle", "ISO, YMD"),
        *table.pg_settings,
    ]  # fmt: skip


@contextlib.contextmanager
def _large_read(table: Table) -> Iterator[None]:
    """A transaction for one whole-table read on PostgreSQL, with read_settings(). One it
    begins itself is REPEATABLE READ, READ ONLY: its snapshot can be shared (_copy_in_parts)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, value in read_settings(table):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield


def iter_rows(table: Table, f: Filters, until: date) -> Iterator[Row]:
    """The table's rows as Python values, in key order, fetched a chunk at a time."""
    query = table_sql(table, f, until)
    if query is not None:
        with _large_read(table):
            cursor = connection.chunked_cursor()  # a server-side cursor on PostgreSQL
            try:
                cursor.execute(*query)
                while chunk := cursor.fetchmany(FETCH_ROWS):
                    yield from chunk
            finally:
                cursor.close()
    elif table.rows is not None:
        yield from table.rows(f, until)
    elif table.queryset is not None:
        yield from table.queryset(f).iterator(chunk_size=FETCH_ROWS)


# --- formats ---


def csv_chunks(table: Table, f: Filters, until: date) -> Iterator[bytes]:
    """The table as CSV with a header, in chunks of about CHUNK_BYTES."""
    query = table_sql(table, f, until)
    if query is not None:
        yield from _copy(table, f, until, *query, copy_statement)
    else:
        yield from _buffered(_csv_lines(table, iter_rows(table, f, until)))


def _csv_lines(table: Table, rows: Iterable[Row]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.names)
    for row in rows:
        writer.writerow([cell(value) for value in row])
        if out.tell() >= CHUNK_BYTES:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _buffered(texts: Iterable[str]) -> Iterator[bytes]:
    for text in texts:
        if text:
            yield text.encode()


def _pg_text(kind: str, column: str) -> str:
    """SQL formatting a column as cell() does. Empty strings become NULL: COPY writes NULL as
    an empty field but quotes an empty string, and the Python writer does neither."""
    if kind == "decimal":
        return f"trim_scale({column})"
    if kind == "datetime":
        # As to_char(..., 'YYYY-MM-DD"T"HH24:MI:SS"Z"') (fractions cut, not rounded), at a
        # third of its cost; the text of a timestamp is ISO with datestyle ISO (read_settings).
        return f"replace(date_trunc('second', {column} AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'"
    if kind == "date":
        return f"{column}::text"  # YYYY-MM-DD with datestyle ISO
    if kind == "boolean":
        return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    if kind == "string":
        return f"NULLIF({column}, '')"
    return column


def copy_statement(table: Table, sql: str, *, header: bool = True) -> str:
    """COPY of the query's rows formatted as CSV, with the table's header unless told not."""
    inner = ", ".join(f"c{i}" for i in range(len(table.columns)))
    outer = ", ".join(
        f'{_pg_text(c.kind, f"t.c{i}")} AS "{c.name}"' for i, c in enumerate(table.columns)
    )
    # Column names and formats come from the Table; the query is Django's, parameters apart.
    select = f"SELECT {outer} FROM ({sql}) AS t ({inner})"  # noqa: S608
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv{', HEADER' if header else ''})"


def json_statement(table: Table, sql: str, *, header: bool = True) -> str:
    """COPY of the query's rows as JSON Lines, each object written as jsonl_chunks()'s Python
    writer does: keys in column order, no spaces, text as is (to_json() escapes exactly what
    json.dumps(ensure_ascii=False) does), decimals and instants as the CSV's text, in quotes.
    `header` is CSV's and ignored.

    The lines go out as CSV of one column that never needs quoting: the quote and delimiter
    are control characters, which to_json() always escapes, so COPY adds nothing to them.
    """
    members = " || ',' || ".join(
        f"{_sql_text(json.dumps(c.name) + ':')} || "
        f"COALESCE(to_json({_pg_json(c.kind, f't.c{i}')})::text, 'null')"
        for i, c in enumerate(table.columns)
    )
    inner = ", ".join(f"c{i}" for i in range(len(table.columns)))
    # Keys and formats come from the Table; the query is Django's, parameters apart.
    select = f"SELECT '{{' || {members} || '}}' FROM ({sql}) AS t ({inner})"  # noqa: S608
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"


def _pg_json(kind: str, column: str) -> str:
    """SQL of a column's JSON value before to_json(): _json_value()'s rule."""
    if kind in ("decimal", "datetime", "date"):
        return f"({_pg_text(kind, column)})::text"  # the CSV's text, a JSON string
    return column  # texts (an empty one stays ""), integers and booleans as they are


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _copy(
    table: Table,
    f: Filters,
    until: date,
    sql: str,
    params: Sequence[Any],
    statement: Callable[..., str],
) -> Iterator[bytes]:
    """The output of the table's query in a COPY `statement` (copy_statement, json_statement),
    read in parts at once when _parts() says so."""
    with _large_read(table):
        pg = connection.connection  # the psycopg connection, in the transaction just begun
        parts = _parts(table, f, until)
        if parts is None:
            yield from _copy_out(pg, _bound(pg, statement(table, sql), params))
            return
        statements = [
            _bound(pg, statement(table, part_sql, header=i == 0), part_params)
            for i, (part_sql, part_params) in enumerate(parts)
        ]
        yield from _copy_in_parts(pg, statements, read_settings(table))


def _bound(pg: Any, statement: str, params: Sequence[Any]) -> str:
    """COPY takes no parameters: psycopg binds them client-side, as its own copy() does."""
    import psycopg

    return psycopg.ClientCursor(pg).mogrify(statement, params) if params else statement


def _parts(table: Table, f: Filters, until: date) -> list[tuple[str, list[Any]]] | None:
    """The table's query in EXPORT_COPY_PARTS parts, when it can be cut and the read is
    large, and this transaction's snapshot can be shared: REPEATABLE READ (its snapshot is
    the whole transaction's), and nothing of its own written (which no other connection
    could see: a test's transaction, say)."""
    count = settings.EXPORT_COPY_PARTS
    if table.parts is None or count < 2:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('transaction_isolation') = 'repeatable read'"
            " AND pg_current_xact_id_if_assigned() IS NULL"
        )
        (shareable,) = cursor.fetchone()
    return table.parts(f, until, count) if shareable else None


def _copy_in_parts(
    pg: Any, statements: list[str], config: list[tuple[str, str]]
) -> Iterator[bytes]:
    """The output of COPY statements one after the other, all of them running at once: the
    first on `pg`, each other one on a connection of its own, in `pg`'s snapshot (exported
    and imported, so every part reads the same data) with the same settings.

    A full spans download is mostly the server's work in one backend: this spreads it over
    as many. What a later part sends before its turn waits in a temporary file (on disk, not
    in memory), read between the chunks of the part being streamed.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    later: list[_Spooled] = []
    try:
        for statement in statements[1:]:
            later.append(_Spooled.start(statement, snapshot, config))
        for chunk in _copy_out(pg, statements[0]):
            yield chunk
            for part in later:
                part.drain()
        for i, part in enumerate(later):
            for chunk in part.chunks():
                yield chunk
                for waiting in later[i + 1 :]:
                    waiting.drain()
    finally:
        for part in later:
            part.close()


class _Spooled:
    """One part of _copy_in_parts: a COPY on a connection of its own, read without waiting
    (drain(), into a temporary file) until its turn comes (chunks())."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close(), always called)
        self.pending = bytearray()
        self.begun = False
        self.ended = False

    @classmethod
    def start(cls, statement: str, snapshot: str, config: list[tuple[str, str]]) -> _Spooled:
        import psycopg
        from psycopg import sql

        conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            for name, value in config:
                conn.execute("SELECT set_config(%s, %s, true)", [name, value])
            conn.pgconn.send_query(statement.encode())  # its answer is awaited later
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    def _copying(self, wait: bool) -> bool:
        """Whether the COPY has begun sending rows (waiting for it, or not)."""
        if not self.begun:
            if not wait:
                self.pgconn.consume_input()
                if self.pgconn.is_busy():
                    return False
            _copy_begun(self.pgconn)
            self.begun = True
        return True

    def drain(self) -> None:
        """Take what the server has sent so far, without waiting for more."""
        taken = -1
        while not self.ended and taken and self._copying(wait=False):
            self.pgconn.consume_input()  # one read from the socket: again until it is empty
            taken = 0
            while (copied := self.pgconn.get_copy_data(1))[0] > 0:
                self.pending += copied[1]
                taken += 1
            if copied[0] == -1:
                self._end()
        if len(self.pending) >= CHUNK_BYTES:
            self.file.write(self.pending)
            self.pending.clear()

    def chunks(self) -> Iterator[bytes]:
        """What was spooled, then the rest as it comes."""
        self._copying(wait=True)
        self.file.write(self.pending)
        self.pending.clear()
        self.file.seek(0)
        while block := self.file.read(CHUNK_BYTES):
            yield block
        self.file.close()
        if not self.ended:
            self.ended = True
            yield from _copy_data(self.pgconn)

    def _end(self) -> None:
        self.ended = True
        _check_all(list(iter(self.pgconn.get_result, None)))

    def close(self) -> None:
        """Done or abandoned: the connection goes (a COPY still running ends with it)."""
        self.file.close()
        self.conn.close()


def _copy_out(pg: Any, statement: str) -> Iterator[bytes]:
    """The data of `COPY ... TO STDOUT` in chunks of about CHUNK_BYTES, read from libpq.

    psycopg's Copy hands over one row per call through its waiting machinery, a few
    microseconds a row: a third of the worker's time on 1,000,000 spans. PQgetCopyData in
    blocking mode (pgconn.get_copy_data(0)) costs a fraction of it. If the reader stops early
    (a client gone), the COPY is cancelled and drained: the connection stays usable, and the
    transaction, aborted, rolls back.
    """
    from psycopg import errors, pq

    pgconn = pg.pgconn
    pgconn.send_query(statement.encode())
    _copy_begun(pgconn)
    try:
        yield from _copy_data(pgconn)
    finally:
        if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:  # stopped mid-COPY
            with contextlib.suppress(errors.Error):
                pg.cancel_safe()
                while pgconn.get_copy_data(0)[0] > 0:
                    pass
            list(iter(pgconn.get_result, None))  # libpq takes no query until all are read


def _copy_begun(pgconn: Any) -> None:
    """Wait for a COPY TO sent on `pgconn` to begin; raise its error if it failed to."""
    from psycopg import pq

    if (started := pgconn.get_result()) is None or started.status != pq.ExecStatus.COPY_OUT:
        list(iter(pgconn.get_result, None))  # libpq takes no query until all are read
        _check(started, pq.ExecStatus.COPY_OUT)


def _copy_data(pgconn: Any) -> Iterator[bytes]:
    """A begun COPY's rows, read blocking, in chunks of about CHUNK_BYTES, to its end; then
    its error, if it failed mid-way. Its results are read before the last chunk goes out, so
    the reader holding that chunk finds the connection free."""
    buffer = bytearray()
    while (copied := pgconn.get_copy_data(0))[0] > 0:
        buffer += copied[1]
        if len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    results = list(iter(pgconn.get_result, None))
    if buffer:
        yield bytes(buffer)
    _check_all(results)


def _check_all(results: list[Any]) -> None:
    """Raise the error of an ended COPY, if its results hold one."""
    from psycopg import pq

    for result in results:
        _check(result, pq.ExecStatus.COMMAND_OK)


def _check(result: Any, status: Any) -> None:
    from psycopg import errors

    if result is None or result.status != status:
        raise errors.error_from_result(result) if result else errors.InterfaceError("no result")


def jsonl_chunks(table: Table, f: Filters, until: date) -> Iterator[bytes]:
    """One JSON object per line, keys in column order: COPY on PostgreSQL (json_statement()),
    the same bytes from Python's json module elsewhere."""
    query = table_sql(table, f, until)
    if query is not None:
        yield from _copy(table, f, until, *query, json_statement)
        return
    yield from _buffered(_jsonl_lines(table, iter_rows(table, f, until)))


def _jsonl_lines(table: Table, rows: Iterable[Row]) -> Iterator[str]:
    names = table.names
    out = io.StringIO()
    for row in rows:
        record = dict(zip(names, map(_json_value, row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        if out.tell() >= CHUNK_BYTES:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def arrow_schema(table: Table) -> Any:
    """The table's Arrow schema; each field carries its description and unit as metadata."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us", tz="UTC"),
    }
    fields = []
    for c in table.columns:
        kind = pa.decimal128(*c.digits) if c.kind == "decimal" else types[c.kind]
        meta = {"description": c.description, **({"unit": c.unit} if c.unit else {})}
        fields.append(pa.field(c.name, kind, metadata=meta))
    return pa.schema(fields, metadata={"table": table.name, "description": table.description})


def write_parquet(table: Table, csv_stream: Iterable[bytes], out: IO[bytes]) -> int:
    """Write the table's CSV (header first, as csv_chunks() gives it) as Parquet (zstd).

    The CSV is spooled to a temporary file first: Arrow's CSV reader reads from threads of its
    own, and the stream must be read where its database connection lives. Arrow then parses
    it in C++, PARQUET_BLOCK_BYTES at a time (larger blocks cost far more memory than they
    save time), and about PARQUET_GROUP_ROWS rows make a row group, so memory holds one row
    group. The Parquet file says exactly what the CSV says (instants to the second, an empty
    text ''). Returns the number of rows. The same CSV gives the same bytes.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    schema = arrow_schema(table)
    count = 0
    with tempfile.TemporaryFile() as spool:
        for chunk in csv_stream:
            spool.write(chunk)
        spool.seek(0)
        reader = pa_csv.open_csv(
            spool,
            read_options=pa_csv.ReadOptions(block_size=PARQUET_BLOCK_BYTES, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={field.name: field.type for field in schema},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            group: list[Any] = []
            for batch in itertools.chain(reader, [None]):
                if batch is not None:
                    group.append(batch)
                    count += batch.num_rows
                if group and (
                    batch is None or sum(b.num_rows for b in group) >= PARQUET_GROUP_ROWS
                ):
                    writer.write_table(pa.Table.from_batches(group, schema=schema))
                    group.clear()
    return count


# --- the legacy route ---


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer over a stream."""

    def write(self, value: str) -> str:
        return value


def _rows(queryset: Any) -> Iterator[str]:
    """The spans CSV a line at a time (bench/ingest_export.py measures this loop)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(SPAN_COLUMNS)
    for row in queryset.iterator(chunk_size=5000):
        yield writer.writerow([cell(value) for value in row])


def today() -> date:
    """Today in UTC: the last day of the daily series."""
    return timezone.now().astimezone(UTC).date()


@require_GET
def spans_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every span, one row each, streamed: the /data/spans.csv download under its first
    address, with its first file name."""
    try:
        filters = parse_filters(request.GET)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    response = StreamingHttpResponse(
        csv_chunks(SPANS, filters, today()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="token-prices-spans.csv"'
    return response
