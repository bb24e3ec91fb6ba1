"""The API's endpoints: each one a handler from parsed parameters to rows, and its entry in
ENDPOINTS (route, parameters, response schema), from which urls.py and the OpenAPI document
are both built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from dashboard import chartkit
from dashboard.api import queries
from dashboard.api.filtering import filter_params, filters_from, range_of, span_lookups
from dashboard.api.http import Call, Handler, Listing
from dashboard.api.pagination import Keyset, paginate
from dashboard.api.params import (
    AS_OF,
    AT,
    CURSOR,
    DEFAULT_LIMIT,
    LIMIT,
    ApiError,
    Param,
    parse_blend,
    parse_bool,
    parse_decimal,
)  # fmt: skip
from dashboard.api.serialise import Instants, day, dec, instant
from dashboard.filters import SLUG
from tracker import frontier as frontier_
from tracker.models import (
    CapabilityScore,
    LanguageModel,
    ModelAlias,
    Offering,
    Provider,
    Series,
    SeriesPoint,
)  # fmt: skip

PAGE = (CURSOR, LIMIT)
BY_SLUG = Keyset((("slug", "str"),))
BY_ID = Keyset((("id", "int"),))


@dataclass(frozen=True)
class Endpoint:
    """One GET operation: `route` is a Django path below /api/v1/, `schema` the name of the
    component its 200 body follows."""

    name: str
    route: str
    summary: str
    description: str
    params: tuple[Param, ...]
    schema: str
    handler: Handler
    tag: str


def _limit(call: Call) -> int:
    limit: int = call.params.get("limit", DEFAULT_LIMIT)
    return limit


def _listing(
    call: Call, rows: QuerySet[Any, Any], keyset: Keyset, rows_of: Callable[[list[Any]], list[Any]]
) -> Listing:
    """One page of `rows` in `keyset` order, serialised by `rows_of` (a whole page at once)."""
    page = paginate(rows, keyset, call.params.get("cursor"), _limit(call))
    return Listing(rows_of(page.rows), page.next_cursor)


def each(row_of: Callable[[Any], dict[str, Any]]) -> Callable[[list[Any]], list[Any]]:
    return lambda rows: [row_of(row) for row in rows]


# --- providers, models, offerings -------------------------------------------------------------


def providers(call: Call) -> Listing:
    f = filters_from(call)
    rows = Provider.objects.annotate(offering_count=Count("offerings")).values(
        "slug", "name", "website", "is_reseller", "auto_discovered", "offering_count"
    )
    if f.providers:
        rows = rows.filter(slug__in=f.providers)
    return _listing(call, rows, BY_SLUG, each(provider_row))


def provider_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": row["slug"],
        "name": row["name"],
        "website": row["website"] or None,
        "is_reseller": row["is_reseller"],
        "auto_discovered": row["auto_discovered"],
        "offerings": row["offering_count"],
    }


MODEL_FIELDS = (
    "id", "slug", "name", "family", "release_date", "context_window", "open_weights",
    "auto_discovered",
)  # fmt: skip


def models(call: Call) -> Listing:
    f = filters_from(call)
    rows = LanguageModel.objects.values(*MODEL_FIELDS, creator_slug=F("creator__slug"))
    if f.models:
        rows = rows.filter(slug__in=f.models)
    if f.providers:
        rows = rows.filter(id__in=Offering.objects.filter(f.offering_q()).values("model_id"))
    return _listing(call, rows, BY_SLUG, model_rows)


def model_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Models with their aliases and capability scores (two queries for the whole page)."""
    ids = [row["id"] for row in rows]
    aliases = queries.grouped(
        ModelAlias.objects.filter(model_id__in=ids)
        .order_by("alias")
        .values_list("model_id", "alias")
    )
    scores = queries.grouped(
        (s.model_id, score_row(s))
        for s in CapabilityScore.objects.filter(model_id__in=ids).order_by("benchmark", "source")
    )
    return [
        {
            "slug": row["slug"],
            "name": row["name"],
            "creator": row["creator_slug"],
            "family": row["family"] or None,
            "release_date": day(row["release_date"]),
            "context_window": row["context_window"],
            "open_weights": row["open_weights"],
            "auto_discovered": row["auto_discovered"],
            "aliases": aliases.get(row["id"], []),
            "scores": scores.get(row["id"], []),
        }
        for row in rows
    ]


def score_row(score: CapabilityScore) -> dict[str, Any]:
    return {
        "benchmark": score.benchmark,
        "score": dec(score.score),
        "source": score.source,
        "source_url": score.source_url or None,
        "measured_on": day(score.measured_on),
    }


