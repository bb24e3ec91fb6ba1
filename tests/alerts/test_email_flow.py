"""The email journey against a real SMTP server on loopback: subscribe, confirm by clicking,
get an alert and a digest, manage, and unsubscribe in one click. Links are followed with the
test client exactly as they appear in the parsed messages."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from tests.alerts.conftest import Inbox, body
from tests.conftest import at
from tracker.alerts import matching, outbox
from tracker.alerts.models import Rule, Subscriber

pytestmark = pytest.mark.django_db
ADDRESS = "reader@example.org"
MARKET = {("acme", "m1", "input"): "2", ("acme", "m1", "output"): "8"}
FORM = {
    "email": ADDRESS,
    "target": "model",
    "model_slug": "m1",
    "condition": "drop",
    "meter": "input",
    "percent": "10",
    "blend": "3:1",
    "delivery": "instant",
    "channel": "email",
}


def links(message) -> list[str]:
    return re.findall(r"https://tracker\.example(/\S+)", body(message))


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def post_form(client: Client, path: str, data: dict[str, str]):
    """Post a form the way a browser does: GET it first for the CSRF cookie and token."""
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, "the form carries a CSRF token"
    return client.post(path, {**data, "csrfmiddlewaretoken": token.group(1)})


def subscribe_and_confirm(client: Client, smtp: Inbox, form: dict[str, str] = FORM) -> str:
    """Returns the management path the confirmation lands on."""
    response = post_form(client, "/alerts/", form)
    assert response.status_code == 200, response.content.decode()[:2000]
    confirm = next(p for p in links(smtp.to(ADDRESS)[-1]) if "/confirm/" in p)
    response = post_form(client, confirm, {})
    assert response.status_code == 302
    return response["Location"].split("?")[0]


def test_the_form_refuses_a_post_without_the_csrf_token(client, publish):
    assert client.post("/alerts/", FORM).status_code == 403


def test_confirmation_email_is_the_only_mail_before_the_click(client, smtp, publish):
    publish(MARKET, at(0))
    post_form(client, "/alerts/", FORM)
    matching.match(publish({("acme", "m1", "input"): "1"}, at(1)))
    outbox.deliver_due()
    [message] = smtp.to(ADDRESS)
    assert "Confirm your price alert" in message["Subject"]
    assert any("/alerts/confirm/" in p for p in links(message))
    assert message.get_body(preferencelist=("html",)) is not None


def test_confirming_by_get_only_shows_a_button(client, smtp, publish):
    publish(MARKET, at(0))
    post_form(client, "/alerts/", FORM)
    confirm = next(p for p in links(smtp.to(ADDRESS)[0]) if "/confirm/" in p)
    assert b"<button" in client.get(confirm).content
    assert Rule.objects.get().confirmed_at is None


def test_alert_email_after_confirming(client, smtp, publish):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp)
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    assert outbox.deliver_due() == 1
    alert = smtp.to(ADDRESS)[-1]
    assert "input price dropped 25.0 %" in alert["Subject"]
    assert "m1 at acme: input price dropped 25.0 %: $2 → $1.5" in body(alert)
    assert "$1.5" in body(alert, "html")
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<https://tracker\.example/alerts/unsubscribe/\S+/>", alert["List-Unsubscribe"].strip()
    )
    assert (
        alert["Message-ID"] == f"<ntf-{Rule.objects.get().notifications.get().pk}@tracker.example>"
    )


def test_the_manage_link_in_an_alert_lists_the_rules(client, smtp, publish, make_rule):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp)
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    outbox.deliver_due()
    manage = next(p for p in links(smtp.to(ADDRESS)[-1]) if "/manage/" in p)
    page = Client().get(manage).content.decode()
    assert "m1 at any provider: when input price drops by 10.00 % or more" in page


def test_one_click_unsubscribe_posts_without_a_csrf_token(client, smtp, publish):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp)
    matching.match(publish({("acme", "m1", "input"): "1.5"}, at(1)))
    outbox.deliver_due()
    url = smtp.to(ADDRESS)[-1]["List-Unsubscribe"].strip().strip("<>")
    mail_client = Client(enforce_csrf_checks=True)
    assert mail_client.get(path_of(url)).status_code == 200
    assert Subscriber.objects.get().unsubscribed_at is None  # a GET never unsubscribes
    response = mail_client.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at is not None
    matching.match(publish({("acme", "m1", "input"): "1"}, at(2)))
    assert outbox.deliver_due() == 0


def test_daily_digest_collects_every_match_in_one_email(client, smtp, publish):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp, {**FORM, "delivery": "digest"})
    for day, price in [(1, "1.5"), (1.5, "1.2")]:
        matching.match(publish({("acme", "m1", "input"): price}, at(day)))
    assert outbox.deliver_due() == 0  # digests wait for the daily run
    assert outbox.send_digests() == 1
    digest = smtp.to(ADDRESS)[-1]
    assert "Daily price digest: 2 changes" in digest["Subject"]
    text = body(digest)
    assert "$2 → $1.5" in text and "$1.5 → $1.2" in text
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert outbox.send_digests() == 0


def test_the_answer_never_reveals_a_known_address(client, smtp, publish):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp)
    known = post_form(Client(enforce_csrf_checks=True), "/alerts/", FORM)
    unknown = post_form(
        Client(enforce_csrf_checks=True), "/alerts/", {**FORM, "email": "new@example.org"}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.content.decode().replace(ADDRESS, "X") == unknown.content.decode().replace(
        "new@example.org", "X"
    )


def test_a_manage_link_request_answers_the_same_for_any_address(client, smtp, publish):
    publish(MARKET, at(0))
    subscribe_and_confirm(client, smtp)
    before = len(smtp.messages)
    known = post_form(Client(enforce_csrf_checks=True), "/alerts/manage/", {"email": ADDRESS})
    unknown = post_form(
        Client(enforce_csrf_checks=True), "/alerts/manage/", {"email": "no@example.org"}
    )
    assert known.content.decode().replace(ADDRESS, "X") == unknown.content.decode().replace(
        "no@example.org", "X"
    )
    assert len(smtp.messages) == before + 1
    assert any("/alerts/manage/" in p for p in links(smtp.messages[-1]))


def test_unconfirmed_requests_expire(client, smtp, publish, settings):
    publish(MARKET, at(0))
    post_form(client, "/alerts/", FORM)
    confirm = next(p for p in links(smtp.to(ADDRESS)[0]) if "/confirm/" in p)
    outbox.sweep(now=timezone.now() + timedelta(days=settings.ALERTS_CONFIRM_DAYS, seconds=1))
    assert not Rule.objects.exists()
    assert client.get(confirm).status_code == 404


def test_manage_page_pauses_edits_and_deletes_a_rule(client, smtp, publish):
    publish(MARKET, at(0))
    manage = subscribe_and_confirm(client, smtp)
    rule = Rule.objects.get()
    post_form(client, manage, {})  # a blank add-rule form is refused, not a 500
    response = post_form(client, f"{manage}rules/{rule.pk}/", {**FORM, "percent": "30"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert str(rule.percent) == "30.00"
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(manage).content.decode()
    )
    client.post(f"{manage}rules/{rule.pk}/pause/", {"csrfmiddlewaretoken": token.group(1)})
    rule.refresh_from_db()
    assert rule.paused
    client.post(f"{manage}rules/{rule.pk}/delete/", {"csrfmiddlewaretoken": token.group(1)})
    assert not Rule.objects.exists()


def test_an_expired_manage_link_is_refused(client, smtp, publish, settings, monkeypatch):
    publish(MARKET, at(0))
    manage = subscribe_and_confirm(client, smtp)
    from django.core import signing

    real = signing.TimestampSigner.unsign
    monkeypatch.setattr(
        signing.TimestampSigner,
        "unsign",
        lambda self, value, max_age=None: real(self, value, max_age=-1 if max_age else None),
    )
    assert client.get(manage).status_code == 404
