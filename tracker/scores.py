"""The bundled capability scores (tracker/data/scores.csv), so that the frontier and the
price-vs-capability charts work offline on a fresh install, before any live scraper has run.

Rows are recorded through `scraping.record_scores`, the path the live score sources take, each
under the publication it comes from (its `source` column). Unlike a live source, a bundled row
naming a model we do not know is a bug in the file: loading stops with its line number.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from scrapers.base import ScoreQuote
from tracker import scraping
from tracker.identity import normalise
from tracker.models import CapabilityScore, LanguageModel, ModelAlias, Source

PATH = Path(__file__).resolve().parent / "data" / "scores.csv"
COLUMNS = ["model", "benchmark", "score", "measured_on", "source", "source_url", "note"]
# Inclusive bounds per benchmark; a benchmark not listed here is refused.
RANGES = {
    "mmlu": (Decimal(0), Decimal(100)),  # percent correct
    "gpqa_diamond": (Decimal(0), Decimal(1)),  # fraction correct, as Epoch AI states it
    "eci": (Decimal(0), Decimal(1000)),  # Epoch Capabilities Index points
}
PLACES = -CapabilityScore._meta.get_field("score").decimal_places  # as an exponent: -4
SOURCE_MAX = CapabilityScore._meta.get_field("source").max_length or 200
URL_MAX = CapabilityScore._meta.get_field("source_url").max_length or 200


class ScoresFileError(ValueError):
    """scores.csv holds a row that cannot be loaded as it stands."""


def read(path: Path = PATH) -> dict[str, list[tuple[int, ScoreQuote]]]:
    """The file's rows as (line number, quote), grouped by source name. Checks everything that
    does not need the database; raises ScoresFileError naming the line."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ScoresFileError(
                f"{path.name}: the header must be {','.join(COLUMNS)}, got {reader.fieldnames}"
            )
        by_source: dict[str, list[tuple[int, ScoreQuote]]] = defaultdict(list)
        for row in reader:
            try:
                quote = _quote(row)
            except ValueError as exc:
                raise ScoresFileError(f"{path.name} line {reader.line_num}: {exc}") from None
            by_source[row["source"].strip()].append((reader.line_num, quote))
    return dict(by_source)


def _quote(row: dict[str, str]) -> ScoreQuote:
    """One row as a ScoreQuote; ValueError saying what is wrong with it."""
    if None in row or any(value is None for value in row.values()):
        raise ValueError(f"expected {len(COLUMNS)} cells")
    cells = {key: value.strip() for key, value in row.items()}
    model, benchmark, source, url = (
        cells[k] for k in ("model", "benchmark", "source", "source_url")
    )
    if not model:
        raise ValueError("no model")
    if benchmark not in RANGES:
        raise ValueError(f"benchmark {benchmark!r} is not one of {', '.join(RANGES)}")
    try:
        score = Decimal(cells["score"])
    except InvalidOperation:
        raise ValueError(f"score {cells['score']!r} is not a number") from None
    low, high = RANGES[benchmark]
    if not score.is_finite() or not low <= score <= high:
        raise ValueError(f"{benchmark} score {cells['score']} is outside {low}..{high}")
    exponent = score.as_tuple().exponent
    if isinstance(exponent, int) and exponent < PLACES:
        raise ValueError(f"score {cells['score']} has more than {-PLACES} decimal places")
    if not source or len(source) > SOURCE_MAX:
        raise ValueError(f"source must be 1..{SOURCE_MAX} characters")
    if not url.startswith("https://") or len(url) > URL_MAX:
        raise ValueError(f"source_url must be an https URL of at most {URL_MAX} characters")
    day = cells["measured_on"]
    try:
        measured_on = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise ValueError(f"measured_on {day!r} is not a date (YYYY-MM-DD)") from None
    return ScoreQuote(model, benchmark, score, measured_on, url)


def load(path: Path = PATH) -> tuple[int, int]:
    """Record every row of the file; returns (created, updated). Idempotent.

    Run after the ledger and the aliases: every row's model must be a model slug or an alias
    by then, else ScoresFileError names the first line that is not, and nothing is recorded.
    """
    by_source = read(path)
    models = _resolve({normalise(q.model) for rows in by_source.values() for _, q in rows})
    seen: dict[tuple[int, str, str], int] = {}
    for name, rows in by_source.items():
        for line, quote in rows:
            model_id = models.get(normalise(quote.model))
            if model_id is None:
                raise ScoresFileError(
                    f"{path.name} line {line}: unknown model {quote.model!r} "
                    "(neither a model slug nor an alias; see tracker/data/aliases.csv)"
                )
            key = (model_id, quote.benchmark, name)
            if key in seen:
                raise ScoresFileError(
                    f"{path.name} line {line}: {quote.model} {quote.benchmark} from {name} "
                    f"is already on line {seen[key]}"
                )
            seen[key] = line
    created = updated = 0
    with transaction.atomic():
        for name, rows in sorted(by_source.items()):
            # record_scores files scores under `source.slug`; a bundled row's source is the
            # publication it cites, not a registered adapter, so it travels in an unsaved Source.
            made, changed, _ = scraping.record_scores(
                Source(slug=name, name=name), [quote for _, quote in rows]
            )
            created, updated = created + made, updated + changed
    return created, updated


def _resolve(names: set[str]) -> dict[str, int]:
    """Normalised name -> model id, by slug or alias: the lookup record_scores makes."""
    models = dict(LanguageModel.objects.filter(slug__in=names).values_list("slug", "pk"))
    aliases = dict(ModelAlias.objects.filter(alias__in=names).values_list("alias", "model_id"))
    return {**aliases, **models}
