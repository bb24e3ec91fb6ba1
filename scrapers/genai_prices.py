"""pydantic's genai-prices price map (v2 `data.json`): ~36 providers, USD per 1M tokens.

Format: a list of providers, each with `models`; a model's `prices` is either one price set or
a list of conditional price sets. A `start_date` constraint is an effective date; a
`start_time`/`end_time` constraint (DeepSeek) is a time-of-day window, kept as a tier.
Tiered prices (`{"base": 3, "tiers": [{"start": 200000, "price": 6}]}`) become tiers such as
`over_200k`. `price_variants` (batch, priority, ...) become batch meters or tiers.

The PyPI package ships the same data as Python objects; `bundled()` turns them back into this
JSON so that `seed` records it through the same parser, offline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from typing import Any

from scrapers.base import (
    Fetched,
    HttpClient,
    Parsed,
    ParseError,
    join_tier,
    load_json,
    threshold_tier,
)
from tracker.identity import CREATOR_PREFIXES, slugify
from tracker.ingest import Quote
from tracker.models import Meter, PriceUnit, Source

SLUG = "genai_prices"
NAME = "genai-prices (pydantic)"
URL = "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/new_data/v2/data.json"
KIND = Source.Kind.CURATED_MAP
PRIORITY = 20
INTERVAL = dt.timedelta(hours=6)
COMPLETE = True
LICENCE = "MIT"

METERS = {
    "input_mtok": (Meter.INPUT, ""),
    "output_mtok": (Meter.OUTPUT, ""),
    "cache_read_mtok": (Meter.CACHE_READ, ""),
    "cache_write_mtok": (Meter.CACHE_WRITE, ""),
    "cache_write_1h_mtok": (Meter.CACHE_WRITE, "ttl_1h"),
    "input_audio_mtok": (Meter.INPUT_AUDIO, ""),
    "output_audio_mtok": (Meter.OUTPUT_AUDIO, ""),
    "output_reasoning_mtok": (Meter.REASONING, ""),
}
BATCH_METERS = {Meter.INPUT: Meter.BATCH_INPUT, Meter.OUTPUT: Meter.BATCH_OUTPUT}
# Providers that make the models they sell: the model's creator is the provider itself.
FIRST_PARTY = {
    "anthropic", "cohere", "deepseek", "google", "minimax", "mistral", "moonshotai",
    "openai", "x-ai", "zai", "zhipuai",
}  # fmt: skip
RESELLERS = {"openrouter"}


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes for every priced model. Raises ParseError if the payload is not a provider list."""
    data = load_json(fetched, SLUG)
    if not isinstance(data, list) or not data:
        raise ParseError(SLUG, "expected a non-empty list of providers")
    today = fetched.fetched_at.date()
    parsed = Parsed(quotes=[])
    for provider in data:
        if not isinstance(provider, dict) or "id" not in provider or "models" not in provider:
            raise ParseError(SLUG, f"provider entry without id/models: {str(provider)[:80]}")
        for model in provider["models"]:
            parsed.add_entry(_model_quotes, provider, model, today, parsed.skipped)
    if not parsed.quotes:
        raise ParseError(SLUG, "no prices found in the payload")
    return parsed


def _model_quotes(
    provider: dict[str, Any], model: dict[str, Any], today: dt.date, skipped: Counter[str]
) -> list[Quote]:
    entries = model.get("prices")
    if isinstance(entries, dict):
        entries = [{"prices": entries}]
    if not isinstance(entries, list):
        skipped["model without prices"] += 1
        return []
    windows: dict[tuple[str, str] | None, list[dict[str, Any]]] = {}
    for entry in entries:
        constraint = entry.get("constraint") or {}
        window = (
            (constraint["start_time"], constraint["end_time"])
            if "start_time" in constraint
            else None
        )
        windows.setdefault(window, []).append(entry)
    window_tiers = _window_tiers(windows)

    quotes: list[Quote] = []
    for window, group in windows.items():
        for entry, valid_from in _effective_entries(group, today, skipped):
            base_tier = window_tiers[window]
            quotes += _price_quotes(
                provider, model, entry["prices"], base_tier, valid_from, skipped
            )
    for variant in model.get("price_variants") or []:
        tier, batch = _variant_tier(variant.get("when") or {})
        if tier is None:
            skipped[f"variant {json.dumps(variant.get('when'), sort_keys=True)}"] += 1
            continue
        for entry, valid_from in _effective_entries([variant], today, skipped):
            quotes += _price_quotes(
                provider, model, entry["prices"], tier, valid_from, skipped, batch=batch
            )
    return quotes


