"""Pure functions from plain values to Plotly figure dicts. No database, no request."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from plotly.subplots import make_subplots

PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
]  # fmt: skip


@dataclass(frozen=True)
class PriceLine:
    """One model's published price for one meter: steps (start, end or None, usd_per_mtok)."""

    name: str
    meter: str
    steps: list[tuple[datetime, datetime | None, Decimal]]
    featured: bool = True  # drawn at first; the others wait in the legend


def step_points(
    steps: list[tuple[datetime, datetime | None, Decimal]], until: datetime
) -> tuple[list[str | None], list[float | None]]:
    """x/y points for a step line (shape 'hv'): a gap where no price was in force, and an open
    step drawn up to `until`."""
    xs: list[str | None] = []
    ys: list[float | None] = []
    previous_end: datetime | None = None
    for start, end, price in sorted(steps, key=lambda step: step[0]):
        if xs and previous_end is not None and previous_end < start:
            xs += [previous_end.isoformat(), None]
            ys += [ys[-1], None]
        xs.append(start.isoformat())
        ys.append(float(price))
        previous_end = end
    if xs:
        last_x = previous_end if previous_end is not None else max(until, _parse(xs[-1]))
        xs.append(last_x.isoformat())
        ys.append(ys[-1])
    return xs, ys


