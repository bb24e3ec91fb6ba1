import hashlib
from decimal import Decimal

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from dashboard import charts, selectors
from tracker import scraping
from tracker.models import Offering, Payload, Source

METERS = ("input", "output")


def home(request: HttpRequest) -> HttpResponse:
    """Flagship models' published prices over time, and the cheapest offerings today."""
    now = timezone.now()
    # Rebuilt when a published price changes, and daily (open steps are drawn up to today).
    version = f"{selectors.data_version()}:{now:%Y-%m-%d}"
    key = "home:" + hashlib.sha256(version.encode()).hexdigest()
    context = cache.get(key)
    if context is None:
        offerings = selectors.flagship_offerings()
        history = selectors.published_history([o.pk for o in offerings], METERS)
        lines = [
            charts.PriceLine(
                name=_label(offering),
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
        context = {
            "figure": charts.price_history_figure(lines, until=now),
            "cheapest": selectors.cheapest_now(now),
            "model_count": len({o.model_id for o in offerings}),
        }
        cache.set(key, context, timeout=3600)
    return render(request, "dashboard/home.html", context)


def _label(offering: Offering) -> str:
    """The model's name, and the seller's where it is not the model's maker."""
    creator = offering.model.creator
    if creator is None or creator.pk == offering.provider_id:
        return offering.model.name
    return f"{offering.model.name} on {offering.provider.name}"


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
