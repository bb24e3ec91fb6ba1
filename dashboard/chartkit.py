"""The machinery every chart page shares: the Chart value, state forms, CSV and embed variants,
figure caching and conditional responses.

A page view reads its state from GET parameters through a `ChartForm` (so every state is a
permalink and bad input is a 400 naming the parameter), builds `Chart`s from cached figures and
hands them to `render_chart_page`, which answers `?format=csv&chart=<slug>`, `/embed/...` and the
page itself. `@chart_page` wraps the view with ETags (304 on If-None-Match) and the 400s.
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import condition

from dashboard import selectors
from tracker.models import CapabilityScore, Offering, SeriesPoint

# GET parameters that pick a variant of the page rather than its state: never kept in links.
VARIANT_PARAMS = ("format", "chart")
# The toggles every chart carries; pages list them in their forms through ChartForm.
TOGGLE_PARAMS = ("scale", "events")
TEXT = "text/plain; charset=utf-8"
EVENT_NAME = "event"  # layout shapes/annotations with this name are the event annotations
FIGURE_TIMEOUT = 24 * 3600
CODE_FILES = ("dashboard/*.py", "dashboard/static/dashboard/*", "templates/dashboard/*.html")


@dataclass(frozen=True)
class Chart:
    """One chart: its figure and the same data as a table (the CSV and the JS-off view).

    `slug` is the element id of the plot and the `chart=` value of its CSV and embed links.
    """

    slug: str
    title: str
    figure: dict[str, Any]
    columns: list[str]
    rows: list[tuple[Any, ...]]
    caption: str = ""
    sources: list[str] = field(default_factory=list)
    # The rows as HTML, built once with the chart (and cached with it): a chart can have a
    # thousand rows, and a Django template loop costs a millisecond per dozen.
    table: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.table:
            object.__setattr__(self, "table", table_rows(self.columns, self.rows))

    @property
    def has_events(self) -> bool:
        """Whether the figure carries event annotations (so the page offers their toggle)."""
        layout = self.figure.get("layout", {})
        return any(
            item.get("name") == EVENT_NAME
            for item in [*layout.get("shapes", []), *layout.get("annotations", [])]
        )

    @property
    def scale_axes(self) -> list[str]:
        """The price axes ('yaxis', 'yaxis2', ...) that the log/linear toggle switches."""
        return list(self.figure.get("layout", {}).get("meta", {}).get("scale_axes", []))

    @property
    def scale(self) -> str:
        """'log' or 'linear': the type of the price axes now ('' without price axes)."""
        axes = self.scale_axes
        if not axes:
            return ""
        return str(self.figure["layout"].get(axes[0], {}).get("type", "linear"))

    @property
    def events_shown(self) -> bool:
        layout = self.figure.get("layout", {})
        items = [*layout.get("shapes", []), *layout.get("annotations", [])]
        return all(i.get("visible", True) for i in items if i.get("name") == EVENT_NAME)

    @property
    def table_html(self) -> SafeString:
        """The rows as the body of an HTML table (see `table`)."""
        return mark_safe(self.table)  # noqa: S308 (every cell was escaped by table_rows)

    @property
    def data_json_id(self) -> str:
        return f"{self.slug}-data"


def table_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """<tr> elements for `rows`, every cell formatted as in the CSV and escaped."""
    if not rows:
        return f'<tr><td colspan="{len(columns)}">No data for this choice.</td></tr>'
    cells = "</td><td>"
    return "".join(
        f"<tr><td>{cells.join(html.escape(csv_cell(value)) for value in row)}</td></tr>"
        for row in rows
    )


class StateError(ValueError):
    """A GET parameter is invalid; the message names it. Answered with a 400."""


class ChartForm(forms.Form):
    """Base of every page's state form: the log/linear and annotation toggles.

    Checkboxes are rendered after a hidden '0' of the same name, so an unchecked box still
    says 0 (QueryDict.get takes the last value).
    """

    scale = forms.ChoiceField(
        choices=[("log", "Log"), ("linear", "Linear")], required=False, label="Scale"
    )
    events = forms.ChoiceField(
        choices=[("1", "Shown"), ("0", "Hidden")], required=False, label="Events"
    )

    defaults: dict[str, Any] = {"scale": "log", "events": "1"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in self.defaults_for().items():
            if cleaned.get(name) in (None, ""):
                cleaned[name] = value
        return cleaned

    def defaults_for(self) -> dict[str, Any]:
        """Defaults per field: overridable when a default depends on the data."""
        return dict(self.defaults)


F = TypeVar("F", bound=ChartForm)


def read_state(
    request: HttpRequest, form_class: type[F], **kwargs: Any
) -> tuple[F, dict[str, Any]]:
    """Validate the page's GET parameters; returns the bound form and its cleaned values.

    Raises StateError naming the first bad parameter. Unknown parameters are ignored (links
    from elsewhere may carry tracking junk).
    """
    data = QueryDict(mutable=True)
    for name in request.GET:
        data[name] = request.GET.getlist(name)[-1]
    form = form_class(data, **kwargs)
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        label = "parameters" if name == "__all__" else name
        raise StateError(f"{label}: {' '.join(str(e) for e in errors)}")
    # Show the state in force, defaults included, in the form's controls.
    for name in form.fields:
        if not data.get(name) and form.cleaned_data.get(name) not in (None, ""):
            data[name] = display_value(form.cleaned_data[name])
    return form, form.cleaned_data


def display_value(value: Any) -> str:
    """A cleaned value as its GET parameter would spell it."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def apply_toggles(figure: dict[str, Any], *, scale: str, events: bool) -> dict[str, Any]:
    """A copy of `figure` with its price axes on `scale` and its event annotations shown or
    hidden. Cached figures are shared: never modify them in place."""
    result = dict(figure)
    layout = copy.deepcopy(figure.get("layout", {}))
    for axis in layout.get("meta", {}).get("scale_axes", []):
        layout.setdefault(axis, {})["type"] = scale
    for item in [*layout.get("shapes", []), *layout.get("annotations", [])]:
        if item.get("name") == EVENT_NAME:
            item["visible"] = events
    result["layout"] = layout
    return result


