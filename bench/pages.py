"""Benchmark (issue #5): server time and bytes of every dashboard page on the synthetic dataset.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_story_bench \\
    CACHE_URL=redis://127.0.0.1:6379/11 python bench/pages.py [--recreate] [--runs 200]
        [--only frontier,models]

Fills the database with bench/synthetic.py's dataset (50 providers, 2,000 models, 10,000
offerings, 400,000 spans) unless it already holds it, collects the static files the way
production does (hashed names, gzip variants; VAR_DIR is a temporary directory) and drives the
whole middleware stack in-process with Django's test Client (no network, so the times are
server times). For each page:

- server time p50/p95, cold (the figure cache cleared before each request) and warm (cached
  figures, full 200 response) and the 304 answer to a conditional request;
- bytes transferred (gzip), cold: the page plus every static file it references; warm: the
  browser has the static files (hashed names, cached for a year) and sends If-None-Match;
- the same, side by side, for a static file of the page's size served by WhiteNoise.

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = {
    "home": "/",
    "frontier": "/frontier/",
    "frontier (gpqa, linear)": "/frontier/?benchmark=gpqa_diamond&threshold=0.7&scale=linear",
    "capability": "/capability/",
    "capability (2024-06-01)": "/capability/?date=2024-06-01",
    "analogies": "/analogies/",
    "embed frontier": "/embed/frontier/",
    "frontier CSV": "/frontier/?format=csv",
}
TARGET_WARM_P95_MS = 50
TARGET_COLD_BYTES = 1_000_000
TARGET_WARM_BYTES = 100_000
HEADERS = {"Accept-Encoding": "gzip"}
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(
    call: Callable[[], Any], runs: int, before: Callable[[], None] | None = None
) -> list[float]:
    """Milliseconds per call, `before` (untimed) run ahead of each."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def wire_bytes(response: Any) -> int:
    """Body as sent plus the status line and headers, roughly as on the wire."""
    head = sum(len(k) + len(v) + 4 for k, v in response.items()) + len("HTTP/1.1 200 OK\r\n\r\n")
    return head + len(body(response))