def _slug(call: Call, what: str) -> str:
    """The path's slug; a 404 for one that could never exist (before it reaches the database,
    which refuses some characters outright)."""
    slug = call.path["slug"]
    if not SLUG.fullmatch(slug):
        raise ApiError(404, f"no {what} {slug[:50]!r}; see /api/v1/{what}s", "slug")
    return slug


def model_detail(call: Call) -> dict[str, Any]:
    rows = list(
        LanguageModel.objects.filter(slug=_slug(call, "model")).values(
            *MODEL_FIELDS, creator_slug=F("creator__slug")
        )
    )
    if not rows:
        raise ApiError(404, f"no model {call.path['slug']!r}; see /api/v1/models", "slug")
    offerings = Offering.objects.filter(model_id=rows[0]["id"]).order_by("id")
    return {
        **model_rows(rows)[0],
        "offerings": [
            offering_row(r) for r in offerings.values(*OFFERING_FIELDS, **OFFERING_SLUGS)
        ],
    }


OFFERING_FIELDS = ("id", "provider_model_id", "auto_discovered", "created_at")
OFFERING_SLUGS: dict[str, Any] = {
    "provider_slug": F("provider__slug"),
    "model_slug": F("model__slug"),
}


def offerings(call: Call) -> Listing:
    f = filters_from(call)
    rows = Offering.objects.filter(f.offering_q()).values(*OFFERING_FIELDS, **OFFERING_SLUGS)
    return _listing(call, rows, BY_ID, each(offering_row))


def offering_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "provider": row["provider_slug"],
        "model": row["model_slug"],
        "provider_model_id": row["provider_model_id"],
        "auto_discovered": row["auto_discovered"],
        "created_at": instant(row["created_at"]),
    }


# --- prices, history, changes ------------------------------------------------------------------


def prices(call: Call) -> Listing:
    f = filters_from(call)
    as_of = call.params.get("as_of")
    at = call.params.get("at") or as_of or timezone.now()
    cursor, limit = call.params.get("cursor"), _limit(call)
    if as_of is None:
        candidates = queries.current_candidates(span_lookups(f), at)
    else:
        candidates = queries.known_candidates(span_lookups(f), at, as_of)
    page = queries.published_page(candidates, cursor, limit)
    meta = {"at": instant(call.params.get("at") or as_of), "as_of": instant(as_of)}
    return Listing(price_rows(page.rows, as_of), page.next_cursor, meta)


def price_rows(rows: list[dict[str, Any]], as_of: datetime | None) -> list[dict[str, Any]]:
    names, moment = queries.names(rows), Instants()
    return [
        {
            **names.key_fields(row),
            "usd_per_mtok": dec(row["usd_per_mtok"]),
            "source": names.sources.get(row["source_id"]),
            "valid_from": moment(row["valid_from"]),
            "valid_to": moment(queries.known_valid_to(row, as_of)),
            "span_id": row["id"],
        }
        for row in rows
    ]


def history(call: Call) -> Listing:
    f = filters_from(call)
    as_of = call.params.get("as_of")
    rows = queries.spans(span_lookups(f), as_of=as_of).filter(
        queries.overlapping(*range_of(f), as_of)
    )
    if "at" in call.params:
        rows = rows.filter(queries.in_force(call.params["at"], as_of))
    page = paginate(rows, queries.HISTORY_ORDER, call.params.get("cursor"), _limit(call))
    meta = {"at": instant(call.params.get("at")), "as_of": instant(as_of)}
    return Listing(span_rows(page.rows, as_of), page.next_cursor, meta)


def span_rows(rows: list[dict[str, Any]], as_of: datetime | None) -> list[dict[str, Any]]:
    """Up to 1000 rows a page: each distinct instant and amount is formatted once."""
    names, moment, amount = queries.names(rows), Instants(), lru_cache(maxsize=None)(dec)
    result = []
    for row in rows:
        if as_of is None:
            valid_to, last_seen = row["valid_to"], row["last_seen_at"]
        else:
            valid_to = queries.known_valid_to(row, as_of)
            last_seen = queries.known_last_seen(row, as_of)
        result.append(
            {
                "id": row["id"],
                "source": names.sources.get(row["source_id"]),
                **names.key_fields(row),
                "usd_per_mtok": amount(row["usd_per_mtok"]),
                "original_amount": amount(row["original_amount"]),
                "original_currency": row["original_currency"],
                "original_unit": row["original_unit"],
                "valid_from": moment(row["valid_from"]),
                "valid_to": moment(valid_to),
                "first_seen_at": moment(row["first_seen_at"]),
                "last_seen_at": moment(last_seen),
            }
        )
    return result


def changes(call: Call) -> Listing:
    f = filters_from(call)
    lookups = span_lookups(f) & f.instant_q("changed_at")
    if not call.params.get("include_retracted", False):
        lookups &= Q(retracted_at__isnull=True)
    return _listing(call, queries.changes(lookups), queries.CHANGES_ORDER, change_rows)