def _parse(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def price_history_figure(lines: list[PriceLine], until: datetime) -> dict[str, Any]:
    """Input price above, output price below, one colour per model, log y, exact steps."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Input price", "Output price"),
    )
    names = sorted({line.name for line in lines})
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    # One legend entry per model: on its input trace, or its output trace if it has no input.
    with_input = {line.name for line in lines if line.meter == "input"}
    for line in sorted(lines, key=lambda line: (line.name, line.meter)):
        xs, ys = step_points(line.steps, until)
        if not xs:
            continue
        row = 1 if line.meter == "input" else 2
        fig.add_scatter(
            x=xs,
            y=ys,
            name=line.name,
            legendgroup=line.name,
            showlegend=row == 1 or line.name not in with_input,
            mode="lines",
            line={"shape": "hv", "width": 2, "color": colours[line.name]},
            connectgaps=False,
            visible=True if line.featured else "legendonly",
            hovertemplate=f"<b>{line.name}</b> {line.meter}<br>%{{x|%Y-%m-%d}}: "
            "$%{y:,.4~f} per 1M tokens<extra></extra>",
            row=row,
            col=1,
        )
    fig.update_yaxes(type="log", title_text="USD per 1M tokens", tickprefix="$")
    fig.update_layout(
        height=760,
        margin={"l": 70, "r": 20, "t": 40, "b": 40},
        hovermode="closest",
        legend={"font": {"size": 11}},
        template="plotly_white",
    )
    result: dict[str, Any] = fig.to_plotly_json()
    return result


# --- the deflation story: frontier, price vs capability, analogies ----------------------------

# (when, label): an event annotation as plain values (dashboard/events.py reads them).
EventMark = tuple[date, str]
GRID = "#e1e4e8"
FRONTIER_COLOUR = "#0b5cad"
FIT_COLOUR = "#bf4b00"


def base_layout(**overrides: Any) -> dict[str, Any]:
    """A light layout without Plotly's template (which would add ~10 KB to every figure):
    white, thin grid, legend below the plot so the plot keeps its width on a phone."""
    axis = {"gridcolor": GRID, "linecolor": "#8c959f", "zeroline": False, "automargin": True}
    layout: dict[str, Any] = {
        "height": 460,
        "margin": {"l": 10, "r": 10, "t": 20, "b": 10},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1b1f24"},
        "hovermode": "closest",
        "legend": {"orientation": "h", "x": 0, "y": -0.18, "yanchor": "top"},
        "xaxis": dict(axis),
        "yaxis": dict(axis),
        "meta": {"scale_axes": ["yaxis"]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def event_marks(
    events: Sequence[tuple[float | date | datetime | str, str]], *, xref: str = "x"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(shapes, annotations) for event annotations: a dotted vertical line and a rotated label,
    both named 'event' so that the page can toggle them (dashboard.chartkit)."""
    shapes, annotations = [], []
    for when, label in events:
        x = when.isoformat() if isinstance(when, date | datetime) else when
        shapes.append(
            {
                "type": "line", "name": "event", "xref": xref, "yref": "paper",
                "x0": x, "x1": x, "y0": 0, "y1": 1,
                "line": {"color": "#8c959f", "width": 1, "dash": "dot"},
            }
        )  # fmt: skip
        annotations.append(
            {
                "name": "event", "xref": xref, "yref": "paper", "x": x, "y": 1,
                "text": label, "showarrow": False, "textangle": -90,
                "xanchor": "right", "yanchor": "top", "font": {"size": 10, "color": "#57606a"},
            }
        )  # fmt: skip
    return shapes, annotations


def with_events(
    figure: dict[str, Any], events: Sequence[tuple[float | date | datetime | str, str]]
) -> dict[str, Any]:
    """`figure` with event annotations added (for figures built elsewhere, e.g. make_subplots)."""
    shapes, annotations = event_marks(events)
    layout = figure.setdefault("layout", {})
    layout["shapes"] = [*layout.get("shapes", []), *shapes]
    layout["annotations"] = [*layout.get("annotations", []), *annotations]
    return figure


def in_range(events: Sequence[EventMark], start: datetime, end: datetime) -> list[EventMark]:
    """The events that fall inside the drawn time range (others would stretch the axis)."""
    return [(when, label) for when, label in events if start.date() <= when <= end.date()]


# (start, end or None, blended usd_per_mtok, label): one step of the frontier.
FrontierRow = tuple[datetime, datetime | None, Decimal, str]


def fit_line(
    steps: Sequence[FrontierRow], factor_per_year: float, until: datetime
) -> list[tuple[datetime, float]]:
    """The fitted decline as two points, (first step's start, price) and (until, price).

    The slope is the fit's; the level is the least-squares one for that slope over the same
    points tracker.frontier.fit() uses (each step's start, and the last price at `until`)."""
    points = [(start, float(price)) for start, _, price, _ in steps]
    last_end = steps[-1][1] or until
    if last_end > steps[-1][0]:
        points.append((last_end, float(steps[-1][2])))
    years = [_years(at) for at, _ in points]
    slope = -math.log(factor_per_year)
    level = sum(math.log(p) - slope * x for (_, p), x in zip(points, years, strict=True)) / len(
        points
    )
    ends = [points[0][0], points[-1][0]]
    return [(at, math.exp(level + slope * _years(at))) for at in ends]


def _years(at: datetime) -> float:
    return at.timestamp() / (365.25 * 86400)


def frontier_figure(
    steps: Sequence[FrontierRow],
    until: datetime,
    *,
    level: str,
    fit: tuple[list[tuple[datetime, float]], str] | None = None,
    events: Sequence[EventMark] = (),
) -> dict[str, Any]:
    """The frontier as an exact step line (log y), its models labelled where the cheapest
    model changes, the fitted decline as a dashed line, and event annotations."""
    xs, ys = step_points([(s, e, p) for s, e, p, _ in steps], until)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter", "mode": "lines", "name": f"Cheapest price at {level}",
            "x": xs, "y": ys, "line": {"shape": "hv", "width": 2.5, "color": FRONTIER_COLOUR},
            "connectgaps": False,
            "hovertemplate": "%{x|%Y-%m-%d}: $%{y:,.4~f} per 1M tokens<extra></extra>",
        }
    ]  # fmt: skip
    changes = [row for i, row in enumerate(steps) if i == 0 or steps[i - 1][3] != row[3]]
    data.append(
        {
            "type": "scatter", "mode": "markers+text", "name": "Model on the frontier",
            "x": [s.isoformat() for s, _, _, _ in changes],
            "y": [float(p) for _, _, p, _ in changes],
            "text": [label for _, _, _, label in changes],
            "textposition": "top right", "textfont": {"size": 10, "color": "#1b1f24"},
            "marker": {"size": 7, "color": FRONTIER_COLOUR},
            "hovertemplate": "<b>%{text}</b><br>from %{x|%Y-%m-%d}: $%{y:,.4~f}<extra></extra>",
        }
    )  # fmt: skip
    if fit is not None:
        line, name = fit
        data.append(
            {
                "type": "scatter", "mode": "lines", "name": name,
                "x": [at.isoformat() for at, _ in line], "y": [price for _, price in line],
                "line": {"dash": "dash", "width": 2, "color": FIT_COLOUR}, "hoverinfo": "skip",
            }
        )  # fmt: skip
    shapes, annotations = event_marks(in_range(events, steps[0][0], until) if steps else [])
    return {
        "data": data,
        "layout": base_layout(
            yaxis={
                "type": "log",
                "title": {"text": "USD per 1M tokens (blended)"},
                "tickprefix": "$",
            },
            xaxis={"type": "date"},
            shapes=shapes,
            annotations=annotations,
        ),
    }


