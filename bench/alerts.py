"""Benchmark: match a 200-change scrape run against 100,000 rules over 2,000 models, then
deliver 10,000 alert emails to a real SMTP server on loopback (aiosmtpd).

    python bench/alerts.py                                                  # SQLite, temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alerts_bench python bench/alerts.py

Targets (issue 6): notifications for the run created in under 1 s. Prints figures only; the
Postgres database named in DATABASE_URL is dropped and recreated.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.ingest_export import _prepare_database

# (share, target, condition, meter): the mix of 100,000 rules.
MIX = (
    (0.35, "model", "below", "blended"),
    (0.15, "model", "drop", "input"),
    (0.10, "model", "cheaper", "blended"),
    (0.11, "model", "delisted", "any"),
    (0.15, "offering", "any", "any"),
    (0.11, "offering", "low", "input"),
    (0.02, "capability", "frontier_drop", "blended"),
    (0.01, "provider", "drop", "blended"),
    (0.001, "all", "drop", "input"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=8, help="parallel delivery workers")
    args = parser.parse_args()
    _prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import synthetic

    call_command("migrate", verbosity=0)
    built = synthetic.build(providers=50, models=2000, offerings=10000, spans=args.spans)
    print(f"database: {connection.vendor}; synthetic data in {built.seconds:.1f} s")
    _make_rules(args.rules)
    change_ids = _scrape_run(args.changes)
    _time_matching(change_ids)
    _time_delivery(args.emails, args.workers)


def _make_rules(count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from tracker.alerts.models import Rule, Subscriber
    from tracker.models import CapabilityScore, LanguageModel, Offering, Provider

    rng = random.Random(6)
    now = timezone.now()
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"s{i}@bench.example", confirmed_at=now) for i in range(count // 5)],
        batch_size=5000,
    )
    subscribers = list(Subscriber.objects.values_list("pk", flat=True))
    models = list(LanguageModel.objects.values_list("pk", flat=True))
    offerings = list(Offering.objects.values_list("pk", flat=True))
    providers = list(Provider.objects.values_list("pk", flat=True))
    levels = list(CapabilityScore.objects.values_list("benchmark", "score").distinct()[:6])
    rules = []
    for share, target, condition, meter in MIX:
        for _ in range(int(count * share)):
            rule = Rule(
                subscriber_id=rng.choice(subscribers), target=target, condition=condition,
                meter=meter, confirmed_at=now, threshold_usd=Decimal(rng.choice(["1", "5", "20"])),
                percent=Decimal(rng.choice(["5", "10", "25"])), feed_token=f"t{len(rules)}",
                every_change=rng.random() < 0.2,
            )  # fmt: skip
            if target == "model":
                rule.model_id = rng.choice(models)
            elif target == "offering":
                rule.offering_id = rng.choice(offerings)
            elif target == "provider":
                rule.provider_id = rng.choice(providers)
            elif target == "capability":
                rule.benchmark, rule.min_score = rng.choice(levels)
            rules.append(rule)
    started = time.perf_counter()
    Rule.objects.bulk_create(rules, batch_size=5000)
    if connection.vendor == "postgresql":  # as autovacuum would after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alerts_rule")
            cursor.execute("ANALYZE alerts_subscriber")
    print(
        f"rules: {len(rules):,} over {len(models):,} models ({time.perf_counter() - started:.1f} s)"
    )


def _scrape_run(changes: int) -> list[int]:
    """A run of a new, most authoritative source quoting 20 % less for changes/2 offerings on
    input and output: `changes` published PriceChanges, recorded the real way."""
    from django.utils import timezone

    from tracker.ingest import Quote, record
    from tracker.models import Offering, Source
    from tracker.prices import current_prices

    now = timezone.now()
    source = Source.objects.create(
        slug="bench-live", name="bench", kind="provider_page", priority=1, interval="01:00:00"
    )
    priced = current_prices(now)
    both = {"input", "output"}
    chosen = [
        o
        for o in Offering.objects.select_related("provider")
        if both <= priced.get(o.pk, {}).keys()
    ]
    random.Random(7).shuffle(chosen)
    quotes = [
        Quote(
            provider=o.provider.slug,
            provider_model_id=o.provider_model_id,
            meter=meter,
            amount=(priced[o.pk][meter] * Decimal("0.8")).quantize(Decimal("0.000001")),
        )
        for o in chosen[: changes // 2]
        for meter in ("input", "output")
    ]
    started = time.perf_counter()
    ids = record(source, quotes, now).change_ids
    seconds = time.perf_counter() - started
    print(f"scrape run: {len(ids)} published changes recorded in {seconds:.2f} s")
    return ids


def _time_matching(change_ids: list[int]) -> None:
    from tracker.alerts import matching
    from tracker.alerts.models import Notification

    for label, exclude in (("without frontier rules", True), ("with frontier rules", False)):
        Notification.objects.all().delete()
        from tracker.alerts.models import Rule

        if exclude:
            frontier = list(Rule.objects.filter(target="capability").values_list("pk", flat=True))
            Rule.objects.filter(pk__in=frontier).update(paused=True)
        started = time.perf_counter()
        rows = matching.match(change_ids)
        seconds = time.perf_counter() - started
        Rule.objects.update(paused=False)
        print(
            f"matching {len(change_ids)} changes {label}: {rows:,} notifications in {seconds:.3f} s"
        )


def _time_delivery(emails: int, workers: int) -> None:
    """Queue `emails` instant email notifications and time until the SMTP server has them all."""
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone

    from tracker.alerts import outbox
    from tracker.alerts.models import Notification, Rule

    class Count:
        accepted = 0
        lock = threading.Lock()

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with self.lock:
                Count.accepted += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    Notification.objects.all().delete()
    now = timezone.now()
    change = (
        Notification._meta.get_field("change")
        .related_model.objects.filter(  # type: ignore[union-attr]
            retracted_at__isnull=True
        )
        .latest("pk")
    )
    rules = list(Rule.objects.filter(channel="email").values_list("pk", flat=True)[:emails])
    Notification.objects.bulk_create(
        [
            Notification(
                rule_id=r, change=change, detail="bench", created_at=now, next_attempt_at=now
            )
            for r in rules
        ],
        batch_size=5000,
    )
    parallel = workers if connections["default"].vendor == "postgresql" else 1

    def work() -> None:
        try:
            while outbox.deliver_due(limit=250):
                pass
        finally:
            connections.close_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    controller.stop()
    print(
        f"delivery: {Count.accepted:,} of {len(rules):,} emails accepted by the loopback SMTP "
        f"server in {seconds:.1f} s with {parallel} worker(s) ({Count.accepted / seconds:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