def change_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names, moment = queries.names(rows), Instants()
    return [
        {
            "id": row["id"],
            **names.key_fields(row),
            "kind": row["kind"],
            "old_usd_per_mtok": dec(row["old_usd_per_mtok"]),
            "new_usd_per_mtok": dec(row["new_usd_per_mtok"]),
            "ratio": dec(row["ratio"]),
            "changed_at": moment(row["changed_at"]),
            "detected_at": moment(row["detected_at"]),
            "source": names.sources.get(row["source_id"]),
            "span_id": row["span_id"],
            "is_backfill": row["is_backfill"],
            "retracted_at": moment(row["retracted_at"]),
        }
        for row in rows
    ]


# --- frontier ----------------------------------------------------------------------------------


def frontier(call: Call) -> dict[str, Any]:
    f = filters_from(call)
    known = {b.slug: b for b in frontier_.benchmarks()}
    slug = call.params.get("benchmark") or next(iter(known), None)
    if slug is None:
        return {"benchmark": None, "threshold": None, "blend": None, "steps": [], "fit": None}
    if slug not in known:
        choices = ", ".join(known)
        raise ApiError(400, f"no scores for benchmark {slug!r}; one of: {choices}", "benchmark")
    threshold: Decimal = call.params.get("threshold", known[slug].default_threshold)
    blend: frontier_.Blend = call.params.get("blend", frontier_.Blend())
    start, end = range_of(f)

    def build() -> dict[str, Any]:
        steps = frontier_.frontier(slug, threshold, blend, start=start, end=end)
        decline = frontier_.fit(steps, now=min(end or timezone.now(), timezone.now()))
        return {
            "benchmark": slug,
            "threshold": dec(threshold),
            "blend": str(blend),
            "steps": frontier_steps(steps),
            "fit": None if decline is None else fit_row(decline),
        }

    # Computed from every span of the qualifying models: kept until the data or the day change.
    return chartkit.cached(
        call.request, "api-frontier", (slug, threshold, blend, start, end), build
    )


def frontier_steps(steps: list[frontier_.FrontierStep]) -> list[dict[str, Any]]:
    offerings: dict[int, Any] = {
        o["id"]: o
        for o in Offering.objects.filter(id__in={s.offering_id for s in steps}).values(
            "id", "provider_model_id", **OFFERING_SLUGS
        )
    }
    return [
        {
            "start": instant(step.start),
            "end": instant(step.end),
            "usd_per_mtok": dec(step.usd_per_mtok),
            "offering_id": step.offering_id,
            "provider": offerings[step.offering_id]["provider_slug"],
            "model": offerings[step.offering_id]["model_slug"],
            "provider_model_id": offerings[step.offering_id]["provider_model_id"],
            "label": step.label,
        }
        for step in steps
    ]


def fit_row(decline: frontier_.DeclineFit) -> dict[str, Any]:
    return {
        "factor_per_year": decline.factor_per_year,
        "ci_low": decline.ci_low,
        "ci_high": decline.ci_high,
        "halving_days": decline.halving_days,
        "points": decline.points,
        "start": instant(decline.start),
        "end": instant(decline.end),
    }


# --- analogy series ----------------------------------------------------------------------------

SERIES_FIELDS = (
    "slug", "title", "unit", "kind", "basis", "basis_year", "source", "source_url", "licence",
    "notes", "splice", "breakthrough_date", "breakthrough_event", "cpi_base_year",
)  # fmt: skip


def series(call: Call) -> Listing:
    rows = Series.objects.annotate(point_count=Count("points")).values(
        *SERIES_FIELDS, "point_count"
    )
    return _listing(call, rows, BY_SLUG, each(series_row))


def series_row(row: dict[str, Any]) -> dict[str, Any]:
    text = ("source_url", "licence", "notes", "splice", "breakthrough_event")
    return {
        **{name: row[name] for name in SERIES_FIELDS},
        **{name: row[name] or None for name in text},
        "breakthrough_date": day(row["breakthrough_date"]),
        "points": row["point_count"],
    }


def series_detail(call: Call) -> dict[str, Any]:
    f = filters_from(call)
    rows = list(
        Series.objects.filter(slug=_slug(call, "series"))
        .annotate(point_count=Count("points"))
        .values("id", *SERIES_FIELDS, "point_count")
    )
    if not rows:
        raise ApiError(404, f"no series {call.path['slug']!r}; see /api/v1/series", "slug")
    points = SeriesPoint.objects.filter(f.date_q("date"), series_id=rows[0]["id"]).order_by("date")
    return {
        **series_row(rows[0]),
        "data": [
            {
                "date": day(p.date),
                "value": dec(p.value),
                "nominal": dec(p.nominal),
                "real": dec(p.real),
                "quality": p.quality,
                "note": p.note or None,
                "source": p.source or None,
            }
            for p in points
        ],
    }


