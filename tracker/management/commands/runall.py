import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Run the web server, a Celery worker and the scheduler in one terminal; Ctrl-C stops all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default=os.environ.get("TRACKER_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        # The web server serves hashed static files from a manifest; without it every page
        # fails. Quick when nothing changed.
        call_command("collectstatic", interactive=False, verbosity=0)
        python = sys.executable
        web = [python, "manage.py", "runserver", options["addr"], "--noreload"]
        # -B embeds the beat scheduler in the worker: one process, fine on one machine.
        # Production runs `celery worker` and `celery beat` separately (README).
        worker = [
            python, "-m", "celery", "-A", "tracker", "worker", "-B",
            "--concurrency", str(options["concurrency"]), "--loglevel", "INFO",
        ]  # fmt: skip
        # Ctrl-C reaches the whole process group; the children stop themselves, and their exit
        # then is not a failure.
        stopping: list[int] = []
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        procs = {"web": subprocess.Popen(web), "worker": subprocess.Popen(worker)}
        self.stdout.write(f"Token Price Tracker is up: http://{options['addr']}/  (Ctrl-C stops)")
        failed = None
        try:
            while failed is None and not stopping:
                time.sleep(0.5)
                failed = next((name for name, p in procs.items() if p.poll() is not None), None)
            if stopping:
                failed = None
                self.stdout.write("stopping...")
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if failed is not None:
            raise CommandError(
                f"the {failed} process exited ({procs[failed].returncode}); stopped all"
            )
