"""Streaming CSV exports. The spans CSV's columns and order are a contract: add, never change."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from tracker.models import Meter, PriceSpan

SPAN_COLUMNS = [
    "source", "provider", "provider_model_id", "model", "meter", "tier", "usd_per_mtok",
    "original_amount", "original_currency", "original_unit", "valid_from", "valid_to",
    "first_seen_at", "last_seen_at",
]  # fmt: skip
SPAN_FIELDS = [
    "source__slug", "offering__provider__slug", "offering__provider_model_id",
    "offering__model__slug", "meter", "tier", "usd_per_mtok", "original_amount",
    "original_currency", "original_unit", "valid_from", "valid_to", "first_seen_at",
    "last_seen_at",
]  # fmt: skip
FILTERS = {
    "source": "source__slug",
    "provider": "offering__provider__slug",
    "model": "offering__model__slug",
    "meter": "meter",
}


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer over a stream."""

    def write(self, value: str) -> str:
        return value


def plain_decimal(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 2.5, 0.00000015, 60."""
    return format(value.normalize(), "f")


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def _rows(queryset: Any) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(SPAN_COLUMNS)
    for row in queryset.iterator(chunk_size=5000):
        yield writer.writerow([_cell(value) for value in row])


@require_GET
def spans_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every span, one row each, streamed; ?source= &provider= &model= &meter= filter it."""
    queryset = PriceSpan.objects.all()
    for param, lookup in FILTERS.items():
        value = request.GET.get(param)
        if value is None:
            continue
        if param == "meter" and value not in Meter.values:
            return HttpResponseBadRequest(
                f"meter: unknown meter {value!r}; one of {', '.join(Meter.values)}",
                content_type="text/plain",
            )
        queryset = queryset.filter(**{lookup: value})
    queryset = queryset.order_by(
        "source__slug", "offering__provider__slug", "offering__provider_model_id", "meter",
        "tier", "valid_from",
    ).values_list(*SPAN_FIELDS)  # fmt: skip
    response = StreamingHttpResponse(_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="token-prices-spans.csv"'
    return response
