"""DeepSeek pricing page adapter: the page's table layouts of 2025, in English and Chinese."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import deepseek
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2025, 9, 10, tzinfo=UTC)
MODELS = ("deepseek-chat", "deepseek-reasoner")


def fixture(name: str) -> bytes:
    return (FIXTURES / "deepseek" / name).read_bytes()


def parsed(body: bytes):
    return deepseek.parse(Fetched(body, deepseek.URL, FETCHED_AT))


def prices(result, model, tier=""):
    """meter -> (amount, currency) for one model and tier, quotes without a stated start."""
    return {
        q.meter: (q.amount, q.currency)
        for q in result.quotes
        if q.provider_model_id == model and q.tier == tier and q.valid_from is None
    }


def stated(currency: str, *amounts: str) -> dict:
    meters = ("cache_read", "input", "output")
    return dict(zip(meters, ((Decimal(a), currency) for a in amounts), strict=True))


def usd(*amounts: str) -> dict:
    return stated("USD", *amounts)


def cny(*amounts: str) -> dict:
    return stated("CNY", *amounts)


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parsed(body)
    assert caught.value.source == "deepseek"
    return caught.value


# Two layouts that are not in the fixture files, in the page's real shapes: the one-row-per-
# model table of early February 2025 (USD and CNY tabs), and the August 2025 page announcing
# the September price list above the one still in force.
ROW_PER_MODEL = """<html><body><h2>Pricing Details</h2>
<div class="tabs-container"><ul role="tablist"><li role="tab">USD</li><li role="tab">CNY</li></ul>
<div role="tabpanel"><table><thead><tr><th>MODEL<sup>(1)</sup></th><th>CONTEXT LENGTH</th>
<th>MAX COT TOKENS<sup>(2)</sup></th><th>MAX OUTPUT TOKENS<sup>(3)</sup></th>
<th>1M TOKENS<br>INPUT PRICE<br>(CACHE HIT) <sup>(4)</sup></th>
<th>1M TOKENS<br>INPUT PRICE<br>(CACHE MISS)</th><th>1M TOKENS<br>OUTPUT PRICE</th></tr></thead>
<tbody><tr><td>deepseek-chat</td><td>64K</td><td>-</td><td>8K</td><td>$0.07</td><td>$0.27</td>
<td>$1.10</td></tr>
<tr><td>deepseek-reasoner</td><td>64K</td><td>32K</td><td>8K</td><td>$0.14</td><td>$0.55</td>
<td>$2.19</td></tr></tbody></table></div>
<div role="tabpanel" hidden=""><table><thead><tr><th>MODEL<sup>(1)</sup></th>
<th>CONTEXT LENGTH</th><th>MAX COT TOKENS<sup>(2)</sup></th><th>MAX OUTPUT TOKENS<sup>(3)</sup></th>
<th>1M TOKENS<br>INPUT PRICE<br>(CACHE HIT) <sup>(4)</sup></th>
<th>1M TOKENS<br>INPUT PRICE<br>(CACHE MISS)</th><th>1M TOKENS<br>OUTPUT PRICE</th></tr></thead>
<tbody><tr><td>deepseek-chat</td><td>64K</td><td>-</td><td>8K</td><td>¥0.5</td><td>¥2</td>
<td>¥8</td></tr>
<tr><td>deepseek-reasoner</td><td>64K</td><td>32K</td><td>8K</td><td>¥1</td><td>¥4</td>
<td>¥16</td></tr></tbody></table></div></div></body></html>""".encode()

SEPTEMBER_TABLE = """<table><tbody>
<tr><td colspan="2">MODEL</td><td>deepseek-chat</td><td>deepseek-reasoner</td></tr>
<tr><td rowspan="3">PRICING</td><td>1M INPUT TOKENS (CACHE HIT)</td><td colspan="2">$0.07</td></tr>
<tr><td>1M INPUT TOKENS (CACHE MISS)</td><td colspan="2">$0.56</td></tr>
<tr><td>1M OUTPUT TOKENS</td><td colspan="2">$1.68</td></tr></tbody></table>"""

FEBRUARY_TABLE = "<table>{}</table>".format(
    fixture("pricing_2025-02.html").decode().split("<table>", 1)[1].split("</table>", 1)[0]
)
ANNOUNCED = (
    "<html><body><h2>Pricing Details</h2><p>Starting from 16:00 UTC Time on Sept 5th, 2025, we "
    "will apply the following price list and cancel the nighttime discount:</p>"
    f"{SEPTEMBER_TABLE}<p>The current price list will remain in effect until 16:00 UTC Time on "
    f"Sept 5th, 2025:</p>{FEBRUARY_TABLE}</body></html>"
).encode()


def test_standard_prices_become_cache_read_input_and_output_meters():
    result = parsed(fixture("pricing_2025-02.html"))
    assert prices(result, "deepseek-chat") == usd("0.07", "0.27", "1.10")
    assert prices(result, "deepseek-reasoner") == usd("0.14", "0.55", "2.19")


def test_discount_price_rows_become_the_off_peak_tier():
    result = parsed(fixture("pricing_2025-02.html"))
    for model in MODELS:
        assert prices(result, model, "off_peak") == usd("0.035", "0.135", "0.55")


def test_prices_are_per_million_tokens_for_the_models_in_the_model_row():
    result = parsed(fixture("pricing_2025-02.html"))
    assert {q.unit for q in result.quotes} == {"1m"}
    assert {q.provider_model_id for q in result.quotes} == set(MODELS)
    assert {q.provider for q in result.quotes} == {"deepseek"}


def test_yuan_table_of_the_chinese_page_yields_cny_quotes():
    result = parsed(fixture("pricing_2025-02_zh.html"))
    assert prices(result, "deepseek-chat") == cny("0.5", "2", "8")
    assert prices(result, "deepseek-reasoner") == cny("1", "4", "16")


def test_chinese_discount_period_is_the_off_peak_tier_at_the_first_price_in_the_cell():
    result = parsed(fixture("pricing_2025-02_zh.html"))
    for model in MODELS:
        assert prices(result, model, "off_peak") == cny("0.25", "1", "4")


def test_single_price_layout_gives_both_models_the_spanning_price_and_no_off_peak_tier():
    result = parsed(fixture("pricing_2025-09.html"))
    for model in MODELS:
        assert prices(result, model) == usd("0.07", "0.56", "1.68")
    assert {q.tier for q in result.quotes} == {""}
    assert not result.skipped


def test_context_length_row_becomes_the_context_window_hint():
    assert {q.context_window for q in parsed(fixture("pricing_2025-02.html")).quotes} == {64_000}
    assert {q.context_window for q in parsed(fixture("pricing_2025-09.html")).quotes} == {128_000}


def test_one_row_per_model_layout_is_read_by_its_header_columns():
    result = parsed(ROW_PER_MODEL)
    assert prices(result, "deepseek-chat") == usd("0.07", "0.27", "1.10")
    assert prices(result, "deepseek-reasoner") == usd("0.14", "0.55", "2.19")


def test_yuan_tab_beside_a_dollar_tab_is_counted_not_quoted():
    result = parsed(ROW_PER_MODEL)
    assert {q.currency for q in result.quotes} == {"USD"}
    assert result.skipped["CNY price also stated in USD"] == 6


def test_announced_price_list_takes_effect_at_its_stated_start():
    result = parsed(ANNOUNCED)
    start = datetime(2025, 9, 5, 16, 0, tzinfo=UTC)
    announced = {
        (q.provider_model_id, q.meter): q.amount for q in result.quotes if q.valid_from == start
    }
    assert announced[("deepseek-reasoner", "input")] == Decimal("0.56")
    assert len(announced) == 6
    assert prices(result, "deepseek-reasoner") == usd("0.14", "0.55", "2.19")


def test_different_prices_for_one_key_without_a_stated_start_are_dropped_and_counted():
    page = f"<html><body>{SEPTEMBER_TABLE}{SEPTEMBER_TABLE.replace('$1.68', '$1.70')}</body></html>"
    result = parsed(page.encode())
    assert "output" not in prices(result, "deepseek-chat")
    assert prices(result, "deepseek-chat")["input"] == (Decimal("0.56"), "USD")
    assert result.skipped["conflicting prices for one model, meter and tier"] == 4


def test_price_cell_without_a_price_is_counted():
    body = fixture("pricing_2025-09.html").replace(
        b'<td colspan="2">$1.68</td>', b"<td>-</td><td>-</td>"
    )
    result = parsed(body)
    assert "output" not in prices(result, "deepseek-chat")
    assert result.skipped["cell without a price"] == 2


def test_table_missing_the_cache_miss_row_is_a_parse_error_naming_it():
    body = fixture("pricing_2025-09.html").replace(
        b'<tr><td>1M INPUT TOKENS (CACHE MISS)</td><td colspan="2">$0.56</td></tr>', b""
    )
    assert "input (cache miss)" in str(parse_error(body))


def test_price_rows_without_a_model_row_are_a_parse_error():
    body = fixture("pricing_2025-09.html").replace(b">MODEL<", b">NAME<")
    assert "MODEL row" in str(parse_error(body))


def test_page_without_the_pricing_table_is_a_parse_error():
    body = b"<html><body><h1>Models &amp; Pricing</h1><p>Page moved.</p></body></html>"
    assert "no pricing table" in str(parse_error(body))
