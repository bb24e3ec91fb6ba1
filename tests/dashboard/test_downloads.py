"""/data/ downloads: round trips in every format, filters, file names, streaming."""

import contextlib
import csv
import io
import itertools
import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.db import connection, transaction
from django.db.models import F
from django.http import FileResponse, QueryDict, StreamingHttpResponse

from dashboard import exports
from dashboard.filters import Filters
from tests.conftest import at
from tracker.ingest import Quote, record
from tracker.models import LanguageModel, ModelAlias, PriceChange, PriceSpan, Series, Source

pytestmark = pytest.mark.django_db

SPAN_KEYS = ("source", "provider", "provider_model_id", "meter", "tier", "valid_from")


@pytest.fixture
def recorded(make_source):
    """Two sources, a price change, a per-token price with 18 decimal places, a tier, an open
    and a closed span, a provider name with a comma and a quote, aliases and a score."""
    ledger = make_source("ledger", priority=30, kind=Source.Kind.LEDGER)
    record(
        ledger,
        [
            Quote("openai", "gpt-4o", "input", Decimal(5), model_name="GPT-4o",
                  provider_name='OpenAI, "the" lab', valid_from=at(0)),
            Quote("openai", "gpt-4o", "output", Decimal(15), valid_from=at(0)),
            Quote("openai", "gpt-4o", "input", Decimal("2.5"), valid_from=at(10.25)),
            Quote("openai", "gpt-4o", "input", Decimal("7.5"), tier="over_200k", valid_from=at(0)),
        ],
        at(20),
    )  # fmt: skip
    cheap = make_source("map", priority=20)
    record(
        cheap,
        [
            Quote("acme", "m1", "input", Decimal("0.123456789012"), model="m1"),
            Quote("acme", "m1", "output", Decimal("0.000000123456789012"), unit="token",
                  model="m1"),
        ],
        at(20),
    )  # fmt: skip
    model = LanguageModel.objects.get(slug="m1")
    ModelAlias.objects.create(alias="acme-one", model=model)
    model.scores.create(benchmark="eci", score=Decimal("123.4567"), source="epoch_eci")
    series = Series.objects.create(
        slug="aluminium", title="Aluminium", unit="USD per kg", source="USGS",
        notes='Spliced, "carefully",\nfrom two sources', breakthrough_date=date(1886, 1, 1),
    )  # fmt: skip
    series.points.create(date=date(1886, 1, 1), value=Decimal("12.5"), real=None, note="é, ü")


def body(response) -> bytes:
    if isinstance(response, StreamingHttpResponse | FileResponse):
        return b"".join(response.streaming_content)
    return response.content


def download(client, table: str, fmt: str, query: str = ""):
    response = client.get(f"/data/{table}.{fmt}" + (f"?{query}" if query else ""))
    assert response.status_code == 200, body(response)
    return response, body(response)


def typed(table: exports.Table, name: str, text: str | None):
    """A CSV or JSON Lines value as the Python value the database gave."""
    kind = next(c.kind for c in table.columns if c.name == name)
    if text is None or (text == "" and kind != "string"):
        return None
    return {
        "decimal": Decimal,
        "integer": int,
        "boolean": {"true": True, "false": False}.get,
        "date": date.fromisoformat,
        "datetime": lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")),
    }.get(kind, str)(text)


def db_rows(table: exports.Table) -> list[dict]:
    """The table's rows straight from the ORM, instants to the second, empty text for null."""
    rows = []
    for row in exports.iter_rows(table, Filters(), date(2025, 2, 1)):
        values = {}
        for column, value in zip(table.columns, row, strict=True):
            if isinstance(value, datetime):
                value = value.astimezone(UTC).replace(microsecond=0)
            if column.kind == "string" and value is None:
                value = ""
            values[column.name] = value
        rows.append(values)
    return rows


def from_csv(table, content: bytes) -> list[dict]:
    reader = csv.DictReader(io.StringIO(content.decode()))
    assert reader.fieldnames == table.names
    return [{k: typed(table, k, v) for k, v in row.items()} for row in reader]


def from_jsonl(table, content: bytes) -> list[dict]:
    """JSON Lines keep a null text null; the other formats write it empty, as db_rows() does."""
    rows = [json.loads(line) for line in content.decode().splitlines()]
    assert all(list(row) == table.names for row in rows)
    return [{k: typed(table, k, _json_text(v)) for k, v in row.items()} for row in rows]


def _json_text(value) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def from_parquet(table, content: bytes) -> list[dict]:
    rows = pq.read_table(io.BytesIO(content)).to_pylist()
    return [
        {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in row.items()}
        for row in rows
    ]


