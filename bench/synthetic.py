"""A deterministic synthetic dataset for benchmarks, filling the current (migrated) database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_data python bench/synthetic.py \\
        --spans 1000000 [--recreate]

`build()` writes providers, models (with aliases and capability scores), offerings, sources
with distinct priorities, weekly scrape runs each with its payload, price spans and the
PriceChange events of the published timeline those spans imply, and two analogy series.
Every invariant of the real data holds: per (source, offering, meter, tier) spans never
overlap and at most one is open; the events are exactly the transitions of the published
timeline (computed with the same pure functions ingest uses), plus a few retracted ones; every
span names the runs that saw it, and every run its payload. The same arguments give the same
rows, whatever the clock says. Rows go in with COPY on PostgreSQL (`insert_rows`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PREFIX = "syn-"
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = int((END - START).total_seconds() // 3600)
WEEK = timedelta(days=7)
WEEKS = (END - START) // WEEK + 1
CREATED = END  # every created_at: fixed, so that two builds are equal
QUANTUM = Decimal("0.000000000001")
FAMILIES = ("alpha", "bravo", "corvid", "delta", "ember", "fjord", "gale", "helix")
# (slug, kind, priority): the published price comes from the lowest priority reporting it.
PRICE_SOURCES = (
    ("syn-vendor-pages", "provider_page", 10),
    ("syn-curated-map", "curated_map", 20),
    ("syn-aggregator", "aggregator", 40),
)
SCORE_SOURCE = ("syn-scores", "reference", 90)
# (benchmark, share of models scored, low, high): higher is better on every one.
BENCHMARKS = (
    ("eci", 0.35, 90.0, 160.0),
    ("gpqa_diamond", 0.25, 0.25, 0.9),
    ("lmarena_text", 0.30, 1000.0, 1500.0),
)
BATCH_OFFERINGS = 400


@dataclass(frozen=True)
class Built:
    """What build() wrote, and how long it took."""

    providers: int
    models: int
    offerings: int
    spans: int
    changes: int
    runs: int
    seconds: float


Row = tuple[Any, ...]
KeyTuple = tuple[int, str, str]  # (offering_id, meter, tier)


def build(
    providers: int = 50,
    models: int = 2000,
    offerings: int = 10000,
    spans: int = 400000,
    *,
    seed: int = 1,
) -> Built:
    """Fill the current database with the synthetic dataset, in one transaction.

    Raises ValueError when the arguments cannot be honoured (more offerings than distinct
    (provider, model) pairs) or when the database already holds a synthetic dataset.
    """
    from django.db import transaction

    from tracker.models import Source

    if offerings > providers * models:
        raise ValueError(f"offerings: at most providers x models = {providers * models}")
    if Source.objects.filter(slug__startswith=PREFIX).exists():
        raise ValueError("the database already holds a synthetic dataset (sources 'syn-*')")
    started = time.perf_counter()
    rng = random.Random(seed)
    with transaction.atomic():
        ids = _Ids()
        source_ids = _sources()
        run_ids = _runs(ids, source_ids)
        provider_ids = _providers(ids, providers)
        model_ids = _models(ids, rng, model_count=models, provider_ids=provider_ids)
        _scores(ids, rng, model_ids, source_ids[SCORE_SOURCE[0]])
        offering_ids = _offerings(ids, offerings, provider_ids, model_ids)
        made_spans, made_changes = _history(ids, rng, offering_ids, source_ids, run_ids, spans)
        _series(rng)
        _reset_sequences()
    _analyze()
    return Built(
        providers=providers,
        models=models,
        offerings=offerings,
        spans=made_spans,
        changes=made_changes,
        runs=len(run_ids) * WEEKS,
        seconds=time.perf_counter() - started,
    )


class _Ids:
    """Hands out primary keys after the largest one already in each table, so that spans and
    events can point at each other before they are written."""

    def __init__(self) -> None:
        self._next: dict[type, int] = {}

    def take(self, model: type, count: int) -> int:
        """The first of `count` consecutive fresh ids of `model`'s table."""
        from django.db.models import Max

        if model not in self._next:
            self._next[model] = (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1  # type: ignore[attr-defined]
        first = self._next[model]
        self._next[model] = first + count
        return first


def _insert(model: type, columns: Sequence[str], rows: Sequence[Row]) -> None:
    from tracker.ingest.record import insert_rows

    insert_rows(model, columns, rows)


def _sources() -> dict[str, int]:
    from tracker.models import Source

    made = {}
    for slug, kind, priority in (*PRICE_SOURCES, SCORE_SOURCE):
        source = Source.objects.create(
            slug=slug,
            name=f"Synthetic {slug.removeprefix(PREFIX).replace('-', ' ')}",
            kind=kind,
            priority=priority,
            url=f"https://example.org/{slug}.json",
            interval=WEEK,
            enabled=False,  # never scheduled: example.org has nothing to say
            licence="CC0 1.0 (synthetic data)",
            notes="Generated by bench/synthetic.py for benchmarks.",
        )
        made[slug] = source.pk
    return made


def _runs(ids: _Ids, source_ids: dict[str, int]) -> dict[int, int]:
    """One succeeded run a week per price source, each with its own payload. Returns the id of
    each source's first run; its run of week k is that id plus k."""
    from tracker.models import Payload, ScrapeRun

    payloads: list[Row] = []
    runs: list[ScrapeRun] = []
    first_run: dict[int, int] = {}
    payload_id = ids.take(Payload, WEEKS * len(PRICE_SOURCES))
    run_id = ids.take(ScrapeRun, WEEKS * len(PRICE_SOURCES))
    for slug, _, _ in PRICE_SOURCES:
        source_id = source_ids[slug]
        first_run[source_id] = run_id
        for week in range(WEEKS):
            at = START + week * WEEK
            raw = json.dumps({"source": slug, "week": week, "at": at.isoformat()}).encode()
            url = f"https://example.org/{slug}.json"
            payloads.append((
                payload_id, hashlib.sha256(raw).hexdigest(), zlib.compress(raw), len(raw),
                "application/json", url, at,
            ))  # fmt: skip
            runs.append(
                ScrapeRun(
                    id=run_id, source_id=source_id, status="succeeded", trigger="schedule",
                    url=url, observed_at=at, started_at=at, finished_at=at + timedelta(minutes=1),
                    payload_id=payload_id,
                )
            )  # fmt: skip
            payload_id += 1
            run_id += 1
    _insert(Payload, ("id", "sha256", "body", "size_bytes", "content_type", "url",
                      "first_fetched_at"), payloads)  # fmt: skip
    ScrapeRun.objects.bulk_create(runs)
    return first_run


def _providers(ids: _Ids, count: int) -> list[int]:
    from tracker.models import Provider

    first = ids.take(Provider, count)
    rows = [
        (first + i, f"{PREFIX}provider-{i:03d}", f"Synthetic Provider {i}",
         f"https://provider-{i}.example.org/", i % 10 == 9, False, CREATED)
        for i in range(count)
    ]  # fmt: skip
    _insert(Provider, ("id", "slug", "name", "website", "is_reseller", "auto_discovered",
                       "created_at"), rows)  # fmt: skip
    return [row[0] for row in rows]


def _models(
    ids: _Ids, rng: random.Random, *, model_count: int, provider_ids: list[int]
) -> list[int]:
    """Models released from 2021 to 2025 in index order, each with one alias."""
    from tracker.models import LanguageModel, ModelAlias

    first = ids.take(LanguageModel, model_count)
    alias_first = ids.take(ModelAlias, model_count)
    rows: list[Row] = []
    aliases: list[Row] = []
    span_days = (date(2025, 12, 31) - date(2021, 1, 1)).days
    for i in range(model_count):
        family = FAMILIES[i % len(FAMILIES)]
        released = date(2021, 1, 1) + timedelta(days=span_days * i // max(model_count, 1))
        rows.append((
            first + i, f"{PREFIX}{family}-{i:05d}", f"Syn {family.title()} {i}",
            provider_ids[i % len(provider_ids)], family, released,
            rng.choice((8192, 32768, 128000, 200000, 1000000)),
            None if i % 7 == 0 else i % 3 == 0, False, CREATED,
        ))  # fmt: skip
        aliases.append((alias_first + i, f"synthetic-{family}-{i}", first + i, False, CREATED))
    _insert(LanguageModel, ("id", "slug", "name", "creator_id", "family", "release_date",
                            "context_window", "open_weights", "auto_discovered", "created_at"),
            rows)  # fmt: skip
    _insert(ModelAlias, ("id", "alias", "model_id", "auto_created", "created_at"), aliases)
    return [row[0] for row in rows]


def _scores(ids: _Ids, rng: random.Random, model_ids: list[int], source_id: int) -> None:
    """Scores that grow with release order, with noise, so that a capability frontier exists."""
    from tracker.models import CapabilityScore, Source

    source_slug = Source.objects.get(pk=source_id).slug
    rows: list[Row] = []
    count = len(model_ids)
    for benchmark, share, low, high in BENCHMARKS:
        for i, model_id in enumerate(model_ids):
            if rng.random() >= share:
                continue
            progress = i / max(count - 1, 1)
            value = low + (high - low) * min(1.0, max(0.0, progress * 0.8 + rng.random() * 0.2))
            score = Decimal(f"{value:.4f}")
            measured = date(2021, 1, 1) + timedelta(days=int(progress * 1800))
            rows.append((model_id, benchmark, score, source_slug, "", measured))
    first = ids.take(CapabilityScore, len(rows))
    _insert(
        CapabilityScore,
        ("id", "model_id", "benchmark", "score", "source", "source_url", "measured_on"),
        [(first + n, *row) for n, row in enumerate(rows)],
    )


def _offerings(ids: _Ids, count: int, provider_ids: list[int], model_ids: list[int]) -> list[int]:
    """Offering i sells model i mod M through the (i div M)-th of that model's providers."""
    from tracker.models import Offering

    first = ids.take(Offering, count)
    rows: list[Offering] = []
    slugs = _model_slugs(model_ids)
    for i in range(count):
        model_index, nth = i % len(model_ids), i // len(model_ids)
        provider = provider_ids[(model_index * 13 + nth) % len(provider_ids)]
        rows.append(
            Offering(
                id=first + i, provider_id=provider, model_id=model_ids[model_index],
                provider_model_id=slugs[model_index], created_at=CREATED,
            )
        )  # fmt: skip
    # insert_rows() cannot take provider_model_id (it reads every '*_id' as a foreign key).
    Offering.objects.bulk_create(rows, batch_size=2000)
    Offering.objects.filter(pk__gte=first).update(created_at=CREATED)  # not auto_now_add's now
    return [row.pk for row in rows]


def _model_slugs(model_ids: list[int]) -> list[str]:
    from tracker.models import LanguageModel

    slugs = dict(LanguageModel.objects.filter(pk__in=model_ids).values_list("pk", "slug"))
    return [slugs[pk] for pk in model_ids]


def _keys_of(index: int) -> list[tuple[str, str, float]]:
    """(meter, tier, price multiplier) of the offering with this index."""
    keys = [("input", "", 1.0), ("output", "", 4.0)]
    if index % 3 == 0:
        keys.append(("cache_read", "", 0.1))
    if index % 10 == 0:
        keys += [("input", "over_200k", 2.0), ("output", "over_200k", 8.0)]
    return keys


def _sources_of(index: int, source_ids: list[int]) -> list[int]:
    """One source for most offerings, two for every fourth (so the published price switches)."""
    first = index % len(source_ids)
    if index % 4 == 0:
        return [source_ids[first], source_ids[(first + 1) % len(source_ids)]]
    return [source_ids[first]]


def _history(
    ids: _Ids,
    rng: random.Random,
    offering_ids: list[int],
    source_ids: dict[str, int],
    first_run: dict[int, int],
    total_spans: int,
) -> tuple[int, int]:
    """Spans and events, written a batch of offerings at a time so memory stays flat."""
    from tracker.models import PriceChange, PriceSpan

    price_sources = [source_ids[slug] for slug, _, _ in PRICE_SOURCES]
    ranks = {source_ids[slug]: (priority, slug) for slug, _, priority in PRICE_SOURCES}
    key_count = sum(
        len(_keys_of(i)) * len(_sources_of(i, price_sources)) for i in range(len(offering_ids))
    )
    per_key, extra = divmod(total_spans, max(key_count, 1))
    span_id = ids.take(PriceSpan, total_spans)
    key_number = made_spans = made_changes = 0
    for batch_start in range(0, len(offering_ids), BATCH_OFFERINGS):
        span_rows: list[Row] = []
        ranked: dict[KeyTuple, list[tuple[tuple[int, str], Any]]] = defaultdict(list)
        for index in range(batch_start, min(batch_start + BATCH_OFFERINGS, len(offering_ids))):
            base = math.exp(rng.uniform(math.log(0.02), math.log(60)))
            for source_id in _sources_of(index, price_sources):
                for meter, tier, factor in _keys_of(index):
                    count = per_key + (1 if key_number < extra else 0)
                    key_number += 1
                    key = (offering_ids[index], meter, tier)
                    for row, span in _key_spans(rng, key, source_id, first_run, span_id, count,
                                                base * factor):  # fmt: skip
                        span_rows.append(row)
                        ranked[key].append((ranks[source_id], span))
                    span_id += count
        _insert(PriceSpan, SPAN_COLUMNS, span_rows)
        change_rows = _changes(ranked, first_run)
        first = ids.take(PriceChange, len(change_rows))
        _insert(PriceChange, CHANGE_COLUMNS, [(first + n, *r) for n, r in enumerate(change_rows)])
        made_spans += len(span_rows)
        made_changes += len(change_rows)
    return made_spans, made_changes


SPAN_COLUMNS = (
    "id", "offering_id", "meter", "tier", "source_id", "usd_per_mtok", "original_amount",
    "original_currency", "original_unit", "valid_from", "valid_to", "observed_until",
    "first_seen_at", "last_seen_at", "first_run_id", "last_run_id",
)  # fmt: skip
CHANGE_COLUMNS = (
    "id", "offering_id", "meter", "tier", "kind", "old_usd_per_mtok", "new_usd_per_mtok",
    "ratio", "changed_at", "detected_at", "source_id", "span_id", "run_id", "is_backfill",
    "retracted_at",
)  # fmt: skip


def _run_at(first_run: dict[int, int], source_id: int, at: datetime) -> int:
    week = min(max((at - START) // WEEK, 0), WEEKS - 1)
    return first_run[source_id] + week


def _key_spans(
    rng: random.Random,
    key: KeyTuple,
    source_id: int,
    first_run: dict[int, int],
    first_id: int,
    count: int,
    price: float,
) -> Iterator[tuple[Row, Any]]:
    """`count` non-overlapping spans of one key, oldest first: mostly back to back, sometimes
    with a gap, the last one open unless the offering was withdrawn. Prices drift down."""
    from tracker.ingest.spans import Span

    if count == 0:
        return
    starts = sorted(rng.sample(range(HOURS - 1), count))
    closed_last = rng.random() < 0.1
    for n, hour in enumerate(starts):
        valid_from = START + timedelta(hours=hour)
        if n + 1 < count:
            next_hour = starts[n + 1]
            gap = rng.random() < 0.05 and next_hour - hour > 1
            valid_to: datetime | None = START + timedelta(
                hours=(hour + next_hour) // 2 if gap else next_hour
            )
        elif closed_last:
            valid_to = START + timedelta(hours=hour + max(1, (HOURS - hour) // 2))
        else:
            valid_to = None
        seen_until = valid_to - timedelta(hours=1) if valid_to else END
        seen_until = max(seen_until, valid_from)
        usd = Decimal(f"{price:.6g}").quantize(QUANTUM)
        per_token = n % 5 == 4  # some sources state per token: 18 decimal places
        amount = usd / 1_000_000 if per_token else usd
        row = (
            first_id + n, key[0], key[1], key[2], source_id, usd, amount, "USD",
            "token" if per_token else "1m", valid_from, valid_to, seen_until, valid_from,
            seen_until, _run_at(first_run, source_id, valid_from),
            _run_at(first_run, source_id, seen_until),
        )  # fmt: skip
        span = Span(
            price=usd.normalize(), valid_from=valid_from, valid_to=valid_to,
            observed_until=seen_until, first_seen_at=valid_from, last_seen_at=seen_until,
            data=(first_id + n, source_id), id=first_id + n,
        )  # fmt: skip
        yield row, span
        price *= rng.uniform(0.55, 1.08)


def _changes(
    ranked: dict[KeyTuple, list[tuple[tuple[int, str], Any]]], first_run: dict[int, int]
) -> list[Row]:
    """The PriceChange rows (without id) that ingest would have written for these spans, plus
    a retracted event for one key in fifty."""
    from tracker.ingest.spans import published_timeline, transitions
    from tracker.models import PriceChange

    rows: list[Row] = []
    for key in sorted(ranked):
        steps = transitions(published_timeline(ranked[key]))
        for step in steps:
            old = Decimal(str(step.old)) if step.old is not None else None
            new = Decimal(str(step.new)) if step.new is not None else None
            kind = "listed" if old is None else "delisted" if new is None else "changed"
            span_id, source_id = step.segment.span.data if step.segment else (None, None)
            run_id = _run_at(first_run, source_id, step.at) if source_id else None
            rows.append((*key, kind, old, new, PriceChange.ratio_of(old, new), step.at, step.at,
                         source_id, span_id, run_id, True, None))  # fmt: skip
        if steps and key[0] % 50 == 0 and steps[0].new is not None:
            # A price once announced, then shown wrong by a later backfill.
            at = steps[0].at + timedelta(minutes=30)
            old, new = Decimal(str(steps[0].new)), Decimal(str(steps[0].new)) * 2
            rows.append((*key, "changed", old, new, PriceChange.ratio_of(old, new), at, at,
                         None, None, None, True, at + timedelta(days=2)))  # fmt: skip
    return rows


def _series(rng: random.Random) -> None:
    """Two small analogy series: a price that falls after its breakthrough, and a quantity."""
    from tracker.models import Series, SeriesPoint

    specs = (
        ("syn-widget-price", "Synthetic widget price", "USD per widget", "price", 1900),
        ("syn-widget-output", "Synthetic widget output", "widgets per year", "quantity", 1920),
    )
    for slug, title, unit, kind, breakthrough in specs:
        series = Series.objects.create(
            slug=slug, title=title, unit=unit, kind=kind, source="bench/synthetic.py",
            licence="CC0 1.0 (synthetic data)", breakthrough_date=date(breakthrough, 1, 1),
            breakthrough_event="Synthetic breakthrough", cpi_base_year=2024,
        )  # fmt: skip
        value = 1000.0 if kind == "price" else 1.0
        points = []
        for year in range(1880, 2001):
            exact = Decimal(f"{value:.8g}").quantize(Decimal("0.000001"))
            points.append(
                SeriesPoint(
                    series=series, date=date(year, 1, 1), value=exact,
                    nominal=exact if kind == "price" else None,
                    real=(exact * 20).quantize(Decimal("0.000001")) if kind == "price" else None,
                    quality="estimated" if year < 1900 else "measured",
                )
            )  # fmt: skip
            value *= rng.uniform(0.9, 1.02) if kind == "price" else rng.uniform(1.0, 1.12)
        SeriesPoint.objects.bulk_create(points)


def _reset_sequences() -> None:
    """Explicit ids leave PostgreSQL's sequences behind; the next ORM insert would collide."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(
        no_style(), list(apps.get_app_config("tracker").get_models())
    )
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _analyze() -> None:
    """Planner statistics for the new rows, as autovacuum would gather them a while later."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database that `url` names (benchmarks start empty)."""
    import psycopg

    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(*, recreate: bool) -> None:
    """Settings from the environment; a migrated database (recreated first if asked)."""
    url = os.environ.get("DATABASE_URL", "")
    if recreate and url.startswith("postgres"):
        recreate_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--offerings", type=int, default=10000)
    parser.add_argument("--spans", type=int, default=400000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--recreate", action="store_true", help="drop and create the PostgreSQL database first"
    )
    args = parser.parse_args()
    setup_django(recreate=args.recreate)
    from django.db import connection

    built = build(args.providers, args.models, args.offerings, args.spans, seed=args.seed)
    print(
        f"{connection.vendor}: {built.spans:,} spans, {built.changes:,} price changes, "
        f"{built.offerings:,} offerings, {built.models:,} models, {built.providers} providers, "
        f"{built.runs} runs in {built.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