def setup(recreate: bool) -> None:
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="tracker-bench-pages-"))
    os.environ["DJANGO_DEBUG"] = "false"
    from bench import synthetic

    synthetic.setup_django(recreate=recreate)
    from django.core.management import call_command
    from django.db import connection

    from tracker import analogies
    from tracker.models import Source

    if not Source.objects.filter(slug__startswith=synthetic.PREFIX).exists():
        built = synthetic.build()
        print(f"synthetic dataset: {built.spans:,} spans, {built.changes:,} changes, "
              f"{built.offerings:,} offerings in {built.seconds:.0f} s")  # fmt: skip
    analogies.load_bundled()  # aluminium and the other series, as `seed` loads them
    call_command("collectstatic", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # After a bulk COPY the planner has no statistics until autovacuum comes by.
            cursor.execute("ANALYZE")


def explore_pages() -> dict[str, str]:
    """The exploration pages, on the first synthetic model, provider and offerings."""
    from tracker.models import Offering

    offerings = list(Offering.objects.select_related("model", "provider").order_by("pk")[:3])
    first = offerings[0]
    return {
        "models": "/models/",
        "model": f"/models/{first.model.slug}/",
        "providers": "/providers/",
        "provider": f"/providers/{first.provider.slug}/",
        "compare": "/compare/?o=" + ",".join(str(o.pk) for o in offerings),
        "changes": "/changes/",
        "changes.atom": "/changes.atom",
        "methodology": "/methodology/",
    }


def same_size_file(name: str, html: bytes) -> str:
    """Write `html` as a static file (and its gzip variant, as collectstatic would) and return
    its URL: the baseline of serving the same bytes without any work."""
    from django.conf import settings

    folder = Path(settings.STATIC_ROOT) / "bench"
    folder.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    path = folder / f"{slug}.html"
    path.write_bytes(html)
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(html, 9))
    return f"/static/bench/{path.name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200, help="warm requests per page")
    parser.add_argument("--cold-runs", type=int, default=15, help="cold requests per page")
    parser.add_argument("--recreate", action="store_true", help="drop and create the database")
    parser.add_argument("--only", default="", help="comma-separated page names to measure")
    args = parser.parse_args()
    setup(args.recreate)
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    pages = {**PAGES, **explore_pages()}
    if args.only:
        pages = {name: path for name, path in pages.items() if name in args.only.split(",")}
    print(f"database: {connection.vendor}; cache: {cache.__class__.__name__}; "
          "server: Django test Client, in-process, full middleware stack")  # fmt: skip
    plain = {name: body(Client().get(path)) for name, path in pages.items()}
    static_urls = {name: same_size_file(name, plain[name]) for name in pages}
    client = Client()  # a new handler: WhiteNoise scans STATIC_ROOT again, baseline files too

    rows = []
    for name, path in pages.items():
        get = lambda path=path: client.get(path, headers=HEADERS)  # noqa: E731
        cold = timed(get, args.cold_runs, before=cache.clear)
        get()
        warm = timed(get, args.runs)
        first = get()
        etag = first.get("ETag", "")
        not_modified = lambda path=path, etag=etag: client.get(  # noqa: E731
            path, headers={**HEADERS, "If-None-Match": etag}
        )
        revalidate = timed(not_modified, args.runs)
        assets = sorted(set(ASSET.findall(plain[name].decode(errors="replace"))))
        asset_bytes = sum(wire_bytes(client.get(url, headers=HEADERS)) for url in assets)
        page_bytes = wire_bytes(first)
        static = static_urls[name]
        static_get = lambda static=static: client.get(static, headers=HEADERS)  # noqa: E731
        static_times = timed(static_get, args.runs)
        print(f"measured {name}", file=sys.stderr)
        baseline = static_get()
        assert baseline.status_code == 200, f"{static}: {baseline.status_code}"
        rows.append(
            {
                "page": name,
                "size": len(plain[name]),
                "cold p50": statistics.median(cold),
                "cold p95": percentile(cold, 0.95),
                "warm p50": statistics.median(warm),
                "warm p95": percentile(warm, 0.95),
                "304 p95": percentile(revalidate, 0.95),
                "static p50": statistics.median(static_times),
                "static p95": percentile(static_times, 0.95),
                "bytes cold": page_bytes + asset_bytes,
                "bytes warm (304)": wire_bytes(not_modified()),
                "bytes warm (changed)": page_bytes,
                "static bytes": wire_bytes(baseline),
                "304": not_modified().status_code,
            }
        )
    report(rows)


def report(rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    print()
    print(" | ".join(columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        cells = [
            f"{value:.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value)
            for value in row.values()
        ]
        print(" | ".join(cells))
    print()
    print("times in ms (server time, in-process); bytes gzip, headers included")
    worst = max(row["warm p95"] for row in rows)
    cold = max(row["bytes cold"] for row in rows)
    warm = max(row["bytes warm (changed)"] for row in rows)
    print(f"warm p95 worst {worst:.1f} ms (target < {TARGET_WARM_P95_MS} ms): "
          f"{'met' if worst < TARGET_WARM_P95_MS else 'MISSED'}")  # fmt: skip
    print(f"bytes cold worst {cold:,} (target < {TARGET_COLD_BYTES:,}): "
          f"{'met' if cold < TARGET_COLD_BYTES else 'MISSED'}")  # fmt: skip
    verdict = "met" if warm < TARGET_WARM_BYTES else "MISSED"
    print(f"bytes warm worst {warm:,} when the page changed, "
          f"{max(r['bytes warm (304)'] for r in rows):,} when it did not "
          f"(target < {TARGET_WARM_BYTES:,}): {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
