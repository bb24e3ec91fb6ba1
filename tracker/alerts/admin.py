"""Admin: read the outbox and its attempts; subscribers and rules are the users' own."""

from django.contrib import admin

from tracker.admin import HTTPS_URLS
from tracker.alerts.models import DeliveryAttempt, Notification, Rule, Subscriber, WebhookEndpoint


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin[Subscriber]):
    list_display = ["email", "confirmed_at", "unsubscribed_at", "created_at"]
    search_fields = ["email"]


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    list_display = ["subscriber", "target", "condition", "meter", "delivery", "channel", "paused"]
    list_filter = ["target", "condition", "delivery", "channel", "paused"]
    raw_id_fields = ["subscriber", "offering", "model", "provider", "webhook"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    formfield_overrides = HTTPS_URLS
    list_display = ["url", "subscriber", "disabled_at"]
    raw_id_fields = ["subscriber"]


class AttemptInline(admin.TabularInline[DeliveryAttempt, Notification]):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ["channel", "started_at", "finished_at", "outcome", "detail"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ["id", "rule", "status", "digest", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "digest"]
    raw_id_fields = ["rule", "change"]
    inlines = [AttemptInline]
