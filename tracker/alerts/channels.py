"""Delivery channels: each turns notifications into one message and sends it, or raises
DeliveryError(permanent=...). Building a message is separate from sending it, for the tests."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator

from tracker.alerts import ssrf, tokens
from tracker.alerts.models import Notification, Rule, Subscriber, WebhookEndpoint


class DeliveryError(Exception):
    """A failed send. `permanent` means retrying cannot help (the endpoint is gone or unsafe)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _usd(value: Decimal | None) -> str:
    return "none" if value is None else f"${value.normalize():f}"


@dataclass(frozen=True)
class Item:
    """What one notification says, as plain values for templates and JSON."""

    notification_id: int
    rule_id: int
    title: str
    detail: str
    change: dict[str, Any]


def item(notification: Notification) -> Item:
    """Describe a notification (its change, offering, provider and model must be loaded)."""
    change = notification.change
    offering = change.offering
    return Item(
        notification_id=notification.pk,
        rule_id=notification.rule_id,
        title=f"{offering.model.name} at {offering.provider.name}",
        detail=notification.detail,
        change={
            "id": change.pk,
            "kind": change.kind,
            "model": offering.model.slug,
            "provider": offering.provider.slug,
            "offering": f"{offering.provider.slug}/{offering.provider_model_id}",
            "meter": change.meter,
            "tier": change.tier,
            "old_usd_per_mtok": None
            if change.old_usd_per_mtok is None
            else str(change.old_usd_per_mtok),
            "new_usd_per_mtok": None
            if change.new_usd_per_mtok is None
            else str(change.new_usd_per_mtok),
            "old": _usd(change.old_usd_per_mtok),
            "new": _usd(change.new_usd_per_mtok),
            "changed_at": change.changed_at.isoformat(),
            "url": tokens.absolute(f"/models/{offering.model.slug}/"),
            # The public per-model feed (dashboard/feeds.py), for readers who prefer a reader.
            "feed": tokens.absolute(f"/changes.atom?model={offering.model.slug}"),
        },
    )


def links(subscriber: Subscriber) -> dict[str, str]:
    """The manage and unsubscribe links every email carries."""
    return {
        "manage": tokens.absolute(
            reverse("alerts:manage", args=[tokens.make(tokens.MANAGE, subscriber.pk)])
        ),
        "unsubscribe": tokens.absolute(
            reverse("alerts:unsubscribe", args=[tokens.make(tokens.UNSUBSCRIBE, subscriber.pk)])
        ),
    }


def email_message(
    subscriber: Subscriber, items: list[Item], *, digest: bool, message_id: str
) -> EmailMultiAlternatives:
    """An alert (one item) or digest email with text and HTML parts and RFC 8058 headers."""
    context = {"items": items, "digest": digest, **links(subscriber)}
    if digest:
        subject = f"Daily price digest: {len(items)} change{'s' if len(items) != 1 else ''}"
    else:
        subject = Truncator(f"Price alert: {items[0].title}: {items[0].detail}").chars(150)
    message = EmailMultiAlternatives(
        subject=settings.EMAIL_SUBJECT_PREFIX + subject,
        body=render_to_string("alerts/email/alert.txt", context),
        to=[subscriber.email],
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(render_to_string("alerts/email/alert.html", context), "text/html")
    return message


def notice_email(subscriber: Subscriber, template: str, context: dict[str, Any]) -> None:
    """Send a one-off email (confirmation, manage link, endpoint disabled) now.

    Raises whatever the email backend raises (smtplib errors): the caller decides."""
    context = {**context, **links(subscriber)}
    subject = render_to_string(f"alerts/email/{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=settings.EMAIL_SUBJECT_PREFIX + subject,
        body=render_to_string(f"alerts/email/{template}.txt", context),
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string(f"alerts/email/{template}.html", context), "text/html"
    )
    message.send()


def send_email(message: EmailMultiAlternatives, backend: BaseEmailBackend) -> None:
    """Send through `backend`, opening its session if needed and leaving it open for the rest
    of the batch (the caller closes it). Raises DeliveryError."""
    try:
        backend.open()  # a no-op when the batch's session is already open
        sent = backend.send_messages([message])
    except Exception as exc:  # smtplib and socket errors: all worth a retry
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    if sent != 1:
        raise DeliveryError("the email backend did not accept the message")


def signature(secret: str, body: bytes, at: int) -> str:
    """The X-Signature header: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def webhook_body(rule: Rule, items: list[Item]) -> bytes:
    payload = {
        "delivery_id": f"ntf-{items[0].notification_id}",
        "rule": {"id": rule.pk, "target": rule.target, "condition": rule.condition},
        "title": items[0].title,
        "detail": items[0].detail,
        "change": items[0].change,
    }
    return json.dumps(payload, sort_keys=True).encode()


def send_webhook(endpoint: WebhookEndpoint, rule: Rule, entry: Item) -> None:
    """POST one notification, signed. Raises DeliveryError (permanent when the URL is unsafe
    or the endpoint disabled)."""
    if endpoint.disabled_at is not None:
        raise DeliveryError("the webhook endpoint is disabled", permanent=True)
    body = webhook_body(rule, [entry])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.TRACKER_USER_AGENT,
        "X-Signature": signature(endpoint.secret, body, int(time.time())),
        "X-Delivery-Id": f"ntf-{entry.notification_id}",
    }
    try:
        reply = ssrf.post(
            endpoint.url, body, headers, timeout=float(settings.ALERTS_WEBHOOK_TIMEOUT)
        )
    except ssrf.UnsafeURL as exc:
        raise DeliveryError(f"refused: {exc}", permanent=True) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    if 300 <= reply.status < 400:
        raise DeliveryError(f"HTTP {reply.status}: redirects are not followed")
    if not 200 <= reply.status < 300:
        raise DeliveryError(f"HTTP {reply.status}")
