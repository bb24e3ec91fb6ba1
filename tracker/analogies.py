"""Historical analogies: bundled series, real prices via the CPI, alignment and decline fits.

The pure part (`read_series_file`, `align`, `fit_decline`) takes plain values; the loaders write
Series and SeriesPoint rows and are safe to run twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from tracker.models import Series, SeriesPoint

SERIES_DIR = Path(__file__).resolve().parent / "data" / "series"
CPI_SLUG = "cpi_us"
REQUIRED_META = (
    "title", "unit", "kind", "basis", "source", "source_url", "licence", "breakthrough_year",
    "breakthrough_event", "notes",
)  # fmt: skip
HEADER = ["date", "value", "quality", "note", "source"]
QUANTUM = Decimal("0.000000000001")


class SeriesFileError(ValueError):
    """A bundled series file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Row:
    when: date
    value: Decimal
    quality: str
    note: str = ""
    source: str = ""


@dataclass
class SeriesFile:
    slug: str
    meta: dict[str, str]
    rows: list[Row] = field(default_factory=list)


def read_series_file(path: Path) -> SeriesFile:
    """Parse `# key: value` metadata lines, then `date,value,quality,note,source` rows."""
    import csv

    meta: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    body_start = 0
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = number
            break
        key, sep, value = line.lstrip("# ").partition(":")
        if not sep:
            raise SeriesFileError(f"{path.name} line {number + 1}: metadata needs 'key: value'")
        meta[key.strip()] = value.strip()
    missing = [key for key in REQUIRED_META if key not in meta]
    if missing:
        raise SeriesFileError(f"{path.name}: metadata lacks {', '.join(missing)}")
    reader = csv.reader(lines[body_start:])
    if next(reader, None) != HEADER:
        raise SeriesFileError(f"{path.name}: the header must be {','.join(HEADER)}")
    result = SeriesFile(slug=path.stem, meta=meta)
    for offset, cells in enumerate(reader, start=body_start + 2):
        if not cells:
            continue
        try:
            when_text, value_text, quality, note, source = [*cells, "", ""][:5]
            when = _parse_date(when_text)
            amount = Decimal(value_text)
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"value {value_text} is not a non-negative number")
            if quality not in SeriesPoint.Quality.values:
                raise ValueError(f"quality {quality!r} is not one of {SeriesPoint.Quality.values}")
        except (ValueError, InvalidOperation) as exc:
            raise SeriesFileError(f"{path.name} line {offset}: {exc}") from None
        result.rows.append(Row(when, amount, quality, note, source))
    return result


def _parse_date(text: str) -> date:
    text = text.strip()
    if len(text) == 4 and text.isdigit():
        return date(int(text), 7, 1)  # an annual figure stands at mid-year
    return date.fromisoformat(text)


def bundled_files() -> list[Path]:
    return sorted(SERIES_DIR.glob("*.csv"))


@transaction.atomic
def load_bundled(paths: Iterable[Path] | None = None) -> list[Series]:
    """Create or update every bundled series and its points, then recompute real values.

    Idempotent: loading the same files twice changes nothing.
    """
    loaded = []
    for path in paths if paths is not None else bundled_files():
        parsed = read_series_file(path)
        meta = parsed.meta
        year = meta.get("breakthrough_year", "")
        series, _ = Series.objects.update_or_create(
            slug=parsed.slug,
            defaults={
                "title": meta["title"],
                "unit": meta["unit"],
                "kind": meta["kind"],
                "basis": meta["basis"],
                "basis_year": int(meta["basis_year"]) if meta.get("basis_year") else None,
                "source": meta["source"],
                "source_url": meta["source_url"],
                "licence": meta["licence"],
                "notes": meta["notes"],
                "splice": meta.get("splice", ""),
                "breakthrough_date": date(int(year), 1, 1) if year else None,
                "breakthrough_event": meta["breakthrough_event"],
            },
        )
        upsert_points(series, parsed.rows, replace_other_sources=False)
        loaded.append(series)
    recompute_real()
    return loaded


def upsert_points(
    series: Series, rows: Sequence[Row], *, replace_other_sources: bool = True
) -> tuple[int, int]:
    """Insert new dates and update changed ones; returns (created, updated).

    With `replace_other_sources` false (the bundled files), a point that another source wrote
    (an updater's newer figure) is left alone, so seeding again never undoes an update.
    """
    existing = {p.date: p for p in series.points.all()}
    creates, updates = [], []
    for row in rows:
        point = existing.get(row.when)
        if point is not None and not replace_other_sources and point.source != row.source[:500]:
            continue
        if point is None:
            creates.append(
                SeriesPoint(
                    series=series,
                    date=row.when,
                    value=row.value,
                    quality=row.quality,
                    note=row.note[:500],
                    source=row.source[:500],
                )
            )
        elif (point.value, point.quality, point.note, point.source) != (
            row.value,
            row.quality,
            row.note[:500],
            row.source[:500],
        ):
            point.value, point.quality = row.value, row.quality
            point.note, point.source = row.note[:500], row.source[:500]
            updates.append(point)
    SeriesPoint.objects.bulk_create(creates)
    SeriesPoint.objects.bulk_update(updates, ["value", "quality", "note", "source"])
    return len(creates), len(updates)


def cpi_by_year() -> dict[int, Decimal]:
    return {
        p.date.year: p.value
        for p in SeriesPoint.objects.filter(series__slug=CPI_SLUG).order_by("date")
    }


