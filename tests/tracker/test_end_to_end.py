"""End to end: the scheduler and a real worker run three sources twice, over real HTTP.

Version 1: genai-prices and LiteLLM agree on GPT-4o ($2.50 in, $10 out); OpenRouter resells it
at the same price. Version 2: genai-prices cuts GPT-4o's input to $2 (LiteLLM lags at $2.50:
a disagreement), OpenRouter follows, and genai-prices lists GPT-4o mini's input a hundred
times too high (held, never published).
"""

import functools
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from tests.tracker.test_worker import ROOT, _database_url
from tracker import scraping
from tracker.models import (
    PendingPrice,
    PriceChange,
    PriceDisagreement,
    PriceSpan,
    ScrapeRun,
    Source,
)

SOURCES = ("genai_prices", "openrouter", "litellm")


def genai(gpt4o_input: float, mini_input: float) -> list[object]:
    return [
        {
            "id": "openai",
            "name": "OpenAI",
            "api_pattern": "https://api\\.openai\\.com",
            "models": [
                {"id": "gpt-4o", "match": {"equals": "gpt-4o"},
                 "prices": {"input_mtok": gpt4o_input, "output_mtok": 10}},
                {"id": "gpt-4o-mini", "match": {"equals": "gpt-4o-mini"},
                 "prices": {"input_mtok": mini_input, "output_mtok": 0.6}},
            ],
        }
    ]  # fmt: skip


def openrouter(gpt4o_prompt: str) -> dict[str, object]:
    return {
        "data": [
            {"id": "openai/gpt-4o", "name": "OpenAI: GPT-4o", "context_length": 128000,
             "pricing": {"prompt": gpt4o_prompt, "completion": "0.00001"}},
        ]
    }  # fmt: skip


LITELLM = {
    "gpt-4o": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
    }
}


def publish(folder: Path, version: int) -> None:
    bodies = {
        "genai.json": genai(2.5, 0.15) if version == 1 else genai(2, 15),
        "openrouter.json": openrouter("0.0000025" if version == 1 else "0.000002"),
        "litellm.json": LITELLM,
    }
    for name, body in bodies.items():
        path = folder / name
        path.write_text(json.dumps(body))
        # A later mtime than any earlier version, so If-Modified-Since sees the change.
        stamp = time.time() + 10 * version
        os.utime(path, (stamp, stamp))


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=folder)
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_for_runs(count: int, worker: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()[-3000:]
        done = ScrapeRun.objects.filter(source__slug__in=SOURCES, status="succeeded").count()
        if done >= count:
            return
        time.sleep(0.5)
    raise AssertionError(log.read_text()[-3000:])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_versions_of_three_sources_through_scheduler_and_worker(served, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    folder, base = served
    broker = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(broker).flushdb()
    scraping.ensure_sources()
    Source.objects.exclude(slug__in=SOURCES).update(enabled=False)
    for slug, name in zip(SOURCES, ("genai", "openrouter", "litellm"), strict=True):
        Source.objects.filter(slug=slug).update(url=f"{base}/{name}.json", next_due_at=None)
    publish(folder, 1)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "TRACKER_TICK_SECONDS": "1",
        "VAR_DIR": str(tmp_path / "var"),
    }
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracker", "worker", "-B", "--concurrency",
             "2", "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_runs(3, worker, log)
            publish(folder, 2)
            Source.objects.filter(slug__in=SOURCES).update(next_due_at=timezone.now())
            wait_for_runs(6, worker, log)
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    # genai-prices' cut is a new span; LiteLLM still states $2.50 and disagrees by 25 %.
    spans = PriceSpan.objects.filter(
        source__slug="genai_prices", offering__provider__slug="openai",
        offering__provider_model_id="gpt-4o", meter="input",
    ).order_by("valid_from")  # fmt: skip
    assert [s.usd_per_mtok for s in spans] == [Decimal("2.5"), Decimal(2)]
    cut = PriceChange.objects.get(
        offering__provider__slug="openai", offering__provider_model_id="gpt-4o", kind="changed"
    )
    assert (cut.old_usd_per_mtok, cut.new_usd_per_mtok, cut.source.slug) == (
        Decimal("2.5"),
        Decimal(2),
        "genai_prices",
    )
    disagreement = PriceDisagreement.objects.get(resolved_at__isnull=True)
    assert (disagreement.source.slug, disagreement.difference) == ("litellm", Decimal("0.25"))
    # OpenRouter's own offering moved too, published from OpenRouter itself.
    resale = PriceChange.objects.get(offering__provider__slug="openrouter", kind="changed")
    assert resale.new_usd_per_mtok == Decimal(2)
    # The hundredfold jump is held and published nowhere.
    held = PendingPrice.objects.get()
    assert (held.offering.provider_model_id, held.kind, held.status) == ("gpt-4o-mini", "jump",
                                                                          "pending")  # fmt: skip
    assert not PriceChange.objects.filter(
        offering__provider_model_id="gpt-4o-mini", kind="changed"
    ).exists()
    assert all(
        run.finished_at - run.started_at < timedelta(seconds=30)
        for run in ScrapeRun.objects.filter(source__slug__in=SOURCES)
    )
