"""Keyset pagination: a page starts strictly after the last row of the previous one in a total
order, so walking every page returns every row exactly once, and a page costs an index seek
however deep it is (no OFFSET).

The cursor is the last row's sort values, JSON in base64url: opaque to clients, checked here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Field, Func, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan

from dashboard.api.params import ApiError


@dataclass(frozen=True)
class Keyset:
    """A total order over non-null fields: ("-changed_at", "datetime"), ("-id", "int")."""

    fields: tuple[tuple[str, str], ...]

    @property
    def order_by(self) -> list[str]:
        return [name for name, _ in self.fields]

    @property
    def names(self) -> list[str]:
        return [name.lstrip("-") for name, _ in self.fields]

    def values_of(self, row: dict[str, Any]) -> list[Any]:
        return [row[name] for name in self.names]

    def encode(self, values: Sequence[Any]) -> str:
        plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """The sort values in `cursor`; ApiError(400) when this endpoint did not issue it."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
            if not isinstance(values, list) or len(values) != len(self.fields):
                raise ValueError
            return [_typed(v, kind) for v, (_, kind) in zip(values, self.fields, strict=True)]
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ApiError(400, "not a cursor this endpoint issued", "cursor") from None

    def after(self, values: Sequence[Any]) -> Q:
        """Rows strictly after `values` in this order."""
        names = self.names
        descending = {name.startswith("-") for name, _ in self.fields}
        if len(names) > 1 and len(descending) == 1:
            # One row comparison, (a, b, c) > (x, y, z): a fraction of the OR terms' cost to
            # build, and the database seeks the leading column as well.
            lookup = LessThan if descending == {True} else GreaterThan
            row = _Row(*(F(name) for name in names))
            return Q(lookup(row, _Row(*(Value(v) for v in values))))
        condition = Q()
        for i, (name, _) in enumerate(self.fields):
            op = "lt" if name.startswith("-") else "gt"
            term = Q(
                **{f"{names[i]}__{op}": values[i]}, **dict(zip(names[:i], values[:i], strict=True))
            )
            condition = term if i == 0 else condition | term
        # Redundant, but it lets the database seek the leading column instead of scanning.
        lead = "lte" if self.fields[0][0].startswith("-") else "gte"
        return condition & Q(**{f"{names[0]}__{lead}": values[0]})


class _Row(Func):
    """A row value, `(a, b, c)`: PostgreSQL and SQLite compare them column by column."""

    template = "(%(expressions)s)"
    output_field = Field()


def _typed(value: Any, kind: str) -> Any:
    """The cursor value as the field's type; ValueError for anything we never issued."""
    if kind == "int" and type(value) is int and abs(value) <= 2**62:
        return value
    if kind == "str" and isinstance(value, str) and "\x00" not in value:
        return value
    if kind == "datetime" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    raise ValueError(f"not a {kind}")


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def paginate(queryset: QuerySet[Any, Any], keyset: Keyset, cursor: str | None, limit: int) -> Page:
    """One page of a `.values()` queryset (which must include the keyset's fields)."""
    if cursor is not None:
        queryset = queryset.filter(keyset.after(keyset.decode(cursor)))
    rows = list(queryset.order_by(*keyset.order_by)[: limit + 1])
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, keyset.encode(keyset.values_of(rows[-1])))
