"""Links and hidden inputs that keep a chart page's state (see dashboard/chartkit.py)."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from dashboard import chartkit

register = template.Library()


@register.simple_tag(takes_context=True)
def chart_query(context: dict[str, Any], chart: chartkit.Chart, **extra: str) -> str:
    """The current state plus `chart=<slug>` and `extra`, as a query string (no '?')."""
    request: HttpRequest = context["request"]
    return chartkit.state_query(request, chart=chart.slug, **extra)


@register.simple_tag(takes_context=True)
def chart_embed_url(context: dict[str, Any], chart: chartkit.Chart) -> str:
    """Absolute URL of the framable variant of this chart in its current state."""
    request: HttpRequest = context["request"]
    page = request.path.removeprefix("/embed")
    return request.build_absolute_uri(
        f"/embed{page}?{chartkit.state_query(request, chart=chart.slug)}"
    )


@register.simple_tag(takes_context=True)
def state_inputs(context: dict[str, Any], shown: forms.Form | str) -> str:
    """Hidden inputs carrying every current state parameter a form does not show itself, so
    that the form submitted with JavaScript off keeps the rest of the state. `shown` is the
    form (its fields other than the chart toggles are shown) or a space-separated name list."""
    request: HttpRequest = context["request"]
    if isinstance(shown, forms.Form):
        names = {name for name in shown.fields if name not in chartkit.TOGGLE_PARAMS}
    else:
        names = set(shown.split())
    kept = [
        (name, request.GET.getlist(name)[-1])
        for name in request.GET
        if name not in names and name not in chartkit.VARIANT_PARAMS
    ]
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', kept)


@register.filter
def cell(value: Any) -> str:
    """A table cell as the CSV writes it (one formatting for both)."""
    return chartkit.csv_cell(value)


@register.simple_tag
def checked(flag: bool) -> str:
    return format_html("{}", "checked" if flag else "")


@register.filter
def pick(charts: dict[str, chartkit.Chart], slug: str) -> chartkit.Chart | None:
    """`charts|pick:"price-history"`: a chart whose slug is not a template identifier."""
    return charts.get(slug)
