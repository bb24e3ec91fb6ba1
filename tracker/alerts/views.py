"""Alert pages: subscribe, confirm, manage (signed link), unsubscribe (RFC 8058), rule feeds.

Views are thin: forms validate, tokens sign, tracker.alerts.services does the writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tracker.alerts import services, tokens
from tracker.alerts.forms import EmailForm, RuleForm, SubscribeForm
from tracker.alerts.models import Rule, Subscriber, WebhookEndpoint


def _message(request: HttpRequest, title: str, text: str, status: int = 200) -> HttpResponse:
    return render(request, "alerts/message.html", {"title": title, "text": text}, status=status)


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = _message(
        request,
        "Too many requests",
        f"Please wait {retry_after} seconds before trying again.",
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _address_form(
    request: HttpRequest, form: BaseForm, template: str, act: Callable[[Any], object]
) -> HttpResponse:
    """A rate-limited form about an address: on success `act(form)` runs and the answer is
    the same "check your inbox" page whether or not the address was known."""
    if request.method == "POST":
        limited = services.rate_limited(request, request.POST.get("email", ""))
        if limited is not None:
            return _too_many(request, limited)
        if form.is_valid():
            act(form)
            return render(request, "alerts/sent.html", {"email": form.cleaned_data["email"]})
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The subscribe form: a rule for an address, confirmed by email before it is used."""
    form = SubscribeForm(request.POST or None)
    return _address_form(request, form, "alerts/subscribe.html", services.subscribe)


def _token_or_404(purpose: str, token: str) -> int:
    try:
        return tokens.read(purpose, token)
    except tokens.BadToken as exc:
        raise Http404(str(exc)) from None


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); POST confirms the rule and address."""
    try:
        rule_id = tokens.read(tokens.CONFIRM, token)
        rule = Rule.objects.select_related("subscriber").get(pk=rule_id)
    except (tokens.BadToken, Rule.DoesNotExist):
        return _message(
            request,
            "Link expired",
            "This confirmation link has expired. Please subscribe again.",
            404,
        )
    if request.method == "POST":
        services.confirm(rule)
        manage = tokens.make(tokens.MANAGE, rule.subscriber_id)
        return HttpResponseRedirect(reverse("alerts:manage", args=[manage]) + "?confirmed=1")
    return render(request, "alerts/confirm.html", {"rule": rule})


@require_http_methods(["GET", "POST"])
def manage_request(request: HttpRequest) -> HttpResponse:
    """Ask for a management link by email."""
    form = EmailForm(request.POST or None)
    return _address_form(
        request,
        form,
        "alerts/manage_request.html",
        lambda f: services.send_manage_link(f.cleaned_data["email"]),
    )


def _subscriber(token: str) -> Subscriber:
    return get_object_or_404(Subscriber, pk=_token_or_404(tokens.MANAGE, token))


@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """The address's rules and webhook endpoints; POST adds a rule (the address is proven)."""
    subscriber = _subscriber(token)
    form = RuleForm(request.POST or None, subscriber=subscriber)
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        rule.confirmed_at = timezone.now()
        rule.save()
        return HttpResponseRedirect(reverse("alerts:manage", args=[token]))
    context = {
        "subscriber": subscriber,
        "token": token,
        "rules": subscriber.rules.select_related(
            "offering__provider", "model", "provider", "webhook"
        ),
        "webhooks": subscriber.webhooks.all(),
        "form": form,
        "confirmed": request.GET.get("confirmed") == "1",
    }
    return render(request, "alerts/manage.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, token: str, rule_id: int) -> HttpResponse:
    subscriber = _subscriber(token)
    rule = get_object_or_404(Rule, pk=rule_id, subscriber=subscriber)
    form = RuleForm(request.POST or None, instance=rule, subscriber=subscriber)
    if request.method == "POST" and form.is_valid():
        form.save()
        return HttpResponseRedirect(reverse("alerts:manage", args=[token]))
    context = {"form": form, "rule": rule, "token": token}
    return render(request, "alerts/rule_edit.html", context, status=400 if form.errors else 200)


@require_POST
def rule_action(request: HttpRequest, token: str, rule_id: int, action: str) -> HttpResponse:
    """Pause, resume or delete one rule."""
    subscriber = _subscriber(token)
    rule = get_object_or_404(Rule, pk=rule_id, subscriber=subscriber)
    if action == "delete":
        rule.delete()
    elif action in ("pause", "resume"):
        rule.paused = action == "pause"
        rule.save(update_fields=["paused"])
    else:
        raise Http404("unknown action")
    return HttpResponseRedirect(reverse("alerts:manage", args=[token]))


@require_POST
def webhook_enable(request: HttpRequest, token: str, endpoint_id: int) -> HttpResponse:
    """Re-enable a webhook endpoint disabled after failing for a day."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id, subscriber=_subscriber(token))
    endpoint.disabled_at = None
    endpoint.save(update_fields=["disabled_at"])
    return HttpResponseRedirect(reverse("alerts:manage", args=[token]))


@csrf_exempt  # RFC 8058: mail clients POST without our cookie; the signed token is the secret
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button; POST (a person, or a mail client's one-click) unsubscribes."""
    subscriber = get_object_or_404(Subscriber, pk=_token_or_404(tokens.UNSUBSCRIBE, token))
    if request.method == "POST":
        services.unsubscribe(subscriber)
        return _message(
            request, "Unsubscribed", f"{subscriber.email} will get no more alert emails."
        )
    return render(request, "alerts/unsubscribe.html", {"subscriber": subscriber})
