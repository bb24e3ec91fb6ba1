"""Benchmark: record one payload of 2,000 offerings x 6 meters, then the same payload again.

    python bench/record_map.py [--offerings 2000]                       # SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench python bench/record_map.py

Target (issue 3): under 1 s each, and the re-run writes no new rows. Prints figures only:
wall time, and the CPU time of this process and of the PostgreSQL backend (the server must run
on this machine for that figure).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest_export import _prepare_database

METERS = ["input", "output", "cache_read", "cache_write", "batch_input", "batch_output"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offerings", type=int, default=2000)
    args = parser.parse_args()
    _prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tracker.ingest import Quote, record
    from tracker.models import PriceChange, PriceSpan, ScrapeRun, Source

    call_command("migrate", verbosity=0)
    source = Source.objects.create(
        slug="bench", name="bench", kind="curated_map", priority=20, interval=timedelta(hours=1)
    )
    quotes = [
        Quote(
            provider=f"p{i % 40}",
            provider_model_id=f"model-{i}",
            meter=meter,
            amount=Decimal(i % 97 + 1) / Decimal(8),
        )
        for i in range(args.offerings)
        for meter in METERS
    ]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    print(f"database: {connection.vendor}; {len(quotes):,} quotes")
    for label, when in (("first run", t0), ("unchanged re-run", t0 + timedelta(hours=1))):
        rows_before = PriceSpan.objects.count() + PriceChange.objects.count()
        # A run of its own, as in production: every span seen again points at it.
        run = ScrapeRun.objects.create(
            source=source, trigger=ScrapeRun.Trigger.MANUAL, started_at=when, observed_at=when
        )
        server = _server_cpu()
        cpu = time.process_time()
        start = time.perf_counter()
        result = record(source, quotes, when, run=run, complete=True)
        took = time.perf_counter() - start
        cpu = time.process_time() - cpu
        server = _server_cpu() - server
        new_rows = PriceSpan.objects.count() + PriceChange.objects.count() - rows_before
        print(
            f"{label}: {took:.2f} s ({len(quotes) / took:,.0f} quotes/s; CPU: this process "
            f"{cpu:.2f} s, database server {server:.2f} s); "
            f"{result.spans_created} spans created, {result.changes} changes, "
            f"{new_rows} new rows"
        )


def _server_cpu() -> float:
    """CPU seconds the PostgreSQL backend serving this connection has used (0 on SQLite).

    Beside wall time, CPU time shows where the time goes, and moves less when other work
    shares the machine."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
