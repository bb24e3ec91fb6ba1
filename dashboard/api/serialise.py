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


class Instants:
    """instant() for one page, each distinct instant formatted once: a page's spans share
    many (one span's end is the next one's start, a first sighting is often the start)."""

    def __init__(self) -> None:
        self._text: dict[datetime, str | None] = {}

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        text = self._text.get(value)
        if text is None:
            text = self._text[value] = instant(value)
        return text


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
