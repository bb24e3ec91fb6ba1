"""Benchmark: recording a full price map, replaying it, and streaming the spans CSV.

    python bench/ingest_export.py [--spans 200000]                     # SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench python bench/ingest_export.py

The PostgreSQL database is created if missing and emptied first. Prints figures, asserts none.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _prepare_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="tracker-bench-")
        return
    import psycopg

    name = url.rsplit("/", 1)[-1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=200_000, help="synthetic spans to export")
    args = parser.parse_args()
    _prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dashboard.exports import SPAN_FIELDS, _rows
    from scrapers import genai_prices
    from tracker import scraping
    from tracker.models import Offering, PriceSpan, Provider, Source

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    scraping.ensure_sources()
    body, url = genai_prices.bundled()
    for label in ("first record", "replay (no change)"):
        start = time.perf_counter()
        run = scraping.run_source("genai_prices", trigger="seed", url=url, body=body)
        took = time.perf_counter() - start
        print(
            f"genai-prices {label}: {run.quotes} quotes in {took:.2f} s "
            f"({run.quotes / took:,.0f} quotes/s), {run.spans_created} spans created, "
            f"{run.changes} changes"
        )

    # Synthetic history: offerings x 2 meters x sequential spans, bulk-inserted.
    source = Source.objects.get(slug="genai_prices")
    provider, _ = Provider.objects.get_or_create(slug="bench", defaults={"name": "bench"})
    model = Offering.objects.select_related("model").first().model
    per_key = 50
    keys = max(1, args.spans // per_key)
    offerings = Offering.objects.bulk_create(
        [
            Offering(provider=provider, model=model, provider_model_id=f"bench-{i}")
            for i in range(keys // 2 + 1)
        ]
    )
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    batch: list[PriceSpan] = []
    made = 0
    for offering in offerings:
        for meter in ("input", "output"):
            for j in range(per_key):
                if made >= args.spans:
                    break
                start_at = t0 + timedelta(days=7 * j)
                batch.append(
                    PriceSpan(
                        source=source, offering=offering, meter=meter, tier="",
                        usd_per_mtok=Decimal(j + 1) / 7, original_amount=Decimal(j + 1) / 7,
                        original_currency="USD", original_unit="1m",
                        valid_from=start_at,
                        valid_to=None if j == per_key - 1 else start_at + timedelta(days=7),
                        observed_until=start_at, first_seen_at=start_at, last_seen_at=start_at,
                    )
                )  # fmt: skip
                made += 1
            if len(batch) >= 10_000:
                PriceSpan.objects.bulk_create(batch)
                batch.clear()
    PriceSpan.objects.bulk_create(batch)
    total = PriceSpan.objects.count()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    rows = size = 0
    queryset = PriceSpan.objects.order_by(
        "source__slug", "offering__provider__slug", "offering__provider_model_id", "meter",
        "tier", "valid_from",
    ).values_list(*SPAN_FIELDS)  # fmt: skip
    for line in _rows(queryset):
        rows += 1
        size += len(line)
    took = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"spans CSV export: {rows - 1:,} rows ({size / 1e6:.1f} MB) of {total:,} spans in "
        f"{took:.2f} s = {(rows - 1) / took:,.0f} rows/s; peak RSS {rss_before:.0f} -> "
        f"{rss_after:.0f} MB"
    )


if __name__ == "__main__":
    main()
