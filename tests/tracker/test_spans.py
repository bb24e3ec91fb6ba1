"""The span algebra on its own, without a database."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.ingest.spans import (
    KeyHistory,
    Observation,
    Span,
    published_timeline,
    transitions,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def t(day: int) -> datetime:
    return T0 + timedelta(days=day)


def obs(price: int, day: int, seen: int | None = None) -> Observation:
    return Observation(price, t(day), t(day if seen is None else seen))


def shape(hist: KeyHistory) -> list[tuple[int, int, int | None]]:
    base = T0
    return [
        (
            s.price,
            (s.valid_from - base).days,
            None if s.valid_to is None else (s.valid_to - base).days,
        )
        for s in hist.spans
    ]


def test_same_price_only_widens_the_span():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    assert hist.observe(obs(5, 3)) == "extended"
    assert shape(hist) == [(5, 0, None)]
    assert hist.spans[0].last_seen_at == t(3)


def test_new_price_ends_the_old_span_where_the_new_one_starts():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    hist.observe(obs(3, 4))
    assert shape(hist) == [(5, 0, 4), (3, 4, None)]


def test_older_observation_of_a_different_price_is_inserted_before():
    hist = KeyHistory([])
    hist.observe(obs(5, 10))
    hist.observe(obs(8, 2, seen=20))
    assert shape(hist) == [(8, 2, 10), (5, 10, None)]


def test_older_observation_of_the_same_price_moves_the_start_back():
    hist = KeyHistory([])
    hist.observe(obs(5, 10))
    hist.observe(obs(5, 2, seen=20))
    assert shape(hist) == [(5, 2, None)]


def test_price_contradicting_later_sightings_is_ignored():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    hist.observe(obs(5, 10))
    assert hist.observe(obs(7, 4, seen=30)) == "ignored"
    assert shape(hist) == [(5, 0, None)]


def test_price_after_the_last_sighting_splits_the_span_there():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    hist.observe(obs(5, 10))
    hist.observe(obs(4, 20))
    hist.observe(obs(7, 12, seen=30))
    assert shape(hist) == [(5, 0, 12), (7, 12, 20), (4, 20, None)]


def test_newer_correction_for_the_same_instant_wins():
    hist = KeyHistory([])
    hist.observe(obs(5, 0, seen=0))
    hist.observe(obs(6, 0, seen=1))
    assert shape(hist) == [(6, 0, None)]


def test_older_statement_for_the_same_instant_is_ignored():
    hist = KeyHistory([])
    hist.observe(obs(6, 0, seen=1))
    assert hist.observe(obs(5, 0, seen=0)) == "ignored"
    assert shape(hist) == [(6, 0, None)]


def test_correction_that_restores_the_earlier_price_merges_the_spans():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    hist.observe(obs(6, 5))
    hist.observe(obs(5, 5, seen=9))  # a correction: it was 5 all along
    assert shape(hist) == [(5, 0, None)]


def test_close_ends_the_open_span():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    assert hist.close(t(3))
    assert shape(hist) == [(5, 0, 3)]
    assert not hist.close(t(4))


def test_price_reappearing_after_a_gap_opens_a_new_span():
    hist = KeyHistory([])
    hist.observe(obs(5, 0))
    hist.close(t(3))
    hist.observe(obs(5, 6))
    assert shape(hist) == [(5, 0, 3), (5, 6, None)]


def _span(price: int, start: int, end: int | None) -> Span:
    return Span(price, t(start), None if end is None else t(end), t(start), t(start), t(start))


def test_published_price_is_the_most_authoritative_sources():
    page = ((10, "page"), _span(4, 5, None))
    map_ = ((20, "map"), _span(5, 0, None))
    timeline = published_timeline([page, map_])
    assert [(s.price, (s.start - T0).days) for s in timeline] == [(5, 0), (4, 5)]


def test_same_price_from_another_source_is_no_transition():
    timeline = published_timeline([((10, "a"), _span(5, 5, None)), ((20, "b"), _span(5, 0, None))])
    assert [(step.old, step.new) for step in transitions(timeline)] == [(None, 5)]


def test_transitions_include_vanishing_and_reappearing():
    timeline = published_timeline([((10, "a"), _span(5, 0, 3)), ((10, "a"), _span(6, 5, None))])
    steps = [(step.old, step.new, (step.at - T0).days) for step in transitions(timeline)]
    assert steps == [(None, 5, 0), (5, None, 3), (None, 6, 5)]


@pytest.mark.parametrize("end", [None, 4])
def test_a_lone_span_is_published_from_start_to_end(end):
    span = _span(5, 1, end)
    (segment,) = published_timeline([((10, "a"), span)])
    assert (segment.start, segment.end, segment.price) == (t(1), span.valid_to, 5)
    assert segment.span is span
    steps = [(step.old, step.new, step.at) for step in transitions([segment])]
    assert steps == [(None, 5, t(1))] + ([] if end is None else [(5, None, t(4))])


observations = st.lists(
    st.tuples(st.integers(1, 3), st.integers(0, 30), st.integers(0, 40)), max_size=25
)


def _check(hist: KeyHistory) -> None:
    spans = hist.spans
    assert sum(1 for s in spans if s.valid_to is None) <= 1
    for a, b in itertools.pairwise(spans):
        assert a.valid_to is not None and a.valid_to <= b.valid_from
        assert not (a.valid_to == b.valid_from and a.price == b.price), "unmerged neighbours"
    for s in spans:
        assert s.valid_to is None or s.valid_from < s.valid_to


@settings(max_examples=300, deadline=None)
@given(observations)
def test_any_sequence_keeps_spans_disjoint_sorted_and_merged(seq):
    hist = KeyHistory([])
    for price, day, seen in seq:
        hist.observe(obs(price, day, seen))
        _check(hist)


@settings(max_examples=300, deadline=None)
@given(observations)
def test_replaying_a_sequence_changes_nothing(seq):
    hist = KeyHistory([])
    for price, day, seen in seq:
        hist.observe(obs(price, day, seen))
    before = shape(hist)
    for price, day, seen in seq:
        hist.observe(obs(price, day, seen))
    assert shape(hist) == before


@settings(max_examples=300, deadline=None)
@given(observations)
def test_in_time_order_every_observation_is_in_force_at_its_time(seq):
    # Recorded in the order they happened (no backfill), each later observation is the truth.
    hist = KeyHistory([])
    ordered = sorted({(day, price) for price, day, _ in seq})
    latest: dict[int, int] = {}
    for day, price in ordered:
        latest[day] = price
    for day, price in sorted(latest.items()):
        hist.observe(obs(price, day, day))
    for day, price in latest.items():
        span = hist.at(t(day))
        assert span is not None and span.price == price
