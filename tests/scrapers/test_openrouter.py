"""OpenRouter adapter: the /api/v1/models list, older (2024-03) and newer (2025-02) shapes."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from scrapers import openrouter
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES
from tracker.models import Source

FETCHED_AT = datetime(2025, 2, 8, tzinfo=UTC)
NEWER = "models_2025-02.json"
OLDER = "models_2024-03.json"


def parsed(fixture: str = NEWER, body: bytes | None = None):
    body = body if body is not None else (FIXTURES / "openrouter" / fixture).read_bytes()
    return openrouter.parse(Fetched(body, "http://test/api/v1/models", FETCHED_AT))


def payload(*models) -> bytes:
    return json.dumps({"data": list(models)}).encode()


def prices(result, model_id):
    return {q.meter: q.amount for q in result.quotes if q.provider_model_id == model_id}


def first(result, model_id):
    return next(q for q in result.quotes if q.provider_model_id == model_id)


def test_per_token_string_prices_become_input_and_output_quotes():
    assert prices(parsed(), "openai/gpt-4o") == {
        "input": Decimal("0.0000025"),
        "output": Decimal("0.00001"),
        "cache_read": Decimal("0.00000125"),
    }


def test_prices_are_stated_per_token_in_usd_exactly_as_written():
    quote = next(q for q in parsed(OLDER).quotes if q.provider_model_id.endswith("70b-chat"))
    assert (quote.amount, quote.unit, quote.currency) == (Decimal("0.0000007"), "token", "USD")
    assert quote.per_mtok == Decimal("0.7")


def test_the_seller_is_openrouter_under_its_own_model_id():
    quote = first(parsed(), "openai/gpt-4o")
    assert (quote.provider, quote.provider_model_id) == ("openrouter", "openai/gpt-4o")


def test_older_price_of_a_dated_id_is_its_own_offering():
    assert prices(parsed(), "openai/gpt-4o-2024-05-13") == {
        "input": Decimal("0.000005"),
        "output": Decimal("0.000015"),
    }


def test_variant_suffix_stays_in_the_provider_model_id():
    ids = {q.provider_model_id for q in parsed().quotes}
    assert {"openai/gpt-4o:extended", "meta-llama/llama-3.1-70b-instruct:free"} <= ids


def test_free_variant_keeps_its_zero_price():
    assert prices(parsed(), "meta-llama/llama-3.1-70b-instruct:free") == {
        "input": Decimal(0),
        "output": Decimal(0),
    }


def test_minus_one_variable_price_is_skipped_and_counted():
    result = parsed()
    assert prices(result, "openrouter/auto") == {}
    assert result.skipped["variable price (-1) prompt"] == 1
    assert result.skipped["variable price (-1) completion"] == 1


def test_cache_prices_become_cache_read_and_cache_write_meters():
    sonnet = prices(parsed(), "anthropic/claude-3.5-sonnet")
    assert (sonnet["cache_read"], sonnet["cache_write"]) == (
        Decimal("0.0000003"),
        Decimal("0.00000375"),
    )


def test_zero_cache_write_and_reasoning_are_counted_not_recorded_as_free():
    result = parsed()
    assert {"cache_write", "reasoning"}.isdisjoint(prices(result, "openai/gpt-4o"))
    assert result.skipped["zero input_cache_write (not a separate price)"] == 1
    assert result.skipped["zero internal_reasoning (not a separate price)"] == 1


def test_internal_reasoning_price_becomes_the_reasoning_meter():
    body = payload(
        {
            "id": "google/gemini-2.5-flash-preview:thinking",
            "pricing": {
                "prompt": "0.00000015",
                "completion": "0.0000035",
                "internal_reasoning": "0.0000035",
            },
        }
    )
    quote = next(q for q in parsed(body=body).quotes if q.meter == "reasoning")
    assert (quote.amount, quote.unit) == (Decimal("0.0000035"), "token")


def test_image_prices_are_counted_by_field_name():
    assert parsed().skipped["non-token price image"] == 4


def test_request_and_web_search_prices_are_counted_by_field_name():
    body = payload(
        {
            "id": "perplexity/llama-3.1-sonar-large-128k-online",
            "pricing": {"prompt": "0.000001", "completion": "0.000001", "request": "0.005"},
        },
        {
            "id": "openai/gpt-4o-search-preview",
            "pricing": {"prompt": "0.0000025", "completion": "0.00001", "web_search": "0.035"},
        },
    )
    skipped = parsed(body=body).skipped
    assert (skipped["non-token price request"], skipped["non-token price web_search"]) == (1, 1)


def test_zero_non_token_prices_are_not_counted():
    assert "non-token price request" not in parsed().skipped


def test_older_shape_without_created_or_cache_fields_parses():
    result = parsed(OLDER)
    assert {q.provider_model_id for q in result.quotes} == {
        "openai/gpt-4",
        "openai/gpt-4-1106-preview",
        "openai/gpt-3.5-turbo",
        "anthropic/claude-2",
        "meta-llama/llama-2-70b-chat",
        "mistralai/mistral-7b-instruct",
    }
    assert prices(result, "openai/gpt-4") == {
        "input": Decimal("0.00003"),
        "output": Decimal("0.00006"),
    }


def test_older_shape_has_no_release_date():
    assert first(parsed(OLDER), "openai/gpt-4").release_date is None


def test_context_length_and_created_become_context_window_and_release_date():
    quote = first(parsed(), "openai/gpt-4o")
    assert (quote.context_window, quote.release_date) == (128000, date(2024, 5, 13))


def test_model_name_drops_the_vendor_prefix():
    assert first(parsed(), "anthropic/claude-3.5-sonnet").model_name == "Claude 3.5 Sonnet"


def test_model_name_of_a_variant_drops_the_variant_label():
    quote = first(parsed(), "meta-llama/llama-3.1-70b-instruct:free")
    assert (quote.model_name, quote.model_slug) == (
        "Llama 3.1 70B Instruct",
        "llama-3.1-70b-instruct",
    )


@pytest.mark.parametrize(
    ("model_id", "creator"),
    [
        ("meta-llama/llama-3.1-70b-instruct:free", "meta"),
        ("anthropic/claude-3.5-sonnet", "anthropic"),
        ("deepseek/deepseek-chat", "deepseek"),
        ("openai/gpt-4o", "openai"),
    ],
)
def test_creator_comes_from_the_id_prefix(model_id, creator):
    assert first(parsed(), model_id).creator == creator


def test_unmapped_id_prefix_is_the_creator_itself():
    body = payload({"id": "nousresearch/nous-capybara-34b", "pricing": {"prompt": "0.0000007"}})
    assert parsed(body=body).quotes[0].creator == "nousresearch"


def test_mistralai_prefix_means_mistral():
    assert first(parsed(OLDER), "mistralai/mistral-7b-instruct").creator == "mistral"


def test_conflicting_duplicate_keeps_the_first_price_and_counts_it():
    body = payload(
        {"id": "openai/gpt-4o", "pricing": {"prompt": "0.0000025"}},
        {"id": "openai/gpt-4o", "pricing": {"prompt": "0.000005"}},
    )
    result = parsed(body=body)
    assert [q.amount for q in result.quotes] == [Decimal("0.0000025")]
    assert result.skipped["conflicting duplicate prices"] == 1


def test_identical_duplicate_is_dropped_without_counting():
    entry = {"id": "openai/gpt-4o", "pricing": {"prompt": "0.0000025"}}
    result = parsed(body=payload(entry, entry))
    assert len(result.quotes) == 1
    assert not result.skipped


def test_malformed_model_is_skipped_and_counted_not_fatal():
    body = payload(
        {"id": "a/bad", "pricing": {"prompt": "lots", "completion": "0.000001"}},
        {"name": "no id", "pricing": {"prompt": "0.000001"}},
        {"id": "b/good", "pricing": {"prompt": "0.000001"}},
    )
    result = parsed(body=body)
    assert [q.provider_model_id for q in result.quotes] == ["b/good"]
    assert sum(result.skipped.values()) == 2


def test_model_without_pricing_is_counted():
    body = payload({"id": "a/none"}, {"id": "b/good", "pricing": {"prompt": "0.000001"}})
    assert parsed(body=body).skipped["model without pricing"] == 1


def test_html_error_page_is_a_parse_error_naming_the_source():
    with pytest.raises(ParseError, match=r"^openrouter: not JSON"):
        parsed(body=b"<html><body>502 Bad Gateway</body></html>")


def test_truncated_json_is_a_parse_error():
    body = (FIXTURES / "openrouter" / NEWER).read_bytes()[:500]
    with pytest.raises(ParseError, match=r"^openrouter: not JSON"):
        parsed(body=body)


def test_wrong_top_level_type_is_a_parse_error():
    with pytest.raises(ParseError, match=r"^openrouter: expected"):
        parsed(body=b'[{"id": "openai/gpt-4o"}]')


def test_empty_model_list_is_a_parse_error():
    with pytest.raises(ParseError, match=r"^openrouter: expected"):
        parsed(body=b'{"data": []}')


def test_models_without_any_pricing_object_are_a_parse_error():
    with pytest.raises(ParseError, match=r"^openrouter: no model has a pricing object"):
        parsed(body=payload({"id": "openai/gpt-4o", "price": {"prompt": "0.0000025"}}))


def test_payload_with_nothing_priceable_is_a_parse_error():
    auto = {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}}
    with pytest.raises(ParseError, match=r"^openrouter: no per-token prices"):
        parsed(body=payload(auto))


def test_adapter_describes_openrouter_as_the_sellers_own_hourly_complete_list():
    assert (openrouter.KIND, openrouter.PRIORITY, openrouter.COMPLETE) == (
        Source.Kind.PROVIDER_PAGE,
        10,
        True,
    )
    assert openrouter.INTERVAL.total_seconds() == 3600