def test_spans_csv_reads_back_equal_to_the_database_rows(client, recorded):
    _, content = download(client, "spans", "csv")
    expected = [
        dict(zip(exports.SPAN_COLUMNS, values, strict=True))
        for values in PriceSpan.objects.order_by(
            "source__slug", "offering__provider__slug", "offering__provider_model_id", "meter",
            "tier", "valid_from",
        ).values_list(*exports.SPAN_FIELDS)
    ]  # fmt: skip
    for row in expected:
        row["valid_to"] = row["valid_to"] and row["valid_to"].replace(microsecond=0)
        for name in ("first_seen_at", "last_seen_at", "valid_from"):
            row[name] = row[name].replace(microsecond=0)
    assert from_csv(exports.SPANS, content) == expected
    assert len(expected) == 6


def test_decimals_keep_every_digit_in_every_format(client, recorded):
    for fmt, read in (("csv", from_csv), ("jsonl", from_jsonl), ("parquet", from_parquet)):
        _, content = download(client, "spans", fmt, "source=map&meter=output")
        (row,) = read(exports.SPANS, content)
        assert row["original_amount"] == Decimal("0.000000123456789012"), fmt
        assert row["usd_per_mtok"] == Decimal("0.123456789012"), fmt
        assert row["valid_to"] is None, fmt


