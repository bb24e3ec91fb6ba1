"""bench/synthetic.py, which every benchmark fills its database with: it must hold the same
invariants as real data, or the benchmarks measure something else."""

import itertools
from collections import defaultdict

import pytest
from django.utils import timezone

from bench.synthetic import build
from dashboard import exports
from dashboard.filters import Filters
from tracker.ingest.record import resync_published
from tracker.models import (
    CapabilityScore,
    LanguageModel,
    ModelAlias,
    Offering,
    Payload,
    PriceChange,
    PriceSpan,
    Provider,
    ScrapeRun,
    Series,
    SeriesPoint,
    Source,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(db):
    return build(providers=5, models=20, offerings=60, spans=1500, seed=3)


def test_it_writes_the_counts_asked_for(built):
    assert (Provider.objects.count(), LanguageModel.objects.count()) == (5, 20)
    assert (Offering.objects.count(), PriceSpan.objects.count()) == (60, 1500)
    assert built.changes == PriceChange.objects.count() > 0
    assert ModelAlias.objects.count() == 20 and CapabilityScore.objects.exists()
    assert SeriesPoint.objects.filter(series__in=Series.objects.all()).count() > 100


def test_spans_of_a_key_never_overlap_and_at_most_one_is_open(built):
    by_key = defaultdict(list)
    for row in PriceSpan.objects.values_list(
        "source_id", "offering_id", "meter", "tier", "valid_from", "valid_to"
    ):
        by_key[row[:4]].append(row[4:])
    for spans in by_key.values():
        spans.sort()
        assert sum(end is None for _, end in spans) <= 1
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end <= start


def test_price_changes_are_exactly_what_ingest_derives_from_the_spans(built):
    keys = set(PriceSpan.objects.values_list("offering_id", "meter", "tier").distinct())
    live = PriceChange.objects.filter(retracted_at__isnull=True).count()
    assert resync_published(keys, timezone.now()) == []
    assert PriceChange.objects.filter(retracted_at__isnull=True).count() == live
    assert PriceChange.objects.filter(retracted_at__isnull=False).exists()


def test_sources_have_distinct_priorities_and_every_span_traces_to_a_payload(built):
    priorities = list(Source.objects.values_list("priority", flat=True))
    assert len(set(priorities)) == len(priorities) >= 3
    runs = ScrapeRun.objects.filter(payload__isnull=False)
    assert not PriceSpan.objects.exclude(first_run__in=runs).exists()
    assert not PriceSpan.objects.exclude(last_run__in=runs).exists()


def test_the_same_seed_gives_the_same_data(built):
    first = b"".join(exports.csv_chunks(exports.SPANS, Filters(), exports.today()))
    for model in (PriceChange, PriceSpan, Offering, ModelAlias, CapabilityScore, LanguageModel,
                  Provider, ScrapeRun, Payload, SeriesPoint, Series, Source):  # fmt: skip
        model.objects.all().delete()
    build(providers=5, models=20, offerings=60, spans=1500, seed=3)
    assert b"".join(exports.csv_chunks(exports.SPANS, Filters(), exports.today())) == first


def test_it_refuses_to_build_twice(built):
    with pytest.raises(ValueError, match="already holds"):
        build(providers=5, models=20, offerings=60, spans=1500, seed=3)


def test_new_rows_after_it_get_fresh_ids(built):
    provider = Provider.objects.create(slug="after", name="After")
    assert provider.pk > 5
