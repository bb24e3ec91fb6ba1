"""chartkit: CSV and embed variants, toggles, state errors, ETags and framing."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from dashboard import chartkit
from dashboard.chartkit import Chart, ChartForm
from dashboard.charts import base_layout, event_marks

pytestmark = pytest.mark.django_db


def chart(slug: str = "prices", **layout: object) -> Chart:
    figure = {"data": [{"type": "scatter", "x": [1], "y": [2]}], "layout": base_layout(**layout)}
    return Chart(
        slug,
        "Prices",
        figure,
        ["when", "usd"],
        [(datetime(2024, 1, 1, tzinfo=UTC), Decimal("2.50"))],
    )


def render(
    query: str = "", *, embed: bool = False, charts: list[Chart] | None = None
) -> HttpResponse:
    request = RequestFactory().get("/frontier/" + query)
    return chartkit.render_chart_page(
        request, "dashboard/frontier.html", {}, charts or [chart()], embed=embed
    )


def test_csv_is_an_attachment_named_after_the_page_and_chart():
    response = render("?format=csv&chart=prices")
    assert response["Content-Disposition"] == 'attachment; filename="frontier-prices.csv"'
    assert response.content.decode() == "when,usd\n2024-01-01T00:00:00Z,2.5\n"


def test_csv_without_chart_gives_the_first_chart():
    response = render("?format=csv", charts=[chart("a"), chart("b")])
    assert 'filename="frontier-a.csv"' in response["Content-Disposition"]


def test_unknown_chart_is_a_400_naming_the_parameter():
    response = render("?format=csv&chart=nope")
    assert response.status_code == 400 and response.content.startswith(b"chart:")


def test_unknown_format_is_a_400_naming_the_parameter():
    response = render("?format=xlsx")
    assert response.status_code == 400 and response.content.startswith(b"format:")


def test_embed_may_be_framed_by_anyone():
    response = render("?chart=prices", embed=True)
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    assert response.xframe_options_exempt is True


def test_pages_other_than_embeds_are_never_framed(client):
    response = client.get("/frontier/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")


def test_embed_route_is_framable(client):
    response = client.get("/embed/frontier/")
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == "frame-ancestors *"


def test_apply_toggles_switches_the_price_axes_and_hides_events_without_touching_the_cache():
    shapes, annotations = event_marks([(datetime(2024, 5, 13, tzinfo=UTC), "GPT-4o")])
    original = chart(shapes=shapes, annotations=annotations, yaxis={"type": "log"})
    toggled = chartkit.apply_toggles(original.figure, scale="linear", events=False)
    assert toggled["layout"]["yaxis"]["type"] == "linear"
    assert [s["visible"] for s in toggled["layout"]["shapes"]] == [False]
    assert original.figure["layout"]["yaxis"]["type"] == "log"
    assert "visible" not in original.figure["layout"]["shapes"][0]


def test_chart_reports_its_toggles():
    shapes, annotations = event_marks([(datetime(2024, 5, 13, tzinfo=UTC), "GPT-4o")])
    plain = Chart("p", "P", {"data": [], "layout": {}}, [], [])
    rich = chart(shapes=shapes, annotations=annotations, yaxis={"type": "log"})
    assert (plain.has_events, plain.scale_axes) == (False, [])
    assert (rich.has_events, rich.scale_axes, rich.scale) == (True, ["yaxis"], "log")


def test_read_state_names_the_bad_parameter():
    request = RequestFactory().get("/?scale=cubic")
    with pytest.raises(chartkit.StateError, match=r"^scale:"):
        chartkit.read_state(request, ChartForm)


def test_read_state_takes_the_last_value_of_a_repeated_parameter():
    request = RequestFactory().get("/?events=0&events=1")
    _, state = chartkit.read_state(request, ChartForm)
    assert state == {"scale": "log", "events": "1"}


def test_state_query_drops_the_variant_parameters():
    request = RequestFactory().get("/?benchmark=mmlu&format=csv&chart=x")
    assert chartkit.state_query(request, chart="y") == "benchmark=mmlu&chart=y"


def test_page_answers_304_to_its_own_etag(client):
    first = client.get("/frontier/")
    again = client.get("/frontier/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert first["Cache-Control"] == "public, max-age=60"


def test_etag_differs_per_full_path(client):
    assert client.get("/frontier/")["ETag"] != client.get("/frontier/?scale=linear")["ETag"]


def test_etag_changes_when_a_published_price_changes(client, make_source):
    from tests.conftest import at, quote
    from tracker.ingest import record

    before = client.get("/frontier/")["ETag"]
    record(make_source(), [quote("1")], at(0))
    assert client.get("/frontier/", HTTP_IF_NONE_MATCH=before).status_code == 200


def test_cached_builds_once_per_data_version():
    calls = []
    request = RequestFactory().get("/")
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert chartkit.cached(request, "x", [1], build) == chartkit.cached(request, "x", [1], build)
    assert len(calls) == 1


def test_plotly_is_served_under_a_hashed_name_with_a_long_cache_life(client, settings, tmp_path):
    """As in production: collected with the manifest storage, served by WhiteNoise."""
    import re

    from django.core.management import call_command
    from django.test import Client

    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_USE_FINDERS = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    html = Client().get("/frontier/").content.decode()
    url = re.search(r'src="(/static/vendor/plotly/plotly-basic\.min\.[0-9a-f]{12}\.js)"', html)
    assert url is not None, "the bundle is referenced by its hashed name"
    response = Client().get(url[1], HTTP_ACCEPT_ENCODING="gzip")
    assert (
        "immutable" in response["Cache-Control"]
        and "max-age=315360000" in response["Cache-Control"]
    )
    assert response["Content-Encoding"] == "gzip"
