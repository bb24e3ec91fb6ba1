"""The Atom feed of price changes: valid Atom, stable entry ids, any filter of the changes page."""

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import at
from tests.dashboard.test_explore_pages import build_dataset, q
from tracker.ingest import record
from tracker.models import PriceChange, Source

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def dataset(make_source):
    return build_dataset(make_source)


def feed(client, query=""):
    response = client.get(f"/changes.atom{query}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314 (our own feed)


def entries(root):
    return root.findall(f"{ATOM}entry")


def test_feed_is_atom_with_the_required_elements(client, dataset):
    root = feed(client)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}").text
    for entry in entries(root):
        for name in ("id", "title", "updated", "published", "summary"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert entry.find(f"{ATOM}link").get("href").startswith("http://testserver/models/")


def test_feed_has_every_published_change_newest_first(client, dataset):
    listed = [e.find(f"{ATOM}published").text for e in entries(feed(client))]
    assert len(listed) == PriceChange.objects.filter(retracted_at__isnull=True).count()
    assert listed == sorted(listed, reverse=True)


def test_entry_ids_are_stable_urns_of_the_change(client, dataset):
    first = [e.find(f"{ATOM}id").text for e in entries(feed(client))]
    pricemap = Source.objects.get(slug="pricemap")
    record(pricemap, [q("bolt", "m1-fast", "input", "3.9")], at(40))
    second = [e.find(f"{ATOM}id").text for e in entries(feed(client))]
    assert set(first) < set(second) and len(set(second)) == len(second)
    assert all(i.startswith("urn:token-price-tracker:price-change:") for i in second)


def test_model_feed_has_only_that_models_changes(client, dataset):
    titles = [e.find(f"{ATOM}title").text for e in entries(feed(client, "?model=m2"))]
    assert len(titles) == 2 and all(t.startswith("Model Two at ") for t in titles)


def test_provider_feed_has_only_that_providers_changes(client, dataset):
    root = feed(client, "?provider=bolt")
    assert all(" at Bolt" in e.find(f"{ATOM}title").text for e in entries(root))
    assert len(entries(root)) == 2
    assert "provider bolt" in root.find(f"{ATOM}title").text


def test_feed_entry_names_the_change_and_its_provenance(client, dataset):
    root = feed(client, "?model=m1&kind=changed&meter=input")
    (entry,) = entries(root)
    assert (
        entry.find(f"{ATOM}title").text
        == "Model One at Acme, Input: $5.00 → $2.50 (\N{MINUS SIGN}50%)"
    )
    summary = entry.find(f"{ATOM}summary").text
    assert "/sources/payload/" in summary and "acme-docs" in summary


def test_feed_links_back_to_the_filtered_changes_page(client, dataset):
    root = feed(client, "?model=m2&direction=down")
    alternate = next(link for link in root.findall(f"{ATOM}link") if link.get("rel") == "alternate")
    assert alternate.get("href") == "http://testserver/changes/?model=m2&direction=down"
    own = next(link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self")
    assert own.get("href") == "http://testserver/changes.atom?model=m2&direction=down"


def test_feed_held_prices_are_not_entries(client, dataset):
    titles = [e.find(f"{ATOM}title").text for e in entries(feed(client, "?model=m1"))]
    assert not any("$0.10" in title for title in titles)


@pytest.mark.parametrize("query", ["?model=nothing", "?since=soon", "?direction=sideways"])
def test_feed_bad_filter_is_a_400_naming_it(client, dataset, query):
    response = client.get(f"/changes.atom{query}")
    name = query[1:].split("=")[0]
    assert response.status_code == 400 and name.encode() in response.content


def test_feed_answers_a_matching_etag_with_304(client, dataset):
    etag = client.get("/changes.atom?model=m1")["ETag"]
    assert client.get("/changes.atom?model=m1", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_feed_of_an_empty_database_is_valid(client, db):
    assert entries(feed(client)) == []
