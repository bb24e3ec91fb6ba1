from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet, URLField
from django.http import HttpRequest
from django.utils import timezone

from tracker import identity, models
from tracker.ingest import IngestError, confirm_pending

# A URL typed without a scheme is taken as https:// (Django 6's default; Django 5 warns).
HTTPS_URLS: dict[type[Any], dict[str, Any]] = {URLField: {"assume_scheme": "https"}}


@admin.register(models.Provider)
class ProviderAdmin(admin.ModelAdmin[models.Provider]):
    formfield_overrides = HTTPS_URLS
    list_display = ["slug", "name", "is_reseller", "auto_discovered"]
    list_filter = ["is_reseller", "auto_discovered"]
    search_fields = ["slug", "name"]


@admin.register(models.LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin[models.LanguageModel]):
    list_display = ["slug", "name", "creator", "release_date", "context_window", "auto_discovered"]
    list_filter = ["auto_discovered", "open_weights", "creator"]
    search_fields = ["slug", "name"]


@admin.register(models.ModelAlias)
class ModelAliasAdmin(admin.ModelAdmin[models.ModelAlias]):
    list_display = ["alias", "model", "auto_created", "created_at"]
    list_filter = ["auto_created"]
    search_fields = ["alias", "model__slug"]
    raw_id_fields = ["model"]

    def save_model(
        self, request: HttpRequest, obj: models.ModelAlias, form: Any, change: bool
    ) -> None:
        """A person has reviewed the alias; offerings it now names move to its model."""
        obj.auto_created = False
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            moved = identity.adopt({obj.alias: obj.model_id})
        if moved:
            self.message_user(request, f"{moved} offering(s) moved to {obj.model.slug}.")


@admin.register(models.CapabilityScore)
class CapabilityScoreAdmin(admin.ModelAdmin[models.CapabilityScore]):
    formfield_overrides = HTTPS_URLS
    list_display = ["model", "benchmark", "score", "source", "measured_on"]
    list_filter = ["benchmark", "source"]
    search_fields = ["model__slug"]


@admin.register(models.Offering)
class OfferingAdmin(admin.ModelAdmin[models.Offering]):
    list_display = ["provider", "provider_model_id", "model", "auto_discovered"]
    list_filter = ["auto_discovered", "provider"]
    search_fields = ["provider_model_id", "model__slug"]
    raw_id_fields = ["model"]


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin[models.Source]):
    formfield_overrides = HTTPS_URLS
    list_display = ["slug", "kind", "priority", "interval", "enabled", "next_due_at"]
    list_editable = ["priority", "enabled"]
    actions = ["run_now"]

    @admin.action(description="Run now (on the next scheduler tick)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[models.Source]) -> None:
        count = queryset.update(next_due_at=timezone.now())
        self.message_user(request, f"{count} source(s) will run within a minute.")


@admin.register(models.ScrapeRun)
class ScrapeRunAdmin(admin.ModelAdmin[models.ScrapeRun]):
    list_display = ["source", "trigger", "status", "started_at", "quotes", "changes", "held"]
    list_filter = ["status", "trigger", "source"]
    raw_id_fields = ["payload"]
    date_hierarchy = "started_at"


@admin.register(models.Payload)
class PayloadAdmin(admin.ModelAdmin[models.Payload]):
    list_display = ["sha256", "size_bytes", "content_type", "url", "first_fetched_at"]
    exclude = ["body"]
    readonly_fields = ["sha256", "size_bytes", "content_type", "url", "first_fetched_at"]


@admin.register(models.FxRate)
class FxRateAdmin(admin.ModelAdmin[models.FxRate]):
    list_display = ["date", "currency", "per_usd", "source"]
    list_filter = ["currency"]


@admin.register(models.PriceSpan)
class PriceSpanAdmin(admin.ModelAdmin[models.PriceSpan]):
    list_display = ["offering", "meter", "tier", "source", "usd_per_mtok", "valid_from", "valid_to"]
    list_filter = ["source", "meter"]
    search_fields = ["offering__provider_model_id", "offering__model__slug"]
    raw_id_fields = ["offering", "first_run", "last_run", "fx_rate"]


@admin.register(models.PendingPrice)
class PendingPriceAdmin(admin.ModelAdmin[models.PendingPrice]):
    list_display = ["offering", "meter", "tier", "source", "kind", "previous_usd_per_mtok",
                    "usd_per_mtok", "status", "first_observed_at"]  # fmt: skip
    list_filter = ["status", "kind", "source"]
    raw_id_fields = ["offering", "run", "fx_rate"]
    actions = ["confirm", "reject"]

    @admin.action(description="Confirm: publish the held price")
    def confirm(self, request: HttpRequest, queryset: QuerySet[models.PendingPrice]) -> None:
        for pending in queryset.filter(status=models.PendingPrice.Status.PENDING):
            try:
                result = confirm_pending(pending.pk)
            except IngestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{pending}: {result.changes} price change(s)")

    @admin.action(description="Reject: keep the current price")
    def reject(self, request: HttpRequest, queryset: QuerySet[models.PendingPrice]) -> None:
        count = queryset.filter(status=models.PendingPrice.Status.PENDING).update(
            status=models.PendingPrice.Status.REJECTED,
            resolution="rejected by an operator",
            resolved_at=timezone.now(),
        )
        self.message_user(request, f"{count} held price(s) rejected.")


@admin.register(models.PriceDisagreement)
class PriceDisagreementAdmin(admin.ModelAdmin[models.PriceDisagreement]):
    list_display = ["offering", "meter", "tier", "source", "usd_per_mtok", "published_source",
                    "published_usd_per_mtok", "difference", "opened_at", "resolved_at"]  # fmt: skip
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "source", "meter"]
    search_fields = ["offering__provider_model_id", "offering__model__slug"]
    raw_id_fields = ["offering"]


@admin.register(models.PriceChange)
class PriceChangeAdmin(admin.ModelAdmin[models.PriceChange]):
    list_display = ["offering", "meter", "tier", "kind", "old_usd_per_mtok", "new_usd_per_mtok",
                    "changed_at", "is_backfill", "retracted_at"]  # fmt: skip
    list_filter = ["kind", "is_backfill", "meter"]
    raw_id_fields = ["offering", "span", "run"]
    date_hierarchy = "changed_at"


@admin.register(models.Series)
class SeriesAdmin(admin.ModelAdmin[models.Series]):
    formfield_overrides = HTTPS_URLS
    list_display = ["slug", "title", "unit", "breakthrough_date", "licence"]


@admin.register(models.SeriesPoint)
class SeriesPointAdmin(admin.ModelAdmin[models.SeriesPoint]):
    list_display = ["series", "date", "nominal", "real", "quality"]
    list_filter = ["series", "quality"]
