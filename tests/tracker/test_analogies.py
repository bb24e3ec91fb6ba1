"""Analogy series: alignment and decline fits (pure), bundled files, real prices, updaters."""

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from scrapers import bls_cpi, worldbank_pinksheet
from scrapers.base import Fetched, ParseError
from tracker import analogies, scraping
from tracker.analogies import Point, SeriesFileError, align, fit_decline, read_series_file
from tracker.models import Series, SeriesPoint

ALUMINIUM_COLLAPSE = [
    Point(1856, 600, reliable=False),  # a popular figure, no primary source
    Point(1888, 11),
    Point(1896, 0.87),
]


def test_alignment_puts_the_breakthrough_at_year_zero_and_the_first_reliable_price_at_one():
    aligned = align(ALUMINIUM_COLLAPSE, breakthrough=1886)
    assert aligned.x == [-30, 2, 10]
    assert aligned.y[1:] == [1.0, pytest.approx(0.87 / 11)]
    assert (aligned.anchor_year, aligned.anchor_value) == (1888, 11)


def test_aluminium_1888_to_1896_falls_about_27_percent_a_year():
    fit = fit_decline(align(ALUMINIUM_COLLAPSE, 1886), 0, 15)
    assert fit.annual_change == pytest.approx((0.87 / 11) ** (1 / 8) - 1)  # -27.2 %
    assert fit.decade_factor == pytest.approx((11 / 0.87) ** (10 / 8))  # x23.8 per decade
    assert (fit.start, fit.end, fit.points) == (2, 10, 2)


def test_approximate_points_neither_anchor_nor_fit():
    points = [Point(1886.5, 100, reliable=False), Point(1887, 20), Point(1889, 5)]
    fit = fit_decline(align(points, 1886), 0, 15)
    assert fit.points == 2 and fit.annual_change == pytest.approx(0.5 - 1)


def test_fit_is_least_squares_over_the_window_only():
    # ln(y) = -0.1 x exactly for x in 0..10, and an outlier at x = 30 outside the window.
    points = [Point(2000 + x, math.exp(-0.1 * x)) for x in range(11)] + [Point(2030, 1000)]
    fit = fit_decline(align(points, 2000), 0, 15)
    assert fit.annual_change == pytest.approx(math.exp(-0.1) - 1)
    assert fit.halving_years == pytest.approx(math.log(2) / 0.1)


def test_an_llm_price_series_aligns_and_fits_like_any_other():
    # Cheapest GPT-4-level input price: GPT-4 $30 (2023-03-14), GPT-4o $5 (2024-05-13),
    # GPT-4o $2.50 (2024-08-06), GPT-4.1 $2 (2025-04-14): year 0 = 2023.
    llm = [
        Point(analogies.decimal_year(date(2023, 3, 14)), 30),
        Point(analogies.decimal_year(date(2024, 5, 13)), 5),
        Point(analogies.decimal_year(date(2024, 8, 6)), 2.5),
        Point(analogies.decimal_year(date(2025, 4, 14)), 2),
    ]
    fit = fit_decline(align(llm, 2023), 0, 15)
    assert -0.8 < fit.annual_change < -0.6


def test_no_reliable_point_after_the_breakthrough_is_an_error():
    with pytest.raises(ValueError, match="anchor"):
        align([Point(1850, 1000)], 1886)


def test_a_window_with_one_point_cannot_be_fitted():
    with pytest.raises(ValueError, match="fewer than two"):
        fit_decline(align([Point(1888, 11)], 1886))


META = """# title: Test price
# unit: US$ per kg
# kind: price
# basis: {basis}
# basis_year: {basis_year}
# source: Test
# source_url: https://example.org/
# licence: CC0
# breakthrough_year: 1886
# breakthrough_event: Test event
# notes: none
"""


def write_series(tmp_path, slug, rows, *, kind="price", basis="nominal", basis_year=""):
    body = META.format(basis=basis, basis_year=basis_year).replace("kind: price", f"kind: {kind}")
    path = tmp_path / f"{slug}.csv"
    path.write_text(body + "date,value,quality,note,source\n" + rows)
    return path


def test_series_file_with_a_bad_quality_names_the_file_and_line(tmp_path):
    path = write_series(tmp_path, "x", "1888,11,measured,,\n1889,9,guessed,,\n")
    with pytest.raises(SeriesFileError, match=r"x.csv line 14: quality 'guessed'"):
        read_series_file(path)


