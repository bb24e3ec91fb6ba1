from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tracker.ingest import Quote
from tracker.models import Source

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class _Handler(SimpleHTTPRequestHandler):
    """Serves tests/fixtures; /status/NNN answers with that status, for failure tests."""

    def do_GET(self) -> None:
        if self.path.startswith("/status/"):
            code = int(self.path.rsplit("/", 1)[-1])
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    """Tests render templates without running collectstatic first (production does run it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real HTTP server on loopback serving the recorded responses; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=FIXTURES))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_source(db: None) -> Any:
    def make(slug: str = "test", priority: int = 50, kind: str = Source.Kind.CURATED_MAP) -> Source:
        return Source.objects.create(
            slug=slug, name=slug, kind=kind, priority=priority, interval=timedelta(hours=1)
        )

    return make


def quote(price: str, model: str = "m1", meter: str = "input", **kw: Any) -> Quote:
    """A USD-per-1M-tokens quote for provider 'acme'."""
    return Quote(provider="acme", provider_model_id=model, meter=meter, amount=Decimal(price), **kw)


def at(days: float) -> datetime:
    """T0 plus this many days."""
    return T0 + timedelta(days=days)
