"""Matching: which live rules a batch of published PriceChanges fires, as Notification rows.

Rules are fetched by target (the changed offerings, their models and providers, plus the rules
aimed at everything or at a capability level), evaluated in memory, and their notifications
bulk-inserted; the unique (rule, change) key makes matching the same change twice harmless.
Only live changes fire: published (PriceChange rows exist only for published prices), not
retracted, not learnt after the fact (backfill), base tier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from tracker.alerts import frontier_rules
from tracker.alerts.models import MatchedChange, MatchState, Notification, Rule
from tracker.frontier import Blend, qualifying_models
from tracker.ingest.record import insert_new
from tracker.models import Meter, Offering, PriceChange
from tracker.prices import published_at

BEFORE = timedelta(microseconds=1)
# Changes detected longer ago than this are settled: no transaction still holds a lower id.
SETTLED = timedelta(hours=1)
NEWS = timedelta(days=1)
PRICED_METERS = (Meter.INPUT.value, Meter.OUTPUT.value)


class Change(NamedTuple):
    id: int
    offering_id: int
    model_id: int
    provider_id: int
    meter: str
    kind: str
    old: Decimal | None
    new: Decimal | None
    changed_at: datetime


class RuleRow(NamedTuple):
    id: int
    target: str
    offering_id: int | None
    model_id: int | None
    provider_id: int | None
    benchmark: str
    min_score: Decimal | None
    condition: str
    meter: str
    threshold_usd: Decimal | None
    percent: Decimal | None
    blend_input: int
    blend_output: int
    delivery: str
    channel: str
    every_change: bool
    last_notified_at: datetime | None


@dataclass(frozen=True)
class Match:
    rule: RuleRow
    change: Change
    detail: str


def _usd(value: Decimal) -> str:
    return f"${value.normalize():f}"


def _blend(rule: RuleRow, prices: dict[str, Decimal]) -> Decimal | None:
    """The rule's blended price, None unless both meters are published."""
    if Meter.INPUT not in prices or Meter.OUTPUT not in prices:
        return None
    return Blend(rule.blend_input, rule.blend_output).price(
        prices[Meter.INPUT], prices[Meter.OUTPUT]
    )


class Prices:
    """Published input/output prices of a set of offerings around each change's instant.

    Just before an instant they are read from the spans (tracker.prices.published_at); at the
    instant, they are those plus the PriceChanges at that instant (the published timeline's
    transitions), which is exact and saves reading the spans twice."""

    def __init__(self, offering_ids: set[int]) -> None:
        self.offering_ids = offering_ids
        self._before: dict[datetime, dict[int, dict[str, Decimal]]] = {}
        self._at: dict[datetime, dict[int, dict[str, Decimal]]] = {}

    def before(self, when: datetime) -> dict[int, dict[str, Decimal]]:
        if when not in self._before:
            prices: dict[int, dict[str, Decimal]] = defaultdict(dict)
            for (offering_id, meter), published in published_at(
                when - BEFORE, offering_ids=self.offering_ids, meters=PRICED_METERS
            ).items():
                prices[offering_id][meter] = published.usd_per_mtok
            self._before[when] = prices
        return self._before[when]

    def at(self, when: datetime) -> dict[int, dict[str, Decimal]]:
        if when not in self._at:
            prices = {o: dict(meters) for o, meters in self.before(when).items()}
            transitions = PriceChange.objects.filter(
                changed_at=when,
                offering_id__in=self.offering_ids,
                meter__in=PRICED_METERS,
                tier="",
                retracted_at__isnull=True,
            ).values_list("offering_id", "meter", "new_usd_per_mtok")
            for offering_id, meter, new in transitions:
                if new is None:
                    prices.get(offering_id, {}).pop(meter, None)
                else:
                    prices.setdefault(offering_id, {})[meter] = new
            self._at[when] = prices
        return self._at[when]

    def pair(self, rule: RuleRow, change: Change) -> tuple[Decimal | None, Decimal | None]:
        """(old, new) of the price the rule watches on the change's offering."""
        if rule.meter == Rule.Meter.BLENDED:
            before = self.before(change.changed_at).get(change.offering_id, {})
            after = self.at(change.changed_at).get(change.offering_id, {})
            return _blend(rule, before), _blend(rule, after)
        return change.old, change.new


