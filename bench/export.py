"""Benchmark: the full spans download through the real view, beside plain COPY of the same query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_data python bench/export.py \\
        [--build 1000000] [--formats csv,jsonl,parquet]

With --build, the database is recreated and filled by bench/synthetic.py first. The site runs
under gunicorn (one sync worker, as in production); each download is read over HTTP by this
process, and the worker's peak RSS (VmHWM) is read from /proc. Plain COPY runs here, on its
own connection, with the statement and the settings the view uses; with parquet among the
formats, the Parquet build is also timed in process. Prints figures and each body's sha256
prefix (the view's CSV must equal plain COPY's), asserts none.
The view reads a large CSV in TRACKER_EXPORT_COPY_PARTS parts at once (default 2), each on a
connection of its own in one snapshot; plain COPY is the one statement on one connection.
Targets (issue 7): at least 300,000 rows/s and under 150 MB for the CSV.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import build, setup_django  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _worker(master: int) -> int:
    """The gunicorn worker's pid (the master's only child)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tracker.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "1200", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "DJANGO_DEBUG": "false"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(100):
        try:
            httpx.get(base + "/data/sources.csv", timeout=5)  # no templates: no collectstatic
            return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


def _download(base: str, path: str, worker: int) -> tuple[int, str, float, int]:
    """(bytes, sha256 prefix, seconds, worker peak RSS in KiB) of one download."""
    import httpx

    size = 0
    digest = hashlib.sha256()
    start = time.perf_counter()
    headers = {"Accept-Encoding": "identity"}
    with httpx.stream("GET", base + path, headers=headers, timeout=1200) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 16):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()[:16], time.perf_counter() - start, _kib(worker, "VmHWM")


def _plain_copy(statement: str, params: list[object]) -> tuple[int, float, str]:
    """(bytes, seconds, sha256 prefix) of the COPY, read as psycopg's documentation shows."""
    import psycopg

    from dashboard.exports import SPANS, read_settings

    size = 0
    digest = hashlib.sha256()
    start = time.perf_counter()
    with (
        psycopg.connect(os.environ["DATABASE_URL"]) as conn,
        conn.cursor() as cursor,
    ):
        # The settings the view's transaction takes (dashboard.exports._large_read).
        for name, value in read_settings(SPANS):
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
        with cursor.copy(statement, params or None) as copy:
            for data in copy:
                size += len(data)
                digest.update(data)
    return size, time.perf_counter() - start, digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", type=int, default=0, help="recreate with this many spans")
    parser.add_argument("--formats", default="csv,jsonl,parquet")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database")
    setup_django(recreate=bool(args.build))
    if args.build:
        built = build(spans=args.build)
        print(f"synthetic: {built.spans:,} spans in {built.seconds:.0f} s")

    from django.db import connection

    from dashboard.exports import SPANS, copy_statement, csv_chunks, table_sql, today, write_parquet
    from dashboard.filters import Filters
    from tracker.models import PriceSpan

    spans = PriceSpan.objects.count()
    sql, params = table_sql(SPANS, Filters(), today()) or ("", [])
    connection.close()
    print(f"{spans:,} spans in the database\n")

    results: list[tuple[str, int, float, str, str]] = []
    size, took, sha = _plain_copy(copy_statement(SPANS, sql), params)
    results.append(("plain COPY, same statement (no HTTP)", size, took, "-", sha))
    raw = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
    size, took, sha = _plain_copy(raw, params)
    results.append(("plain COPY, unformatted query", size, took, "-", sha))

    server, base = _serve()
    try:
        worker = _worker(server.pid)
        idle = _kib(worker, "VmRSS")
        for fmt in args.formats.split(","):
            size, sha, took, peak_kib = _download(base, f"/data/spans.{fmt}", worker)
            label = f"GET /data/spans.{fmt} (gunicorn)"
            results.append((label, size, took, f"{peak_kib / 1024:.0f}", sha))
    finally:
        server.terminate()
        server.wait(30)

    if "parquet" in args.formats.split(","):
        with tempfile.TemporaryFile() as out:
            start = time.perf_counter()
            rows = write_parquet(SPANS, csv_chunks(SPANS, Filters(), today()), out)
            parquet_s, parquet_mb = time.perf_counter() - start, out.tell() / 1e6
        results.append(("Parquet build, in process", int(parquet_mb * 1e6), parquet_s, "-", "-"))

    print(f"worker RSS when idle: {idle / 1024:.0f} MB")
    print(f"{'what':44} {'MB':>8} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>12}  sha256")
    for label, size_bytes, took, peak, sha in results:
        rate = spans / took
        print(f"{label:44} {size_bytes / 1e6:8.1f} {took:8.2f} {rate:11,.0f} {peak:>12}  {sha}")
    if "parquet" in args.formats.split(","):
        print(f"\nParquet: {rows:,} rows, {parquet_mb:.1f} MB in {parquet_s:.1f} s")


if __name__ == "__main__":
    main()
