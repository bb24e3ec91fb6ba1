"""genai-prices adapter: the v2 data.json format (a recorded fixture and the packaged data)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import genai_prices
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def parsed(body: bytes | None = None, when: datetime = FETCHED_AT):
    body = body if body is not None else (FIXTURES / "genai_prices" / "v2_small.json").read_bytes()
    return genai_prices.parse(Fetched(body, "http://test/data.json", when))


def prices(result, provider, model_id):
    return {
        (q.meter, q.tier, q.valid_from): q.amount
        for q in result.quotes
        if q.provider == provider and q.provider_model_id == model_id
    }


def test_plain_prices_become_input_output_and_cache_meters():
    assert prices(parsed(), "openai", "gpt-4o") == {
        ("input", "", None): Decimal("2.5"),
        ("cache_read", "", None): Decimal("1.25"),
        ("output", "", None): Decimal("10"),
    }


def test_start_date_constraint_becomes_the_effective_date():
    o3 = prices(parsed(), "openai", "o3")
    assert o3[("input", "", datetime(2025, 6, 10, tzinfo=UTC))] == Decimal(2)


def test_undated_price_before_a_dated_one_in_force_is_left_out_and_counted():
    result = parsed()
    assert ("input", "", None) not in prices(result, "openai", "o3")
    assert result.skipped["earlier price with unknown start date"] == 1


def test_undated_price_is_current_while_the_dated_one_is_still_ahead():
    o3 = prices(parsed(when=datetime(2025, 6, 1, tzinfo=UTC)), "openai", "o3")
    assert o3[("input", "", None)] == Decimal(10)
    assert o3[("input", "", datetime(2025, 6, 10, tzinfo=UTC))] == Decimal(2)


def test_token_thresholds_become_tiers():
    sonnet = prices(parsed(), "anthropic", "claude-sonnet-4-0")
    assert sonnet[("input", "over_200k", None)] == Decimal(6)
    assert sonnet[("output", "over_200k", None)] == Decimal("22.5")


def test_batch_variant_becomes_batch_meters():
    sonnet = prices(parsed(), "anthropic", "claude-sonnet-4-0")
    assert (sonnet[("batch_input", "", None)], sonnet[("batch_output", "", None)]) == (
        Decimal("1.5"),
        Decimal("7.5"),
    )


def test_cheaper_time_window_is_the_off_peak_tier():
    deepseek = prices(parsed(), "deepseek", "deepseek-chat")
    assert deepseek[("input", "", None)] == Decimal("0.27")
    assert deepseek[("input", "off_peak", None)] == Decimal("0.135")


def test_unsupported_price_fields_are_counted_not_guessed():
    assert parsed().skipped["unsupported price field web_searches_kcount"] == 1


def test_first_party_models_are_made_by_their_provider():
    quote = next(q for q in parsed().quotes if q.provider_model_id == "gpt-4o")
    assert (quote.creator, quote.model_slug) == ("openai", "gpt-4o")


def test_hosted_model_gets_its_maker_from_the_id_prefix():
    quote = next(q for q in parsed().quotes if q.provider == "together")
    assert (quote.creator, quote.model_slug) == ("meta", "meta-llama-3-70b-instruct-turbo")


def test_not_json_is_a_parse_error_naming_the_source():
    with pytest.raises(ParseError, match="genai_prices: not JSON"):
        parsed(b"<html>rate limited</html>")


def test_json_of_another_shape_is_a_parse_error():
    with pytest.raises(ParseError, match="list of providers"):
        parsed(b'{"models": []}')


def test_malformed_model_is_skipped_not_fatal():
    body = (
        b'[{"id": "x", "models": [{"id": "a", "prices": {"input_mtok": "lots"}},'
        b' {"id": "b", "prices": {"input_mtok": 1}}]}]'
    )
    result = parsed(body)
    assert [q.provider_model_id for q in result.quotes] == ["b"]
    assert sum(result.skipped.values()) == 1


def test_the_packaged_price_map_parses_through_the_same_code():
    body, url = genai_prices.bundled()
    result = parsed(body)
    assert url.startswith("pypi:genai-prices==")
    assert len({q.provider for q in result.quotes}) >= 30
    assert len({(q.provider, q.provider_model_id) for q in result.quotes}) >= 1000
