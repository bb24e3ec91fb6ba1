"""Database connection tuning and row reading that the ORM does not expose.

Django (5.2) reads every PostgreSQL `timestamptz` through its own loader class, a subclass of
psycopg's pure-Python loader that then swaps in the configured time zone: about 8 µs a value,
against about 1 µs for the C loader that psycopg[binary] ships. Ingest reads four timestamps per
span and exports read millions. When the session already runs in UTC (Django sets it so when
USE_TZ is on and TIME_ZONE is UTC), the C loader returns exactly the same values, tzinfo
included (datetime.timezone.utc), so each new connection gets the C loader back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql.constants import MULTI

UTC_NAMES = {"UTC", "Etc/UTC"}


def use_fast_timestamps(sender: Any, connection: BaseDatabaseWrapper, **_: Any) -> None:
    """connection_created handler: psycopg's C timestamptz loader on UTC sessions."""
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        return
    import psycopg
    from psycopg.pq import Format

    raw = connection.connection
    if connection.timezone_name not in UTC_NAMES:
        return
    if raw.info.parameter_status("TimeZone") not in UTC_NAMES:
        return
    info = raw.adapters.types["timestamptz"]
    fast = psycopg.adapters.get_loader(info.oid, Format.TEXT)
    if fast is None or not fast.__module__.startswith("psycopg_binary"):
        return  # no C extension: keep Django's loader

    raw.adapters.register_loader("timestamptz", _delegating_loader(fast, connection.timezone))


def _delegating_loader(fast: type, tz: Any) -> type:
    """A Python loader class that hands each value to the C loader (a C type cannot be
    subclassed) and carries the `timezone` attribute Django compares with its own."""
    from psycopg.adapt import Loader

    class UTCTimestamptzLoader(Loader):
        timezone = tz

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._load = fast(oid, context).load

        def load(self, data: Any) -> Any:
            return self._load(data)

    return UTCTimestamptzLoader


def value_rows(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list() queryset, as list(queryset) gives them, with the backend's
    converters applied once per distinct raw value of each column (convert_columns()).

    On SQLite Django turns each stored value into a Python one value by value (text into an
    aware datetime, a float into a quantized Decimal): some 10 µs each.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    results = compiler.execute_sql(MULTI)
    if results is None:
        return []
    fields = [column[0] for column in compiler.select[: compiler.col_count]]
    by_position = compiler.get_converters(fields)

    def chained(functions: list[Callable[..., Any]], expression: Any) -> Callable[[Any], Any]:
        def convert(value: Any) -> Any:
            for function in functions:
                value = function(value, expression, compiler.connection)
            return value

        return convert

    converters = [
        chained(*by_position[pos]) if pos in by_position else None for pos in range(len(fields))
    ]
    return convert_columns(chain.from_iterable(results), converters)


def convert_columns(
    rows: Iterable[Sequence[Any]], converters: Sequence[Callable[[Any], Any] | None]
) -> list[tuple[Any, ...]]:
    """The rows with converters[i] applied to column i (None: left as it is), each distinct
    value of a column converted once.

    Rows read or written in bulk repeat their instants and prices (a run's spans share its
    time, a price list its prices), and each conversion costs microseconds.
    """
    active: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (i, convert, {}) for i, convert in enumerate(converters) if convert is not None
    ]
    converted = []
    for raw in rows:
        row = list(raw)
        for i, convert, memo in active:
            value = row[i]
            if value not in memo:
                memo[value] = convert(value)
            row[i] = memo[value]
        converted.append(tuple(row))
    return converted
