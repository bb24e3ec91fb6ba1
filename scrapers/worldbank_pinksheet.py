"""The World Bank's commodity price data ("Pink Sheet"), annual workbook: keeps aluminium current.

Sheet "Annual Prices (Nominal)": a header row naming each commodity ("Aluminum"), a unit row
under it ("($/mt)"), then one row per year with the year in column A and ".." for no value.
Only years from the splice year on are taken: earlier ones come from USGS Data Series 140
(see tracker/data/series/aluminium.csv).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal, InvalidOperation

from scrapers.base import Fetched, HttpClient, Parsed, ParseError
from tracker.analogies import Row
from tracker.models import Source

SLUG = "worldbank_pinksheet"
NAME = "World Bank commodity price data (Pink Sheet), annual"
# The workbook's address changes with each monthly update; the admin can point it elsewhere.
URL = "https://thedocs.worldbank.org/en/doc/18675f1d1639c7a34d463f59263ba0a2-0050012025/related/CMO-Historical-Data-Annual.xlsx"
KIND = Source.Kind.REFERENCE
PRIORITY = 90
INTERVAL = dt.timedelta(days=30)
COMPLETE = False
LICENCE = "CC BY 4.0 (World Bank)"

SHEET = "Annual Prices (Nominal)"
COLUMN = "Aluminum"
UNIT = "($/mt)"
SERIES = "aluminium"
SPLICE_YEAR = 1993


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Aluminium's annual LME price, US$ per kg, from SPLICE_YEAR on. Raises ParseError if the
    workbook, the sheet, the column or its unit is not where it should be."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(fetched.body), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ParseError(SLUG, f"not an xlsx workbook: {exc}") from None
    if SHEET not in book.sheetnames:
        raise ParseError(SLUG, f"no sheet {SHEET!r} (sheets: {', '.join(book.sheetnames)})")
    rows = book[SHEET].iter_rows(values_only=True)
    column = None
    for row in rows:
        names = [str(cell).strip() if cell is not None else "" for cell in row]
        if COLUMN in names:
            column = names.index(COLUMN)
            break
    if column is None:
        raise ParseError(SLUG, f"no column {COLUMN!r} on sheet {SHEET!r}")
    unit_row = next(rows, ())
    unit = str(unit_row[column]).strip() if len(unit_row) > column else ""
    if unit != UNIT:
        raise ParseError(SLUG, f"{COLUMN} is in {unit!r}, expected {UNIT!r}")
    result = Parsed(quotes=[])
    points = []
    for row in rows:
        year, value = (row[0], row[column]) if len(row) > column else (None, None)
        if not isinstance(year, int) or year < SPLICE_YEAR:
            continue
        try:
            per_kg = (Decimal(str(value)) / 1000).quantize(Decimal("0.000001"))
        except InvalidOperation:
            result.skipped[f"no value ({value!r})"] += 1
            continue
        points.append(
            Row(
                dt.date(year, 7, 1),
                per_kg,
                "measured",
                "LME annual average",
                "World Bank Pink Sheet",
            )
        )
    if not points:
        raise ParseError(SLUG, f"no {COLUMN} prices from {SPLICE_YEAR} on")
    result.series[SERIES] = points
    return result
