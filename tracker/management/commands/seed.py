from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tracker.models import ScrapeRun
from tracker.seed import seed


class Command(BaseCommand):
    help = "Load the bundled data (sources, the price ledger, genai-prices' map). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        runs = seed(say=self.stdout.write)
        if any(run.status != ScrapeRun.Status.SUCCEEDED for run in runs):
            raise CommandError("seeding failed; see the lines above")
