"""schemathesis against our own OpenAPI document, through the WSGI app, on the small real
dataset: no server error, and every answer (200s and 4xx alike) as the schema says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dashboard.api.schema import document

pytestmark = pytest.mark.django_db
APP = get_wsgi_application()
schema = schemathesis.openapi.from_dict(document())


@pytest.fixture
def test_connection_kept() -> Iterator[None]:
    """Requests go through the real WSGI handler, which closes the database connection after
    each one; the test's transaction lives on that connection (Django's test Client does the
    same)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_schema(case: Any, dataset: Any, test_connection_kept: None) -> None:
    # The WSGI test client does not decompress; GZipMiddleware would otherwise answer gzip.
    # positive_data_acceptance is left out: a well-formed cursor or benchmark slug the API never
    # issued is rightly a 400, and no schema can say which strings those are.
    case.call_and_validate(
        app=APP,
        headers={"Accept-Encoding": "identity"},
        excluded_checks=[positive_data_acceptance],
    )
