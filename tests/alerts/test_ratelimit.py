"""tracker.ratelimit against a real Redis shared by several threads, and the in-process cache."""

import os
import threading
import uuid
from typing import Any

import pytest
import redis

from tracker import ratelimit

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")


@pytest.fixture
def redis_cache(settings: Any) -> None:
    """Point the default cache at the test Redis, emptied first."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }


def test_allows_up_to_the_limit_then_refuses(redis_cache: None) -> None:
    key = f"k-{uuid.uuid4()}"
    verdicts = [ratelimit.hit(key, 3, 3600) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]


def test_counts_down_remaining_hits(redis_cache: None) -> None:
    key = f"k-{uuid.uuid4()}"
    assert [ratelimit.hit(key, 3, 3600).remaining for _ in range(4)] == [2, 1, 0, 0]


def test_retry_after_is_within_the_window(redis_cache: None) -> None:
    key = f"k-{uuid.uuid4()}"
    for _ in range(2):
        verdict = ratelimit.hit(key, 1, 60)
    assert not verdict.allowed and 1 <= verdict.retry_after <= 60


def test_keys_are_counted_separately(redis_cache: None) -> None:
    ratelimit.hit("a", 1, 3600)
    assert ratelimit.hit("b", 1, 3600).allowed


def test_counter_lives_in_redis(redis_cache: None) -> None:
    ratelimit.hit("shared", 5, 3600)
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match="*ratelimit:shared:*"))


def test_racing_threads_never_exceed_the_limit(redis_cache: None) -> None:
    key = f"k-{uuid.uuid4()}"
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            verdict = ratelimit.hit(key, 50, 3600)
            with lock:
                allowed.append(verdict.allowed)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 50


def test_a_new_window_starts_afresh(redis_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    assert ratelimit.hit("w", 1, 10).allowed
    assert not ratelimit.hit("w", 1, 10).allowed
    clock[0] += 10
    assert ratelimit.hit("w", 1, 10).allowed


def test_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        ratelimit.hit("x", 0, 60)


def test_works_on_the_in_process_cache() -> None:
    assert [ratelimit.hit("local", 1, 60).allowed for _ in range(2)] == [True, False]
