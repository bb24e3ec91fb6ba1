"""API keys in the admin: an operator creates a key, sees it once, and can revoke or rotate it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dashboard.api.models import APIKey

SHOWN_ONCE = "Copy it now: it is not stored and cannot be shown again."


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin[APIKey]):
    list_display = ["name", "prefix", "is_active", "rate_limit_per_minute", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    fields = ["name", "contact", "rate_limit_per_minute", "is_active", "notes", *readonly_fields]
    actions = ["rotate"]

    def save_model(self, request: HttpRequest, obj: APIKey, form: Any, change: bool) -> None:
        """A new key gets its secret here, shown to the operator once."""
        key = None if change else obj.issue()
        super().save_model(request, obj, form, change)
        if key is not None:
            messages.warning(request, f"The new API key is {key} . {SHOWN_ONCE}")

    @admin.action(description="Issue a new secret (the old one stops working)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        for api_key in queryset:
            key = api_key.issue()
            api_key.save(update_fields=["prefix", "key_hash"])
            messages.warning(request, f"{api_key.name}: the new API key is {key} . {SHOWN_ONCE}")
