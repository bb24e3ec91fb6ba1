"""Anthropic pricing page adapter: the Markdown page as served in 2025 and in 2026."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import anthropic
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2026, 11, 1, tzinfo=UTC)
HEADER = (
    "| Model | Base Input Tokens | 5m Cache Writes | 1h Cache Writes "
    "| Cache Hits & Refreshes | Output Tokens |\n"
    "|---|---|---|---|---|---|\n"
)
SONNET_45 = (
    "| Claude Sonnet 4.5 | $3 / MTok | $3.75 / MTok | $6 / MTok | $0.30 / MTok | $15 / MTok |\n"
)


def parsed(body: bytes | str = "pricing_2025.md"):
    if isinstance(body, str):
        body = (FIXTURES / "anthropic" / body).read_bytes()
    return anthropic.parse(Fetched(body, "http://test/pricing.md", FETCHED_AT))


def page(*rows: str, header: str = HEADER) -> bytes:
    return ("# Pricing\n\n## Model pricing\n\n" + header + "".join(rows)).encode()


def prices(result, model_id):
    return {(q.meter, q.tier): q.amount for q in result.quotes if q.provider_model_id == model_id}


def test_model_table_gives_input_cache_and_output_meters():
    sonnet = prices(parsed(), "claude-sonnet-4-5")
    standard = {k: v for k, v in sonnet.items() if k[1] == "" and not k[0].startswith("batch")}
    assert standard == {
        ("input", ""): Decimal(3),
        ("cache_write", ""): Decimal("3.75"),
        ("cache_read", ""): Decimal("0.30"),
        ("output", ""): Decimal(15),
    }


def test_one_hour_cache_writes_are_the_ttl_1h_tier():
    assert prices(parsed(), "claude-haiku-4-5")[("cache_write", "ttl_1h")] == Decimal(2)


def test_prices_are_us_dollars_per_million_tokens():
    assert {(q.unit, q.currency) for q in parsed().quotes} == {("1m", "USD")}


def test_quotes_are_sold_and_made_by_anthropic():
    assert {(q.provider, q.creator) for q in parsed().quotes} == {("anthropic", "anthropic")}


def test_batch_table_gives_batch_meters():
    haiku = prices(parsed(), "claude-3-haiku")
    assert (haiku[("batch_input", "")], haiku[("batch_output", "")]) == (
        Decimal("0.125"),
        Decimal("0.625"),
    )


def test_long_context_prices_are_the_over_200k_tier_of_the_models_named_above_the_table():
    result = parsed()
    for model_id in ("claude-sonnet-4-0", "claude-sonnet-4-5"):
        sonnet = prices(result, model_id)
        assert (sonnet[("input", "over_200k")], sonnet[("output", "over_200k")]) == (
            Decimal(6),
            Decimal("22.50"),
        )


def test_long_context_table_with_a_model_column_names_each_model():
    body = page(SONNET_45) + (
        b"\n### Long context pricing\n\n"
        b"| Model | \xe2\x89\xa4 200K input tokens | > 200K input tokens |\n|---|---|---|\n"
        b"| Claude Opus 4.6 | Input: $5 / MTok<br>Output: $25 / MTok "
        b"| Input: $10 / MTok<br>Output: $37.50 / MTok |\n"
        b"| Claude Sonnet 4.5 / 4 | Input: $3 / MTok<br>Output: $15 / MTok "
        b"| Input: $6 / MTok<br>Output: $22.50 / MTok |\n"
    )
    result = parsed(body)
    assert prices(result, "claude-opus-4-6") == {
        ("input", "over_200k"): Decimal(10),
        ("output", "over_200k"): Decimal("37.50"),
    }
    assert prices(result, "claude-sonnet-4-0")[("output", "over_200k")] == Decimal("22.50")


def test_fast_mode_prices_are_the_fast_tier_of_each_model_in_the_row():
    result = parsed("pricing_2026.md")
    for model_id in ("claude-opus-4-6", "claude-opus-4-7"):
        opus = prices(result, model_id)
        assert (opus[("input", "fast")], opus[("output", "fast")]) == (Decimal(30), Decimal(150))


def test_human_model_names_map_to_api_ids():
    ids = {q.model_name: q.provider_model_id for q in parsed().quotes}
    assert (ids["Claude Haiku 3.5"], ids["Claude Opus 4"], ids["Claude Opus 4.1"]) == (
        "claude-3-5-haiku-latest",
        "claude-opus-4-0",
        "claude-opus-4-1",
    )


def test_deprecation_notes_are_stripped_from_names():
    names = {
        q.model_name for q in parsed().quotes if q.provider_model_id == "claude-3-7-sonnet-latest"
    }
    assert names == {"Claude Sonnet 3.7"}


def test_retirement_notes_are_stripped_from_names():
    result = parsed("pricing_2026.md")
    assert prices(result, "claude-opus-4-0")[("input", "")] == Decimal(15)


def test_footnote_markers_are_stripped_from_names_and_prices():
    row = (
        "| Claude Sonnet 4.5<sup>2</sup> | $3 / MTok | $3.75 / MTok | $6 / MTok "
        "| $0.30 / MTok<sup>1</sup> | $15 / MTok |\n"
    )
    sonnet = prices(parsed(page(row)), "claude-sonnet-4-5")
    assert sonnet[("cache_read", "")] == Decimal("0.30")


def test_escaped_dollar_signs_are_read():
    row = SONNET_45.replace("$", "\\$")
    assert prices(parsed(page(row)), "claude-sonnet-4-5")[("output", "")] == Decimal(15)


def test_unmapped_name_gets_a_derived_id_and_is_counted():
    result = parsed("pricing_2026.md")
    assert prices(result, "claude-mythos-5")[("input", "")] == Decimal(10)
    assert result.skipped["unmapped model name Claude Mythos 5"] == 1


def test_header_wording_drift_is_accepted():
    header = (
        "| Model | Base input tokens | 5m cache writes | 1h cache writes "
        "| Cache hits and refreshes | Output tokens |\n"
        "| :---- | :---------------- | :-------------- | :-------------- | :---------- | :----- |\n"
    )
    sonnet = prices(parsed(page(SONNET_45, header=header)), "claude-sonnet-4-5")
    assert sonnet[("cache_read", "")] == Decimal("0.30")


def test_unreadable_price_cell_is_skipped_and_counted():
    row = "| Claude Haiku 4.5 | $1 / MTok | TBC | $2 / MTok | $0.10 / MTok | $5 / MTok |\n"
    result = parsed(page(row))
    assert ("cache_write", "") not in prices(result, "claude-haiku-4-5")
    assert result.skipped["unreadable price in model pricing column '5m Cache Writes'"] == 1


def test_conflicting_duplicate_rows_keep_the_first_and_are_counted():
    again = SONNET_45.replace("$15 / MTok", "$16 / MTok")
    result = parsed(page(SONNET_45, again))
    assert prices(result, "claude-sonnet-4-5")[("output", "")] == Decimal(15)
    assert result.skipped["conflicting duplicate prices"] == 1


def test_page_without_a_batch_table_is_counted():
    assert parsed(page(SONNET_45)).skipped["page without a batch pricing table"] == 1


def test_the_2025_page_parses():
    result = parsed("pricing_2025.md")
    assert len({q.provider_model_id for q in result.quotes}) == 10
    assert len(result.quotes) == 10 * 5 + 10 * 2 + 2 * 2
    assert not result.skipped


def test_the_2026_page_parses():
    result = parsed("pricing_2026.md")
    assert len({q.provider_model_id for q in result.quotes}) == 11
    assert not any(q.tier == "over_200k" for q in result.quotes)


def test_model_table_missing_a_required_column_is_a_parse_error_naming_it():
    body = (FIXTURES / "anthropic" / "pricing_2025.md").read_bytes()
    body = body.replace(b"| Output Tokens |", b"| Completion Tokens |")
    with pytest.raises(ParseError, match="anthropic: model pricing table has no 'Output Tokens'"):
        parsed(body)


def test_batch_table_missing_a_column_is_a_parse_error_naming_it():
    body = (FIXTURES / "anthropic" / "pricing_2025.md").read_bytes()
    body = body.replace(b"| Batch output    |", b"| Batch completion |")
    with pytest.raises(ParseError, match="anthropic: batch pricing table has no 'Batch output'"):
        parsed(body)


def test_markdown_without_the_pricing_table_is_a_parse_error():
    body = b"# Pricing\n\nFor the most current pricing information, visit claude.com/pricing.\n"
    with pytest.raises(ParseError, match="anthropic: no model pricing table"):
        parsed(body)


def test_html_instead_of_markdown_is_a_parse_error_naming_the_source():
    with pytest.raises(ParseError, match="anthropic: got an HTML page"):
        parsed(b"<!DOCTYPE html>\n<html><head><title>Pricing</title></head></html>")


def test_pricing_table_with_no_readable_price_is_a_parse_error():
    row = "| Claude Sonnet 4.5 | TBC | TBC | TBC | TBC | TBC |\n"
    with pytest.raises(ParseError, match="anthropic: the model pricing table has no readable"):
        parsed(page(row))
