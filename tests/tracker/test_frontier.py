"""The frontier: cheapest blended price at a capability level, its fit, and price vs capability."""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import at, quote
from tracker import frontier
from tracker.frontier import Blend, FrontierStep
from tracker.ingest import record
from tracker.models import CapabilityScore, LanguageModel, Offering


def test_blend_parses_and_weighs():
    blend = Blend.parse(" 3:1 ")
    assert blend == Blend(3, 1)
    assert str(blend) == "3:1"
    assert blend.price(Decimal(1), Decimal(5)) == Decimal(2)
    assert Blend.parse("0:1").price(Decimal(1), Decimal(5)) == Decimal(5)


@pytest.mark.parametrize("text", ["3", "3:1:1", "a:b", "-1:2", "0:0", "101:1", ""])
def test_blend_rejects_nonsense_with_a_clear_message(text):
    with pytest.raises(ValueError, match="blend"):
        Blend.parse(text)


def d(days: float) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=days)


def test_blend_steps_need_both_meters_and_skip_free():
    inp = [(d(0), d(10), Decimal(4)), (d(10), None, Decimal(2))]
    out = [(d(5), d(20), Decimal(8)), (d(20), None, Decimal(0))]
    assert frontier.blend_steps(inp, out, Blend()) == [
        (d(5), d(10), Decimal(5)),
        (d(10), d(20), Decimal("3.5")),
    ]


def test_cheapest_over_time_hands_over_and_merges():
    histories = {
        1: [(d(0), d(30), Decimal(10)), (d(30), None, Decimal(10))],  # unchanged: one step
        2: [(d(10), d(20), Decimal(5))],  # cheaper for a while
        3: [(d(25), None, Decimal(10))],  # ties with 1: lowest key keeps it
    }
    assert frontier.cheapest_over_time(histories) == [
        (d(0), d(10), Decimal(10), 1),
        (d(10), d(20), Decimal(5), 2),
        (d(20), None, Decimal(10), 1),
    ]


def test_cheapest_over_time_ends_when_nothing_is_priced():
    histories = {1: [(d(0), d(5), Decimal(3))], 2: [(d(10), d(12), Decimal(4))]}
    assert frontier.cheapest_over_time(histories) == [
        (d(0), d(5), Decimal(3), 1),
        (d(10), d(12), Decimal(4), 2),
    ]


steps_strategy = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 20), st.integers(0, 9)), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(1, 5), steps_strategy, max_size=5))
def test_cheapest_over_time_equals_brute_force(raw):
    histories: dict[int, list[frontier.Step]] = {}
    for key, items in raw.items():
        steps, cursor = [], 0
        for gap, length, price in items:  # non-overlapping steps per key
            start = cursor + gap
            steps.append((d(start), d(start + length), Decimal(price)))
            cursor = start + length
        if steps:
            histories[key] = steps
    result = frontier.cheapest_over_time(histories)
    for day in range(0, 200):
        when = d(day + 0.5)
        live = [
            (price, key)
            for key, steps in histories.items()
            for start, end, price in steps
            if start <= when and (end is None or when < end)
        ]
        got = [(p, k) for s, e, p, k in result if s <= when and (e is None or when < e)]
        assert got == ([min(live)] if live else [])


@pytest.fixture
def priced(make_source):
    """Three models: a strong dear one, a strong one that gets cheap, and a weak cheap one."""
    source = make_source("map", priority=20)

    def prices(model, inp, out):
        return [quote(inp, model=model), quote(out, model=model, meter="output")]

    record(source, prices("big", "30", "60") + prices("weak", "0.5", "1.5"), at(0))
    record(
        source,
        prices("big", "30", "60") + prices("weak", "0.5", "1.5") + prices("new", "3", "15"),
        at(100),
    )
    record(
        source,
        prices("big", "30", "60") + prices("weak", "0.5", "1.5") + prices("new", "1", "3"),
        at(400),
    )
    scores = {"big": "87", "new": "88", "weak": "60"}
    for slug, value in scores.items():
        model = Offering.objects.get(provider_model_id=slug).model
        CapabilityScore.objects.create(
            model=model, benchmark="mmlu", score=Decimal(value), source="t"
        )
    return source


@pytest.mark.django_db
def test_frontier_is_the_cheapest_qualifying_offering_over_time(priced):
    steps = frontier.frontier("mmlu", Decimal("86.4"))
    assert [(s.start, s.end, s.usd_per_mtok, s.label) for s in steps] == [
        (at(0), at(100), Decimal("37.5"), "big"),
        (at(100), at(400), Decimal("6"), "new"),
        (at(400), None, Decimal("1.5"), "new"),
    ]
    assert frontier.frontier("mmlu", Decimal("99")) == []
    # The weak model joins at a lower level and is cheapest throughout.
    assert {s.label for s in frontier.frontier("mmlu", Decimal("50"))} == {"weak"}


