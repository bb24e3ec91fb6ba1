"""The /data/ page, table downloads, and the releases' pages and files. Views only: the tables
and formats are dashboard.exports', releases dashboard.releases'."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from dashboard import releases
from dashboard.exports import (
    TABLES,
    Table,
    csv_chunks,
    jsonl_chunks,
    today,
    write_parquet,
)
from dashboard.filters import FilterError, Filters, parse_filters
from dashboard.models import Release, ReleaseFile
from tracker.models import Meter

FORMATS = {
    "csv": ("CSV", "text/csv; charset=utf-8"),
    "jsonl": ("JSON Lines", "application/x-ndjson; charset=utf-8"),
    "parquet": ("Parquet", "application/vnd.apache.parquet"),
}
STREAM_BLOCK = 64 * 1024


def download_name(table: Table, filters: Filters, fmt: str) -> str:
    """token-prices-<table>[-<filters>].<fmt>: the same filters always give the same name."""
    label = filters.slug()
    return f"token-prices-{table.name}{'-' + label if label else ''}.{fmt}"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@require_GET
def data_page(request: HttpRequest) -> HttpResponse:
    """Every table with its columns and a link per format, for the filters in the query."""
    error: FilterError | None = None
    try:
        filters = parse_filters(request.GET)
    except FilterError as exc:
        error, filters = exc, Filters()
    query = filters.query_string()
    tables = [
        (table, [Link(label, f"/data/{table.name}.{fmt}{'?' + query if query else ''}")
                 for fmt, (label, _) in FORMATS.items()])
        for table in TABLES.values()
    ]  # fmt: skip
    context = {
        "tables": tables,
        "filters": filters,
        "values": {param: value for param, value in filters.params()},
        "error": error,
        "meters": Meter.values,
        "releases": Release.objects.all()[:100],
    }
    return render(request, "dashboard/data.html", context, status=400 if error else 200)


@require_GET
def download(request: HttpRequest, table: str, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """One table in one format, as an attachment. CSV and JSON Lines stream as they are read;
    Parquet is written to a temporary file first (its footer comes last), then streamed."""
    if table not in TABLES or fmt not in FORMATS:
        raise Http404(f"No download {table}.{fmt}")
    try:
        filters = parse_filters(request.GET)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    spec, content_type = TABLES[table], FORMATS[fmt][1]
    filename = download_name(spec, filters, fmt)
    response: HttpResponse | StreamingHttpResponse
    if fmt == "parquet":
        # Closed, and so deleted, by the response once sent.
        spool = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            write_parquet(spec, csv_chunks(spec, filters, today()), spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        response = FileResponse(spool, content_type=content_type)
        response.block_size = STREAM_BLOCK
    else:
        chunks = (csv_chunks if fmt == "csv" else jsonl_chunks)(spec, filters, today())
        response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def release_page(request: HttpRequest, name: str) -> HttpResponse:
    """A release's files, what changed since the one before, and how to cite it."""
    release = get_object_or_404(Release, name=name)
    tables = {t.name: t for t in TABLES.values()}
    changes = [
        (tables[table].title if table in tables else table, counts)
        for table, counts in (release.changes or {}).items()
    ]
    context = {
        "release": release,
        "files": release.files.all(),
        "changes": changes,
        "apa": releases.cite_apa(release.name),
        "bibtex": releases.cite_bibtex(release.name),
    }
    return render(request, "dashboard/release.html", context)


@require_GET
def release_file(request: HttpRequest, name: str, filename: str) -> FileResponse:
    """A file of a release. Only files recorded for the release are served, from inside its
    directory: no path in the URL reaches anything else."""
    file = get_object_or_404(ReleaseFile, release__name=name, name=filename)
    root = settings.RELEASES_DIR.resolve()
    path = (root / name / file.name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("This release's files are gone from the server.")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=file.name)
    response.block_size = STREAM_BLOCK
    response["ETag"] = f'"{file.sha256}"'
    return response
