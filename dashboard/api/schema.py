"""The OpenAPI 3 document, built from the endpoint registry (views.ENDPOINTS) and the response
components below, and the pieces of it the HTML docs page renders."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from dashboard.api.params import MAX_VALUE_LENGTH, Param
from dashboard.api.views import ENDPOINTS, Endpoint

VERSION = "1.0.0"
DEC = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "Exact decimal."}
TS = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
DATE = {"type": "string", "format": "date"}
STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}


def null(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def obj(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An object whose every property is always present (null where the schema allows)."""
    result = {"type": "object", "required": list(properties), "properties": properties}
    return {**result, "description": description} if description else result


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


KEY = {
    "offering_id": INT,
    "provider": {**STR, "description": "Provider slug (the seller)."},
    "model": {**STR, "description": "Model slug."},
    "provider_model_id": {**STR, "description": "The seller's own id for the model."},
    "meter": {**STR, "description": "What the price is per: input, output, cache_read, ..."},
    "tier": {**STR, "description": "Price condition such as over_200k; empty for the base price."},
}
USD = {**DEC, "description": "USD per 1,000,000 tokens, exact."}
MODEL = {
    "slug": STR,
    "name": STR,
    "creator": null(STR),
    "family": null(STR),
    "release_date": null(DATE),
    "context_window": null(INT),
    "open_weights": null(BOOL),
    "auto_discovered": {**BOOL, "description": "Created by ingest from an unknown id."},
    "aliases": array(STR),
    "scores": array(ref("Score")),
}
OFFERING = {
    "id": INT,
    "provider": STR,
    "model": STR,
    "provider_model_id": STR,
    "auto_discovered": BOOL,
    "created_at": TS,
}
SERIES = {
    "slug": STR,
    "title": STR,
    "unit": STR,
    "kind": {"type": "string", "enum": ["price", "quantity", "index"]},
    "basis": {"type": "string", "enum": ["nominal", "real"]},
    "basis_year": null(INT),
    "source": STR,
    "source_url": null(STR),
    "licence": null(STR),
    "notes": null(STR),
    "splice": null(STR),
    "breakthrough_date": null(DATE),
    "breakthrough_event": null(STR),
    "cpi_base_year": null(INT),
    "points": {**INT, "description": "How many points the series has."},
}
FIT = {
    "factor_per_year": {"type": "number", "description": "10: ten times cheaper each year."},
    "ci_low": null({"type": "number"}),
    "ci_high": null({"type": "number"}),
    "halving_days": null({"type": "number"}),
    "points": INT,
    "start": TS,
    "end": TS,
}
CLOCKS = {
    "at": null({**TS, "description": "The effective time asked for (null: now)."}),
    "as_of": null({**TS, "description": "The knowledge time asked for (null: today's data)."}),
}


def _listing(item: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return obj(
        {
            "data": array(ref(item)),
            "next": null({**STR, "description": "The next page's URL; null on the last page."}),
            **(extra or {}),
        }
    )


COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error", "parameter"],
        "properties": {
            "error": {**STR, "description": "What is wrong, for a human."},
            "parameter": null({**STR, "description": "The parameter or header at fault."}),
            "retry_after": {**INT, "description": "429 only: seconds until a retry is allowed."},
        },
    },
    "Provider": obj(
        {
            "slug": STR,
            "name": STR,
            "website": null(STR),
            "is_reseller": BOOL,
            "auto_discovered": BOOL,
            "offerings": INT,
        }
    ),
    "Score": obj(
        {
            "benchmark": STR,
            "score": DEC,
            "source": STR,
            "source_url": null(STR),
            "measured_on": null(DATE),
        }
    ),
    "Model": obj(MODEL),
    "ModelDetail": obj({**MODEL, "offerings": array(ref("Offering"))}),
    "Offering": obj(OFFERING),
    "Price": obj(
        {
            **KEY,
            "usd_per_mtok": USD,
            "source": {**STR, "description": "The source whose price is published."},
            "valid_from": TS,
            "valid_to": null({**TS, "description": "Null while in force (as known on as_of)."}),
            "span_id": INT,
        }
    ),
    "Span": obj(
        {
            "id": INT,
            "source": STR,
            **KEY,
            "usd_per_mtok": USD,
            "original_amount": {**DEC, "description": "The figure as the source stated it."},
            "original_currency": STR,
            "original_unit": {"type": "string", "enum": ["token", "1k", "1m"]},
            "valid_from": TS,
            "valid_to": null({**TS, "description": "Null while open (as known on as_of)."}),
            "first_seen_at": TS,
            "last_seen_at": null({**TS, "description": "Null when after as_of."}),
        }
    ),
    "Change": obj(
        {
            "id": INT,
            **KEY,
            "kind": {"type": "string", "enum": ["listed", "changed", "delisted"]},
            "old_usd_per_mtok": null(USD),
            "new_usd_per_mtok": null(USD),
            "ratio": null({**DEC, "description": "new / old."}),
            "changed_at": {**TS, "description": "When the new price took effect."},
            "detected_at": TS,
            "source": null(STR),
            "span_id": null(INT),
            "is_backfill": {**BOOL, "description": "Learnt after the fact."},
            "retracted_at": null(TS),
        }
    ),
    "FrontierStep": obj(
        {
            "start": TS,
            "end": null(TS),
            "usd_per_mtok": USD,
            "offering_id": INT,
            "provider": STR,
            "model": STR,
            "provider_model_id": STR,
            "label": STR,
        }
    ),
    "Frontier": obj(
        {
            "benchmark": null(STR),
            "threshold": null(DEC),
            "blend": null(STR),
            "steps": array(ref("FrontierStep")),
            "fit": null(obj(FIT, "Log-linear fit of the price against time.")),
        }
    ),
    "Series": obj(SERIES),
    "SeriesPoint": obj(
        {
            "date": DATE,
            "value": {**DEC, "description": "As published, in the series' unit and basis."},
            "nominal": null(DEC),
            "real": null(DEC),
            "quality": {"type": "string", "enum": ["measured", "estimated", "approximate"]},
            "note": null(STR),
            "source": null(STR),
        }
    ),
    "SeriesDetail": obj({**SERIES, "data": array(ref("SeriesPoint"))}),
    "ProviderList": _listing("Provider"),
    "ModelList": _listing("Model"),
    "OfferingList": _listing("Offering"),
    "PriceList": _listing("Price", CLOCKS),
    "SpanList": _listing("Span", CLOCKS),
    "ChangeList": _listing("Change"),
    "SeriesList": _listing("Series"),
}

