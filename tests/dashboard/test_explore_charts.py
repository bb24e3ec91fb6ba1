"""The exploration pages' figure and workload functions are pure: plain values in, no database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dashboard.charts import PriceLine
from dashboard.explore_charts import (
    Mix,
    combine,
    merge_steps,
    step_figure,
    step_rows,
    value_at,
    workload_cost,
    workload_rows,
)
from dashboard.templatetags.explore_tags import every, ratio_pct, signed_pct

D = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
NOW = D(2026, 1, 1)


def test_step_figure_draws_one_exact_step_line_per_line():
    lines = [
        PriceLine("Acme", "input", [(D(2025, 1, 1), None, Decimal(5))]),
        PriceLine("Acme", "output", [(D(2025, 1, 1), None, Decimal(15))]),
        PriceLine("Bolt", "input", [(D(2025, 2, 1), None, Decimal(4))]),
    ]
    fig = step_figure(lines, NOW)
    assert [t["name"] for t in fig["data"]] == ["Acme · input", "Acme · output", "Bolt · input"]
    assert {t["line"]["shape"] for t in fig["data"]} == {"hv"}
    assert fig["data"][0]["y"] == [5.0, 5.0] and fig["data"][0]["x"][-1] == NOW.isoformat()


def test_a_seller_keeps_its_colour_and_meters_differ_by_dash():
    lines = [
        PriceLine("Acme", "input", [(D(2025, 1, 1), None, Decimal(5))]),
        PriceLine("Acme", "output", [(D(2025, 1, 1), None, Decimal(15))]),
    ]
    first, second = step_figure(lines, NOW)["data"]
    assert first["line"]["color"] == second["line"]["color"]
    assert first["line"]["dash"] != second["line"]["dash"]


def test_a_meter_every_line_shares_is_left_out_of_the_legend():
    lines = [
        PriceLine("Acme", "output", [(D(2025, 1, 1), None, Decimal(15))]),
        PriceLine("Bolt", "output", [(D(2025, 1, 1), None, Decimal(12))]),
    ]
    assert [t["name"] for t in step_figure(lines, NOW)["data"]] == ["Acme", "Bolt"]


def test_lines_not_featured_wait_in_the_legend():
    line = PriceLine("Acme", "input", [(D(2025, 1, 1), None, Decimal(5))], featured=False)
    assert step_figure([line], NOW)["data"][0]["visible"] == "legendonly"


def test_lines_without_steps_draw_no_trace():
    assert step_figure([PriceLine("Acme", "input", [])], NOW)["data"] == []


def test_hover_names_are_escaped():
    line = PriceLine("<b>x</b>", "input", [(D(2025, 1, 1), None, Decimal(5))])
    assert "<b>x</b>" not in step_figure([line], NOW)["data"][0]["hovertemplate"]


def test_step_rows_are_the_charts_steps_in_time_order():
    line = PriceLine(
        "Acme",
        "input",
        [(D(2025, 2, 1), None, Decimal("2.5")), (D(2025, 1, 1), D(2025, 2, 1), Decimal(5))],
    )
    assert step_rows([line]) == [
        ("Acme", "input", D(2025, 1, 1).isoformat(), D(2025, 2, 1).isoformat(), Decimal(5)),
        ("Acme", "input", D(2025, 2, 1).isoformat(), "", Decimal("2.5")),
    ]


def test_combine_cuts_time_at_every_boundary():
    pieces = combine(
        {
            "input": [
                (D(2025, 1, 1), D(2025, 3, 1), Decimal(5)),
                (D(2025, 3, 1), None, Decimal(2)),
            ],
            "output": [(D(2025, 2, 1), None, Decimal(10))],
        }
    )
    assert pieces == [
        (D(2025, 1, 1), D(2025, 2, 1), {"input": Decimal(5)}),
        (D(2025, 2, 1), D(2025, 3, 1), {"input": Decimal(5), "output": Decimal(10)}),
        (D(2025, 3, 1), None, {"input": Decimal(2), "output": Decimal(10)}),
    ]


def test_combine_leaves_out_stretches_with_no_price():
    pieces = combine({"input": [(D(2025, 1, 1), D(2025, 2, 1), Decimal(5))]})
    assert pieces == [(D(2025, 1, 1), D(2025, 2, 1), {"input": Decimal(5)})]


def test_merge_steps_joins_equal_neighbours_only():
    steps = [
        (D(2025, 1, 1), D(2025, 2, 1), Decimal(1)),
        (D(2025, 2, 1), D(2025, 3, 1), Decimal(1)),
        (D(2025, 4, 1), None, Decimal(1)),
    ]
    assert merge_steps(steps) == [
        (D(2025, 1, 1), D(2025, 3, 1), Decimal(1)),
        (D(2025, 4, 1), None, Decimal(1)),
    ]


def test_value_at_finds_the_step_in_force():
    steps = [(D(2025, 1, 1), D(2025, 2, 1), Decimal(5)), (D(2025, 2, 1), None, Decimal(2))]
    assert (value_at(steps, D(2025, 1, 15)), value_at(steps, D(2025, 2, 1))) == (5, 2)
    assert value_at(steps, D(2024, 1, 1)) is None


def half(input="0", cached="0", output="0", reasoning="0", batch=False, tokens=2_000_000):
    return Mix(
        tokens=tokens,
        input=Decimal(input),
        cached=Decimal(cached),
        output=Decimal(output),
        reasoning=Decimal(reasoning),
        batch=batch,
    )


PRICES = {
    "input": [(D(2025, 1, 1), None, Decimal(4))],
    "output": [(D(2025, 1, 1), None, Decimal(12))],
}


def test_workload_cost_is_tokens_times_share_times_price():
    work = workload_cost(PRICES, half(input="0.5", output="0.5"))
    # 1M input at $4 + 1M output at $12.
    assert work.steps == [(D(2025, 1, 1), None, Decimal(16))] and work.notes == []


def test_cached_input_without_its_price_is_charged_at_the_input_price_and_noted():
    work = workload_cost(PRICES, half(cached="1"))
    assert work.steps == [(D(2025, 1, 1), None, Decimal(8))]
    assert work.notes == [
        "Cached input: no cached-input price since 2025-01-01; charged at the input price."
    ]


def test_reasoning_without_its_price_is_charged_at_the_output_price():
    work = workload_cost(PRICES, half(reasoning="1"))
    assert work.steps[0][2] == Decimal(24) and "output price" in work.notes[0]


def test_batch_uses_batch_prices_where_published():
    prices = {**PRICES, "batch_input": [(D(2025, 1, 1), None, Decimal(2))]}
    work = workload_cost(prices, half(input="0.5", output="0.5", batch=True))
    # Batch input at $2; no batch output price: output at $12, and a note says so.
    assert work.steps[0][2] == Decimal(2 + 12)
    assert work.notes == [
        "Output: no batch output price since 2025-01-01; charged at the output price."
    ]


def test_a_cached_price_that_starts_later_is_used_from_then_on():
    prices = {**PRICES, "cache_read": [(D(2025, 6, 1), None, Decimal(1))]}
    work = workload_cost(prices, half(cached="1"))
    assert work.steps == [
        (D(2025, 1, 1), D(2025, 6, 1), Decimal(8)),
        (D(2025, 6, 1), None, Decimal(2)),
    ]
    assert work.notes == [
        "Cached input: no cached-input price from 2025-01-01 to 2025-06-01; "
        "charged at the input price."
    ]


def test_no_price_at_all_leaves_a_gap_and_says_so():
    prices = {
        "input": [(D(2025, 1, 1), None, Decimal(4))],
        "output": [(D(2025, 3, 1), None, Decimal(12))],
    }
    work = workload_cost(prices, half(input="0.5", output="0.5"))
    assert work.steps == [(D(2025, 3, 1), None, Decimal(16))]
    assert work.notes == [
        "Output: no price for it at all from 2025-01-01 to 2025-03-01; no cost drawn there."
    ]


def test_mix_needs_only_the_meters_of_its_nonzero_shares():
    assert half(input="1").meters() == {"input"}
    assert half(cached="0.5", reasoning="0.5", batch=True).meters() == {
        "cache_read", "batch_input", "input", "reasoning", "batch_output", "output",
    }  # fmt: skip


def test_workload_rows_are_the_workload_steps():
    work = workload_cost(PRICES, half(input="1"))
    assert workload_rows({"Acme": work}) == [("Acme", D(2025, 1, 1).isoformat(), "", Decimal(8))]


def test_changes_read_as_signed_percentages_with_a_true_minus():
    assert (ratio_pct(Decimal("0.5")), ratio_pct(Decimal("1.25"))) == ("\N{MINUS SIGN}50%", "+25%")
    assert signed_pct(Decimal("0.004")) == "+0.4%" and ratio_pct(None) == ""


def test_schedules_read_as_people_say_them():
    assert [every(timedelta(hours=6)), every(timedelta(days=1)), every(timedelta(minutes=90))] == [
        "6 hours",
        "1 day",
        "90 minutes",
    ]
