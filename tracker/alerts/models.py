"""Alert models: subscribers, their rules and webhook endpoints, and the notification outbox.

A Notification is one (rule, change) match, unique in the database: matching may run twice (the
run's hook and the sweeper) and a delivery may be retried, yet a rule never fires twice for the
same change. Every delivery attempt leaves a DeliveryAttempt row.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from tracker.models import USD_DIGITS, USD_PLACES, LanguageModel, Offering, PriceChange, Provider


def _token() -> str:
    return secrets.token_urlsafe(24)


class Subscriber(models.Model):
    """An email address; no account. Confirmed once it clicked a confirmation link."""

    email = models.EmailField(max_length=254, unique=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class WebhookEndpoint(models.Model):
    """Where a subscriber's webhook rules POST to, signed with `secret`."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, default=_token)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.url


class Rule(models.Model):
    """What to watch (target), when to tell (condition) and how (channel, delivery)."""

    class Target(models.TextChoices):
        OFFERING = "offering", "One offering (a model at one provider)"
        MODEL = "model", "A model, at any provider"
        PROVIDER = "provider", "Everything a provider sells"
        CAPABILITY = "capability", "Every model at or above a benchmark score"
        ALL = "all", "Everything"

    class Condition(models.TextChoices):
        BELOW = "below", "Price falls below a threshold"
        DROP = "drop", "Price drops by at least N %"
        ANY = "any", "Any change (increases too)"
        LOW = "low", "New all-time low"
        FRONTIER_DROP = "frontier_drop", "Capability frontier falls by at least N %"
        FRONTIER_BELOW = "frontier_below", "Capability frontier falls below a threshold"
        CHEAPER = "cheaper", "A cheaper provider appears for the model"
        DELISTED = "delisted", "The model disappears from a source"

    class Meter(models.TextChoices):
        BLENDED = "blended", "Blended input:output"
        INPUT = "input", "Input"
        OUTPUT = "output", "Output"
        ANY = "any", "Any meter"

    class Delivery(models.TextChoices):
        INSTANT = "instant", "Instantly"
        DIGEST = "digest", "In a daily digest"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        FEED = "feed", "Atom feed only"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="rules")
    target = models.CharField(max_length=12, choices=Target.choices)
    offering = models.ForeignKey(Offering, null=True, blank=True, on_delete=models.CASCADE)
    model = models.ForeignKey(LanguageModel, null=True, blank=True, on_delete=models.CASCADE)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE)
    benchmark = models.CharField(max_length=64, blank=True)
    min_score = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    condition = models.CharField(max_length=16, choices=Condition.choices)
    meter = models.CharField(max_length=8, choices=Meter.choices, default=Meter.BLENDED)
    threshold_usd = models.DecimalField(
        max_digits=USD_DIGITS, decimal_places=USD_PLACES, null=True, blank=True
    )
    percent = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    blend_input = models.PositiveSmallIntegerField(default=3)
    blend_output = models.PositiveSmallIntegerField(default=1)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.INSTANT)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    webhook = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="rules"
    )
    every_change = models.BooleanField(
        default=False, help_text="Notify on every match, not at most once per 24 hours."
    )
    paused = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    feed_token = models.CharField(max_length=64, unique=True, default=_token)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # matching: the rules aimed at everything or at a capability level (the others
            # are found through their offering, model and provider foreign-key indexes).
            models.Index(
                fields=["target"],
                condition=Q(target__in=["all", "capability"]),
                name="rule_target_broad",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(blend_input__gt=0) | Q(blend_output__gt=0), name="rule_blend_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} {self.condition} on {self.target}"


class Notification(models.Model):
    """One match of a rule by a published change: the outbox row a worker delivers."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        SENT = "sent"
        FAILED = "failed"
        SUPPRESSED = "suppressed", "Suppressed (at most one per rule per 24 h)"
        CANCELLED = "cancelled", "Cancelled (the change was retracted or the rule removed)"

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="notifications")
    change = models.ForeignKey(PriceChange, on_delete=models.CASCADE, related_name="+")
    detail = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    digest = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "change"], name="notification_once_per_change"),
        ]
        indexes = [
            # claim(): due pending rows, oldest first; sweep(): stale claims.
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.change_id} {self.status}"

    @property
    def delivery_id(self) -> str:
        """Stable across retries, so a receiver can drop a duplicate."""
        return f"ntf-{self.pk}"


class DeliveryAttempt(models.Model):
    """One try at delivering a notification, written before the send and closed after it; an
    attempt left without an outcome was cut short (the worker died)."""

    class Outcome(models.TextChoices):
        SENT = "sent"
        FAILED = "failed", "Failed, will retry"
        PERMANENT = "permanent", "Failed for good"
        ABANDONED = "abandoned", "Worker vanished mid-attempt"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=8)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome or 'in flight'}"


class MatchedChange(models.Model):
    """A PriceChange that matching has seen, so the sweeper matches only what the run's hook
    missed. `floor` rows (MatchState) keep the scan short."""

    change = models.OneToOneField(
        PriceChange, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    matched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"change {self.change_id} matched {self.matched_at:%Y-%m-%d %H:%M}"


class MatchState(models.Model):
    """One row: every PriceChange with id <= floor has been matched."""

    floor = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"matched up to change {self.floor}"
