"""LiteLLM's price map (`model_prices_and_context_window.json`, MIT): USD per token, by seller.

Format: a JSON object keyed by model name (the first key, `sample_spec`, documents the fields).
Each entry names its seller in `litellm_provider` and its kind in `mode`, and prices tokens in
fields such as `input_cost_per_token`, `cache_read_input_token_cost` or
`output_cost_per_token_above_200k_tokens_priority`: a base price field, an optional
`_above_1hr` cache lifetime, an optional `_above_<N>k_tokens` prompt-size threshold and an
optional `_batches`/`_priority`/`_flex` variant. These become the meters and tiers that
genai-prices' adapter uses too (`over_200k`, `ttl_1h`, `priority`, batch meters).

Only text-generation modes are priced per token; embedding, image, audio and the other modes
are counted by mode. Per-image, per-second, per-character, per-query and other non-token
prices are counted, not recorded. Size-class prices (`together-ai-21.1b-41b`) and self-hosted
runtimes (Ollama, SageMaker, ...) that list a zero price are not offerings and are counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from scrapers.base import (
    Fetched,
    HttpClient,
    Parsed,
    ParseError,
    is_zero_price,
    join_tier,
    load_json,
    price_amount,
)
from tracker.identity import CREATOR_PREFIXES
from tracker.ingest import Quote
from tracker.models import Meter, PriceUnit, Source

SLUG = "litellm"
NAME = "LiteLLM model prices and context windows"
URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
KIND = Source.Kind.CURATED_MAP
PRIORITY = 40
INTERVAL = dt.timedelta(hours=6)
COMPLETE = True
LICENCE = "MIT (BerriAI/litellm)"

DOCUMENTATION_KEYS = {"sample_spec"}
PRICED_MODES = {"chat", "completion", "responses"}
BASE_FIELDS = {
    "input_cost_per_token": Meter.INPUT,
    "output_cost_per_token": Meter.OUTPUT,
    "cache_read_input_token_cost": Meter.CACHE_READ,
    "cache_creation_input_token_cost": Meter.CACHE_WRITE,
    "output_cost_per_reasoning_token": Meter.REASONING,
    "input_cost_per_audio_token": Meter.INPUT_AUDIO,
    "output_cost_per_audio_token": Meter.OUTPUT_AUDIO,
}
TOKEN_FIELD = re.compile(
    r"^(?P<base>" + "|".join(BASE_FIELDS) + r")"
    r"(?P<ttl>_above_1hr)?"
    r"(?:_above_(?P<threshold>\d+)(?P<scale>[km])_tokens)?"
    r"(?:_(?P<variant>batches|priority|flex))?$"
)
BATCH_METERS: dict[str, str] = {Meter.INPUT: Meter.BATCH_INPUT, Meter.OUTPUT: Meter.BATCH_OUTPUT}
# Meters whose zero means "no separate charge" (the input or output price applies), not "free".
NOT_SEPARATELY_PRICED_WHEN_ZERO = {Meter.CACHE_READ, Meter.CACHE_WRITE, Meter.REASONING}
# LiteLLM's provider names that are another spelling of a seller the project already knows
# under another slug (the ledger's and genai-prices' slugs), or one API of a seller.
PROVIDER_SLUGS = {
    "gemini": "google",
    "xai": "x-ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "moonshot": "moonshotai",
    "azure_text": "azure",
    "cohere_chat": "cohere",
    "bedrock_converse": "bedrock",
}
# Provider names that name an API flavour: vertex_ai-anthropic_models, text-completion-openai,
# fireworks_ai-embedding-models. The seller is the name without the flavour.
VERTEX_FAMILY = "vertex_ai-"
FLAVOUR_PREFIX = "text-completion-"
FLAVOUR_SUFFIX = "-embedding-models"
# Runtimes that run a model on the customer's own hardware: their zero is not a token price.
SELF_HOSTED = {"ollama", "lemonade", "sagemaker", "lm_studio", "llamafile", "vllm", "hosted_vllm"}
# Together's and Fireworks' prices by model size, not models.
SIZE_CLASS = re.compile(r"^(together-ai|fireworks-ai)-")
FIRST_PARTY = {
    "anthropic", "cohere", "deepseek", "google", "minimax", "mistral", "moonshotai", "openai",
    "x-ai", "zai",
}  # fmt: skip


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes for every per-token price. Raises ParseError if the payload is not a price map."""
    data = load_json(fetched, SLUG)
    if not isinstance(data, dict) or not data:
        raise ParseError(SLUG, "expected a non-empty JSON object keyed by model name")
    entries = {k: v for k, v in data.items() if k not in DOCUMENTATION_KEYS}
    if not any(isinstance(e, dict) and e.get("litellm_provider") for e in entries.values()):
        raise ParseError(SLUG, "no entry has a litellm_provider")
    parsed = Parsed(quotes=[])
    for key, entry in entries.items():
        parsed.add_entry(_entry_quotes, key, entry, parsed.skipped, what="entry")
    if not parsed.quotes:
        raise ParseError(SLUG, "no per-token prices found in the payload")
    return parsed


