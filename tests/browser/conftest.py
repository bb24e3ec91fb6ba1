"""Real-browser tests: Debian's chromium driven by Playwright against a live server.

Fixtures: `site` (base URL of a live server loaded with the demo data: the bundled ledger, the
analogy series and the capability scores), `browser_page` (a Playwright page that fails the test
on any console error or uncaught exception, and refuses every request off the live server) and
`shot` (writes var/screenshots/<name>.png). `make browser` installs chromium.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls that load the data and
# the live server thread are still synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def load_demo_data() -> None:
    """The fast path of `manage.py seed`: the ledger, the analogies and the scores, without the
    big genai-prices map."""
    from scrapers import ledger
    from tracker import analogies, identity, scores, scraping
    from tracker.models import ScrapeRun

    analogies.load_bundled()
    scraping.ensure_sources()
    run = scraping.run_source(
        ledger.SLUG, trigger=ScrapeRun.Trigger.SEED, url=ledger.URL, body=ledger.PATH.read_bytes()
    )
    assert run.status == ScrapeRun.Status.SUCCEEDED, run.error
    identity.load_aliases()
    scores.load()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def site(live_server: Any, transactional_db: None) -> str:
    load_demo_data()
    return str(live_server.url)


def _open_page(browser: Any, site: str, *, viewport: dict[str, int], javascript: bool) -> Any:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    page = context.new_page()
    page.errors = []  # console errors and uncaught exceptions, checked after the test

    def on_console(message: Any) -> None:
        if message.type == "error":
            page.errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.errors.append(f"page error: {error}"))
    # Nothing may come from elsewhere (no CDN, no fonts, no analytics).
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(site) else route.abort(),
    )
    return page


@pytest.fixture
def browser_page(browser: Any, site: str) -> Iterator[Any]:
    """A desktop-sized page with JavaScript on; the test fails on any console error."""
    page = _open_page(browser, site, viewport=DESKTOP, javascript=True)
    yield page
    errors = list(page.errors)
    page.context.close()
    assert not errors, "\n".join(errors)


@pytest.fixture
def open_page(browser: Any, site: str) -> Iterator[Callable[..., Any]]:
    """Another page, e.g. at phone width or with JavaScript off; checked like browser_page."""
    pages: list[Any] = []

    def make(*, viewport: dict[str, int] = DESKTOP, javascript: bool = True) -> Any:
        pages.append(_open_page(browser, site, viewport=viewport, javascript=javascript))
        return pages[-1]

    yield make
    errors = [error for page in pages for error in page.errors]
    for page in pages:
        page.context.close()
    assert not errors, "\n".join(errors)


def traces(page: Any, plot_id: str) -> list[dict[str, Any]]:
    """The traces Plotly drew into the element `plot_id` (waits until it has): name, x, y,
    text of each."""
    page.wait_for_function("id => document.getElementById(id)?.data", arg=plot_id)
    drawn: list[dict[str, Any]] = page.evaluate(
        "id => document.getElementById(id).data.map(t => ({name: t.name, x: t.x, y: t.y,"
        " text: t.text}))",
        plot_id,
    )
    return drawn


def names(page: Any, plot_id: str) -> list[str]:
    """The names of the traces drawn into `plot_id`."""
    return [trace["name"] for trace in traces(page, plot_id)]


def check_phone_page(page: Any, url: str, plots: list[str], name: str) -> None:
    """Open `url` on a phone-sized page: every plot draws, nothing scrolls sideways; a
    screenshot goes to var/screenshots/<name>.png."""
    page.goto(url)
    for plot_id in plots:
        traces(page, plot_id)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{url} scrolls sideways: {width}px"
    shot(page, name)


def check_tables_without_js(page: Any, url: str, plots: list[str], name: str) -> None:
    """Open `url` on a page with JavaScript off: each chart's data table is shown, with rows,
    and its plot hidden; a screenshot goes to var/screenshots/<name>.png."""
    page.goto(url)
    for plot_id in plots:
        table = page.locator(f'[data-table-for="{plot_id}"] table')
        assert table.is_visible() and table.locator("tbody tr").count() > 0, plot_id
        assert not page.locator(f"#{plot_id}").is_visible(), plot_id
    shot(page, name)


def shot(page: Any, name: str) -> Path:
    """Write a full-page screenshot to var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(name="shot")
def shot_fixture() -> Callable[[Any, str], Path]:
    return shot
