"""What every source adapter shares: the fetched bytes, the HTTP client, the errors.

An adapter is a module with SLUG, NAME, URL, KIND, PRIORITY, INTERVAL, COMPLETE, LICENCE,
`fetch(client, url) -> Fetched` (the only I/O) and `parse(fetched) -> Parsed` (pure).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from tracker.analogies import Row
from tracker.ingest import Quote, QuoteError


@dataclass(frozen=True)
class Fetched:
    """A response as fetched: raw bytes and when and where they came from."""

    body: bytes
    url: str
    fetched_at: datetime
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # a 304: the body is empty, the source is as last fetched
    headers: tuple[tuple[str, str], ...] = ()  # the response's headers, lower-case names

    def header(self, name: str, default: str = "") -> str:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), default)


@dataclass(frozen=True)
class FxQuote:
    """A reference exchange rate: how many units of `currency` one US dollar bought on `day`."""

    day: date
    currency: str
    per_usd: Decimal


@dataclass(frozen=True)
class ScoreQuote:
    """A model's score on a benchmark, as a leaderboard or benchmark hub states it.

    `model` is the source's own name or id for the model; ingest maps it to a LanguageModel
    through the alias table.
    """

    model: str
    benchmark: str  # a slug: "eci", "gpqa_diamond", "lmarena_text"
    score: Decimal
    measured_on: date | None = None
    source_url: str = ""


@dataclass
class Parsed:
    quotes: list[Quote]
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many entries
    # Reference sources yield these instead of quotes: rows per analogy series slug (series,
    # CPI), and exchange rates (FX).
    series: dict[str, list[Row]] = field(default_factory=dict)
    fx_rates: list[FxQuote] = field(default_factory=list)
    scores: list[ScoreQuote] = field(default_factory=list)
    _kept: dict[tuple[Any, ...], tuple[str, Decimal]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def add(self, quote: Quote) -> None:
        """Keep a quote, unless one for the same key and instant is kept already: record()
        refuses two prices for one instant, so a different second price is counted as a
        conflict and dropped, the first one wins."""
        identity = (*quote.key, quote.valid_from)
        price = (quote.currency, quote.per_mtok)
        held = self._kept.get(identity)
        if held is None:
            self._kept[identity] = price
            self.quotes.append(quote)
        elif held != price:
            self.skipped["conflicting duplicate prices"] += 1

    def add_entry(
        self, build: Callable[..., list[Quote]], *args: Any, what: str = "model entry"
    ) -> None:
        """Add the quotes `build(*args)` makes of one listing entry, all or none: an entry that
        raises one of ENTRY_ERRORS on the way is skipped and counted, the listing goes on."""
        try:
            quotes = build(*args)
        except ENTRY_ERRORS as exc:
            self.skipped[f"malformed {what} ({exc.__class__.__name__})"] += 1
            return
        for quote in quotes:
            self.add(quote)

    def skipped_summary(self) -> str:
        return "; ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())


# What one malformed entry of a listing raises while it is turned into quotes: the entry is
# skipped and counted, the rest of the listing still counts.
ENTRY_ERRORS = (QuoteError, KeyError, TypeError, ValueError, ArithmeticError)


def load_json(fetched: Fetched, source: str) -> Any:
    """The body as JSON, every number a Decimal (money never passes through float).
    Raises ParseError naming the source when it is not JSON."""
    try:
        return json.loads(fetched.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ParseError(source, f"not JSON: {exc}") from None


def threshold_tier(tokens: int) -> str:
    """The tier slug for prices of prompts above a size, the same for every source:
    200000 -> 'over_200k', 1000000 -> 'over_1m'. Raises ValueError for a non-positive count."""
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
        raise ValueError(f"tier size {tokens!r} is not a token count")
    if tokens % 1_000_000 == 0:
        return f"over_{tokens // 1_000_000}m"
    return f"over_{round(tokens / 1000)}k"


def join_tier(*parts: str) -> str:
    """One tier slug from its parts, empty ones left out: ('off_peak', '', 'over_200k')."""
    return "_".join(part for part in parts if part)


def price_amount(value: Any) -> Decimal:
    """A price from JSON: a Decimal or int, or a numeric string. Raises TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"price {value!r} is not a number")
    return Decimal(value.strip() if isinstance(value, str) else value)


