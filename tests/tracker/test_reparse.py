"""Re-deriving history from archived payloads after a parser fix."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from scrapers import genai_prices
from tests.conftest import FIXTURES
from tracker import scraping
from tracker.models import PriceChange, PriceSpan

pytestmark = pytest.mark.django_db

BODY = (FIXTURES / "genai_prices" / "v2_small.json").read_bytes()


def gpt4o_input():
    return PriceSpan.objects.get(offering__provider_model_id="gpt-4o", meter="input").usd_per_mtok


@pytest.fixture
def buggy_history(monkeypatch, db):
    """History recorded by a parser that read every price ten times too high."""
    scraping.ensure_sources()
    real_parse = genai_prices.parse

    def buggy(fetched):
        parsed = real_parse(fetched)
        parsed.quotes = [
            q.__class__(**{**q.__dict__, "amount": q.amount * 10}) for q in parsed.quotes
        ]
        return parsed

    monkeypatch.setattr(genai_prices, "parse", buggy)
    scraping.run_source("genai_prices", trigger="ingest", body=BODY, url="x")
    monkeypatch.setattr(genai_prices, "parse", real_parse)


def test_rebuild_re_derives_spans_from_the_archived_payloads(buggy_history):
    assert gpt4o_input() == Decimal(25)
    call_command("reparse", "genai_prices", "--rebuild")
    assert gpt4o_input() == Decimal("2.5")


def test_rebuild_retracts_the_events_of_the_wrong_prices(buggy_history):
    call_command("reparse", "genai_prices", "--rebuild")
    live = PriceChange.objects.filter(
        offering__provider_model_id="gpt-4o", meter="input", retracted_at__isnull=True
    )
    assert [c.new_usd_per_mtok for c in live] == [Decimal("2.5")]


def test_reparse_without_rebuild_only_adds(db, capsys):
    scraping.ensure_sources()
    scraping.run_source("genai_prices", trigger="ingest", body=BODY, url="x")
    PriceSpan.objects.filter(meter="output").delete()  # what an old parser missed
    call_command("reparse", "genai_prices")
    assert PriceSpan.objects.filter(meter="output").count() == 8
    assert "1 payloads parsed again, 0 failed" in capsys.readouterr().out
