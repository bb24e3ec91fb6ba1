"""Middleware of our own."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware

# Bodies that are compressed already: gzip files (release CSVs), Parquet (zstd inside), images.
PRECOMPRESSED = frozenset(
    {
        "application/gzip",
        "application/x-gzip",
        "application/vnd.apache.parquet",
        "application/zip",
        "image/png",
        "image/jpeg",
        "image/webp",
    }
)


class GZipMiddleware(DjangoGZipMiddleware):
    """Django's GZipMiddleware, except for bodies that are compressed already: gzipping a
    200 MB release file or a Parquet download again costs seconds of CPU and saves nothing."""

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type in PRECOMPRESSED:
            return response
        return super().process_response(request, response)
