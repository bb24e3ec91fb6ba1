"""The exploration pages: every model, provider and price change, side-by-side comparison with a
workload calculator, and the methodology.

Views are thin: a form reads the state from GET parameters (a 400 naming the parameter when it
is bad), a few bounded queries select the data, `explore_charts` draws it, and chartkit renders
the page, its CSV and its embed. List parameters are comma-separated (`meter=input,output`);
repeated ones, as a JS-off checkbox form submits them, are redirected to that one spelling so
that every state has one permalink.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator
from django.db.models import Count, F, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from dashboard import chartkit
from dashboard import explore_charts as ec
from dashboard.chartkit import Chart, StateError
from dashboard.charts import PriceLine
from dashboard.selectors import cheapest_now
from scrapers import ADAPTERS
from tracker import frontier, prices
from tracker.frontier import Blend
from tracker.ingest.record import DISAGREEMENT, source_ranks
from tracker.models import (
    CapabilityScore,
    LanguageModel,
    Meter,
    Offering,
    PendingPrice,
    PriceChange,
    PriceDisagreement,
    PriceSpan,
    Provider,
    Source,
)

PAGE_SIZE = 50
RECENT_CHANGES = 20  # on a model's or provider's page; the rest are one link away
COMPARE_MAX = 12
PROVIDER_CHART_MAX = 24  # offerings drawn on a provider's chart; the table lists them all
METER_LABELS = dict(Meter.choices)
LIST_PARAMS = ("meter", "source", "o")


# --- whole pages, cached ----------------------------------------------------------------------

V = TypeVar("V", bound=Callable[..., HttpResponse])
KEPT_HEADERS = ("Content-Type", "Content-Disposition", "Content-Security-Policy")


def cached_page(view: V) -> V:
    """`chartkit.chart_page` (ETags, 304s, 400s), and each 200 response kept until the data,
    the day or the code changes. A page is a pure function of those and its URL: the host is
    part of the key for the absolute embed links. On 10,000 offerings rendering the tables
    costs more than the queries, so the figure cache alone is not enough."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = "|".join(
            [chartkit.request_version(request), request.get_host(), request.get_full_path()]
        )
        key = "page:" + hashlib.sha256(raw.encode()).hexdigest()
        kept = cache.get(key)
        if kept is not None:
            content, headers, framable = kept
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            response.xframe_options_exempt = framable
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            headers = [(name, response[name]) for name in KEPT_HEADERS if name in response]
            framable = getattr(response, "xframe_options_exempt", False)
            cache.set(key, (response.content, headers, framable), chartkit.FIGURE_TIMEOUT)
        return response

    return chartkit.chart_page(wrapper)  # type: ignore[return-value]


# --- state ------------------------------------------------------------------------------------


def _canonical(request: HttpRequest) -> HttpResponse | None:
    """A redirect to the one spelling of this state when a list parameter came repeated."""
    if not any(len(request.GET.getlist(name)) > 1 for name in LIST_PARAMS):
        return None
    query = QueryDict(mutable=True)
    for name in request.GET:
        values = [v for v in request.GET.getlist(name) if v]
        query[name] = ",".join(values) if name in LIST_PARAMS else request.GET.getlist(name)[-1]
    return HttpResponseRedirect(f"{request.path}?{query.urlencode(safe=',/')}")


def _read(request: HttpRequest, form_class: type[forms.Form], **kwargs: Any) -> dict[str, Any]:
    """The cleaned state of a page without a chart; StateError names the first bad parameter."""
    form = form_class(request.GET, **kwargs)
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise StateError(f"{name}: {' '.join(str(e) for e in errors)}")
    return form.cleaned_data


