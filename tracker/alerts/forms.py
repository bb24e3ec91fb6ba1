"""Forms: a rule (what, when, how), the subscribe form (a rule plus an address) and the
manage-link request. Every field says clearly what is wrong with it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tracker.alerts import ssrf
from tracker.alerts.models import Rule, Subscriber, WebhookEndpoint
from tracker.frontier import Blend
from tracker.models import CapabilityScore, LanguageModel, Offering, Provider

C = Rule.Condition
NEEDS_THRESHOLD = (C.BELOW, C.FRONTIER_BELOW)
NEEDS_PERCENT = (C.DROP, C.FRONTIER_DROP)
MAX_USD = Decimal("1000000")


class RuleForm(forms.ModelForm[Rule]):
    """A rule. Targets are named by slug as they appear on the site; the offering as
    provider/provider-model-id."""

    offering_ref = forms.CharField(
        label="Offering", required=False, max_length=330,
        help_text="provider/model-id as shown on the model page, e.g. openai/gpt-4o",
    )  # fmt: skip
    model_slug = forms.SlugField(label="Model", required=False, max_length=128)
    provider_slug = forms.SlugField(label="Provider", required=False, max_length=64)
    blend = forms.CharField(
        initial="3:1", max_length=11, help_text="input:output token weights for blended prices"
    )
    webhook_url = forms.URLField(
        label="Webhook URL", required=False, max_length=500, assume_scheme="https"
    )

    field_order = [
        "target", "offering_ref", "model_slug", "provider_slug", "benchmark", "min_score",
        "condition", "meter", "threshold_usd", "percent", "blend", "delivery", "channel",
        "webhook_url", "every_change",
    ]  # fmt: skip

    class Meta:
        model = Rule
        fields = [
            "target", "benchmark", "min_score", "condition", "meter", "threshold_usd", "percent",
            "delivery", "channel", "every_change",
        ]  # fmt: skip
        labels = {
            "threshold_usd": "Threshold (USD per 1M tokens)",
            "percent": "Drop of at least (%)",
            "min_score": "Minimum score",
            "every_change": "Tell me about every match (no 24-hour quiet period)",
        }

    def __init__(self, *args: Any, subscriber: Subscriber | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriber = subscriber
        rule: Rule = self.instance
        if rule.pk:
            self.initial["blend"] = f"{rule.blend_input}:{rule.blend_output}"
            self.initial["model_slug"] = rule.model.slug if rule.model else ""
            self.initial["provider_slug"] = rule.provider.slug if rule.provider else ""
            if rule.offering:
                self.initial["offering_ref"] = str(rule.offering)
            if rule.webhook:
                self.initial["webhook_url"] = rule.webhook.url

    def clean_threshold_usd(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("threshold_usd")
        if value is not None and not Decimal(0) < value < MAX_USD:
            raise ValidationError("The threshold must be a positive price in USD per 1M tokens.")
        return value

    def clean_percent(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("percent")
        if value is not None and not Decimal(0) < value <= Decimal(100):
            raise ValidationError("The drop must be a percentage above 0 and at most 100.")
        return value

    def clean_blend(self) -> str:
        try:
            self.blend_weights = Blend.parse(self.cleaned_data["blend"])
        except ValueError as exc:
            raise ValidationError(f"{str(exc).capitalize()}.") from None
        return str(self.blend_weights)

    def clean_webhook_url(self) -> str:
        url = str(self.cleaned_data.get("webhook_url") or "")
        if url:
            try:
                ssrf.check_url(url)
            except ssrf.UnsafeURL as exc:
                raise ValidationError(f"This webhook URL cannot be used: {exc}.") from None
        return url

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        self._clean_target(data)
        self._clean_condition(data)
        if data.get("channel") == Rule.Channel.WEBHOOK and not data.get("webhook_url"):
            self.add_error("webhook_url", "A webhook rule needs the URL to POST to.")
        return data

    def _clean_target(self, data: dict[str, Any]) -> None:
        """Resolve the target's slug fields to rows, each missing one an error on its field."""
        target = data.get("target")
        self.resolved: dict[str, Any] = {"offering": None, "model": None, "provider": None}
        if target == Rule.Target.OFFERING:
            ref = str(data.get("offering_ref") or "")
            provider, _, pmid = ref.partition("/")
            found = Offering.objects.filter(provider__slug=provider, provider_model_id=pmid).first()
            if found is None:
                self.add_error("offering_ref", f"No offering {ref!r}; use provider/model-id.")
            self.resolved["offering"] = found
        elif target in (Rule.Target.MODEL,):
            self.resolved["model"] = self._lookup(LanguageModel, "model_slug", data)
        elif target == Rule.Target.PROVIDER:
            self.resolved["provider"] = self._lookup(Provider, "provider_slug", data)
        elif target == Rule.Target.CAPABILITY:
            if not CapabilityScore.objects.filter(benchmark=data.get("benchmark", "")).exists():
                self.add_error("benchmark", "Name a benchmark we have scores for.")
            if data.get("min_score") is None:
                self.add_error("min_score", "A capability level needs a minimum score.")

    def _lookup(self, model: Any, field: str, data: dict[str, Any]) -> Any:
        slug = data.get(field) or ""
        found = model.objects.filter(slug=slug).first()
        if found is None:
            self.add_error(field, f"No {model._meta.verbose_name} with the slug {slug!r}.")
        return found

    def _clean_condition(self, data: dict[str, Any]) -> None:
        condition, target, meter = data.get("condition"), data.get("target"), data.get("meter")
        if condition in NEEDS_THRESHOLD and data.get("threshold_usd") is None:
            self.add_error("threshold_usd", "This condition needs a threshold price.")
        if condition in NEEDS_PERCENT and data.get("percent") is None:
            self.add_error("percent", "This condition needs a percentage.")
        if condition in (C.FRONTIER_DROP, C.FRONTIER_BELOW) and target != Rule.Target.CAPABILITY:
            self.add_error("condition", "Frontier conditions need a capability-level target.")
        if condition == C.CHEAPER and target != Rule.Target.MODEL:
            self.add_error("condition", "'A cheaper provider appears' needs a model target.")
        if condition == C.LOW and meter not in (Rule.Meter.INPUT, Rule.Meter.OUTPUT):
            self.add_error("meter", "An all-time low is tracked per meter: choose input or output.")
        if meter == Rule.Meter.ANY and condition not in (C.ANY, C.DELISTED):
            self.add_error("meter", "'Any meter' only fits 'any change' or 'disappears'.")

    def save(self, commit: bool = True) -> Rule:
        rule: Rule = super().save(commit=False)
        if self.subscriber is not None:
            rule.subscriber = self.subscriber
        rule.offering = self.resolved["offering"]
        rule.model = self.resolved["model"]
        rule.provider = self.resolved["provider"]
        if rule.target != Rule.Target.CAPABILITY:
            rule.benchmark, rule.min_score = "", None
        rule.blend_input, rule.blend_output = self.blend_weights.input, self.blend_weights.output
        url = self.cleaned_data.get("webhook_url")
        if rule.channel == Rule.Channel.WEBHOOK and url:
            rule.webhook, _ = WebhookEndpoint.objects.get_or_create(
                subscriber=rule.subscriber, url=url, disabled_at=None
            )
        if commit:
            rule.save()
        return rule


class SubscribeForm(RuleForm):
    """A rule for an address; no account. The address is confirmed by email before use."""

    email = forms.EmailField(max_length=254, help_text="We send a confirmation link first.")

    field_order = ["email", *RuleForm.field_order]

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class EmailForm(forms.Form):
    """Ask for a fresh management link."""

    email = forms.EmailField(max_length=254)

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()
