"""Span algebra for one (source, offering, meter, tier) key, with no database.

A key's history is a list of spans sorted by `valid_from` that never overlap; at most the
last one is open (`valid_to is None`). Observations may arrive in any order (backfill):

- an observation inside a span with the same price only widens what we know of that span
  (`observed_until`, `first_seen_at`, `last_seen_at`);
- a different price at E after the span's last sighting (`observed_until`) ends the span at E
  and starts a new one there, running until the next span (or open);
- a different price at E before any span starts a span that runs until the next one;
- a different price inside the stretch where the span's price was stated (from `valid_from` to
  `observed_until`) contradicts what the source said at or after E: it is ignored, and counted
  by the caller. The one exception is a correction: a span known from a single sighting is
  replaced by a different price for that same instant seen later;
- adjacent spans with the same price are merged, so the history stays canonical.

Those stretches only ever grow, and a split never cuts one, so every observation lands again
where it landed the first time: replaying any sequence of observations changes nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(slots=True)
class Span:
    price: Hashable
    valid_from: datetime
    valid_to: datetime | None
    observed_until: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    first_run: Any = None
    last_run: Any = None
    data: Any = None  # what the caller stores with the price (original figures, FX, ...)
    id: int | None = None

    def contains(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


class Observation(NamedTuple):
    price: Hashable
    effective_at: datetime
    seen_at: datetime
    run: Any = None
    data: Any = None


@dataclass
class KeyHistory:
    spans: list[Span]
    removed: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spans.sort(key=lambda s: s.valid_from)

    def at(self, when: datetime) -> Span | None:
        """The span in force at `when`, if any."""
        index = bisect.bisect_right([s.valid_from for s in self.spans], when) - 1
        if index >= 0 and self.spans[index].contains(when):
            return self.spans[index]
        return None

    @property
    def open_span(self) -> Span | None:
        if self.spans and self.spans[-1].valid_to is None:
            return self.spans[-1]
        return None

    def observe(self, obs: Observation) -> str:
        """Apply one observation. Returns 'extended', 'created' or 'ignored'."""
        when = obs.effective_at
        latest = self.open_span
        if latest is not None and latest.price == obs.price and when >= latest.valid_from:
            _widen(latest, obs)  # the commonest case by far: the current price seen again
            return "extended"
        current = self.at(when)
        if current is None:
            result = self._fill_gap(obs)
        elif current.price == obs.price:
            _widen(current, obs)
            result = "extended"
        elif when > current.observed_until:
            result = self._split(current, obs)
        elif (
            current.valid_from == when == current.observed_until
            and obs.seen_at > current.last_seen_at
        ):
            result = self._replace(current, obs)
        else:
            return "ignored"
        self._merge_neighbours()
        return result

    def close(self, at: datetime) -> bool:
        """End the open span at `at` (the price vanished). Returns whether anything changed."""
        span = self.open_span
        if span is None or at <= span.valid_from:
            return False
        span.valid_to = at
        return True

    def _fill_gap(self, obs: Observation) -> str:
        later = [s for s in self.spans if s.valid_from > obs.effective_at]
        following = later[0] if later else None
        if following is not None and following.price == obs.price:
            following.valid_from = obs.effective_at
            _widen(following, obs)
            return "extended"
        self._insert(_new_span(obs, valid_to=following.valid_from if following else None))
        return "created"

    def _split(self, span: Span, obs: Observation) -> str:
        self._insert(_new_span(obs, valid_to=span.valid_to))
        span.valid_to = obs.effective_at
        return "created"

    def _replace(self, span: Span, obs: Observation) -> str:
        self.spans.remove(span)
        self.removed.append(span)
        self._insert(_new_span(obs, valid_to=span.valid_to))
        return "created"

    def _insert(self, span: Span) -> None:
        bisect.insort(self.spans, span, key=lambda s: s.valid_from)

    def _merge_neighbours(self) -> None:
        merged: list[Span] = []
        for span in self.spans:
            prev = merged[-1] if merged else None
            if prev is not None and prev.valid_to == span.valid_from and prev.price == span.price:
                keep, drop = (
                    (prev, span) if prev.id is not None or span.id is None else (span, prev)
                )
                keep.valid_from = prev.valid_from
                keep.valid_to = span.valid_to
                keep.observed_until = max(prev.observed_until, span.observed_until)
                if span.first_seen_at < prev.first_seen_at:
                    keep.first_seen_at, keep.first_run = span.first_seen_at, span.first_run
                else:
                    keep.first_seen_at, keep.first_run = prev.first_seen_at, prev.first_run
                if span.last_seen_at >= prev.last_seen_at:
                    keep.last_seen_at, keep.last_run = span.last_seen_at, span.last_run
                else:
                    keep.last_seen_at, keep.last_run = prev.last_seen_at, prev.last_run
                keep.data = prev.data
                merged[-1] = keep
                if drop.id is not None:
                    self.removed.append(drop)
            else:
                merged.append(span)
        self.spans = merged


def _new_span(obs: Observation, valid_to: datetime | None) -> Span:
    return Span(
        price=obs.price,
        valid_from=obs.effective_at,
        valid_to=valid_to,
        observed_until=obs.effective_at,
        first_seen_at=obs.seen_at,
        last_seen_at=obs.seen_at,
        first_run=obs.run,
        last_run=obs.run,
        data=obs.data,
    )


def _widen(span: Span, obs: Observation) -> None:
    span.observed_until = max(span.observed_until, obs.effective_at)
    if obs.seen_at < span.first_seen_at:
        span.first_seen_at, span.first_run = obs.seen_at, obs.run
    if obs.seen_at >= span.last_seen_at:
        span.last_seen_at, span.last_run = obs.seen_at, obs.run


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which one source's span is the published price."""

    start: datetime
    end: datetime | None
    price: Hashable
    source_rank: tuple[int, str]
    span: Any