class ListField(forms.CharField):
    """A comma-separated list of choices (or of anything, without choices)."""

    def __init__(self, *, choices: Iterable[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)
        self.choices = list(choices) if choices is not None else None

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        items = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
        if self.choices is not None:
            unknown = [v for v in items if v not in self.choices]
            if unknown:
                raise forms.ValidationError(
                    f"unknown value {unknown[0]!r} (choose from {', '.join(self.choices)})"
                )
        return items


def _slug_exists(model: type[Provider] | type[LanguageModel], value: str) -> str:
    if value and not model.objects.filter(slug=value).exists():
        raise forms.ValidationError(f"no {model._meta.verbose_name} {value!r}")
    return value


def _without(request: HttpRequest, *names: str) -> str:
    """The query string of this request without `names` (for links that set them anew)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _toggled(chart: Chart, state: dict[str, Any]) -> Chart:
    return dataclasses.replace(
        chart,
        figure=chartkit.apply_toggles(
            chart.figure, scale=state["scale"], events=state["events"] == "1"
        ),
    )


def _unique_labels(
    offerings: Sequence[Offering], base: Callable[[Offering], str]
) -> dict[int, str]:
    """A label per offering; two offerings with the same label get their seller's model id."""
    counts: dict[str, int] = defaultdict(int)
    for offering in offerings:
        counts[base(offering)] += 1
    return {
        o.pk: base(o) if counts[base(o)] == 1 else f"{base(o)} ({o.provider_model_id})"
        for o in offerings
    }


def _price_chart(
    slug: str, title: str, lines: list[PriceLine], columns: list[str], caption: str = ""
) -> Chart:
    """A step chart of prices (log y by default) whose table is its steps."""
    return Chart(
        slug=slug,
        title=title,
        figure=chartkit.mark_scale_axes(ec.step_figure(lines, timezone.now())),
        columns=[*columns, "from", "to", "usd_per_mtok"],
        rows=ec.step_rows(line for line in lines if line.featured),
        caption=caption,
    )


def _steps(history: dict[tuple[int, str], list[Any]], key: tuple[int, str]) -> list[ec.Step]:
    return [(s.start, s.end, Decimal(str(s.price))) for s in history.get(key, [])]


# --- what every list needs: current prices of everything, cached ---------------------------


@dataclass(frozen=True)
class Summary:
    """Facts about every model and provider that take a scan of all prices to know."""

    cheapest: dict[int, tuple[Decimal, int]]  # model_id -> (blended 3:1 now, offering_id)
    priced: dict[int, int]  # provider_id -> offerings with an input or output price now
    last_change: dict[int, datetime]  # provider_id -> its latest published change


def _summary(request: HttpRequest) -> Summary:
    return chartkit.cached(request, "explore-summary", [], _build_summary)


def _build_summary() -> Summary:
    current = prices.current_prices(timezone.now(), meters=frontier.METERS)
    owner = {pk: (model_id, provider_id) for pk, model_id, provider_id in
             Offering.objects.values_list("pk", "model_id", "provider_id")}  # fmt: skip
    cheapest: dict[int, tuple[Decimal, int]] = {}
    priced: dict[int, int] = defaultdict(int)
    blend = Blend()
    for offering_id, meters in current.items():
        model_id, provider_id = owner[offering_id]
        priced[provider_id] += 1
        inp, out = meters.get("input"), meters.get("output")
        if inp and out:  # both priced and not free
            blended = blend.price(inp, out)
            if model_id not in cheapest or (blended, offering_id) < cheapest[model_id]:
                cheapest[model_id] = (blended, offering_id)
    last_change = dict(
        PriceChange.objects.filter(retracted_at__isnull=True)
        .values("offering__provider_id")
        .annotate(last=Max("changed_at"))
        .values_list("offering__provider_id", "last")
    )
    return Summary(cheapest, dict(priced), last_change)


# --- /models/ ---------------------------------------------------------------------------------


class ModelListForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    creator = forms.CharField(required=False, max_length=64, label="Maker")
    open_weights = forms.ChoiceField(
        required=False,
        choices=[("", "Any weights"), ("yes", "Open weights"), ("no", "Closed weights")],
        label="Weights",
    )
    priced = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("yes", "Priced now")], label="Price"
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("price", "Cheapest first"), ("release", "Newest first")],
    )
    page = forms.IntegerField(required=False, min_value=1)

    def clean_creator(self) -> str:
        return _slug_exists(Provider, self.cleaned_data["creator"])


@cached_page
def models(request: HttpRequest) -> HttpResponse:
    """Every model, searchable and filterable, with its cheapest blended price today."""
    state = _read(request, ModelListForm)
    summary = _summary(request)
    ids = _model_ids(state, summary)
    page = Paginator(ids, PAGE_SIZE).get_page(state["page"])
    rows = (
        LanguageModel.objects.select_related("creator")
        .annotate(offering_count=Count("offerings"))
        .in_bulk(list(page.object_list))
    )
    cheapest_offerings = Offering.objects.select_related("provider").in_bulk(
        [summary.cheapest[pk][1] for pk in page.object_list if pk in summary.cheapest]
    )
    listed = []
    for pk in page.object_list:
        price, offering_id = summary.cheapest.get(pk, (None, None))
        listed.append(
            {"model": rows[pk], "price": price, "offering": cheapest_offerings.get(offering_id)}
        )
    context = {
        "form": ModelListForm(request.GET),
        "rows": listed,
        "page": page,
        "makers": Provider.objects.filter(models_created__isnull=False).distinct(),
        "page_query": _without(request, "page"),
    }
    return render(request, "dashboard/models.html", context)


