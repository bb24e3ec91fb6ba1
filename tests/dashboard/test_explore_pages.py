"""The exploration pages (models, providers, compare, changes, methodology) from recorded data:
spans, published prices, changes, holds and disagreements all made by record()."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from scrapers.base import Fetched
from tests.conftest import at
from tracker.ingest import Quote, record
from tracker.models import (
    CapabilityScore,
    LanguageModel,
    ModelAlias,
    Offering,
    PriceChange,
    Provider,
    ScrapeRun,
    Source,
)
from tracker.scraping import archive

pytestmark = pytest.mark.django_db


def q(provider, model_id, meter, price, **kw):
    return Quote(provider, model_id, meter, Decimal(price), **kw)


def run_of(source, when, body):
    """A finished run of `source` at `when` that fetched `body` (archived like a real one)."""
    payload = archive(Fetched(body=body, url=f"https://example.org/{source.slug}", fetched_at=when))
    return ScrapeRun.objects.create(
        source=source,
        trigger=ScrapeRun.Trigger.MANUAL,
        observed_at=when,
        started_at=when,
        finished_at=when,
        status=ScrapeRun.Status.SUCCEEDED,
        payload=payload,
    )


def build_dataset(make_source):
    """Acme sells Model One (its own page and a price map report it; they disagree on input),
    Bolt resells it, Acme also sells the open Model Two; a 25x input cut is held."""
    page = make_source("acme-docs", priority=10, kind=Source.Kind.PROVIDER_PAGE)
    pricemap = make_source("pricemap", priority=40)
    one = {"model_name": "Model One", "provider_name": "Acme"}
    record(
        page,
        [
            q("acme", "m1", "input", "5", **one),
            q("acme", "m1", "output", "15", **one),
            q("acme", "m1", "cache_read", "1.25", **one),
        ],
        at(0),
        run=run_of(page, at(0), b'{"v": 1}'),
    )
    record(
        page,
        [q("acme", "m1", "input", "2.5"), q("acme", "m1", "output", "10")],
        at(10),
        run=run_of(page, at(10), b'{"v": 2}'),
    )
    record(
        pricemap,
        [
            q("acme", "m1", "input", "3"),
            q("acme", "m1", "output", "10"),
            q("bolt", "m1-fast", "input", "4", model="m1", provider_name="Bolt"),
            q("bolt", "m1-fast", "output", "12", model="m1", provider_name="Bolt"),
            q("acme", "m2", "input", "0.5", model_name="Model Two", open_weights=True),
            q("acme", "m2", "output", "1.5", model_name="Model Two", open_weights=True),
        ],
        at(20),
        run=run_of(pricemap, at(20), b'{"map": 1}'),
    )
    record(
        page,
        [q("acme", "m1", "input", "0.1"), q("acme", "m1", "output", "10")],
        at(30),
        run=run_of(page, at(30), b'{"v": 3}'),
    )
    m1 = LanguageModel.objects.get(slug="m1")
    LanguageModel.objects.filter(slug="m1").update(creator=Provider.objects.get(slug="acme"))
    CapabilityScore.objects.create(
        model=m1,
        benchmark="mmlu",
        score=Decimal("80.5"),
        source="Epoch AI",
        source_url="https://epoch.ai/data/benchmarks",
    )
    ModelAlias.objects.create(alias="model-one-latest", model=m1)
    return page, pricemap


@pytest.fixture
def dataset(make_source):
    return build_dataset(make_source)


def html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def offering(provider, model_id):
    return Offering.objects.get(provider__slug=provider, provider_model_id=model_id)


def csv_rows(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- /models/ ---------------------------------------------------------------------------------


def test_models_lists_every_model_with_its_cheapest_blended_price(client, dataset):
    page = html(client, "/models/")
    assert "Model One" in page and "Model Two" in page
    # Model Two: 3:1 of 0.5 and 1.5 is 0.75; Model One's cheapest is Acme's 2.5/10 -> 4.375.
    assert "$0.75" in page and "$4.38" in page


def test_models_search_matches_names_and_aliases(client, dataset):
    assert "Model Two" not in html(client, "/models/?q=one")
    assert "Model One" in html(client, "/models/?q=model-one-latest")


def test_models_filter_on_open_weights(client, dataset):
    page = html(client, "/models/?open_weights=yes")
    assert "Model Two" in page and "Model One" not in page


def test_models_filter_on_maker(client, dataset):
    page = html(client, "/models/?creator=acme")
    assert "Model One" in page and "Model Two" not in page


def test_models_sorted_cheapest_first(client, dataset):
    page = html(client, "/models/?sort=price")
    assert page.index("Model Two") < page.index("Model One")


def test_models_unknown_maker_is_a_400_naming_it(client, dataset):
    response = client.get("/models/?creator=nobody")
    assert response.status_code == 400 and b"creator" in response.content


def test_models_bad_page_number_is_a_400(client, dataset):
    assert client.get("/models/?page=zero").status_code == 400


def test_models_paginates(client, dataset, monkeypatch):
    monkeypatch.setattr("dashboard.explore.PAGE_SIZE", 1)
    first, second = html(client, "/models/"), html(client, "/models/?page=2")
    assert "Model One" in first and "Model Two" not in first
    assert "Model Two" in second and 'rel="prev"' in second


# --- /models/<slug>/ --------------------------------------------------------------------------


def test_model_page_draws_one_step_line_per_seller_and_meter(client, dataset):
    response = client.get("/models/m1/")
    figure = response.context["charts"]["prices"].figure
    names = sorted(trace["name"] for trace in figure["data"])
    assert names == ["Acme · input", "Acme · output", "Bolt · input", "Bolt · output"]
    assert {t["line"]["shape"] for t in figure["data"]} == {"hv"}
    assert figure["layout"]["yaxis"]["type"] == "log"


def test_model_page_chart_follows_the_published_price(client, dataset):
    rows = csv_rows(client, "/models/m1/?format=csv&chart=prices&meter=input")
    acme = [r for r in rows[1:] if r[0] == "Acme"]
    # The price map's 3.00 is not published over the provider's own page; the held 0.1 is not.
    assert [r[4] for r in acme] == ["5", "2.5"]


def test_model_page_flags_the_disagreement_with_both_figures_and_sources(client, dataset):
    page = html(client, "/models/m1/")
    section = page[page.index('id="disagree-heading"') : page.index('id="sources-heading"')]
    assert "Disagreement" in section and "pricemap" in section and "acme-docs" in section
    assert "$3.00" in section and "$2.50" in section and "+20%" in section


def test_model_page_shows_the_held_price_as_awaiting_confirmation_only(client, dataset):
    page = html(client, "/models/m1/")
    held = page[page.index('id="pending-heading"') : page.index('id="history-heading"')]
    assert "not published" in held and "$0.10" in held
    cheapest = page[page.index('id="cheapest-heading"') : page.index('id="pending-heading"')]
    assert "$0.10" not in cheapest and "$2.50" in cheapest


def test_model_page_change_log_links_the_run_and_its_raw_payload(client, dataset):
    change = PriceChange.objects.get(offering=offering("acme", "m1"), meter="input", kind="changed")
    page = html(client, "/models/m1/")
    row = page[page.index(f'id="change-{change.pk}"') :].split("</tr>")[0]
    assert f"/sources/payload/{change.run.payload.sha256}/" in row
    assert f"run {change.run.pk} of acme-docs" in row and "2025-01-11" in row
    assert client.get(f"/sources/payload/{change.run.payload.sha256}/").content == b'{"v": 2}'


def test_model_page_shows_scores_aliases_and_links_its_feed(client, dataset):
    page = html(client, "/models/m1/")
    assert 'href="https://epoch.ai/data/benchmarks"' in page and "80.5" in page
    assert "model-one-latest" in page
    assert 'rel="alternate" type="application/atom+xml"' in page
    assert "/changes.atom?model=m1" in page


def test_model_page_each_source_view_marks_the_published_price(client, dataset):
    response = client.get("/models/m1/?view=input")
    page = response.content.decode()
    figure = response.context["charts"]["sources"].figure
    assert sorted(t["name"] for t in figure["data"]) == [
        "acme-docs · Acme",
        "pricemap · Acme",
        "pricemap · Bolt",
    ]
    assert "(published)" in page


def test_model_page_source_toggle_hides_a_source(client, dataset):
    response = client.get("/models/m1/?view=input&source=acme-docs")
    figure = response.context["charts"]["sources"].figure
    hidden = {t["name"] for t in figure["data"] if t["visible"] == "legendonly"}
    assert hidden == {"pricemap · Acme", "pricemap · Bolt"}
    rows = csv_rows(client, "/models/m1/?view=input&source=acme-docs&format=csv&chart=sources")
    assert {r[0] for r in rows[1:]} == {"acme-docs"}


def test_model_slugs_may_contain_dots(client, dataset):
    LanguageModel.objects.filter(slug="m2").update(slug="m-2.5")
    assert "Model Two" in html(client, "/models/m-2.5/")
    assert "/models/m-2.5/" in html(client, "/models/")


def test_model_page_of_a_model_nobody_sells_yet(client, db):
    LanguageModel.objects.create(slug="fresh", name="Fresh Model")
    page = html(client, "/models/fresh/")
    assert "No seller offers this model yet" in page and "No price changes" in page


def test_model_page_unknown_slug_is_404(client, dataset):
    assert client.get("/models/nope/").status_code == 404


def test_model_page_bad_meter_is_a_400_naming_it(client, dataset):
    response = client.get("/models/m1/?meter=input,bogus")
    assert response.status_code == 400 and b"meter" in response.content


def test_model_page_unknown_tier_is_a_400(client, dataset):
    response = client.get("/models/m1/?tier=over_200k")
    assert response.status_code == 400 and b"tier" in response.content


def test_repeated_list_parameters_redirect_to_one_permalink(client, dataset):
    response = client.get("/models/m1/?meter=input&meter=output&scale=linear")
    assert response.status_code == 302
    assert response["Location"] == "/models/m1/?meter=input,output&scale=linear"


def test_model_page_linear_scale_is_kept_in_the_url(client, dataset):
    figure = client.get("/models/m1/?scale=linear").context["charts"]["prices"].figure
    assert figure["layout"]["yaxis"]["type"] == "linear"


def test_model_embed_may_be_framed_and_the_page_may_not(client, dataset):
    embed = client.get("/embed/models/m1/?chart=sources")
    assert embed.status_code == 200 and "X-Frame-Options" not in embed
    assert client.get("/models/m1/")["X-Frame-Options"] == "DENY"


def test_model_page_answers_a_matching_etag_with_304(client, dataset):
    etag = client.get("/models/m1/")["ETag"]
    assert client.get("/models/m1/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_model_page_queries_do_not_grow_with_the_change_log(client, dataset, make_source):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get("/models/m1/")
    pricemap = Source.objects.get(slug="pricemap")
    for day, price in ((40, "4.5"), (50, "4.2"), (60, "3.9")):
        record(pricemap, [q("bolt", "m1-fast", "input", price)], at(day))
    with CaptureQueriesContext(connection) as after:
        client.get("/models/m1/")
    assert len(after) == len(before)


# --- /providers/ ------------------------------------------------------------------------------


def test_providers_lists_offerings_and_priced_counts(client, dataset):
    page = html(client, "/providers/")
    row = page[page.index("/providers/acme/") :].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in row.split('class="num">')[1:4]] == ["2", "2", "1"]


def test_provider_page_lists_its_offerings_prices_and_changes(client, dataset):
    page = html(client, "/providers/bolt/")
    assert "m1-fast" in page and "$4.00" in page and "$12" in page
    assert "/changes.atom?provider=bolt" in page and 'rel="alternate"' in page


def test_provider_page_chart_draws_its_priced_offerings(client, dataset):
    figure = client.get("/providers/acme/?metric=input").context["charts"]["prices"].figure
    assert sorted(t["name"] for t in figure["data"]) == ["Model One", "Model Two"]


def test_provider_page_unknown_slug_is_404(client, dataset):
    assert client.get("/providers/nope/").status_code == 404


def test_provider_page_bad_metric_is_a_400(client, dataset):
    response = client.get("/providers/acme/?metric=vibes")
    assert response.status_code == 400 and b"metric" in response.content


# --- /compare/ --------------------------------------------------------------------------------


def test_compare_by_id_and_by_seller_slug(client, dataset):
    bolt = offering("bolt", "m1-fast")
    response = client.get(f"/compare/?o={bolt.pk},acme/m2&metric=input")
    names = [t["name"] for t in response.context["charts"]["prices"].figure["data"]]
    assert names == ["Model One on Bolt", "Model Two"]


def test_compare_blend_uses_the_chosen_weights(client, dataset):
    rows = csv_rows(client, "/compare/?o=acme/m2&blend=1:1&format=csv&chart=prices")
    assert rows[1][1:] == ["blended 1:1", at(20).isoformat(), "", "1"]


def test_compare_workload_costs_the_mix_per_month(client, dataset):
    url = "/compare/?o=acme/m2&tokens=10000000&input=50&cached=0&output=50&reasoning=0"
    rows = csv_rows(client, url + "&format=csv&chart=workload")
    # 5M input at $0.50 + 5M output at $1.50 = $10 a month.
    assert rows[1] == ["Model Two", at(20).isoformat(), "", "10"]


def test_compare_workload_falls_back_and_says_so(client, dataset):
    url = "/compare/?o=bolt/m1-fast&tokens=1000000&input=0&cached=50&output=25&reasoning=25"
    response = client.get(url)
    page = response.content.decode()
    assert "Cached input: no cached-input price" in page and "charged at the input price" in page
    assert "Reasoning: no reasoning price" in page and "charged at the output price" in page
    rows = csv_rows(client, url + "&format=csv&chart=workload")
    # 0.5M at input 4 + 0.25M at output 12 + 0.25M reasoning at output 12 = 2 + 3 + 3.
    assert Decimal(rows[1][3]) == Decimal(8)


def test_compare_batch_without_batch_prices_says_it_used_the_ordinary_ones(client, dataset):
    page = html(client, "/compare/?o=acme/m2&batch=1")
    assert "no batch input price" in page and "charged at the input price" in page


def test_compare_uses_a_cached_input_price_where_there_is_one(client, dataset):
    url = "/compare/?o=acme/m1&tokens=1000000&input=0&cached=100&output=0&reasoning=0"
    rows = csv_rows(client, url + "&format=csv&chart=workload")
    assert [r[3] for r in rows[1:]] == ["1.25"]
    assert "no cached-input price" not in html(client, url)


def test_compare_shares_are_proportions(client, dataset):
    a = csv_rows(
        client,
        "/compare/?o=acme/m2&input=1&cached=0&output=1&reasoning=0&format=csv&chart=workload",
    )
    b = csv_rows(
        client,
        "/compare/?o=acme/m2&input=50&cached=0&output=50&reasoning=0&format=csv&chart=workload",
    )
    assert a == b


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("o=acme/nothing", b"o:"),
        ("o=" + ",".join(str(i) for i in range(1, 14)), b"at most 12"),
        ("o=acme/m2&blend=3-1", b"blend"),
        ("o=acme/m2&tokens=-5", b"tokens"),
        ("o=acme/m2&input=0&cached=0&output=0&reasoning=0", b"cannot all be zero"),
        ("o=acme/m2&metric=vibes", b"metric"),
        ("o=acme/m2&input=150", b"input"),
        ("o=99999999999999999999999", b"o:"),
    ],
)
def test_compare_bad_parameters_are_400s_naming_them(client, dataset, query, named):
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 400 and named in response.content


def test_compare_with_nothing_chosen_suggests_a_start(client, dataset):
    page = html(client, "/compare/")
    assert "start with today" in page
    assert 'class="plot"' not in page


def test_compare_picker_search_offers_links_that_add(client, dataset):
    m2 = offering("acme", "m2")
    page = html(client, f"/compare/?o={m2.pk}&q=fast")
    bolt = offering("bolt", "m1-fast")
    assert f"o={m2.pk}%2C{bolt.pk}" in page or f"o={m2.pk},{bolt.pk}" in page


def test_compare_embed_renders_one_chart(client, dataset):
    response = client.get("/embed/compare/?o=acme/m2&chart=workload")
    assert response.status_code == 200
    assert b'id="workload"' in response.content and b'id="prices"' not in response.content


# --- /changes/ --------------------------------------------------------------------------------


def changes_listed(client, query=""):
    return client.get(f"/changes/{query}").context["changes"]


def test_changes_lists_published_changes_newest_first(client, dataset):
    listed = changes_listed(client)
    assert [c.changed_at for c in listed] == sorted((c.changed_at for c in listed), reverse=True)
    assert len(listed) == PriceChange.objects.filter(retracted_at__isnull=True).count()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?provider=bolt", {("m1-fast", "input"), ("m1-fast", "output")}),
        ("?model=m2", {("m2", "input"), ("m2", "output")}),
        ("?meter=cache_read", {("m1", "cache_read")}),
        ("?direction=down", {("m1", "input"), ("m1", "output")}),
        ("?kind=changed&meter=output", {("m1", "output")}),
        ("?since=2025-01-15&provider=acme", {("m2", "input"), ("m2", "output")}),
        ("?until=2025-01-01&meter=input", {("m1", "input")}),
    ],
)
def test_changes_filters(client, dataset, query, expected):
    assert {(c.offering.provider_model_id, c.meter) for c in changes_listed(client, query)} == (
        expected
    )


def test_changes_direction_up_finds_rises(client, dataset):
    pricemap = Source.objects.get(slug="pricemap")
    record(pricemap, [q("bolt", "m1-fast", "input", "5")], at(40))
    listed = changes_listed(client, "?direction=up")
    assert [(c.old_usd_per_mtok, c.new_usd_per_mtok) for c in listed] == [(Decimal(4), Decimal(5))]


@pytest.mark.parametrize(
    "query",
    ["?since=yesterday", "?provider=nobody", "?model=nothing", "?direction=sideways",
     "?kind=moved", "?before=garbage", "?before=2025-01-01T00:00:00~99999999999999999999999",
     "?since=2025-02-01&until=2025-01-01", "?until=9999-12-31"],
)  # fmt: skip
def test_changes_bad_filters_are_400s(client, dataset, query):
    response = client.get(f"/changes/{query}")
    assert response.status_code == 400 and response.content


def test_changes_pages_by_keyset_without_gaps_or_repeats(client, dataset, monkeypatch):
    monkeypatch.setattr("dashboard.explore.PAGE_SIZE", 3)
    seen, url = [], "/changes/"
    while url:
        response = client.get(url)
        seen += [c.pk for c in response.context["changes"]]
        older = response.context["older"]
        url = f"/changes/?{older}" if older else None
    expected = PriceChange.objects.filter(retracted_at__isnull=True).order_by("-changed_at", "-id")
    assert seen == list(expected.values_list("pk", flat=True))


def test_changes_rows_carry_provenance(client, dataset):
    page = html(client, "/changes/?provider=bolt")
    assert "/sources/payload/" in page and "pricemap" in page


# --- /methodology/ ----------------------------------------------------------------------------


def test_methodology_lists_sources_with_licences_and_thresholds(client, dataset):
    Source.objects.filter(slug="pricemap").update(licence="MIT (example)")
    page = html(client, "/methodology/")
    assert "MIT (example)" in page and "acme-docs" in page
    assert "factor of <strong>10 or more</strong>" in page and "1 %" in page
    assert "1\nprice is held" in page or "1 price is held" in page.replace("\n", " ")


def test_methodology_corrections_log_lists_retracted_changes(client, dataset):
    page_source = Source.objects.get(slug="acme-docs")
    # A statement learnt later: input was 4 from day 5, so "5 -> 2.5 on day 10" did not happen.
    record(page_source, [q("acme", "m1", "input", "4", valid_from=at(5))], at(11))
    retracted = PriceChange.objects.get(retracted_at__isnull=False)
    page = html(client, "/methodology/")
    log = page[page.index('id="corrections"') :]
    assert f'id="change-{retracted.pk}"' in log and "retracted" in log


def test_methodology_lists_benchmarks(client, dataset):
    page = html(client, "/methodology/")
    assert "MMLU" in page and "Epoch AI (1)" in page


def test_every_page_works_on_an_empty_database(client, db):
    for url in ("/models/", "/providers/", "/compare/", "/changes/", "/methodology/"):
        assert client.get(url).status_code == 200, url


def test_a_page_is_served_from_the_cache_until_the_data_changes(client, dataset):
    first = client.get("/models/m1/")
    again = client.get("/models/m1/")
    assert again.context is None and again.content == first.content  # not rendered again
    record(Source.objects.get(slug="pricemap"), [q("bolt", "m1-fast", "input", "3.5")], at(40))
    assert client.get("/models/m1/").context is not None


def test_a_400_is_not_cached(client, dataset):
    assert client.get("/models/m1/?meter=bogus").status_code == 400
    assert client.get("/models/m1/?meter=bogus").status_code == 400


def test_pages_are_cached_until_the_data_changes(client, dataset):
    first = client.get("/models/m1/")["ETag"]
    pricemap = Source.objects.get(slug="pricemap")
    record(pricemap, [q("bolt", "m1-fast", "input", "3.5")], at(40) + timedelta(hours=1))
    response = client.get("/models/m1/", HTTP_IF_NONE_MATCH=first)
    assert response.status_code == 200
    names = [t["name"] for t in response.context["charts"]["prices"].figure["data"]]
    bolt = next(
        t
        for t in response.context["charts"]["prices"].figure["data"]
        if t["name"] == "Bolt · input"
    )
    assert "Bolt · input" in names and 3.5 in bolt["y"]
