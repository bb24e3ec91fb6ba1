"""Fixtures for the alert tests: a real SMTP server on loopback, published price changes made
through the real recorder, and rules."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from tracker.alerts.models import Rule, Subscriber
from tracker.ingest import Quote, record
from tracker.models import LanguageModel, Offering, Source


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """What the loopback SMTP server accepted, parsed with the email package."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on loopback; Django's SMTP backend pointed at it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.ALERTS_BASE_URL = "https://tracker.example"
    yield inbox
    controller.stop()


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


Publish = Callable[..., list[int]]


@pytest.fixture
def publish(db: None) -> Publish:
    """Record prices through tracker.ingest.record, as a live scrape run would; returns the
    ids of the published changes. prices: {(provider, model id, meter): "usd per 1M"}."""
    sources: dict[str, Source] = {}

    def run(
        prices: dict[tuple[str, str, str], str],
        at: datetime,
        source: str = "live",
        complete: bool = False,
    ) -> list[int]:
        if source not in sources:
            sources[source] = Source.objects.get_or_create(
                slug=source,
                defaults={
                    "name": source,
                    "kind": Source.Kind.CURATED_MAP,
                    "interval": timedelta(hours=1),
                },
            )[0]
        quotes = [
            Quote(provider=p, provider_model_id=m, meter=meter, amount=Decimal(usd), model=m)
            for (p, m, meter), usd in prices.items()
        ]
        return record(sources[source], quotes, at, complete=complete).change_ids

    return run


def offering(provider: str, model: str) -> Offering:
    return Offering.objects.get(provider__slug=provider, provider_model_id=model)


@pytest.fixture
def make_rule(db: None) -> Callable[..., Rule]:
    """A confirmed rule for an address (created on first use)."""

    def make(address: str = "ann@example.org", **fields: Any) -> Rule:
        subscriber, _ = Subscriber.objects.get_or_create(
            email=address, defaults={"confirmed_at": timezone.now()}
        )
        if isinstance(fields.get("model"), str):
            fields["model"] = LanguageModel.objects.get(slug=fields["model"])
        fields.setdefault("confirmed_at", timezone.now())
        return Rule.objects.create(subscriber=subscriber, **fields)

    return make
