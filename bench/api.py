"""Benchmark (issue #7): API page latency on the synthetic dataset with 1,000,000 spans.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_api CACHE_URL=redis://127.0.0.1:6379/14 \\
        python bench/api.py [--recreate] [--spans 1000000] [--runs 100] [--cold-runs 20]
        [--only TEXT ...]

Fills the database with bench/synthetic.py's dataset unless it already holds one, then drives
the whole middleware stack in-process with Django's test Client (no network: server times).
For each endpoint:

- warm: the same URL again and again on an open database connection;
- cold: a new database connection for every request, and each request a different page
  (another model, provider, cursor position or date), so neither the connection nor the
  query's rows were just used. The operating system's page cache is not dropped;
- 304: the same URL with If-None-Match (still computed: ETags hash the answer).

Prints p50/p95 in milliseconds, the SQL queries per request and the rows per page; asserts
nothing. The rate limit is raised out of the way (it still counts every request, in Redis
when CACHE_URL names it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_P95_MS = 50
UrlFor = Callable[[random.Random], str]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def setup(recreate: bool, spans: int) -> None:
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="tracker-bench-api-"))
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["API_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    from bench import synthetic

    synthetic.setup_django(recreate=recreate)
    from django.db import connection

    from tracker.models import Source

    if not Source.objects.filter(slug__startswith=synthetic.PREFIX).exists():
        built = synthetic.build(spans=spans)
        print(f"synthetic dataset: {built.spans:,} spans, {built.changes:,} changes, "
              f"{built.offerings:,} offerings in {built.seconds:.0f} s")  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # after a bulk COPY the planner has no statistics


def endpoints() -> dict[str, UrlFor]:
    """Endpoint label -> a function of a random generator giving one URL to request. The warm
    runs use the URL of a fixed generator; the cold runs a fresh one each time."""
    from dashboard.api.queries import HISTORY_ORDER, PRICE_KEY
    from tracker.models import LanguageModel, Offering, Provider, Series

    models = list(LanguageModel.objects.order_by("slug").values_list("slug", flat=True))
    providers = list(Provider.objects.order_by("slug").values_list("slug", flat=True))
    top = max(Offering.objects.values_list("id", flat=True))
    series = list(Series.objects.values_list("slug", flat=True))
    epoch = datetime(2023, 1, 1, tzinfo=UTC)

    def day(rng: random.Random) -> str:
        return f"{2023 + rng.randrange(3)}-{1 + rng.randrange(12):02}-{1 + rng.randrange(28):02}"

    def history_cursor(rng: random.Random) -> str:
        return HISTORY_ORDER.encode([rng.randrange(top), "input", "", epoch, 0, 0])

    def price_cursor(rng: random.Random) -> str:
        return PRICE_KEY.encode([rng.randrange(top), "input", ""])

    return {
        "providers": lambda r: "/api/v1/providers",
        "models": lambda r: f"/api/v1/models?cursor={_slug_cursor(r.choice(models))}",
        "models/<slug>": lambda r: f"/api/v1/models/{r.choice(models)}",
        "offerings ?provider": lambda r: f"/api/v1/offerings?provider={r.choice(providers)}",
        "prices (now)": lambda r: f"/api/v1/prices?cursor={price_cursor(r)}",
        "prices ?provider": lambda r: f"/api/v1/prices?provider={r.choice(providers)}",
        "prices ?at": lambda r: f"/api/v1/prices?at={day(r)}&cursor={price_cursor(r)}",
        "prices ?as_of": lambda r: f"/api/v1/prices?as_of={day(r)}&cursor={price_cursor(r)}",
        "history (deep page)": lambda r: f"/api/v1/history?cursor={history_cursor(r)}",
        "history limit=1000": lambda r: f"/api/v1/history?limit=1000&cursor={history_cursor(r)}",
        "history ?model": lambda r: f"/api/v1/history?model={r.choice(models)}",
        "history ?provider": lambda r: f"/api/v1/history?provider={r.choice(providers)}",
        "history ?as_of": lambda r: f"/api/v1/history?as_of={day(r)}&cursor={history_cursor(r)}",
        "history ?from&to": lambda r: f"/api/v1/history?from={day(r)}&cursor={history_cursor(r)}",
        "changes": lambda r: "/api/v1/changes",
        "changes ?provider": lambda r: f"/api/v1/changes?provider={r.choice(providers)}",
        "frontier": lambda r: "/api/v1/frontier?benchmark=" + r.choice(["eci", "gpqa_diamond"]),
        "series/<slug>": lambda r: f"/api/v1/series/{r.choice(series)}",
        "openapi.json": lambda r: "/api/v1/openapi.json",
    }


def _slug_cursor(slug: str) -> str:
    from dashboard.api.views import BY_SLUG

    return BY_SLUG.encode([slug])


def measure(client: Any, url_for: UrlFor, runs: int, cold_runs: int) -> dict[str, Any]:
    from django.db import connection, reset_queries

    url = url_for(random.Random(0))
    first = client.get(url)
    if first.status_code != 200:
        raise SystemExit(f"{url}: {first.status_code} {first.content[:300]!r}")
    reset_queries()
    client.get(url)
    queries = len(connection.queries)
    warm = _timed(lambda: client.get(url), runs)
    tag = first["ETag"]
    not_modified = _timed(lambda: client.get(url, HTTP_IF_NONE_MATCH=tag), runs)
    rng = random.Random(1)
    cold = []
    for _ in range(cold_runs):
        cold_url = url_for(rng)
        connection.close()
        cold += _timed(lambda u=cold_url: client.get(u), 1)  # type: ignore[misc]
    content = first.content
    body = json.loads(gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content)
    rows = len(body["data"]) if "data" in body else len(body.get("steps", []))
    return {"warm": warm, "cold": cold, "304": not_modified, "queries": queries, "rows": rows}


def _timed(call: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100, help="warm requests per endpoint")
    parser.add_argument("--cold-runs", type=int, default=20, help="cold requests per endpoint")
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--recreate", action="store_true", help="drop and create the database")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT",
        help="measure only the endpoints whose label contains TEXT (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    setup(args.recreate, args.spans)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tracker.models import PriceSpan

    setup_test_environment()
    settings.DEBUG = True  # to count queries (connection.queries)
    client = Client(HTTP_ACCEPT_ENCODING="gzip")
    spans = PriceSpan.objects.count()
    print(f"{connection.vendor}: {spans:,} spans; warm x{args.runs}, cold x{args.cold_runs}\n")
    header = f"{'endpoint':<22}{'rows':>6}{'SQL':>5}  {'warm p50':>9}{'warm p95':>9}"
    print(header + f"{'cold p50':>9}{'cold p95':>9}{'304 p50':>9}")
    worst = 0.0
    for name, url_for in endpoints().items():
        if args.only and not any(text in name for text in args.only):
            continue
        m = measure(client, url_for, args.runs, args.cold_runs)
        w95, c95 = percentile(m["warm"], 0.95), percentile(m["cold"], 0.95)
        worst = max(worst, w95)
        print(
            f"{name:<22}{m['rows']:>6}{m['queries']:>5}  {statistics.median(m['warm']):>9.1f}"
            f"{w95:>9.1f}{statistics.median(m['cold']):>9.1f}{c95:>9.1f}"
            f"{statistics.median(m['304']):>9.1f}"
        )
    print(f"\nworst warm p95: {worst:.1f} ms (target < {TARGET_P95_MS} ms)")


if __name__ == "__main__":
    main()