@pytest.mark.parametrize("name", [n for n in exports.TABLES if n != "daily"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_table_reads_back_equal_in_every_format(client, recorded, name, fmt):
    table = exports.TABLES[name]
    _, content = download(client, name, fmt)
    read = {"csv": from_csv, "jsonl": from_jsonl, "parquet": from_parquet}[fmt]
    assert read(table, content) == db_rows(table)


def test_the_daily_series_has_one_row_per_day_at_the_published_price(client, recorded):
    _, content = download(client, "daily", "csv", "provider=openai&tier=&meter=input&to=2025-01-13")
    rows = from_csv(exports.DAILY, content)
    assert [r["date"] for r in rows] == [date(2025, 1, d) for d in range(1, 14)]
    # 2.5 took effect on day 10.25 at 06:00, so 11 January 00:00 is the first midnight at 2.5.
    assert {r["date"]: r["usd_per_mtok"] for r in rows}[date(2025, 1, 11)] == Decimal(5)
    assert {r["date"]: r["usd_per_mtok"] for r in rows}[date(2025, 1, 12)] == Decimal("2.5")
    assert {r["source"] for r in rows} == {"ledger"}


def test_the_daily_series_takes_the_most_authoritative_source_each_day(client, make_source):
    low, high = make_source("aggregator", priority=40), make_source("vendor", priority=10)
    record(low, [Quote("acme", "m1", "input", Decimal(2), valid_from=at(0))], at(0))
    record(high, [Quote("acme", "m1", "input", Decimal(1), valid_from=at(2))], at(2))
    _, content = download(client, "daily", "csv", "to=2025-01-05")
    rows = from_csv(exports.DAILY, content)
    assert [(r["date"].day, r["usd_per_mtok"], r["source"]) for r in rows] == [
        (1, Decimal(2), "aggregator"), (2, Decimal(2), "aggregator"), (3, Decimal(1), "vendor"),
        (4, Decimal(1), "vendor"), (5, Decimal(1), "vendor"),
    ]  # fmt: skip
    _, only_low = download(client, "daily", "csv", "to=2025-01-05&source=aggregator")
    assert {r["source"] for r in from_csv(exports.DAILY, only_low)} == {"aggregator"}


def test_filters_select_rows(client, recorded):
    _, content = download(client, "spans", "csv", "provider=openai&meter=input&tier=")
    rows = from_csv(exports.SPANS, content)
    assert [(r["usd_per_mtok"], r["tier"]) for r in rows] == [
        (Decimal(5), ""),
        (Decimal("2.5"), ""),
    ]
    _, content = download(client, "spans", "csv", "from=2025-01-12")
    assert {r["usd_per_mtok"] for r in from_csv(exports.SPANS, content)} >= {Decimal("2.5")}
    assert Decimal(5) not in {r["usd_per_mtok"] for r in from_csv(exports.SPANS, content)
                              if r["meter"] == "input" and r["tier"] == ""}  # fmt: skip
    _, content = download(client, "models", "jsonl", "provider=acme")
    (model,) = from_jsonl(exports.MODELS, content)
    assert (model["slug"], model["aliases"], model["scores"]) == (
        "m1",
        "acme-one",
        "eci=123.4567 (epoch_eci)",
    )


def test_changes_filter_by_date_on_changed_at(client, recorded):
    _, content = download(client, "changes", "csv", "from=2025-01-11")
    rows = from_csv(exports.CHANGES, content)
    assert rows and all(r["changed_at"] >= datetime(2025, 1, 11, tzinfo=UTC) for r in rows)
    assert len(rows) == PriceChange.objects.filter(changed_at__gte=at(10)).count()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize(
    ("query", "param"),
    [("meter=tokens", "meter"), ("from=soon", "from"), ("provider=A B", "provider"),
     ("from=2025-02-01&to=2025-01-01", "to")],
)  # fmt: skip
def test_a_bad_filter_is_a_400_naming_the_parameter(client, recorded, fmt, query, param):
    response = client.get(f"/data/spans.{fmt}?{query}")
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{param}: ")


def test_an_unknown_table_or_format_is_a_404(client, db):
    assert client.get("/data/secrets.csv").status_code == 404
    assert client.get("/data/spans.xlsx").status_code == 404


def test_the_file_name_is_stable_for_the_same_filters(client, recorded):
    first, _ = download(client, "spans", "csv", "meter=output,input&provider=openai")
    again, _ = download(client, "spans", "csv", "provider=openai&meter=input&meter=output")
    assert (
        first["Content-Disposition"]
        == again["Content-Disposition"]
        == ('attachment; filename="token-prices-spans-provider-openai_meter-input+output.csv"')
    )
    plain, _ = download(client, "changes", "parquet")
    assert plain["Content-Disposition"] == 'attachment; filename="token-prices-changes.parquet"'


def test_csv_and_jsonl_stream_in_many_chunks(client, recorded, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_BYTES", 64)
    monkeypatch.setattr(exports, "FETCH_ROWS", 2)
    for fmt in ("csv", "jsonl"):
        response = client.get(f"/data/spans.{fmt}")
        assert isinstance(response, StreamingHttpResponse)
        chunks = list(response.streaming_content)
        assert len(chunks) >= 5, fmt
        assert b"".join(chunks).count(b"\n") == 6 + (fmt == "csv")


def test_parquet_is_streamed_from_a_file_with_its_length(client, recorded):
    response, content = download(client, "spans", "parquet")
    assert isinstance(response, FileResponse)
    assert int(response["Content-Length"]) == len(content)
    assert content[:4] == b"PAR1"


def test_parquet_columns_carry_their_unit_and_description(client, recorded):
    _, content = download(client, "spans", "parquet")
    field = pq.read_schema(io.BytesIO(content)).field("usd_per_mtok")
    assert field.metadata[b"unit"] == b"USD per 1,000,000 tokens"
    assert str(field.type) == "decimal128(24, 12)"


def test_the_data_page_lists_every_table_with_links_keeping_the_filters(client, recorded):
    html = client.get("/data/?provider=openai").content.decode()
    for name in exports.TABLES:
        assert f"/data/{name}.parquet?provider=openai" in html
    assert "usd_per_mtok" in html and "USD per 1,000,000 tokens" in html


def test_the_data_page_names_a_bad_parameter(client, db):
    response = client.get("/data/?meter=tokens")
    assert response.status_code == 400
    assert "<strong>meter</strong>" in response.content.decode()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("name", list(exports.TABLES))
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_copy_on_postgres_writes_the_same_bytes_as_the_python_writer(recorded, name, fmt):
    table = exports.TABLES[name]
    until = date(2025, 2, 1)
    chunks, lines = {
        "csv": (exports.csv_chunks, exports._csv_lines),
        "jsonl": (exports.jsonl_chunks, exports._jsonl_lines),
    }[fmt]
    copied = b"".join(chunks(table, Filters(), until))
    rows = (table.rows or (lambda f, u: table.queryset(f).iterator()))(Filters(), until)
    written = b"".join(exports._buffered(lines(table, rows)))
    assert copied == written
    assert copied.count(b"\n") > (1 if fmt == "csv" else 0)  # a row at least, and a header


def test_the_legacy_spans_address_keeps_its_file_name(client, recorded):
    response = client.get("/export/spans.csv?model=gpt-4o")
    assert response["Content-Disposition"] == 'attachment; filename="token-prices-spans.csv"'
    assert connection.vendor in ("postgresql", "sqlite")


@pytest.fixture
def scrambled(make_source):
    """Spans whose ids run against their key order, byte-wise: sources, providers and
    provider_model_ids made in reverse order (upper case before lower, '-' before '_'), meters
    and tiers recorded backwards, a later span recorded before an earlier one."""
    prices = iter(range(1, 1000))
    for slug in ("zeta", "beta", "alpha"):
        quotes = [
            Quote(provider, pmid, meter, Decimal(next(prices)), tier=tier, valid_from=at(day))
            for provider in ("zz-lab", "a_lab", "a-lab")
            for pmid in ("m_b", "m-b", "mB", "Mb")
            for meter in ("output", "input")
            for tier in ("over_200k", "")
            for day in (2, 0)
        ]
        record(make_source(slug, priority=len(slug)), quotes[: 40 if slug == "beta" else 96], at(3))


def _key(row: dict) -> tuple:
    return tuple(row[name] for name in SPAN_KEYS)


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("", lambda r: True),
        ("provider=a-lab,zz-lab&meter=input",
         lambda r: r["provider"] in {"a-lab", "zz-lab"} and r["meter"] == "input"),
        ("source=beta,zeta&tier=", lambda r: r["source"] in {"beta", "zeta"} and not r["tier"]),
        ("model=mb&to=2025-01-02", lambda r: r["model"] == "mb" and r["valid_from"] < at(2)),
    ],
)  # fmt: skip
def test_spans_come_in_key_order_byte_wise_whatever_the_ids(client, scrambled, query, keep):
    """The download's order is the key's, text compared byte-wise (str order), on every
    backend and with every filter: neither the order of ids nor a locale's."""
    in_id_order = list(
        PriceSpan.objects.order_by("pk").values_list(
            "source__slug", "offering__provider__slug", "offering__provider_model_id", "meter",
            "tier", "valid_from",
        )
    )  # fmt: skip
    assert in_id_order != sorted(in_id_order)
    everything = from_csv(exports.SPANS, download(client, "spans", "csv")[1])
    assert sorted(map(_key, everything)) == sorted(
        (*key[:5], key[5].replace(microsecond=0)) for key in in_id_order
    )
    rows = from_csv(exports.SPANS, download(client, "spans", "csv", query)[1])
    expected = sorted((r for r in everything if keep(r)), key=_key)
    assert rows == expected and len(expected) > 10


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_copy_cuts_fractions_of_a_second_as_the_python_writer_does(recorded):
    """Instants are written to the second, the fraction cut, not rounded, by COPY as by
    Python; on a later day and year than the whole-second instant they start from."""
    PriceSpan.objects.update(
        first_seen_at=F("first_seen_at") + timedelta(microseconds=999_999),
        last_seen_at=F("last_seen_at") + timedelta(days=365, hours=23, seconds=59.5),
    )
    PriceChange.objects.update(detected_at=F("detected_at") + timedelta(microseconds=1))
    for table in (exports.SPANS, exports.CHANGES):
        copied = b"".join(exports.csv_chunks(table, Filters(), date(2025, 2, 1)))
        rows = table.queryset(Filters()).iterator()
        assert copied == b"".join(exports._buffered(exports._csv_lines(table, rows)))
        assert b".999" not in copied
        assert b":59Z" in copied or table is not exports.SPANS


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_copy_read_from_libpq_reports_errors_and_leaves_the_connection_usable(db):
    """exports._copy_out: an error before or during the COPY is raised, and a reader that
    stops early cancels it; either way the connection serves the next query."""
    import psycopg

    def copy(select: str, take: int | None = None) -> list[bytes]:
        def chunks():  # as exports._copy reads it: in a transaction of its own
            with transaction.atomic():
                yield from exports._copy_out(connection.connection, f"COPY ({select}) TO STDOUT")

        with contextlib.closing(chunks()) as out:
            return list(itertools.islice(out, take))

    with pytest.raises(psycopg.errors.UndefinedColumn):
        copy("SELECT nothing")
    with pytest.raises(psycopg.errors.DivisionByZero):
        copy("SELECT 1 / (200000 - g) FROM generate_series(1, 300000) AS g")
    assert len(copy("SELECT g FROM generate_series(1, 3000000) AS g", take=2)) == 2
    lines = b"".join(copy("SELECT g, 'a''b' FROM generate_series(1, 100000) AS g"))
    assert lines.splitlines()[-1] == b"100000\ta'b" and lines.count(b"\n") == 100000
    assert PriceSpan.objects.count() == 0


# --- a large CSV read in parts, on several connections at once (exports._copy_in_parts) ---
# These tests commit their data (transaction=True): other connections see nothing of a test's
# own open transaction, so within one the download is read in one part.


def _spans_download(query: str = "", chunks=exports.csv_chunks) -> bytes:
    filters = Filters() if not query else exports.parse_filters(QueryDict(query))
    return b"".join(chunks(exports.SPANS, filters, date(2025, 2, 1)))


def _parts_started(monkeypatch) -> list[str]:
    """The statements of the parts that started on connections of their own, as they start."""
    started: list[str] = []
    original = exports._Spooled.start

    def start(statement, snapshot, config):
        started.append(statement)
        return original(statement, snapshot, config)

    monkeypatch.setattr(exports._Spooled, "start", staticmethod(start))
    return started


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query", ["", "provider=a-lab,zz-lab&meter=input", "source=beta,zeta&tier=", "model=mb"]
)
@pytest.mark.parametrize("chunks", [exports.csv_chunks, exports.jsonl_chunks])
def test_the_spans_read_in_parts_are_the_same_bytes(
    scrambled, settings, monkeypatch, query, chunks
):
    settings.EXPORT_COPY_PARTS = 1
    whole = _spans_download(query, chunks)
    started = _parts_started(monkeypatch)
    settings.EXPORT_COPY_PARTS, settings.EXPORT_SPLIT_ROWS = 3, 1
    assert _spans_download(query, chunks) == whole
    assert len(started) == 2 and whole.count(b"\n") > 10
    settings.EXPORT_SPLIT_ROWS = PriceSpan.objects.count() + 1  # too few spans to cut
    assert _spans_download(query, chunks) == whole and len(started) == 2


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_every_part_reads_the_snapshot_the_download_began_with(scrambled, settings, monkeypatch):
    """A price committed while the parts start is in none of them: each later part imports
    the first one's snapshot."""
    import psycopg

    settings.EXPORT_COPY_PARTS, settings.EXPORT_SPLIT_ROWS = 3, 1
    before = _spans_download()
    original = exports._Spooled.start

    def start_after_a_commit(statement, snapshot, config):
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("UPDATE tracker_pricespan SET usd_per_mtok = usd_per_mtok + 1000")
        return original(statement, snapshot, config)

    monkeypatch.setattr(exports._Spooled, "start", staticmethod(start_after_a_commit))
    assert _spans_download() == before
    monkeypatch.setattr(exports._Spooled, "start", original)
    assert _spans_download() != before  # the updates did commit


