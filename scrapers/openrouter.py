"""OpenRouter's model list (`GET /api/v1/models`, no key): the reseller's own prices.

Format: `{"data": [{"id": "openai/gpt-4o", "name": "OpenAI: GPT-4o", "created": 1715558400,
"context_length": 128000, "pricing": {"prompt": "0.0000025", "completion": "0.00001", ...}}]}`.
Prices are strings in USD per single token. The seller is OpenRouter itself, under its own ids
(`openai/gpt-4o`, `meta-llama/llama-3.1-70b-instruct:free`, ...), which are kept whole.

`"-1"` means "variable" (routers such as openrouter/auto): skipped and counted. Per-request,
per-image, web-search and other non-token prices are counted, not recorded. A zero cache or
reasoning price means "not charged separately" (reasoning tokens are billed as completion), not
"free", so it is counted rather than recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from typing import Any

from scrapers.base import (
    Fetched,
    HttpClient,
    Parsed,
    ParseError,
    is_zero_price,
    load_json,
    price_amount,
)
from tracker.identity import CREATOR_PREFIXES, slugify
from tracker.ingest import Quote
from tracker.models import Meter, PriceUnit, Source

SLUG = "openrouter"
NAME = "OpenRouter model list"
URL = "https://openrouter.ai/api/v1/models"
KIND = Source.Kind.PROVIDER_PAGE
PRIORITY = 10
INTERVAL = dt.timedelta(hours=1)
COMPLETE = True
LICENCE = "OpenRouter API output (terms: openrouter.ai/terms)"

PROVIDER = "openrouter"
PROVIDER_NAME = "OpenRouter"
METERS = {
    "prompt": Meter.INPUT,
    "completion": Meter.OUTPUT,
    "input_cache_read": Meter.CACHE_READ,
    "input_cache_write": Meter.CACHE_WRITE,
    "internal_reasoning": Meter.REASONING,
}
# Meters whose zero means "no separate charge", not "free".
NOT_SEPARATELY_PRICED_WHEN_ZERO = {Meter.CACHE_READ, Meter.CACHE_WRITE, Meter.REASONING}
VARIABLE = Decimal(-1)
_VENDOR_PREFIX = re.compile(r"^[^:]{1,60}:\s+")
_TRAILING_PARENTHESES = re.compile(r"\s*\([^()]*\)$")


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes for every model with a per-token price. Raises ParseError on another shape."""
    data = load_json(fetched, SLUG)
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list) or not models:
        raise ParseError(SLUG, 'expected {"data": [...]} with a non-empty list of models')
    if not any(isinstance(m, dict) and isinstance(m.get("pricing"), dict) for m in models):
        raise ParseError(SLUG, "no model has a pricing object")
    parsed = Parsed(quotes=[])
    for model in models:
        parsed.add_entry(_model_quotes, model, parsed.skipped)
    if not parsed.quotes:
        raise ParseError(SLUG, "no per-token prices found in the payload")
    return parsed


def _model_quotes(model: Any, skipped: Counter[str]) -> list[Quote]:
    """One model's quotes. Counts into `skipped` only once the whole entry has parsed."""
    if not isinstance(model, dict) or not isinstance(model.get("id"), str) or not model["id"]:
        raise ValueError("model entry without an id")
    pricing = model.get("pricing")
    if not isinstance(pricing, dict):
        skipped["model without pricing"] += 1
        return []
    model_id: str = model["id"]
    hints = _hints(model)
    quotes: list[Quote] = []
    reasons: list[str] = []
    for field, value in pricing.items():
        if value is None:
            continue
        meter = METERS.get(field)
        if meter is None:
            if is_zero_price(value):
                continue
            reasons.append(
                f"variable price (-1) {field}"
                if _is_variable(value)
                else f"non-token price {field}"
            )
            continue
        amount = price_amount(value)
        if amount == VARIABLE:
            reasons.append(f"variable price (-1) {field}")
            continue
        if amount == 0 and meter in NOT_SEPARATELY_PRICED_WHEN_ZERO:
            reasons.append(f"zero {field} (not a separate price)")
            continue
        quotes.append(
            Quote(
                provider=PROVIDER,
                provider_name=PROVIDER_NAME,
                provider_model_id=model_id,
                meter=meter,
                amount=amount,
                unit=PriceUnit.TOKEN,
                currency="USD",
                **hints,
            )
        )
    skipped.update(reasons)
    return quotes


def _is_variable(value: Any) -> bool:
    try:
        return price_amount(value) == VARIABLE
    except (TypeError, ArithmeticError):
        return False


def _hints(model: dict[str, Any]) -> dict[str, Any]:
    model_id: str = model["id"]
    prefix = model_id.split("/", 1)[0].lower() if "/" in model_id else ""
    creator = slugify(CREATOR_PREFIXES.get(prefix, prefix)) if prefix else ""
    name = str(model.get("name") or "").strip()
    name = _VENDOR_PREFIX.sub("", name, count=1)
    if (
        ":" in model_id
    ):  # "(free)", "(extended)", "(self-moderated)" name the variant, not the model
        name = _TRAILING_PARENTHESES.sub("", name)
    context = model.get("context_length")
    created = model.get("created")
    release_date = None
    if isinstance(created, int) and not isinstance(created, bool) and created > 0:
        release_date = dt.datetime.fromtimestamp(created, dt.UTC).date()
    return {
        "model_name": name or model_id,
        "creator": creator,
        "context_window": (
            context
            if isinstance(context, int) and not isinstance(context, bool) and context > 0
            else None
        ),
        "release_date": release_date,
    }
