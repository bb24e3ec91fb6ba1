"""Backfilling history from a price map's GitHub commits, against servers that answer like GitHub.

Most tests use the `http_server` fixture and the static files under tests/fixtures/github; the
ones about headers, paging, rate limits and failing versions start `FakeGitHub`, which pages and
filters like GitHub, answers what a test tells it to, and writes down every request.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import FIXTURES
from tracker import backfill
from tracker.models import PriceSpan, ScrapeRun

pytestmark = pytest.mark.django_db

GITHUB = FIXTURES / "github"
LISTING = json.loads((GITHUB / "api/repos/BerriAI/litellm/commits").read_text())
V1 = "01afbf1818b7e5768f5a749615140a4c4d5b4c16"  # 2023-11-14
V2 = "4db49a8b4ffab6d7e5a70ed235a0228d62f7da51"  # 2023-12-14
V3 = "ec80d260c22b5d9a3091dae3f04d52f00236087a"  # 2024-01-25
BROKEN = "0a37ff0ec0d1909e831e3efcfa232c8a1b738640"
LITELLM_PATH = "model_prices_and_context_window.json"
RESET = 2_000_000_000  # an X-RateLimit-Reset, in epoch seconds


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def commit(sha: str, date: str) -> dict[str, Any]:
    return {"sha": sha, "commit": {"committer": {"name": "GitHub", "date": date}}}


class FakeGitHub:
    """GitHub's commits listing (paged and filtered by since/until as GitHub does) under /api,
    raw files under /raw (from tests/fixtures/github/raw, or `files`), on loopback.

    `listings` maps (owner/repo, path) to commits, newest first; `refusals` are (status,
    headers) answered, in turn, to the next commits requests; `page_headers` are sent with a
    page of commits. `requests` holds (path with query, lower-cased headers) of every request.
    """

    def __init__(self) -> None:
        self.listings: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.refusals: list[tuple[int, dict[str, str]]] = []
        self.page_headers: dict[int, dict[str, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = fake.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        segments = parts.path.split("/")
        if parts.path.startswith("/api/repos/") and segments[-1] == "commits":
            if self.refusals:
                status, headers = self.refusals.pop(0)
                return status, headers, b'{"message": "API rate limit exceeded"}'
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            repo = "/".join(segments[3:5])
            since = at(query.get("since", "1970-01-01T00:00Z"))
            until = at(query.get("until", "9999-12-31T00:00Z"))
            commits = [
                c
                for c in self.listings.get((repo, query["path"]), [])
                if since <= at(c["commit"]["committer"]["date"]) <= until
            ]
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = commits[(page - 1) * per_page : page * per_page]
            return 200, self.page_headers.get(page, {}), json.dumps(chunk).encode()
        if parts.path.startswith("/raw/"):
            name = parts.path.removeprefix("/raw/")
            if name in self.files:
                return 200, {}, self.files[name]
            file = GITHUB / "raw" / name
            if file.is_file():
                return 200, {}, file.read_bytes()
        return 404, {}, b"404: Not Found"

    def commits_requests(self) -> list[tuple[str, dict[str, str]]]:
        return [(path, headers) for path, headers in self.requests if path.startswith("/api/")]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_token(monkeypatch):
    """A developer's own GITHUB_TOKEN stays out of the tests."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.stop()


def run(base: str, *args: str) -> str:
    out = io.StringIO()
    call_command(
        "backfill", *args, "--api-url", f"{base}/api", "--raw-url", f"{base}/raw", stdout=out
    )
    return out.getvalue()


def spans(model: str, meter: str = "input") -> list[tuple[Decimal, datetime, datetime | None]]:
    rows = PriceSpan.objects.filter(offering__provider_model_id=model, meter=meter)
    return [(s.usd_per_mtok, s.valid_from, s.valid_to) for s in rows.order_by("valid_from")]