def _model_ids(state: dict[str, Any], summary: Summary) -> list[int]:
    """The ids of the models the filters keep, in the chosen order."""
    rows = LanguageModel.objects.all()
    if state["q"]:
        q = state["q"]
        matching = LanguageModel.objects.filter(
            Q(name__icontains=q) | Q(slug__icontains=q) | Q(aliases__alias__icontains=q)
        ).values("pk")
        rows = rows.filter(pk__in=matching)
    if state["creator"]:
        rows = rows.filter(creator__slug=state["creator"])
    if state["open_weights"]:
        rows = rows.filter(open_weights=state["open_weights"] == "yes")
    sort = state["sort"] or "name"
    if sort == "release":
        rows = rows.order_by(F("release_date").desc(nulls_last=True), "name")
    else:
        rows = rows.order_by("name", "slug")
    ids = list(rows.values_list("pk", flat=True))
    if state["priced"] == "yes":
        ids = [pk for pk in ids if pk in summary.cheapest]
    if sort == "price":
        unpriced = (Decimal("Infinity"), 0)
        ids.sort(key=lambda pk: summary.cheapest.get(pk, unpriced)[0])
    return ids


# --- /models/<slug>/ --------------------------------------------------------------------------


class ModelPageForm(chartkit.ChartForm):
    meter = ListField(choices=Meter.values, label="Meters")
    tier = forms.CharField(required=False, max_length=32, label="Tier")
    view = forms.ChoiceField(required=False, choices=Meter.choices, label="Meter per source")
    source = ListField(label="Sources shown")

    def __init__(self, *args: Any, tiers: Sequence[str], sources: Sequence[str], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tiers = tiers
        source_field = self.fields["source"]
        assert isinstance(source_field, ListField)
        source_field.choices = list(sources)

    def clean_tier(self) -> str:
        tier: str = self.cleaned_data["tier"]
        if tier and tier not in self.tiers:
            names = ", ".join(t or "(base)" for t in self.tiers) or "none"
            raise forms.ValidationError(f"this model has no tier {tier!r} (tiers: {names})")
        return tier

    def defaults_for(self) -> dict[str, Any]:
        return {**self.defaults, "view": "input", "tier": ""}


@cached_page
def model(request: HttpRequest, slug: str, embed: bool = False) -> HttpResponse:
    """One model: its published prices per seller and meter over time, each source's view and
    where sources disagree, its change log with provenance, scores, aliases, cheapest seller."""
    if redirect := _canonical(request):
        return redirect
    lm = get_object_or_404(LanguageModel.objects.select_related("creator"), slug=slug)
    offerings = list(lm.offerings.select_related("provider").order_by("provider__name", "pk"))
    ids = [o.pk for o in offerings]
    keys = set(
        PriceSpan.objects.filter(offering_id__in=ids)
        .order_by()
        .values_list("meter", "tier", "source_id")
        .distinct()
    )
    sources = Source.objects.in_bulk({source_id for _, _, source_id in keys})
    _, state = chartkit.read_state(
        request,
        ModelPageForm,
        tiers=sorted({tier for _, tier, _ in keys}),
        sources=sorted(s.slug for s in sources.values()),
    )
    state["meter"] = state["meter"] or ["input", "output"]
    labels = _unique_labels(offerings, lambda o: o.provider.name)
    params = [lm.pk, ",".join(state["meter"]), state["tier"]]
    charts = [
        chartkit.cached(
            request, "model-prices", params, lambda: _model_chart(lm, ids, labels, state)
        ),
        chartkit.cached(
            request,
            "model-sources",
            [*params, state["view"], ",".join(state["source"])],
            lambda: _sources_chart(lm, ids, labels, sources, state),
        ),
    ]
    charts = [_toggled(chart, state) for chart in charts]
    now = timezone.now()
    context = {
        "model": lm,
        "state": state,
        "meters_present": [(m, METER_LABELS[m]) for m in Meter.values if m in {k[0] for k in keys}],
        "tiers": sorted({tier for _, tier, _ in keys}),
        "sources": sorted(sources.values(), key=lambda s: (s.priority, s.slug)),
        "offers": _offers(offerings, labels, now),
        "views": _source_views(ids, labels, now),
        "disagreements": _disagreements(ids, labels),
        "pending": _pending(ids, labels),
        "changes": _changes(PriceChange.objects.filter(offering_id__in=ids))[:RECENT_CHANGES],
        "scores": lm.scores.order_by("benchmark", "source"),
        "aliases": lm.aliases.order_by("alias"),
        "feed_query": f"model={lm.slug}",
        "suspicious_factor": settings.TRACKER_SUSPICIOUS_FACTOR,
    }
    return chartkit.render_chart_page(request, "dashboard/model.html", context, charts, embed=embed)


def _model_chart(
    lm: LanguageModel, ids: list[int], labels: dict[int, str], state: dict[str, Any]
) -> Chart:
    """Published price per seller and meter, one step line each."""
    history = prices.published_history(ids, state["meter"], state["tier"])
    lines = [
        PriceLine(labels[oid], meter, _steps(history, (oid, meter)))
        for oid in ids
        for meter in state["meter"]
        if (oid, meter) in history
    ]
    tier = f", tier {state['tier']}" if state["tier"] else ""
    return _price_chart(
        "prices",
        f"{lm.name}: published price per seller and meter{tier}",
        lines,
        ["seller", "meter"],
        "The published price is the most authoritative source's at each moment "
        "(see the methodology). Each step is a price change; line style marks the meter.",
    )


def _sources_chart(
    lm: LanguageModel,
    ids: list[int],
    labels: dict[int, str],
    sources: dict[int, Source],
    state: dict[str, Any],
) -> Chart:
    """What each source says, unmerged: one line per source and seller for one meter. Sources
    not chosen wait in the legend (and stay out of the table)."""
    chosen = set(state["source"]) or {s.slug for s in sources.values()}
    steps: dict[tuple[int, int], list[ec.Step]] = defaultdict(list)
    rows = PriceSpan.objects.filter(
        offering_id__in=ids, meter=state["view"], tier=state["tier"]
    ).values_list("source_id", "offering_id", "valid_from", "valid_to", "usd_per_mtok")
    for source_id, offering_id, start, end, usd in rows:
        steps[(source_id, offering_id)].append((start, end, usd))
    ordered = sorted(steps, key=lambda k: (sources[k[0]].priority, sources[k[0]].slug, k[1]))
    lines = [
        PriceLine(sources[sid].name, labels[oid], steps[(sid, oid)], sources[sid].slug in chosen)
        for sid, oid in ordered
    ]
    return _price_chart(
        "sources",
        f"{lm.name}: {METER_LABELS[state['view']].lower()} price as each source states it",
        lines,
        ["source", "seller"],
        "Each source's own spans, before the published price is chosen among them. "
        "Click a source in the legend to show or hide it.",
    )


@dataclass(frozen=True)
class Offer:
    offering: Offering
    label: str
    prices: dict[str, Decimal]
    blended: Decimal | None


def _offers(offerings: Sequence[Offering], labels: dict[int, str], now: datetime) -> list[Offer]:
    """Each seller's published base prices now, cheapest 3:1 blend first (unpriced last)."""
    current = prices.current_prices(now, offering_ids=[o.pk for o in offerings])
    blend = Blend()
    offers = []
    for o in offerings:
        p = current.get(o.pk, {})
        inp, out = p.get("input"), p.get("output")
        offers.append(Offer(o, labels[o.pk], p, blend.price(inp, out) if inp and out else None))
    return sorted(offers, key=lambda x: (x.blended is None, x.blended or 0, x.label))


def _source_views(ids: list[int], labels: dict[int, str], now: datetime) -> list[dict[str, Any]]:
    """Every source's price in force now for each (offering, meter, tier), the published one
    marked, with the run that last saw it."""
    ranks = source_ranks()
    spans = list(
        PriceSpan.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=now),
            offering_id__in=ids,
            valid_from__lte=now,
        ).select_related("source", "last_run__payload", "fx_rate")
    )
    best: dict[tuple[int, str, str], tuple[int, str]] = {}
    for span in spans:
        key = (span.offering_id, span.meter, span.tier)
        best[key] = min(best.get(key, ranks[span.source_id]), ranks[span.source_id])
    spans.sort(
        key=lambda s: (labels[s.offering_id], Meter.values.index(s.meter), s.tier,
                       ranks[s.source_id])
    )  # fmt: skip
    return [
        {
            "span": s,
            "label": labels[s.offering_id],
            "published": best[(s.offering_id, s.meter, s.tier)] == ranks[s.source_id],
        }
        for s in spans
    ]


