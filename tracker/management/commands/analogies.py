from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracker import analogies
from tracker.models import Series


class Command(BaseCommand):
    help = (
        "For each analogy series: its span, its fitted decline over the first years after its "
        "breakthrough, and its source."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=float, default=15, help="fit window after year 0")

    def handle(self, *args: Any, **options: Any) -> None:
        window = options["years"]
        for series in Series.objects.prefetch_related("points"):
            points = list(series.points.all())
            if not points:
                self.stdout.write(f"{series.slug}: no points")
                continue
            span = f"{points[0].date.year}-{points[-1].date.year}"
            self.stdout.write(
                f"{series.slug} ({series.title}; {series.unit}; {span}, {len(points)} points)"
            )
            self.stdout.write(f"  {self._fit(series, window)}")
            self.stdout.write(f"  source: {series.source} [{series.licence}]")

    @staticmethod
    def _fit(series: Series, window: float) -> str:
        if series.breakthrough_date is None:
            return "no breakthrough: reference series, not fitted"
        year0 = series.breakthrough_date.year
        basis = (
            f"real {series.cpi_base_year} dollars"
            if series.kind == Series.Kind.PRICE and series.cpi_base_year
            else "as published"
        )
        try:
            aligned = analogies.align(analogies.series_points(series), year0)
            fit = analogies.fit_decline(aligned, 0, window)
        except ValueError as exc:
            return f"breakthrough {year0}: not fitted ({exc})"
        described = fit.describe(price=series.kind != Series.Kind.QUANTITY)
        return f"breakthrough {year0} ({series.breakthrough_event}): {described}, {basis}"
