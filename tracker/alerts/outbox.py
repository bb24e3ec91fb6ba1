"""The outbox: claim due notifications, deliver them, record every attempt, sweep up leftovers.

A worker claims rows atomically (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, a
conditional UPDATE elsewhere), writes a DeliveryAttempt before sending and closes it after, then
marks the row sent. A worker killed in between leaves a claimed row: the sweeper puts it back
after ALERTS_CLAIM_TIMEOUT_SECONDS and it is sent again with the same Message-ID / delivery id,
so the receiver can tell the repeat (delivery is at-least-once with a stable idempotency key).
"""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tracker.alerts import channels, matching
from tracker.alerts.models import DeliveryAttempt, Notification, Rule, Subscriber, WebhookEndpoint

log = logging.getLogger(__name__)
Status = Notification.Status
MAX_DELAY = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: base, 4x, 16x, ... capped at 6 hours."""
    seconds = settings.ALERTS_RETRY_BASE_SECONDS * 4 ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), MAX_DELAY)


def _due(now: datetime, *, digest: bool) -> QuerySet[Notification]:
    return Notification.objects.filter(
        status=Status.PENDING, digest=digest, next_attempt_at__lte=now
    )


def claim(rows: QuerySet[Notification], limit: int, now: datetime) -> tuple[str, list[int]]:
    """Claim up to `limit` of `rows` for this worker; returns (claim token, ids). Two workers
    never claim the same row."""
    token = uuid.uuid4().hex
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(
                rows.select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)[:limit]
            )
            Notification.objects.filter(pk__in=ids).update(
                status=Status.CLAIMED, claimed_at=now, claim=token
            )
        return token, ids
    candidates = list(rows.order_by("pk").values_list("pk", flat=True)[:limit])
    # Conditional UPDATE: a row another worker took meanwhile is no longer pending.
    Notification.objects.filter(pk__in=candidates, status=Status.PENDING).update(
        status=Status.CLAIMED, claimed_at=now, claim=token
    )
    return token, list(Notification.objects.filter(claim=token).values_list("pk", flat=True))


def _load(ids: list[int]) -> list[Notification]:
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related(
            "rule__subscriber", "rule__webhook", "change__offering__model",
            "change__offering__provider",
        )
        .order_by("pk")
    )  # fmt: skip


def _obsolete(n: Notification) -> str | None:
    """Why a claimed notification must not be sent any more, if it must not."""
    rule = n.rule
    if n.change.retracted_at is not None:
        return "the change was retracted"
    if rule.paused or rule.confirmed_at is None or rule.subscriber.unsubscribed_at is not None:
        return "the rule is paused or unsubscribed"
    return None


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Claim and send one batch of due instant notifications (one SMTP session); returns how
    many were claimed. Safe to run in parallel with itself."""
    now = now or timezone.now()
    token, ids = claim(_due(now, digest=False), limit, now)
    if not ids:
        return 0
    mail = get_connection()  # opened on the first email, one session for the batch
    try:
        for n in _load(ids):
            reason = _obsolete(n)
            if reason is not None:
                _finish(n, token, Status.CANCELLED)
                continue
            _deliver_one(n, token, mail, now)
    finally:
        mail.close()
    return len(ids)


def _deliver_one(n: Notification, token: str, mail: BaseEmailBackend, now: datetime) -> None:
    attempt = DeliveryAttempt.objects.create(
        notification=n, channel=n.rule.channel, started_at=timezone.now()
    )
    try:
        entry = channels.item(n)
        if n.rule.channel == Rule.Channel.WEBHOOK:
            if n.rule.webhook is None:
                raise channels.DeliveryError("the rule has no webhook endpoint", permanent=True)
            channels.send_webhook(n.rule.webhook, n.rule, entry)
        else:
            message = channels.email_message(
                n.rule.subscriber, [entry], digest=False, message_id=_message_id(f"ntf-{n.pk}")
            )
            channels.send_email(message, mail)
    except channels.DeliveryError as exc:
        with transaction.atomic():
            _close(attempt, DeliveryAttempt.Outcome.FAILED, str(exc))
            _failed([n], token, exc, now, attempt)
        return
    with transaction.atomic():  # one commit for both: the outcome and the row's state agree
        _close(attempt, DeliveryAttempt.Outcome.SENT, "")
        _finish(n, token, Status.SENT)


def _message_id(key: str) -> str:
    """Stable per notification (or digest batch), so a resend after a crash is recognisable."""
    host = settings.ALERTS_BASE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return f"<{key}@{host or 'localhost'}>"


def _close(attempt: DeliveryAttempt, outcome: str, detail: str) -> None:
    attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail[:2000], timezone.now()
    attempt.save(update_fields=["outcome", "detail", "finished_at"])


def _finish(n: Notification, token: str, status: str) -> None:
    """Mark a claimed row done, only if this worker still holds the claim."""
    Notification.objects.filter(pk=n.pk, claim=token).update(
        status=status, sent_at=timezone.now() if status == Status.SENT else None, claim=""
    )