# --- the registry ------------------------------------------------------------------------------

BENCHMARK = Param(
    "benchmark",
    "Capability benchmark slug (default: the most-scored one); see each model's `scores`.",
    {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$"},
    example="mmlu",
)
THRESHOLD = Param(
    "threshold",
    "Minimum score on the benchmark for a model to qualify (default: a named level such as "
    "GPT-4's 86.4 on MMLU, else the median model's score).",
    {"type": "string", "pattern": r"^-?[0-9]{1,12}(\.[0-9]{1,12})?$"},
    parse_decimal,
    example="86.4",
)
BLEND = Param(
    "blend",
    "Input:output weights of the blended price (default 3:1).",
    {"type": "string", "pattern": r"^[0-9]{1,3}:[0-9]{1,3}$"},
    parse_blend,
    example="3:1",
)
INCLUDE_RETRACTED = Param(
    "include_retracted",
    "Also list events a later backfill showed no longer hold (they carry `retracted_at`).",
    {"type": "boolean", "default": False},
    parse_bool,
)
KEYS = ("provider", "model", "meter", "source", "tier")
RANGE = ("from", "to")


def _p(filters: tuple[str, ...], *extra: Param) -> tuple[Param, ...]:
    return (*filter_params(filters), *extra)


ENDPOINTS = (
    Endpoint(
        "providers", "providers", "Providers",
        "Who sells tokens (and who makes models), by slug, with how many offerings each has.",
        _p(("provider",), *PAGE), "ProviderList", providers, "Catalogue",
    ),
    Endpoint(
        "models", "models", "Models",
        "Every model, by slug, with its aliases (other sources' spellings) and capability "
        "scores. `provider` keeps the models that provider sells.",
        _p(("provider", "model"), *PAGE), "ModelList", models, "Catalogue",
    ),
    Endpoint(
        "model", "models/<str:slug>", "One model",
        "A model with its aliases, capability scores and offerings.",
        (), "ModelDetail", model_detail, "Catalogue",
    ),
    Endpoint(
        "offerings", "offerings", "Offerings",
        "One model as sold by one provider under the provider's own model id, by id.",
        _p(("provider", "model"), *PAGE), "OfferingList", offerings, "Catalogue",
    ),
    Endpoint(
        "prices", "prices", "Published prices",
        "The published price of each (offering, meter, tier): the most authoritative source's "
        "span in force, in USD per 1M tokens. By default now; `at` asks what the price was at "
        "another instant (effective dates); `as_of` asks what this dataset said on a date "
        "(prices first seen by then, spans as they looked then). Both together: the price at "
        "`at` as known on `as_of`; `as_of` alone means `at` = `as_of`. Ordered by "
        "(offering_id, meter, tier).",
        _p(KEYS, AT, AS_OF, *PAGE), "PriceList", prices, "Prices",
    ),
    Endpoint(
        "history", "history", "Price history (spans)",
        "Every span: what one source said an (offering, meter, tier) cost, from `valid_from` "
        "until `valid_to` (null while current), with when it was first and last seen. `from` "
        "and `to` keep spans in force during those days, `at` those in force at an instant, "
        "`as_of` only spans the dataset knew on that date, each as it looked then (an end "
        "learnt later is null; a last sighting after `as_of` is null). Ordered by "
        "(offering_id, meter, tier, valid_from, source).",
        _p((*KEYS, *RANGE), AT, AS_OF, *PAGE), "SpanList", history, "Prices",
    ),
    Endpoint(
        "changes", "changes", "Price changes",
        "Every change of a published price (listed, changed, delisted), newest first. "
        "`from`/`to` filter on when the change took effect.",
        _p((*KEYS, *RANGE), INCLUDE_RETRACTED, *PAGE), "ChangeList", changes, "Prices",
    ),
    Endpoint(
        "frontier", "frontier", "Deflation frontier",
        "The cheapest published blended price of any offering of a model scoring at least "
        "`threshold` on `benchmark`, as steps over time, with a log-linear fit of its decline.",
        _p(RANGE, BENCHMARK, THRESHOLD, BLEND), "Frontier", frontier, "Analysis",
    ),
    Endpoint(
        "series-list", "series", "Analogy series",
        "Historical price series used as analogies (aluminium, solar modules, DRAM, ...), "
        "with unit, source, licence and breakthrough date.",
        PAGE, "SeriesList", series, "Analysis",
    ),
    Endpoint(
        "series", "series/<str:slug>", "One analogy series",
        "A series with its points: the value as published, nominal and real (constant dollars "
        "of `cpi_base_year`), and each point's quality.",
        filter_params(RANGE), "SeriesDetail", series_detail, "Analysis",
    ),
)  # fmt: skip
