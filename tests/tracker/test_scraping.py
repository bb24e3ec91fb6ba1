"""Running a source end to end against a real HTTP server on loopback."""

import re
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from scrapers import ADAPTERS
from tests.conftest import FIXTURES
from tracker import scraping
from tracker.ingest import Quote, record
from tracker.models import FxRate, ModelAlias, Payload, PriceSpan, ScrapeRun, Source

pytestmark = pytest.mark.django_db

FIXTURE_PATH = "/genai_prices/v2_small.json"


@pytest.fixture
def sources(db):
    return scraping.ensure_sources()


def test_run_fetches_archives_parses_and_records(sources, http_server):
    run = scraping.run_source("genai_prices", url=http_server + FIXTURE_PATH)
    assert (run.status, run.quotes, run.spans_created) == ("succeeded", 26, 26)
    assert PriceSpan.objects.filter(last_run=run).count() == 26


def test_payload_is_stored_compressed_once_per_content(sources, http_server):
    scraping.run_source("genai_prices", url=http_server + FIXTURE_PATH)
    scraping.run_source("genai_prices", url=http_server + FIXTURE_PATH)
    payload = Payload.objects.get()
    raw = (FIXTURES / "genai_prices" / "v2_small.json").read_bytes()
    assert zlib.decompress(bytes(payload.body)) == raw
    assert ScrapeRun.objects.filter(payload=payload).count() == 2


def test_every_span_traces_back_to_its_run_and_raw_payload(sources, http_server):
    scraping.run_source("genai_prices", url=http_server + FIXTURE_PATH)
    span = PriceSpan.objects.get(offering__provider_model_id="gpt-4o", meter="input")
    assert b'"gpt-4o"' in scraping.payload_bytes(span.first_run.payload)


def test_http_error_fails_the_run_and_asks_for_a_retry(sources, http_server):
    with pytest.raises(scraping.TransientError, match="HTTP 503"):
        scraping.run_source("genai_prices", url=http_server + "/status/503")
    run = ScrapeRun.objects.get()
    assert (run.status, "HTTP 503" in run.error) == ("failed", True)


def test_unreachable_server_fails_the_run(sources):
    with pytest.raises(scraping.TransientError):
        scraping.run_source("genai_prices", url="http://127.0.0.1:9/data.json")
    assert ScrapeRun.objects.get().status == "failed"


def test_broken_payload_fails_the_run_and_records_nothing(sources, http_server):
    run = scraping.run_source("genai_prices", url=http_server + "/README.md")
    assert (run.status, PriceSpan.objects.count()) == ("failed", 0)
    assert "not JSON" in run.error
    assert run.payload is not None  # the bytes are kept, to look at and to re-parse later


def test_source_url_set_in_the_admin_is_used(sources, http_server):
    Source.objects.filter(slug="genai_prices").update(url=http_server + FIXTURE_PATH)
    run = scraping.run_source("genai_prices")
    assert (run.status, run.url) == ("succeeded", http_server + FIXTURE_PATH)


def test_due_sources_are_claimed_once(sources):
    now = timezone.now()
    first = scraping.due_sources(now)
    second = scraping.due_sources(now)
    assert (sorted(first), second) == (sorted(ADAPTERS), [])


def test_source_is_due_again_after_its_interval(sources):
    now = timezone.now()
    scraping.due_sources(now)
    assert "ledger" in scraping.due_sources(now + timedelta(days=1, seconds=1))


def test_run_abandoned_by_a_lost_worker_is_marked_failed(sources):
    source = Source.objects.get(slug="ledger")
    long_ago = timezone.now() - timedelta(hours=1)
    run = ScrapeRun.objects.create(
        source=source, trigger="schedule", observed_at=long_ago, started_at=long_ago
    )
    scraping.due_sources(timezone.now())
    run.refresh_from_db()
    assert (run.status, run.error.startswith("worker lost")) == ("failed", True)


def test_scrape_command_prints_a_summary(http_server, capsys, db):
    call_command("scrape", "genai_prices", "--url", http_server + FIXTURE_PATH)
    assert re.match(r"genai_prices: run \d+ succeeded .* 26 quotes", capsys.readouterr().out)


def test_scrape_command_fails_loudly(http_server, db):
    with pytest.raises(CommandError):
        call_command("scrape", "genai_prices", "--url", http_server + "/status/500")


def test_scrape_command_names_unknown_sources(db):
    with pytest.raises(CommandError, match="no adapter for source 'nope'"):
        call_command("scrape", "nope")


def test_ingest_command_records_a_saved_payload_at_its_time(db, capsys):
    path = FIXTURES / "genai_prices" / "v2_small.json"
    call_command("ingest", "genai_prices", str(path), "--observed-at", "2024-09-01T00:00Z")
    span = PriceSpan.objects.get(offering__provider_model_id="gpt-4o", meter="input")
    assert span.valid_from.isoformat() == "2024-09-01T00:00:00+00:00"
    assert "succeeded" in capsys.readouterr().out


def test_ingest_command_needs_a_time_zone(db):
    path = FIXTURES / "genai_prices" / "v2_small.json"
    with pytest.raises(CommandError, match="time zone"):
        call_command("ingest", "genai_prices", str(path), "--observed-at", "2024-09-01T00:00")


def test_seed_loads_the_bundled_data_once(db, capsys):
    call_command("seed")
    spans = PriceSpan.objects.count()
    call_command("seed")
    out = capsys.readouterr().out
    assert (PriceSpan.objects.count(), out.count("already recorded")) == (spans, 2)
    assert spans > 5000
    # The curated aliases are loaded once their models exist (after the ledger and the map).
    assert ModelAlias.objects.filter(auto_created=False).count() > 400


def test_ecb_rates_become_fx_rates_and_convert_cny_prices(sources, http_server):
    run = scraping.run_source("ecb_fx", url=http_server + "/ecb_fx/eurofxref-daily.xml")
    again = scraping.run_source("ecb_fx", url=http_server + "/ecb_fx/eurofxref-daily.xml")
    cny = FxRate.objects.get(currency="CNY")
    assert (run.status, run.spans_created, again.spans_created) == ("succeeded", 4, 0)
    assert cny.per_usd == Decimal("7.2994864839")  # 7.5338 CNY per EUR / 1.0321 USD per EUR
    # DeepSeek's CNY list price, 2 yuan per 1M input tokens, on the next day.
    deepseek = Source.objects.get(slug="deepseek")
    quote = Quote("deepseek", "deepseek-chat", "input", Decimal(2), currency="CNY")
    record(deepseek, [quote], datetime(2025, 1, 3, tzinfo=UTC))
    span = PriceSpan.objects.get(source=deepseek)
    assert (span.usd_per_mtok, span.fx_rate) == (Decimal("0.273991876608"), cny)  # 2 / 7.29948...
