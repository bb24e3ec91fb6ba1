"""What every source adapter shares: the fetched bytes, the HTTP client, the errors.

An adapter is a module with SLUG, NAME, URL, KIND, PRIORITY, INTERVAL, COMPLETE, LICENCE,
`fetch(client, url) -> Fetched` (the only I/O) and `parse(fetched) -> Parsed` (pure).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import httpx
from django.conf import settings

from tracker.analogies import Row
from tracker.ingest import Quote


@dataclass(frozen=True)
class Fetched:
    """A response as fetched: raw bytes and when and where they came from."""

    body: bytes
    url: str
    fetched_at: datetime
    content_type: str = ""


@dataclass(frozen=True)
class FxQuote:
    """A reference exchange rate: how many units of `currency` one US dollar bought on `day`."""

    day: date
    currency: str
    per_usd: Decimal


@dataclass
class Parsed:
    quotes: list[Quote]
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many entries
    # Reference sources yield these instead of quotes: rows per analogy series slug (series,
    # CPI), and exchange rates (FX).
    series: dict[str, list[Row]] = field(default_factory=dict)
    fx_rates: list[FxQuote] = field(default_factory=list)

    def skipped_summary(self) -> str:
        return "; ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())


class FetchError(Exception):
    """The source could not be fetched (network, HTTP status, size). Worth retrying."""


class ParseError(Exception):
    """The payload is not what the adapter expects: the source changed or the parser is wrong."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class Adapter(Protocol):
    SLUG: str
    NAME: str
    URL: str
    KIND: str
    PRIORITY: int
    INTERVAL: timedelta
    COMPLETE: bool
    LICENCE: str

    def fetch(self, client: HttpClient, url: str) -> Fetched: ...

    def parse(self, fetched: Fetched) -> Parsed: ...


class HttpClient:
    """Fetches public URLs with a timeout, our User-Agent and a size cap."""

    def __init__(self, *, timeout: float | None = None, max_bytes: int | None = None) -> None:
        self.timeout = timeout or settings.TRACKER_HTTP_TIMEOUT
        self.max_bytes = max_bytes or settings.TRACKER_MAX_PAYLOAD_BYTES

    def get(self, url: str, clock: datetime) -> Fetched:
        headers = {"User-Agent": settings.TRACKER_USER_AGENT, "Accept-Encoding": "gzip"}
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=True, headers=headers) as http,
                http.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise FetchError(f"GET {url}: HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"GET {url}: larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {exc.__class__.__name__}: {exc}") from exc
        return Fetched(b"".join(chunks), url, clock, content_type)
