"""The Atom feed of published price changes, for any filter of the changes page.

`/changes.atom?model=<slug>` and `?provider=<slug>` are the public per-model and per-provider
feeds that the model and provider pages link (and that alert emails point readers to). Entry
ids are URNs of the change's id: stable across hosts, schemes and page layouts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html

from dashboard import explore
from dashboard.templatetags.explore_tags import ratio_pct
from dashboard.templatetags.prices import usd
from tracker.models import PriceChange

FEED_SIZE = 50
ENTRY_ID = "urn:token-price-tracker:price-change:{}"
FILTERS = ("provider", "model", "meter", "kind", "direction", "since", "until", "live")


def change_summary(change: PriceChange) -> str:
    """One line for people: what changed, where, by how much."""
    offering = change.offering
    what = f"{offering.model.name} at {offering.provider.name}, {change.get_meter_display()}"
    if change.tier:
        what += f" ({change.tier})"
    if change.kind == PriceChange.Kind.LISTED:
        return f"{what}: listed at {usd(change.new_usd_per_mtok)}"
    if change.kind == PriceChange.Kind.DELISTED:
        return f"{what}: no longer listed (was {usd(change.old_usd_per_mtok)})"
    pct = f" ({ratio_pct(change.ratio)})" if change.ratio is not None else ""
    return f"{what}: {usd(change.old_usd_per_mtok)} → {usd(change.new_usd_per_mtok)}{pct}"


class ChangesFeed(Feed):
    feed_type = Atom1Feed
    item_guid_is_permalink = False
    author_name = "Token Price Tracker"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        state: dict[str, Any] = kwargs["state"]
        return state

    def title(self, obj: dict[str, Any]) -> str:
        described = ", ".join(f"{name} {obj[name]}" for name in FILTERS if obj.get(name))
        return "Token Price Tracker: price changes" + (f" ({described})" if described else "")

    def subtitle(self, obj: dict[str, Any]) -> str:
        return "Published LLM API token prices, USD per 1M tokens, newest change first."

    def link(self, obj: dict[str, Any]) -> str:
        return f"{reverse('dashboard:changes')}?{_query(obj)}".rstrip("?")

    def feed_url(self, obj: dict[str, Any]) -> str:
        return f"{reverse('dashboard:changes-atom')}?{_query(obj)}".rstrip("?")

    def feed_guid(self, obj: dict[str, Any]) -> str:
        return f"urn:token-price-tracker:changes:{_query(obj)}"

    def items(self, obj: dict[str, Any]) -> list[PriceChange]:
        return list(explore.filtered_changes(obj)[:FEED_SIZE])

    def item_title(self, item: PriceChange) -> str:
        return change_summary(item)

    def item_description(self, item: PriceChange) -> str:
        run = item.run
        source = item.source.name if item.source else "unknown source"
        html = format_html(
            "<p>{}</p><p>Effective {} UTC. Published from {}.</p>",
            change_summary(item),
            f"{item.changed_at:%Y-%m-%d %H:%M}",
            source,
        )
        if run is not None:
            html += format_html(
                "<p>Recorded by run {} of {} at {} UTC{}.</p>",
                run.pk,
                run.source.name,
                f"{run.started_at:%Y-%m-%d %H:%M}",
                format_html(
                    ' from <a href="{}">the raw response</a>',
                    reverse("dashboard:payload", args=[run.payload.sha256]),
                )
                if run.payload
                else "",
            )
        if item.is_backfill:
            html += format_html("<p>{}</p>", "Learnt after the fact (history, not news).")
        return str(html)

    def item_link(self, item: PriceChange) -> str:
        slug = item.offering.model.slug
        return f"{reverse('dashboard:model', args=[slug])}#change-{item.pk}"

    def item_guid(self, item: PriceChange) -> str:
        return ENTRY_ID.format(item.pk)

    def item_pubdate(self, item: PriceChange) -> datetime:
        return item.changed_at

    def item_updateddate(self, item: PriceChange) -> datetime:
        return item.detected_at

    def item_author_name(self, item: PriceChange) -> str:
        return item.source.name if item.source else "Token Price Tracker"

    def item_categories(self, item: PriceChange) -> list[str]:
        return [item.meter, item.kind, item.offering.provider.slug, item.offering.model.slug]


def _query(state: dict[str, Any]) -> str:
    query = QueryDict(mutable=True)
    for name in FILTERS:
        if state.get(name):
            query[name] = str(state[name])
    return query.urlencode()


@explore.cached_page
def changes_atom(request: HttpRequest) -> HttpResponse:
    """The changes feed for the filters in the query string (a 400 naming a bad one)."""
    state = explore.read_changes_filters(request)
    response: HttpResponse = ChangesFeed()(request, state=state)
    return response