def _window_tiers(windows: dict[tuple[str, str] | None, list[dict[str, Any]]]) -> dict[Any, str]:
    """Name time-of-day windows. The cheaper of two price sets is the `off_peak` tier.

    genai-prices writes DeepSeek as an unconstrained (off-peak) price plus a dearer price for
    the 00:30-16:30 UTC window; which one is the discount is read from the prices, not assumed.
    """
    if len(windows) == 1:
        return {window: "" for window in windows}

    def input_price(window: Any) -> Decimal:
        value = windows[window][-1]["prices"].get("input_mtok")
        if isinstance(value, dict):
            value = value.get("base")
        return Decimal(str(value)) if value is not None else Decimal(0)

    cheapest = min(windows, key=input_price)
    return {window: ("off_peak" if window == cheapest else "") for window in windows}


def _effective_entries(
    group: list[dict[str, Any]], today: dt.date, skipped: Counter[str]
) -> list[tuple[dict[str, Any], dt.datetime | None]]:
    """Entries with their effective dates. An undated entry followed by one dated on or before
    `today` is history whose start is unknown, so it is left out (counted)."""
    dated: list[tuple[dict[str, Any], dt.datetime | None]] = []
    undated = []
    for entry in group:
        start = (entry.get("constraint") or {}).get("start_date")
        if start:
            day = dt.date.fromisoformat(str(start))
            dated.append((entry, dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)))
        else:
            undated.append(entry)
    if undated:
        in_force = any(when is not None and when.date() <= today for _, when in dated)
        if in_force:
            skipped["earlier price with unknown start date"] += len(undated)
        else:
            dated.extend((entry, None) for entry in undated[-1:])
    return dated


def _variant_tier(when: dict[str, Any]) -> tuple[str | None, bool]:
    if when == {"processing": "batch"}:
        return "", True
    if set(when) in ({"service_tier"}, {"speed"}):
        value = str(next(iter(when.values())))
        if value == "default":
            return None, False
        return value.replace("-", "_").lower(), False
    return None, False


def _price_quotes(
    provider: dict[str, Any],
    model: dict[str, Any],
    prices: dict[str, Any],
    base_tier: str,
    valid_from: dt.datetime | None,
    skipped: Counter[str],
    *,
    batch: bool = False,
) -> list[Quote]:
    quotes = []
    for field, value in prices.items():
        if value is None:
            continue
        if field not in METERS:
            skipped[f"unsupported price field {field}"] += 1
            continue
        meter, field_tier = METERS[field]
        if batch:
            if meter in BATCH_METERS:
                meter = BATCH_METERS[meter]
            else:
                field_tier = join_tier(field_tier, "batch")
        tiers: list[tuple[str, Any]]
        if isinstance(value, dict):
            tiers = [("", value["base"])]
            tiers += [(threshold_tier(int(t["start"])), t["price"]) for t in value.get("tiers", [])]
        else:
            tiers = [("", value)]
        for size_tier, amount in tiers:
            quotes.append(
                _quote(
                    provider,
                    model,
                    meter,
                    join_tier(base_tier, field_tier, size_tier),
                    Decimal(str(amount)),
                    valid_from,
                )
            )
    return quotes


def _quote(
    provider: dict[str, Any],
    model: dict[str, Any],
    meter: str,
    tier: str,
    amount: Decimal,
    valid_from: dt.datetime | None,
) -> Quote:
    provider_id = str(provider["id"]).lower()
    model_id = str(model["id"])
    if provider_id in FIRST_PARTY:
        creator = provider_id
        model_slug = model_id.lower()
    else:
        prefix = model_id.split("/", 1)[0].lower() if "/" in model_id else ""
        creator = CREATOR_PREFIXES.get(prefix, "")
        model_slug = ""
    return Quote(
        provider=provider_id.replace("_", "-"),
        provider_name=str(provider.get("name") or provider_id),
        provider_model_id=model_id,
        meter=meter,
        tier=tier,
        amount=amount,
        unit=PriceUnit.MILLION,
        currency="USD",
        valid_from=valid_from,
        model=(slugify(model_slug) or "unnamed") if model_slug else "",
        model_name=str(model.get("name") or model_id),
        creator=creator,
        context_window=model.get("context_window"),
    )


def bundled() -> tuple[bytes, str]:
    """The installed genai-prices package's data as v2 JSON bytes, and a URL naming it."""
    from importlib.metadata import version

    from genai_prices.data import providers

    return json.dumps([_plain(p) for p in providers], indent=None).encode(), (
        f"pypi:genai-prices=={version('genai-prices')}"
    )


def _plain(value: Any) -> Any:
    """Turn genai-prices' dataclasses back into the JSON shapes of data.json."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.date | dt.time):
        text = value.isoformat()
        return text + "Z" if isinstance(value, dt.time) and value.tzinfo is None else text
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        keep = {"id", "name", "context_window", "prices", "price_variants", "when", "constraint",
                "start_date", "start_time", "end_time", "base", "tiers", "start", "price",
                "models"}  # fmt: skip
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name in keep and getattr(value, f.name) is not None
        }
    if hasattr(value, "__dict__"):  # ModelPrice keeps its prices as plain attributes
        return {
            k: _plain(v) for k, v in vars(value).items() if not k.startswith("_") and v is not None
        }
    return value
