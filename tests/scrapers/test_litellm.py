"""LiteLLM adapter: model_prices_and_context_window.json, old (2023-11) and new (2026-11) shapes."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import litellm
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES
from tracker.models import Source

FETCHED_AT = datetime(2026, 11, 4, tzinfo=UTC)
NEW = "model_prices_2026-11.json"
OLD = "model_prices_2023-11.json"


def parsed(fixture: str = NEW, body: bytes | None = None):
    body = body if body is not None else (FIXTURES / "litellm" / fixture).read_bytes()
    return litellm.parse(Fetched(body, "http://test/model_prices.json", FETCHED_AT))


def payload(**entries) -> bytes:
    return json.dumps(entries).encode()


def prices(result, provider, model_id):
    return {
        (q.meter, q.tier): q.amount
        for q in result.quotes
        if q.provider == provider and q.provider_model_id == model_id
    }


def first(result, provider, model_id):
    return next(
        q for q in result.quotes if (q.provider, q.provider_model_id) == (provider, model_id)
    )


GPT_4 = {"input_cost_per_token": 3e-05, "litellm_provider": "openai", "mode": "chat"}


def test_float_per_token_prices_become_exact_decimal_quotes():
    quote = next(
        q
        for q in parsed().quotes
        if (q.provider_model_id, q.meter, q.tier) == ("gpt-4o", "input", "")
    )
    assert (quote.provider, quote.amount, quote.unit, quote.currency) == (
        "openai",
        Decimal("0.0000025"),
        "token",
        "USD",
    )


def test_no_amount_passes_through_float():
    assert all(type(q.amount) is Decimal for q in parsed().quotes)


def test_old_plain_decimal_notation_parses_to_input_and_output():
    assert prices(parsed(OLD), "openai", "gpt-4") == {
        ("input", ""): Decimal("0.00003"),
        ("output", ""): Decimal("0.00006"),
    }


def test_the_seller_is_the_litellm_provider():
    assert prices(parsed(OLD), "anthropic", "claude-2") == {
        ("input", ""): Decimal("0.00001102"),
        ("output", ""): Decimal("0.00003268"),
    }


def test_provider_prefix_is_removed_from_the_model_id():
    quote = first(parsed(), "google", "gemini-2.5-pro")
    assert quote.model_slug == "gemini-2.5-pro"


def test_another_sellers_prefix_stays_in_the_model_id():
    assert prices(parsed(OLD), "openrouter", "openai/gpt-4")[("input", "")] == Decimal("0.00003")


def test_completion_api_provider_name_is_the_seller():
    assert prices(parsed(OLD), "openai", "text-davinci-003")[("input", "")] == Decimal("0.000002")


def test_vertex_ai_model_families_are_one_seller():
    old = {(q.provider, q.provider_model_id) for q in parsed(OLD).quotes}
    new = {(q.provider, q.provider_model_id) for q in parsed().quotes}
    assert ("vertex-ai", "chat-bison") in old
    assert ("vertex-ai", "claude-sonnet-4-5") in new


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("openai", "openai"),
        ("gemini", "google"),
        ("xai", "x-ai"),
        ("together_ai", "together"),
        ("fireworks_ai-embedding-models", "fireworks"),
        ("text-completion-openai", "openai"),
        ("vertex_ai-language-models", "vertex-ai"),
        ("azure_ai", "azure-ai"),
        ("vercel_ai_gateway", "vercel-ai-gateway"),
    ],
)
def test_provider_names_become_the_projects_provider_slugs(name, slug):
    assert litellm.provider_slug(name) == slug


def test_sample_spec_is_ignored_without_being_counted():
    spec = json.loads((FIXTURES / "litellm" / NEW).read_bytes())["sample_spec"]
    result = parsed(body=payload(sample_spec=spec, **{"gpt-4": GPT_4}))
    assert [q.provider_model_id for q in result.quotes] == ["gpt-4"]
    assert not result.skipped


def test_cache_prices_become_cache_read_and_cache_write_meters():
    sonnet = prices(parsed(), "anthropic", "claude-sonnet-4-5")
    assert (sonnet[("cache_read", "")], sonnet[("cache_write", "")]) == (
        Decimal("3E-7"),
        Decimal("0.00000375"),
    )


def test_one_hour_cache_write_is_the_ttl_1h_tier():
    sonnet = prices(parsed(), "anthropic", "claude-sonnet-4-5")
    assert sonnet[("cache_write", "ttl_1h")] == Decimal("0.000006")


def test_above_200k_fields_become_the_over_200k_tier():
    gemini = prices(parsed(), "google", "gemini-2.5-pro")
    assert (gemini[("input", "over_200k")], gemini[("output", "over_200k")]) == (
        Decimal("0.0000025"),
        Decimal("0.000015"),
    )


def test_tier_parts_combine_in_a_fixed_order():
    gemini = prices(parsed(), "google", "gemini-2.5-pro")
    vertex = prices(parsed(), "vertex-ai", "claude-sonnet-4-5")
    assert gemini[("input", "priority_over_200k")] == Decimal("0.0000045")
    assert vertex[("cache_write", "ttl_1h_over_200k")] == Decimal("0.000012")


def test_batch_prices_become_batch_meters():
    gpt4o = prices(parsed(), "openai", "gpt-4o")
    assert (gpt4o[("batch_input", "")], gpt4o[("batch_output", "")]) == (
        Decimal("0.00000125"),
        Decimal("0.000005"),
    )


def test_batch_price_of_a_meter_without_a_batch_meter_is_the_batch_tier():
    sonnet = prices(parsed(), "anthropic", "claude-sonnet-4-5")
    assert (sonnet[("cache_read", "batch")], sonnet[("cache_write", "batch")]) == (
        Decimal("1.5E-7"),
        Decimal("0.000001875"),
    )


def test_priority_and_flex_prices_become_tiers():
    gpt4o = prices(parsed(), "openai", "gpt-4o")
    gemini = prices(parsed(), "google", "gemini-2.5-pro")
    assert gpt4o[("input", "priority")] == Decimal("0.00000425")
    assert gemini[("output", "flex")] == Decimal("0.000005")


def test_reasoning_and_audio_token_prices_get_their_meters():
    flash = prices(parsed(), "google", "gemini-2.5-flash")
    assert flash[("reasoning", "")] == Decimal("0.0000025")
    assert flash[("input_audio", "")] == Decimal("0.000001")
    assert flash[("input_audio", "batch")] == Decimal("5E-7")


def test_responses_mode_models_are_priced_per_token():
    assert prices(parsed(), "openai", "o1-pro")[("output", "")] == Decimal("0.0006")


def test_entry_without_mode_is_priced_when_it_has_token_prices():
    body = payload(
        **{"claude-instant-1": {"input_cost_per_token": 1.63e-06, "litellm_provider": "anthropic"}}
    )
    assert prices(parsed(body=body), "anthropic", "claude-instant-1") == {
        ("input", ""): Decimal("0.00000163")
    }


def test_other_modes_are_counted_by_mode_not_priced():
    result = parsed()
    ids = {q.provider_model_id for q in result.quotes}
    assert {"text-embedding-3-small", "gpt-image-1"}.isdisjoint(ids)
    assert (result.skipped["mode embedding"], result.skipped["mode image_generation"]) == (1, 1)


def test_embedding_in_the_old_shape_is_counted_by_mode():
    assert parsed(OLD).skipped["mode embedding"] == 1


def test_non_token_price_fields_are_counted_by_field_name():
    skipped = parsed().skipped
    assert skipped["unsupported price field search_context_cost_per_query"] == 1
    assert skipped["unsupported price field google_maps_grounding_cost_per_query"] == 1
    assert skipped["unsupported price field cache_read_input_audio_token_cost"] == 1


def test_zero_cache_price_is_counted_not_recorded_as_free():
    body = payload(
        **{"grok-3": {**GPT_4, "litellm_provider": "xai", "cache_creation_input_token_cost": 0.0}}
    )
    result = parsed(body=body)
    assert ("cache_write", "") not in prices(result, "x-ai", "grok-3")
    assert result.skipped["zero cache_creation_input_token_cost (not a separate price)"] == 1


def test_self_hosted_runtime_zero_prices_are_counted_not_recorded():
    result = parsed()
    assert not [q for q in result.quotes if q.provider == "ollama"]
    assert result.skipped["self-hosted runtime ollama"] == 1


def test_entry_without_a_provider_is_counted():
    assert parsed(OLD).skipped["entry without litellm_provider"] == 1


def test_price_by_model_size_is_counted_not_an_offering():
    size_class = {"input_cost_per_token": 8e-07, "litellm_provider": "together_ai", "mode": "chat"}
    result = parsed(body=payload(**{"together-ai-21.1b-41b": size_class, "gpt-4": GPT_4}))
    assert [q.provider_model_id for q in result.quotes] == ["gpt-4"]
    assert result.skipped["price by model size, not a model"] == 1


def test_first_party_seller_is_the_creator():
    assert first(parsed(), "openai", "gpt-4o").creator == "openai"


def test_max_input_tokens_is_the_context_window():
    assert first(parsed(), "google", "gemini-2.5-pro").context_window == 1048576


def test_old_max_tokens_is_the_context_window():
    assert first(parsed(OLD), "anthropic", "claude-2").context_window == 100000


def test_legacy_max_tokens_equal_to_the_output_limit_is_not_a_context_window():
    entry = {**GPT_4, "max_tokens": 16384, "max_output_tokens": 16384}
    assert parsed(body=payload(**{"gpt-4": entry})).quotes[0].context_window is None


def test_conflicting_duplicate_keeps_the_first_price_and_counts_it():
    body = payload(**{"gpt-4": GPT_4, "openai/gpt-4": {**GPT_4, "input_cost_per_token": 6e-05}})
    result = parsed(body=body)
    assert [q.amount for q in result.quotes] == [Decimal("0.00003")]
    assert result.skipped["conflicting duplicate prices"] == 1


def test_identical_duplicate_is_dropped_without_counting():
    result = parsed(body=payload(**{"gpt-4": GPT_4, "openai/gpt-4": GPT_4}))
    assert len(result.quotes) == 1
    assert not result.skipped


def test_malformed_entry_is_skipped_and_counted_not_fatal():
    body = payload(
        **{
            "bad-price": {**GPT_4, "input_cost_per_token": "lots"},
            "not-an-object": [1, 2],
            "gpt-4": GPT_4,
        }
    )
    result = parsed(body=body)
    assert [q.provider_model_id for q in result.quotes] == ["gpt-4"]
    assert sum(result.skipped.values()) == 2


def test_html_error_page_is_a_parse_error_naming_the_source():
    with pytest.raises(ParseError, match=r"^litellm: not JSON"):
        parsed(body=b"<!DOCTYPE html><title>429 Too Many Requests</title>")


def test_truncated_json_is_a_parse_error():
    body = (FIXTURES / "litellm" / NEW).read_bytes()[:700]
    with pytest.raises(ParseError, match=r"^litellm: not JSON"):
        parsed(body=body)


def test_wrong_top_level_type_is_a_parse_error():
    with pytest.raises(ParseError, match=r"^litellm: expected a non-empty JSON object"):
        parsed(body=b'[{"gpt-4": {}}]')


def test_payload_with_only_the_sample_spec_is_a_parse_error():
    body = (FIXTURES / "litellm" / NEW).read_bytes()
    only_spec = {"sample_spec": json.loads(body)["sample_spec"]}
    with pytest.raises(ParseError, match=r"^litellm: no entry has a litellm_provider"):
        parsed(body=json.dumps(only_spec).encode())


def test_payload_with_nothing_priceable_is_a_parse_error():
    embedding = {"input_cost_per_token": 2e-08, "litellm_provider": "openai", "mode": "embedding"}
    with pytest.raises(ParseError, match=r"^litellm: no per-token prices"):
        parsed(body=payload(**{"text-embedding-3-small": embedding}))


def test_adapter_describes_litellm_as_a_curated_map_every_six_hours():
    assert (litellm.KIND, litellm.PRIORITY, litellm.COMPLETE) == (
        Source.Kind.CURATED_MAP,
        40,
        True,
    )
    assert litellm.INTERVAL.total_seconds() == 6 * 3600
