"""LMArena (formerly Chatbot Arena) text leaderboard, as published in lmarena/arena-catalog.

`data/leaderboard-text.json` is written by the repository's `update_leaderboard_data.py` from
LMArena's leaderboard dump: an object of categories (`full`, `coding`, `chinese`, `hard_6`,
`english`, ...), each an object of model name -> `{"rating", "rating_q975", "rating_q025"}`,
without style control and without deprecated models. `full` is the overall leaderboard; only it
is read, as the benchmark `lmarena_text`, and the other categories are left alone (not counted).

The file carries no date, so `measured_on` is None. The model is LMArena's own model key
(`gemini-3-pro`, `claude-opus-4-5-20251101`, ...) as it stands.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from scrapers.base import (
    Fetched,
    HttpClient,
    Parsed,
    ParseError,
    ScoreQuote,
    load_json,
)
from tracker.models import Source

SLUG = "lmarena"
NAME = "LMArena text leaderboard (lmarena/arena-catalog)"
URL = "https://raw.githubusercontent.com/lmarena/arena-catalog/main/data/leaderboard-text.json"
KIND = Source.Kind.REFERENCE
PRIORITY = 90
INTERVAL = dt.timedelta(days=1)
COMPLETE = False
LICENCE = "No licence file in lmarena/arena-catalog; the scores are LMArena's (lmarena.ai)"

BENCHMARK = "lmarena_text"
OVERALL = "full"  # the category key of the overall leaderboard


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Overall (`full`) Arena ratings. Raises ParseError if the body is not the categories
    object, has no `full` category, or no rating in it."""
    data = load_json(fetched, SLUG)
    if not isinstance(data, dict):
        raise ParseError(SLUG, f"expected an object of categories, got {type(data).__name__}")
    board = data.get(OVERALL)
    if not isinstance(board, dict):
        raise ParseError(
            SLUG, f"no {OVERALL!r} (overall) category; categories: {sorted(data)[:12]}"
        )
    parsed = Parsed(quotes=[])
    for name, entry in board.items():
        model = name.strip()
        if not model:
            parsed.skipped["entry without a model name"] += 1
            continue
        if not isinstance(entry, dict):
            parsed.skipped["malformed entry"] += 1
            continue
        if entry.get("rating") is None:
            parsed.skipped["entry without a rating"] += 1
            continue
        rating = _decimal(entry["rating"])
        if rating is None:
            parsed.skipped["unreadable rating"] += 1
            continue
        parsed.scores.append(
            ScoreQuote(model=model, benchmark=BENCHMARK, score=rating, source_url=fetched.url)
        )
    if not parsed.scores:
        raise ParseError(SLUG, f"no ratings in the {OVERALL!r} category")
    return parsed


def _decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number (already Decimal or int) or numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return None
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None  # NaN and Infinity arrive as floats, through json's parse_constant
