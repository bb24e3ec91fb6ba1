from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker import scraping
from tracker.models import ScrapeRun


def parse_when(value: str) -> datetime:
    """An ISO 8601 time with a zone (a bare date means midnight UTC)."""
    try:
        when = datetime.fromisoformat(value if "T" in value or " " in value else value + "T00:00Z")
    except ValueError:
        raise CommandError(f"--observed-at: not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise CommandError(f"--observed-at: give a time zone, e.g. {value}Z")
    return when


def known_source(slug: str) -> str:
    """Make sure the registered sources exist; refuse a slug no adapter serves."""
    scraping.ensure_sources()
    try:
        scraping.adapter_for(slug)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from None
    return slug


class Command(BaseCommand):
    help = "Scrape one source now (synchronously) and print a one-line summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="source slug, e.g. genai_prices")
        parser.add_argument("--url", help="fetch from this URL instead (a mirror or test server)")
        parser.add_argument("--observed-at", help="ISO 8601 time the prices are recorded at")

    def handle(self, *args: Any, **options: Any) -> None:
        known_source(options["source"])
        observed_at = parse_when(options["observed_at"]) if options["observed_at"] else None
        try:
            run = scraping.run_source(
                options["source"],
                trigger=ScrapeRun.Trigger.MANUAL,
                url=options["url"],
                observed_at=observed_at,
            )
        except scraping.TransientError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(scraping.describe(run))
        if run.status != ScrapeRun.Status.SUCCEEDED:
            raise CommandError("the run failed")