@pytest.mark.django_db
def test_frontier_clips_and_answers_at_a_date(priced):
    clipped = frontier.frontier("mmlu", Decimal("86.4"), start=at(50), end=at(200))
    assert [(s.start, s.end) for s in clipped] == [(at(50), at(100)), (at(100), at(200))]
    step = frontier.frontier_at("mmlu", Decimal("86.4"), Blend(1, 0), at(150))
    assert step is not None and step.usd_per_mtok == Decimal(3)
    pair = frontier.factor_since("mmlu", Decimal("86.4"), None, at(401), years=1)
    assert pair is not None
    assert pair[0].usd_per_mtok / pair[1].usd_per_mtok == Decimal(25)


@pytest.mark.django_db
def test_benchmarks_list_levels(priced):
    (info,) = frontier.benchmarks()
    assert (info.slug, info.models, info.min, info.max) == ("mmlu", 3, Decimal(60), Decimal(88))
    assert info.default_threshold == Decimal("86.4")  # GPT-4's score: a named level
    assert info.label.startswith("MMLU")


@pytest.mark.django_db
def test_pareto_flags_models_nothing_beats(priced):
    points = frontier.pareto(at(500), "mmlu")
    assert [(p.label, p.usd_per_mtok, p.on_frontier) for p in points] == [
        ("weak", Decimal("0.75"), True),
        ("new", Decimal("1.5"), True),
        ("big", Decimal("37.5"), False),  # dearer and weaker than "new"
    ]
    before = frontier.pareto(at(50), "mmlu")
    assert [p.label for p in before if p.on_frontier] == ["weak", "big"]


def step(days, price):
    return FrontierStep(d(days), None, Decimal(price), 1, 1, "m")


def test_fit_recovers_a_known_rate():
    # Ten times cheaper each year, sampled every quarter, still in force at the end.
    steps = [step(365.25 * q / 4, 100 * 10 ** (-q / 4)) for q in range(9)]
    steps = [
        FrontierStep(
            s.start, steps[i + 1].start if i + 1 < len(steps) else None, s.usd_per_mtok, 1, 1, "m"
        )
        for i, s in enumerate(steps)
    ]
    result = frontier.fit(steps, now=steps[-1].start)
    assert result is not None
    assert result.factor_per_year == pytest.approx(10, rel=1e-6)
    assert result.ci_low == pytest.approx(10, rel=1e-6)  # a perfect fit: no spread
    assert result.halving_days == pytest.approx(365.25 * math.log(2) / math.log(10), rel=1e-6)
    assert result.annual_change == pytest.approx(-0.9)


def test_fit_counts_a_flat_stretch_and_gives_an_interval():
    steps = [
        FrontierStep(d(0), d(365), Decimal(10), 1, 1, "m"),
        FrontierStep(d(365), d(730), Decimal(1), 1, 1, "m"),
    ]
    flat = frontier.fit(steps, now=d(3000))
    assert flat is not None and flat.points == 3 and flat.end == d(730)
    steps[-1] = FrontierStep(d(365), None, Decimal(1), 1, 1, "m")
    longer = frontier.fit(steps, now=d(3000))
    assert longer is not None
    assert longer.factor_per_year < flat.factor_per_year  # years at one price slow the trend
    assert longer.ci_low is not None and longer.ci_high is not None
    assert longer.ci_low < longer.factor_per_year < longer.ci_high


def test_fit_needs_two_instants():
    assert frontier.fit([], now=d(0)) is None
    assert frontier.fit([FrontierStep(d(0), None, Decimal(1), 1, 1, "m")], now=d(0)) is None


@pytest.mark.django_db
def test_a_model_scored_by_two_sources_counts_its_best_score(priced):
    model = LanguageModel.objects.get(offerings__provider_model_id="weak")
    CapabilityScore.objects.create(model=model, benchmark="mmlu", score=Decimal(90), source="u")
    assert frontier.qualifying_models("mmlu", Decimal(89)) == {model.pk: Decimal(90)}


def _as_steps(items):
    steps, cursor = [], 0
    for gap, length, price in items:  # sorted, non-overlapping, some free
        start = cursor + gap
        steps.append((d(start), d(start + length), Decimal(price)))
        cursor = start + length
    return steps


@settings(max_examples=300, deadline=None)
@given(steps_strategy, steps_strategy)
def test_blend_steps_equals_pointwise_blend(raw_in, raw_out):
    inp, out = _as_steps(raw_in), _as_steps(raw_out)
    blended = frontier.blend_steps(inp, out, Blend(3, 1))

    def at(steps, when):
        return next((p for s, e, p in steps if s <= when and (e is None or when < e)), None)

    for day in range(0, 160):
        when = d(day + 0.5)
        i, o = at(inp, when), at(out, when)
        want = (3 * i + o) / 4 if i and o else None  # free (0) or missing: not priced
        assert at(blended, when) == want
