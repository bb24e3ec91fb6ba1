"""The writes behind the alert pages: subscribe, confirm, unsubscribe, rate limits."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from tracker import ratelimit
from tracker.alerts import channels, tokens
from tracker.alerts.forms import SubscribeForm
from tracker.alerts.models import Rule, Subscriber

log = logging.getLogger(__name__)
HOUR = 3600


def rate_limited(request: HttpRequest, email: str) -> int | None:
    """Count a form post against its client IP and its address; the seconds to wait when
    either is over its hourly limit, else None. Addresses are hashed in the cache key."""
    ip = request.META.get("REMOTE_ADDR", "unknown")
    verdicts = [ratelimit.hit(f"alerts:ip:{ip}", settings.ALERTS_RATE_PER_IP, HOUR)]
    address = email.strip().lower()
    if address:
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        verdicts.append(
            ratelimit.hit(f"alerts:addr:{digest}", settings.ALERTS_RATE_PER_ADDRESS, HOUR)
        )
    refused = [v.retry_after for v in verdicts if not v.allowed]
    return max(refused) if refused else None


def subscribe(form: SubscribeForm) -> Rule:
    """Store the rule unconfirmed and email a confirmation link. Nothing else is ever sent
    for the rule until that link is used; unconfirmed rules expire (outbox.sweep)."""
    with transaction.atomic():
        subscriber, _ = Subscriber.objects.get_or_create(email=form.cleaned_data["email"])
        form.subscriber = subscriber
        rule = form.save()
    link = tokens.absolute(reverse("alerts:confirm", args=[tokens.make(tokens.CONFIRM, rule.pk)]))
    channels.notice_email(
        subscriber,
        "confirm",
        {
            "rule": rule,
            "describe": describe(rule),
            "confirm_url": link,
            "days": settings.ALERTS_CONFIRM_DAYS,
        },
    )
    return rule


def confirm(rule: Rule) -> None:
    """The address owner clicked: the rule goes live, the address counts as confirmed."""
    now = timezone.now()
    with transaction.atomic():
        if rule.confirmed_at is None:
            Rule.objects.filter(pk=rule.pk).update(confirmed_at=now)
        Subscriber.objects.filter(pk=rule.subscriber_id, confirmed_at__isnull=True).update(
            confirmed_at=now
        )
        Subscriber.objects.filter(pk=rule.subscriber_id).update(unsubscribed_at=None)


def send_manage_link(email: str) -> None:
    """Email a management link if the address has a confirmed subscription; silently nothing
    otherwise (the page says the same either way)."""
    subscriber = Subscriber.objects.filter(email=email, confirmed_at__isnull=False).first()
    if subscriber is not None:
        channels.notice_email(subscriber, "manage_link", {"days": settings.ALERTS_MANAGE_DAYS})


def unsubscribe(subscriber: Subscriber) -> None:
    """Stop every email to the address; rules stay (paused) so the manage page still works."""
    now = timezone.now()
    Subscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now
    )
    subscriber.rules.update(paused=True)


def describe(rule: Rule) -> str:
    """A rule in one sentence, for pages and emails."""
    target = {
        Rule.Target.OFFERING: lambda: f"{rule.offering}",
        Rule.Target.MODEL: lambda: f"{rule.model.name if rule.model else '?'} at any provider",
        Rule.Target.PROVIDER: lambda: (
            f"everything {rule.provider.name if rule.provider else '?'} sells"
        ),
        Rule.Target.CAPABILITY: lambda: f"models with {rule.benchmark} ≥ {rule.min_score}",
        Rule.Target.ALL: lambda: "every model and provider",
    }[Rule.Target(rule.target)]()
    meter = (
        f"blended {rule.blend_input}:{rule.blend_output}"
        if rule.meter == Rule.Meter.BLENDED
        else rule.get_meter_display().lower()
    )
    condition = {
        Rule.Condition.BELOW: f"{meter} price falls below ${rule.threshold_usd}",
        Rule.Condition.DROP: f"{meter} price drops by {rule.percent} % or more",
        Rule.Condition.ANY: f"{meter} price changes",
        Rule.Condition.LOW: f"{meter} price reaches a new all-time low",
        Rule.Condition.FRONTIER_DROP: f"the cheapest of them falls by {rule.percent} % or more",
        Rule.Condition.FRONTIER_BELOW: f"the cheapest of them falls below ${rule.threshold_usd}",
        Rule.Condition.CHEAPER: f"a cheaper provider appears ({meter} price)",
        Rule.Condition.DELISTED: "it disappears from a source that listed it",
    }[Rule.Condition(rule.condition)]
    return f"{target}: when {condition}"