def is_zero_price(value: Any) -> bool:
    try:
        return price_amount(value) == 0
    except (TypeError, ArithmeticError):
        return False


class FetchError(Exception):
    """The source could not be fetched (network, HTTP status, size). Worth retrying, after
    `retry_after` seconds when the server said so."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when the server answered with one


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
    """The one way sources are fetched: http(s) only, an identifying User-Agent, connect and
    total timeouts, at most 3 redirects, a streamed size cap, conditional requests, and a few
    quick retries on 429 and 5xx that honour Retry-After.

    Pass the validators of the last response (`etag`, `last_modified`) and an unchanged source
    answers 304: `get()` then returns a Fetched with `not_modified` and no body.
    """

    RETRIES = 2  # after the first attempt; the Celery task retries further, later
    MAX_WAIT = 30.0  # a Retry-After longer than this is left to the task's retry

    def __init__(
        self,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_bytes: int | None = None,
        etag: str = "",
        last_modified: str = "",
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout or settings.TRACKER_HTTP_TIMEOUT
        self.connect_timeout = connect_timeout or settings.TRACKER_HTTP_CONNECT_TIMEOUT
        self.max_bytes = max_bytes or settings.TRACKER_MAX_PAYLOAD_BYTES
        self.etag, self.last_modified = etag, last_modified
        self.extra_headers = headers or {}
        self.sleep = sleep

    def get(self, url: str, clock: datetime) -> Fetched:
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"GET {url}: only http and https URLs are fetched")
        headers = {
            "User-Agent": settings.TRACKER_USER_AGENT,
            "Accept-Encoding": "gzip",
            **self.extra_headers,
        }
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        attempt = 0
        while True:
            try:
                return self._once(url, clock, headers)
            except FetchError as exc:
                attempt += 1
                wait = exc.retry_after
                if attempt > self.RETRIES or wait is None or wait > self.MAX_WAIT:
                    raise
                self.sleep(wait)

    def _once(self, url: str, clock: datetime, headers: dict[str, str]) -> Fetched:
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        deadline = time.monotonic() + self.timeout
        try:
            with (
                httpx.Client(
                    timeout=timeout, follow_redirects=True, max_redirects=3, headers=headers
                ) as http,
                http.stream("GET", url) as response,
            ):
                if response.status_code == 304:
                    return Fetched(b"", url, clock, not_modified=True, etag=self.etag,
                                   last_modified=self.last_modified)  # fmt: skip
                if response.status_code == 429 or response.status_code >= 500:
                    raise FetchError(
                        f"GET {url}: HTTP {response.status_code}",
                        retry_after=_retry_after(response.headers.get("retry-after")),
                        status=response.status_code,
                    )
                if response.status_code != 200:
                    raise FetchError(
                        f"GET {url}: HTTP {response.status_code}", status=response.status_code
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"GET {url}: larger than {self.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError(f"GET {url}: took longer than {self.timeout:g} s")
                    chunks.append(chunk)
                return Fetched(
                    b"".join(chunks),
                    str(response.url),
                    clock,
                    response.headers.get("content-type", ""),
                    etag=response.headers.get("etag", ""),
                    last_modified=response.headers.get("last-modified", ""),
                    headers=tuple((k.lower(), v) for k, v in response.headers.items()),
                )
        except httpx.TooManyRedirects:
            raise FetchError(f"GET {url}: more than 3 redirects") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url}: {exc.__class__.__name__}: {exc}") from exc


def _retry_after(value: str | None, *, default: float = 2.0) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); a short default."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())