def test_versions_are_ingested_oldest_first_at_their_commit_dates(http_server):
    out = run(f"{http_server}/github", "litellm")
    runs = ScrapeRun.objects.order_by("pk")
    assert [r.observed_at for r in runs] == [
        at("2023-11-14T18:41:07Z"),
        at("2023-12-14T06:12:55Z"),
        at("2024-01-25T21:03:44Z"),
    ]
    assert [r.url.rsplit("/", 2)[1] for r in runs] == [V1, V2, V3]
    assert {(r.trigger, r.status) for r in runs} == {("ingest", "succeeded")}
    assert spans("gpt-4") == [(Decimal(30), at("2023-11-14T18:41:07Z"), None)]
    assert spans("gpt-3.5-turbo") == [
        (Decimal("1.5"), at("2023-11-14T18:41:07Z"), at("2024-01-25T21:03:44Z")),
        (Decimal(1), at("2024-01-25T21:03:44Z"), None),
    ]
    assert spans("gpt-3.5-turbo", "output") == [(Decimal(2), at("2023-11-14T18:41:07Z"), None)]
    assert spans("gpt-3.5-turbo-0125") == [(Decimal("0.5"), at("2024-01-25T21:03:44Z"), None)]
    lines = out.splitlines()
    assert lines[0].startswith("[1/3] litellm 2023-11-14 01afbf1: litellm: run ")
    assert lines[2].startswith("[3/3] litellm 2024-01-25 ec80d26: litellm: run ")
    assert lines[3] == "litellm: 3 versions ingested, 0 skipped as already done, 0 failed"


def test_rerunning_skips_every_version_already_ingested(http_server):
    run(f"{http_server}/github", "litellm")
    before = (ScrapeRun.objects.count(), PriceSpan.objects.count())
    out = run(f"{http_server}/github", "litellm")
    assert (ScrapeRun.objects.count(), PriceSpan.objects.count()) == before
    assert "[2/3] litellm 2023-12-14 4db49a8: already ingested, skipped" in out
    assert "litellm: 0 versions ingested, 3 skipped as already done, 0 failed" in out


def test_an_interrupted_backfill_continues_where_it_stopped(http_server):
    first = run(f"{http_server}/github", "litellm", "--limit", "1")
    assert "litellm: 1 versions ingested, 0 skipped as already done, 0 failed (stopped" in first
    second = run(f"{http_server}/github", "litellm")
    assert "litellm: 2 versions ingested, 1 skipped as already done, 0 failed" in second
    assert ScrapeRun.objects.count() == 3


def test_since_and_until_limit_the_window(http_server):
    # The static server ignores the query, so this is the window applied on our side too.
    out = run(f"{http_server}/github", "litellm", "--since", "2023-12-01", "--until", "2023-12-14")
    assert [r.url.rsplit("/", 2)[1] for r in ScrapeRun.objects.all()] == [V2]
    assert spans("gpt-4") == [(Decimal(30), at("2023-12-14T06:12:55Z"), None)]
    assert "[1/1] litellm 2023-12-14 4db49a8" in out


def test_the_window_is_asked_of_github(github):
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = LISTING
    run(github.url, "litellm", "--since", "2023-12-01", "--until", "2024-01-31")
    query = parse_qs(urlsplit(github.commits_requests()[0][0]).query)
    assert query == {
        "path": [LITELLM_PATH],
        "since": ["2023-12-01T00:00:00Z"],
        "until": ["2024-02-01T00:00:00Z"],
        "per_page": ["100"],
        "page": ["1"],
    }
    assert ScrapeRun.objects.count() == 2


def test_a_version_that_fails_to_parse_is_reported_and_the_others_still_ingested(github):
    broken = commit(BROKEN, "2023-12-20T10:00:00Z")
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = [LISTING[0], broken, *LISTING[1:]]
    out = run(github.url, "litellm")  # does not raise: not every version failed
    assert "[3/4] litellm 2023-12-20 0a37ff0: litellm: run " in out
    assert "failed in" in out and "no entry has a litellm_provider" in out
    assert "litellm: 3 versions ingested, 0 skipped as already done, 1 failed" in out
    statuses = [r.status for r in ScrapeRun.objects.order_by("observed_at")]
    assert statuses == ["succeeded", "succeeded", "failed", "succeeded"]
    assert spans("gpt-3.5-turbo")[-1][:2] == (Decimal(1), at("2024-01-25T21:03:44Z"))


def test_backfill_fails_when_every_version_fails(github):
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = [commit(BROKEN, "2023-12-20T10:00:00Z")]
    with pytest.raises(CommandError, match="every version failed"):
        run(github.url, "litellm")


def test_backfill_fails_when_the_commits_cannot_be_listed(http_server):
    out = io.StringIO()
    with pytest.raises(CommandError, match="could not be listed"):
        call_command(
            "backfill", "genai_prices", "--api-url", f"{http_server}/github/api", stdout=out
        )
    assert "cannot list the commits of pydantic/genai-prices prices/data.json" in out.getvalue()
    assert "HTTP 404" in out.getvalue()
    assert ScrapeRun.objects.count() == 0


