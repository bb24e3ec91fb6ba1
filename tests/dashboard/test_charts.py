"""Chart functions are pure: plain values in, a Plotly figure dict out. No database."""

from datetime import UTC, datetime
from decimal import Decimal

from dashboard.charts import PriceLine, price_history_figure, step_points

D = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
NOW = D(2026, 1, 1)


def test_open_step_is_drawn_up_to_now():
    xs, ys = step_points([(D(2024, 5, 13), None, Decimal(5))], NOW)
    assert (xs, ys) == (["2024-05-13T00:00:00+00:00", NOW.isoformat()], [5.0, 5.0])


def test_price_change_is_a_new_step():
    steps = [(D(2024, 5, 13), D(2024, 8, 6), Decimal(5)), (D(2024, 8, 6), None, Decimal("2.5"))]
    _, ys = step_points(steps, NOW)
    assert ys == [5.0, 2.5, 2.5]


def test_gap_where_no_price_was_in_force_breaks_the_line():
    steps = [(D(2024, 1, 1), D(2024, 2, 1), Decimal(1)), (D(2024, 3, 1), None, Decimal(1))]
    xs, ys = step_points(steps, NOW)
    assert None in xs and None in ys


def test_figure_has_log_y_step_lines_one_trace_per_model_and_meter():
    lines = [
        PriceLine("GPT-4o", "input", [(D(2024, 5, 13), None, Decimal(5))]),
        PriceLine("GPT-4o", "output", [(D(2024, 5, 13), None, Decimal(15))]),
    ]
    fig = price_history_figure(lines, NOW)
    assert [t["line"]["shape"] for t in fig["data"]] == ["hv", "hv"]
    assert fig["layout"]["yaxis"]["type"] == "log" and fig["layout"]["yaxis2"]["type"] == "log"
    assert [t["showlegend"] for t in fig["data"]] == [True, False]


def test_hover_shows_the_exact_price_and_date():
    fig = price_history_figure(
        [PriceLine("o3", "input", [(D(2025, 6, 10), None, Decimal(2))])], NOW
    )
    assert "%{x|%Y-%m-%d}" in fig["data"][0]["hovertemplate"]
    assert "$%{y" in fig["data"][0]["hovertemplate"]


def test_models_not_featured_wait_in_the_legend():
    lines = [
        PriceLine("Claude 2.1", "input", [(D(2023, 11, 21), None, Decimal(8))], featured=False)
    ]
    assert price_history_figure(lines, NOW)["data"][0]["visible"] == "legendonly"
