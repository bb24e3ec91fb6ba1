"""models.dev (sst, now anomalyco/models.dev): an open catalogue of models and their prices.

Format of `https://models.dev/api.json`: one JSON object keyed by provider id; each provider
has `id`, `name`, `env`, `npm`, `doc` (and `api` for OpenAI-compatible ones) and `models`,
an object keyed by model id. A model has `id`, `name`, `release_date` ("2024-05-13", or just
"2024-05"), `last_updated`, `open_weights`, `limit` {`context`, `output`} and an optional
`cost` in US dollars per million tokens: `input`, `output`, `cache_read`, `cache_write`,
`reasoning`, `input_audio`, `output_audio`.

Long-context prices came in two shapes:

- up to May 2026, `cost.context_over_200k` {input, output, cache_read, cache_write}: prices
  for prompts over 200K tokens (tier `over_200k`);
- since models.dev PR #1755 (May 2026), `cost.tiers`: a list of price sets each with
  `tier` {`type`: "context", `size`: N}, the exact threshold (tier `over_272k`, `over_32k`, ...).
  The generator still writes `context_over_200k` beside it for old clients, as a copy of the
  lowest tier at or above 200K whatever its real threshold, so when `tiers` is present the
  legacy block is not read.

The provider is the seller: its id is our provider slug (`xai` is spelled `x-ai` here, as the
other sources spell it). `experimental.modes` (e.g. OpenAI's priority "fast" mode) carry
prices for opt-in request modes; they are counted as skipped, not recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from scrapers.base import Fetched, HttpClient, Parsed, ParseError, load_json, threshold_tier
from tracker.ingest import Quote
from tracker.models import Meter, PriceUnit, Source

SLUG = "models_dev"
NAME = "models.dev (open model catalogue)"
URL = "https://models.dev/api.json"
KIND = Source.Kind.CURATED_MAP
PRIORITY = 25
INTERVAL = dt.timedelta(hours=6)
COMPLETE = True
LICENCE = "MIT (sst/models.dev)"

METERS = {
    "input": Meter.INPUT,
    "output": Meter.OUTPUT,
    "cache_read": Meter.CACHE_READ,
    "cache_write": Meter.CACHE_WRITE,
    "reasoning": Meter.REASONING,
    "input_audio": Meter.INPUT_AUDIO,
    "output_audio": Meter.OUTPUT_AUDIO,
}
LEGACY_TIER_FIELD = "context_over_200k"
TIERS_FIELD = "tiers"
# models.dev ids that other sources spell differently.
PROVIDER_SLUGS = {"xai": "x-ai"}
# Providers that sell the models they make: for these the creator is the provider itself.
FIRST_PARTY = {
    "alibaba", "anthropic", "cohere", "deepseek", "google", "minimax", "mistral", "moonshotai",
    "openai", "x-ai", "zai", "zhipuai",
}  # fmt: skip
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes for every priced model of every provider. Raises ParseError if the payload is not
    an object of providers, or if nothing in it can be priced."""
    data = load_json(fetched, SLUG)
    if not isinstance(data, dict) or not data:
        raise ParseError(SLUG, "expected a non-empty object of providers keyed by id")
    parsed = Parsed(quotes=[])
    providers = 0
    for key, provider in data.items():
        if not isinstance(provider, dict) or not isinstance(provider.get("models"), dict):
            parsed.skipped["malformed provider entry"] += 1
            continue
        providers += 1
        for model_key, model in provider["models"].items():
            parsed.add_entry(
                _model_quotes, str(key), provider, str(model_key), model, parsed.skipped
            )
    if not providers:
        raise ParseError(SLUG, "no provider entry has a `models` object")
    if not parsed.quotes:
        raise ParseError(SLUG, "no prices found in the payload")
    return parsed


def _model_quotes(
    provider_key: str,
    provider: dict[str, Any],
    model_key: str,
    model: Any,
    skipped: Counter[str],
) -> list[Quote]:
    if not isinstance(model, dict):
        raise TypeError("model entry is not an object")
    experimental = model.get("experimental")
    modes = experimental.get("modes") if isinstance(experimental, dict) else None
    for mode in modes if isinstance(modes, dict) else {}:
        skipped[f"experimental mode {mode}"] += 1
    cost = model.get("cost")
    if not isinstance(cost, dict) or not cost:
        skipped["model without cost"] += 1
        return []

    price_sets: list[tuple[str, dict[str, Any]]] = [("", cost)]
    tiers = cost.get(TIERS_FIELD)
    if tiers is not None:
        if not isinstance(tiers, list):
            raise TypeError("cost.tiers is not a list")
        for entry in tiers:
            if not isinstance(entry, dict) or not isinstance(entry.get("tier"), dict):
                raise TypeError("cost.tiers entry without a `tier` object")
            tier = entry["tier"]
            kind = tier.get("type", "context")
            if kind != "context":
                skipped[f"unsupported tier type {kind}"] += 1
                continue
            price_sets.append((threshold_tier(tier["size"]), entry))
    elif isinstance(cost.get(LEGACY_TIER_FIELD), dict):
        price_sets.append(("over_200k", cost[LEGACY_TIER_FIELD]))

    hints = _hints(provider_key, provider, model_key, model)
    quotes = []
    for tier, prices in price_sets:
        for field, value in prices.items():
            if value is None or field in (TIERS_FIELD, LEGACY_TIER_FIELD, "tier"):
                continue
            if field not in METERS:
                skipped[f"unsupported cost field {field}"] += 1
                continue
            quotes.append(Quote(meter=METERS[field], tier=tier, amount=_amount(value), **hints))
    return quotes


def _hints(
    provider_key: str, provider: dict[str, Any], model_key: str, model: dict[str, Any]
) -> dict[str, Any]:
    raw = str(provider.get("id") or provider_key).lower()
    seller = PROVIDER_SLUGS.get(raw, raw)
    model_id = str(model.get("id") or model_key)
    limit = model.get("limit")
    context = limit.get("context") if isinstance(limit, dict) else None
    open_weights = model.get("open_weights")
    return {
        "provider": seller,
        "provider_name": str(provider.get("name") or seller),
        "provider_model_id": model_id,
        "unit": PriceUnit.MILLION,
        "currency": "USD",
        "model_name": str(model.get("name") or model_id),
        "creator": seller if seller in FIRST_PARTY else "",
        "context_window": context if _is_count(context) else None,
        "release_date": _day(model.get("release_date")),
        "open_weights": open_weights if isinstance(open_weights, bool) else None,
    }


def _amount(value: Any) -> Decimal:
    """A price as stated: JSON numbers arrive as Decimal (floats) or int, never via float."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"price {value!r} is not a number")
    return Decimal(str(value))


def _day(value: Any) -> dt.date | None:
    """`YYYY-MM-DD` as a date; a month alone (`YYYY-MM`) is not a day, so no hint."""
    if isinstance(value, str) and _DAY.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
