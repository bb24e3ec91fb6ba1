"""Epoch AI's Benchmarking Hub: the Epoch Capabilities Index (ECI) and GPQA Diamond scores.

Epoch publishes the hub's data as one zip of CSVs, https://epoch.ai/data/benchmark_data.zip
(served with an ETag), and some tables on their own (https://epoch.ai/data/eci_scores.csv).
`parse` takes either the zip or a single CSV body. Two tables are read:

- the ECI. Earlier bundles (the December 2025 export the fixtures come from) carry it as
  `epoch_capabilities_index.csv` (columns `Model version`, `ECI Score`, `Release date`, ...;
  one row per model version, many without a score, every version of a model group sharing the
  group's score). Bundles seen in 2026 carry `epoch_capabilities_index/eci_scores.csv` instead
  (`Model`, `Display name`, `eci`, `eci_ci_low`, `eci_ci_high`, `date`, ...; one row per model
  group). Both are read; when a zip holds both, only the first is used. `measured_on` is the
  model's release date, the only date these tables carry: the ECI is fitted again from all of a
  model's benchmark runs at every release of the data, so it has no evaluation date of its own.
- `gpqa_diamond.csv`, Epoch's own GPQA Diamond runs (`Model version`, `mean_score`,
  `Best score (across scorers)`, ..., `Started at`). The score is `Best score (across
  scorers)`: the column the zip's own `benchmark_metadata.csv` names as GPQA Diamond's score
  and the one Epoch's ECI fit reads; it equals `mean_score` unless a run was graded by more
  than one scorer. `mean_score` is read only when that column is missing. `measured_on` is the
  day the run started (`Started at`), the date the score was measured.

`model` is Epoch's own id as it stands (a model version such as `gpt-5.2-2025-12-11_xhigh`, or
a model group name in the later ECI table); ingest maps it through the alias table. A model
listed twice for one benchmark keeps its most recently dated row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from scrapers.base import Fetched, HttpClient, Parsed, ParseError, ScoreQuote
from tracker.models import Source

SLUG = "epoch_eci"
NAME = "Epoch AI Benchmarking Hub (ECI, GPQA Diamond)"
URL = "https://epoch.ai/data/benchmark_data.zip"
KIND = Source.Kind.REFERENCE
PRIORITY = 90
INTERVAL = dt.timedelta(days=7)
COMPLETE = False
LICENCE = "CC BY 4.0: Epoch AI, 'Data on AI Benchmarking', epoch.ai/benchmarks"

MAX_MEMBER_BYTES = 50 * 1024 * 1024  # one CSV inside the zip, uncompressed


@dataclass(frozen=True)
class Table:
    """One table of scores: where it sits in the zip and which columns it is read from.

    Each column tuple lists the accepted header names in order of preference.
    """

    benchmark: str
    members: tuple[str, ...]
    models: tuple[str, ...]
    scores: tuple[str, ...]
    dates: tuple[str, ...]


ECI = Table(
    benchmark="eci",
    members=("epoch_capabilities_index.csv", "epoch_capabilities_index/eci_scores.csv"),
    models=("Model version", "Model"),
    scores=("ECI Score", "eci"),
    dates=("Release date", "date"),
)
GPQA_DIAMOND = Table(
    benchmark="gpqa_diamond",
    members=("gpqa_diamond.csv",),
    models=("Model version",),
    scores=("Best score (across scorers)", "mean_score"),
    dates=("Started at",),
)
TABLES = (ECI, GPQA_DIAMOND)


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """ECI and GPQA Diamond scores from the hub's zip or from one of its CSVs.

    Raises ParseError when the body is neither, when a table lacks its model or score column,
    or when no score is found.
    """
    parsed = Parsed(quotes=[])
    if fetched.body.startswith(b"PK\x03\x04"):
        tables = _zip_tables(fetched.body, parsed.skipped)
    else:
        text = _text(fetched.body, "the body")
        tables = [(_table_for(text), text, "the CSV")]
    best: dict[tuple[str, str], ScoreQuote] = {}
    for table, text, where in tables:
        for score in _scores(table, text, where, fetched.url, parsed.skipped):
            key = (score.model, score.benchmark)
            kept = best.get(key)
            if kept is None:
                best[key] = score
                continue
            parsed.skipped["earlier row for the same model"] += 1
            if _day(score) > _day(kept):
                best[key] = score
    parsed.scores = list(best.values())
    if not parsed.scores:
        raise ParseError(SLUG, "no scores found")
    return parsed


def _zip_tables(body: bytes, skipped: Counter[str]) -> list[tuple[Table, str, str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ParseError(SLUG, f"not a readable zip: {exc}") from None
    with archive:
        tables = []
        for table in TABLES:
            info = _member(archive, table.members)
            if info is None:
                skipped[f"zip without {' or '.join(table.members)}"] += 1
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise ParseError(SLUG, f"{info.filename} is larger than {MAX_MEMBER_BYTES} bytes")
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise ParseError(SLUG, f"{info.filename} unreadable: {exc}") from None
            tables.append((table, _text(data, info.filename), info.filename))
    if not tables:
        wanted = ", ".join(name for table in TABLES for name in table.members)
        raise ParseError(SLUG, f"the zip holds none of {wanted}")
    return tables


def _member(archive: zipfile.ZipFile, names: tuple[str, ...]) -> zipfile.ZipInfo | None:
    """The first of `names` in the archive: at its root, else under the shallowest folder."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    for name in names:
        if exact := [info for info in infos if info.filename == name]:
            return exact[0]
        nested = [info for info in infos if info.filename.endswith("/" + name)]
        if nested:
            return min(nested, key=lambda info: info.filename.count("/"))
    return None


