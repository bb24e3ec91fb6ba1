"""The home page and the spans CSV export, from recorded data."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from tests.conftest import at, quote
from tracker.ingest import Quote, record
from tracker.models import Source

pytestmark = pytest.mark.django_db

HEADER = (
    "source,provider,provider_model_id,model,meter,tier,usd_per_mtok,original_amount,"
    "original_currency,original_unit,valid_from,valid_to,first_seen_at,last_seen_at"
)


@pytest.fixture
def recorded(make_source):
    ledger = make_source("ledger", priority=30, kind=Source.Kind.LEDGER)
    record(
        ledger,
        [
            Quote("openai", "gpt-4o", "input", Decimal(5), model_name="GPT-4o", valid_from=at(0)),
            Quote("openai", "gpt-4o", "output", Decimal(15), model_name="GPT-4o", valid_from=at(0)),
            Quote("openai", "gpt-4o", "input", Decimal("2.5"), valid_from=at(10)),
            Quote("openai", "gpt-4o", "output", Decimal(10), valid_from=at(10)),
        ],
        at(20),
    )
    cheap = make_source("map", priority=20)
    record(cheap, [quote("0.1"), quote("0.00000040", meter="output", unit="token")], at(20))


def get_csv(client: Client, query: str = ""):
    response = client.get("/export/spans.csv" + query)
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(body)))


def test_home_shows_the_price_chart_and_the_cheapest_offerings(client, recorded):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="price-history-data"' in html and "GPT-4o" in html
    assert "acme" in html  # the cheapest offering's provider, in the table


def test_home_serves_the_basic_plotly_bundle_from_our_static_files(client, recorded):
    html = client.get("/").content.decode()
    assert "vendor/plotly/plotly-basic" in html
    assert "cdn" not in html.lower()


def test_home_works_on_an_empty_database(client, db):
    assert "No prices yet" in client.get("/").content.decode()


def test_spans_csv_has_the_contract_columns_in_order(client, recorded):
    response, rows = get_csv(client)
    assert response["Content-Type"].startswith("text/csv")
    assert ",".join(rows[0]) == HEADER
    assert len(rows) == 1 + 6


def test_spans_csv_writes_plain_decimals_and_utc_timestamps(client, recorded):
    _, rows = get_csv(client, "?source=map&meter=output")
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["usd_per_mtok"], row["original_amount"], row["original_unit"]) == (
        "0.4",
        "0.0000004",
        "token",
    )
    assert row["valid_from"] == "2025-01-21T00:00:00Z" and row["valid_to"] == ""


def test_spans_csv_filters_by_model_and_provider(client, recorded):
    _, rows = get_csv(client, "?provider=openai&model=gpt-4o&meter=input")
    assert [r[6] for r in rows[1:]] == ["5", "2.5"]


def test_spans_csv_refuses_an_unknown_meter_naming_the_parameter(client, recorded):
    response = client.get("/export/spans.csv?meter=tokens")
    assert response.status_code == 400
    assert response.content.decode().startswith("meter:")


def test_cheapest_table_lists_each_model_once_at_its_cheapest_provider(client, make_source):
    src = make_source()
    record(
        src,
        [
            Quote("host-a", "llama", "input", Decimal(1), model="llama-3"),
            Quote("host-a", "llama", "output", Decimal(1), model="llama-3"),
            Quote("host-b", "meta/llama", "input", Decimal("0.5"), model="llama-3"),
            Quote("host-b", "meta/llama", "output", Decimal("0.5"), model="llama-3"),
        ],
        at(0),
    )
    html = client.get("/").content.decode()
    assert "<code>meta/llama</code>" in html and "<code>llama</code>" not in html
