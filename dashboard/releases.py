"""Dated releases of the whole dataset, for people who cite a version.

`build_release()` writes RELEASES_DIR/<YYYY-MM-DD>/: every table of dashboard.exports as gzip
CSV and as Parquet, a Frictionless `datapackage.json` (schemas with types and units, licence,
sources, each file's size and SHA-256) and a `CITATION.cff`. The same data gives the same
bytes: rows come in a fixed order, gzip headers carry no time or name, the documents carry no
build time. It also records what changed since the previous release, by merging the two
releases' CSVs (sorted by each table's key) in constant memory.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gzip
import hashlib
import json
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dashboard.exports import TABLES, Table, csv_chunks, today, write_parquet
from dashboard.filters import Filters
from dashboard.models import Release, ReleaseFile
from tracker.models import Source

TITLE = "Token Price Tracker: LLM API token prices over time"
DESCRIPTION = (
    "What LLM API providers charge per token, over time: every price each source stated, "
    "with when it held and when it was seen, the published price changes, a daily series, "
    "the providers, models, offerings and capability scores, and historical analogy series. "
    "Prices are US dollars per 1,000,000 tokens."
)
FRICTIONLESS_TYPES = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "decimal": "number",
}
LICENSE_PATHS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}


@dataclass(frozen=True)
class FileInfo:
    name: str
    table: str
    format: str
    size_bytes: int
    sha256: str
    rows: int | None = None


def build_release(on: date | None = None) -> Release:
    """Build (or rebuild) the release named after `on` (default: today, UTC) from the data as
    it is now. Safe to run twice: a rebuild from unchanged data writes the same bytes. One
    build at a time per RELEASES_DIR; older releases are left untouched."""
    on = on or today()
    name = on.isoformat()
    root: Path = settings.RELEASES_DIR
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive(root):
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            with _snapshot():
                files = [info for table in TABLES.values() for info in _write(table, work, on)]
                sources = list(Source.objects.order_by("slug"))
            document = datapackage(name, files, sources)
            files.append(_write_bytes(work, "datapackage.json", "json", _json(document)))
            files.append(_write_bytes(work, "CITATION.cff", "cff", citation_cff(name).encode()))
            previous = Release.objects.filter(name__lt=name).order_by("-name").first()
            changes = None
            if previous is not None and (root / previous.name).is_dir():
                changes = diff_releases(root / previous.name, work)
            _replace(work, root / name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return _save(name, previous, files, changes)


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """A lock file: the daily task and `manage.py release` never build at once."""
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """Every table from one snapshot of the database: a read-only REPEATABLE READ transaction
    on PostgreSQL. (SQLite's default transaction here would take the write lock for minutes,
    so there each table is read on its own.)"""
    if connection.vendor != "postgresql":
        yield
        return
    outermost = not connection.in_atomic_block  # (tests run inside a transaction already)
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _write(table: Table, work: Path, on: date) -> list[FileInfo]:
    """The table as <name>.csv.gz and <name>.parquet, from one read of its CSV."""
    csv_path, parquet_path = work / f"{table.name}.csv.gz", work / f"{table.name}.parquet"
    with (
        csv_path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        parquet_path.open("wb") as parquet,
    ):
        rows = write_parquet(table, _tee(csv_chunks(table, Filters(), on), compressed), parquet)
    return [
        _info(csv_path, table.name, "csv.gz", rows),
        _info(parquet_path, table.name, "parquet", rows),
    ]


def _tee(chunks: Iterable[bytes], sink: gzip.GzipFile) -> Iterator[bytes]:
    for chunk in chunks:
        sink.write(chunk)
        yield chunk


def _write_bytes(work: Path, name: str, kind: str, content: bytes) -> FileInfo:
    path = work / name
    path.write_bytes(content)
    return _info(path, "", kind, None)


def _info(path: Path, table: str, kind: str, rows: int | None) -> FileInfo:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return FileInfo(path.name, table, kind, path.stat().st_size, digest.hexdigest(), rows)


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def _replace(work: Path, target: Path) -> None:
    """Move the new release into place; a rebuild of the same day replaces the old files."""
    if target.exists():
        stale = target.with_name(f".{target.name}-stale-{uuid.uuid4().hex}")
        target.rename(stale)
        work.rename(target)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        work.rename(target)


def _save(
    name: str, previous: Release | None, files: list[FileInfo], changes: dict[str, Any] | None
) -> Release:
    rows = {f.table: f.rows for f in files if f.format == "parquet"}
    with transaction.atomic():
        release, _ = Release.objects.update_or_create(
            name=name,
            defaults={
                "built_at": timezone.now(),
                "previous": previous,
                "rows": rows,
                "changes": changes,
            },
        )
        release.files.all().delete()
        ReleaseFile.objects.bulk_create(
            ReleaseFile(
                release=release, name=f.name, table=f.table, format=f.format,
                size_bytes=f.size_bytes, sha256=f.sha256, rows=f.rows,
            )
            for f in files
        )  # fmt: skip
    return release


# --- the documents ---


def release_url(name: str) -> str:
    return f"{settings.RELEASES_BASE_URL}/releases/{name}/"


def datapackage(name: str, files: list[FileInfo], sources: list[Source]) -> dict[str, Any]:
    """The Frictionless Tabular Data Package describing the release's files."""
    license_id = settings.RELEASES_LICENSE
    return {
        "profile": "tabular-data-package",
        "name": "token-price-tracker",
        "title": TITLE,
        "description": DESCRIPTION,
        "version": name,
        "created": f"{name}T00:00:00Z",
        "homepage": release_url(name),
        "licenses": [
            {"name": license_id, "path": LICENSE_PATHS.get(license_id, ""), "title": license_id}
        ],
        "contributors": [{"title": settings.RELEASES_AUTHOR, "role": "author"}],
        "sources": [
            {
                "title": source.name,
                "path": source.url,
                "name": source.slug,
                "kind": source.kind,
                "licence": source.licence,
            }
            for source in sources
        ],
        "resources": [_resource(f) for f in files],
    }


