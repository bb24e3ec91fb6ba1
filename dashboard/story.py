"""The deflation story: home, frontier, price vs capability, analogies.

Each view reads its state from GET parameters (a chartkit form), builds its charts from cached
plain values through the pure functions in dashboard/charts.py, and renders them through
chartkit (page, CSV, embed). Nothing here is hard-coded data: levels come from the scores.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from dashboard import chartkit, charts, events
from dashboard.chartkit import Chart
from tracker import analogies, frontier
from tracker.frontier import BenchmarkInfo, Blend, DeclineFit, FrontierStep
from tracker.models import CapabilityScore, PriceChange, PriceSpan, Series, SeriesPoint

DEFAULT_BENCHMARK = "mmlu"  # the benchmark with a named level (GPT-4's score); else most scored


# --- state forms ------------------------------------------------------------------------------


class LevelForm(chartkit.ChartForm):
    """A benchmark and a blend, shared by the frontier and capability pages."""

    benchmark = forms.ChoiceField(required=False, label="Benchmark")
    blend = forms.CharField(required=False, max_length=9, label="Blend (input:output)")

    def __init__(self, *args: Any, benchmarks: list[BenchmarkInfo], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.benchmarks = {info.slug: info for info in benchmarks}
        self.fields["benchmark"].choices = [  # type: ignore[attr-defined]
            (info.slug, f"{info.label} ({info.models} models)") for info in benchmarks
        ]

    def clean_blend(self) -> Blend:
        try:
            return Blend.parse(self.cleaned_data.get("blend") or "3:1")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("benchmark") and self.benchmarks:
            slugs = list(self.benchmarks)
            cleaned["benchmark"] = DEFAULT_BENCHMARK if DEFAULT_BENCHMARK in slugs else slugs[0]
        cleaned["info"] = self.benchmarks.get(cleaned.get("benchmark") or "")
        return cleaned


class FrontierForm(LevelForm):
    threshold = forms.DecimalField(
        required=False, max_digits=12, decimal_places=4, label="At or above score"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        info: BenchmarkInfo | None = cleaned["info"]
        if cleaned.get("threshold") is None and info is not None:
            cleaned["threshold"] = info.default_threshold
        return cleaned


def benchmark_infos(request: HttpRequest) -> list[BenchmarkInfo]:
    return chartkit.cached(request, "benchmarks", [], frontier.benchmarks)


def toggled(chart: Chart, state: dict[str, Any]) -> Chart:
    """The cached chart with this request's scale and annotation toggles applied."""
    figure = chartkit.apply_toggles(
        chart.figure, scale=state["scale"], events=state["events"] == "1"
    )
    return dataclasses.replace(chart, figure=figure)


# --- wording ----------------------------------------------------------------------------------


def today_end(now: datetime) -> datetime:
    """Open steps are drawn up to the end of today, so one cached figure serves the day."""
    return datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)


def level_name(info: BenchmarkInfo, threshold: Decimal) -> str:
    """'MMLU (5-shot, %) ≥ 86.4'."""
    return f"{info.label} \N{GREATER-THAN OR EQUAL TO} {threshold.normalize():f}"


def level_anchor(benchmark: str, threshold: Decimal) -> str:
    """The first model (by name) scoring exactly the threshold ('GPT-4 (8k)'), so a level can
    be read as 'GPT-4-level'; '' when none does."""
    names = (
        CapabilityScore.objects.filter(benchmark=benchmark, score=threshold)
        .values_list("model__name", flat=True)
        .distinct()
        .order_by("model__name")
    )
    return names[0] if names else ""


def times(factor: float) -> str:
    """12.3 -> '\N{MULTIPLICATION SIGN}12.3' (three significant digits)."""
    return f"\N{MULTIPLICATION SIGN}{factor:.3g}"


def duration(days: float) -> str:
    if days < 60:
        return f"{days:.0f} days"
    if days < 730:
        return f"{days / 30.44:.1f} months"
    return f"{days / 365.25:.1f} years"


