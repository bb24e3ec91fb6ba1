"""Running sources: fetch -> archive the payload -> parse -> record, written down as a ScrapeRun.

Plain functions; tracker/tasks.py and the management commands are thin shells around them.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from scrapers import ADAPTERS
from scrapers.base import (
    Adapter,
    Fetched,
    FetchError,
    FxQuote,
    HttpClient,
    Parsed,
    ParseError,
    ScoreQuote,
)
from tracker import analogies
from tracker.alerts import hooks as alert_hooks
from tracker.identity import normalise
from tracker.ingest import IngestError, QuoteError, record
from tracker.ingest.record import resync_published
from tracker.models import (
    CapabilityScore,
    FxRate,
    LanguageModel,
    ModelAlias,
    Payload,
    PendingPrice,
    PriceSpan,
    ScrapeRun,
    Source,
)

log = logging.getLogger(__name__)

# A run still 'running' after this long lost its worker (the task time limit is 10 minutes).
STALE_RUN_AFTER = timedelta(minutes=15)


class TransientError(Exception):
    """The run failed for a reason that may pass (network): the task retries it, after
    `retry_after` seconds when the server asked for that."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def adapter_for(slug: str) -> Adapter:
    try:
        return ADAPTERS[slug]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise KeyError(f"no adapter for source {slug!r} (known: {known})") from None


def ensure_sources() -> list[Source]:
    """Create a Source row for every registered adapter; never overwrite what an admin edited."""
    sources = []
    for slug, adapter in ADAPTERS.items():
        source, _ = Source.objects.get_or_create(
            slug=slug,
            defaults={
                "name": adapter.NAME,
                "kind": adapter.KIND,
                "priority": adapter.PRIORITY,
                "interval": adapter.INTERVAL,
                "licence": adapter.LICENCE,
            },
        )
        sources.append(source)
    return sources


def archive(fetched: Fetched) -> Payload:
    """Store the raw bytes once per content hash. Safe to call twice with the same bytes."""
    digest = hashlib.sha256(fetched.body).hexdigest()
    existing = Payload.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Payload.objects.create(
                sha256=digest,
                body=zlib.compress(fetched.body, 6),
                size_bytes=len(fetched.body),
                content_type=fetched.content_type[:200],
                url=fetched.url[:1000],
                first_fetched_at=fetched.fetched_at,
            )
    except IntegrityError:  # another worker archived the same bytes a moment ago
        return Payload.objects.get(sha256=digest)


def payload_bytes(payload: Payload) -> bytes:
    return zlib.decompress(bytes(payload.body))


def run_source(
    slug: str,
    *,
    trigger: str = ScrapeRun.Trigger.MANUAL,
    url: str | None = None,
    observed_at: datetime | None = None,
    body: bytes | None = None,
    task_id: str = "",
    client: HttpClient | None = None,
) -> ScrapeRun:
    """Fetch (or take `body`), archive, parse and record one source; return its ScrapeRun.

    Failures are written on the run (status 'failed', error) and nothing is recorded from a
    payload that did not parse. A fetch failure is re-raised as TransientError after the run is
    saved, so that a task can retry. `observed_at` backdates a payload (backfill).
    """
    adapter = adapter_for(slug)
    source = Source.objects.get(slug=slug)
    now = timezone.now()
    target = url or source.url or adapter.URL
    run = ScrapeRun.objects.create(
        source=source,
        trigger=trigger,
        url=target[:1000],
        observed_at=observed_at or now,
        started_at=now,
        task_id=task_id,
    )
    transient: FetchError | None = None
    try:
        if body is None:
            fetched = _fetch(adapter, source, target, run, client)
        else:
            fetched = Fetched(body, target, run.observed_at)
        run.payload = archive(fetched)
        parsed = adapter.parse(fetched)
        run.skipped = sum(parsed.skipped.values())
        reference = _record_reference(source, parsed)
        if reference is not None:
            run.quotes, run.spans_created, run.spans_extended, unknown = reference
            run.skipped += unknown
            if unknown:
                run.error = f"{unknown} entries for models not known here (add aliases to map them)"
            run.status = ScrapeRun.Status.SUCCEEDED
            return run
        result = record(
            source,
            parsed.quotes,
            run.observed_at,
            run=run,
            complete=adapter.COMPLETE and trigger != ScrapeRun.Trigger.INGEST,
            backfill=trigger in (ScrapeRun.Trigger.INGEST, ScrapeRun.Trigger.SEED),
        )
        alert_hooks.changes_published(result.change_ids)
        run.status = ScrapeRun.Status.SUCCEEDED
        run.quotes = result.quotes
        run.spans_created = result.spans_created
        run.spans_extended = result.spans_extended
        run.changes = result.changes
        run.held = result.held
        notes = [*result.warnings]
        if parsed.skipped:
            notes.insert(0, f"skipped: {parsed.skipped_summary()}")
        run.error = "\n".join(notes)
    except FetchError as exc:
        run.status, run.error, transient = ScrapeRun.Status.FAILED, str(exc), exc
    except (ParseError, IngestError, QuoteError) as exc:
        run.status, run.error = ScrapeRun.Status.FAILED, str(exc)
    except Exception as exc:
        run.status = ScrapeRun.Status.FAILED
        run.error = f"unexpected {exc.__class__.__name__}: {exc}"
        log.exception("source %s: run %s failed", slug, run.pk)
    finally:
        run.finished_at = timezone.now()
        run.save()
        # Only live runs say whether a source works today; replays of old payloads
        # (ingest, seed, reparse, backfill) may fail on formats the source left long ago.
        if trigger in (ScrapeRun.Trigger.SCHEDULE, ScrapeRun.Trigger.MANUAL):
            _count_outcome(source, run)
    if run.status == ScrapeRun.Status.FAILED:
        log.warning("source %s: run %s failed: %s", slug, run.pk, run.error)
    if transient is not None:
        raise TransientError(str(transient), retry_after=transient.retry_after) from transient
    return run


