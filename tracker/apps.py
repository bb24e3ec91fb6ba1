from django.apps import AppConfig
from django.db.backends.signals import connection_created


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Token prices"

    def ready(self) -> None:
        from tracker import lookups  # noqa: F401  (registers __anyof)
        from tracker.db import use_fast_timestamps

        connection_created.connect(use_fast_timestamps, dispatch_uid="tracker-fast-timestamps")
