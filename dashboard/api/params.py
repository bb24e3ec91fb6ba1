"""Query parameters of the API: each declared once, with its OpenAPI schema and its parser.

The same declarations validate requests (an unknown or malformed parameter is a 400 naming it)
and describe them in the OpenAPI document, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from tracker.frontier import Blend

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_VALUE_LENGTH = 200


class ApiError(Exception):
    """A request the API refuses: rendered as JSON {"error": message, "parameter": name}."""

    def __init__(
        self,
        status: int,
        message: str,
        parameter: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Param:
    """One query parameter. `parse` turns the raw text into a value or raises ValueError with
    a message for the client; `multiple` lets it repeat (every value is parsed)."""

    name: str
    description: str
    schema: dict[str, Any]
    parse: Callable[[str], Any] = str
    multiple: bool = False
    example: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_query(params: Sequence[Param], query: Mapping[str, list[str]]) -> dict[str, Any]:
    """{name: parsed value} for every declared parameter present. Raises ApiError(400) naming
    the first unknown, repeated (when single) or malformed parameter."""
    declared = {p.name: p for p in params}
    parsed: dict[str, Any] = {}
    for name, values in query.items():
        param = declared.get(name)
        if param is None:
            known = ", ".join(sorted(declared)) or "none"
            raise ApiError(400, f"unknown parameter; this endpoint takes: {known}", name)
        if len(values) > 1 and not param.multiple:
            raise ApiError(400, "given more than once; give it once", name)
        try:
            values_ = [param.parse(_checked(param, v)) for v in values]
        except ValueError as exc:
            raise ApiError(400, str(exc), name) from None
        parsed[name] = values_ if param.multiple else values_[0]
    return parsed


def _checked(param: Param, value: str) -> str:
    """Refuse what the parameter's schema rules out (the OpenAPI document promises it), and
    what no parameter can mean (PostgreSQL refuses NUL characters)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"longer than {MAX_VALUE_LENGTH} characters")
    pattern = param.schema.get("pattern")
    if pattern is not None and not re.search(pattern, value):
        raise ValueError(f"{value!r} is not valid here; expected: {param.description}")
    return value


def parse_limit(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"must be a whole number from 1 to {MAX_LIMIT}, got {text!r}")
    return int(text)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 timestamp (UTC when it names no offset), or a date meaning the end of that
    UTC day: 'on 2025-01-10' includes everything that happened that day."""
    try:
        day = parse_date(text) if len(text) == 10 else None
        moment = None if day else parse_datetime(text)
        if day is not None:
            return datetime.combine(day, time.max, tzinfo=UTC)
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(UTC)  # may overflow at year 1 or 9999
    except (ValueError, OverflowError):
        day = moment = None
    if moment is None:
        raise ValueError(
            f"must be a date (2025-01-31) or an ISO 8601 timestamp (2025-01-31T12:00:00Z), "
            f"got {text!r}"
        )
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"must be true or false, got {text!r}")


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or len(text) > 40:
        raise ValueError(f"must be a decimal number such as 86.4, got {text!r}")
    return value


def parse_blend(text: str) -> Blend:
    return Blend.parse(text)


LIMIT = Param(
    "limit",
    f"Rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    parse_limit,
)
CURSOR = Param(
    "cursor",
    "Where the page starts: copy it from the previous page's `next` link. Opaque.",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
)
INSTANT_SCHEMA = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    "description": "A date (the end of that UTC day) or an ISO 8601 timestamp.",
}
AT = Param(
    "at",
    "Effective time: the prices in force at this instant (default: now). A bare date means "
    "the end of that UTC day.",
    INSTANT_SCHEMA,
    parse_instant,
    example="2024-06-30",
)
AS_OF = Param(
    "as_of",
    "Knowledge time: answer as this dataset would have on that date, from spans first seen "
    "by then and as they looked then (a span closed by something learnt later shows as open). "
    "A bare date means the end of that UTC day.",
    INSTANT_SCHEMA,
    parse_instant,
    example="2024-06-30",
)
