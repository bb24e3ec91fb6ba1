"""Matching published changes to rules: every target and condition, once per change, quiet
after a notification, and never for a held, retracted or backfilled change."""

from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.alerts.conftest import offering
from tests.conftest import at
from tracker.alerts import matching, tasks
from tracker.alerts.models import Rule
from tracker.ingest.record import confirm_pending
from tracker.models import CapabilityScore, LanguageModel, PendingPrice, PriceChange, Provider

pytestmark = pytest.mark.django_db
BASE = {
    ("acme", "m1", "input"): "2",
    ("acme", "m1", "output"): "8",
    ("beta", "m1", "input"): "3",
    ("beta", "m1", "output"): "9",
    ("acme", "m2", "input"): "5",
    ("acme", "m2", "output"): "10",
}


@pytest.fixture
def market(publish):
    publish(BASE, at(0))
    return publish


@pytest.fixture
def m1_rule(make_rule):
    """A rule on model m1 at any provider."""
    return functools.partial(make_rule, target="model", model="m1")


def fired(rule: Rule) -> list[str]:
    return list(rule.notifications.order_by("pk").values_list("detail", flat=True))


def test_below_fires_when_the_meter_crosses_the_threshold(m1_rule, market):
    rule = m1_rule(condition="below", meter="input", threshold_usd=Decimal("1.8"))
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert fired(rule) == ["input price fell below $1.8: $2 → $1.5"]


def test_below_does_not_fire_again_while_already_below(m1_rule, market):
    rule = m1_rule(
        condition="below", meter="input", threshold_usd=Decimal("1.8"), every_change=True
    )
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    matching.match(market({("acme", "m1", "input"): "1.2"}, at(2)))
    assert len(fired(rule)) == 1


def test_below_on_the_blended_price(market, make_rule):
    # acme m1 blended 3:1 goes from (3*2+8)/4 = 3.5 to (3*1.5+8)/4 = 3.125
    rule = make_rule(
        target="offering",
        offering=offering("acme", "m1"),
        condition="below",
        meter="blended",
        threshold_usd=Decimal("3.2"),
    )
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert fired(rule) == ["blended 3:1 price fell below $3.2: $3.5 → $3.125"]


def test_a_blended_move_of_both_meters_at_once_fires_once(m1_rule, market):
    rule = m1_rule(condition="drop", meter="blended", percent=Decimal(10), every_change=True)
    ids = market({("acme", "m1", "input"): "1", ("acme", "m1", "output"): "4"}, at(1))
    assert len(ids) == 2
    matching.match(ids)
    assert fired(rule) == ["blended 3:1 price dropped 50.0 %: $3.5 → $1.75"]


def test_custom_blend_weights(m1_rule, market):
    rule = m1_rule(
        condition="below",
        meter="blended",
        blend_input=1,
        blend_output=1,
        threshold_usd=Decimal("4.9"),
    )
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert fired(rule) == ["blended 1:1 price fell below $4.9: $5 → $4.75"]


@pytest.mark.parametrize(("percent", "fires"), [("25", True), ("25.1", False)])
def test_drop_by_at_least_n_percent(m1_rule, market, make_rule, percent, fires):
    rule = m1_rule(condition="drop", meter="input", percent=Decimal(percent))
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert bool(fired(rule)) is fires


def test_any_change_includes_increases(m1_rule, market):
    rule = m1_rule(condition="any", meter="any")
    matching.match(market({("acme", "m1", "output"): "9.5"}, at(1)))
    assert fired(rule) == ["output price rose $8 → $9.5"]


def test_new_all_time_low_only_below_every_earlier_price(market, make_rule):
    rule = make_rule(
        target="offering",
        offering=offering("acme", "m1"),
        condition="low",
        meter="input",
        every_change=True,
    )
    for day, price in [(1, "1"), (2, "1.5"), (3, "1.2"), (4, "0.9")]:
        matching.match(market({("acme", "m1", "input"): price}, at(day)))
    assert fired(rule) == [
        "input price at an all-time low: $1 (previous low $2)",
        "input price at an all-time low: $0.9 (previous low $1)",
    ]


def test_cheaper_provider_appears(m1_rule, market):
    rule = m1_rule(condition="cheaper", meter="input")
    matching.match(market({("beta", "m1", "input"): "2.5"}, at(1)))  # still dearer than acme
    matching.match(market({("beta", "m1", "input"): "1.8"}, at(2)))
    assert fired(rule) == ["cheapest input price is now $1.8 here (was $2 elsewhere)"]


