"""The deflation frontier: the cheapest price at which a capability level can be bought, over time.

A capability level is a benchmark and a threshold ("MMLU >= 86.4"). A model qualifies when any
source scores it at or above the threshold; the frontier at an instant is the cheapest published
blended price of any offering of any qualifying model (Epoch AI, "LLM inference prices have
fallen rapidly but unequally across tasks", 2025, uses the same construction). Free offerings
(a zero input or output price) are left out: a promotion is not a price level.

Everything here returns plain values; the dashboard, the API and alert rules draw on it.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Min

from tracker.models import CapabilityScore, Offering
from tracker.prices import current_prices, published_history

METERS = ("input", "output")
Step = tuple[datetime, datetime | None, Decimal]  # start, end (None: still in force), price
KeyedStep = tuple[datetime, datetime | None, Decimal, int]  # ... and the key that set it

# What each benchmark's score means, for labels; unknown benchmarks show their slug.
BENCHMARK_LABELS = {
    "mmlu": "MMLU (5-shot, %)",
    "gpqa_diamond": "GPQA Diamond",
    "eci": "Epoch Capabilities Index",
    "lmarena_text": "LMArena text score",
}
# Levels worth naming by default: GPT-4's own MMLU score (OpenAI, GPT-4 Technical Report, 2023).
DEFAULT_THRESHOLDS = {"mmlu": Decimal("86.4")}


@dataclass(frozen=True)
class Blend:
    """A weighted mean of the input and output price: 3:1 is the blend most comparisons use
    (three input tokens for each output token)."""

    input: int = 3
    output: int = 1

    def __post_init__(self) -> None:
        if self.input < 0 or self.output < 0 or self.input + self.output == 0:
            raise ValueError("a blend needs non-negative weights, not both zero")

    def price(self, input_usd: Decimal, output_usd: Decimal) -> Decimal:
        total = self.input + self.output
        return (self.input * input_usd + self.output * output_usd) / total

    @classmethod
    def parse(cls, text: str) -> Blend:
        """'3:1' -> Blend(3, 1). Weights are whole numbers from 0 to 100."""
        parts = text.strip().split(":")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"blend must look like 3:1 (input:output), got {text!r}")
        weights = [int(p) for p in parts]
        if any(w > 100 for w in weights) or sum(weights) == 0:
            raise ValueError(f"blend weights must be 0-100 and not both zero, got {text!r}")
        return cls(*weights)

    def __str__(self) -> str:
        return f"{self.input}:{self.output}"


@dataclass(frozen=True)
class BenchmarkInfo:
    slug: str
    label: str
    models: int
    min: Decimal
    max: Decimal
    default_threshold: Decimal


def benchmarks() -> list[BenchmarkInfo]:
    """Every benchmark with scores, most-scored first. The default threshold is a named level
    where there is one, else the median model's score."""
    rows = (
        CapabilityScore.objects.values("benchmark")
        .annotate(models=Count("model", distinct=True), low=Min("score"), high=Max("score"))
        .order_by("-models", "benchmark")
    )
    result = []
    for row in rows:
        slug = row["benchmark"]
        default = DEFAULT_THRESHOLDS.get(slug)
        if default is None:
            scores = CapabilityScore.objects.filter(benchmark=slug).values_list("score", flat=True)
            default = Decimal(statistics.median_low(list(scores)))
        result.append(
            BenchmarkInfo(
                slug=slug,
                label=BENCHMARK_LABELS.get(slug, slug),
                models=row["models"],
                min=row["low"],
                max=row["high"],
                default_threshold=default,
            )
        )
    return result


def model_scores(benchmark: str) -> dict[int, Decimal]:
    """model_id -> its best score on `benchmark` across sources."""
    rows = (
        CapabilityScore.objects.filter(benchmark=benchmark)
        .values("model_id")
        .annotate(best=Max("score"))
    )
    return {row["model_id"]: row["best"] for row in rows}


def qualifying_models(benchmark: str, threshold: Decimal) -> dict[int, Decimal]:
    """model_id -> best score, for models scored at or above `threshold` by any source."""
    return {m: s for m, s in model_scores(benchmark).items() if s >= threshold}


def blend_steps(
    input_steps: Sequence[Step], output_steps: Sequence[Step], blend: Blend
) -> list[Step]:
    """The blended price wherever both meters are priced and neither is free, as steps.
    Both inputs are sorted, non-overlapping steps; one merge pass over their boundaries."""
    bounds = sorted(
        {s for s, _, _ in [*input_steps, *output_steps]}
        | {e for _, e, _ in [*input_steps, *output_steps] if e is not None}
    )
    inputs, outputs = _Cursor(input_steps), _Cursor(output_steps)
    result: list[Step] = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        inp, out = inputs.at(start), outputs.at(start)
        if inp is None or out is None or inp <= 0 or out <= 0:
            continue
        price = blend.price(inp, out)
        if result and result[-1][1] == start and result[-1][2] == price:
            result[-1] = (result[-1][0], end, price)
        else:
            result.append((start, end, price))
    return result