def _disagreements(ids: list[int], labels: dict[int, str]) -> list[dict[str, Any]]:
    """Open disagreements first, then the latest resolved ones."""
    rows = PriceDisagreement.objects.filter(offering_id__in=ids).select_related(
        "source", "published_source"
    )
    open_rows = list(rows.filter(resolved_at__isnull=True).order_by("meter", "-opened_at"))
    resolved = list(rows.filter(resolved_at__isnull=False).order_by("-resolved_at")[:20])
    return [{"row": r, "label": labels[r.offering_id]} for r in [*open_rows, *resolved]]


def _pending(ids: list[int], labels: dict[int, str]) -> list[dict[str, Any]]:
    rows = PendingPrice.objects.filter(
        offering_id__in=ids, status=PendingPrice.Status.PENDING
    ).select_related("source", "run")
    return [{"row": r, "label": labels[r.offering_id]} for r in rows]


def _changes(rows: QuerySet[PriceChange]) -> QuerySet[PriceChange]:
    """Changes with everything their provenance line shows, in one query, newest first."""
    return rows.select_related(
        "offering__provider", "offering__model", "source", "run__source", "run__payload"
    ).order_by("-changed_at", "-id")


# --- /providers/ ------------------------------------------------------------------------------


class ProviderListForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    page = forms.IntegerField(required=False, min_value=1)


