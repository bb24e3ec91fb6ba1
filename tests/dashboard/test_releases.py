"""Releases: byte-identical rebuilds, hashes, the diff, the pages and the files."""

import csv
import gzip
import hashlib
import io
import json
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.utils import timezone

from bench.synthetic import build
from dashboard import exports, tasks
from dashboard.models import Release
from dashboard.releases import build_release
from tests.conftest import at
from tracker.ingest import Quote, record
from tracker.models import PriceChange, Source

pytestmark = pytest.mark.django_db
DAY1, DAY2 = date(2026, 1, 10), date(2026, 1, 11)


@pytest.fixture(autouse=True)
def releases_dir(settings, tmp_path):
    settings.RELEASES_DIR = tmp_path / "releases"
    settings.RELEASES_BASE_URL = "https://prices.example.org"
    return settings.RELEASES_DIR


@pytest.fixture
def dataset(db):
    build(providers=3, models=8, offerings=12, spans=200, seed=7)


def files_of(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_a_release_has_every_table_in_both_formats_and_its_documents(dataset, releases_dir):
    release = build_release(DAY1)
    names = set(files_of(releases_dir / "2026-01-10"))
    assert names == {f"{t}.csv.gz" for t in exports.TABLES} | {
        f"{t}.parquet" for t in exports.TABLES
    } | {"datapackage.json", "CITATION.cff"}
    assert release.rows["spans"] == 200
    assert {f.name for f in release.files.all()} == names


def test_a_release_built_twice_from_unchanged_data_is_byte_identical(dataset, releases_dir):
    build_release(DAY1)
    first = files_of(releases_dir / "2026-01-10")
    build_release(DAY1)
    assert files_of(releases_dir / "2026-01-10") == first
    assert len(list(releases_dir.iterdir())) == 2  # the directory and the lock file


def test_every_file_hash_is_recorded_and_in_the_datapackage(dataset, releases_dir):
    release = build_release(DAY1)
    files = files_of(releases_dir / "2026-01-10")
    for row in release.files.all():
        assert row.sha256 == hashlib.sha256(files[row.name]).hexdigest()
        assert row.size_bytes == len(files[row.name])
    package = json.loads(files["datapackage.json"])
    for resource in package["resources"]:
        assert resource["hash"] == "sha256:" + hashlib.sha256(files[resource["path"]]).hexdigest()


def test_the_datapackage_describes_the_csv_columns_and_the_sources(dataset, releases_dir):
    build_release(DAY1)
    directory = releases_dir / "2026-01-10"
    package = json.loads((directory / "datapackage.json").read_text())
    assert package["version"] == "2026-01-10" and package["licenses"][0]["name"] == "CC-BY-4.0"
    assert {s["name"] for s in package["sources"]} == set(
        Source.objects.values_list("slug", flat=True)
    )
    spans = next(r for r in package["resources"] if r["name"] == "spans")
    with gzip.open(directory / "spans.csv.gz", "rt", newline="") as handle:
        header = next(csv.reader(handle))
    assert [f["name"] for f in spans["schema"]["fields"]] == header
    price = next(f for f in spans["schema"]["fields"] if f["name"] == "usd_per_mtok")
    assert (price["type"], price["unit"]) == ("number", "USD per 1,000,000 tokens")


def test_the_parquet_file_holds_the_same_rows_as_the_csv(dataset, releases_dir):
    build_release(DAY1)
    directory = releases_dir / "2026-01-10"
    with gzip.open(directory / "changes.csv.gz", "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = pq.read_table(directory / "changes.parquet").to_pylist()
    assert len(table) == len(rows) > 0
    assert [str(r["id"]) for r in table] == [r["id"] for r in rows]
    assert [r["new_usd_per_mtok"] for r in table] == [
        Decimal(r["new_usd_per_mtok"]) if r["new_usd_per_mtok"] else None for r in rows
    ]


def test_the_citation_file_names_the_version(dataset, releases_dir):
    build_release(DAY1)
    cff = (releases_dir / "2026-01-10" / "CITATION.cff").read_text()
    assert 'version: "2026-01-10"' in cff and "cff-version: 1.2.0" in cff
    assert 'url: "https://prices.example.org/releases/2026-01-10/"' in cff


def test_the_diff_counts_spans_added_and_ended_and_changes_retracted(make_source, releases_dir):
    source = make_source("vendor", priority=10)
    record(source, [Quote("acme", "m1", "input", Decimal(2), valid_from=at(0))], at(0))
    first = build_release(DAY1)
    assert first.changes is None
    record(source, [Quote("acme", "m1", "input", Decimal(1), valid_from=at(5))], at(5))
    PriceChange.objects.filter(changed_at=at(0)).update(retracted_at=timezone.now())
    second = build_release(DAY2)
    assert second.previous == first
    assert second.changes["spans"] == {"added": 1, "removed": 0, "corrected": 0, "ended": 1}
    assert second.changes["changes"] == {
        "added": 1, "removed": 0, "corrected": 0, "retracted": 1,
    }  # fmt: skip
    assert second.changes["offerings"] == {"added": 0, "removed": 0, "corrected": 0}
    assert "daily" not in second.changes


def test_a_span_only_seen_again_is_not_a_change(make_source, releases_dir):
    source = make_source("vendor", priority=10)
    record(source, [Quote("acme", "m1", "input", Decimal(2))], at(0))
    build_release(DAY1)
    record(source, [Quote("acme", "m1", "input", Decimal(2))], at(3))
    assert build_release(DAY2).changes["spans"]["corrected"] == 0


def test_the_release_page_lists_files_changes_and_citations(client, dataset):
    build_release(DAY1)
    build_release(DAY2)
    html = client.get("/releases/2026-01-11/").content.decode()
    assert "spans.parquet" in html and "datapackage.json" in html
    release = Release.objects.get(name="2026-01-11")
    assert release.files.get(name="spans.csv.gz").sha256 in html
    assert "[Data set]" in html and "@misc{token_price_tracker_2026_01_11" in html
    assert 'href="/releases/2026-01-10/"' in html  # what changed since the previous one
    assert "/releases/2026-01-10/" in client.get("/data/").content.decode()


def test_old_release_files_stay_downloadable(client, dataset, releases_dir):
    build_release(DAY1)
    build_release(DAY2)
    response = client.get("/releases/2026-01-10/spans.csv.gz")
    assert response.status_code == 200
    assert (
        b"".join(response.streaming_content)
        == (releases_dir / "2026-01-10" / "spans.csv.gz").read_bytes()
    )
    assert response["Content-Disposition"] == 'attachment; filename="spans.csv.gz"'


def test_compressed_files_are_not_gzipped_again(client, dataset, releases_dir):
    build_release(DAY1)
    packed = client.get("/releases/2026-01-10/spans.csv.gz", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in packed
    on_disk = (releases_dir / "2026-01-10" / "spans.csv.gz").read_bytes()
    assert b"".join(packed.streaming_content) == on_disk
    parquet = client.get("/data/spans.parquet", HTTP_ACCEPT_ENCODING="gzip")
    assert parquet["Content-Type"] == "application/vnd.apache.parquet"
    assert "Content-Encoding" not in parquet
    assert b"".join(parquet.streaming_content)[:4] == b"PAR1"
    text = client.get("/data/spans.csv", HTTP_ACCEPT_ENCODING="gzip")
    assert text["Content-Encoding"] == "gzip"  # what is not compressed yet still is
    assert gzip.decompress(b"".join(text.streaming_content)).startswith(b"source,")


@pytest.mark.parametrize(
    "path",
    [
        "/releases/2026-01-10/..%2F..%2Fsecret_key",
        "/releases/2026-01-10/../2026-01-11/spans.csv.gz",
        "/releases/2026-01-10/.lock",
        "/releases/2026-01-10/nothing.csv",
        "/releases/2027-01-01/spans.csv.gz",
        "/releases/2026-01-10/%2E%2E",
    ],
)
def test_only_recorded_files_of_a_release_are_served(client, dataset, path):
    build_release(DAY1)
    assert client.get(path).status_code == 404


def test_an_unknown_release_is_a_404(client, db):
    assert client.get("/releases/2026-01-10/").status_code == 404


def test_the_command_and_the_task_build_todays_release(dataset, releases_dir):
    out = io.StringIO()
    call_command("release", "--date", "2026-01-10", stdout=out)
    assert out.getvalue().startswith("release 2026-01-10: 22 files")
    assert tasks.build_release() == timezone.now().date().isoformat()
    assert Release.objects.count() == 2


def test_the_command_refuses_a_bad_date(db):
    with pytest.raises(Exception, match="--date"):
        call_command("release", "--date", "tomorrow")
