"""The ECB's euro foreign exchange reference rates: turns stated CNY, EUR, ... prices into USD.

Format (eurofxref-daily.xml, and eurofxref-hist.xml with every day since 1999, newest first):

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject>
      <Cube><Cube time="2025-01-02"><Cube currency="USD" rate="1.0321"/>...</Cube></Cube>
    </gesmes:Envelope>

A rate is units of the currency per 1 euro. The tracker stores units per US dollar, so each
day is divided through by that day's USD rate (EUR per USD = 1 / USD rate); a day without a
USD rate cannot be converted and is skipped. Only CURRENCIES are kept.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from scrapers.base import Fetched, FxQuote, HttpClient, Parsed, ParseError
from tracker.models import Source

SLUG = "ecb_fx"
NAME = "ECB euro foreign exchange reference rates"
URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.xml"  # for backfill
KIND = Source.Kind.REFERENCE
PRIORITY = 90
INTERVAL = dt.timedelta(days=1)
COMPLETE = False
LICENCE = "ECB reference rates (free reuse with source attribution)"

CURRENCIES = ("EUR", "CNY", "GBP", "JPY")
NS = {
    "gesmes": "http://www.gesmes.org/xml/2002-08-01",
    "ecb": "http://www.ecb.int/vocabulary/2002-08-01/eurofxref",
}
PLACES = Decimal("1E-10")  # FxRate.per_usd has decimal_places=10


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Rates per US dollar for every day with a USD rate. Raises ParseError if the body is not
    the ECB envelope or holds no dated rates."""
    # No DOCTYPE anywhere means no entity declarations to expand (billion laughs and kin).
    if b"<!DOCTYPE" in fetched.body.upper():
        raise ParseError(SLUG, "XML with a DOCTYPE is not the ECB reference-rates file")
    try:
        root = ET.fromstring(fetched.body)  # noqa: S314
    except ET.ParseError as exc:
        raise ParseError(SLUG, f"not XML: {exc}") from None
    if root.tag != f"{{{NS['gesmes']}}}Envelope":
        raise ParseError(SLUG, f"expected a gesmes:Envelope, got <{root.tag}>")
    days = root.findall("ecb:Cube/ecb:Cube[@time]", NS)
    if not days:
        raise ParseError(SLUG, "no dated Cube (no reference rates) in the envelope")
    parsed = Parsed(quotes=[])
    for cube in days:
        try:
            day = dt.date.fromisoformat(cube.get("time", ""))
        except ValueError:
            parsed.skipped["day with an unreadable date"] += 1
            continue
        rates: dict[str, Decimal] = {}
        for entry in cube.findall("ecb:Cube[@currency][@rate]", NS):
            try:
                rate = Decimal(entry.get("rate", ""))
            except InvalidOperation:
                parsed.skipped["unreadable rate"] += 1
                continue
            if rate.is_finite() and rate > 0:
                rates[entry.get("currency", "")] = rate
            else:
                parsed.skipped["unreadable rate"] += 1
        usd = rates.get("USD")
        if usd is None:
            parsed.skipped["day without a USD rate"] += 1
            continue
        rates["EUR"] = Decimal(1)  # the base: 1 euro per euro
        for currency in CURRENCIES:
            if currency in rates:
                per_usd = (rates[currency] / usd).quantize(PLACES)
                parsed.fx_rates.append(FxQuote(day, currency, per_usd))
    if not parsed.fx_rates:
        raise ParseError(SLUG, "no day with a USD rate to convert through")
    return parsed