@cached_page
def providers(request: HttpRequest) -> HttpResponse:
    """Every provider: offerings, how many are priced now, models made, latest change."""
    state = _read(request, ProviderListForm)
    rows = Provider.objects.order_by("name", "slug")
    if state["q"]:
        rows = rows.filter(Q(name__icontains=state["q"]) | Q(slug__icontains=state["q"]))
    page = Paginator(rows, PAGE_SIZE).get_page(state["page"])
    page_ids = [p.pk for p in page.object_list]
    offered = dict(
        Offering.objects.filter(provider_id__in=page_ids)
        .values("provider_id")
        .annotate(n=Count("pk"))
        .values_list("provider_id", "n")
    )
    made = dict(
        LanguageModel.objects.filter(creator_id__in=page_ids)
        .values("creator_id")
        .annotate(n=Count("pk"))
        .values_list("creator_id", "n")
    )
    summary = _summary(request)
    listed = [
        {
            "provider": p,
            "offerings": offered.get(p.pk, 0),
            "priced": summary.priced.get(p.pk, 0),
            "models": made.get(p.pk, 0),
            "last_change": summary.last_change.get(p.pk),
        }
        for p in page.object_list
    ]
    context = {
        "form": ProviderListForm(request.GET),
        "rows": listed,
        "page": page,
        "page_query": _without(request, "page"),
    }
    return render(request, "dashboard/providers.html", context)


class ProviderPageForm(chartkit.ChartForm):
    metric = forms.ChoiceField(
        required=False,
        choices=[("blend", "Blended 3:1"), ("input", "Input"), ("output", "Output")],
        label="Price",
    )
    page = forms.IntegerField(required=False, min_value=1)

    defaults = {**chartkit.ChartForm.defaults, "metric": "blend"}


@cached_page
def provider(request: HttpRequest, slug: str, embed: bool = False) -> HttpResponse:
    """One provider: its offerings with today's prices, a chart of their history, its changes."""
    seller = get_object_or_404(Provider, slug=slug)
    _, state = chartkit.read_state(request, ProviderPageForm)
    offerings = list(
        seller.offerings.select_related("model", "provider").order_by("model__name", "pk")
    )
    labels = _unique_labels(offerings, lambda o: o.model.name)
    now = timezone.now()
    current = prices.current_prices(now, offering_ids=labels)
    chart = chartkit.cached(
        request,
        "provider-prices",
        [seller.pk, state["metric"]],
        lambda: _provider_chart(seller, offerings, labels, current, state["metric"]),
    )
    page = Paginator(offerings, PAGE_SIZE * 2).get_page(state["page"])
    blend = Blend()
    rows = []
    for o in page.object_list:
        p = current.get(o.pk, {})
        inp, out = p.get("input"), p.get("output")
        rows.append(
            {
                "offering": o,
                "label": labels[o.pk],
                "prices": p,
                "blended": blend.price(inp, out) if inp and out else None,
            }
        )
    context = {
        "provider": seller,
        "state": state,
        "rows": rows,
        "page": page,
        "priced": len(current),
        "changes": _changes(PriceChange.objects.filter(offering__provider=seller))[:RECENT_CHANGES],
        "made": seller.models_created.order_by("name")[:200],
        "feed_query": f"provider={seller.slug}",
        "compare_query": "o=" + ",".join(str(pk) for pk in _drawn(offerings, current)[:6]),
        "page_query": _without(request, "page"),
    }
    charts = [_toggled(chart, state)]
    return chartkit.render_chart_page(
        request, "dashboard/provider.html", context, charts, embed=embed
    )


def _drawn(offerings: Sequence[Offering], current: dict[int, dict[str, Decimal]]) -> list[int]:
    """The offerings a provider's chart draws: priced now, newest models first."""
    priced = [o for o in offerings if o.pk in current]
    priced.sort(key=lambda o: (o.model.release_date or date.min, o.model.name), reverse=True)
    return [o.pk for o in priced[:PROVIDER_CHART_MAX]]


def _provider_chart(
    seller: Provider,
    offerings: Sequence[Offering],
    labels: dict[int, str],
    current: dict[int, dict[str, Decimal]],
    metric: str,
) -> Chart:
    ids = _drawn(offerings, current)
    history = _metric_history(ids, metric, Blend())
    lines = [PriceLine(labels[oid], _metric_label(metric), history[oid]) for oid in ids
             if history.get(oid)]  # fmt: skip
    more = len([o for o in offerings if o.pk in current]) - len(ids)
    return _price_chart(
        "prices",
        f"{seller.name}: {_metric_label(metric)} price of its offerings",
        lines,
        ["offering", "metric"],
        f"The {len(ids)} newest models it prices today; {more} more are in the table."
        if more > 0
        else "Every offering it prices today.",
    )


