"""A small real dataset recorded through ingest, and helpers to call the API.

The `map` source (priority 20) first sees acme/m1 input at 10 on day 0 and again on day 10; on
day 45 a backfill learns that it had dropped to 8 on day 20. So on day 25 the price *was* 8, but
on day 40 the dataset *said* 10: the as_of-versus-at case.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.conftest import at, quote
from tracker.ingest import Quote, record
from tracker.models import CapabilityScore, LanguageModel, ModelAlias, Series, SeriesPoint, Source


@pytest.fixture
def dataset(make_source: Any) -> dict[str, Source]:
    vendor = make_source("map", priority=20)
    record(vendor, [quote("10"), quote("30", meter="output"), quote("1", model="m2")], at(0))
    record(vendor, [quote("10"), quote("30", meter="output"), quote("1", model="m2")], at(10))
    record(vendor, [quote("8", valid_from=at(20))], at(45), backfill=True)
    aggregator = make_source("agg", priority=40)
    record(
        aggregator,
        [
            quote("9.5"),
            Quote("beta", "m3", "input", Decimal("0.00000015"), unit="token"),
            Quote("beta", "m3", "output", Decimal("2"), tier="over_200k"),
        ],
        at(5),
    )
    m1 = LanguageModel.objects.get(slug="m1")
    ModelAlias.objects.create(alias="acme/m1", model=m1)
    CapabilityScore.objects.create(model=m1, benchmark="mmlu", score=Decimal("88.5"), source="x")
    aluminium = Series.objects.create(slug="aluminium", title="Aluminium", unit="USD/kg")
    for year, value in ((1880, "20"), (1890, "5"), (1900, "1.25")):
        SeriesPoint.objects.create(series=aluminium, date=date(year, 1, 1), value=Decimal(value))
    return {"map": vendor, "agg": aggregator}


def get(client: Client, path: str, **headers: Any) -> Any:
    """GET /api/v1/<path>; the response, with its JSON body as `.data` when it has one."""
    response = client.get("/api/v1/" + path, **headers)
    response.data = response.json() if response.content else None
    return response


def walk(client: Client, path: str) -> list[dict[str, Any]]:
    """Every row of a listing, following `next` links to the end."""
    rows: list[dict[str, Any]] = []
    url: str | None = "/api/v1/" + path
    while url is not None:
        body = client.get(url).json()
        rows.extend(body["data"])
        url = body["next"]
    return rows