class _Cursor:
    """The price of sorted, non-overlapping steps at instants asked in increasing order."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = sorted(steps, key=lambda step: step[0])
        self.i = 0

    def at(self, when: datetime) -> Decimal | None:
        while self.i < len(self.steps):  # skip steps that ended at or before `when`
            end = self.steps[self.i][1]
            if end is None or end > when:
                break
            self.i += 1
        if self.i < len(self.steps) and self.steps[self.i][0] <= when:
            return self.steps[self.i][2]
        return None


def blended_history(offering_ids: Iterable[int], blend: Blend) -> dict[int, list[Step]]:
    """offering_id -> its published blended price over time (base tier)."""
    history = published_history(list(offering_ids), METERS)
    steps: dict[int, dict[str, list[Step]]] = defaultdict(dict)
    for (offering_id, meter), segments in history.items():
        steps[offering_id][meter] = [(s.start, s.end, Decimal(str(s.price))) for s in segments]
    return {
        offering_id: blended
        for offering_id, meters in steps.items()
        if (blended := blend_steps(meters.get("input", []), meters.get("output", []), blend))
    }


@dataclass(frozen=True)
class FrontierStep:
    start: datetime
    end: datetime | None
    usd_per_mtok: Decimal
    offering_id: int
    model_id: int
    label: str  # "Model" or "Model on Provider" where the seller is not the maker


def cheapest_over_time(
    histories: dict[int, list[Step]],
) -> list[tuple[datetime, datetime | None, Decimal, int]]:
    """The lowest price among `histories` (key -> steps) at every instant, as steps carrying the
    key that set it; ties go to the lowest key. A sweep over start/end events with a lazy heap:
    O(n log n) in the number of steps."""
    events: dict[datetime, list[tuple[int, Step]]] = defaultdict(list)
    for key, steps in histories.items():
        for step in steps:
            events[step[0]].append((key, step))
            if step[1] is not None:
                events[step[1]].append((key, step))
    heap: list[tuple[Decimal, int, datetime]] = []  # (price, key, start) of live steps
    live: set[tuple[int, datetime]] = set()
    result: list[KeyedStep] = []
    for at in sorted(events):
        for key, (start, end, price) in events[at]:
            if start == at:
                live.add((key, start))
                heapq.heappush(heap, (price, key, start))
            elif end == at:
                live.discard((key, start))
        while heap and (heap[0][1], heap[0][2]) not in live:
            heapq.heappop(heap)
        if result and result[-1][1] is None:
            result[-1] = (result[-1][0], at, result[-1][2], result[-1][3])
        if not heap:
            continue
        price, key, _ = heap[0]
        last = result[-1] if result else None
        if last is not None and last[1] == at and last[2] == price and last[3] == key:
            result[-1] = (last[0], None, price, key)
        else:
            result.append((at, None, price, key))
    return result  # the last step is open exactly when a step setting it never ended


def frontier(
    benchmark: str,
    threshold: Decimal,
    blend: Blend | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[FrontierStep]:
    """The cheapest published blended price of any offering of a model scoring at least
    `threshold` on `benchmark`, over time, clipped to [start, end)."""
    blend = blend or Blend()
    models = qualifying_models(benchmark, threshold)
    if not models:
        return []
    offerings = {
        o.pk: o
        for o in Offering.objects.filter(model_id__in=models).select_related("model", "provider")
    }
    cheapest = cheapest_over_time(blended_history(offerings, blend))
    steps = [
        FrontierStep(s, e, price, key, offerings[key].model_id, offering_label(offerings[key]))
        for s, e, price, key in cheapest
    ]
    return clip(steps, start, end)


def offering_label(offering: Offering) -> str:
    """The model's name, and the seller's where it is not the model's maker."""
    creator_id = offering.model.creator_id
    if creator_id is None or creator_id == offering.provider_id:
        return offering.model.name
    return f"{offering.model.name} on {offering.provider.name}"


def clip(
    steps: list[FrontierStep], start: datetime | None, end: datetime | None
) -> list[FrontierStep]:
    result = []
    for step in steps:
        if end is not None and step.start >= end:
            continue
        if start is not None and step.end is not None and step.end <= start:
            continue
        s = max(step.start, start) if start is not None else step.start
        e = step.end if end is None else (min(step.end, end) if step.end is not None else end)
        result.append(
            FrontierStep(s, e, step.usd_per_mtok, step.offering_id, step.model_id, step.label)
        )
    return result