def describe_fit(fit: DeclineFit | None) -> str:
    """The fitted decline in words, with its 95 % interval and the halving time."""
    if fit is None:
        return "Too few price points to fit a trend."
    if fit.factor_per_year >= 1:
        text = f"Cheaper {times(fit.factor_per_year)} per year"
    else:
        text = f"Dearer {times(1 / fit.factor_per_year)} per year"
    if fit.ci_low is not None and fit.ci_high is not None:
        text += (
            f" (95 % confidence interval {times(fit.ci_low)} to {times(fit.ci_high)}"
            f" cheaper per year)"
        )
    if fit.halving_days is not None:
        text += f"; the price halves every {duration(fit.halving_days)}"
    return (
        f"{text}. Fitted by least squares on the log price over {fit.points} points, "
        f"{fit.start:%Y-%m-%d} to {fit.end:%Y-%m-%d}."
    )


def fit_label(fit: DeclineFit) -> str:
    return f"Fitted decline: {times(fit.factor_per_year)} per year"


# --- frontier ---------------------------------------------------------------------------------

FRONTIER_COLUMNS = ["from", "to", "usd_per_mtok", "cheapest"]


@dataclasses.dataclass(frozen=True)
class FrontierResult:
    chart: Chart
    fit: DeclineFit | None
    steps: int
    level: str
    anchor: str  # the model whose score the threshold is, if any


def llm_events() -> list[charts.EventMark]:
    return [(event.when, event.label) for event in events.for_scope("llm")]


def level_steps(
    request: HttpRequest, info: BenchmarkInfo, threshold: Decimal, blend: Blend
) -> list[FrontierStep]:
    """The frontier of one level (cached): the costly part every story chart shares."""
    return chartkit.cached(
        request,
        "frontier-steps",
        [info.slug, threshold.normalize(), blend],
        lambda: frontier.frontier(info.slug, threshold, blend),
    )


def build_frontier(
    benchmark: BenchmarkInfo, threshold: Decimal, blend: Blend, steps: list[FrontierStep]
) -> FrontierResult:
    """The frontier chart and its fit for one level (cached by the view)."""
    until = today_end(timezone.now())
    fit = frontier.fit(steps, now=until)
    rows: list[charts.FrontierRow] = [(s.start, s.end, s.usd_per_mtok, s.label) for s in steps]
    level = level_name(benchmark, threshold)
    line = None
    if fit is not None:
        line = (charts.fit_line(rows, fit.factor_per_year, until), fit_label(fit))
    figure = charts.frontier_figure(rows, until, level=level, fit=line, events=llm_events())
    chart = Chart(
        slug="frontier",
        title=f"Cheapest price of a model at {level}, {blend} input:output blend",
        figure=figure,
        columns=FRONTIER_COLUMNS,
        rows=[(s.start, s.end, s.usd_per_mtok, s.label) for s in steps],
        caption=describe_fit(fit),
        sources=sorted(score_sources(benchmark.slug)),
    )
    return FrontierResult(chart, fit, len(steps), level, level_anchor(benchmark.slug, threshold))


def score_sources(benchmark: str) -> set[str]:
    return set(CapabilityScore.objects.filter(benchmark=benchmark).values_list("source", flat=True))


def frontier_result(request: HttpRequest, state: dict[str, Any]) -> FrontierResult | None:
    info: BenchmarkInfo | None = state["info"]
    if info is None:
        return None
    threshold, blend = state["threshold"], state["blend"]
    return chartkit.cached(
        request,
        "frontier",
        [info.slug, threshold.normalize(), blend],
        lambda: build_frontier(
            info, threshold, blend, level_steps(request, info, threshold, blend)
        ),
    )


