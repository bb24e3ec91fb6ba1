"""Signed, expiring tokens in email links (django.core.signing, keyed by SECRET_KEY).

Each purpose has its own salt, so a confirmation token cannot be replayed as a management token.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

CONFIRM, MANAGE, UNSUBSCRIBE = "confirm", "manage", "unsubscribe"
# An unsubscribe link must keep working long after the email was sent.
UNSUBSCRIBE_DAYS = 365


class BadToken(ValueError):
    """The link is malformed, tampered with or expired; the message says which."""


def make(purpose: str, value: int) -> str:
    return signing.dumps(value, salt=f"alerts.{purpose}", compress=False)


def _max_age_days(purpose: str) -> int:
    return {
        CONFIRM: settings.ALERTS_CONFIRM_DAYS,
        MANAGE: settings.ALERTS_MANAGE_DAYS,
        UNSUBSCRIBE: UNSUBSCRIBE_DAYS,
    }[purpose]


def read(purpose: str, token: str) -> int:
    """The id signed into `token`. Raises BadToken."""
    try:
        value = signing.loads(
            token, salt=f"alerts.{purpose}", max_age=_max_age_days(purpose) * 86400
        )
    except signing.SignatureExpired:
        raise BadToken("This link has expired.") from None
    except signing.BadSignature:
        raise BadToken("This link is not valid (it may have been cut short).") from None
    if not isinstance(value, int):
        raise BadToken("This link is not valid.")
    return value


def absolute(path: str) -> str:
    """An absolute URL for an email, from the configured base URL."""
    return settings.ALERTS_BASE_URL + path
