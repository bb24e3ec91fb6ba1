"""The remaining pages in a real browser: sources, downloads and releases, alerts, API docs.
They hold tables and forms, no charts: each opens without a console error, has its heading,
and fits a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, shot

pytestmark = pytest.mark.browser

PAGES = {
    "sources": "/sources/",
    "data": "/data/",
    "alerts": "/alerts/",
    "api-docs": "/api/v1/docs/",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_opens_with_its_heading(browser_page, site, name):
    response = browser_page.goto(site + PAGES[name])
    assert response is not None and response.status == 200
    assert browser_page.locator("h1").first.inner_text().strip()
    shot(browser_page, f"other-{name}-desktop")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_phone(open_page, site, name):
    page = open_page(viewport=PHONE)
    page.goto(site + PAGES[name])
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at 375 px"
    shot(page, f"other-{name}-375")