def mark_scale_axes(figure: dict[str, Any], axes: Sequence[str] = ("yaxis",)) -> dict[str, Any]:
    """Record which axes are prices, for the log/linear toggle (see Chart.scale_axes)."""
    figure.setdefault("layout", {}).setdefault("meta", {})["scale_axes"] = list(axes)
    return figure


# --- versions, caching and conditional responses ---------------------------------------------


def data_version() -> str:
    """Changes whenever anything a chart draws does: a published price (selectors'
    version), a capability score or an analogy series point (added, or changed in value), or
    an offering moved to another model (an alias added later, identity.adopt())."""
    scores, points = CapabilityScore._meta.db_table, SeriesPoint._meta.db_table
    offerings = Offering._meta.db_table
    with connection.cursor() as cursor:  # one round trip for the small tables
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {scores}), (SELECT MAX(id) FROM {scores}), "  # noqa: S608
            f"(SELECT SUM(score) FROM {scores}), (SELECT COUNT(*) FROM {points}), "
            f"(SELECT MAX(id) FROM {points}), (SELECT SUM(value) FROM {points}), "
            f"(SELECT SUM(model_id) FROM {offerings})"
        )
        counts = cursor.fetchone()
    return f"{selectors.data_version()}/{'-'.join(map(str, counts))}"


@functools.cache
def code_version() -> str:
    """A hash of the dashboard's code, templates and collected static manifest: a deploy
    changes every ETag and figure key. Computed once per process."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    files = sorted(p for pattern in CODE_FILES for p in base.glob(pattern) if p.is_file())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    for file in [*files, manifest]:
        if file.exists():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def request_version(request: HttpRequest) -> str:
    """The data version, the UTC day (open steps are drawn up to today) and the code version,
    computed once per request."""
    version: str | None = getattr(request, "_chart_version", None)
    if version is None:
        version = f"{data_version()}:{timezone.now():%Y-%m-%d}:{code_version()}"
        request._chart_version = version  # type: ignore[attr-defined]
    return version


T = TypeVar("T")
_MISSING = object()  # a cached None (e.g. "no data yet") is a hit, not a miss


def cached(request: HttpRequest, name: str, params: Iterable[Any], build: Callable[[], T]) -> T:
    """`build()`'s result, cached until the data, the day or the code changes.

    `params` must hold every value the result depends on besides the data (benchmark,
    threshold, ...): they are part of the key.
    """
    raw = "|".join([request_version(request), name, *map(str, params)])
    key = f"chart:{name}:{hashlib.sha256(raw.encode()).hexdigest()}"
    result = cache.get(key, _MISSING)
    if result is _MISSING:
        result = build()
        cache.set(key, result, timeout=FIGURE_TIMEOUT)
    return cast(T, result)


def _etag(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    raw = f"{request_version(request)}|{request.get_full_path()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


V = TypeVar("V", bound=Callable[..., HttpResponse])


def conditional(view: V) -> V:
    """ETag from the data version, the UTC day, the full path and the code version; a 304
    when the client already has it; shared caches may keep the page for a minute."""
    with_etag = condition(etag_func=_etag)(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = with_etag(request, *args, **kwargs)
        if response.status_code in (200, 304):
            response["Cache-Control"] = "public, max-age=60"
        return response

    return wrapper  # type: ignore[return-value]


def chart_page(view: V) -> V:
    """`conditional`; the rendered page cached under its ETag (the same versions and path
    give the same bytes: these pages hold nothing per visitor); and a 400 naming the
    parameter when the view raises StateError."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = f"page:{_etag(request)}"
        stored = cache.get(key)
        if stored is not None:
            return _thaw(stored)
        try:
            response = view(request, *args, **kwargs)
        except StateError as exc:
            return HttpResponseBadRequest(str(exc), content_type=TEXT)
        if response.status_code == 200 and not response.streaming:
            cache.set(key, _freeze(response), FIGURE_TIMEOUT)
        return response

    return conditional(wrapper)  # type: ignore[return-value]