def _record_reference(source: Source, parsed: Parsed) -> tuple[int, int, int, int] | None:
    """Record a reference source's payload (scores, exchange rates or analogy series):
    (entries, created, updated, unknown). None when the payload holds prices instead."""
    if parsed.scores:
        created, updated, unknown = record_scores(source, parsed.scores)
        return len(parsed.scores), created, updated, unknown
    if parsed.fx_rates:
        created, updated = record_fx_rates(parsed.fx_rates, source.name)
        return len(parsed.fx_rates), created, updated, 0
    if parsed.series:
        created, updated = analogies.record_rows(parsed.series)
        return sum(len(rows) for rows in parsed.series.values()), created, updated, 0
    return None


def _fetch(
    adapter: Adapter, source: Source, url: str, run: ScrapeRun, client: HttpClient | None
) -> Fetched:
    """Fetch conditionally when the source's last payload came from this URL; on 304, take that
    payload again, so an unchanged source still moves last_seen_at and costs one request."""
    previous = (
        ScrapeRun.objects.filter(
            source=source, status=ScrapeRun.Status.SUCCEEDED, payload__isnull=False, url=url
        )
        .select_related("payload")
        .first()
    )
    if client is None:
        client = (
            HttpClient(etag=source.etag, last_modified=source.last_modified)
            if previous is not None
            else HttpClient()
        )
    fetched = adapter.fetch(client, url)
    if fetched.not_modified and previous is not None and previous.payload is not None:
        return Fetched(payload_bytes(previous.payload), url, run.observed_at, "", fetched.etag,
                       fetched.last_modified)  # fmt: skip
    if fetched.not_modified:
        raise FetchError(f"GET {url}: 304 Not Modified but no earlier payload to reuse")
    Source.objects.filter(pk=source.pk).update(
        etag=fetched.etag[:500], last_modified=fetched.last_modified[:100]
    )
    return Fetched(fetched.body, fetched.url, run.observed_at, fetched.content_type)


