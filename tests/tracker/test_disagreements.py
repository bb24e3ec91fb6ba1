"""Sources that report the same offering and disagree by more than 1 % are recorded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.conftest import quote
from tracker.ingest import record
from tracker.models import PriceDisagreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sources(make_source):
    return make_source("page", priority=10), make_source("map", priority=40)


def now(minutes=0):
    return timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)


def test_a_difference_over_one_percent_is_recorded(two_sources):
    page, aggregator = two_sources
    record(page, [quote("2.50")], now())
    record(aggregator, [quote("3.00")], now(1))
    row = PriceDisagreement.objects.get()
    assert (row.source.slug, row.published_source.slug, row.difference) == (
        "map",
        "page",
        Decimal("0.2"),
    )


def test_a_difference_of_one_percent_or_less_is_not(two_sources):
    page, aggregator = two_sources
    record(page, [quote("2.50")], now())
    record(aggregator, [quote("2.52")], now(1))
    assert not PriceDisagreement.objects.exists()


def test_the_disagreement_is_resolved_when_the_sources_agree_again(two_sources):
    page, aggregator = two_sources
    record(page, [quote("2.50")], now())
    record(aggregator, [quote("3.00")], now(1))
    record(aggregator, [quote("2.50")], now(2))
    assert PriceDisagreement.objects.get().resolved_at is not None


def test_disagreements_are_listed_in_the_admin(client, two_sources):
    page, aggregator = two_sources
    record(page, [quote("2.50")], now())
    record(aggregator, [quote("3.00")], now(1))
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    html = client.get("/admin/tracker/pricedisagreement/").content.decode()
    assert "acme/m1" in html and "0.200000" in html