def _watches(rule: RuleRow, change: Change) -> bool:
    """Does the rule's meter care about this change's meter?"""
    if rule.meter == Rule.Meter.ANY:
        return True
    if rule.meter == Rule.Meter.BLENDED:
        return change.meter in PRICED_METERS
    return rule.meter == change.meter


def _label(rule: RuleRow, change: Change) -> str:
    if rule.meter == Rule.Meter.BLENDED:
        return f"blended {rule.blend_input}:{rule.blend_output} price"
    return f"{change.meter} price"


class Matcher:
    """Evaluates rules against changes; needs loaded price context for some conditions."""

    def __init__(self, changes: list[Change], *, siblings: bool) -> None:
        self._changes = changes
        self._lows: dict[tuple[int, str], list[tuple[datetime, Decimal]]] | None = None
        self._siblings: dict[int, list[int]] = defaultdict(list)
        if siblings:  # "cheaper provider" compares every offering of the changed models
            for offering_id, model_id in Offering.objects.filter(
                model_id__in={c.model_id for c in changes}
            ).values_list("id", "model_id"):
                self._siblings[model_id].append(offering_id)
        offerings = {o for ids in self._siblings.values() for o in ids}
        self.prices = Prices(offerings | {c.offering_id for c in changes})

    def detail(self, rule: RuleRow, change: Change) -> str | None:
        """What the rule says about the change, or None when it does not fire."""
        if change.kind == PriceChange.Kind.DELISTED:
            if rule.condition in (Rule.Condition.DELISTED, Rule.Condition.ANY):
                return (
                    f"{change.meter} price no longer listed (was {_usd(change.old or Decimal(0))})"
                )
            return None
        if rule.condition in (Rule.Condition.DELISTED,) or not _watches(rule, change):
            return None
        evaluate = _CONDITIONS.get(rule.condition)
        return evaluate(self, rule, change) if evaluate else None

    def below(self, rule: RuleRow, change: Change) -> str | None:
        old, new = self.prices.pair(rule, change)
        limit = rule.threshold_usd
        if new is None or limit is None or new >= limit or (old is not None and old < limit):
            return None
        return f"{_label(rule, change)} fell below {_usd(limit)}: {_was(old)}{_usd(new)}"

    def drop(self, rule: RuleRow, change: Change) -> str | None:
        old, new = self.prices.pair(rule, change)
        if old is None or new is None or old <= 0 or new >= old or rule.percent is None:
            return None
        fall = (old - new) / old * 100
        if fall < rule.percent:
            return None
        return f"{_label(rule, change)} dropped {fall:.1f} %: {_usd(old)} → {_usd(new)}"

    def any_change(self, rule: RuleRow, change: Change) -> str | None:
        old, new = self.prices.pair(rule, change)
        if old == new or new is None:
            return None
        verb = "listed at" if old is None else ("rose" if new > old else "fell")
        return f"{_label(rule, change)} {verb} {_was(old)}{_usd(new)}"

    def low(self, rule: RuleRow, change: Change) -> str | None:
        if change.old is None or change.new is None or change.new >= change.old:
            return None
        earlier = [
            p
            for at, p in self.lows().get((change.offering_id, change.meter), [])
            if at < change.changed_at
        ]
        floor = min([change.old, *earlier])
        if change.new >= floor:
            return None
        low, previous = _usd(change.new), _usd(floor)
        return f"{change.meter} price at an all-time low: {low} (previous low {previous})"

    def lows(self) -> dict[tuple[int, str], list[tuple[datetime, Decimal]]]:
        """Every earlier published price of the changed (offering, meter)s, loaded once."""
        if self._lows is None:
            self._lows = defaultdict(list)
            rows = PriceChange.objects.filter(
                offering_id__in={c.offering_id for c in self._changes},
                retracted_at__isnull=True,
                tier="",
            ).values_list(
                "offering_id", "meter", "changed_at", "old_usd_per_mtok", "new_usd_per_mtok"
            )
            for offering_id, meter, at, old, new in rows.iterator(chunk_size=5000):
                for price in (old, new):
                    if price is not None:
                        self._lows[(offering_id, meter)].append((at, price))
        return self._lows

    def cheaper(self, rule: RuleRow, change: Change) -> str | None:
        """A different provider now sells the model cheapest, below the previous cheapest."""
        if change.new is None or (change.old is not None and change.new >= change.old):
            return None
        siblings = self.siblings(change.model_id)
        before = self._cheapest(rule, siblings, self.prices.before(change.changed_at), change)
        after = self._cheapest(rule, siblings, self.prices.at(change.changed_at), change)
        if after is None or after[1] != change.offering_id or before is None:
            return None
        if before[1] == after[1] or after[0] >= before[0]:
            return None
        now, was = _usd(after[0]), _usd(before[0])
        return f"cheapest {_label(rule, change)} is now {now} here (was {was} elsewhere)"

    def _cheapest(
        self,
        rule: RuleRow,
        offerings: list[int],
        prices: dict[int, dict[str, Decimal]],
        change: Change,
    ) -> tuple[Decimal, int] | None:
        best: tuple[Decimal, int] | None = None
        for offering_id in offerings:
            held = prices.get(offering_id, {})
            price = (
                _blend(rule, held) if rule.meter == Rule.Meter.BLENDED else held.get(change.meter)
            )
            if price is not None and (best is None or price < best[0]):
                best = (price, offering_id)
        return best

    def siblings(self, model_id: int) -> list[int]:
        return self._siblings[model_id]


