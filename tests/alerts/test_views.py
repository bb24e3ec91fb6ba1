"""The alert pages: validation messages, rate limits on the shared cache, feeds, tokens."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree  # our own feed, not untrusted input

import pytest
import redis
from django.core import mail
from django.test import Client

from tests.alerts.test_ratelimit import REDIS_URL
from tests.conftest import at
from tracker.alerts import matching, tokens
from tracker.alerts.models import Rule
from tracker.models import CapabilityScore, LanguageModel

pytestmark = pytest.mark.django_db
FORM = {
    "email": "ann@example.org", "target": "model", "model_slug": "m1", "condition": "below",
    "meter": "blended", "threshold_usd": "1", "blend": "3:1", "delivery": "instant",
    "channel": "email",
}  # fmt: skip


@pytest.fixture
def market(publish):
    publish({("acme", "m1", "input"): "2", ("acme", "m1", "output"): "8"}, at(0))
    return publish


def errors(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-address"}, "Enter a valid email address."),
        ({"model_slug": "nope"}, "No language model with the slug &#x27;nope&#x27;."),
        ({"target": "offering", "offering_ref": "acme/none"}, "No offering"),
        ({"target": "provider", "provider_slug": "zzz"}, "No provider with the slug"),
        ({"threshold_usd": ""}, "This condition needs a threshold price."),
        ({"threshold_usd": "-1"}, "The threshold must be a positive price"),
        ({"condition": "drop", "percent": "150"}, "at most 100"),
        ({"condition": "drop", "percent": ""}, "This condition needs a percentage."),
        ({"blend": "three:one"}, "Blend must look like 3:1 (input:output)"),
        ({"condition": "frontier_drop", "percent": "5"}, "Frontier conditions need a capability"),
        ({"condition": "low"}, "An all-time low is tracked per meter"),
        ({"target": "all", "condition": "cheaper"}, "needs a model target"),
        ({"target": "capability", "benchmark": "nope"}, "Name a benchmark we have scores for."),
        ({"target": "capability", "benchmark": "mmlu"}, "A capability level needs a minimum"),
        ({"channel": "webhook"}, "A webhook rule needs the URL to POST to."),
        ({"channel": "webhook", "webhook_url": "http://10.0.0.1/x"}, "not a public internet"),
        ({"condition": "sometimes"}, "Select a valid choice."),
    ],
)  # fmt: skip
def test_each_bad_field_gets_a_clear_message_and_a_400(market, change, message):
    response = Client().post("/alerts/", {**FORM, **change})
    assert response.status_code == 400
    assert message in errors(response)
    assert not Rule.objects.exists() and mail.outbox == []


def test_a_valid_capability_rule_is_accepted(market):
    CapabilityScore.objects.create(
        model=LanguageModel.objects.get(slug="m1"), benchmark="mmlu", score=Decimal(80), source="t"
    )
    data = {
        **FORM,
        "target": "capability",
        "benchmark": "mmlu",
        "min_score": "70",
        "condition": "frontier_drop",
        "percent": "10",
    }
    assert Client().post("/alerts/", data).status_code == 200
    assert Rule.objects.get().min_score == Decimal(70)


@pytest.fixture
def shared_cache(settings):
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }


def test_posts_per_address_are_limited(market, shared_cache, settings):
    settings.ALERTS_RATE_PER_ADDRESS = 2
    codes = [Client(REMOTE_ADDR=f"10.0.0.{i}").post("/alerts/", FORM).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert len(mail.outbox) == 2


def test_posts_per_ip_are_limited_whatever_the_address(market, shared_cache, settings):
    settings.ALERTS_RATE_PER_IP = 2
    client = Client(REMOTE_ADDR="10.9.9.9")
    codes = [
        client.post("/alerts/", {**FORM, "email": f"u{i}@example.org"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]
    refused = client.post("/alerts/", FORM)
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "Please wait" in refused.content.decode()


def test_manage_link_requests_are_limited_too(market, shared_cache, settings):
    settings.ALERTS_RATE_PER_ADDRESS = 1
    client = Client()
    codes = [
        client.post("/alerts/manage/", {"email": "x@example.org"}).status_code for _ in range(2)
    ]
    assert codes == [200, 429]


def test_a_tampered_token_is_a_404(market):
    token = tokens.make(tokens.MANAGE, 1)
    assert Client().get(f"/alerts/manage/{token}x/").status_code == 404
    assert Client().post(f"/alerts/unsubscribe/{token}/").status_code == 404  # wrong purpose


def test_the_manage_page_adds_a_confirmed_rule(market, make_rule):
    token = tokens.make(
        tokens.MANAGE, make_rule(target="all", condition="any", meter="any").subscriber_id
    )
    data = {k: v for k, v in FORM.items() if k != "email"}
    assert Client().post(f"/alerts/manage/{token}/", data).status_code == 302
    assert Rule.objects.filter(confirmed_at__isnull=False, condition="below").count() == 1
    assert mail.outbox == []  # the address is proven by the link: no confirmation needed


def test_the_rule_feed_lists_its_matches(market, make_rule):
    rule = make_rule(target="model", model="m1", condition="any", meter="input")
    matching.match(market({("acme", "m1", "input"): "1.5"}, at(1)))
    response = Client().get(f"/alerts/feed/{rule.feed_token}.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)  # noqa: S314
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)] == [
        "input price fell $2 → $1.5"
    ]
    assert Client().get("/alerts/feed/not-a-token.atom").status_code == 404


def test_the_subscribe_page_links_the_public_feeds(market):
    page = Client().get("/alerts/").content.decode()
    assert "/changes.atom?model=" in page and "/changes.atom?provider=" in page