def test_series_file_without_required_metadata_is_refused(tmp_path):
    path = tmp_path / "y.csv"
    path.write_text("# title: only a title\ndate,value,quality,note,source\n")
    with pytest.raises(SeriesFileError, match="metadata lacks unit"):
        read_series_file(path)


@pytest.mark.django_db
def test_nominal_prices_get_real_values_in_dollars_of_the_cpi_last_year(tmp_path):
    cpi = write_series(
        tmp_path, "cpi_us", "1900,25,measured,,\n2000,100,measured,,\n", kind="index"
    )
    metal = write_series(tmp_path, "metal", "1900,1,measured,,\n2000,2,measured,,\n")
    analogies.load_bundled([cpi, metal])
    series = Series.objects.get(slug="metal")
    assert series.cpi_base_year == 2000
    assert [p.real for p in series.points.order_by("date")] == [Decimal(4), Decimal(2)]


@pytest.mark.django_db
def test_constant_dollar_series_is_rebased_and_its_nominal_derived(tmp_path):
    cpi = write_series(
        tmp_path, "cpi_us", "2010,50,measured,,\n2020,100,measured,,\n", kind="index"
    )
    pv = write_series(tmp_path, "pv", "2010,2,measured,,\n", basis="real", basis_year="2020")
    analogies.load_bundled([cpi, pv])
    point = SeriesPoint.objects.get(series__slug="pv")
    assert (point.value, point.nominal, point.real) == (Decimal(2), Decimal(1), Decimal(2))


@pytest.mark.django_db
def test_loading_twice_changes_nothing(tmp_path):
    cpi = write_series(tmp_path, "cpi_us", "1900,25,measured,,\n", kind="index")
    analogies.load_bundled([cpi])
    before = list(SeriesPoint.objects.values())
    analogies.load_bundled([cpi])
    assert list(SeriesPoint.objects.values()) == before


@pytest.mark.django_db
def test_seeding_again_never_undoes_an_updaters_newer_figure(tmp_path):
    cpi = write_series(tmp_path, "cpi_us", "2024,313,measured,,file\n", kind="index")
    analogies.load_bundled([cpi])
    analogies.record_rows({"cpi_us": [analogies.Row(date(2024, 7, 1), Decimal("313.689"),
                                                    "measured", "", "BLS")]})  # fmt: skip
    analogies.load_bundled([cpi])
    assert SeriesPoint.objects.get().value == Decimal("313.689")


def pinksheet(rows, unit="($/mt)", sheet="Annual Prices (Nominal)"):
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["World Bank Commodity Price Data (The Pink Sheet)"])
    ws.append([None, "Crude oil, average", "Aluminum", "Copper"])
    ws.append([None, "($/bbl)", unit, "($/mt)"])
    for row in rows:
        ws.append(row)
    out = BytesIO()
    book.save(out)
    return Fetched(out.getvalue(), worldbank_pinksheet.URL, datetime(2025, 5, 2, tzinfo=UTC))


def test_pinksheet_gives_aluminium_per_kg_from_the_splice_year():
    # World Bank Pink Sheet, May 2025: aluminium 2023 = 2,255.74 $/mt, 2024 = 2,419.02 $/mt.
    fetched = pinksheet(
        [[1992, 20, 1254.0, 2281], [2023, 80.8, 2255.739, 8490], [2024, 78.7, 2419.017, 9142]]
    )
    rows = worldbank_pinksheet.parse(fetched).series["aluminium"]
    assert [(r.when.year, r.value) for r in rows] == [
        (2023, Decimal("2.255739")),
        (2024, Decimal("2.419017")),
    ]


def test_pinksheet_skips_missing_values_and_says_so():
    parsed = worldbank_pinksheet.parse(pinksheet([[2023, 1, "..", 1], [2024, 1, 2419.0, 1]]))
    assert len(parsed.series["aluminium"]) == 1 and sum(parsed.skipped.values()) == 1


def test_pinksheet_with_another_unit_is_refused():
    with pytest.raises(ParseError, match=r"expected '\(\$/mt\)'"):
        worldbank_pinksheet.parse(pinksheet([[2024, 1, 2.4, 1]], unit="($/kg)"))


def test_pinksheet_without_the_sheet_is_refused():
    with pytest.raises(ParseError, match="no sheet"):
        worldbank_pinksheet.parse(pinksheet([[2024, 1, 2.4, 1]], sheet="Monthly Prices"))


