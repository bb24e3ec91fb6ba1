"""Pure functions for the exploration pages (model, provider, compare): plain values in, Plotly
figure dicts, table rows and workload costs out. No database, no request."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from dashboard.charts import PALETTE, PriceLine, step_points

Step = tuple[datetime, datetime | None, Decimal]
MTOK = Decimal(1_000_000)

# One line style per meter, so that a provider keeps its colour across its meters.
METER_DASH = {
    "input": "solid",
    "output": "dash",
    "cache_read": "dot",
    "cache_write": "dashdot",
    "batch_input": "longdash",
    "batch_output": "longdashdot",
    "reasoning": "5px,3px,1px,3px",
    "input_audio": "solid",
    "output_audio": "dash",
}
STEP_COLUMNS = ["series", "meter", "from", "to", "value"]


def trace_name(line: PriceLine, shared_meter: bool = False) -> str:
    """The legend entry of a line: its name, and its meter where it has one that not every
    line of the chart shares (then the title says it)."""
    return f"{line.name} · {line.meter}" if line.meter and not shared_meter else line.name


def step_figure(
    lines: Sequence[PriceLine],
    until: datetime,
    *,
    scale: str = "log",
    y_title: str = "USD per 1M tokens",
    hover_unit: str = "per 1M tokens",
    title: str = "",
) -> dict[str, Any]:
    """One step line (shape 'hv', exact, drawn from spans) per line. Lines that share a name
    share a colour and a legend group; meters differ by dash, and are named in the legend
    unless every line has the same one. Lines not `featured` wait in the legend."""
    names = list(dict.fromkeys(line.name for line in lines))
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    data: list[dict[str, Any]] = []
    shared = len({line.meter for line in lines}) == 1
    for line in lines:
        xs, ys = step_points(line.steps, until)
        if not xs:
            continue
        name = trace_name(line, shared)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "legendgroup": line.name,
                "x": xs,
                "y": ys,
                "connectgaps": False,
                "visible": True if line.featured else "legendonly",
                "line": {
                    "shape": "hv",
                    "width": 2,
                    "color": colours[line.name],
                    "dash": METER_DASH.get(line.meter, "solid"),
                },
                "hovertemplate": f"<b>{_escape(name)}</b><br>%{{x|%Y-%m-%d}}: "
                f"$%{{y:,.4~f}} {hover_unit}<extra></extra>",
            }
        )
    return {"data": data, "layout": _layout(y_title, scale, title)}


def _layout(y_title: str, scale: str, title: str) -> dict[str, Any]:
    axis = {"gridcolor": "#e5e7eb", "linecolor": "#d0d7de", "zeroline": False}
    return {
        "title": {"text": title} if title else None,
        "height": 460,
        "margin": {"l": 64, "r": 16, "t": 32 if title else 16, "b": 40},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1b1f24"},
        # Below the plot: on a phone a legend at the side would leave no room for the lines.
        "legend": {"orientation": "h", "y": -0.15, "font": {"size": 11}},
        "xaxis": {**axis, "type": "date"},
        "yaxis": {
            **axis,
            "type": "log" if scale == "log" else "linear",
            "title": {"text": y_title},
            "tickprefix": "$",
        },
    }


def _escape(text: str) -> str:
    """Plotly renders trace names in hover labels as HTML-like markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def step_rows(lines: Iterable[PriceLine]) -> list[tuple[str, str, str, str, Decimal]]:
    """The chart's data as table/CSV rows, one per step: (series, meter, from, to, value)."""
    return [
        (line.name, line.meter, start.isoformat(), end.isoformat() if end else "", price)
        for line in lines
        for start, end, price in sorted(line.steps, key=lambda step: step[0])
    ]


Piece = tuple[datetime, datetime | None, dict[str, Decimal]]


def combine(series: Mapping[str, Sequence[Step]]) -> list[Piece]:
    """Cut time at every boundary of every step function; for each piece, the value of each
    series in force over it (a series with no step there is absent). Pieces with no value at
    all are left out."""
    bounds = sorted(
        {start for steps in series.values() for start, _, _ in steps}
        | {end for steps in series.values() for _, end, _ in steps if end is not None}
    )
    cursors = {name: sorted(steps, key=lambda step: step[0]) for name, steps in series.items()}
    pieces: list[Piece] = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        values = {
            name: price
            for name, steps in cursors.items()
            for s, e, price in steps
            if s <= start and (e is None or start < e)
        }
        if values:
            pieces.append((start, end, values))
    return pieces


def value_at(steps: Iterable[Step], at: datetime) -> Decimal | None:
    """The value of a step function at `at` (None where no step covers it)."""
    for start, end, value in steps:
        if start <= at and (end is None or at < end):
            return value
    return None


