"""Frontier conditions: the cheapest blended price of any model at or above a capability level
(the frontier of tracker.frontier, here taken at the instants around a change) falls by N % or
below a threshold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tracker import frontier
from tracker.alerts.models import Rule

if TYPE_CHECKING:
    from tracker.alerts.matching import Change, RuleRow

CONDITIONS = (Rule.Condition.FRONTIER_DROP, Rule.Condition.FRONTIER_BELOW)


class FrontierCheck:
    """Evaluates frontier rules. The frontier of a level at an instant is the cheapest blended
    price (both meters published, neither free, as in tracker.frontier) of any offering of a
    model at or above the level; computed once per (level, blend, instant)."""

    def __init__(
        self,
        levels: dict[tuple[str, Decimal | None], set[int]],
        offering_models: dict[int, int],
        prices_before: Callable[[datetime], dict[int, dict[str, Decimal]]],
        prices_at: Callable[[datetime], dict[int, dict[str, Decimal]]],
    ) -> None:
        self._levels = levels
        self._models = offering_models
        self._prices = {False: prices_before, True: prices_at}
        self._cache: dict[tuple[str, Decimal | None, int, int, datetime, bool], Decimal | None] = {}

    def price(self, rule: RuleRow, at: datetime, *, after: bool) -> Decimal | None:
        """The level's frontier just before (after=False) or at the instant `at`."""
        key = (rule.benchmark, rule.min_score, rule.blend_input, rule.blend_output, at, after)
        if key not in self._cache:
            models = self._levels.get((rule.benchmark, rule.min_score), set())
            blend = frontier.Blend(rule.blend_input, rule.blend_output)
            best: Decimal | None = None
            for offering_id, meters in self._prices[after](at).items():
                inp, out = meters.get("input"), meters.get("output")
                if self._models.get(offering_id) not in models or not (inp and out):
                    continue
                if inp > 0 and out > 0:
                    price = blend.price(inp, out)
                    best = price if best is None or price < best else best
            self._cache[key] = best
        return self._cache[key]

    def detail(self, rule: RuleRow, change: Change) -> str | None:
        """What the rule says about the change, or None when the frontier did not fall enough."""
        if rule.target != Rule.Target.CAPABILITY or rule.min_score is None:
            return None
        old = self.price(rule, change.changed_at, after=False)
        new = self.price(rule, change.changed_at, after=True)
        if old is None or new is None or new >= old:
            return None
        level = f"{rule.benchmark} ≥ {rule.min_score.normalize():f}"
        moved = f"${old.normalize():f} → ${new.normalize():f}"
        if rule.condition == Rule.Condition.FRONTIER_DROP:
            fall = (old - new) / old * 100
            if rule.percent is None or fall < rule.percent:
                return None
            return f"cheapest model with {level} fell {fall:.1f} %: {moved}"
        if rule.threshold_usd is None or not new < rule.threshold_usd <= old:
            return None
        return (
            f"cheapest model with {level} fell below ${rule.threshold_usd.normalize():f}: {moved}"
        )
