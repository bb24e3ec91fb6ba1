"""ECB reference rates adapter: the daily and the historical XML files, as per-USD rates."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from scrapers import ecb_fx
from scrapers.base import Fetched, ParseError
from tests.conftest import FIXTURES

FETCHED_AT = datetime(2025, 1, 6, 16, 0, tzinfo=UTC)
TEN_PLACES = Decimal("1E-10")
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
    "<gesmes:subject>Reference rates</gesmes:subject><Cube>{}</Cube></gesmes:Envelope>"
)


def parsed(body: bytes):
    return ecb_fx.parse(Fetched(body, ecb_fx.URL, FETCHED_AT))


def daily():
    return parsed((FIXTURES / "ecb_fx" / "eurofxref-daily.xml").read_bytes())


def rates(result, day=date(2025, 1, 2)):
    return {q.currency: q.per_usd for q in result.fx_rates if q.day == day}


def parse_error(body: bytes) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parsed(body)
    assert caught.value.source == "ecb_fx"
    return caught.value


def test_euros_per_dollar_is_the_inverse_of_the_usd_rate():
    assert rates(daily())["EUR"] == (1 / Decimal("1.0321")).quantize(TEN_PLACES)
    assert rates(daily())["EUR"] == Decimal("0.9688983626")


def test_other_currencies_per_dollar_are_their_euro_rate_over_the_usd_rate():
    assert rates(daily())["CNY"] == (Decimal("7.5338") / Decimal("1.0321")).quantize(TEN_PLACES)
    assert rates(daily())["JPY"] == Decimal("157.0002906695")


def test_rates_are_quantized_to_ten_decimal_places():
    assert {q.per_usd.as_tuple().exponent for q in daily().fx_rates} == {-10}


def test_only_the_tracked_currencies_are_kept_and_the_rest_are_not_counted():
    result = daily()
    assert set(rates(result)) == set(ecb_fx.CURRENCIES)
    assert not result.skipped


def test_history_file_gives_every_day():
    result = parsed((FIXTURES / "ecb_fx" / "eurofxref-hist_small.xml").read_bytes())
    assert {q.day for q in result.fx_rates} == {
        date(2025, 1, 2),
        date(2025, 1, 3),
        date(2025, 1, 6),
    }
    assert rates(result, date(2025, 1, 6))["GBP"] == (
        Decimal("0.83098") / Decimal("1.0426")
    ).quantize(TEN_PLACES)
    assert len(result.fx_rates) == 12


def test_day_without_a_usd_rate_is_skipped_and_counted():
    body = ENVELOPE.format(
        '<Cube time="2025-01-03"><Cube currency="JPY" rate="161.77"/></Cube>'
        '<Cube time="2025-01-02"><Cube currency="USD" rate="1.0321"/></Cube>'
    ).encode()
    result = parsed(body)
    assert {q.day for q in result.fx_rates} == {date(2025, 1, 2)}
    assert result.skipped["day without a USD rate"] == 1


def test_non_xml_body_is_a_parse_error():
    assert "not XML" in str(parse_error(b"<html><body>Service unavailable<br></body></html>"))


def test_xml_without_dated_rates_is_a_parse_error():
    assert "no dated Cube" in str(parse_error(ENVELOPE.format("").encode()))


def test_xml_that_is_not_the_ecb_envelope_is_a_parse_error():
    assert "gesmes:Envelope" in str(parse_error(b"<rss><channel/></rss>"))


def test_xml_with_a_doctype_is_refused():
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert "DOCTYPE" in str(parse_error(body))