def _metric_label(metric: str, blend: Blend | None = None) -> str:
    if metric == "blend":
        return f"blended {blend or Blend()}"
    return METER_LABELS[metric].lower()


def _metric_history(ids: Sequence[int], metric: str, blend: Blend) -> dict[int, list[ec.Step]]:
    """offering_id -> the published steps of one meter, or of the input:output blend."""
    if metric == "blend":
        return frontier.blended_history(ids, blend)
    history = prices.published_history(ids, [metric])
    return {oid: _steps(history, (oid, metric)) for oid in ids if (oid, metric) in history}


# --- /compare/ --------------------------------------------------------------------------------


class CompareForm(chartkit.ChartForm):
    o = forms.CharField(required=False, max_length=2000, label="Offerings")
    metric = forms.ChoiceField(
        required=False, choices=[("blend", "Blended"), *Meter.choices], label="Price"
    )
    blend = forms.CharField(required=False, max_length=9, label="Blend (input:output)")
    tokens = forms.IntegerField(
        required=False, min_value=1, max_value=10**15, label="Tokens per month"
    )
    input = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=4)
    cached = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=4)
    output = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=4)
    reasoning = forms.DecimalField(required=False, min_value=0, max_value=100, decimal_places=4)
    batch = forms.ChoiceField(required=False, choices=[("0", "Off"), ("1", "On")])
    q = forms.CharField(required=False, max_length=100, label="Find an offering")

    defaults = {
        **chartkit.ChartForm.defaults,
        "metric": "blend",
        "blend": "3:1",
        "tokens": 100_000_000,
        "input": Decimal(60),
        "cached": Decimal(15),
        "output": Decimal(20),
        "reasoning": Decimal(5),
        "batch": "0",
    }

    def clean_blend(self) -> str:
        text: str = self.cleaned_data["blend"] or "3:1"
        try:
            return str(Blend.parse(text))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_o(self) -> list[Offering]:
        return resolve_offerings(self.cleaned_data["o"] or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if all(cleaned.get(kind) == 0 for kind in ec.SHARES):
            raise forms.ValidationError("the token shares cannot all be zero")
        return cleaned


def resolve_offerings(text: str) -> list[Offering]:
    """Offerings named by id ('12') or by seller and seller's id ('openai/gpt-4o'), comma-
    separated, in the order given. Raises ValidationError naming the first unknown one."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if len(names) > COMPARE_MAX:
        raise forms.ValidationError(f"at most {COMPARE_MAX} offerings, got {len(names)}")
    # An id no database can hold is simply not found (SQLite would overflow on it).
    wanted = Q(pk__in=[int(n) for n in names if n.isdigit() and int(n) < 2**63])
    for name in names:
        if not name.isdigit() and "/" in name:
            seller, _, model_id = name.partition("/")
            wanted |= Q(provider__slug=seller, provider_model_id=model_id)
    found = Offering.objects.filter(wanted).select_related("provider", "model") if names else []
    by_name = {}
    for o in found:
        by_name[str(o.pk)] = o
        by_name[f"{o.provider.slug}/{o.provider_model_id}"] = o
    missing = [n for n in names if n not in by_name]
    if missing:
        raise forms.ValidationError(
            f"no offering {missing[0]!r} (give an id or seller/model-id such as openai/gpt-4o)"
        )
    return list(dict.fromkeys(by_name[n] for n in names))


@cached_page
def compare(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """Offerings side by side: a price chart, and what a monthly token mix costs on each."""
    if redirect := _canonical(request):
        return redirect
    form, state = chartkit.read_state(request, CompareForm)
    offerings: list[Offering] = state["o"]
    mix = _mix(state)
    result = None
    if offerings:
        labels = _unique_labels(offerings, frontier.offering_label)
        ids = [o.pk for o in offerings]
        key = [ids, state["metric"], state["blend"], mix]
        result = chartkit.cached(request, "compare", key, lambda: _compare(ids, labels, state, mix))
    charts = [_toggled(c, state) for c in (result.charts if result else [])]
    context = {
        "form": form,
        "state": state,
        "result": result,
        "offerings": _selected(request, offerings),
        "mix": mix,
        "shares_total": sum(state[kind] for kind in ec.SHARES),
        "matches": _matches(request, state["q"], offerings),
        "suggested": "" if offerings else chartkit.cached(request, "suggested", [], _suggested),
        "meter_choices": [("blend", "Blended"), *Meter.choices],
    }
    return chartkit.render_chart_page(
        request, "dashboard/compare.html", context, charts, embed=embed
    )


def _mix(state: dict[str, Any]) -> ec.Mix:
    """The workload from the form: shares are weights, normalised to fractions."""
    total = sum(state[kind] for kind in ec.SHARES)
    return ec.Mix(
        tokens=state["tokens"],
        batch=state["batch"] == "1",
        **{kind: state[kind] / total for kind in ec.SHARES},
    )


@dataclass(frozen=True)
class Compared:
    """One offering's line in the comparison: its price and its workload's cost today (None
    where not priced now), and how the workload was priced."""

    label: str
    price: Decimal | None
    monthly: Decimal | None
    notes: list[str]


@dataclass(frozen=True)
class Comparison:
    charts: list[Chart]
    rows: list[Compared]


def _compare(
    ids: list[int], labels: dict[int, str], state: dict[str, Any], mix: ec.Mix
) -> Comparison:
    now = timezone.now()
    blend = Blend.parse(state["blend"])
    metric = state["metric"]
    history = _metric_history(ids, metric, blend)
    lines = [PriceLine(labels[oid], _metric_label(metric, blend), history.get(oid, []))
             for oid in ids]  # fmt: skip
    price_chart = _price_chart(
        "prices",
        f"Published {_metric_label(metric, blend)} price",
        lines,
        ["offering", "metric"],
        "A blend is drawn only where both prices are published and neither is free."
        if metric == "blend"
        else "",
    )
    meter_history = prices.published_history(ids, mix.meters())
    workloads = {
        labels[oid]: ec.workload_cost(
            {m: _steps(meter_history, (oid, m)) for m in mix.meters()}, mix
        )
        for oid in ids
    }
    work_chart = Chart(
        slug="workload",
        title=f"What {mix.tokens:,} tokens a month cost",
        figure=chartkit.mark_scale_axes(
            ec.step_figure(
                [PriceLine(name, "", w.steps) for name, w in workloads.items()],
                now,
                y_title="USD per month",
                hover_unit="per month",
            )
        ),
        columns=["offering", "from", "to", "usd_per_month"],
        rows=ec.workload_rows(workloads),
        caption=_mix_caption(mix),
    )
    rows = [
        Compared(
            labels[oid],
            ec.value_at(history.get(oid, []), now),
            ec.value_at(workloads[labels[oid]].steps, now),
            workloads[labels[oid]].notes,
        )
        for oid in ids
    ]
    return Comparison([price_chart, work_chart], rows)


def _mix_caption(mix: ec.Mix) -> str:
    shares = ", ".join(
        f"{ec.SHARE_LABELS[kind].lower()} {mix.share(kind):.0%}"
        for kind in ec.SHARES
        if mix.share(kind) > 0
    )
    batch = " at batch prices" if mix.batch else ""
    return f"Monthly cost of the token mix ({shares}){batch}, at each moment's published prices."


def _selected(request: HttpRequest, offerings: list[Offering]) -> list[dict[str, Any]]:
    """Each compared offering with a link that removes it."""
    labels = _unique_labels(offerings, frontier.offering_label)
    return [
        {
            "offering": o,
            "label": labels[o.pk],
            "remove": chartkit.state_query(
                request, o=",".join(str(x.pk) for x in offerings if x.pk != o.pk)
            ),
        }
        for o in offerings
    ]


def _matches(request: HttpRequest, q: str, chosen: list[Offering]) -> list[dict[str, Any]]:
    """Offerings matching the picker's search, each with a link that adds it."""
    if not q:
        return []
    found = (
        Offering.objects.filter(
            Q(model__name__icontains=q)
            | Q(provider_model_id__icontains=q)
            | Q(provider__name__icontains=q)
            | Q(model__slug__icontains=q)
        )
        .exclude(pk__in=[o.pk for o in chosen])
        .select_related("provider", "model")
        .order_by("model__name", "provider__name")[:20]
    )
    ids = ",".join(str(o.pk) for o in chosen)
    return [
        {
            "offering": o,
            "label": frontier.offering_label(o),
            "add": chartkit.state_query(request, o=f"{ids},{o.pk}" if ids else str(o.pk), q=""),
        }
        for o in found
    ]


def _suggested() -> str:
    """A starting comparison: the cheapest offering of the four cheapest models today."""
    return ",".join(str(p.offering.pk) for p in cheapest_now(timezone.now(), limit=4))


# --- /changes/ and /changes.atom --------------------------------------------------------------


class ChangesForm(forms.Form):
    provider = forms.CharField(required=False, max_length=64)
    model = forms.CharField(required=False, max_length=128)
    meter = forms.ChoiceField(required=False, choices=[("", "Any meter"), *Meter.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *PriceChange.Kind.choices])
    direction = forms.ChoiceField(
        required=False, choices=[("", "Either way"), ("down", "Cuts"), ("up", "Rises")]
    )
    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        # The range ends at the midnight after `until`, which must exist.
        validators=[MaxValueValidator(date.max - timedelta(days=1))],
    )
    live = forms.ChoiceField(
        required=False, choices=[("", "All"), ("1", "Seen live (not backfilled)")]
    )
    before = forms.CharField(required=False, max_length=64)

    def clean_provider(self) -> str:
        return _slug_exists(Provider, self.cleaned_data["provider"])

    def clean_model(self) -> str:
        return _slug_exists(LanguageModel, self.cleaned_data["model"])

    def clean_before(self) -> tuple[datetime, int] | None:
        """The keyset cursor: the time and id of the last change on the previous page."""
        text: str = self.cleaned_data["before"]
        if not text:
            return None
        when, _, pk = text.rpartition("~")
        try:
            at, number = datetime.fromisoformat(when), int(pk)
        except ValueError:
            number = 0
        if not 0 < number < 2**63:
            raise forms.ValidationError("not a page cursor from this site")
        return (at if at.tzinfo else at.replace(tzinfo=UTC), number)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("since must not be after until")
        return cleaned