def _entry_quotes(key: str, entry: Any, skipped: Counter[str]) -> list[Quote]:
    """One entry's quotes. Counts into `skipped` only once the whole entry has parsed."""
    if not isinstance(entry, dict):
        raise TypeError(f"{key}: entry is not an object")
    raw_provider = entry.get("litellm_provider")
    if not isinstance(raw_provider, str) or not raw_provider.strip():
        skipped["entry without litellm_provider"] += 1
        return []
    mode = entry.get("mode")
    if mode is not None and mode not in PRICED_MODES:
        skipped[f"mode {mode}"] += 1
        return []
    raw_provider = raw_provider.strip()
    if raw_provider in SELF_HOSTED:
        skipped[f"self-hosted runtime {raw_provider}"] += 1
        return []
    if SIZE_CLASS.match(key):
        skipped["price by model size, not a model"] += 1
        return []

    provider = provider_slug(raw_provider)
    model_id = _provider_model_id(key, raw_provider, provider)
    hints = _hints(entry, provider, model_id)
    quotes: list[Quote] = []
    reasons: list[str] = []
    for field, value in entry.items():
        match = TOKEN_FIELD.match(field)
        if match is None:
            if field == "tiered_pricing" or (
                "cost" in field and value is not None and not is_zero_price(value)
            ):
                reasons.append(f"unsupported price field {field}")
            continue
        if value is None:
            continue
        amount = price_amount(value)
        meter, tier = _meter_and_tier(match)
        if meter is None:
            reasons.append(f"unsupported price field {field}")
            continue
        if amount == 0 and meter in NOT_SEPARATELY_PRICED_WHEN_ZERO:
            reasons.append(f"zero {field} (not a separate price)")
            continue
        quotes.append(
            Quote(
                provider=provider,
                provider_model_id=model_id,
                meter=meter,
                tier=tier,
                amount=amount,
                unit=PriceUnit.TOKEN,
                currency="USD",
                **hints,
            )
        )
    if not quotes and not reasons:
        reasons.append("entry without per-token prices")
    skipped.update(reasons)
    return quotes


def provider_slug(litellm_provider: str) -> str:
    """Our provider slug for a LiteLLM provider name: `together_ai` -> `together`."""
    name = litellm_provider.strip()
    if name.startswith(VERTEX_FAMILY):
        return "vertex-ai"
    name = name.removeprefix(FLAVOUR_PREFIX).removesuffix(FLAVOUR_SUFFIX)
    name = PROVIDER_SLUGS.get(name, name)
    return re.sub(r"[^a-z0-9.-]+", "-", name.lower().replace("_", "-")).strip("-.")


def _provider_model_id(key: str, raw_provider: str, provider: str) -> str:
    """The key without a leading `<provider>/`: `gemini/gemini-2.5-pro` -> `gemini-2.5-pro`."""
    if "/" not in key:
        return key
    prefix, rest = key.split("/", 1)
    own_names = {
        provider,
        _dashed(raw_provider),
        _dashed(raw_provider.split("-", 1)[0]),  # vertex_ai-anthropic_models -> vertex-ai
    }
    if _dashed(prefix) in own_names and rest:
        return rest
    return key


def _dashed(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _meter_and_tier(match: re.Match[str]) -> tuple[str | None, str]:
    meter: str = BASE_FIELDS[match["base"]]
    ttl = ""
    if match["ttl"]:
        if meter != Meter.CACHE_WRITE:
            return None, ""
        ttl = "ttl_1h"
    threshold = f"over_{match['threshold']}{match['scale']}" if match["threshold"] else ""
    variant = match["variant"] or ""
    batch = ""
    if variant == "batches":
        variant = ""
        if meter in BATCH_METERS:
            meter = BATCH_METERS[meter]
        else:
            batch = "batch"
    return meter, join_tier(variant, ttl, batch, threshold)


def _hints(entry: dict[str, Any], provider: str, model_id: str) -> dict[str, Any]:
    if provider in FIRST_PARTY:
        creator = provider
    else:
        prefix = model_id.split("/", 1)[0].lower() if "/" in model_id else ""
        creator = CREATOR_PREFIXES.get(prefix, "")
    return {
        "model_name": model_id,
        "creator": creator,
        "context_window": _context_window(entry),
    }


def _context_window(entry: dict[str, Any]) -> int | None:
    """`max_input_tokens`; else the legacy `max_tokens` unless it is the output limit."""
    max_input = _positive_int(entry.get("max_input_tokens"))
    if max_input is not None:
        return max_input
    max_tokens = _positive_int(entry.get("max_tokens"))
    if max_tokens is not None and max_tokens != entry.get("max_output_tokens"):
        return max_tokens
    return None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
