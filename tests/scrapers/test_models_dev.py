"""models.dev adapter: the api.json format before (2025) and after (2026) context tiers."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from scrapers import models_dev
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def parsed(body: bytes | str = "api_2026.json"):
    if isinstance(body, str):
        body = (FIXTURES / "models_dev" / body).read_bytes()
    return models_dev.parse(Fetched(body, "http://test/api.json", FETCHED_AT))


def payload(cost=None, provider="acme", **model) -> bytes:
    """A one-model api.json; `cost=None` leaves the model unpriced."""
    entry = {"id": "m1", "name": "M1", **model}
    if cost is not None:
        entry["cost"] = cost
    return json.dumps(
        {provider: {"id": provider, "name": provider.title(), "models": {"m1": entry}}}
    ).encode()


def prices(result, provider, model_id):
    return {
        (q.meter, q.tier): q.amount
        for q in result.quotes
        if q.provider == provider and q.provider_model_id == model_id
    }


def quote(result, provider, model_id):
    return next(
        q for q in result.quotes if (q.provider, q.provider_model_id) == (provider, model_id)
    )


def test_flat_cost_becomes_input_output_and_cache_meters():
    assert prices(parsed("api_2025.json"), "anthropic", "claude-3-5-haiku-20241022") == {
        ("input", ""): Decimal("0.8"),
        ("output", ""): Decimal(4),
        ("cache_read", ""): Decimal("0.08"),
        ("cache_write", ""): Decimal(1),
    }


def test_prices_are_us_dollars_per_million_tokens():
    units = {(q.unit, q.currency) for q in parsed().quotes}
    assert units == {("1m", "USD")}


def test_amounts_keep_their_decimal_digits_exactly():
    chat = quote(parsed("api_2025.json"), "deepseek", "deepseek-chat")
    cache_read = prices(parsed("api_2025.json"), "deepseek", "deepseek-chat")[("cache_read", "")]
    assert (str(chat.amount), str(cache_read)) == ("0.28", "0.028")


def test_release_date_open_weights_and_context_window_become_hints():
    kimi = quote(parsed(), "moonshotai", "kimi-k2-thinking")
    assert (kimi.release_date, kimi.open_weights, kimi.context_window) == (
        date(2025, 11, 6),
        True,
        262144,
    )


def test_model_name_and_provider_name_become_hints():
    qwen = quote(parsed(), "alibaba", "qwen3-max")
    assert (qwen.model_name, qwen.provider_name) == ("Qwen3 Max", "Alibaba")


def test_first_party_provider_is_the_models_creator():
    assert quote(parsed(), "deepseek", "deepseek-chat").creator == "deepseek"


def test_reseller_leaves_the_creator_empty():
    result = parsed(payload({"input": 1, "output": 2}, provider="openrouter"))
    assert result.quotes[0].creator == ""


def test_context_tier_becomes_a_tier_named_by_its_threshold():
    gpt = prices(parsed(), "openai", "gpt-5.5")
    assert (gpt[("input", "over_272k")], gpt[("output", "over_272k")]) == (Decimal(10), Decimal(45))


def test_each_of_several_context_tiers_becomes_its_own_tier():
    qwen = prices(parsed(), "alibaba", "qwen3-max")
    assert (qwen[("input", "over_32k")], qwen[("input", "over_128k")]) == (
        Decimal("2.4"),
        Decimal(3),
    )


def test_legacy_context_over_200k_is_not_read_when_tiers_are_given():
    gpt = prices(parsed(), "openai", "gpt-5.5")
    assert not any(tier == "over_200k" for _, tier in gpt)


def test_context_over_200k_alone_becomes_the_over_200k_tier():
    cost = {
        "input": 5,
        "output": 25,
        "cache_read": 0.5,
        "cache_write": 6.25,
        "context_over_200k": {"input": 10, "output": 37.5, "cache_read": 1, "cache_write": 12.5},
    }
    opus = prices(parsed(payload(cost)), "acme", "m1")
    assert (opus[("input", "over_200k")], opus[("output", "over_200k")]) == (
        Decimal(10),
        Decimal("37.5"),
    )


def test_audio_input_price_becomes_the_input_audio_meter():
    flash = prices(parsed(), "google", "gemini-2.5-flash")
    assert flash[("input_audio", "")] == Decimal(1)


def test_reasoning_price_becomes_the_reasoning_meter():
    result = parsed(payload({"input": 1, "output": 4, "reasoning": 4}))
    assert prices(result, "acme", "m1")[("reasoning", "")] == Decimal(4)


def test_unknown_cost_fields_are_counted_by_name_not_guessed():
    result = parsed(payload({"input": 1, "output": 2, "per_minute": 0.006}))
    assert result.skipped["unsupported cost field per_minute"] == 1
    assert set(prices(result, "acme", "m1")) == {("input", ""), ("output", "")}


def test_model_without_cost_is_skipped_and_counted():
    body = json.loads(payload({"input": 1, "output": 2}))
    body["acme"]["models"]["m2"] = {"id": "m2", "name": "M2"}
    result = parsed(json.dumps(body).encode())
    assert result.skipped["model without cost"] == 1
    assert {q.provider_model_id for q in result.quotes} == {"m1"}


def test_experimental_modes_are_counted_not_recorded():
    result = parsed()
    assert result.skipped["experimental mode fast"] == 1
    assert Decimal("12.5") not in prices(result, "openai", "gpt-5.5").values()


def test_non_context_tier_is_counted_not_guessed():
    cost = {"input": 1, "output": 2, "tiers": [{"input": 9, "tier": {"type": "batch", "size": 1}}]}
    result = parsed(payload(cost))
    assert result.skipped["unsupported tier type batch"] == 1
    assert set(prices(result, "acme", "m1")) == {("input", ""), ("output", "")}


def test_xai_is_recorded_under_the_x_ai_slug_other_sources_use():
    result = parsed(payload({"input": 3, "output": 15}, provider="xai"))
    assert (result.quotes[0].provider, result.quotes[0].creator) == ("x-ai", "x-ai")


def test_month_only_release_date_gives_no_date_hint():
    result = parsed(payload({"input": 1, "output": 2}, release_date="2024-05"))
    assert result.quotes[0].release_date is None


def test_the_2025_payload_parses():
    result = parsed("api_2025.json")
    assert {q.provider for q in result.quotes} == {"anthropic", "openai", "deepseek"}
    assert len({(q.provider, q.provider_model_id) for q in result.quotes}) == 8


def test_the_2026_payload_parses():
    result = parsed("api_2026.json")
    providers = {"alibaba", "anthropic", "deepseek", "google", "moonshotai", "openai"}
    assert {q.provider for q in result.quotes} == providers
    assert len({(q.provider, q.provider_model_id) for q in result.quotes}) == 8


def test_conflicting_duplicate_prices_keep_the_first_and_are_counted():
    body = json.loads(payload({"input": 1, "output": 2}))
    body["acme"]["models"]["m1-alias"] = {"id": "m1", "cost": {"input": 9, "output": 2}}
    result = parsed(json.dumps(body).encode())
    assert prices(result, "acme", "m1")[("input", "")] == Decimal(1)
    assert result.skipped["conflicting duplicate prices"] == 1


def test_malformed_model_is_skipped_not_fatal():
    body = json.loads(payload({"input": 1, "output": 2}))
    body["acme"]["models"]["bad"] = {"id": "bad", "cost": {"input": "lots", "output": 2}}
    result = parsed(json.dumps(body).encode())
    assert {q.provider_model_id for q in result.quotes} == {"m1"}
    assert result.skipped["malformed model entry (TypeError)"] == 1


def test_html_instead_of_json_is_a_parse_error_naming_the_source():
    with pytest.raises(ParseError, match="models_dev: not JSON"):
        parsed(b"<!DOCTYPE html><html><body>Just a moment...</body></html>")


def test_truncated_json_is_a_parse_error():
    body = (FIXTURES / "models_dev" / "api_2026.json").read_bytes()
    with pytest.raises(ParseError, match="models_dev: not JSON"):
        parsed(body[: len(body) // 2])


def test_json_of_another_shape_is_a_parse_error():
    with pytest.raises(ParseError, match="models_dev: expected a non-empty object of providers"):
        parsed(b'[{"id": "openai", "models": []}]')


def test_providers_without_models_objects_are_a_parse_error():
    with pytest.raises(ParseError, match="models_dev: no provider entry has a `models` object"):
        parsed(b'{"data": [{"id": "gpt-4o"}]}')


def test_payload_with_no_priced_model_is_a_parse_error():
    with pytest.raises(ParseError, match="models_dev: no prices found"):
        parsed(payload())