def merge_steps(steps: Iterable[Step]) -> list[Step]:
    """Adjacent steps with the same value become one."""
    merged: list[Step] = []
    for start, end, value in steps:
        if merged and merged[-1][1] == start and merged[-1][2] == value:
            merged[-1] = (merged[-1][0], end, value)
        else:
            merged.append((start, end, value))
    return merged


# --- the token-mix calculator -------------------------------------------------------------

SHARES = ("input", "cached", "output", "reasoning")
SHARE_LABELS = {
    "input": "Input",
    "cached": "Cached input",
    "output": "Output",
    "reasoning": "Reasoning",
}
METER_LABELS = {
    "input": "input",
    "output": "output",
    "cache_read": "cached-input",
    "batch_input": "batch input",
    "batch_output": "batch output",
    "reasoning": "reasoning",
}


@dataclass(frozen=True)
class Mix:
    """A monthly workload: how many tokens, and which share of them each kind is (shares are
    fractions that sum to 1). `batch` prices input and output at the batch rates."""

    tokens: int
    input: Decimal
    cached: Decimal = Decimal(0)
    output: Decimal = Decimal(0)
    reasoning: Decimal = Decimal(0)
    batch: bool = False

    def share(self, kind: str) -> Decimal:
        value: Decimal = getattr(self, kind)
        return value

    def chain(self, kind: str) -> tuple[str, ...]:
        """The meters that may price `kind`, preferred first: a missing one falls back to the
        next (cached input at the input price, reasoning at the output price, batch at the
        ordinary price)."""
        input_chain = ("batch_input", "input") if self.batch else ("input",)
        output_chain = ("batch_output", "output") if self.batch else ("output",)
        return {
            "input": input_chain,
            "cached": ("cache_read", *input_chain),
            "output": output_chain,
            "reasoning": ("reasoning", *output_chain),
        }[kind]

    def meters(self) -> set[str]:
        """Every meter this mix may need."""
        return {meter for kind in SHARES if self.share(kind) > 0 for meter in self.chain(kind)}


@dataclass
class Workload:
    """What a mix costs on one offering over time (USD per month), and how it was priced."""

    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def workload_cost(prices: Mapping[str, Sequence[Step]], mix: Mix) -> Workload:
    """The monthly cost of `mix` over time from each meter's published steps. Where the
    preferred meter of a share is not priced, the next in its chain is used and a note says
    so; where none is, that stretch has no cost (a gap) and a note says that too."""
    result = Workload()
    fallbacks: dict[tuple[str, str], list[Stretch]] = {}
    unpriced: dict[str, list[Stretch]] = {}
    costs: list[Step] = []
    needed = mix.meters()
    for start, end, values in combine({m: s for m, s in prices.items() if m in needed}):
        total = Decimal(0)
        complete = True
        for kind in SHARES:
            share = mix.share(kind)
            if share == 0:
                continue
            chain = mix.chain(kind)
            used = next((meter for meter in chain if meter in values), None)
            if used is None:
                unpriced.setdefault(kind, []).append((start, end))
                complete = False
                continue
            if used != chain[0]:
                fallbacks.setdefault((kind, used), []).append((start, end))
            total += mix.tokens * share * values[used] / MTOK
        if complete:
            costs.append((start, end, total))
    result.steps = merge_steps(costs)
    wanted = {kind: mix.chain(kind)[0] for kind in SHARES}
    for (kind, used), stretches in fallbacks.items():
        result.notes.append(
            f"{SHARE_LABELS[kind]}: no {METER_LABELS[wanted[kind]]} price "
            f"{_when(stretches)}; charged at the {METER_LABELS[used]} price."
        )
    for kind, stretches in unpriced.items():
        result.notes.append(
            f"{SHARE_LABELS[kind]}: no price for it at all {_when(stretches)}; no cost drawn there."
        )
    return result


Stretch = tuple[datetime, datetime | None]


def _when(stretches: list[Stretch]) -> str:
    """'since 2025-01-01', 'from 2025-01-01 to 2025-06-01', or the first two stretches and
    how many more: where a fallback applied, in words."""
    merged: list[Stretch] = []
    for start, end in stretches:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    words = [
        f"since {start:%Y-%m-%d}" if end is None else f"from {start:%Y-%m-%d} to {end:%Y-%m-%d}"
        for start, end in merged
    ]
    more = f" and {len(words) - 2} more times" if len(words) > 2 else ""
    return ", ".join(words[:2]) + more


def workload_rows(
    named: Mapping[str, Workload],
) -> list[tuple[str, str, str, Decimal]]:
    """Table/CSV rows of the workload chart: (offering, from, to, usd_per_month)."""
    return [
        (name, start.isoformat(), end.isoformat() if end else "", cost)
        for name, workload in named.items()
        for start, end, cost in workload.steps
    ]
