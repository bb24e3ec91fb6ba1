"""The /sources/ page and the raw payloads it links to."""

import pytest

from tracker import scraping

pytestmark = pytest.mark.django_db


@pytest.fixture
def scraped(http_server):
    scraping.ensure_sources()
    return scraping.run_source("genai_prices", url=http_server + "/genai_prices/v2_small.json")


def test_sources_page_lists_each_source_with_its_last_run(client, scraped):
    html = client.get("/sources/").content.decode()
    assert "genai_prices" in html and "succeeded" in html and "bls_cpi" in html
    assert f"/sources/payload/{scraped.payload.sha256}/" in html


def test_failed_run_shows_its_error(client, http_server):
    scraping.ensure_sources()
    scraping.run_source("genai_prices", url=http_server + "/errors/challenge.html")
    assert "not JSON" in client.get("/sources/").content.decode()


def test_raw_payload_is_served_as_inert_text(client, scraped):
    response = client.get(f"/sources/payload/{scraped.payload.sha256}/")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b'"gpt-4o"' in response.content


def test_unknown_payload_is_404(client, db):
    assert client.get("/sources/payload/" + "0" * 64 + "/").status_code == 404
