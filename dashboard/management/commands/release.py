"""manage.py release [--date YYYY-MM-DD]: build a dated release now (what the daily task does)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.releases import build_release


class Command(BaseCommand):
    help = "Build the dated release of the whole dataset under RELEASES_DIR/<date>/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            help="Name the release after this day (YYYY-MM-DD; default today, UTC). It also "
            "ends the daily series; the data is the data as it is now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        on = None
        if options["date"]:
            try:
                on = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date: {options['date']!r} is not YYYY-MM-DD") from None
        started = time.perf_counter()
        release = build_release(on)
        files = list(release.files.all())
        size = sum(f.size_bytes for f in files)
        self.stdout.write(
            f"release {release.name}: {len(files)} files, {size / 1e6:.1f} MB, "
            f"{release.rows.get('spans', 0):,} spans, in {time.perf_counter() - started:.1f} s"
        )
        for table, counts in (release.changes or {}).items():
            summary = ", ".join(f"{n:,} {what}" for what, n in counts.items() if n)
            self.stdout.write(f"  {table}: {summary or 'unchanged'}")