# (label, blended usd_per_mtok, score, on_frontier): one model on the price-capability plane.
ScatterRow = tuple[str, Decimal, Decimal, bool]


def capability_figure(points: Sequence[ScatterRow], *, score_label: str) -> dict[str, Any]:
    """Models by blended price (x, log) and score (y), with the Pareto frontier as a staircase
    through the models nothing cheaper beats."""
    frontier = sorted((p for p in points if p[3]), key=lambda p: p[1])
    others = [p for p in points if not p[3]]
    hover = "<b>%{text}</b><br>$%{x:,.4~f} per 1M tokens<br>score %{y}<extra></extra>"
    data = [
        {
            "type": "scatter", "mode": "markers", "name": "Other models",
            "x": [float(p[1]) for p in others], "y": [float(p[2]) for p in others],
            "text": [p[0] for p in others], "hovertemplate": hover,
            "marker": {"size": 8, "color": "#8c959f", "opacity": 0.8},
        },
        {
            "type": "scatter", "mode": "lines+markers+text", "name": "Pareto frontier",
            "x": [float(p[1]) for p in frontier], "y": [float(p[2]) for p in frontier],
            "text": [p[0] for p in frontier], "hovertemplate": hover,
            "textposition": "top center", "textfont": {"size": 10}, "cliponaxis": False,
            "line": {"shape": "hv", "color": FRONTIER_COLOUR, "width": 2},
            "marker": {"size": 9, "color": FRONTIER_COLOUR},
        },
    ]  # fmt: skip
    return {
        "data": data,
        "layout": base_layout(
            xaxis={"type": "log", "title": {"text": "Blended USD per 1M tokens (log)"},
                   "tickprefix": "$"},
            yaxis={"title": {"text": score_label}},
            meta={"scale_axes": ["xaxis"]},
        ),
    }  # fmt: skip


@dataclass(frozen=True)
class AlignedLine:
    """A series on the analogy axes: years since its breakthrough, price relative to year 0."""

    name: str
    x: list[float]
    y: list[float]
    reliable: list[bool]
    llm: bool = False  # LLM levels are drawn bold; historical series thin


def analogies_figure(
    lines: Sequence[AlignedLine], *, events: Sequence[tuple[float, str]] = ()
) -> dict[str, Any]:
    """Every series from its breakthrough (x = 0) on a log y relative to its first price;
    approximate points are hollow markers."""
    data: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        data.append(
            {
                "type": "scatter", "mode": "lines+markers", "name": line.name,
                "x": line.x, "y": line.y, "connectgaps": False,
                "line": {"color": colour, "width": 3 if line.llm else 1.5,
                         "shape": "hv" if line.llm else "linear"},
                "marker": {"size": [5 if ok else 7 for ok in line.reliable],
                           "symbol": ["circle" if ok else "circle-open" for ok in line.reliable],
                           "color": colour},
                "hovertemplate": f"<b>{line.name}</b><br>year %{{x:.1f}}: %{{y:.3~g}} times "
                "the year-0 price<extra></extra>",
            }
        )  # fmt: skip
    shapes, annotations = event_marks(events)
    return {
        "data": data,
        "layout": base_layout(
            height=520,
            xaxis={"title": {"text": "Years since the breakthrough"}, "zeroline": True},
            yaxis={"type": "log", "title": {"text": "Real price relative to year 0"}},
            shapes=shapes,
            annotations=annotations,
        ),
    }  # fmt: skip


def rates_figure(rates: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """Horizontal bars: how many times cheaper per year each series fell (log x)."""
    ordered = sorted(rates, key=lambda item: item[1])
    return {
        "data": [
            {
                "type": "bar", "orientation": "h", "name": "Times cheaper per year",
                "y": [name for name, _ in ordered], "x": [factor for _, factor in ordered],
                "marker": {"color": [FRONTIER_COLOUR if name.startswith("LLM") else "#8c959f"
                                     for name, _ in ordered]},
                "hovertemplate": "<b>%{y}</b><br>%{x:.3~g} times cheaper per decade<extra></extra>",
            }
        ],
        "layout": base_layout(
            height=max(260, 40 * len(ordered) + 80),
            xaxis={"type": "log", "title": {"text": "Times cheaper per year (log)"}},
            yaxis={"automargin": True},
            meta={"scale_axes": ["xaxis"]},
            showlegend=False,
        ),
    }  # fmt: skip
