"""Routes of the downloads and releases (dashboard/downloads.py)."""

from django.urls import URLPattern, URLResolver, path, re_path

from dashboard import downloads

urlpatterns: list[URLPattern | URLResolver] = [
    path("data/", downloads.data_page, name="data"),
    re_path(
        r"^data/(?P<table>[a-z_]+)\.(?P<fmt>csv|jsonl|parquet)$",
        downloads.download,
        name="download",
    ),
    re_path(r"^releases/(?P<name>\d{4}-\d{2}-\d{2})/$", downloads.release_page, name="release"),
    re_path(
        r"^releases/(?P<name>\d{4}-\d{2}-\d{2})/(?P<filename>[A-Za-z0-9_.-]+)$",
        downloads.release_file,
        name="release-file",
    ),
]