def test_github_token_is_sent_as_a_bearer_token(github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_example")
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = LISTING
    run(github.url, "litellm")
    [(_, headers)] = github.commits_requests()
    assert headers["authorization"] == "Bearer ghp_example"
    assert headers["accept"] == "application/vnd.github+json"
    raw = [headers for path, headers in github.requests if path.startswith("/raw/")]
    assert len(raw) == 3 and not any("authorization" in h for h in raw)  # only GitHub's API


def test_rate_limit_exhaustion_waits_until_reset(github):
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = LISTING
    github.page_headers[1] = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)}
    waits: list[tuple[float, int]] = []  # (seconds, commits requests made before the wait)
    lines: list[str] = []
    [summary] = backfill.backfill(
        ["litellm"],
        api_url=f"{github.url}/api",
        raw_url=f"{github.url}/raw",
        per_page=2,
        sleep=lambda s: waits.append((s, len(github.commits_requests()))),
        now=lambda: RESET - 30,
        write=lines.append,
    )
    assert waits == [(31.0, 1)]  # after page 1, before page 2: until the reset, plus a second
    assert len(github.commits_requests()) == 2
    assert "GitHub rate limit reached; waiting 31 s (it resets at 2033-05-18 03:33:20Z)" in lines
    assert (summary.ingested, summary.failed) == (3, 0)


def test_refused_listing_is_retried_after_the_wait_github_asks_for(github):
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = LISTING
    github.refusals = [(403, {}), (429, {"Retry-After": "45"})]
    waits: list[float] = []
    [summary] = backfill.backfill(
        ["litellm"],
        api_url=f"{github.url}/api",
        raw_url=f"{github.url}/raw",
        sleep=waits.append,
        write=lambda line: None,
    )
    assert waits == [60.0, 45.0]  # no Retry-After: a minute, as GitHub's docs ask
    assert summary.ingested == 3


def test_a_listing_refused_again_and_again_is_given_up(github):
    github.listings[("BerriAI/litellm", LITELLM_PATH)] = LISTING
    github.refusals = [(403, {})] * 10
    waits: list[float] = []
    [summary] = backfill.backfill(
        ["litellm"],
        api_url=f"{github.url}/api",
        raw_url=f"{github.url}/raw",
        sleep=waits.append,
        write=lambda line: None,
    )
    assert len(github.commits_requests()) == 1 + backfill.RETRIES
    assert len(waits) == backfill.RETRIES
    assert (summary.ok, summary.listing_failed, ScrapeRun.objects.count()) == (False, True, 0)


def test_genai_prices_walks_its_old_path_then_its_new_one(github):
    body = (FIXTURES / "genai_prices" / "v2_small.json").read_bytes()
    old, moved = "a" * 40, "b" * 40
    repo = "pydantic/genai-prices"
    github.listings[(repo, "prices/data.json")] = [
        commit(moved, "2026-01-10T12:00:00Z"),
        commit(old, "2025-09-01T12:00:00Z"),
    ]
    github.listings[(repo, "prices/new_data/v2/data.json")] = [
        commit(moved, "2026-01-10T12:00:00Z")
    ]
    github.files[f"{repo}/{old}/prices/data.json"] = body
    github.files[f"{repo}/{moved}/prices/new_data/v2/data.json"] = body
    out = run(github.url, "genai_prices").splitlines()
    assert out[0].startswith("[1/3] genai_prices 2025-09-01 aaaaaaa: genai_prices: run ")
    assert out[1] == (
        "[2/3] genai_prices 2026-01-10 bbbbbbb: prices/data.json is not in this commit "
        "(deleted or moved)"
    )
    assert out[2].startswith("[3/3] genai_prices 2026-01-10 bbbbbbb: genai_prices: run ")
    assert out[3].startswith("genai_prices: 2 versions ingested, 0 skipped as already done, 0")
    assert [r.url.split(repo)[1] for r in ScrapeRun.objects.order_by("pk")] == [
        f"/{old}/prices/data.json",
        f"/{moved}/prices/new_data/v2/data.json",
    ]


def test_models_dev_cannot_be_walked(db):
    with pytest.raises(CommandError, match=r"api\.json is generated"):
        call_command("backfill", "models_dev")
