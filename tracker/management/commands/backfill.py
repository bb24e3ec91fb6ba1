from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker import backfill
from tracker.management.commands.scrape import known_source


def day_or_time(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """YYYY-MM-DD (midnight UTC; with `end_of_day`, the midnight after, so the day is included)
    or an ISO 8601 time with a zone."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option}: not a date (YYYY-MM-DD) or ISO 8601 time: {value!r}"
        ) from None
    if when.tzinfo is None:
        raise CommandError(f"{option}: give a time zone, e.g. {value}Z")
    return when


class Command(BaseCommand):
    help = (
        "Reconstruct price history by walking the GitHub commit history of a source's price map "
        "and ingesting every version as observed at its commit date, oldest first. Resumable: "
        "versions already ingested are skipped. Walkable sources: "
        + ", ".join(f"{slug} ({repo})" for slug, (repo, _) in backfill.REPOS.items())
        + ". models_dev is not walkable: its api.json is generated when the site is built, not "
        "committed. Set GITHUB_TOKEN for GitHub's higher rate limit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "sources", nargs="*", metavar="SOURCE", help="source slugs (default: all walkable)"
        )
        parser.add_argument("--since", help="only commits on or after this day (YYYY-MM-DD)")
        parser.add_argument("--until", help="only commits on or before this day (YYYY-MM-DD)")
        parser.add_argument(
            "--api-url", default=backfill.API_URL, help="GitHub REST API base (a mirror or test)"
        )
        parser.add_argument(
            "--raw-url", default=backfill.RAW_URL, help="raw file base (a mirror or test server)"
        )
        parser.add_argument(
            "--limit", type=int, help="fetch at most N versions per source (oldest not yet done)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = list(dict.fromkeys(options["sources"])) or list(backfill.REPOS)
        for slug in slugs:
            known_source(slug)
            if slug not in backfill.REPOS:
                reason = (
                    "its api.json is generated when the site is built, not committed"
                    if slug == "models_dev"
                    else "it has no price map versioned on GitHub"
                )
                raise CommandError(
                    f"{slug} cannot be backfilled: {reason} (walkable: {', '.join(backfill.REPOS)})"
                )
        since = day_or_time(options["since"], "--since") if options["since"] else None
        until = (
            day_or_time(options["until"], "--until", end_of_day=True) if options["until"] else None
        )
        if since is not None and until is not None and since >= until:
            raise CommandError("--since must be before --until")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        summaries = backfill.backfill(
            slugs,
            since=since,
            until=until,
            api_url=options["api_url"],
            raw_url=options["raw_url"],
            limit=options["limit"],
            write=self.stdout.write,
        )
        failed = [s.slug for s in summaries if not s.ok]
        if failed:
            raise CommandError(
                f"backfill failed for {', '.join(failed)}: the commits could not be listed or "
                "every version failed; see the lines above"
            )
