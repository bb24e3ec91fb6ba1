"""The US Bureau of Labor Statistics' CPI-U flat file: keeps the CPI (and so real prices) current.

A tab-separated table with a header line: series_id, year, period, value, footnote_codes.
CUUR0000SA0 is CPI-U, all items, US city average, 1982-84 = 100; period M13 is the annual
average, present only for complete years.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from scrapers.base import Fetched, HttpClient, Parsed, ParseError
from tracker.analogies import CPI_SLUG, Row
from tracker.models import Source

SLUG = "bls_cpi"
NAME = "US Bureau of Labor Statistics, CPI-U (all items)"
URL = "https://download.bls.gov/pub/time.series/cu/cu.data.1.AllItems"
KIND = Source.Kind.REFERENCE
PRIORITY = 90
INTERVAL = dt.timedelta(days=30)
COMPLETE = False
LICENCE = "Public domain (US Government work)"

SERIES_ID = "CUUR0000SA0"
ANNUAL = "M13"
FIRST_YEAR = 1913  # the BLS series begins here; earlier years come from the Minneapolis Fed


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Annual CPI-U averages. Raises ParseError when the table or the series is missing."""
    try:
        text = fetched.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(SLUG, f"not UTF-8 text: {exc}") from None
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = [cell.strip() for cell in next(reader, [])]
    if header[:4] != ["series_id", "year", "period", "value"]:
        raise ParseError(SLUG, f"expected columns series_id, year, period, value; got {header}")
    result = Parsed(quotes=[])
    points = []
    for cells in reader:
        cells = [cell.strip() for cell in cells]
        if len(cells) < 4 or cells[0] != SERIES_ID or cells[2] != ANNUAL:
            continue
        try:
            year, value = int(cells[1]), Decimal(cells[3])
        except (ValueError, InvalidOperation):
            result.skipped["unreadable row"] += 1
            continue
        if year >= FIRST_YEAR:
            points.append(Row(dt.date(year, 7, 1), value, "measured", "annual average", "BLS"))
    if not points:
        raise ParseError(SLUG, f"no annual averages of {SERIES_ID} in the table")
    result.series[CPI_SLUG] = points
    return result
