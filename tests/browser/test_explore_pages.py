"""The exploration pages in a real browser: charts drawn, permalinks, CSV = chart, the live
workload calculator, JS off, phones. Data: the bundled ledger (see tests/browser/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, shot
from tests.browser.test_story_pages import csv_rows, names, traces

pytestmark = pytest.mark.browser

COMPARE = "/compare/?o=deepseek/deepseek-chat,anthropic/claude-3-5-haiku-latest"
PAGES = {
    "models": ("/models/", []),
    "model": ("/models/deepseek-chat/", ["prices", "sources"]),
    "providers": ("/providers/", []),
    "provider": ("/providers/anthropic/", ["prices"]),
    "compare": (COMPARE, ["prices", "workload"]),
    "changes": ("/changes/", []),
    "methodology": ("/methodology/", []),
}


def assert_csv_equals_steps(page: Any, plot_id: str, value_column: str) -> None:
    """Every CSV row is a step the chart drew: its start and value are a point of its trace,
    and every trace is in the CSV."""
    drawn = {
        trace["name"]: {(x, y) for x, y in zip(trace["x"], trace["y"], strict=True) if x}
        for trace in traces(page, plot_id)
    }
    rows = csv_rows(page, plot_id)
    assert rows
    named = {}
    for row in rows:
        first, second = list(row.values())[:2]
        name = f"{first} · {second}" if f"{first} · {second}" in drawn else first
        named.setdefault(name, set()).add((row["from"], float(row[value_column])))
    assert set(named) == set(drawn)
    for name, points in named.items():
        assert points <= drawn[name], name


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_and_draws_its_charts(browser_page, site, name):
    path, plots = PAGES[name]
    browser_page.goto(site + path)
    for plot_id in plots:
        assert traces(browser_page, plot_id), plot_id
    assert browser_page.locator("main table tbody tr").count() > 0
    shot(browser_page, f"explore-{name}-desktop")


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_phone(open_page, site, name):
    page = open_page(viewport=PHONE)
    path, plots = PAGES[name]
    page.goto(site + path)
    for plot_id in plots:
        traces(page, plot_id)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px"
    shot(page, f"explore-{name}-375")


def test_model_page_draws_a_line_per_seller_and_meter(browser_page, site):
    browser_page.goto(site + "/models/deepseek-chat/")
    drawn = names(browser_page, "prices")
    assert "DeepSeek · input" in drawn and "DeepSeek · output" in drawn
    steps = next(t for t in traces(browser_page, "prices") if t["name"] == "DeepSeek · input")
    assert len({y for y in steps["y"] if y is not None}) > 1, "the price changed over time"


def test_model_csv_equals_the_drawn_steps(browser_page, site):
    browser_page.goto(site + "/models/deepseek-chat/")
    assert_csv_equals_steps(browser_page, "prices", "usd_per_mtok")


def test_model_scale_and_meters_are_a_permalink(browser_page, site):
    browser_page.goto(site + "/models/deepseek-chat/")
    traces(browser_page, "prices")
    browser_page.check("input[name=meter][value=cache_read]")
    browser_page.click("form[aria-label='Meters and tier'] button[type=submit]")
    browser_page.wait_for_url("**meter=input,output,cache_read**")
    browser_page.select_option("#figure-prices select[name=scale]", "linear")
    browser_page.wait_for_url("**scale=linear**")
    browser_page.goto(browser_page.url)
    assert browser_page.is_checked("input[name=meter][value=cache_read]")
    assert "DeepSeek · cache_read" in names(browser_page, "prices")
    layout = "document.getElementById('prices').layout.yaxis.type"
    assert browser_page.evaluate(layout) == "linear"


def test_compare_draws_both_offerings_and_their_workload(browser_page, site):
    browser_page.goto(site + COMPARE)
    assert names(browser_page, "prices") == [
        "DeepSeek-V2 (deepseek-chat)",
        "Claude 3.5 Haiku",
    ]
    assert len(names(browser_page, "workload")) == 2
    assert_csv_equals_steps(browser_page, "workload", "usd_per_month")
    assert_csv_equals_steps(browser_page, "prices", "usd_per_mtok")


def test_compare_recomputes_as_you_type_and_keeps_it_in_the_url(browser_page, site):
    browser_page.goto(site + COMPARE)
    before = max(y for t in traces(browser_page, "workload") for y in t["y"] if y is not None)
    browser_page.fill("#id_tokens", "1000000000")
    browser_page.wait_for_url("**tokens=1000000000**")
    browser_page.wait_for_function(
        "document.querySelector('#figure-workload h2').textContent.includes('1,000,000,000')"
    )
    after = max(y for t in traces(browser_page, "workload") for y in t["y"] if y is not None)
    assert after == pytest.approx(before * 10)
    browser_page.goto(browser_page.url)
    assert browser_page.input_value("#id_tokens") == "1000000000"


def test_compare_notes_the_fallback_for_an_unpriced_meter(browser_page, site):
    browser_page.goto(site + COMPARE + "&reasoning=20")
    assert "no reasoning price" in browser_page.inner_text("main")


def test_compare_picker_finds_offerings_as_you_type(browser_page, site):
    browser_page.goto(site + COMPARE)
    browser_page.fill("#id_q", "gpt-4o")
    browser_page.wait_for_selector(".picker a:has-text('Add GPT-4o')")
    browser_page.click(".picker a:has-text('Add GPT-4o') >> nth=0")
    browser_page.wait_for_load_state()
    assert len(names(browser_page, "workload")) == 3


def test_provider_metric_switch_is_a_permalink(browser_page, site):
    browser_page.goto(site + "/providers/anthropic/")
    traces(browser_page, "prices")
    browser_page.select_option("#id_metric", "output")
    browser_page.wait_for_url("**metric=output**")
    browser_page.wait_for_function(
        "document.querySelector('#figure-prices h2').textContent.includes('output')"
    )
    assert {row["metric"] for row in csv_rows(browser_page, "prices")} == {"output"}


def test_changes_filters_and_feed_link(browser_page, site):
    browser_page.goto(site + "/changes/?provider=deepseek&direction=down")
    rows = browser_page.locator("table.changes tbody tr")
    assert rows.count() > 0 and all("DeepSeek" in t for t in rows.all_inner_texts())
    feed = browser_page.get_attribute("link[rel=alternate][type='application/atom+xml']", "href")
    assert feed == "/changes.atom?provider=deepseek&direction=down"
    assert browser_page.request.get(site + feed).ok


@pytest.mark.parametrize("name", ["model", "compare", "provider"])
def test_with_javascript_off_the_tables_are_shown(open_page, site, name):
    page = open_page(javascript=False)
    path, plots = PAGES[name]
    page.goto(site + path)
    for plot_id in plots:
        table = page.locator(f'[data-table-for="{plot_id}"] table')
        assert table.is_visible() and table.locator("tbody tr").count() > 0
    shot(page, f"explore-{name}-nojs")


def test_without_javascript_the_calculator_form_still_works(open_page, site):
    page = open_page(javascript=False)
    page.goto(site + COMPARE)
    page.fill("#id_tokens", "5000")
    page.click("#compare-form button:has-text('Update')")
    page.wait_for_url("**tokens=5000**")
    assert "5,000 tokens a month" in page.inner_text("#figure-workload h2")


def test_embed_of_the_model_chart_draws_only_it(browser_page, site):
    response = browser_page.goto(site + "/embed/models/deepseek-chat/?chart=sources")
    assert "x-frame-options" not in response.headers
    assert traces(browser_page, "sources")
    assert browser_page.locator(".plot").count() == 1
