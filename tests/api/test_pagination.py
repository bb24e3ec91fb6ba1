"""Keyset pagination: a walk through the pages returns every row exactly once, in order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.conftest import get, walk
from tests.conftest import at, quote
from tracker.ingest import record
from tracker.models import Meter, PriceChange, PriceSpan

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(make_source):
    """Two sources pricing the same 12 models' input and output at the same instants (ties in
    every time column), then a price change of half of them."""
    first, second = make_source("first", priority=10), make_source("second", priority=20)
    for source, base in ((first, 1), (second, 2)):
        quotes = [
            quote(str(base + i), model=f"m{i:02}", meter=meter)
            for i in range(12)
            for meter in (Meter.INPUT, Meter.OUTPUT)
        ]
        record(source, quotes, at(0))
    record(first, [quote(str(Decimal(i) / 2), model=f"m{i:02}") for i in range(0, 12, 2)], at(5))


@pytest.mark.parametrize("limit", [1, 2, 7])
@pytest.mark.parametrize("endpoint", ["history", "changes", "prices", "offerings", "models"])
def test_walking_the_pages_returns_every_row_once(client, many, endpoint, limit):
    everything = get(client, f"{endpoint}?limit=1000").data["data"]
    walked = walk(client, f"{endpoint}?limit={limit}")
    assert walked == everything
    assert len({str(row) for row in walked}) == len(walked)


def test_the_walk_covers_the_tables(client, many):
    assert len(walk(client, "history?limit=5")) == PriceSpan.objects.count()
    assert (
        len(walk(client, "changes?limit=5"))
        == PriceChange.objects.filter(retracted_at__isnull=True).count()
    )
    assert len(walk(client, "prices?limit=5")) == 24  # 12 offerings x 2 meters


def test_published_prices_page_by_key_and_keep_the_best_source(client, many):
    rows = walk(client, "prices?limit=3&meter=input")
    assert [r["model"] for r in rows] == [f"m{i:02}" for i in range(12)]
    assert {r["source"] for r in rows} == {"first"}


def test_filters_hold_across_pages(client, many):
    rows = walk(client, "history?limit=2&source=second&meter=output")
    assert len(rows) == 12 and {(r["source"], r["meter"]) for r in rows} == {("second", "output")}


def test_the_next_page_is_in_the_body_and_the_link_header(client, many):
    response = get(client, "history?limit=2&meter=input")
    assert response["Link"] == f'<{response.data["next"]}>; rel="next"'
    assert "meter=input" in response.data["next"] and "cursor=" in response.data["next"]


def test_the_last_page_has_no_next(client, many):
    response = get(client, "history?limit=1000")
    assert response.data["next"] is None and "Link" not in response


def test_a_cursor_from_another_endpoint_is_refused(client, many):
    cursor = get(client, "changes?limit=1").data["next"].split("cursor=")[1]
    response = get(client, f"history?cursor={cursor}")
    assert response.status_code == 400 and response.data["parameter"] == "cursor"


def test_rows_added_behind_the_walk_do_not_shift_it(client, many, make_source):
    first = get(client, "offerings?limit=5").data
    record(make_source("third", priority=30), [quote("1", model="zz-late")], at(9))
    rest = walk(client, first["next"].removeprefix("http://testserver/api/v1/"))
    ids = [r["id"] for r in first["data"] + rest]
    assert ids == sorted(set(ids)) and len(ids) == 13