def filtered_changes(state: dict[str, Any]) -> QuerySet[PriceChange]:
    """Published (not retracted) changes matching the filters, newest first, with what their
    provenance needs. The changes page and the Atom feed both read this."""
    rows = PriceChange.objects.filter(retracted_at__isnull=True)
    if state.get("provider"):
        rows = rows.filter(offering__provider__slug=state["provider"])
    if state.get("model"):
        rows = rows.filter(offering__model__slug=state["model"])
    if state.get("meter"):
        rows = rows.filter(meter=state["meter"])
    if state.get("kind"):
        rows = rows.filter(kind=state["kind"])
    if state.get("direction") == "down":
        rows = rows.filter(ratio__lt=1)
    elif state.get("direction") == "up":
        rows = rows.filter(ratio__gt=1)
    if state.get("since"):
        rows = rows.filter(changed_at__gte=_midnight(state["since"]))
    if state.get("until"):
        rows = rows.filter(changed_at__lt=_midnight(state["until"] + timedelta(days=1)))
    if state.get("live"):
        rows = rows.filter(is_backfill=False)
    return _changes(rows)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def read_changes_filters(request: HttpRequest) -> dict[str, Any]:
    """The changes filters of a request (page and feed alike); StateError names a bad one."""
    return _read(request, ChangesForm)


