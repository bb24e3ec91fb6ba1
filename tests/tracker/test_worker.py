"""A real Celery worker (with the beat scheduler embedded) against Redis and PostgreSQL."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from tracker import scraping
from tracker.models import PriceSpan, ScrapeRun, Source

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_scheduler_enqueues_a_due_source_and_the_worker_records_it(http_server, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    broker = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(broker).flushdb()
    scraping.ensure_sources()
    Source.objects.exclude(slug="genai_prices").update(enabled=False)
    Source.objects.filter(slug="genai_prices").update(
        url=http_server + "/genai_prices/v2_small.json", next_due_at=None
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "TRACKER_TICK_SECONDS": "1",
        "VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tracker", "worker", "-B", "--concurrency", "1",
         "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        run = None
        deadline = time.monotonic() + 90
        while run is None and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            run = ScrapeRun.objects.exclude(status="running").first()
            time.sleep(0.5)
        assert run is not None, (tmp_path / "worker.log").read_text()[-3000:]
        assert (run.status, run.trigger, bool(run.task_id)) == ("succeeded", "schedule", True)
        assert PriceSpan.objects.filter(first_run=run).count() == 26
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
