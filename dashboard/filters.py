"""The one parser for the filters every download and the HTTP API take.

    filters = parse_filters(request.GET)      # raises FilterError(param, message)
    PriceSpan.objects.filter(filters.span_q())

Parameters, each repeatable (`?model=a&model=b`) or comma-separated (`?model=a,b`):

- `provider`, `model`, `source`: slugs. A well-formed slug that names nothing matches nothing.
- `meter`: one of tracker.models.Meter's values.
- `tier`: tier slugs; an empty value (`?tier=`) is the base price's tier.
- `from`, `to`: ISO dates (YYYY-MM-DD), both inclusive, days in UTC.

Other parameters are left to the caller. Values are deduplicated and sorted, so two queries
that mean the same thing parse to equal Filters (and to the same download file name).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q

from tracker.models import Meter

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
TIER = re.compile(r"^([a-z0-9][a-z0-9_]{0,31})?$")
MAX_VALUES = 200
# Parameter name -> Filters field, in the order of canonical query strings and file names.
LIST_PARAMS = {
    "provider": "providers",
    "model": "models",
    "meter": "meters",
    "source": "sources",
    "tier": "tiers",
}
PARAMS = (*LIST_PARAMS, "from", "to")


class FilterError(ValueError):
    """A filter parameter with a bad value. str() is 'param: message', for a 400 answer."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Filters:
    """Parsed filters; an empty tuple or None means "no restriction"."""

    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    meters: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    start: date | None = None  # `from`
    end: date | None = None  # `to`, inclusive

    @property
    def is_empty(self) -> bool:
        return self == Filters()

    @property
    def start_at(self) -> datetime | None:
        """The first instant of the range: `from` at 00:00 UTC."""
        return None if self.start is None else datetime.combine(self.start, time(), UTC)

    @property
    def end_at(self) -> datetime | None:
        """The first instant after the range (exclusive): the day after `to`, 00:00 UTC."""
        return None if self.end is None else datetime.combine(self.end, time(), UTC) + timedelta(1)

    def params(self) -> list[tuple[str, str]]:
        """The canonical query parameters: one per filter in use, values comma-joined."""
        pairs = [
            (param, ",".join(getattr(self, name)))
            for param, name in LIST_PARAMS.items()
            if getattr(self, name)
        ]
        if self.start is not None:
            pairs.append(("from", self.start.isoformat()))
        if self.end is not None:
            pairs.append(("to", self.end.isoformat()))
        return pairs

    def query_string(self) -> str:
        """'provider=openai&meter=input,output' (no leading '?'); '' without filters."""
        return urlencode(self.params(), safe=",")

    def slug(self) -> str:
        """A short, stable, file-name-safe label: '' without filters, the filters themselves
        when short ('provider-openai_meter-input'), else a hash of them ('f3a9c0d41b2e')."""
        if self.is_empty:
            return ""
        readable = "_".join(
            f"{param}-{value.replace(',', '+') or 'base'}" for param, value in self.params()
        )
        if len(readable) <= 60 and re.fullmatch(r"[a-z0-9._+-]+", readable):
            return readable
        return hashlib.sha256(self.query_string().encode()).hexdigest()[:12]

    def offering_q(self, prefix: str = "") -> Q:
        """Provider and model lookups on Offering rows (prefix '' ) or through a relation
        ('offering__')."""
        q = Q()
        if self.providers:
            q &= Q(**{f"{prefix}provider__slug__in": self.providers})
        if self.models:
            q &= Q(**{f"{prefix}model__slug__in": self.models})
        return q

    def key_q(self) -> Q:
        """Offering, meter and tier lookups on rows keyed by them (PriceSpan, PriceChange)."""
        q = self.offering_q("offering__")
        if self.meters:
            q &= Q(meter__in=self.meters)
        if self.tiers:
            q &= Q(tier__in=self.tiers)
        return q

    def span_q(self) -> Q:
        """Every filter on PriceSpan rows; a span matches the dates if it overlaps the range."""
        q = self.key_q()
        if self.sources:
            q &= Q(source__slug__in=self.sources)
        if self.end_at is not None:
            q &= Q(valid_from__lt=self.end_at)
        if self.start_at is not None:
            q &= Q(valid_to__isnull=True) | Q(valid_to__gt=self.start_at)
        return q

    def change_q(self) -> Q:
        """Every filter on PriceChange rows: `source` is the new price's, dates `changed_at`."""
        q = self.key_q()
        if self.sources:
            q &= Q(source__slug__in=self.sources)
        return q & self.instant_q("changed_at")

    def instant_q(self, field: str) -> Q:
        """The date range on a datetime field."""
        q = Q()
        if self.start_at is not None:
            q &= Q(**{f"{field}__gte": self.start_at})
        if self.end_at is not None:
            q &= Q(**{f"{field}__lt": self.end_at})
        return q

    def date_q(self, field: str) -> Q:
        """The date range on a date field."""
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{field}__lte": self.end})
        return q


def parse_filters(params: Mapping[str, Any]) -> Filters:
    """Filters from a QueryDict (or a plain mapping of str or list of str).

    Raises FilterError naming the first bad parameter: a malformed slug, an unknown meter, a
    date that is not YYYY-MM-DD, `to` before `from`, more than MAX_VALUES values.
    """
    values: dict[str, Any] = {}
    for param, name in LIST_PARAMS.items():
        raw = _values(params, param)
        if raw is None:
            continue
        parts = [part.strip() for text in raw for part in text.split(",")]
        if param != "tier":
            parts = [part for part in parts if part]
        values[name] = _checked(param, sorted(set(parts)))
    values["start"] = _date(params, "from")
    values["end"] = _date(params, "to")
    if values["start"] and values["end"] and values["end"] < values["start"]:
        raise FilterError("to", f"{values['end']} is before from={values['start']}")
    return Filters(**values)


def _values(params: Mapping[str, Any], param: str) -> list[str] | None:
    if param not in params:
        return None
    getlist = getattr(params, "getlist", None)
    raw = getlist(param) if getlist else params[param]
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


def _checked(param: str, parts: Sequence[str]) -> tuple[str, ...]:
    if len(parts) > MAX_VALUES:
        raise FilterError(param, f"at most {MAX_VALUES} values, got {len(parts)}")
    for part in parts:
        if param == "meter":
            if part not in Meter.values:
                raise FilterError(
                    param, f"unknown meter {part!r}; one of {', '.join(Meter.values)}"
                )
        elif param == "tier":
            if not TIER.match(part):
                raise FilterError(param, f"{part!r} is not a tier (lowercase letters, digits, '_')")
        elif not SLUG.match(part):
            raise FilterError(
                param, f"{part[:50]!r} is not a slug (lowercase letters, digits, '.', '_', '-')"
            )
    return tuple(parts)


def _date(params: Mapping[str, Any], param: str) -> date | None:
    raw = _values(params, param)
    if not raw or raw == [""]:
        return None
    if len(raw) > 1:
        raise FilterError(param, "give it once")
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw[0]):
            raise ValueError
        value = date.fromisoformat(raw[0])
    except ValueError:
        raise FilterError(param, f"{raw[0][:30]!r} is not a date (YYYY-MM-DD)") from None
    if value >= date.max:  # the day after must exist: ranges end at the next midnight
        raise FilterError(param, f"must be before {date.max.isoformat()}")
    return value