def _alive(pids: list[int]) -> list[int]:
    """Which of these backends are still connected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
        return sorted(pid for (pid,) in cursor.fetchall())


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_download_stopped_early_closes_the_connections_of_its_parts(
    scrambled, settings, monkeypatch
):
    settings.EXPORT_COPY_PARTS, settings.EXPORT_SPLIT_ROWS = 3, 1
    parts: list[exports._Spooled] = []  # held here: only closing them may end them
    original = exports._Spooled.start

    def start(statement, snapshot, config):
        parts.append(original(statement, snapshot, config))
        return parts[-1]

    monkeypatch.setattr(exports._Spooled, "start", staticmethod(start))
    chunks = exports.csv_chunks(exports.SPANS, Filters(), date(2025, 2, 1))
    assert next(chunks).startswith(b"source,provider,")
    pids = [part.conn.info.backend_pid for part in parts]
    assert len(pids) == 2 and _alive(pids) == sorted(pids)
    chunks.close()  # the client went away
    for _ in range(100):  # a backend leaves pg_stat_activity a moment after its client
        if not _alive(pids):
            break
        time.sleep(0.05)
    assert _alive(pids) == []
    assert _spans_download().count(b"\n") == PriceSpan.objects.count() + 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_parts_come_out_in_order_whatever_their_size_and_an_error_in_any_is_raised():
    """Later parts wait in a file while the first streams (many chunks each here); an error in
    a later part is raised when it comes, and the connection serves the next query."""
    import psycopg

    def copied(*selects: str) -> bytes:
        with transaction.atomic():
            statements = [f"COPY ({select}) TO STDOUT" for select in selects]
            return b"".join(exports._copy_in_parts(connection.connection, statements, []))

    series = "SELECT g FROM generate_series({}, {}) AS g"
    lines = copied(
        series.format(1, 30000), series.format(30001, 230000), series.format(230001, 230002)
    )
    assert lines == b"".join(b"%d\n" % g for g in range(1, 230003))
    with pytest.raises(psycopg.errors.DivisionByZero):
        copied(
            series.format(1, 100000), "SELECT 1 / (150000 - g) FROM generate_series(1, 200000) AS g"
        )
    with pytest.raises(psycopg.errors.UndefinedColumn):
        copied(series.format(1, 10), "SELECT nothing")
    assert PriceSpan.objects.count() == 0  # and the connection still serves queries
