from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tracker.models import ScrapeRun
from tracker.scores import ScoresFileError
from tracker.seed import seed


class Command(BaseCommand):
    help = (
        "Load the bundled data (analogies, sources, the price ledger, genai-prices' map, "
        "capability scores). Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            runs = seed(say=self.stdout.write)
        except ScoresFileError as error:
            raise CommandError(str(error)) from error
        if any(run.status != ScrapeRun.Status.SUCCEEDED for run in runs):
            raise CommandError("seeding failed; see the lines above")