def _was(old: Decimal | None) -> str:
    return "" if old is None else f"{_usd(old)} → "


_CONDITIONS: dict[str, Callable[[Matcher, RuleRow, Change], str | None]] = {
    Rule.Condition.BELOW: Matcher.below,
    Rule.Condition.DROP: Matcher.drop,
    Rule.Condition.ANY: Matcher.any_change,
    Rule.Condition.LOW: Matcher.low,
    Rule.Condition.CHEAPER: Matcher.cheaper,
}


def live_changes(change_ids: Iterable[int], now: datetime) -> list[Change]:
    """The changes that may fire: not retracted, not backfilled, base tier, and news (detected
    within NEWS of `now`: a sweeper catching up on an old database must not alert on history)."""
    rows = PriceChange.objects.filter(
        pk__in=list(change_ids),
        retracted_at__isnull=True,
        is_backfill=False,
        tier="",
        detected_at__gte=now - NEWS,
    ).values_list(
        "id", "offering_id", "offering__model_id", "offering__provider_id", "meter", "kind",
        "old_usd_per_mtok", "new_usd_per_mtok", "changed_at",
    )  # fmt: skip
    return sorted((Change(*row) for row in rows), key=lambda c: (c.changed_at, c.id))


def candidate_rules(changes: list[Change]) -> list[RuleRow]:
    """Live rules whose target can contain any of the changes (the indexed lookups)."""
    aimed = (
        Q(target=Rule.Target.OFFERING, offering_id__in={c.offering_id for c in changes})
        | Q(target=Rule.Target.MODEL, model_id__in={c.model_id for c in changes})
        | Q(target=Rule.Target.PROVIDER, provider_id__in={c.provider_id for c in changes})
        | Q(target__in=(Rule.Target.ALL, Rule.Target.CAPABILITY))
    )
    rows = Rule.objects.filter(
        aimed, confirmed_at__isnull=False, paused=False, subscriber__unsubscribed_at__isnull=True
    ).values_list(*RuleRow._fields)
    return [RuleRow(*row) for row in rows.iterator(chunk_size=10000)]


