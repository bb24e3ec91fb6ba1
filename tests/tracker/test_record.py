"""record(): spans, published prices, held suspicious changes, FX, against the real database."""

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import at, quote
from tracker.ingest import IngestError, Quote, confirm_pending, record
from tracker.models import FxRate, Offering, PendingPrice, PriceChange, PriceSpan, Source

pytestmark = pytest.mark.django_db


def spans(source=None, meter="input"):
    qs = PriceSpan.objects.filter(meter=meter).order_by("valid_from")
    if source is not None:
        qs = qs.filter(source=source)
    return [(s.usd_per_mtok, s.valid_from, s.valid_to) for s in qs]


def changes(meter="input"):
    qs = PriceChange.objects.filter(meter=meter, retracted_at__isnull=True).order_by("changed_at")
    return [(c.kind, c.old_usd_per_mtok, c.new_usd_per_mtok, c.changed_at) for c in qs]


def test_first_quote_opens_a_span_and_lists_the_price(make_source):
    src = make_source()
    record(src, [quote("2.5")], at(0))
    assert spans() == [(Decimal("2.5"), at(0), None)]
    assert changes() == [("listed", None, Decimal("2.5"), at(0))]


def test_same_price_only_moves_last_seen(make_source):
    src = make_source()
    record(src, [quote("2.5")], at(0))
    result = record(src, [quote("2.5")], at(1))
    span = PriceSpan.objects.get()
    assert (span.valid_from, span.last_seen_at, result.spans_extended) == (at(0), at(1), 1)


def test_recording_the_same_quotes_twice_changes_nothing(make_source):
    src = make_source()
    record(src, [quote("2.5"), quote("10", meter="output")], at(0))
    before = list(PriceSpan.objects.values().order_by("pk"))
    result = record(src, [quote("2.5"), quote("10", meter="output")], at(0))
    assert list(PriceSpan.objects.values().order_by("pk")) == before
    assert result.changes == 0


def test_new_price_ends_the_old_span_when_it_is_first_seen(make_source):
    src = make_source()
    record(src, [quote("5")], at(0))
    record(src, [quote("2.5")], at(10))
    assert spans() == [(Decimal(5), at(0), at(10)), (Decimal("2.5"), at(10), None)]
    assert changes()[-1] == ("changed", Decimal(5), Decimal("2.5"), at(10))


def test_stated_effective_date_starts_the_span(make_source):
    src = make_source()
    record(src, [quote("5")], at(0))
    record(src, [quote("2", valid_from=at(4))], at(10))
    assert spans() == [(Decimal(5), at(0), at(4)), (Decimal(2), at(4), None)]
    span = PriceSpan.objects.get(valid_from=at(4))
    assert span.first_seen_at == at(10)  # what we knew when stays answerable


def test_older_observation_recorded_later_keeps_spans_consistent(make_source):
    src = make_source()
    record(src, [quote("2.5")], at(10))
    record(src, [quote("5")], at(2))
    assert spans() == [(Decimal(5), at(2), at(10)), (Decimal("2.5"), at(10), None)]
    assert changes() == [
        ("listed", None, Decimal(5), at(2)),
        ("changed", Decimal(5), Decimal("2.5"), at(10)),
    ]


def test_backfill_retracts_the_event_it_contradicts(make_source):
    src = make_source()
    record(src, [quote("2.5")], at(10))
    record(src, [quote("5")], at(2))
    retracted = PriceChange.objects.get(retracted_at__isnull=False)
    assert (retracted.kind, retracted.changed_at) == ("listed", at(10))


def test_published_price_comes_from_the_most_authoritative_source(make_source):
    page = make_source("page", priority=10)
    aggregator = make_source("aggregator", priority=40)
    record(aggregator, [quote("3")], at(0))
    record(page, [quote("2.5")], at(5))
    assert changes() == [
        ("listed", None, Decimal(3), at(0)),
        ("changed", Decimal(3), Decimal("2.5"), at(5)),
    ]


def test_a_less_authoritative_source_disagreeing_publishes_nothing(make_source):
    page = make_source("page", priority=10)
    aggregator = make_source("aggregator", priority=40)
    record(page, [quote("2.5")], at(0))
    result = record(aggregator, [quote("3")], at(5))
    assert result.changes == 0
    assert len(spans()) == 2


def test_tenfold_jump_is_held_until_a_second_run_confirms_it(make_source):
    src = make_source()
    record(src, [quote("2")], at(0))
    first = record(src, [quote("2000")], at(1))
    assert (first.held, spans()) == (1, [(Decimal(2), at(0), None)])
    second = record(src, [quote("2000")], at(2))
    assert second.confirmed == 1
    assert spans() == [(Decimal(2), at(0), at(1)), (Decimal(2000), at(1), None)]


def test_held_jump_not_seen_again_is_rejected(make_source):
    src = make_source()
    record(src, [quote("2")], at(0))
    record(src, [quote("0.002")], at(1))
    record(src, [quote("2")], at(2))
    pending = PendingPrice.objects.get()
    assert pending.status == PendingPrice.Status.REJECTED
    assert spans() == [(Decimal(2), at(0), None)]


def test_drop_to_zero_is_held(make_source):
    src = make_source()
    record(src, [quote("2")], at(0))
    result = record(src, [quote("0")], at(1))
    assert (result.held, PendingPrice.objects.get().kind) == (1, "zero")


def test_held_price_never_creates_a_price_change(make_source):
    src = make_source()
    record(src, [quote("2")], at(0))
    record(src, [quote("2000")], at(1))
    assert [kind for kind, *_ in changes()] == ["listed"]


