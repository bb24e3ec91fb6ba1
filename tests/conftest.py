from __future__ import annotations

import functools
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tracker.ingest import Quote
from tracker.models import Source

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class _Handler(SimpleHTTPRequestHandler):
    """Serves tests/fixtures, plus routes that misbehave the ways real sources do:

    /status/NNN          answers NNN
    /slow/S/PATH         waits S seconds, then serves PATH
    /flaky/KEY/N/PATH    answers 500 the first N times for KEY, then serves PATH
    /busy/KEY/PATH       answers 429 with Retry-After: 1 the first time for KEY, then PATH
    /big                 streams 50 MB
    /loop                redirects to itself
    /truncated/PATH      the first half of PATH
    /etag/PATH           PATH with an ETag; 304 when asked If-None-Match with it
    """

    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        parts = self.path.lstrip("/").split("/")
        route = parts[0]
        if route == "status":
            self._empty(int(parts[1]))
        elif route == "slow":
            time.sleep(float(parts[1]))
            self._file("/".join(parts[2:]))
        elif route == "flaky":
            key, failures = parts[1], int(parts[2])
            self.hits[key] = self.hits.get(key, 0) + 1
            if self.hits[key] <= failures:
                self._empty(500)
            else:
                self._file("/".join(parts[3:]))
        elif route == "busy":
            self.hits[parts[1]] = self.hits.get(parts[1], 0) + 1
            if self.hits[parts[1]] == 1:
                self._empty(429, {"Retry-After": "1"})
            else:
                self._file("/".join(parts[2:]))
        elif route == "big":
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            chunk = b"x" * (1024 * 1024)
            try:
                for _ in range(50):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif route == "loop":
            self._empty(302, {"Location": "/loop"})
        elif route == "truncated":
            body = (FIXTURES / "/".join(parts[1:])).read_bytes()
            self._send(body[: len(body) // 2])
        elif route == "etag":
            body = (FIXTURES / "/".join(parts[1:])).read_bytes()
            tag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            if self.headers.get("If-None-Match") == tag:
                self._empty(304, {"ETag": tag})
            else:
                self._send(body, {"ETag": tag})
        else:
            super().do_GET()

    def _file(self, path: str) -> None:
        self._send((FIXTURES / path).read_bytes())

    def _send(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _empty(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

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


@pytest.fixture(autouse=True)
def _private_cache(settings: Any) -> Iterator[None]:
    """Each test gets an empty in-process cache: cached figures and rate-limit counters from
    another test (or from a developer's `make run`) must not leak in. Tests of behaviour that
    needs the shared cache (rate limits across processes) point CACHES at TEST_REDIS_URL."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4()}",
        }
    }
    yield


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
