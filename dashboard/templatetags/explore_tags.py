"""Filters for the exploration pages: changes and differences as people read them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import template

from dashboard.templatetags.prices import usd
from tracker.models import Meter

register = template.Library()
METER_LABELS = dict(Meter.choices)


@register.filter
def ratio_pct(ratio: Decimal | None) -> str:
    """A new/old ratio as a signed change: 0.5 -> '-50%' (a true minus sign), 1.25 -> '+25%'."""
    if ratio is None:
        return ""
    return signed_pct(Decimal(ratio) - 1)


@register.filter
def signed_pct(fraction: Decimal | None) -> str:
    """A signed fraction as a percentage, with a true minus sign (U+2212) for a fall."""
    if fraction is None:
        return ""
    value = Decimal(fraction) * 100
    digits = 0 if abs(value) >= 10 else 1
    text = f"{abs(value):.{digits}f}".removesuffix(".0")
    sign = "+" if value > 0 else "\N{MINUS SIGN}" if value < 0 else ""
    return f"{sign}{text}%"


@register.filter
def meter_label(meter: str) -> str:
    return METER_LABELS.get(meter, meter)


@register.filter
def price(value: Decimal | str | None) -> str:
    """`usd`, and a dash for a meter that has no price (a missing key renders as '')."""
    return usd(None if value == "" else value)  # type: ignore[arg-type]


@register.filter
def every(interval: timedelta) -> str:
    """A schedule as people say it: '6 hours', '1 day', '30 minutes'."""
    seconds = int(interval.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