def recompute_real() -> None:
    """Fill `nominal` and `real` of every point from the CPI, in dollars of the CPI's last year.

    Prices only; a year the CPI does not cover gets no real value rather than a guess.
    """
    cpi = cpi_by_year()
    base_year = max(cpi) if cpi else None
    for series in Series.objects.all():
        points = list(series.points.all())
        for point in points:
            point.nominal, point.real = _dollars(series, point, cpi, base_year)
        SeriesPoint.objects.bulk_update(points, ["nominal", "real"], batch_size=500)
        series.cpi_base_year = base_year if series.kind == Series.Kind.PRICE else None
        series.save(update_fields=["cpi_base_year"])


def _dollars(
    series: Series, point: SeriesPoint, cpi: dict[int, Decimal], base_year: int | None
) -> tuple[Decimal | None, Decimal | None]:
    if series.kind != Series.Kind.PRICE:
        return point.value, None
    year = point.date.year
    if series.basis == Series.Basis.REAL:
        basis = series.basis_year
        if basis is None or basis not in cpi or year not in cpi or base_year is None:
            return None, None
        nominal = point.value * cpi[year] / cpi[basis]
        real = point.value * cpi[base_year] / cpi[basis]
    else:
        nominal = point.value
        if year not in cpi or base_year is None:
            return nominal, None
        real = point.value * cpi[base_year] / cpi[year]
    return nominal.quantize(QUANTUM), real.quantize(QUANTUM)


# --- alignment and fits (pure) --------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One observation: when (a decimal year, e.g. 1888.5) and a positive value."""

    year: float
    value: float
    reliable: bool = True  # approximate figures are drawn but never anchor or fit


def decimal_year(when: date) -> float:
    start = date(when.year, 1, 1)
    length = (date(when.year + 1, 1, 1) - start).days
    return when.year + (when - start).days / length


@dataclass(frozen=True)
class Aligned:
    """A series on the shared axes: years since its breakthrough, value / anchor value."""

    x: list[float]
    y: list[float]
    reliable: list[bool]
    anchor_year: float
    anchor_value: float


def align(points: Sequence[Point], breakthrough: float) -> Aligned:
    """x = years since `breakthrough`; y = value relative to the first reliable point at or
    after it (so every series starts at 1 and is drawn on a log scale).

    Raises ValueError when no reliable, positive point follows the breakthrough.
    """
    ordered = sorted((p for p in points if p.value > 0), key=lambda p: p.year)
    anchor = next((p for p in ordered if p.year >= breakthrough and p.reliable), None)
    if anchor is None:
        raise ValueError("no reliable point at or after the breakthrough to anchor on")
    return Aligned(
        x=[p.year - breakthrough for p in ordered],
        y=[p.value / anchor.value for p in ordered],
        reliable=[p.reliable for p in ordered],
        anchor_year=anchor.year,
        anchor_value=anchor.value,
    )


@dataclass(frozen=True)
class Fit:
    """A log-linear fit of value against time over [start, end] years since the breakthrough."""

    start: float
    end: float
    points: int
    annual_change: float  # -0.27 means 27 % cheaper each year
    decade_factor: float  # 23.4 means 23.4 times cheaper per decade (below 1: dearer)

    @property
    def halving_years(self) -> float | None:
        rate = math.log(1 + self.annual_change)
        return math.log(0.5) / rate if rate < 0 else None

    def describe(self, *, price: bool = True) -> str:
        """'-27.2 %/yr, x23.8 cheaper per decade (years 2-10 ...)'; for a quantity, 'more'."""
        falling = self.decade_factor >= 1
        factor = self.decade_factor if falling else 1 / self.decade_factor
        word = ("cheaper" if falling else "dearer") if price else ("less" if falling else "more")
        return (
            f"{self.annual_change * 100:+.1f} %/yr, x{factor:.3g} {word} per decade "
            f"(years {self.start:g}-{self.end:g} after the breakthrough, {self.points} points)"
        )


def fit_decline(aligned: Aligned, start: float = 0, end: float = 15) -> Fit:
    """Least-squares fit of ln(y) on x over reliable points with start <= x <= end.

    Raises ValueError with fewer than two points in the window.
    """
    pairs = [
        (x, math.log(y))
        for x, y, ok in zip(aligned.x, aligned.y, aligned.reliable, strict=True)
        if ok and start <= x <= end
    ]
    if len(pairs) < 2 or len({x for x, _ in pairs}) < 2:
        raise ValueError(f"fewer than two reliable points between years {start} and {end}")
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / sum(
        (x - mean_x) ** 2 for x, _ in pairs
    )
    first, last = min(x for x, _ in pairs), max(x for x, _ in pairs)
    return Fit(
        start=round(first, 2),
        end=round(last, 2),
        points=n,
        annual_change=math.exp(slope) - 1,
        decade_factor=math.exp(-10 * slope),
    )


def series_points(series: Series, *, real: bool = True) -> list[Point]:
    """A stored series as plain points: a price in real dollars (points the CPI cannot convert
    are left out rather than mixed in as nominal), anything else as published."""
    in_real = real and series.kind == Series.Kind.PRICE
    return [
        Point(
            decimal_year(p.date),
            float(p.real if in_real and p.real is not None else p.value),
            p.quality != SeriesPoint.Quality.APPROXIMATE,
        )
        for p in series.points.order_by("date")
        if not (in_real and p.real is None)
    ]


def record_rows(rows_by_series: dict[str, list[Row]]) -> tuple[int, int]:
    """Upsert rows an updater fetched into existing series; recompute real values.

    Returns (created, updated). Raises IngestError for a series that is not loaded yet.
    """
    from tracker.ingest import IngestError

    created = updated = 0
    with transaction.atomic():
        for slug, rows in rows_by_series.items():
            series = Series.objects.filter(slug=slug).first()
            if series is None:
                raise IngestError(f"series {slug!r} is not loaded yet: run manage.py seed first")
            made, changed = upsert_points(series, rows)
            created, updated = created + made, updated + changed
        if created or updated:
            recompute_real()
    return created, updated
