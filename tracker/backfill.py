"""History backfill: walk the GitHub commit history of a source's price map and record each
version as observed at its commit date.

The versions are listed with GitHub's REST API (`GET /repos/{owner}/{repo}/commits?path=...`,
newest first, paginated), fetched from raw.githubusercontent.com at each commit, and ingested
oldest first through `scraping.run_source` (trigger 'ingest'), so the archive, the parser and the
recorder are the ones live scraping uses. Effective dates a source states itself still win: the
adapters put them on their quotes.

Resumable: a version whose raw file already has a succeeded run for the source is skipped, so an
interrupted backfill run again continues where it stopped, and a finished one does nothing.
Rate-limit aware: when GitHub says no requests remain, the walk waits for the reset it announces;
a 403/429 is retried a bounded number of times after the wait GitHub asks for.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from scrapers.base import Fetched, FetchError, HttpClient
from tracker import scraping
from tracker.models import ScrapeRun

log = logging.getLogger(__name__)

API_URL = "https://api.github.com"
RAW_URL = "https://raw.githubusercontent.com"

# Source slug -> (GitHub repository, the price map's paths in it, oldest first). Every path is
# walked, in this order. genai-prices published its map at prices/data.json and moved it to
# prices/new_data/v2/data.json in 2026, so its history spans both paths.
# models.dev cannot be walked: its api.json is generated when the site is built, not committed.
REPOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "litellm": ("BerriAI/litellm", ("model_prices_and_context_window.json",)),
    "genai_prices": ("pydantic/genai-prices", ("prices/data.json", "prices/new_data/v2/data.json")),
}

PER_PAGE = 100  # GitHub's maximum page size for the commits listing
MAX_PAGES = 500  # 50,000 commits: far beyond any price map's history; guards against a loop
MAX_WAIT = 3600.0  # seconds; GitHub's rate-limit window is an hour, so no wait is longer
RESET_MARGIN = 1.0  # seconds past the announced reset, for clock skew
RETRIES = 3  # after a 403/429, on top of HttpClient's quick retries
DEFAULT_RETRY_WAIT = 60.0  # GitHub: without Retry-After, wait at least a minute before retrying


class ListingError(Exception):
    """The commits listing could not be fetched or is not what GitHub answers."""


@dataclass(frozen=True)
class Commit:
    sha: str
    date: datetime  # the committer date: when the version landed on the branch
    path: str


@dataclass
class Summary:
    """What a backfill did for one source."""

    slug: str
    commits: int = 0  # in the window, over all the source's paths
    ingested: int = 0
    skipped: int = 0  # already ingested by an earlier backfill
    failed: int = 0
    absent: int = 0  # the file was not at the commit (the commit deleted or moved it)
    error: str = ""  # why the walk could not start (the listing) or stopped early
    listing_failed: bool = False
    limited: bool = False  # stopped at --limit

    @property
    def ok(self) -> bool:
        """False if the commits could not be listed, or every version tried failed."""
        if self.listing_failed:
            return False
        return not (self.failed and not self.ingested and not self.skipped)

    def line(self) -> str:
        text = (
            f"{self.slug}: {self.ingested} versions ingested, {self.skipped} skipped as already "
            f"done, {self.failed} failed"
        )
        if self.absent:
            text += f", {self.absent} without the file"
        if self.limited:
            text += " (stopped at --limit; run again to continue)"
        if self.error:
            text += f" - {self.error}"
        return text


class GitHub:
    """The two kinds of request a backfill makes, through HttpClient: the commits listing
    (REST API, rate-limited, authenticated when a token is given) and raw files."""

    def __init__(
        self,
        *,
        api_url: str = API_URL,
        raw_url: str = RAW_URL,
        token: str = "",
        per_page: int = PER_PAGE,
        write: Callable[[str], None] = log.info,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.api_url, self.raw_url = api_url.rstrip("/"), raw_url.rstrip("/")
        self.per_page = per_page
        self.write, self.sleep, self.now = write, sleep, now
        self.api_headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if token:
            self.api_headers["Authorization"] = f"Bearer {token}"
        self.reset_at: float | None = None  # set when GitHub said no requests remain

    def commits(
        self, repo: str, path: str, since: datetime | None, until: datetime | None
    ) -> list[Commit]:
        """Every commit that changed `path` in [since, until), oldest first.

        The window is asked of GitHub and applied again here, so a mirror (or a static test
        server) that ignores the query still yields it. Paging stops at a short page.
        """
        found: dict[str, Commit] = {}
        for page in range(1, MAX_PAGES + 1):
            query = {"path": path}
            if since is not None:
                query["since"] = _iso(since)
            if until is not None:
                query["until"] = _iso(until)
            query.update(per_page=str(self.per_page), page=str(page))
            url = f"{self.api_url}/repos/{repo}/commits?{urlencode(query)}"
            try:
                fetched = self._get(url, self.api_headers, api=True)
            except FetchError as exc:
                raise ListingError(str(exc)) from None
            items = _commit_items(fetched.body, url)
            fresh = 0
            for sha, date in items:
                if sha not in found:  # a push while paging shifts items onto the next page
                    found[sha] = Commit(sha, date, path)
                    fresh += 1
            if len(items) < self.per_page or not fresh:
                break
        else:
            raise ListingError(f"{repo} {path}: more than {MAX_PAGES} pages of commits")
        inside = [
            c
            for c in found.values()
            if (since is None or c.date >= since) and (until is None or c.date < until)
        ]
        # Newest first as listed; sorted by date, ties keep their listed order reversed.
        return sorted(reversed(inside), key=lambda c: c.date)

    def raw_file_url(self, repo: str, commit: Commit) -> str:
        return f"{self.raw_url}/{repo}/{commit.sha}/{quote(commit.path)}"

    def raw(self, url: str) -> bytes:
        return self._get(url, {}, api=False).body

    def _get(self, url: str, headers: dict[str, str], *, api: bool) -> Fetched:
        """GET with a bounded number of retries after a 403/429, waiting as GitHub asks."""
        attempt = 0
        while True:
            if api:
                self._wait_for_reset()
            try:
                fetched = HttpClient(headers=headers, sleep=self.sleep).get(url, datetime.now(UTC))
            except FetchError as exc:
                status = exc.status
                attempt += 1
                if status not in (403, 429) or attempt > RETRIES:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_WAIT
                if wait > MAX_WAIT:
                    raise
                self.write(
                    f"GitHub answered HTTP {status}; waiting {wait:.0f} s before trying again "
                    f"({attempt}/{RETRIES})"
                )
                self.sleep(wait)
                continue
            if api:
                self._note_rate_limit(fetched)
            return fetched

    def _note_rate_limit(self, fetched: Fetched) -> None:
        remaining = fetched.header("x-ratelimit-remaining")
        reset = fetched.header("x-ratelimit-reset")
        try:
            if remaining and int(remaining) <= 0 and reset:
                self.reset_at = float(reset)
        except ValueError:
            log.warning("unreadable rate-limit headers: %r, %r", remaining, reset)

    def _wait_for_reset(self) -> None:
        """Before an API request: if the last answer said none remain, wait for the reset."""
        if self.reset_at is None:
            return
        reset_at, self.reset_at = self.reset_at, None
        wait = min(reset_at - self.now() + RESET_MARGIN, MAX_WAIT)
        if wait <= 0:
            return
        until = datetime.fromtimestamp(reset_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        self.write(f"GitHub rate limit reached; waiting {wait:.0f} s (it resets at {until})")
        self.sleep(wait)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit_items(body: bytes, url: str) -> list[tuple[str, datetime]]:
    """(sha, committer date) of every item of a commits page."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListingError(f"GET {url}: not JSON: {exc}") from None
    if not isinstance(data, list):
        raise ListingError(f"GET {url}: expected a list of commits, got {type(data).__name__}")
    items = []
    for item in data:
        try:
            sha = str(item["sha"])
            date = datetime.fromisoformat(item["commit"]["committer"]["date"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ListingError(
                f"GET {url}: a commit without sha or committer date ({exc})"
            ) from None
        if date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        items.append((sha, date))
    return items


def _done(slug: str, repo: str) -> set[str]:
    """'sha/path' of every version of `repo` the source already ingested successfully.

    Keyed by commit and path rather than by the whole URL, so a backfill through a mirror
    (another --raw-url) still knows what is done.
    """
    marker = f"/{repo}/"
    urls = ScrapeRun.objects.filter(
        source__slug=slug, status=ScrapeRun.Status.SUCCEEDED, url__contains=marker
    ).values_list("url", flat=True)
    return {url.split(marker, 1)[1] for url in urls if marker in url}


def backfill(
    slugs: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    api_url: str = API_URL,
    raw_url: str = RAW_URL,
    limit: int | None = None,
    token: str | None = None,
    per_page: int = PER_PAGE,
    write: Callable[[str], None] = log.info,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> list[Summary]:
    """Backfill each source in `slugs` (keys of REPOS); one Summary per source.

    `limit` caps the versions fetched per source this time (the oldest not yet done).
    `token` defaults to the GITHUB_TOKEN environment variable.
    """
    unknown = [slug for slug in slugs if slug not in REPOS]
    if unknown:
        raise KeyError(f"cannot backfill {', '.join(unknown)} (walkable: {', '.join(REPOS)})")
    if token is None:
        token = os.environ.get("GITHUB_TOKEN", "").strip()
    github = GitHub(
        api_url=api_url,
        raw_url=raw_url,
        token=token,
        per_page=per_page,
        write=write,
        sleep=sleep,
        now=now,
    )
    scraping.ensure_sources()
    return [_walk(slug, github, since, until, limit, write) for slug in slugs]


def _walk(
    slug: str,
    github: GitHub,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    write: Callable[[str], None],
) -> Summary:
    repo, paths = REPOS[slug]
    summary = Summary(slug)
    commits: list[Commit] = []
    for path in paths:
        try:
            commits += github.commits(repo, path, since, until)
        except ListingError as exc:
            summary.listing_failed = True
            summary.error = f"cannot list the commits of {repo} {path}: {exc}"
            write(summary.line())
            return summary
    summary.commits = len(commits)
    done = _done(slug, repo)
    tried = 0
    for number, commit in enumerate(commits, 1):
        head = f"[{number}/{len(commits)}] {slug} {commit.date:%Y-%m-%d} {commit.sha[:7]}"
        if f"{commit.sha}/{quote(commit.path)}" in done:
            summary.skipped += 1
            write(f"{head}: already ingested, skipped")
            continue
        if limit is not None and tried >= limit:
            summary.limited = True
            break
        tried += 1
        url = github.raw_file_url(repo, commit)
        try:
            body = github.raw(url)
        except FetchError as exc:
            if exc.status == 404:
                summary.absent += 1
                write(f"{head}: {commit.path} is not in this commit (deleted or moved)")
                continue
            summary.failed += 1
            summary.error = f"stopped at {commit.sha[:7]}: {exc}; run again to continue"
            write(f"{head}: {exc}")
            break
        run = scraping.run_source(
            slug,
            trigger=ScrapeRun.Trigger.INGEST,
            url=url,
            observed_at=commit.date,
            body=body,
        )
        if run.status == ScrapeRun.Status.SUCCEEDED:
            summary.ingested += 1
        else:
            summary.failed += 1
        write(f"{head}: {scraping.describe(run)}")
    write(summary.line())
    return summary
