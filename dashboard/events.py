"""Event annotations drawn on charts: launches, price cuts, the 1886 aluminium process.

Curated in tracker/data/events.csv, one row per event, each citing its source. They are
context, not data: no figure is computed from them.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "tracker" / "data" / "events.csv"
KINDS = ("launch", "price_cut", "process")
HEADER = ["date", "scope", "kind", "label", "source_url", "source"]


@dataclass(frozen=True)
class Event:
    when: date
    scope: str  # "llm", or the slug of the analogy series it belongs to
    kind: str
    label: str
    source_url: str
    source: str


class EventsFileError(ValueError):
    """The events file is malformed; the message names the line."""


def read(path: Path = PATH) -> list[Event]:
    """Every event in the file, oldest first. Raises EventsFileError on a bad row."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        if next(reader, None) != HEADER:
            raise EventsFileError(f"{path.name}: the header must be {','.join(HEADER)}")
        events = []
        for number, cells in enumerate(reader, start=2):
            if not cells:
                continue
            try:
                when, scope, kind, label, url, source = cells
                if kind not in KINDS:
                    raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
                if not (label and source and url.startswith("https://")):
                    raise ValueError("label, source and an https source_url are required")
                events.append(Event(date.fromisoformat(when), scope, kind, label, url, source))
            except ValueError as exc:
                raise EventsFileError(f"{path.name} line {number}: {exc}") from None
    return sorted(events, key=lambda e: e.when)


@functools.cache
def bundled() -> tuple[Event, ...]:
    """The bundled events, read once per process (the file ships with the code)."""
    return tuple(read())


def for_scope(scope: str) -> list[Event]:
    return [event for event in bundled() if event.scope == scope]