def published_timeline(ranked: list[tuple[tuple[int, str], Span]]) -> list[Segment]:
    """The published price over time from every source's spans for one (offering, meter, tier).

    `ranked` pairs each span with its source's rank (priority, slug): at any instant the
    covering span of the lowest rank is published. Consecutive stretches with the same price
    are one segment (a change of source at the same price is not a price change).
    """
    if len(ranked) == 1:  # one source, one span: the commonest key by far
        rank, span = ranked[0]
        return [Segment(span.valid_from, span.valid_to, span.price, rank, span)]
    bounds = sorted(
        {s.valid_from for _, s in ranked} | {s.valid_to for _, s in ranked if s.valid_to}
    )
    segments: list[Segment] = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        covering = [(rank, s) for rank, s in ranked if s.contains(start)]
        if not covering:
            continue
        rank, span = min(covering, key=lambda pair: pair[0])
        last = segments[-1] if segments else None
        if last is not None and last.end == start and last.price == span.price:
            segments[-1] = Segment(last.start, end, last.price, last.source_rank, last.span)
        else:
            segments.append(Segment(start, end, span.price, rank, span))
    return segments


@dataclass(frozen=True)
class Transition:
    at: datetime
    old: Hashable | None
    new: Hashable | None
    segment: Segment | None  # the segment that starts here (None when the price vanished)


def transitions(segments: list[Segment]) -> list[Transition]:
    """Every change of the published price: appearing, changing, vanishing."""
    result: list[Transition] = []
    previous: Segment | None = None
    for segment in segments:
        if previous is None or previous.end != segment.start:
            if previous is not None and previous.end is not None:
                result.append(Transition(previous.end, previous.price, None, None))
            result.append(Transition(segment.start, None, segment.price, segment))
        else:
            result.append(Transition(segment.start, previous.price, segment.price, segment))
        previous = segment
    if previous is not None and previous.end is not None:
        result.append(Transition(previous.end, previous.price, None, None))
    return result
