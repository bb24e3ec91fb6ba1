from decimal import Decimal

import pytest

from dashboard.templatetags.prices import usd


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2.5"), "$2.50"),
        (Decimal("60.000000000000"), "$60"),
        (Decimal("0.0100"), "$0.01"),
        (Decimal("0.0375"), "$0.0375"),
        (Decimal("0.15"), "$0.15"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal(0), "$0.00"),
        (None, "\N{EN DASH}"),
    ],
)
def test_prices_are_written_as_people_write_them(value, text):
    assert usd(value) == text
