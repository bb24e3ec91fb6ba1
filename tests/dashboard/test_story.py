"""The story pages (home, frontier, capability, analogies) from recorded data."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from dashboard import events, story
from tests.conftest import at
from tracker.ingest import Quote, record
from tracker.models import CapabilityScore, LanguageModel, Series, SeriesPoint, Source

pytestmark = pytest.mark.django_db


def quotes(model: str, name: str, day: float, inp: str, out: str) -> list[Quote]:
    return [
        Quote("acme", model, "input", Decimal(inp), model_name=name, valid_from=at(day)),
        Quote("acme", model, "output", Decimal(out), model_name=name, valid_from=at(day)),
    ]


@pytest.fixture
def recorded(make_source):
    """Two models above MMLU 80 and one below; the cheap one arrives on day 100."""
    ledger = make_source("ledger", priority=30, kind=Source.Kind.LEDGER)
    record(
        ledger,
        [
            *quotes("big", "Big", 0, "30", "60"),
            *quotes("small", "Small", 50, "0.1", "0.2"),
            *quotes("cheap", "Cheap", 100, "1", "3"),
        ],
        at(200),
    )
    for slug, score in (("big", "86.4"), ("cheap", "88"), ("small", "40")):
        CapabilityScore.objects.create(
            model=LanguageModel.objects.get(slug=slug), benchmark="mmlu",
            score=Decimal(score), source="test",
        )  # fmt: skip
    aluminium = Series.objects.create(
        slug="aluminium", title="Aluminium", unit="USD/kg", source="test",
        breakthrough_date=date(1886, 1, 1), breakthrough_event="Hall-Heroult",
    )  # fmt: skip
    for year, value in ((1888, 10), (1890, 5), (1900, 1), (1950, "0.1")):
        SeriesPoint.objects.create(
            series=aluminium, date=date(year, 7, 1), value=Decimal(value), real=Decimal(value)
        )


def rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_frontier_csv_is_the_cheapest_qualifying_price_over_time(client, recorded):
    response = client.get("/frontier/?benchmark=mmlu&threshold=80&format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="frontier-frontier.csv"'
    assert [(r["from"][:10], r["usd_per_mtok"], r["cheapest"]) for r in rows(response)] == [
        ("2025-01-01", "37.5", "Big"),
        ("2025-04-11", "1.5", "Cheap"),
    ]


def test_frontier_page_states_the_fit_and_the_level(client, recorded):
    html = client.get("/frontier/?benchmark=mmlu&threshold=80").content.decode()
    assert "MMLU (5-shot, %) \N{GREATER-THAN OR EQUAL TO} 80" in html
    assert "cheaper per year" in html and "the price halves every" in html
    assert 'id="frontier-data"' in html


def test_frontier_names_the_model_whose_score_is_the_level(client, recorded):
    html = client.get("/frontier/?benchmark=mmlu&threshold=86.4").content.decode()
    assert "Big's own score" in html


def test_frontier_defaults_to_mmlu_at_its_named_level(client, recorded):
    html = client.get("/frontier/").content.decode()
    assert 'value="86.4"' in html and '<option value="mmlu" selected>' in html


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("benchmark=nope", "benchmark"), ("threshold=abc", "threshold"), ("blend=3-1", "blend"),
     ("scale=cubic", "scale"), ("events=maybe", "events")],
)  # fmt: skip
def test_frontier_bad_parameter_is_a_400_naming_it(client, recorded, query, parameter):
    response = client.get(f"/frontier/?{query}")
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{parameter}:")


def test_frontier_linear_scale_and_hidden_events_are_in_the_figure(client, recorded):
    response = client.get("/frontier/?benchmark=mmlu&threshold=80&scale=linear&events=0")
    figure = response.context["charts"]["frontier"].figure
    assert figure["layout"]["yaxis"]["type"] == "linear"
    assert all(not s["visible"] for s in figure["layout"]["shapes"])


def test_capability_scatter_at_a_date_marks_the_pareto_frontier(client, recorded):
    response = client.get("/capability/?benchmark=mmlu&date=2025-03-01&format=csv")
    assert [(r["model"], r["on_pareto_frontier"]) for r in rows(response)] == [
        ("Small", "True"),
        ("Big", "True"),
    ]


def test_capability_takes_the_days_the_slider_submits_without_javascript(client, recorded):
    days = (date(2025, 3, 1) - date(1970, 1, 1)).days
    response = client.get(f"/capability/?benchmark=mmlu&date={days}")
    assert "1 March 2025" in response.content.decode()


def test_capability_refuses_a_future_date(client, recorded):
    response = client.get("/capability/?date=2999-01-01")
    assert response.status_code == 400 and response.content.startswith(b"date:")


def test_analogies_aligns_llm_levels_with_aluminium(client, recorded):
    response = client.get("/analogies/?levels=mmlu:80&series=aluminium&format=csv")
    names = {r["series"] for r in rows(response)}
    assert names == {"LLM tokens at MMLU (5-shot, %) \N{GREATER-THAN OR EQUAL TO} 80", "Aluminium"}
    first = next(r for r in rows(response) if r["series"] == "Aluminium")
    assert first["relative_price"] == "1.0"  # every series starts at 1


def test_analogies_rates_table_has_a_fit_per_series(client, recorded):
    response = client.get("/analogies/?levels=mmlu:80&series=aluminium&format=csv&chart=rates")
    assert [r["series"][:3] for r in rows(response)] == ["LLM", "Alu"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("levels=nope:1", "levels"), ("levels=mmlu:x", "levels"), ("series=gold", "series"),
     ("years=1", "years")],
)  # fmt: skip
def test_analogies_bad_parameter_is_a_400_naming_it(client, recorded, query, parameter):
    response = client.get(f"/analogies/?{query}")
    assert response.status_code == 400 and response.content.decode().startswith(parameter)


def test_home_headlines_define_their_level(client, recorded):
    response = client.get("/")
    headlines = response.context["headlines"]
    assert headlines and all("Level: MMLU" in h.level for h in headlines)
    assert set(response.context["charts"]) == {"frontier", "aluminium", "price-history"}


def test_home_lists_the_latest_price_changes(client, recorded):
    html = client.get("/").content.decode()
    assert "Latest price changes" in html and 'href="/changes/"' in html


def test_every_page_has_an_embed(client, recorded):
    for path in ("/embed/", "/embed/frontier/", "/embed/capability/", "/embed/analogies/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == "frame-ancestors *"


def test_every_bundled_event_cites_a_source():
    bundled = events.read()
    assert all(e.source and e.source_url.startswith("https://") for e in bundled)
    assert any(e.when.year == 1886 and e.scope == "aluminium" for e in bundled)


def test_bad_events_file_names_the_line(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(",".join(events.HEADER) + "\n2024-01-01,llm,rumour,X,https://x,y\n")
    with pytest.raises(events.EventsFileError, match="line 2"):
        events.read(path)


def test_parse_levels_defaults_to_each_benchmarks_level():
    from tracker.frontier import BenchmarkInfo

    info = BenchmarkInfo("mmlu", "MMLU", 3, Decimal(40), Decimal(90), Decimal("86.4"))
    assert [str(level) for level in story.parse_levels("", [info])] == ["mmlu:86.4"]
    assert [str(level) for level in story.parse_levels("mmlu:70", [info])] == ["mmlu:70"]


def test_a_new_price_reaches_the_cached_page(client, recorded):
    first = rows(client.get("/frontier/?benchmark=mmlu&threshold=80&format=csv"))
    record(Source.objects.get(slug="ledger"), quotes("cheap", "Cheap", 150, "0.5", "1"), at(200))
    again = rows(client.get("/frontier/?benchmark=mmlu&threshold=80&format=csv"))
    assert len(again) == len(first) + 1 and again[-1]["usd_per_mtok"] == "0.625"


def test_an_embed_served_from_the_page_cache_stays_framable(client, recorded):
    client.get("/embed/frontier/")
    again = client.get("/embed/frontier/")
    assert "X-Frame-Options" not in again
    assert again["Content-Security-Policy"] == "frame-ancestors *"