def _failed(
    rows: list[Notification],
    token: str,
    exc: channels.DeliveryError,
    now: datetime,
    attempt: DeliveryAttempt | None,
) -> None:
    """Schedule the next try, or give up after ALERTS_RETRY_FOR_SECONDS (or at once on a
    permanent error); giving up on a webhook disables its endpoint and emails the owner."""
    for n in rows:
        attempts = n.attempts + 1
        next_at = now + retry_delay(attempts)
        horizon = n.created_at + timedelta(seconds=settings.ALERTS_RETRY_FOR_SECONDS)
        if exc.permanent or next_at > horizon:
            Notification.objects.filter(pk=n.pk, claim=token).update(
                status=Status.FAILED, attempts=attempts, claim=""
            )
            if attempt is not None and not exc.permanent:
                _close(attempt, DeliveryAttempt.Outcome.PERMANENT, f"gave up: {exc}")
            if n.rule.channel == Rule.Channel.WEBHOOK and n.rule.webhook is not None:
                disable_endpoint(n.rule.webhook, str(exc), now)
        else:
            Notification.objects.filter(pk=n.pk, claim=token).update(
                status=Status.PENDING, attempts=attempts, next_attempt_at=next_at, claim=""
            )


def disable_endpoint(endpoint: WebhookEndpoint, error: str, now: datetime) -> None:
    """Disable a failing endpoint once and tell its owner by email."""
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
        disabled_at=now, last_error=error[:2000]
    ):
        return
    transaction.on_commit(functools.partial(_tell_owner, endpoint, error))


def _tell_owner(endpoint: WebhookEndpoint, error: str) -> None:
    try:
        channels.notice_email(
            endpoint.subscriber, "webhook_disabled", {"endpoint": endpoint, "error": error}
        )
    except Exception:  # the endpoint stays disabled; the manage page shows why
        log.exception("could not email the owner of webhook endpoint %s", endpoint.pk)


def send_digests(*, now: datetime | None = None) -> int:
    """Send each subscriber one email with every pending digest notification; returns the
    number of emails sent. A failed digest is retried on the usual schedule."""
    now = now or timezone.now()
    owners = (
        _due(now, digest=True).values_list("rule__subscriber_id", flat=True).distinct().order_by()
    )
    sent = 0
    mail = get_connection()
    try:
        for subscriber_id in list(owners):
            rows = _due(now, digest=True).filter(rule__subscriber_id=subscriber_id)
            token, ids = claim(rows, 1000, now)
            claimed = _load(ids)
            live = [n for n in claimed if _obsolete(n) is None]
            for n in claimed:
                if n not in live:
                    _finish(n, token, Status.CANCELLED)
            if live:
                subscriber = Subscriber.objects.get(pk=subscriber_id)
                sent += _send_digest(subscriber, live, token, now, mail)
    finally:
        mail.close()
    return sent


def _send_digest(
    subscriber: Subscriber,
    rows: list[Notification],
    token: str,
    now: datetime,
    mail: BaseEmailBackend,
) -> int:
    started = timezone.now()
    attempts = DeliveryAttempt.objects.bulk_create(
        [DeliveryAttempt(notification=n, channel="digest", started_at=started) for n in rows]
    )
    key = f"digest-{subscriber.pk}-{rows[0].pk}-{len(rows)}"
    message = channels.email_message(
        subscriber, [channels.item(n) for n in rows], digest=True, message_id=_message_id(key)
    )
    try:
        channels.send_email(message, mail)
    except channels.DeliveryError as exc:
        for attempt in attempts:
            _close(attempt, DeliveryAttempt.Outcome.FAILED, str(exc))
        _failed(rows, token, exc, now, None)
        return 0
    DeliveryAttempt.objects.filter(pk__in=[a.pk for a in attempts]).update(
        outcome=DeliveryAttempt.Outcome.SENT, finished_at=timezone.now()
    )
    Notification.objects.filter(pk__in=[n.pk for n in rows], claim=token).update(
        status=Status.SENT, sent_at=timezone.now(), claim=""
    )
    return 1


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic clean-up; idempotent. Re-queues stale claims (a worker died), closes their
    open attempts as abandoned, drops expired unconfirmed requests, and matches any published
    change the run's hook missed."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ALERTS_CLAIM_TIMEOUT_SECONDS)
    dead = Notification.objects.filter(status=Status.CLAIMED, claimed_at__lt=stale)
    # Before the rows go back: the open attempt of a row re-queued now is over too, however
    # recently it began (a worker claims a batch, then starts its attempts one by one), so a
    # repeat on the wire always has an abandoned attempt beside it.
    DeliveryAttempt.objects.filter(
        Q(started_at__lt=stale) | Q(notification__in=dead.values("pk")), outcome=""
    ).update(outcome=DeliveryAttempt.Outcome.ABANDONED, finished_at=now)
    requeued = dead.update(status=Status.PENDING, claim="", next_attempt_at=now)
    expired_before = now - timedelta(days=settings.ALERTS_CONFIRM_DAYS)
    expired, _ = Rule.objects.filter(
        confirmed_at__isnull=True, created_at__lt=expired_before
    ).delete()
    Subscriber.objects.filter(
        confirmed_at__isnull=True, created_at__lt=expired_before, rules__isnull=True
    ).delete()
    examined = matching.match_unmatched(now=now)
    return {"requeued": requeued, "expired": expired, "examined": examined}


def has_due(now: datetime) -> bool:
    """Are instant notifications waiting (the sweeper then enqueues delivery)?"""
    return _due(now, digest=False).exists()
