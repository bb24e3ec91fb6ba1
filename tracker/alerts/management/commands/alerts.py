"""`manage.py alerts sweep|deliver|digest`: the periodic alert tasks, without a broker."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracker.alerts import outbox


class Command(BaseCommand):
    help = "Run an alerts job now: sweep (re-queue, expire, match), deliver, or digest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", choices=["sweep", "deliver", "digest"])

    def handle(self, *args: Any, **options: Any) -> None:
        job = options["job"]
        if job == "sweep":
            self.stdout.write(str(outbox.sweep()))
        elif job == "deliver":
            total = 0
            while claimed := outbox.deliver_due():
                total += claimed
            self.stdout.write(f"{total} notifications processed")
        else:
            self.stdout.write(f"{outbox.send_digests()} digests sent")
