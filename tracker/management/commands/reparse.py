from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracker import scraping
from tracker.management.commands.scrape import known_source
from tracker.models import ScrapeRun


class Command(BaseCommand):
    help = "Parse a source's archived payloads again (after a parser fix) and record them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="source slug, e.g. genai_prices")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="drop the source's spans first and re-derive them from the payloads alone",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        runs = scraping.reparse(known_source(options["source"]), rebuild=options["rebuild"])
        for run in runs:
            self.stdout.write(scraping.describe(run))
        failed = [run for run in runs if run.status != ScrapeRun.Status.SUCCEEDED]
        self.stdout.write(f"{len(runs)} payloads parsed again, {len(failed)} failed")
        if failed:
            raise CommandError("some payloads did not parse; see the lines above")
