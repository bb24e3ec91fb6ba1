"""The Atom feed of one rule's matches, at a secret URL (the rule's feed_token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from dashboard.feeds import change_summary
from tracker.alerts.models import Notification, Rule
from tracker.alerts.services import describe

FEED_SIZE = 100


class RuleFeed(Feed[Notification, Rule]):
    feed_type = Atom1Feed
    item_guid_is_permalink = False

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Rule:
        return get_object_or_404(Rule, feed_token=kwargs["feed_token"], confirmed_at__isnull=False)

    def title(self, obj: Rule) -> str:
        return f"Token Price Tracker alert: {describe(obj)}"

    def link(self, obj: Rule) -> str:
        return reverse("alerts:feed", args=[obj.feed_token])

    def feed_guid(self, obj: Rule) -> str:
        return f"urn:token-price-tracker:alert-rule:{obj.feed_token}"

    def items(self, obj: Rule) -> list[Notification]:
        return list(
            obj.notifications.exclude(status=Notification.Status.CANCELLED)
            .filter(change__retracted_at__isnull=True)
            .select_related("change__offering__model", "change__offering__provider")[:FEED_SIZE]
        )

    def item_title(self, item: Notification) -> str:
        return item.detail

    def item_description(self, item: Notification) -> str:
        return change_summary(item.change)

    def item_link(self, item: Notification) -> str:
        return reverse("dashboard:model", args=[item.change.offering.model.slug])

    def item_guid(self, item: Notification) -> str:
        return f"urn:token-price-tracker:alert:{item.pk}"

    def item_pubdate(self, item: Notification) -> datetime:
        return item.created_at


def rule_feed(request: HttpRequest, feed_token: str) -> HttpResponse:
    response: HttpResponse = RuleFeed()(request, feed_token=feed_token)
    return response
