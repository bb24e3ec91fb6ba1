"""The bundled ledger: every row parses, cites a source, and holds the facts it claims."""

import csv
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scrapers import ledger
from scrapers.base import Fetched, ParseError


def parse(body: bytes):
    return ledger.parse(Fetched(body, ledger.URL, datetime(2026, 11, 23, tzinfo=UTC)))


def test_the_bundled_ledger_parses():
    result = parse(ledger.PATH.read_bytes())
    assert len(result.quotes) > 200


def test_every_row_cites_a_source():
    with ledger.PATH.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert all(len(row["source"].strip()) > 10 for row in rows)


@pytest.mark.parametrize(
    ("model_id", "day", "input_price"),
    [
        ("o3", "2025-06-10", Decimal(2)),  # OpenAI's 80 % cut
        ("gpt-4", "2023-03-14", Decimal(30)),
        ("gpt-4o-mini", "2024-07-18", Decimal("0.15")),
    ],
)
def test_ledger_holds_well_known_price_points(model_id, day, input_price):
    result = parse(ledger.PATH.read_bytes())
    when = datetime.fromisoformat(day).replace(tzinfo=UTC)
    matches = [
        q.amount
        for q in result.quotes
        if q.provider_model_id == model_id and q.meter == "input" and q.valid_from == when
    ]
    assert matches == [input_price]


def test_row_without_a_source_is_refused_with_its_line():
    header = ",".join(ledger.COLUMNS)
    body = f"{header}\nopenai,gpt-x,gpt-x,GPT X,openai,,2025-01-01,1,2,,\n".encode()
    with pytest.raises(ParseError, match="line 2: no source cited"):
        parse(body)


def test_wrong_columns_are_refused():
    with pytest.raises(ParseError, match="expected columns"):
        parse(b"model,price\ngpt,1\n")


@pytest.mark.django_db
def test_sellers_get_their_names_even_where_they_also_make_the_model(make_source):
    from tracker.ingest import record
    from tracker.models import Provider

    quotes = [q for q in parse(ledger.PATH.read_bytes()).quotes if q.provider == "openai"][:2]
    assert quotes and all(q.creator == "openai" for q in quotes)
    record(make_source("ledger"), quotes, datetime(2026, 1, 1, tzinfo=UTC))
    assert Provider.objects.get(slug="openai").name == "OpenAI"
