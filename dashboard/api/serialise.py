"""Plain JSON values: decimals as exact strings, instants as ISO 8601 UTC with a 'Z'."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from dashboard.exports import plain_decimal


def dec(value: Decimal | None) -> str | None:
    """Exact, without exponent or trailing zeros: '2.5', '0.00000015'."""
    return None if value is None else plain_decimal(value)


def instant(value: datetime | None) -> str | None:
    """'2025-01-31T12:00:00Z', with microseconds only when there are some, so that a value
    read here and sent back (as_of=first_seen_at) names the same instant."""
    if value is None:
        return None
    if value.utcoffset():  # the database hands back UTC already: the common case is free
        value = value.astimezone(UTC)
    text = value.isoformat()
    return (text[:-6] if value.tzinfo is not None else text) + "Z"


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
