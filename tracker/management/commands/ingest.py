from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker import scraping
from tracker.management.commands.scrape import known_source, parse_when
from tracker.models import ScrapeRun


class Command(BaseCommand):
    help = "Record a saved payload as if it had been fetched at --observed-at (for backfill)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="source slug, e.g. genai_prices")
        parser.add_argument("path", type=Path, help="the saved response body")
        parser.add_argument("--observed-at", required=True, help="ISO 8601 time it was true")
        parser.add_argument("--url", default="", help="where the payload came from, for the record")

    def handle(self, *args: Any, **options: Any) -> None:
        known_source(options["source"])
        path: Path = options["path"]
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        run = scraping.run_source(
            options["source"],
            trigger=ScrapeRun.Trigger.INGEST,
            url=options["url"] or f"file:{path.name}",
            observed_at=parse_when(options["observed_at"]),
            body=body,
        )
        self.stdout.write(scraping.describe(run))
        if run.status != ScrapeRun.Status.SUCCEEDED:
            raise CommandError("the run failed")
