"""`field__anyof=[...]`: membership in a list, as one array parameter on PostgreSQL.

`field__in` spells one placeholder per value, and psycopg's client-side binding re-parses the
whole statement for every new list length: with lists of hundreds of ids that parse cost more
than the query itself (0.4 s per ingest run of 12,000 spans). `= ANY(%s)` sends one array.
Other databases get the plain IN list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignKey, ForeignObject, IntegerField, Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(Lookup[Any]):
    lookup_name = "anyof"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = _values(self.rhs)
        if not (_integer(field) and all(type(v) is int for v in values)):
            values = [field.get_db_prep_value(v, connection) for v in values]
        if not values:
            return "1 = 0", list(lhs_params)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        placeholders = ", ".join(["%s"] * len(values))
        return f"{lhs} IN ({placeholders})", [*lhs_params, *values]


def _integer(field: Field[Any, Any]) -> bool:
    """Does the column hold integers (ids above all), which need no preparing?"""
    target = field.target_field if isinstance(field, ForeignKey) else field
    return isinstance(target, IntegerField)


def _values(rhs: Any) -> list[Any]:
    if isinstance(rhs, str | bytes) or not isinstance(rhs, Iterable):
        raise TypeError(f"__anyof takes a list of values, got {rhs!r}")
    return list(rhs)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # related fields keep a lookup table of their own