@cached_page
def changes(request: HttpRequest) -> HttpResponse:
    """Every published price change, newest first, filterable, a page at a time."""
    state = read_changes_filters(request)
    rows = filtered_changes(state)
    if state["before"]:
        at, pk = state["before"]
        rows = rows.filter(Q(changed_at__lt=at) | Q(changed_at=at, pk__lt=pk))
    page = list(rows[: PAGE_SIZE + 1])
    older = None
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        last = page[-1]
        older = chartkit.state_query(request, before=f"{last.changed_at.isoformat()}~{last.pk}")
    filters = _without(request, "before")
    context = {
        "form": ChangesForm(request.GET),
        "changes": page,
        "older": older,
        "first_page": bool(state["before"]),
        "newest_query": filters,
        "feed_query": filters,
    }
    return render(request, "dashboard/changes.html", context)


# --- /methodology/ ----------------------------------------------------------------------------


@cached_page
def methodology(request: HttpRequest) -> HttpResponse:
    """How the numbers are made, with the live facts: sources, priorities, licences,
    thresholds, benchmarks and the corrections log."""
    rows = list(Source.objects.order_by("priority", "slug"))
    sources = [
        {"source": s, "url": s.url or getattr(ADAPTERS.get(s.slug), "URL", "")} for s in rows
    ]
    corrections = _changes(PriceChange.objects.filter(retracted_at__isnull=False)).order_by(
        "-retracted_at", "-id"
    )
    score_sources: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for benchmark, source, models in (
        CapabilityScore.objects.values("benchmark", "source")
        .annotate(models=Count("model", distinct=True))
        .order_by("benchmark", "source")
        .values_list("benchmark", "source", "models")
    ):
        score_sources[benchmark].append((source, models))
    context = {
        "sources": sources,
        "price_sources": [s for s in rows if s.kind != Source.Kind.REFERENCE],
        "benchmarks": [(b, score_sources[b.slug]) for b in frontier.benchmarks()],
        "corrections": corrections[:100],
        "correction_count": corrections.count(),
        "suspicious_factor": settings.TRACKER_SUSPICIOUS_FACTOR,
        "disagreement_pct": DISAGREEMENT * 100,
        "held_now": PendingPrice.objects.filter(status=PendingPrice.Status.PENDING).count(),
        "open_disagreements": PriceDisagreement.objects.filter(resolved_at__isnull=True).count(),
    }
    return render(request, "dashboard/methodology.html", context)