def _text(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(SLUG, f"{where} is not UTF-8 text: {exc}") from None
    if text.lstrip().startswith("<"):
        raise ParseError(SLUG, f"{where} is an HTML or XML page, not CSV")
    return text


def _table_for(text: str) -> Table:
    """Which table a lone CSV is, told by its score column."""
    header = _header(next(csv.reader(io.StringIO(text, newline="")), []))
    for table in TABLES:
        if _column(header, table.scores) is not None:
            return table
    expected = ", ".join(name for table in TABLES for name in table.scores)
    raise ParseError(SLUG, f"the CSV has no score column ({expected}); header: {list(header)[:8]}")


def _scores(
    table: Table, text: str, where: str, source_url: str, skipped: Counter[str]
) -> list[ScoreQuote]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _header(next(reader, []))
        model_at = _column(header, table.models)
        score_at = _column(header, table.scores)
        if model_at is None:
            raise ParseError(SLUG, f"{where} has no model column ({', '.join(table.models)})")
        if score_at is None:
            raise ParseError(SLUG, f"{where} has no score column ({', '.join(table.scores)})")
        date_at = _column(header, table.dates)
        scores = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            quote = _row(table, cells, model_at, score_at, date_at, source_url, skipped)
            if quote is not None:
                scores.append(quote)
    except csv.Error as exc:
        raise ParseError(SLUG, f"{where} is not readable CSV: {exc}") from None
    return scores


def _row(
    table: Table,
    cells: list[str],
    model_at: int,
    score_at: int,
    date_at: int | None,
    source_url: str,
    skipped: Counter[str],
) -> ScoreQuote | None:
    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    model, text = cell(model_at), cell(score_at)
    if not model:
        skipped["row without a model"] += 1
        return None
    if not text:
        skipped["row without a score"] += 1
        return None
    try:
        score = Decimal(text)
    except InvalidOperation:
        score = Decimal("NaN")
    if not score.is_finite():
        skipped["unreadable score"] += 1
        return None
    day: dt.date | None = None
    if when := cell(date_at):
        try:
            day = dt.date.fromisoformat(when[:10])
        except ValueError:
            skipped["unreadable date"] += 1
            return None
    return ScoreQuote(
        model=model, benchmark=table.benchmark, score=score, measured_on=day, source_url=source_url
    )


def _header(cells: list[str]) -> dict[str, int]:
    """Column positions by header name, compared without case or surrounding spaces."""
    positions: dict[str, int] = {}
    for index, name in enumerate(cells):
        positions.setdefault(name.strip().casefold(), index)
    return positions


def _column(header: dict[str, int], names: tuple[str, ...]) -> int | None:
    return next((header[n.casefold()] for n in names if n.casefold() in header), None)


def _day(score: ScoreQuote) -> dt.date:
    return score.measured_on or dt.date.min
