"""The bulk paths under record(): plain-value inserts, converted reads, array lookups, and the
span run references the database does not check."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.conftest import at, quote
from tracker.db import value_rows
from tracker.ingest import record
from tracker.ingest.record import insert_new, insert_rows
from tracker.models import (
    LanguageModel,
    Offering,
    PriceChange,
    PriceSpan,
    Provider,
    ScrapeRun,
    Source,
)

pytestmark = pytest.mark.django_db


def test_insert_new_fills_defaults_like_the_orm():
    insert_new(Provider, [{"slug": "acme", "name": "Acme"}])
    acme = Provider.objects.get(slug="acme")
    assert (acme.website, acme.is_reseller, acme.auto_discovered) == ("", False, False)
    assert acme.created_at is not None


def test_insert_new_skips_rows_another_transaction_created_meanwhile():
    Provider.objects.create(slug="taken", name="First")
    insert_new(
        Provider,
        [{"slug": "fresh", "name": "Fresh"}, {"slug": "taken", "name": "Second"}],
    )
    names = dict(Provider.objects.values_list("slug", "name"))
    assert names == {"taken": "First", "fresh": "Fresh"}


def test_insert_rows_raises_djangos_integrity_error_and_writes_nothing():
    Provider.objects.create(slug="taken", name="First")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(
            Provider,
            ["slug", "name", "website", "is_reseller", "auto_discovered", "created_at"],
            [
                ("fresh", "Fresh", "", False, False, at(0)),
                ("taken", "Again", "", False, False, at(0)),
            ],
        )
    assert list(Provider.objects.values_list("slug", flat=True)) == ["taken"]


def test_insert_rows_takes_a_plain_column_whose_name_ends_in_id():
    acme = Provider.objects.create(slug="acme", name="Acme")
    model = LanguageModel.objects.create(slug="m1", name="M1")
    row = {"provider_id": acme.pk, "model_id": model.pk, "provider_model_id": "x/1"}
    insert_new(Offering, [row])
    assert Offering.objects.get().provider_model_id == "x/1"


def test_value_rows_equal_the_querysets_own_rows(make_source):
    source = make_source()
    record(source, [quote("0.15"), quote("0.15", model="m2"), quote("60", meter="output")], at(0))
    record(source, [quote("0.075"), quote("0.15", model="m2"), quote("60", meter="output")], at(3))
    queryset = PriceSpan.objects.order_by("pk").values_list(
        "pk", "usd_per_mtok", "original_amount", "valid_from", "valid_to", "last_seen_at", "meter"
    )
    rows = value_rows(queryset)
    assert rows == list(queryset)
    assert len(rows) == 4
    assert {type(row[1]) for row in rows} == {Decimal}
    assert {row[3].tzinfo for row in rows} == {UTC}


def test_value_rows_of_an_empty_queryset():
    assert value_rows(PriceSpan.objects.none().values_list("pk")) == []
    assert value_rows(PriceSpan.objects.values_list("pk", "valid_from")) == []


def test_anyof_finds_by_integer_ids_and_by_id_strings(make_source):
    source = make_source()
    record(source, [quote("1"), quote("2", model="m2"), quote("3", model="m3")], at(0))
    ids = sorted(Offering.objects.values_list("pk", flat=True))
    by_id = Offering.objects.filter(pk__anyof=ids[:2]).values_list("pk", flat=True)
    assert sorted(by_id) == ids[:2]
    by_text = Offering.objects.filter(pk__anyof=[str(ids[2])]).values_list("pk", flat=True)
    assert list(by_text) == [ids[2]]
    spans = PriceSpan.objects.filter(offering__anyof=ids[1:]).count()
    assert spans == 2


def test_deleting_a_run_through_the_orm_clears_the_spans_references(make_source):
    source = make_source()
    when = datetime(2026, 1, 1, tzinfo=UTC)
    run = ScrapeRun.objects.create(source=source, started_at=when, observed_at=when)
    record(source, [quote("1")], when, run=run)
    assert PriceSpan.objects.filter(first_run=run, last_run=run).count() == 1
    assert PriceChange.objects.filter(run=run).count() == 1
    run.delete()
    span = PriceSpan.objects.get()
    assert (span.first_run_id, span.last_run_id) == (None, None)
    assert PriceChange.objects.get().run_id is None


@pytest.mark.parametrize(
    "name",
    ["tab\there", "two\nlines\r\n", "back\\slash", "\\N", "", "naïve ☃", "'quoted' \"too\""],
)
def test_insert_rows_keeps_every_character_of_a_text(name):
    insert_new(Provider, [{"slug": "odd", "name": name}, {"slug": "plain", "name": "Plain"}])
    assert dict(Provider.objects.values_list("slug", "name")) == {"odd": name, "plain": "Plain"}


def test_insert_rows_keeps_exact_decimals_booleans_dates_and_nulls():
    insert_new(
        LanguageModel,
        [
            {"slug": "a", "name": "A", "release_date": date(2024, 5, 13), "open_weights": True},
            {"slug": "b", "name": "B", "release_date": None, "open_weights": False},
            {"slug": "c", "name": "C", "release_date": None, "open_weights": None},
        ],
    )
    got = list(LanguageModel.objects.order_by("slug").values_list("release_date", "open_weights"))
    assert got == [(date(2024, 5, 13), True), (None, False), (None, None)]
    source = Source.objects.create(slug="s", name="s", kind="curated_map", interval=timedelta(1))
    record(source, [quote("0.000000000001"), quote("1E+3", model="m2")], at(0))
    assert sorted(PriceSpan.objects.values_list("usd_per_mtok", flat=True)) == [
        Decimal("0.000000000001"),
        Decimal(1000),
    ]


def test_convert_columns_converts_each_distinct_value_of_a_column_once():
    from tracker.db import convert_columns

    calls = []

    def shout(value):
        calls.append(value)
        return str(value).upper()

    rows = [("a", 1, "x"), ("b", 1, "x"), ("a", 2, None)]
    assert convert_columns(rows, [shout, None, shout]) == [
        ("A", 1, "X"),
        ("B", 1, "X"),
        ("A", 2, "NONE"),
    ]
    assert sorted(map(repr, calls)) == ["'a'", "'b'", "'x'", "None"]
