"""PostgreSQL connections read timestamps with psycopg's C loader, with the same values."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a psycopg connection setting")
def test_timestamps_come_back_equal_and_in_utc_through_the_c_loader():
    connection.ensure_connection()
    raw = connection.connection
    oid = raw.adapters.types["timestamptz"].oid
    from psycopg.pq import Format

    loader = raw.adapters.get_loader(oid, Format.TEXT)
    assert loader.__name__ == "UTCTimestamptzLoader", loader
    stamps = [
        datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1886, 4, 23, tzinfo=UTC),
        datetime(2026, 11, 23, 3, 0, tzinfo=UTC) + timedelta(microseconds=1),
    ]
    with connection.cursor() as cursor:
        for stamp in stamps:
            cursor.execute("SELECT %s::timestamptz", [stamp])
            (value,) = cursor.fetchone()
            assert value == stamp
            assert value.utcoffset() == timedelta(0)
            assert value.tzinfo is UTC
