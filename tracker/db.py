"""Database connection tuning that the ORM does not expose.

Django (5.2) reads every PostgreSQL `timestamptz` through its own loader class, a subclass of
psycopg's pure-Python loader that then swaps in the configured time zone: about 8 µs a value,
against about 1 µs for the C loader that psycopg[binary] ships. Ingest reads four timestamps per
span and exports read millions. When the session already runs in UTC (Django sets it so when
USE_TZ is on and TIME_ZONE is UTC), the C loader returns exactly the same values, tzinfo
included (datetime.timezone.utc), so each new connection gets the C loader back.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper

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
