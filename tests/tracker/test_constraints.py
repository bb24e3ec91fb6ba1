"""The database itself refuses rows that break the model's invariants."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from tests.conftest import at, quote
from tracker.ingest import record
from tracker.models import FxRate, PriceSpan

pytestmark = pytest.mark.django_db


@pytest.fixture
def span(make_source):
    record(make_source(), [quote("2")], at(0))
    return PriceSpan.objects.get()


def _copy(span, **changes):
    values = {
        f.attname: getattr(span, f.attname)
        for f in PriceSpan._meta.concrete_fields
        if not f.primary_key
    }
    return PriceSpan(**(values | changes))


def _refused(row):
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_negative_price_is_refused(span):
    _refused(_copy(span, usd_per_mtok=Decimal(-1), valid_from=at(5)))


def test_second_open_span_for_a_key_is_refused(span):
    _refused(_copy(span, valid_from=at(5)))


def test_span_ending_before_it_starts_is_refused(span):
    _refused(_copy(span, valid_from=at(5), valid_to=at(4)))


def test_unknown_meter_is_refused(span):
    _refused(_copy(span, meter="vibes", valid_from=at(5), valid_to=at(6)))


def test_overlapping_closed_spans_are_refused_on_postgres(span):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no exclusion constraints; tracker.ingest keeps spans apart there")
    PriceSpan.objects.filter(pk=span.pk).update(valid_to=at(10))
    _refused(_copy(span, valid_from=at(5), valid_to=at(15)))


def test_adjacent_spans_are_allowed(span):
    PriceSpan.objects.filter(pk=span.pk).update(valid_to=at(10))
    _copy(span, valid_from=at(10), valid_to=at(10) + timedelta(days=1)).save()


def test_zero_or_negative_exchange_rate_is_refused(db):
    _refused(FxRate(date=at(0).date(), currency="CNY", per_usd=Decimal(0)))
