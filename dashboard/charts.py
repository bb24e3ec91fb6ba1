"""Pure functions from plain values to Plotly figure dicts. No database, no request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
