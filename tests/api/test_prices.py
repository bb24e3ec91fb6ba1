"""Published prices and history: the effective clock (`at`) and the knowledge clock (`as_of`).

The dataset (tests/api/conftest.py): `map` says acme/m1 input costs 10 from day 0 (seen on days
0 and 10); on day 45 a backfill learns it dropped to 8 on day 20. Day 0 is 2025-01-01.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.conftest import get
from tests.conftest import at
from tracker.models import Offering, PriceSpan

pytestmark = pytest.mark.django_db
M1_INPUT = "model=m1&meter=input"


def price(client, query: str) -> list[tuple[str, str]]:
    return [(p["usd_per_mtok"], p["source"]) for p in get(client, f"prices?{query}").data["data"]]


def test_current_price_is_the_most_authoritative_sources(client, dataset):
    # agg says 9.5 too, but map (priority 20) outranks it.
    assert price(client, M1_INPUT) == [("8", "map")]


def test_at_gives_the_price_in_force_then_as_known_now(client, dataset):
    assert price(client, f"{M1_INPUT}&at=2025-01-26") == [("8", "map")]  # day 25
    assert price(client, f"{M1_INPUT}&at=2025-01-16") == [("10", "map")]  # day 15


def test_as_of_gives_what_the_dataset_said_before_the_backfill(client, dataset):
    assert price(client, f"{M1_INPUT}&as_of=2025-02-10") == [("10", "map")]  # day 40


def test_at_and_as_of_together_ask_the_past_about_the_past(client, dataset):
    # Day 25 as known on day 40: the drop on day 20 was not known yet.
    assert price(client, f"{M1_INPUT}&at=2025-01-26&as_of=2025-02-10") == [("10", "map")]
    # ... and as known on day 50, after the backfill.
    assert price(client, f"{M1_INPUT}&at=2025-01-26&as_of=2025-02-20") == [("8", "map")]


def test_as_of_asks_each_source_only_about_its_latest_known_span(client, dataset, make_source):
    # An `edge` source (outranking map) had 1 until day 20, 2 until day 30 (learnt on day 60
    # only) and 3 from day 31 until it delisted the model on day 35. On day 40 its latest known
    # span had ended: no price from it, although its day-0 span's end was not known yet.
    edge = make_source("edge", priority=10)
    offering = Offering.objects.get(provider__slug="acme", provider_model_id="m1")
    for amount, start, end, seen, last in (
        ("1", 0, 20, 0, 19),
        ("2", 20, 30, 60, 60),
        ("3", 30, 35, 31, 34),
    ):
        PriceSpan.objects.create(
            source=edge, offering=offering, meter="input", tier="", usd_per_mtok=Decimal(amount),
            original_amount=Decimal(amount), original_currency="USD", original_unit="1m",
            valid_from=at(start), valid_to=at(end), observed_until=at(last),
            first_seen_at=at(seen), last_seen_at=at(last),
        )  # fmt: skip
    assert price(client, f"{M1_INPUT}&as_of=2025-02-10") == [("10", "map")]  # day 40
    assert price(client, f"{M1_INPUT}&at=2025-02-03&as_of=2025-02-10") == [("3", "edge")]
    assert price(client, f"{M1_INPUT}&at=2025-01-26&as_of=2025-02-10") == [("1", "edge")]


def test_as_of_before_anything_was_seen_is_empty(client, dataset):
    assert price(client, "as_of=2024-12-31") == []


def test_before_the_first_price_there_is_none(client, dataset):
    assert price(client, f"{M1_INPUT}&at=2024-12-01") == []


def test_prices_name_their_tier_and_convert_per_token_prices_exactly(client, dataset):
    rows = get(client, "prices?provider=beta").data["data"]
    assert [(r["meter"], r["tier"], r["usd_per_mtok"]) for r in rows] == [
        ("input", "", "0.15"),
        ("output", "over_200k", "2"),
    ]


def test_an_empty_tier_is_the_base_price(client, dataset):
    rows = get(client, "prices?provider=beta&tier=").data["data"]
    assert [(r["meter"], r["tier"]) for r in rows] == [("input", "")]


def test_prices_echo_the_clocks_asked_for(client, dataset):
    body = get(client, "prices?as_of=2025-02-10").data
    assert body["as_of"] == body["at"] == "2025-02-10T23:59:59.999999Z"
    assert get(client, "prices").data["at"] is None


def spans(client, query: str) -> list[tuple[str, str, str, str | None]]:
    rows = get(client, f"history?{query}").data["data"]
    return [(r["source"], r["usd_per_mtok"], r["valid_from"], r["valid_to"]) for r in rows]


def test_history_lists_every_span_of_the_key_in_time_order(client, dataset):
    assert spans(client, M1_INPUT) == [
        ("map", "10", "2025-01-01T00:00:00Z", "2025-01-21T00:00:00Z"),
        ("agg", "9.5", "2025-01-06T00:00:00Z", None),
        ("map", "8", "2025-01-21T00:00:00Z", None),
    ]


def test_history_as_of_shows_spans_as_they_looked_then(client, dataset):
    # On day 40 the backfilled span was unknown and the span it ended was still open.
    assert spans(client, f"{M1_INPUT}&source=map&as_of=2025-02-10") == [
        ("map", "10", "2025-01-01T00:00:00Z", None),
    ]


def test_history_as_of_hides_sightings_after_that_date(client, dataset):
    row = get(client, f"history?{M1_INPUT}&source=map&as_of=2025-01-05").data["data"][0]
    assert row["first_seen_at"] == "2025-01-01T00:00:00Z" and row["last_seen_at"] is None
    row = get(client, f"history?{M1_INPUT}&source=map&as_of=2025-01-20").data["data"][0]
    assert row["last_seen_at"] == "2025-01-11T00:00:00Z"


def test_history_at_keeps_the_spans_in_force_at_that_instant(client, dataset):
    assert [s[1] for s in spans(client, f"{M1_INPUT}&at=2025-01-16")] == ["10", "9.5"]


def test_history_date_range_keeps_overlapping_spans(client, dataset):
    query = f"{M1_INPUT}&source=map&from=2025-01-25&to=2025-01-30"
    assert [s[1] for s in spans(client, query)] == ["8"]


def test_history_keeps_the_stated_figure_beside_the_usd_price(client, dataset):
    row = get(client, "history?model=m3&meter=input").data["data"][0]
    assert (row["original_amount"], row["original_unit"], row["usd_per_mtok"]) == (
        "0.00000015",
        "token",
        "0.15",
    )


def test_changes_are_newest_first_and_mark_backfills(client, dataset):
    rows = get(client, f"changes?{M1_INPUT}").data["data"]
    assert [(r["kind"], r["old_usd_per_mtok"], r["new_usd_per_mtok"]) for r in rows] == [
        ("changed", "10", "8"),
        ("listed", None, "10"),
    ]
    assert rows[0]["is_backfill"] is True and rows[0]["ratio"] == "0.8"


def test_changes_filter_on_the_effective_date(client, dataset):
    rows = get(client, "changes?from=2025-01-05&to=2025-01-10").data["data"]
    assert {r["model"] for r in rows} == {"m3"}
