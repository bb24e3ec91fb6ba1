"""Fixed-window rate limits on the shared Django cache (Redis in production).

Every process (web workers, Celery) counts in the same cache, so a limit holds across them.
`cache.add` creates the window's counter only if it is missing and `cache.incr` is atomic on
Redis, so two requests racing for the last slot cannot both be allowed.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    """The verdict on one hit: allowed or not, hits left in this window, seconds until it ends."""

    allowed: bool
    remaining: int
    retry_after: int


def hit(key: str, limit: int, window_seconds: int) -> Limit:
    """Count one hit on `key`; allowed while at most `limit` hits fall in the current window.

    Windows are aligned to multiples of `window_seconds` since the epoch. Raises ValueError on a
    non-positive limit or window. Not idempotent: each call counts.
    """
    if limit < 1 or window_seconds < 1:
        raise ValueError(
            f"limit and window_seconds must be positive, got {limit}, {window_seconds}"
        )
    now = time.time()
    window = int(now // window_seconds)
    counter = f"ratelimit:{key}:{window_seconds}:{window}"
    # The counter outlives its window by a second so a slow incr never recreates it at 1.
    if cache.add(counter, 1, timeout=window_seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add and incr: this hit opens a fresh counter
            cache.add(counter, 1, timeout=window_seconds + 1)
            count = 1
    retry_after = max(1, int((window + 1) * window_seconds - now + 0.999))
    return Limit(allowed=count <= limit, remaining=max(0, limit - count), retry_after=retry_after)
