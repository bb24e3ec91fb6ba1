"""The story pages in a real browser: charts drawn, permalinks, CSV = chart, JS off, phones."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.browser.conftest import (
    PHONE,
    check_phone_page,
    check_tables_without_js,
    names,
    shot,
    traces,
)

pytestmark = pytest.mark.browser

PAGES = {
    "home": ("/", ["frontier", "aluminium", "price-history"]),
    "frontier": ("/frontier/", ["frontier"]),
    "capability": ("/capability/", ["capability"]),
    "analogies": ("/analogies/", ["analogies", "rates"]),
}


def csv_rows(page: Any, plot_id: str) -> list[dict[str, str]]:
    """Follow the chart's own CSV link, as a reader would."""
    href = page.get_attribute(f"#figure-{plot_id} a[download]", "href")
    response = page.request.get(page.url.split("?")[0] + href)
    assert response.ok and "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text())))


@pytest.mark.parametrize("name", list(PAGES))
def test_every_chart_of_the_page_is_drawn(browser_page, site, name):
    path, plots = PAGES[name]
    browser_page.goto(site + path)
    for plot_id in plots:
        assert traces(browser_page, plot_id), plot_id
    shot(browser_page, f"story-{name}-desktop")


def test_frontier_draws_the_step_line_its_models_and_the_fit(browser_page, site):
    browser_page.goto(site + "/frontier/")
    drawn = names(browser_page, "frontier")
    assert drawn[0].startswith("Cheapest price at MMLU")
    assert drawn[1] == "Model on the frontier"
    assert drawn[2].startswith("Fitted decline")
    assert "GPT-4" in " ".join(traces(browser_page, "frontier")[1]["text"])


def test_home_shows_headlines_with_their_levels_defined(browser_page, site):
    browser_page.goto(site + "/")
    headlines = browser_page.locator(".headline").all_inner_texts()
    assert any("less than two years ago" in text for text in headlines)
    assert len(headlines) >= 3 and all("Level: MMLU" in text for text in headlines)
    assert names(browser_page, "aluminium") == [
        "LLM tokens at MMLU (5-shot, %) \N{GREATER-THAN OR EQUAL TO} 86.4",
        "Aluminium price (US)",
    ]


def test_capability_draws_models_and_the_pareto_frontier(browser_page, site):
    browser_page.goto(site + "/capability/")
    assert names(browser_page, "capability") == ["Other models", "Pareto frontier"]


def test_frontier_csv_equals_the_drawn_steps(browser_page, site):
    browser_page.goto(site + "/frontier/?benchmark=mmlu&threshold=80")
    line = traces(browser_page, "frontier")[0]
    drawn = {x.replace("+00:00", "Z"): y for x, y in zip(line["x"], line["y"], strict=True) if x}
    rows = csv_rows(browser_page, "frontier")
    assert rows, "the level has a frontier"
    assert {row["from"]: float(row["usd_per_mtok"]) for row in rows} == {
        row["from"]: drawn[row["from"]] for row in rows
    }


def test_capability_csv_equals_the_drawn_points(browser_page, site):
    browser_page.goto(site + "/capability/?date=2024-06-01")
    drawn = {
        (round(x, 9), y)
        for trace in traces(browser_page, "capability")
        for x, y in zip(trace["x"], trace["y"], strict=True)
    }
    rows = csv_rows(browser_page, "capability")
    assert {(round(float(r["usd_per_mtok"]), 9), float(r["score"])) for r in rows} == drawn


def test_a_changed_control_is_a_permalink(browser_page, site):
    browser_page.goto(site + "/frontier/")
    browser_page.select_option("#id_benchmark", "gpqa_diamond")
    browser_page.wait_for_url("**benchmark=gpqa_diamond**")
    browser_page.wait_for_function(
        "document.querySelector('#figure-frontier h2').textContent.includes('GPQA')"
    )
    browser_page.select_option("#figure-frontier select[name=scale]", "linear")
    browser_page.wait_for_url("**scale=linear**")
    permalink = browser_page.url
    browser_page.goto(permalink)
    assert browser_page.input_value("#id_benchmark") == "gpqa_diamond"
    assert browser_page.input_value("#figure-frontier select[name=scale]") == "linear"
    traces(browser_page, "frontier")
    assert browser_page.evaluate("document.getElementById('frontier').layout.yaxis.type") == (
        "linear"
    )


def test_events_toggle_hides_the_annotations_and_stays_in_the_url(browser_page, site):
    browser_page.goto(site + "/frontier/")
    traces(browser_page, "frontier")
    browser_page.uncheck("#figure-frontier input[type=checkbox][name=events]")
    browser_page.wait_for_url("**events=0**")
    visible = "document.getElementById('frontier').layout.shapes.map(s => s.visible)"
    assert set(browser_page.evaluate(visible)) == {False}
    browser_page.goto(browser_page.url)
    traces(browser_page, "frontier")
    assert set(browser_page.evaluate(visible)) == {False}


def test_the_date_slider_moves_the_scatter_and_the_url(browser_page, site):
    browser_page.goto(site + "/capability/")
    before = browser_page.inner_text("#figure-capability h2")
    browser_page.focus("#id_date")
    browser_page.keyboard.press("Home")  # the first day with a price
    browser_page.wait_for_url("**date=20**")
    browser_page.wait_for_function(
        "before => document.querySelector('#figure-capability h2').textContent !== before",
        arg=before,
    )
    date = browser_page.url.split("date=")[1][:10]
    browser_page.goto(browser_page.url)
    assert browser_page.inner_text("#id_date-value") == date


def test_embed_draws_only_its_chart(browser_page, site):
    response = browser_page.goto(site + "/embed/analogies/?chart=rates")
    assert "x-frame-options" not in response.headers
    assert names(browser_page, "rates") == ["Times cheaper per year"]
    assert browser_page.locator(".plot").count() == 1


@pytest.mark.parametrize("name", list(PAGES))
def test_with_javascript_off_the_tables_are_shown(open_page, site, name):
    path, plots = PAGES[name]
    check_tables_without_js(open_page(javascript=False), site + path, plots, f"story-{name}-nojs")


def test_without_javascript_the_form_still_changes_the_state(open_page, site):
    page = open_page(javascript=False)
    page.goto(site + "/frontier/")
    page.select_option("#id_benchmark", "gpqa_diamond")
    page.fill("#id_threshold", "0.5")
    page.click("form.state button[type=submit]")
    page.wait_for_url("**benchmark=gpqa_diamond**")
    assert "GPQA" in page.inner_text("#figure-frontier h2")


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_phone(open_page, site, name):
    path, plots = PAGES[name]
    check_phone_page(open_page(viewport=PHONE), site + path, plots, f"story-{name}-375")


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_chart_downloads_as_an_image(browser_page, site, kind):
    browser_page.goto(site + "/frontier/")
    traces(browser_page, "frontier")
    with browser_page.expect_download() as download:
        browser_page.click(f'#figure-frontier [data-download="{kind}"]')
    assert download.value.suggested_filename == f"frontier-frontier.{kind}"