def _qualifying(rules: list[RuleRow]) -> dict[tuple[str, Decimal | None], set[int]]:
    """(benchmark, min score) -> ids of the models that reach it on some source."""
    levels = {(r.benchmark, r.min_score) for r in rules if r.target == Rule.Target.CAPABILITY}
    return {
        (benchmark, score): set(qualifying_models(benchmark, score))
        for benchmark, score in levels
        if score is not None
    }


def _frontier_check(
    rules: list[RuleRow], levels: dict[tuple[str, Decimal | None], set[int]]
) -> frontier_rules.FrontierCheck:
    """Price context for frontier rules: every offering of a model at any of their levels."""
    models: set[int] = set()
    if any(r.condition in frontier_rules.CONDITIONS for r in rules):
        models = set().union(*levels.values())
    offerings = dict(Offering.objects.filter(model_id__in=models).values_list("id", "model_id"))
    prices = Prices(set(offerings))
    return frontier_rules.FrontierCheck(levels, offerings, prices.before, prices.at)


def find_matches(changes: list[Change], rules: list[RuleRow]) -> list[Match]:
    """Every (rule, change) that fires, in change order. A blended or delisted event seen via
    two meters of one offering at one instant counts once per rule; a frontier move, once per
    rule and instant (credited to the first change that shows it)."""
    by: dict[tuple[str, int | None], list[RuleRow]] = defaultdict(list)
    for rule in rules:
        refs: dict[str, int | None] = {
            Rule.Target.OFFERING: rule.offering_id,
            Rule.Target.MODEL: rule.model_id,
            Rule.Target.PROVIDER: rule.provider_id,
        }
        by[(rule.target, refs.get(rule.target))].append(rule)
    levels = _qualifying(rules)
    capability: dict[tuple[str, Decimal | None], list[RuleRow]] = defaultdict(list)
    for rule in by[(Rule.Target.CAPABILITY, None)]:
        capability[(rule.benchmark, rule.min_score)].append(rule)
    matcher = Matcher(changes, siblings=any(r.condition == Rule.Condition.CHEAPER for r in rules))
    frontier = _frontier_check(rules, levels)

    matches: list[Match] = []
    seen: set[tuple[int, int, datetime]] = set()
    for change in changes:
        aimed = [
            *by[(Rule.Target.OFFERING, change.offering_id)],
            *by[(Rule.Target.MODEL, change.model_id)],
            *by[(Rule.Target.PROVIDER, change.provider_id)],
            *by[(Rule.Target.ALL, None)],
            *(
                r
                for level, group in capability.items()
                if change.model_id in levels[level]
                for r in group
            ),
        ]
        for rule in aimed:
            once = _once(rule, change)
            if once in seen:
                continue
            if rule.condition in frontier_rules.CONDITIONS:
                detail = frontier.detail(rule, change)
                seen.add(once)  # the frontier moved (or not) once per instant
            else:
                detail = matcher.detail(rule, change)
                if rule.meter == Rule.Meter.BLENDED:
                    seen.add(once)  # both meters' changes give the same blended move
            if detail is not None:
                if change.kind == PriceChange.Kind.DELISTED:
                    seen.add(once)
                matches.append(Match(rule, change, detail))
    return matches


def _once(rule: RuleRow, change: Change) -> tuple[int, int, datetime]:
    """What makes two changes one event for a rule: the instant, and for all but frontier
    rules the offering."""
    if rule.condition in frontier_rules.CONDITIONS:
        return (rule.id, 0, change.changed_at)
    return (rule.id, change.offering_id, change.changed_at)