@chartkit.chart_page
def frontier_page(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """The cheapest published price of any model at or above a capability level, over time."""
    infos = benchmark_infos(request)
    form, state = chartkit.read_state(request, FrontierForm, benchmarks=infos)
    result = frontier_result(request, state)
    chart_list = [toggled(result.chart, state)] if result is not None else []
    context = {
        "form": form,
        "state": state,
        "result": result,
    }
    return chartkit.render_chart_page(
        request, "dashboard/frontier.html", context, chart_list, embed=embed
    )


# --- analogies --------------------------------------------------------------------------------

ANALOGY_COLUMNS = ["series", "years_since_breakthrough", "relative_price", "quality"]
FIT_COLUMNS = [
    "series", "breakthrough", "fitted_years", "points", "annual_change", "cheaper_per_decade",
    "halving_years", "approximate_points", "estimated_points",
]  # fmt: skip
MAX_LEVELS = 4


@dataclasses.dataclass(frozen=True)
class Level:
    """A capability level: benchmark and threshold."""

    info: BenchmarkInfo
    threshold: Decimal

    def __str__(self) -> str:
        return f"{self.info.slug}:{self.threshold.normalize():f}"


@dataclasses.dataclass(frozen=True)
class AnalogyRow:
    """One series in the fitted-rates table."""

    name: str
    breakthrough: str
    fit: analogies.Fit | None
    approximate: int
    estimated: int
    llm: bool
    note: str = ""

    @property
    def per_year(self) -> float | None:
        """How many times cheaper each year at the fitted rate."""
        return 1 / (1 + self.fit.annual_change) if self.fit is not None else None


def parse_levels(text: str, infos: list[BenchmarkInfo]) -> list[Level]:
    """'mmlu:86.4,gpqa_diamond:0.6' -> levels; '' -> each benchmark's default level.

    Raises forms.ValidationError naming the bad item."""
    by_slug = {info.slug: info for info in infos}
    if not text.strip():
        return [Level(info, info.default_threshold) for info in infos[:MAX_LEVELS]]
    levels = []
    for item in text.split(","):
        slug, _, threshold = item.strip().partition(":")
        if slug not in by_slug:
            raise forms.ValidationError(
                f"unknown benchmark {slug!r} (known: {', '.join(by_slug) or 'none'})"
            )
        try:
            value = Decimal(threshold) if threshold else by_slug[slug].default_threshold
        except ArithmeticError:
            raise forms.ValidationError(f"{item!r}: the threshold is not a number") from None
        if not value.is_finite():
            raise forms.ValidationError(f"{item!r}: the threshold is not a number")
        levels.append(Level(by_slug[slug], value))
    if len(levels) > MAX_LEVELS:
        raise forms.ValidationError(f"at most {MAX_LEVELS} levels")
    return levels


class AnalogiesForm(chartkit.ChartForm):
    levels = forms.CharField(
        required=False, max_length=200, label="LLM levels (benchmark:score, …)"
    )
    series = forms.CharField(
        required=False, max_length=500, label="Series (slugs, comma-separated)"
    )
    years = forms.IntegerField(
        required=False, min_value=2, max_value=150, label="Years after the breakthrough"
    )
    blend = forms.CharField(required=False, max_length=9, label="Blend (input:output)")

    def __init__(
        self, *args: Any, benchmarks: list[BenchmarkInfo], series: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.infos = benchmarks
        self.known_series = series

    def clean_levels(self) -> list[Level]:
        return parse_levels(self.cleaned_data.get("levels") or "", self.infos)

    def clean_series(self) -> list[str]:
        text = self.cleaned_data.get("series") or ""
        chosen = [slug.strip() for slug in text.split(",") if slug.strip()]
        unknown = [slug for slug in chosen if slug not in self.known_series]
        if unknown:
            raise forms.ValidationError(
                f"unknown series {', '.join(unknown)} (known: {', '.join(self.known_series)})"
            )
        return chosen or list(self.known_series)

    def clean_blend(self) -> Blend:
        return LevelForm.clean_blend(self)  # type: ignore[arg-type]

    def defaults_for(self) -> dict[str, Any]:
        return {**super().defaults_for(), "years": 15}


def analogy_series() -> list[Series]:
    """Price series with a breakthrough: the analogies (not the CPI, not quantities)."""
    return list(
        Series.objects.filter(
            breakthrough_date__isnull=False, kind__in=[Series.Kind.PRICE, Series.Kind.INDEX]
        ).order_by("breakthrough_date", "slug")
    )


def level_line(
    level: Level, steps: list[FrontierStep], until: datetime
) -> tuple[charts.AlignedLine, AnalogyRow] | None:
    """An LLM level on the analogy axes: its frontier from the day the level was first reached
    (year 0), relative to that first price; exact steps."""
    if not steps:
        return None
    points = [analogies.Point(year_of(s.start), float(s.usd_per_mtok)) for s in steps]
    last = steps[-1]
    points.append(analogies.Point(year_of(last.end or until), float(last.usd_per_mtok)))
    origin = year_of(steps[0].start)
    aligned = analogies.align(points, origin)
    name = f"LLM tokens at {level_name(level.info, level.threshold)}"
    line = charts.AlignedLine(name, aligned.x, aligned.y, aligned.reliable, llm=True)
    return line, AnalogyRow(
        name, f"{steps[0].start:%Y-%m-%d} (level first reached)", None, 0, 0, True
    )


def year_of(at: datetime | date) -> float:
    return analogies.decimal_year(at.date() if isinstance(at, datetime) else at)


def series_line(series: Series) -> tuple[charts.AlignedLine, AnalogyRow] | None:
    if series.breakthrough_date is None:
        return None
    year0 = series.breakthrough_date.year
    try:
        aligned = analogies.align(analogies.series_points(series), year0)
    except ValueError:
        return None
    qualities = list(series.points.values_list("quality", flat=True))
    line = charts.AlignedLine(series.title, aligned.x, aligned.y, aligned.reliable)
    row = AnalogyRow(
        series.title,
        f"{year0}: {series.breakthrough_event}",
        None,
        qualities.count(SeriesPoint.Quality.APPROXIMATE),
        qualities.count(SeriesPoint.Quality.ESTIMATED),
        False,
        series.notes,
    )
    return line, row


def with_fit(line: charts.AlignedLine, row: AnalogyRow, years: int) -> AnalogyRow:
    aligned = analogies.Aligned(line.x, line.y, line.reliable, 0, 1)
    try:
        fit = analogies.fit_decline(aligned, 0, years)
    except ValueError:
        fit = None
    return dataclasses.replace(row, fit=fit)


def log_range(lines: list[charts.AlignedLine], start: float, end: float) -> list[float] | None:
    """The log10 y range of the points drawn between years `start` and `end` (Plotly's own
    range would make room for a century of points outside the window)."""
    ys = [y for line in lines for x, y in zip(line.x, line.y, strict=True) if start <= x <= end]
    if not ys:
        return None
    return [math.log10(min(ys)) - 0.2, math.log10(max(ys)) + 0.2]


@dataclasses.dataclass(frozen=True)
class AnalogiesResult:
    chart: Chart
    fits: list[AnalogyRow]


def build_analogies(
    levels: list[Level],
    steps: dict[str, list[FrontierStep]],
    series_slugs: list[str],
    years: int,
    *,
    slug: str = "analogies",
) -> AnalogiesResult:
    """LLM levels beside the historical series on years since each one's breakthrough."""
    until = today_end(timezone.now())
    made = [level_line(level, steps[str(level)], until) for level in levels]
    by_slug = {s.slug: s for s in analogy_series()}
    made += [series_line(by_slug[s]) for s in series_slugs if s in by_slug]
    pairs = [pair for pair in made if pair is not None]
    lines = [line for line, _ in pairs]
    fits = [with_fit(line, row, years) for line, row in pairs]
    years0 = {s.slug: s.breakthrough_date.year for s in by_slug.values() if s.breakthrough_date}
    marks = [
        (year_of(event.when) - years0[event.scope], event.label)
        for event in events.bundled()
        if event.scope in series_slugs and event.scope in years0
    ]
    figure = charts.analogies_figure(lines, events=marks)
    figure["layout"]["xaxis"]["range"] = [-1, years]
    figure["layout"]["yaxis"]["range"] = log_range(lines, -1, years)
    rows = [
        (line.name, round(x, 4), round(y, 6), "measured" if ok else "approximate")
        for line in lines
        for x, y, ok in zip(line.x, line.y, line.reliable, strict=True)
    ]
    chart = Chart(
        slug=slug,
        title="Prices after a breakthrough: LLM tokens and earlier technologies",
        figure=figure,
        columns=ANALOGY_COLUMNS,
        rows=rows,
        caption=(
            "Each series starts at 1 at its breakthrough (year 0) and is drawn on a log scale "
            "in real (inflation-adjusted) prices; LLM levels start the day a model first reached "
            "the level. Hollow markers are approximate figures."
        ),
        sources=sorted(
            {s.source_url or s.source for s in by_slug.values() if s.slug in series_slugs}
        ),
    )
    return AnalogiesResult(chart, fits)


RATE_COLUMNS = ["series", "breakthrough", "fitted_years", "points", "annual_change_percent",
                "cheaper_per_year", "cheaper_per_decade", "halving_years"]  # fmt: skip


def rates_chart(fits: list[AnalogyRow], years: int) -> Chart:
    """The fitted rates side by side, as bars of 'times cheaper per decade' (log x)."""
    fitted = [row for row in fits if row.fit is not None]
    rows = [
        (
            row.name,
            row.breakthrough,
            f"{row.fit.start:g}-{row.fit.end:g}",
            row.fit.points,
            round(row.fit.annual_change * 100, 1),
            round(1 / (1 + row.fit.annual_change), 4),
            round(row.fit.decade_factor, 4),
            round(row.fit.halving_years, 2) if row.fit.halving_years is not None else None,
        )
        for row in fitted
        if row.fit is not None
    ]
    figure = charts.rates_figure([(str(row[0]), float(row[5])) for row in rows])
    return Chart(
        slug="rates",
        title=f"Fitted decline over the first {years} years after each breakthrough",
        figure=figure,
        columns=RATE_COLUMNS,
        rows=rows,
        caption=(
            "A least-squares fit of the log of the real price on time, over reliable points "
            "(approximate figures are drawn but not fitted). Bars show how many times cheaper "
            "each year at that rate."
        ),
    )


def analogies_result(
    request: HttpRequest,
    levels: list[Level],
    series: list[str],
    blend: Blend,
    years: int,
    slug: str = "analogies",
) -> AnalogiesResult:
    key = [slug, ",".join(map(str, levels)), ",".join(series), blend, years]
    return chartkit.cached(
        request,
        "analogies",
        key,
        lambda: build_analogies(
            levels,
            {str(lv): level_steps(request, lv.info, lv.threshold, blend) for lv in levels},
            series,
            years,
            slug=slug,
        ),
    )


@chartkit.chart_page
def analogies_page(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """LLM frontier prices beside aluminium after 1886 and the other bundled series."""
    infos = benchmark_infos(request)
    known = chartkit.cached(
        request, "analogy-series", [], lambda: [s.slug for s in analogy_series()]
    )
    form, state = chartkit.read_state(request, AnalogiesForm, benchmarks=infos, series=known)
    result = analogies_result(
        request, state["levels"], state["series"], state["blend"], state["years"]
    )
    chart_list = [
        toggled(result.chart, state),
        toggled(rates_chart(result.fits, state["years"]), state),
    ]
    context = {"form": form, "state": state, "result": result, "fits": result.fits}
    return chartkit.render_chart_page(
        request, "dashboard/analogies.html", context, chart_list, embed=embed
    )


# --- home -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Headline:
    figure: str  # the number, e.g. "x12" with a multiplication sign
    what: str  # "GPT-4-level tokens cost x12 less than two years ago"
    level: str  # how the level and the figure are defined


def default_level(infos: list[BenchmarkInfo]) -> Level | None:
    levels = parse_levels("", [i for i in infos if i.slug == DEFAULT_BENCHMARK] or infos)
    return levels[0] if levels else None


def short_name(name: str) -> str:
    """'GPT-4 (8k)' -> 'GPT-4': the model, not its variant."""
    return name.split(" (")[0]


def build_headlines(level: Level, steps: list[FrontierStep], now: datetime) -> list[Headline]:
    """Headline figures for one level, each saying how its level and figure are defined."""
    anchor = short_name(level_anchor(level.info.slug, level.threshold))
    tokens = f"{anchor}-level tokens" if anchor else "Tokens at this level"
    defined = level_name(level.info, level.threshold) + (
        f", {anchor}'s own score" if anchor else ""
    )
    blended = "cheapest 3:1 blended price of any model at or above it, per 1M tokens"
    headlines = []
    then, current = step_at(steps, now - timedelta(days=2 * 365.25)), step_at(steps, now)
    if then is not None and current is not None:
        factor = float(then.usd_per_mtok / current.usd_per_mtok)
        headlines.append(
            Headline(
                times(factor),
                f"{tokens} cost {times(factor)} less than two years ago",
                f"Level: {defined}. Price: the {blended}: ${then.usd_per_mtok:.4g} "
                f"({then.label}) two years ago, ${current.usd_per_mtok:.4g} ({current.label}) now.",
            )
        )
    if not steps:
        return headlines
    first, last = steps[0], steps[-1]
    factor = float(first.usd_per_mtok / last.usd_per_mtok)
    headlines.append(
        Headline(
            times(factor),
            f"{tokens} are {times(factor)} cheaper than when a model first reached the level, "
            f"on {first.start:%-d %B %Y}",
            f"Level: {defined}. Price: the {blended}: {first.label} at "
            f"${first.usd_per_mtok:.4g} then, {last.label} at ${last.usd_per_mtok:.4g} now.",
        )
    )
    fit = frontier.fit(steps, now=now)
    if fit is not None and fit.factor_per_year > 1:
        halving = f", halving every {duration(fit.halving_days)}" if fit.halving_days else ""
        headlines.append(
            Headline(
                f"{times(fit.factor_per_year)}/yr",
                f"the fitted rate at which {tokens} get cheaper{halving}",
                f"Level: {defined}. {describe_fit(fit)}",
            )
        )
    years = (now - first.start).days / 365.25
    headlines += aluminium_headline(factor, years, tokens, defined)
    return headlines


def aluminium_headline(factor: float, years: float, tokens: str, defined: str) -> list[Headline]:
    """How long aluminium took after 1886 to fall as far as tokens at the level have."""
    series = Series.objects.filter(slug="aluminium", breakthrough_date__isnull=False).first()
    pair = series_line(series) if series is not None and factor > 1 else None
    if series is None or pair is None:
        return []
    line = pair[0]
    reached = next(
        (x for x, y, ok in zip(line.x, line.y, line.reliable, strict=True)
         if ok and x >= 0 and y <= 1 / factor),
        None,
    )  # fmt: skip
    what = f"{tokens} fell {times(factor)} in {years:.1f} years"
    how = (
        f"Level: {defined}. Aluminium: real prices ({series.title}) relative to the first "
        "reliable price after 1886; approximate 19th-century figures ignored."
    )
    if reached is None:
        return [Headline("never", f"{what}; aluminium never fell that far after 1886", how)]
    return [
        Headline(
            f"{reached:.0f} years",
            f"{what}; aluminium took {reached:.0f} years after 1886 (Hall\N{EN DASH}Héroult)",
            how,
        )
    ]


def step_at(steps: list[FrontierStep], when: datetime) -> FrontierStep | None:
    """The frontier step in force at `when`."""
    return next((s for s in steps if s.start <= when and (s.end is None or when < s.end)), None)


def latest_changes(now: datetime, limit: int = 8) -> list[PriceChange]:
    return list(
        PriceChange.objects.filter(retracted_at__isnull=True, changed_at__lte=now, tier="")
        .select_related("offering__model", "offering__provider")
        .order_by("-changed_at", "-id")[:limit]
    )


# --- price vs capability ----------------------------------------------------------------------

EPOCH = date(1970, 1, 1)
Day = date  # `date` is also a field name of CapabilityForm
CAPABILITY_COLUMNS = ["model", "usd_per_mtok", "score", "on_pareto_frontier"]


def parse_day(text: str, today: date) -> date:
    """An ISO date, or days since 1970-01-01 (what the slider submits with JavaScript off).

    Raises forms.ValidationError; dates after today are refused (prices are not known)."""
    text = text.strip()
    try:
        day = EPOCH + timedelta(days=int(text)) if text.isdigit() else date.fromisoformat(text)
    except (ValueError, OverflowError):
        raise forms.ValidationError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    if not date(2000, 1, 1) <= day <= today:
        raise forms.ValidationError(f"{day} is outside 2000-01-01 to {today}")
    return day


class CapabilityForm(LevelForm):
    date = forms.CharField(required=False, max_length=10, label="Date")

    def clean_date(self) -> Day:
        today = timezone.now().date()
        text = self.cleaned_data.get("date") or ""
        return parse_day(text, today) if text else today


def build_capability(info: BenchmarkInfo, blend: Blend, day: date) -> Chart:
    """Every scored model at its cheapest blended price in force at the end of `day`."""
    at = datetime.combine(day, time.max, tzinfo=UTC)
    points = frontier.pareto(at, info.slug, blend)
    rows = [(p.label, p.usd_per_mtok, p.score, p.on_frontier) for p in points]
    return Chart(
        slug="capability",
        title=f"Price vs {info.label} on {day:%-d %B %Y}, {blend} input:output blend",
        figure=charts.capability_figure(rows, score_label=info.label),
        columns=CAPABILITY_COLUMNS,
        rows=rows,
        caption=(
            f"{len(points)} models with a score and a published input and output price that day, "
            f"each at its cheapest offering. The line joins the models that no cheaper model "
            f"beats on {info.label} (the Pareto frontier)."
        ),
        sources=sorted(score_sources(info.slug)),
    )


def first_priced_day(info: BenchmarkInfo) -> date | None:
    """The first day any offering of a scored model had a price: the slider's start."""
    first = PriceSpan.objects.filter(offering__model__scores__benchmark=info.slug).aggregate(
        first=Min("valid_from")
    )["first"]
    return first.date() if first is not None else None


@chartkit.chart_page
def capability_page(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """A scatter of models by price and score at a date chosen on a slider."""
    infos = benchmark_infos(request)
    form, state = chartkit.read_state(request, CapabilityForm, benchmarks=infos)
    info: BenchmarkInfo | None = state["info"]
    chart_list, slider = [], None
    if info is not None:
        day, blend = state["date"], state["blend"]
        chart = chartkit.cached(
            request,
            "capability",
            [info.slug, blend, day],
            lambda: build_capability(info, blend, day),
        )
        chart_list.append(toggled(chart, state))
        start = chartkit.cached(request, "first-day", [info.slug], lambda: first_priced_day(info))
        today = timezone.now().date()
        slider = {
            "min": ((start or today) - EPOCH).days,
            "max": (today - EPOCH).days,
            "value": (day - EPOCH).days,
            "start": start or today,
            "today": today,
        }
    context = {"form": form, "state": state, "slider": slider}
    return chartkit.render_chart_page(
        request, "dashboard/capability.html", context, chart_list, embed=embed
    )