def _count_outcome(source: Source, run: ScrapeRun) -> None:
    """Count consecutive failures; email the operators once when they reach the threshold and
    once when the source recovers."""
    threshold = settings.TRACKER_FAILURE_ALERT_AFTER
    if run.status == ScrapeRun.Status.SUCCEEDED:
        before = Source.objects.filter(pk=source.pk).values_list("consecutive_failures", flat=True)
        failures = before.first() or 0
        Source.objects.filter(pk=source.pk).update(consecutive_failures=0)
        if failures >= threshold:
            mail_admins(
                f"{source.slug} recovered",
                f"Source {source.slug} succeeded again (run {run.pk}) after {failures} failed "
                "runs in a row.",
                fail_silently=True,
            )
        return
    Source.objects.filter(pk=source.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = Source.objects.values_list("consecutive_failures", flat=True).get(pk=source.pk)
    if failures == threshold:
        mail_admins(
            f"{source.slug} has failed {failures} runs in a row",
            f"Source {source.slug} ({source.name}) has failed {failures} runs in a row.\n\n"
            f"Last run: {run.pk} at {run.started_at:%Y-%m-%d %H:%M} UTC\nURL: {run.url}\n"
            f"Error: {run.error}\n\nYou will get one more email when it recovers.",
            fail_silently=True,
        )


def record_scores(source: Source, scores: list[ScoreQuote]) -> tuple[int, int, int]:
    """Upsert capability scores for models we know (by slug or alias); returns (created,
    updated, unknown). Where several of the source's names map to one of our models, the most
    recently measured score wins, then the higher one. Idempotent."""
    names = {normalise(score.model) for score in scores}
    models = dict(LanguageModel.objects.filter(slug__in=names).values_list("slug", "pk"))
    aliases = dict(ModelAlias.objects.filter(alias__in=names).values_list("alias", "model_id"))
    best: dict[tuple[int, str], ScoreQuote] = {}
    unknown = 0
    for score in scores:
        name = normalise(score.model)
        model_id = models.get(name) or aliases.get(name)
        if model_id is None:
            unknown += 1
            continue
        key = (model_id, score.benchmark)
        held = best.get(key)
        rank = (score.measured_on or date.min, score.score)
        if held is None or rank > (held.measured_on or date.min, held.score):
            best[key] = score
    created = updated = 0
    with transaction.atomic():
        for (model_id, benchmark), score in best.items():
            _, made = CapabilityScore.objects.update_or_create(
                model_id=model_id,
                benchmark=benchmark,
                source=source.slug,
                defaults={
                    # CapabilityScore keeps 4 decimal places; round here, not in the database.
                    "score": score.score.quantize(Decimal("0.0001")),
                    "measured_on": score.measured_on,
                    "source_url": score.source_url[:200],
                },
            )
            created, updated = created + made, updated + (not made)
    return created, updated, unknown


def record_fx_rates(rates: list[FxQuote], source_name: str) -> tuple[int, int]:
    """Upsert daily reference rates by (date, currency); returns (created, updated). Idempotent."""
    created = updated = 0
    with transaction.atomic():
        for rate in rates:
            row, made = FxRate.objects.get_or_create(
                date=rate.day,
                currency=rate.currency,
                defaults={"per_usd": rate.per_usd, "source": source_name[:100]},
            )
            if made:
                created += 1
            elif row.per_usd != rate.per_usd:
                row.per_usd = rate.per_usd
                row.save(update_fields=["per_usd"])
                updated += 1
    return created, updated


def due_sources(now: datetime) -> list[str]:
    """Claim every enabled source that is due and move its next slot; return their slugs.

    The claim is a conditional update, so two schedulers ticking at once never both enqueue the
    same source. Also marks runs whose worker vanished as failed.
    """
    ScrapeRun.objects.filter(
        status=ScrapeRun.Status.RUNNING, started_at__lt=now - STALE_RUN_AFTER
    ).update(
        status=ScrapeRun.Status.FAILED,
        finished_at=now,
        error="worker lost: the run never finished (it is retried at the next slot)",
    )
    claimed = []
    due = Source.objects.filter(enabled=True).filter(
        Q(next_due_at__isnull=True) | Q(next_due_at__lte=now)
    )
    for source in due:
        updated = Source.objects.filter(pk=source.pk, next_due_at=source.next_due_at).update(
            next_due_at=now + source.interval
        )
        if updated == 1:
            claimed.append(source.slug)
    return claimed


def reparse(slug: str, *, rebuild: bool = False) -> list[ScrapeRun]:
    """Parse every archived payload of a source again, in the order it was observed, and record
    it at its original time: the way to apply a parser fix to history.

    Without `rebuild` this only adds what the old parser missed (recording is idempotent).
    With `rebuild` the source's spans and held prices are dropped first and re-derived, and
    published-price events that no longer hold are retracted. Returns the new runs.
    """
    adapter_for(slug)
    earlier = list(
        ScrapeRun.objects.filter(source__slug=slug, payload__isnull=False)
        .order_by("observed_at", "pk")
        .values_list("payload_id", "observed_at", "url")
    )
    replays = list(dict.fromkeys(earlier))  # each payload at each time once
    touched: set[tuple[int, str, str]] = set()
    with transaction.atomic():
        if rebuild:
            spans = PriceSpan.objects.filter(source__slug=slug)
            touched = set(spans.values_list("offering_id", "meter", "tier"))
            PendingPrice.objects.filter(source__slug=slug).delete()
            spans.delete()
        runs = []
        for payload_id, observed_at, url in replays:
            stored = Payload.objects.get(pk=payload_id)
            runs.append(
                run_source(
                    slug,
                    trigger=ScrapeRun.Trigger.INGEST,
                    url=url,
                    observed_at=observed_at,
                    body=payload_bytes(stored),
                )
            )
        if touched:
            resync_published(touched, timezone.now())
    return runs


def describe(run: ScrapeRun) -> str:
    """The one-line summary the management commands print."""
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    line = (
        f"{run.source.slug}: run {run.pk} {run.status} in {took:.1f}s: {run.quotes} quotes, "
        f"{run.spans_created} spans created, {run.spans_extended} extended, "
        f"{run.changes} price changes, {run.held} held, {run.skipped} skipped"
    )
    if run.status == ScrapeRun.Status.FAILED:
        line += f" - {run.error}"
    return line