def test_operator_confirms_a_held_price(make_source):
    src = make_source()
    record(src, [quote("2")], at(0))
    record(src, [quote("2000")], at(1))
    result = confirm_pending(PendingPrice.objects.get().pk)
    assert result.changes == 1
    assert spans()[-1] == (Decimal(2000), at(1), None)


def test_price_vanishing_from_a_complete_listing_closes_after_a_second_run(make_source):
    src = make_source()
    record(src, [quote("2", model="a"), quote("3", model="b")], at(0), complete=True)
    record(src, [quote("2", model="a")], at(1), complete=True)
    assert PriceSpan.objects.filter(valid_to__isnull=True).count() == 2  # held, not closed
    record(src, [quote("2", model="a")], at(2), complete=True)
    closed = PriceSpan.objects.get(offering__provider_model_id="b")
    assert closed.valid_to == at(1)
    assert changes()[-1] == ("delisted", Decimal(3), None, at(1))


def test_listing_that_drops_most_prices_is_refused(make_source):
    src = make_source()
    record(src, [quote("1", model=f"m{i}") for i in range(12)], at(0), complete=True)
    with pytest.raises(IngestError, match="lacks 12 of 12"):
        record(src, [quote("1", model="other")], at(1), complete=True)
    assert PendingPrice.objects.count() == 0


def test_two_prices_for_one_instant_in_one_call_are_refused(make_source):
    src = make_source()
    with pytest.raises(IngestError, match="two prices"):
        record(src, [quote("1"), quote("2")], at(0))
    assert PriceSpan.objects.count() == 0


def test_cny_price_is_converted_with_the_nearest_earlier_rate(make_source):
    src = make_source()
    FxRate.objects.create(date=date(2024, 12, 30), currency="CNY", per_usd=Decimal("7.2"))
    FxRate.objects.create(date=date(2025, 1, 5), currency="CNY", per_usd=Decimal("7.0"))
    record(src, [quote("2", currency="CNY")], at(2))
    span = PriceSpan.objects.get()
    assert span.usd_per_mtok == (Decimal(2) / Decimal("7.2")).quantize(Decimal("1E-12"))
    assert (span.original_amount, span.original_currency, span.fx_rate.date) == (
        Decimal(2),
        "CNY",
        date(2024, 12, 30),
    )


def test_cny_price_unchanged_when_the_rate_moves_keeps_its_span(make_source):
    src = make_source()
    FxRate.objects.create(date=date(2024, 12, 30), currency="CNY", per_usd=Decimal("7.2"))
    record(src, [quote("2", currency="CNY")], at(2))
    FxRate.objects.create(date=date(2025, 1, 5), currency="CNY", per_usd=Decimal("7.0"))
    result = record(src, [quote("2", currency="CNY")], at(6))
    assert (result.spans_created, PriceSpan.objects.count()) == (0, 1)


def test_a_held_cny_price_confirmed_by_an_operator_keeps_its_exchange_rate(make_source):
    """The span links to the rate its USD figure was converted with, as a recorded one does."""
    src = make_source()
    FxRate.objects.create(date=date(2024, 12, 30), currency="CNY", per_usd=Decimal("7.2"))
    record(src, [quote("2", currency="CNY")], at(2))
    FxRate.objects.create(date=date(2025, 1, 5), currency="CNY", per_usd=Decimal("7.0"))
    assert record(src, [quote("70", currency="CNY")], at(6)).held == 1
    confirm_pending(PendingPrice.objects.get().pk)
    span = PriceSpan.objects.get(valid_to__isnull=True)
    assert (span.original_amount, span.fx_rate.date) == (Decimal(70), date(2025, 1, 5))
    assert span.usd_per_mtok == Decimal(10)


def test_price_without_an_exchange_rate_is_skipped_with_a_warning(make_source):
    src = make_source()
    result = record(src, [quote("2", currency="EUR")], at(0))
    assert result.skipped == 1
    assert "no EUR exchange rate" in result.warnings[0]


def test_per_token_price_is_normalised_to_per_million(make_source):
    src = make_source()
    record(src, [quote("0.00000015", unit="token")], at(0))
    span = PriceSpan.objects.get()
    assert (span.usd_per_mtok, span.original_amount, span.original_unit) == (
        Decimal("0.15"),
        Decimal("0.00000015"),
        "token",
    )


def test_unknown_offering_is_created_and_marked_auto_discovered(make_source):
    src = make_source()
    q = Quote(
        provider="newco",
        provider_model_id="newco/Shiny-7B:free",
        meter="input",
        amount=Decimal(1),
        creator="newlab",
    )
    record(src, [q], at(0))
    offering = Offering.objects.select_related("model", "provider").get()
    assert (offering.auto_discovered, offering.model.slug, offering.model.creator.slug) == (
        True,
        "shiny-7b",
        "newlab",
    )


def test_ledger_entries_are_not_marked_auto_discovered(make_source):
    src = make_source("ledger", kind=Source.Kind.LEDGER)
    record(src, [quote("1")], at(0))
    assert Offering.objects.get().auto_discovered is False


def test_changes_learnt_long_after_they_happened_are_marked_backfill(make_source):
    src = make_source()
    record(src, [quote("5", valid_from=at(0))], at(30))
    assert PriceChange.objects.get().is_backfill is True


def test_live_change_is_not_backfill(make_source):
    src = make_source()
    record(src, [quote("5")], at(0))
    record(src, [quote("4")], at(1))
    assert PriceChange.objects.get(kind="changed").is_backfill is False
