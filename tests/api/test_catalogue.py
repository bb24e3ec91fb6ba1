"""Providers, models, offerings and analogy series."""

from __future__ import annotations

import pytest

from tests.api.conftest import get

pytestmark = pytest.mark.django_db


def test_providers_lists_each_with_its_offering_count(client, dataset):
    body = get(client, "providers").data
    assert [(p["slug"], p["offerings"]) for p in body["data"]] == [("acme", 2), ("beta", 1)]


def test_models_carry_aliases_and_capability_scores(client, dataset):
    m1 = get(client, "models?model=m1").data["data"][0]
    assert m1["aliases"] == ["acme/m1"]
    assert m1["scores"][0] | {"source_url": None} == {
        "benchmark": "mmlu",
        "score": "88.5",
        "source": "x",
        "source_url": None,
        "measured_on": None,
    }


def test_models_filtered_by_provider_are_those_it_sells(client, dataset):
    body = get(client, "models?provider=beta").data
    assert [m["slug"] for m in body["data"]] == ["m3"]


def test_model_detail_lists_its_offerings(client, dataset):
    body = get(client, "models/m1").data
    assert body["slug"] == "m1"
    assert [(o["provider"], o["provider_model_id"]) for o in body["offerings"]] == [("acme", "m1")]


def test_unknown_model_is_a_json_404(client, dataset):
    response = get(client, "models/no-such-model")
    assert response.status_code == 404
    assert response.data["parameter"] == "slug" and "no-such-model" in response.data["error"]


def test_offerings_filter_by_provider_and_model(client, dataset):
    body = get(client, "offerings?provider=acme&model=m2").data
    assert [(o["provider"], o["model"]) for o in body["data"]] == [("acme", "m2")]


def test_filters_repeat_or_take_commas(client, dataset):
    repeated = get(client, "offerings?model=m1&model=m3").data["data"]
    commas = get(client, "offerings?model=m3,m1").data["data"]
    assert [o["model"] for o in repeated] == [o["model"] for o in commas] == ["m1", "m3"]


def test_series_list_and_detail_with_points_as_exact_strings(client, dataset):
    assert [s["slug"] for s in get(client, "series").data["data"]] == ["aluminium"]
    body = get(client, "series/aluminium?from=1885-01-01").data
    assert [(p["date"], p["value"]) for p in body["data"]] == [
        ("1890-01-01", "5"),
        ("1900-01-01", "1.25"),
    ]


def test_unknown_series_is_a_json_404(client, dataset):
    assert get(client, "series/unobtainium").status_code == 404


@pytest.mark.parametrize("path", ["models/%00", "series/%00x", "models/" + "x" * 300])
def test_a_slug_that_could_never_exist_is_a_404(client, dataset, path):
    assert get(client, path).status_code == 404


def test_unknown_path_under_the_api_is_a_json_404(client, db):
    response = get(client, "pricez")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_index_links_every_endpoint(client, db):
    body = get(client, "").data
    assert body["endpoints"]["prices"] == "http://testserver/api/v1/prices"
    assert body["openapi"] == "http://testserver/api/v1/openapi.json"


def test_docs_page_renders_every_endpoint_from_the_schema(client, db):
    response = client.get("/api/v1/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    for path in ("/prices", "/history", "/models/{slug}", "/frontier", "/series/{slug}"):
        assert f"<code>/api/v1{path}</code>" in html
    assert "as_of" in html and "<script src=" not in html