def test_the_cheapest_provider_getting_cheaper_is_not_a_new_provider(m1_rule, market):
    rule = m1_rule(condition="cheaper", meter="blended")
    matching.match(market({("acme", "m1", "input"): "1"}, at(1)))
    assert fired(rule) == []


def test_delisted_confirmed_by_an_operator_fires_through_the_hook(
    m1_rule, publish, make_rule, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued: list[str] = []
    monkeypatch.setattr(tasks.deliver, "delay", lambda: enqueued.append("deliver"))
    # A held price confirmed now is live news only if it took effect within the last day.
    now = timezone.now()
    publish(BASE, now - timedelta(hours=3))
    rule = m1_rule(condition="delisted", meter="any")
    listing = {k: v for k, v in BASE.items() if k[:2] != ("beta", "m1")}
    assert publish(listing, now - timedelta(hours=2), complete=True) == []  # held
    held = PendingPrice.objects.filter(status="pending")
    assert held.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        for pending in held.order_by("meter"):
            confirm_pending(pending.pk)
    sent = rule.notifications.filter(status="pending").values_list("detail", flat=True)
    assert list(sent) == ["input price no longer listed (was $3)"]
    assert enqueued == ["deliver", "deliver"]


@pytest.mark.parametrize(
    ("target", "fires"),
    [("provider-acme", True), ("provider-beta", False), ("all", True), ("offering-beta", False)],
)
def test_targets(market, make_rule, target, fires):
    kind, _, ref = target.partition("-")
    fields = {"target": kind, "condition": "any", "meter": "any"}
    if kind == "provider":
        fields["provider"] = Provider.objects.get(slug=ref)
    if kind == "offering":
        fields["offering"] = offering(ref, "m1")
    rule = make_rule(**fields)
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert bool(fired(rule)) is fires


def test_capability_level_targets_models_at_or_above_the_score(market, make_rule):
    for slug, score in [("m1", "80"), ("m2", "60")]:
        CapabilityScore.objects.create(
            model=LanguageModel.objects.get(slug=slug),
            benchmark="mmlu",
            score=Decimal(score),
            source="t",
        )
    rule = make_rule(
        target="capability",
        benchmark="mmlu",
        min_score=Decimal(70),
        condition="any",
        meter="any",
        every_change=True,
    )
    matching.match(market({("acme", "m1", "input"): "1.5", ("acme", "m2", "input"): "4"}, at(1)))
    assert [d.split(" ")[0] for d in fired(rule)] == ["input"]
    assert rule.notifications.get().change.offering.model.slug == "m1"


def test_never_twice_for_the_same_change(market, make_rule):
    rule = make_rule(target="all", condition="drop", meter="input", percent=1, every_change=True)
    ids = market({("acme", "m1", "input"): "1.5"}, at(1))
    matching.match(ids)
    matching.match(ids)
    matching.match_unmatched()
    assert rule.notifications.count() == 1


def test_retracted_and_backfilled_changes_never_fire(market, make_rule):
    rule = make_rule(target="all", condition="any", meter="any", every_change=True)
    ids = market({("acme", "m1", "input"): "1.5", ("acme", "m2", "input"): "4"}, at(1))
    PriceChange.objects.filter(pk=ids[0]).update(retracted_at=timezone.now())
    PriceChange.objects.filter(pk=ids[1]).update(is_backfill=True)
    matching.match(ids)
    assert fired(rule) == []


@pytest.mark.parametrize("state", ["paused", "unconfirmed", "unsubscribed"])
def test_inactive_rules_never_fire(market, make_rule, state):
    rule = make_rule(target="all", condition="any", meter="any")
    if state == "paused":
        Rule.objects.filter(pk=rule.pk).update(paused=True)
    elif state == "unconfirmed":
        Rule.objects.filter(pk=rule.pk).update(confirmed_at=None)
    else:
        rule.subscriber.unsubscribed_at = timezone.now()
        rule.subscriber.save()
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert fired(rule) == []


def test_a_flapping_price_notifies_once_per_24_hours(m1_rule, market):
    rule = m1_rule(condition="any", meter="input")
    start = timezone.now()
    for hours, price in [(0, "1.5"), (6, "2"), (12, "1.5")]:
        ids = market({("acme", "m1", "input"): price}, at(1 + hours / 24))
        matching.match(ids, now=start + timedelta(hours=hours))
    statuses = list(rule.notifications.order_by("pk").values_list("status", flat=True))
    assert statuses == ["pending", "suppressed", "suppressed"]


def test_the_quiet_period_ends_after_24_hours(m1_rule, market):
    rule = m1_rule(condition="any", meter="input")
    Rule.objects.filter(pk=rule.pk).update(
        last_notified_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert list(rule.notifications.values_list("status", flat=True)) == ["pending"]


def test_every_change_opts_out_of_the_quiet_period(m1_rule, market):
    rule = m1_rule(condition="any", meter="input", every_change=True)
    for day, price in [(1, "1.5"), (1.1, "2"), (1.2, "1.5")]:
        matching.match(market({("acme", "m1", "input"): price}, at(day)))
    assert set(rule.notifications.values_list("status", flat=True)) == {"pending"}
    assert rule.notifications.count() == 3


def test_digest_rules_collect_every_match(m1_rule, market):
    rule = m1_rule(condition="any", meter="input", delivery="digest")
    for day, price in [(1, "1.5"), (1.1, "2")]:
        matching.match(market({("acme", "m1", "input"): price}, at(day)))
    assert list(rule.notifications.values_list("status", "digest")) == [("pending", True)] * 2


def test_feed_only_rules_are_recorded_as_sent(market, make_rule):
    rule = make_rule(target="all", condition="any", meter="any", channel="feed")
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    assert list(rule.notifications.values_list("status", flat=True)) == ["sent"]


def test_the_sweeper_matches_changes_the_hook_never_saw(market, make_rule):
    rule = make_rule(target="all", condition="drop", meter="input", percent=1, every_change=True)
    market({("acme", "m1", "input"): "1.5"}, at(1))  # no hook ran
    assert matching.match_unmatched() == 7  # the 6 listings and the change
    assert rule.notifications.count() == 1
    assert matching.match_unmatched() == 0


def test_changes_detected_more_than_a_day_ago_are_history_not_news(market, make_rule):
    rule = make_rule(target="all", condition="drop", meter="input", percent=1)
    ids = market({("acme", "m1", "input"): "1.5"}, at(1))
    matching.match(ids, now=timezone.now() + timedelta(days=2))
    assert fired(rule) == []


@pytest.fixture
def level_rule(make_rule):
    """A rule on the models scoring at least 70 on mmlu, blended 3:1."""
    return functools.partial(
        make_rule, target="capability", benchmark="mmlu", min_score=Decimal(70), meter="blended"
    )


@pytest.fixture
def scored(market):
    for slug, score in [("m1", "80"), ("m2", "60")]:
        CapabilityScore.objects.create(
            model=LanguageModel.objects.get(slug=slug),
            benchmark="mmlu",
            score=Decimal(score),
            source="t",
        )
    return market


@pytest.mark.parametrize(("percent", "fires"), [("21", True), ("22", False)])
def test_frontier_falls_by_n_percent(scored, level_rule, percent, fires):
    # m1 (mmlu 80) is cheapest at acme, blended 3.5; acme input 2 -> 1 makes it 2.75 (-21.4 %)
    rule = level_rule(condition="frontier_drop", percent=Decimal(percent))
    matching.match(scored({("acme", "m1", "input"): "1"}, at(1)))
    assert fired(rule) == (
        ["cheapest model with mmlu ≥ 70 fell 21.4 %: $3.5 → $2.75"] if fires else []
    )


def test_frontier_falls_below_a_price(scored, level_rule):
    rule = level_rule(condition="frontier_below", threshold_usd=Decimal(3))
    matching.match(scored({("acme", "m1", "input"): "1"}, at(1)))
    assert fired(rule) == ["cheapest model with mmlu ≥ 70 fell below $3: $3.5 → $2.75"]


def test_a_change_off_the_frontier_does_not_move_it(scored, level_rule):
    rule = level_rule(condition="frontier_drop", percent=Decimal(1))
    matching.match(scored({("beta", "m1", "input"): "2.5"}, at(1)))  # beta stays dearer
    assert fired(rule) == []


def test_rows_a_concurrent_matcher_inserted_first_are_skipped(market, make_rule):
    rule = make_rule(target="all", condition="drop", meter="input", percent=1, every_change=True)
    ids = market({("acme", "m1", "input"): "1.5"}, at(1))
    matching.match(ids)
    changes = matching.live_changes(ids, timezone.now())
    rows, _ = matching.notifications(
        matching.find_matches(changes, matching.candidate_rules(changes)), timezone.now()
    )
    matching._insert(rows, [])  # as if the other matcher committed after our check
    assert rule.notifications.count() == 1


def test_a_frontier_move_notifies_once_per_instant(scored, level_rule):
    rule = level_rule(condition="frontier_drop", percent=Decimal(1), every_change=True)
    ids = scored({("acme", "m1", "input"): "1", ("beta", "m1", "input"): "2.5"}, at(1))
    matching.match(ids)
    assert rule.notifications.count() == 1