OUTBOX_COLUMNS = (
    "rule_id", "change_id", "detail", "status", "digest", "created_at", "next_attempt_at",
    "claim", "attempts", "sent_at",
)  # fmt: skip


def notifications(matches: list[Match], now: datetime) -> tuple[list[tuple[Any, ...]], set[int]]:
    """Outbox rows (OUTBOX_COLUMNS) for the matches, and the rules that notify now.

    A rule that notified within 24 hours (or earlier in this batch) is recorded as suppressed,
    unless it asks for every change; digests and feeds collect everything."""
    rows: list[tuple[Any, ...]] = []
    notified: set[int] = set()
    quiet_since = now - timedelta(hours=24)
    for match in matches:
        rule = match.rule
        status = Notification.Status.PENDING
        if rule.channel == Rule.Channel.FEED:
            status = Notification.Status.SENT
        elif rule.delivery == Rule.Delivery.INSTANT and not rule.every_change:
            recent = rule.last_notified_at is not None and rule.last_notified_at > quiet_since
            if recent or rule.id in notified:
                status = Notification.Status.SUPPRESSED
            else:
                notified.add(rule.id)
        rows.append(
            (
                rule.id, match.change.id, match.detail[:500], str(status),
                rule.delivery == Rule.Delivery.DIGEST, now, now, "", 0,
                now if status == Notification.Status.SENT else None,
            )
        )  # fmt: skip
    return rows, notified


def _insert(rows: list[tuple[Any, ...]], change_ids: list[int]) -> None:
    """Insert the outbox rows not already there (insert_new: COPY on PostgreSQL; should a
    concurrent matcher have inserted some first, the rows go again, skipping conflicts)."""
    have = set(
        Notification.objects.filter(change_id__in=change_ids).values_list("rule_id", "change_id")
    )
    fresh = [row for row in rows if (row[0], row[1]) not in have]
    insert_new(Notification, [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for row in fresh])


def match(change_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Create the notifications the changes fire; returns how many matched (new or already
    there). Idempotent: the unique (rule, change) key keeps out repeats."""
    now = now or timezone.now()
    changes = live_changes(change_ids, now)
    if not changes:
        return 0
    rows, notified = notifications(find_matches(changes, candidate_rules(changes)), now)
    with transaction.atomic():
        _insert(rows, [c.id for c in changes])
        if notified:
            Rule.objects.filter(pk__in=notified).update(last_notified_at=now)
    return len(rows)


def match_unmatched(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Match every PriceChange no matching has seen yet (the run's hook, or this sweeper when
    the hook never ran). Returns the number of changes examined. Safe to run concurrently
    with itself: the outbox key absorbs a double match."""
    now = now or timezone.now()
    state, _ = MatchState.objects.get_or_create(pk=1)
    seen = MatchedChange.objects.filter(change_id__gt=state.floor).values("change_id")
    ids = list(
        PriceChange.objects.filter(pk__gt=state.floor)
        .exclude(pk__in=seen)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        match(ids, now=now)
        mark_matched(ids, now)
    # Raise the floor over settled changes (no open transaction can still add a lower id).
    settled = PriceChange.objects.filter(pk__gt=state.floor, detected_at__lt=now - SETTLED)
    if not settled.exclude(pk__in=seen).exists():
        top = settled.aggregate(top=Max("pk"))["top"]
        if top is not None:
            MatchState.objects.filter(pk=1, floor=state.floor).update(floor=top)
    return len(ids)


def match_and_mark(change_ids: Iterable[int]) -> int:
    """The hook's entry point: match these changes now and record that they were seen."""
    ids = list(change_ids)
    now = timezone.now()
    created = match(ids, now=now)
    mark_matched(ids, now)
    return created


def mark_matched(change_ids: Iterable[int], now: datetime) -> None:
    MatchedChange.objects.bulk_create(
        [MatchedChange(change_id=i, matched_at=now) for i in change_ids],
        batch_size=5000,
        ignore_conflicts=True,
    )