def _freeze(response: HttpResponse) -> dict[str, Any]:
    return {
        "content": response.content,
        "headers": dict(response.headers.items()),
        "framable": getattr(response, "xframe_options_exempt", False),
    }


def _thaw(stored: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(stored["content"], headers=stored["headers"])
    if stored["framable"]:
        response.xframe_options_exempt = True
    return response


# --- rendering --------------------------------------------------------------------------------


def render_chart_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    charts: Sequence[Chart],
    *,
    embed: bool = False,
) -> HttpResponse:
    """The page, one chart's data as CSV (`?format=csv&chart=<slug>`, default the first), or
    the embeddable variant of one chart. Only embed responses may be framed."""
    fmt = request.GET.get("format", "")
    if fmt not in ("", "csv"):
        return HttpResponseBadRequest("format: must be csv", content_type=TEXT)
    chart = _chosen(request, charts)
    if isinstance(chart, HttpResponse):
        return chart
    if fmt == "csv":
        if chart is None:
            return HttpResponseBadRequest("chart: this page has no chart", content_type=TEXT)
        return csv_response(chart, f"{Path(template).stem}-{chart.slug}.csv")
    full = {**context, "charts": {c.slug: c for c in charts}, "chart_list": list(charts)}
    if not embed:
        return render(request, template, full)
    response = render(request, "dashboard/embed.html", {**full, "chart": chart})
    return framable(response)


def _chosen(request: HttpRequest, charts: Sequence[Chart]) -> Chart | HttpResponse | None:
    slug = request.GET.get("chart", "")
    if not slug:
        return charts[0] if charts else None
    for chart in charts:
        if chart.slug == slug:
            return chart
    names = ", ".join(c.slug for c in charts) or "none"
    return HttpResponseBadRequest(
        f"chart: no chart {slug!r} on this page (charts: {names})", content_type=TEXT
    )


def framable(response: HttpResponse) -> HttpResponse:
    """Let any site frame this response (embeds only; everything else stays DENY)."""
    response["Content-Security-Policy"] = "frame-ancestors *"
    response.xframe_options_exempt = True
    return response


def csv_response(chart: Chart, filename: str) -> HttpResponse:
    """The chart's table as a CSV attachment with a stable name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(chart.columns)
    writer.writerows([csv_cell(value) for value in row] for row in chart.rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_cell(value: Any) -> str:
    """Plain text for a CSV cell: Decimals as written, datetimes in ISO 8601 UTC."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def state_query(request: HttpRequest, **extra: str) -> str:
    """The request's state parameters (one value each, variants dropped) plus `extra`, as a
    query string for links that must keep the state."""
    params = QueryDict(mutable=True)
    for name in request.GET:
        if name not in VARIANT_PARAMS:
            params[name] = request.GET.getlist(name)[-1]
    for name, value in extra.items():
        params[name] = value
    return params.urlencode()


def page_paths(route: str, view: Callable[..., HttpResponse], name: str) -> list[URLPattern]:
    """The page at `route` and its framable twin at `embed/<route>`."""
    return [
        path(route, view, name=name),
        path(f"embed/{route}", view, {"embed": True}, name=f"{name}-embed"),
    ]