INTRO = """Read-only JSON over HTTP: providers, models, offerings, published prices, the full
price history (spans), price changes, the deflation frontier and the historical analogy series.

- Money is USD per 1,000,000 tokens, as an exact decimal string; times are ISO 8601 UTC.
- Lists are paginated by keyset: follow `next` (also in the `Link` header) until it is null.
- Two clocks: `at` asks what the price was at an instant (effective dates); `as_of` asks what
  this dataset said on a date (only what had been seen by then).
- Anonymous clients get {anon} requests a minute per IP address; an API key (from the
  operators; `Authorization: Bearer <key>` or `X-API-Key`) gets more. Over the limit: 429 with
  `Retry-After`.
- Responses carry an `ETag`; send it back as `If-None-Match` for a 304.
- A bad or unknown parameter is a 400 whose body names it."""


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of /api/v1/."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Token Price Tracker API",
            "version": VERSION,
            "description": INTRO.format(anon=settings.API_RATE_LIMIT_PER_MINUTE),
            "license": {"name": "Data: see each source's licence on /sources/"},
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {path_of(e.route): {"get": operation(e)} for e in ENDPOINTS},
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "headers": HEADERS,
        },
        "security": [{}, {"bearer": []}, {"apiKey": []}],
    }


def path_of(route: str) -> str:
    """'models/<str:slug>' -> '/models/{slug}'."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def path_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


HEADERS = {
    "ETag": {"schema": STR, "description": "Send back as If-None-Match to get a 304."},
    "X-RateLimit-Limit": {"schema": INT, "description": "Requests allowed per minute."},
    "X-RateLimit-Remaining": {"schema": INT, "description": "Requests left in this minute."},
    "X-RateLimit-Reset": {"schema": INT, "description": "Seconds until the minute ends."},
    "Retry-After": {"schema": INT, "description": "Seconds to wait before retrying."},
    "Link": {"schema": STR, "description": '<next page URL>; rel="next"'},
}


def _error(description: str, *headers: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
        "headers": {h: {"$ref": f"#/components/headers/{h}"} for h in headers},
    }


def operation(endpoint: Endpoint) -> dict[str, Any]:
    limits = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
    ok_headers = ("ETag", *limits) + (("Link",) if endpoint.schema.endswith("List") else ())
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": ref(endpoint.schema)}},
            "headers": {h: {"$ref": f"#/components/headers/{h}"} for h in ok_headers},
        },
        "304": {"description": "Not modified: the ETag sent in If-None-Match still holds."},
        "400": _error("A parameter is unknown or malformed; `parameter` names it.", *limits),
        "401": _error("The API key is invalid or revoked."),
        "429": _error("Rate limit exceeded.", "Retry-After", *limits),
    }
    names = path_params(endpoint.route)
    if names:
        responses["404"] = _error(f"No such {endpoint.name}.", *limits)
    return {
        "operationId": endpoint.name.replace("-", "_"),
        "summary": endpoint.summary,
        "description": endpoint.description,
        "tags": [endpoint.tag],
        "parameters": [
            *({"name": n, "in": "path", "required": True, "schema": STR} for n in names),
            *(parameter(p) for p in endpoint.params),
        ],
        "responses": responses,
    }


def parameter(param: Param) -> dict[str, Any]:
    schema = dict(param.schema)
    if schema.get("type") == "string" or "anyOf" in schema:
        schema.setdefault("maxLength", MAX_VALUE_LENGTH)
    result: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "description": param.description,
        "schema": schema,
        **param.extra,
    }
    if param.example is not None:
        result["example"] = param.example
    return result


def type_of(schema: dict[str, Any]) -> str:
    """A short human spelling of a schema: 'string (date-time) or null', 'array of Score'."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(type_of(s) for s in schema["anyOf"])
    text = str(schema.get("type", "object"))
    if text == "array":
        text = "array of " + type_of(schema["items"])
    elif "enum" in schema:
        text += " (" + " | ".join(map(str, schema["enum"])) + ")"
    elif "format" in schema:
        text += f" ({schema['format']})"
    elif "pattern" in schema and schema is not DEC and schema.get("pattern") != DEC["pattern"]:
        text += f" matching {schema['pattern']}"
    elif schema.get("pattern") == DEC["pattern"]:
        text = "decimal string"
    if "minimum" in schema or "maximum" in schema:
        text += f" {schema.get('minimum', '')}..{schema.get('maximum', '')}"
    return text + (" or null" if schema.get("nullable") else "")


def fields_of(component: dict[str, Any]) -> list[dict[str, str]]:
    """Each property of an object schema: name, type, description."""
    return [
        {"name": name, "type": type_of(prop), "description": str(prop.get("description", ""))}
        for name, prop in component.get("properties", {}).items()
    ]