def frontier_at(
    benchmark: str, threshold: Decimal, blend: Blend | None, at: datetime
) -> FrontierStep | None:
    """The frontier step in force at `at`, if any."""
    for step in frontier(benchmark, threshold, blend):
        if step.start <= at and (step.end is None or at < step.end):
            return step
    return None


@dataclass(frozen=True)
class DeclineFit:
    """A log-linear fit of the frontier price against time."""

    factor_per_year: float  # 10.0: ten times cheaper each year (below 1: dearer)
    ci_low: float | None  # 95 % interval of factor_per_year (None with fewer than 3 points)
    ci_high: float | None
    halving_days: float | None  # None when the price is not falling
    points: int
    start: datetime
    end: datetime

    @property
    def annual_change(self) -> float:
        """-0.9 means 90 % cheaper each year."""
        return 1 / self.factor_per_year - 1


# Two-sided 97.5 % quantiles of Student's t by degrees of freedom (beyond 30: 2.0 is close).
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042]  # fmt: skip


def fit(steps: Sequence[FrontierStep], *, now: datetime) -> DeclineFit | None:
    """Least squares of ln(price) on time over the frontier's points: the start of every step,
    plus the price still in force at the end (so a long flat stretch counts against the trend).
    None with fewer than two distinct instants."""
    if not steps:
        return None
    points = [(s.start, s.usd_per_mtok) for s in steps]
    last = steps[-1]
    final = last.end if last.end is not None else now
    if final > last.start:
        points.append((final, last.usd_per_mtok))
    xs = [_years(at) for at, _ in points]
    ys = [math.log(float(price)) for _, price in points]
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    ci_low = ci_high = None
    if n >= 3:
        intercept = mean_y - slope * mean_x
        residual = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
        se = math.sqrt(residual / (n - 2) / sxx)
        t = _T975[n - 3] if n - 2 <= len(_T975) else 2.0
        # A steeper fall (more negative slope) is a larger factor.
        ci_low, ci_high = math.exp(-(slope + t * se)), math.exp(-(slope - t * se))
    return DeclineFit(
        factor_per_year=math.exp(-slope),
        ci_low=ci_low,
        ci_high=ci_high,
        halving_days=math.log(2) / -slope * 365.25 if slope < 0 else None,
        points=n,
        start=points[0][0],
        end=points[-1][0],
    )


def _years(at: datetime) -> float:
    return at.timestamp() / (365.25 * 86400)


@dataclass(frozen=True)
class ScatterPoint:
    model_id: int
    label: str
    score: Decimal
    usd_per_mtok: Decimal
    offering_id: int
    on_frontier: bool


def pareto(at: datetime, benchmark: str, blend: Blend | None = None) -> list[ScatterPoint]:
    """Every scored model at its cheapest blended price in force at `at`, cheapest first, each
    flagged when no other model is both at least as cheap and at least as capable (and better
    on one)."""
    blend = blend or Blend()
    scores = model_scores(benchmark)
    offerings = {
        o.pk: o
        for o in Offering.objects.filter(model_id__in=scores).select_related("model", "provider")
    }
    cheapest: dict[int, tuple[Decimal, int]] = {}
    for offering_id, meters in current_prices(at, offering_ids=offerings, meters=METERS).items():
        inp, out = meters.get("input"), meters.get("output")
        if inp is None or out is None or inp <= 0 or out <= 0:
            continue
        price, model_id = blend.price(inp, out), offerings[offering_id].model_id
        if model_id not in cheapest or (price, offering_id) < cheapest[model_id]:
            cheapest[model_id] = (price, offering_id)
    ordered = sorted(cheapest.items(), key=lambda item: (item[1][0], -scores[item[0]], item[0]))
    result = []
    best_score: Decimal | None = None
    for model_id, (price, offering_id) in ordered:
        score = scores[model_id]
        # Sorted by price (then score, highest first): a model is on the frontier when it beats
        # the best score of everything cheaper or equally priced before it.
        on_frontier = best_score is None or score > best_score
        if on_frontier:
            best_score = score
        result.append(
            ScatterPoint(
                model_id=model_id,
                label=offering_label(offerings[offering_id]),
                score=score,
                usd_per_mtok=price,
                offering_id=offering_id,
                on_frontier=on_frontier,
            )
        )
    return result


def factor_since(
    benchmark: str, threshold: Decimal, blend: Blend | None, now: datetime, years: float
) -> tuple[FrontierStep, FrontierStep] | None:
    """(then, now) frontier steps `years` apart, for headlines like 'N times cheaper than two
    years ago'; None when the level had no price at either date."""
    steps = frontier(benchmark, threshold, blend)
    then_at = now - timedelta(days=365.25 * years)

    def at(when: datetime) -> FrontierStep | None:
        return next((s for s in steps if s.start <= when and (s.end is None or when < s.end)), None)

    then, current = at(then_at), at(now)
    return (then, current) if then is not None and current is not None else None
