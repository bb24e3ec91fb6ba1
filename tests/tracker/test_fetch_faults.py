"""Sources misbehave; each fault leaves a failed or retried run, no partial data, no alert."""

import pytest
from django.core import mail

from scrapers.base import HttpClient
from tracker import scraping
from tracker.models import PriceChange, PriceSpan, ScrapeRun, Source

pytestmark = pytest.mark.django_db

GOOD = "genai_prices/v2_small.json"


@pytest.fixture(autouse=True)
def sources(db):
    return scraping.ensure_sources()


def quick(**kwargs):
    """A client that records its waits instead of sleeping through them."""
    waits: list[float] = []
    client = HttpClient(sleep=waits.append, **kwargs)
    client.waits = waits  # type: ignore[attr-defined]
    return client


def fails_cleanly(url, client=None, *, transient=True):
    if transient:
        with pytest.raises(scraping.TransientError):
            scraping.run_source("genai_prices", url=url, client=client)
        run = ScrapeRun.objects.get()
    else:
        run = scraping.run_source("genai_prices", url=url, client=client)
    assert run.status == "failed"
    assert (PriceSpan.objects.count(), PriceChange.objects.count()) == (0, 0)
    return run


def test_timeout_fails_the_run(http_server):
    run = fails_cleanly(f"{http_server}/slow/3/{GOOD}", quick(timeout=1, connect_timeout=1))
    assert "Timeout" in run.error


def test_server_error_then_success_is_retried_within_the_run(http_server):
    client = quick()
    run = scraping.run_source("genai_prices", url=f"{http_server}/flaky/a/2/{GOOD}", client=client)
    assert (run.status, len(client.waits)) == ("succeeded", 2)


def test_server_errors_beyond_the_retries_fail_the_run_for_the_task_to_retry(http_server):
    run = fails_cleanly(f"{http_server}/flaky/b/9/{GOOD}", quick())
    assert "HTTP 500" in run.error


def test_too_many_requests_waits_as_long_as_retry_after_says(http_server):
    client = quick()
    run = scraping.run_source("genai_prices", url=f"{http_server}/busy/c/{GOOD}", client=client)
    assert (run.status, client.waits) == ("succeeded", [1.0])


def test_body_over_the_cap_fails_without_reading_it_all(http_server):
    run = fails_cleanly(f"{http_server}/big", quick())
    assert "larger than 10485760 bytes" in run.error


def test_redirect_loop_fails(http_server):
    run = fails_cleanly(f"{http_server}/loop", quick())
    assert "more than 3 redirects" in run.error


def test_truncated_json_fails_and_records_nothing(http_server):
    run = fails_cleanly(f"{http_server}/truncated/{GOOD}", transient=False)
    assert "not JSON" in run.error


def test_html_page_where_json_was_expected_fails(http_server):
    run = fails_cleanly(f"{http_server}/errors/challenge.html", transient=False)
    assert "not JSON" in run.error


def test_missing_page_fails(http_server):
    run = fails_cleanly(f"{http_server}/no-such-file.json")
    assert "HTTP 404" in run.error


def test_only_http_and_https_are_fetched(http_server):
    run = fails_cleanly("file:///etc/passwd")
    assert "only http and https" in run.error


def test_unchanged_source_costs_one_304_and_still_moves_last_seen(http_server):
    url = f"{http_server}/etag/{GOOD}"
    first = scraping.run_source("genai_prices", url=url)
    assert Source.objects.get(slug="genai_prices").etag
    second = scraping.run_source("genai_prices", url=url)
    assert (second.status, second.payload_id) == ("succeeded", first.payload_id)
    assert PriceSpan.objects.filter(last_run=second).count() == 26


def test_operators_get_one_email_after_six_failures_and_one_on_recovery(http_server, settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(7):
        scraping.run_source("genai_prices", url=f"{http_server}/truncated/{GOOD}")
    assert [m.subject for m in mail.outbox] == [
        "[Token Price Tracker] genai_prices has failed 6 runs in a row"
    ]
    scraping.run_source("genai_prices", url=f"{http_server}/{GOOD}")
    assert mail.outbox[-1].subject == "[Token Price Tracker] genai_prices recovered"
    assert Source.objects.get(slug="genai_prices").consecutive_failures == 0


def test_failed_replays_of_old_payloads_are_not_counted_as_source_failures():
    for _ in range(3):
        scraping.run_source("genai_prices", trigger="ingest", body=b"<html>", url="x")
    assert Source.objects.get(slug="genai_prices").consecutive_failures == 0


def test_changed_layout_fails_the_run_records_nothing_and_alerts_nobody(http_server, settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run = fails_cleanly(f"{http_server}/errors/genai_changed_layout.json", transient=False)
    assert "provider entry without id/models" in run.error
    assert mail.outbox == []
