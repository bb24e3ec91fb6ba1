"""What every endpoint shares: errors, CORS, ETags, rate limits and API keys."""

from __future__ import annotations

import gzip
import os
import re
import uuid

import pytest
from django.contrib.auth.models import User

from dashboard.api.models import APIKey, hash_key
from tests.api.conftest import get

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("prices?provder=acme", "provder"),
        ("prices?limit=0", "limit"),
        ("prices?limit=1001", "limit"),
        ("prices?limit=ten", "limit"),
        ("prices?at=yesterday", "at"),
        ("history?as_of=2025-13-01", "as_of"),
        ("history?meter=inptu", "meter"),
        ("history?cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("changes?include_retracted=maybe", "include_retracted"),
        ("frontier?blend=3-1", "blend"),
        ("frontier?threshold=lots", "threshold"),
        ("frontier?benchmark=nope", "benchmark"),
        ("providers?limit=5&limit=6", "limit"),
        ("models?model=%00", "model"),
        ("history?from=2025-13-01", "from"),
        ("history?from=2025-02-01&to=2025-01-01", "to"),
        ("history?to=9999-12-31", "to"),
        ("prices?tier=Over", "tier"),
        ("prices?provider=", "provider"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(client, dataset, query, parameter):
    response = get(client, query)
    assert response.status_code == 400
    assert response.data["parameter"] == parameter and response.data["error"]


def test_decimals_are_exact_strings_and_times_iso_utc(client, dataset):
    row = get(client, "prices?model=m3&meter=input").data["data"][0]
    assert row["usd_per_mtok"] == "0.15"
    assert row["valid_from"] == "2025-01-06T00:00:00Z"


def test_other_methods_are_a_json_405(client, db):
    response = client.post("/api/v1/prices")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json()["error"]


def test_get_is_open_to_every_origin(client, db):
    response = get(client, "providers", HTTP_ORIGIN="https://elsewhere.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]


def test_preflight_allows_get_with_an_api_key_header(client, db):
    response = client.options(
        "/api/v1/prices",
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Access-Control-Allow-Methods"]
    assert "X-API-Key" in response["Access-Control-Allow-Headers"]


def test_errors_are_open_to_every_origin_too(client, db):
    assert get(client, "prices?nope=1")["Access-Control-Allow-Origin"] == "*"


def test_an_unchanged_answer_is_a_304_for_its_etag(client, dataset):
    first = get(client, "prices")
    again = get(client, "prices", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_weakened_etag_still_matches(client, dataset):
    tag = get(client, "prices")["ETag"]
    assert get(client, "prices", HTTP_IF_NONE_MATCH=f"W/{tag}").status_code == 304


def test_a_large_body_is_gzipped_fast_and_keeps_its_etag(client, dataset, monkeypatch):
    from dashboard.api import http

    plain = client.get("/api/v1/history")
    monkeypatch.setattr(http, "GZIP_FROM_BYTES", 100)
    packed = client.get("/api/v1/history", HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip"
    assert packed.content[8] == 4  # the gzip header's "fastest compression" flag: level 1
    assert gzip.decompress(packed.content) == plain.content
    assert packed["Content-Length"] == str(len(packed.content))
    assert packed["ETag"] == "W/" + plain["ETag"]
    assert "Accept-Encoding" in packed["Vary"]
    again = client.get(
        "/api/v1/history", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"]
    )
    assert again.status_code == 304
    identity = client.get("/api/v1/history", HTTP_ACCEPT_ENCODING="identity")
    assert "Content-Encoding" not in identity and identity.content == plain.content


def test_the_etag_changes_with_the_data(client, dataset, make_source):
    from tests.conftest import at, quote
    from tracker.ingest import record

    tag = get(client, "prices")["ETag"]
    record(dataset["map"], [quote("7")], at(60))
    assert get(client, "prices", HTTP_IF_NONE_MATCH=tag).status_code == 200


def test_pages_carry_rate_limit_headers(client, db, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 50
    response = get(client, "providers")
    assert response["X-RateLimit-Limit"] == "50"
    assert response["X-RateLimit-Remaining"] == "49"
    assert 1 <= int(response["X-RateLimit-Reset"]) <= 60


@pytest.fixture
def shared_cache(settings):
    """The rate limiter's counters in Redis, as in production (a private prefix per test)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-api-{uuid.uuid4()}",
        }
    }


def test_over_the_limit_is_a_429_with_retry_after(client, db, settings, shared_cache):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    statuses = [get(client, "providers").status_code for _ in range(3)]
    refused = get(client, "providers")
    assert statuses == [200, 200, 200] and refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.data["retry_after"] == int(refused["Retry-After"])
    assert "3 requests per minute" in refused.data["error"]
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["Access-Control-Allow-Origin"] == "*"


def test_the_limit_is_per_client_ip(client, db, settings, shared_cache):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    assert get(client, "providers", REMOTE_ADDR="10.0.0.1").status_code == 200
    assert get(client, "providers", REMOTE_ADDR="10.0.0.2").status_code == 200
    assert get(client, "providers", REMOTE_ADDR="10.0.0.1").status_code == 429


@pytest.fixture
def api_key(db) -> str:
    key = APIKey(name="research group", rate_limit_per_minute=5)
    secret = key.issue()
    key.save()
    return secret


def test_an_api_key_gets_its_own_higher_limit(client, db, settings, shared_cache, api_key):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    get(client, "providers")
    assert get(client, "providers").status_code == 429
    keyed = [get(client, "providers", HTTP_X_API_KEY=api_key) for _ in range(5)]
    assert [r.status_code for r in keyed] == [200] * 5
    assert keyed[0]["X-RateLimit-Limit"] == "5"
    assert get(client, "providers", HTTP_X_API_KEY=api_key).status_code == 429


def test_a_key_is_accepted_as_a_bearer_token(client, db, api_key):
    response = get(client, "providers", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200 and response["X-RateLimit-Limit"] == "5"


@pytest.mark.parametrize(
    ("headers", "parameter"),
    [
        ({"HTTP_X_API_KEY": "tpt_wrong"}, "X-API-Key"),
        ({"HTTP_AUTHORIZATION": "Bearer tpt_wrong"}, "Authorization"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "Authorization"),
    ],
)
def test_an_invalid_key_is_a_401_with_a_message(client, db, headers, parameter):
    response = get(client, "providers", **headers)
    assert response.status_code == 401
    assert response.data["parameter"] == parameter and response.data["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused(client, db, api_key):
    APIKey.objects.update(is_active=False)
    assert get(client, "providers", HTTP_X_API_KEY=api_key).status_code == 401


def test_using_a_key_records_when(client, db, api_key):
    get(client, "providers", HTTP_X_API_KEY=api_key)
    assert APIKey.objects.get().last_used_at is not None


def test_the_admin_creates_a_key_shows_it_once_and_stores_only_its_hash(client, db):
    admin = User.objects.create_superuser("ops", "ops@example.org", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/api/apikey/add/",
        {"name": "Lab", "contact": "lab@example.org", "rate_limit_per_minute": "600",
         "is_active": "on", "notes": ""},
        follow=True,
    )  # fmt: skip
    shown = re.findall(r"tpt_[A-Za-z0-9_-]{40,}", response.content.decode())
    assert len(shown) == 1
    stored = APIKey.objects.get(name="Lab")
    assert stored.key_hash == hash_key(shown[0]) and shown[0] not in str(vars(stored))
    client.logout()
    keyed = get(client, "providers", HTTP_AUTHORIZATION=f"Bearer {shown[0]}")
    assert keyed.status_code == 200 and keyed["X-RateLimit-Limit"] == "600"
    page = client.get(f"/admin/api/apikey/{stored.pk}/change/")
    assert shown[0] not in page.content.decode()


def test_rotating_a_key_stops_the_old_secret(client, db, api_key):
    admin = User.objects.create_superuser("ops", "ops@example.org", "pw")
    client.force_login(admin)
    key = APIKey.objects.get()
    client.post(
        "/admin/api/apikey/", {"action": "rotate", "_selected_action": [key.pk]}, follow=True
    )
    client.logout()
    assert get(client, "providers", HTTP_X_API_KEY=api_key).status_code == 401


def test_head_answers_the_headers_without_a_body(client, dataset):
    response = client.head("/api/v1/prices")
    assert response.status_code == 200 and response.content == b""
    assert response["ETag"] == get(client, "prices")["ETag"]