def _resource(f: FileInfo) -> dict[str, Any]:
    table = TABLES[f.table]
    resource: dict[str, Any] = {
        "name": table.name if f.format == "csv.gz" else f"{table.name}-parquet",
        "path": f.name,
        "title": table.title,
        "description": table.description,
        "bytes": f.size_bytes,
        "hash": f"sha256:{f.sha256}",
        "rows": f.rows,
    }
    if f.format == "csv.gz":
        resource |= {
            "profile": "tabular-data-resource",
            "format": "csv",
            "compression": "gz",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "header": True, "lineTerminator": "\n"},
        }
    else:
        resource |= {"format": "parquet", "mediatype": "application/vnd.apache.parquet"}
    resource["schema"] = _schema(table)
    return resource


def _schema(table: Table) -> dict[str, Any]:
    fields = []
    for column in table.columns:
        field: dict[str, Any] = {
            "name": column.name,
            "type": FRICTIONLESS_TYPES[column.kind],
            "description": column.description,
        }
        if column.unit:
            field["unit"] = column.unit
        if column.kind == "boolean":
            field |= {"trueValues": ["true"], "falseValues": ["false"]}
        if column.kind == "decimal":
            field["bareNumber"] = True
        fields.append(field)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if "tier" not in table.key:  # the base tier is empty, and a key may not be missing
        schema["primaryKey"] = list(table.key)
    return schema


def citation_cff(name: str) -> str:
    """CITATION.cff (Citation File Format 1.2.0) for this release."""
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite this version of it as below."',
        "type: dataset",
        f"title: {json.dumps(TITLE)}",
        f'version: "{name}"',
        f'date-released: "{name}"',
        "authors:",
        f"  - name: {json.dumps(settings.RELEASES_AUTHOR)}",
        f"license: {settings.RELEASES_LICENSE}",
        f"url: {json.dumps(release_url(name))}",
        f"abstract: {json.dumps(DESCRIPTION)}",
        "keywords:",
        *(f"  - {word}" for word in ("LLM", "API pricing", "token prices", "time series")),
    ]
    return "\n".join(lines) + "\n"


def cite_apa(name: str) -> str:
    year = name[:4]
    return (
        f"{settings.RELEASES_AUTHOR}. ({year}). {TITLE} (Version {name}) [Data set]. "
        f"{release_url(name)}"
    )


def cite_bibtex(name: str) -> str:
    key = "token_price_tracker_" + name.replace("-", "_")
    return (
        f"@misc{{{key},\n"
        f"  author = {{{{{settings.RELEASES_AUTHOR}}}}},\n"
        f"  title = {{{{{TITLE}}}}},\n"
        f"  year = {{{name[:4]}}},\n"
        f"  version = {{{name}}},\n"
        f"  howpublished = {{\\url{{{release_url(name)}}}}},\n"
        f"  note = {{Data set, version {name}}}\n"
        "}"
    )


# --- what changed since the previous release ---


def diff_releases(old: Path, new: Path) -> dict[str, dict[str, int]]:
    """Per table present in both, the rows added, removed, corrected and the table's
    milestones (spans ended, events retracted). The daily series is left out: it is derived
    from the spans."""
    result = {}
    for table in TABLES.values():
        old_path, new_path = old / f"{table.name}.csv.gz", new / f"{table.name}.csv.gz"
        if table is TABLES["daily"] or not old_path.exists() or not new_path.exists():
            continue
        with _csv_rows(old_path) as before, _csv_rows(new_path) as after:
            result[table.name] = diff_rows(table, before, after)
    return result


@contextlib.contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[dict[str, str]]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        yield iter(csv.DictReader(handle))


def diff_rows(
    table: Table, before: Iterator[dict[str, str]], after: Iterator[dict[str, str]]
) -> dict[str, int]:
    """Merge two row streams sorted by the table's key (as releases are) and count."""
    counts: Counter[str] = Counter(added=0, removed=0, corrected=0)
    for name in dict(table.milestones).values():
        counts[name] = 0
    key = _key_function(table)
    old, new = next(before, None), next(after, None)
    while old is not None or new is not None:
        if new is None or (old is not None and key(old) < key(new)):
            counts["removed"] += 1
            old = next(before, None)
        elif old is None or key(new) < key(old):
            counts["added"] += 1
            new = next(after, None)
        else:
            change = _change(table, old, new)
            if change:
                counts[change] += 1
            old, new = next(before, None), next(after, None)
    return dict(counts)


def _key_function(table: Table) -> Any:
    kinds = {c.name: c.kind for c in table.columns}

    def key(row: dict[str, str]) -> tuple[Any, ...]:
        return tuple(int(row[c]) if kinds[c] == "integer" else row[c] for c in table.key)

    return key


def _change(table: Table, old: dict[str, str], new: dict[str, str]) -> str:
    """'' if only volatile columns moved; a milestone's name if the one change is that column
    being filled in; else 'corrected'."""
    differing = [
        name for name in table.names if name not in table.volatile and old.get(name) != new[name]
    ]
    if not differing:
        return ""
    milestones = dict(table.milestones)
    if len(differing) == 1 and differing[0] in milestones and not old.get(differing[0]):
        return milestones[differing[0]]
    return "corrected"
