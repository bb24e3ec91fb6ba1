"""HTTP API models: API keys.

A key is shown once, when an operator creates it in the admin; only its SHA-256 is stored. Keys
are 32 random bytes, so a fast hash is enough (nothing to brute-force) and the lookup is one
indexed equality per request.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models

KEY_PREFIX = "tpt_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class APIKey(models.Model):
    """A key that lifts a client above the anonymous per-IP rate limit."""

    name = models.CharField(max_length=200, help_text="Who uses it, for what.")
    contact = models.EmailField(blank=True)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The key's first characters, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests per minute; empty for API_KEY_RATE_LIMIT_PER_MINUTE.",
    )
    is_active = models.BooleanField(default=True, help_text="Untick to revoke the key.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def issue(self) -> str:
        """Give this (unsaved or saved) key a new secret and return it; only its hash is kept,
        so the caller must show it now. The caller saves."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix = key[: len(KEY_PREFIX) + 4]
        self.key_hash = hash_key(key)
        return key
