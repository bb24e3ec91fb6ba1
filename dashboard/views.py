from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from dashboard import chartkit, charts, selectors, story
from tracker import frontier, scraping
from tracker.models import Payload, Source

METERS = ("input", "output")
FLAGSHIP_SINCE = datetime(2021, 1, 1, tzinfo=UTC)


@chartkit.chart_page
def home(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """Headline figures, the deflation frontier, the aluminium analogy, the latest price changes,
    then the flagship models' prices and today's cheapest offerings."""
    now = timezone.now()
    _, state = chartkit.read_state(request, chartkit.ChartForm)
    level = story.default_level(story.benchmark_infos(request))
    chart_list, headlines = [], []
    if level is not None:
        blend = story.Blend()
        result = story.frontier_result(
            request, {"info": level.info, "threshold": level.threshold, "blend": blend}
        )
        assert result is not None
        chart_list.append(result.chart)
        headlines = chartkit.cached(
            request,
            "headlines",
            [level],
            lambda: story.build_headlines(
                level, story.level_steps(request, level.info, level.threshold, blend), now
            ),
        )
        analogy = story.analogies_result(request, [level], ["aluminium"], blend, 40, "aluminium")
        chart_list.append(analogy.chart)
    flagship = chartkit.cached(request, "flagship", [], lambda: _flagship(now))
    chart_list.append(flagship["chart"])
    context = {
        "headlines": headlines,
        "level": level,
        "changes": story.latest_changes(now),
        "cheapest": flagship["cheapest"],
        "model_count": flagship["model_count"],
    }
    charts_now = [story.toggled(chart, state) for chart in chart_list]
    return chartkit.render_chart_page(
        request, "dashboard/home.html", context, charts_now, embed=embed
    )


def _flagship(now: datetime) -> dict[str, Any]:
    """The flagship models' published input and output prices (the ledger's offerings)."""
    offerings = selectors.flagship_offerings()
    history = selectors.published_history([o.pk for o in offerings], METERS)
    lines = [
        charts.PriceLine(
            name=frontier.offering_label(offering),
            featured=offering.model.slug in selectors.FEATURED_MODELS,
            meter=meter,
            steps=[
                (s.start, s.end, Decimal(str(s.price)))
                for s in history.get((offering.pk, meter), [])
            ],
        )
        for offering in offerings
        for meter in METERS
    ]
    figure = charts.price_history_figure(lines, until=story.today_end(now))
    figure["layout"].pop("template", None)  # ~10 KB of Plotly defaults we do not use
    chartkit.mark_scale_axes(figure, ["yaxis", "yaxis2"])
    charts.with_events(figure, charts.in_range(story.llm_events(), FLAGSHIP_SINCE, now))
    rows = [
        (line.name, line.meter, start, end, price)
        for line in lines
        for start, end, price in sorted(line.steps, key=lambda step: step[0])
    ]
    chart = chartkit.Chart(
        slug="price-history",
        title="Flagship models' list prices, input and output",
        figure=figure,
        columns=["model", "meter", "from", "to", "usd_per_mtok"],
        rows=rows,
        caption=(
            "The published list price of flagship models per million tokens, log scale; each "
            f"step is a price change. The legend holds {len({o.model_id for o in offerings})} "
            "models: click one to show or hide it."
        ),
        sources=["The bundled ledger, tracker/data/ledger.csv (each row cites its source)"],
    )
    return {
        "chart": chart,
        "cheapest": selectors.cheapest_now(now),
        "model_count": len({o.model_id for o in offerings}),
    }


def sources(request: HttpRequest) -> HttpResponse:
    """Every source with its latest run, so anyone can see how fresh and healthy the data is."""
    rows = []
    for source in Source.objects.order_by("priority", "slug"):
        last = source.runs.select_related("payload").first()
        rows.append({"source": source, "run": last})
    return render(request, "dashboard/sources.html", {"rows": rows})


def payload(request: HttpRequest, sha256: str) -> HttpResponse:
    """The raw bytes a run fetched, as inert plain text (they come from the open web)."""
    stored = get_object_or_404(Payload, sha256=sha256)
    response = HttpResponse(
        scraping.payload_bytes(stored), content_type="text/plain; charset=utf-8"
    )
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Content-Disposition"] = f'inline; filename="{sha256[:16]}.txt"'
    return response