def test_html_instead_of_a_workbook_is_refused():
    fetched = Fetched(b"<html>moved</html>", "x", datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ParseError, match="not an xlsx"):
        worldbank_pinksheet.parse(fetched)


def test_bls_gives_annual_averages_of_cpi_u_only():
    body = (scraping_fixtures() / "bls" / "cu.data.1.AllItems").read_bytes()
    parsed = bls_cpi.parse(Fetched(body, bls_cpi.URL, datetime(2025, 2, 1, tzinfo=UTC)))
    assert [(r.when.year, r.value) for r in parsed.series["cpi_us"]] == [
        (1913, Decimal("9.9")),
        (2023, Decimal("304.702")),
        (2024, Decimal("313.689")),
    ]


def test_bls_page_of_another_shape_is_refused():
    with pytest.raises(ParseError, match="expected columns"):
        bls_cpi.parse(Fetched(b"<html></html>", bls_cpi.URL, datetime(2025, 1, 1, tzinfo=UTC)))


def scraping_fixtures():
    from tests.conftest import FIXTURES

    return FIXTURES


@pytest.mark.django_db
def test_cpi_updater_run_updates_the_series_and_real_prices(tmp_path, http_server):
    cpi = write_series(
        tmp_path, "cpi_us", "1913,9.9,measured,,\n2024,300,measured,,\n", kind="index"
    )
    metal = write_series(tmp_path, "metal", "1913,1,measured,,\n")
    analogies.load_bundled([cpi, metal])
    scraping.ensure_sources()
    run = scraping.run_source("bls_cpi", url=http_server + "/bls/cu.data.1.AllItems")
    assert (run.status, run.quotes) == ("succeeded", 3)
    metal_1913 = SeriesPoint.objects.get(series__slug="metal")
    assert metal_1913.real == (Decimal("313.689") / Decimal("9.9")).quantize(Decimal("1E-12"))


@pytest.mark.django_db
def test_updater_before_the_series_is_loaded_fails_clearly(http_server):
    scraping.ensure_sources()
    run = scraping.run_source("bls_cpi", url=http_server + "/bls/cu.data.1.AllItems")
    assert run.status == "failed" and "run manage.py seed first" in run.error


@pytest.mark.django_db
def test_analogies_command_prints_span_fit_and_source(tmp_path, capsys):
    cpi = write_series(tmp_path, "cpi_us", "1888,27,measured,,\n1896,25,measured,,\n", kind="index")
    metal = write_series(tmp_path, "metal", "1888,11,measured,,\n1896,0.87,measured,,\n")
    analogies.load_bundled([cpi, metal])
    call_command("analogies")
    out = capsys.readouterr().out
    assert "metal (Test price; US$ per kg; 1888-1896, 2 points)" in out
    assert "breakthrough 1886" in out and "%/yr" in out and "source: Test [CC0]" in out


def test_a_growing_quantity_is_described_as_more_not_cheaper():
    fit = fit_decline(align([Point(1895, 1150), Point(1900, 6800)], 1886))
    assert "more per decade" in fit.describe(price=False)


def test_a_rising_price_is_described_as_dearer():
    fit = fit_decline(align([Point(2000, 1), Point(2010, 2)], 2000))
    assert "x2 dearer per decade" in fit.describe()


@pytest.mark.parametrize("path", analogies.bundled_files(), ids=lambda p: p.stem)
def test_every_bundled_series_parses_and_cites_its_source_and_licence(path):
    parsed = read_series_file(path)
    assert parsed.rows and parsed.meta["source"] and parsed.meta["licence"]
    assert [r.when for r in parsed.rows] == sorted({r.when for r in parsed.rows})


def test_the_bundled_aluminium_series_holds_the_1888_to_1896_collapse():
    rows = {r.when.year: r for r in read_series_file(analogies.SERIES_DIR / "aluminium.csv").rows}
    assert (rows[1888].value, rows[1896].value) == (Decimal("11.0"), Decimal("0.8708"))
    assert rows[1852].quality == "approximate"  # "$1,200/kg in 1852" has no primary source


@pytest.mark.django_db
def test_seed_loads_every_bundled_series_with_real_prices():
    analogies.load_bundled()
    aluminium = Series.objects.get(slug="aluminium")
    assert Series.objects.count() == len(analogies.bundled_files())
    assert aluminium.cpi_base_year is not None and aluminium.breakthrough_date.year == 1886
    assert aluminium.points.filter(real__isnull=True).count() == 0
