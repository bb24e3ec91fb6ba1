"""Loading the bundled data: sources, the ledger, genai-prices' packaged price map and the
capability scores."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from scrapers import genai_prices, ledger
from tracker import analogies, identity, scores, scraping
from tracker.models import ScrapeRun


def seed(say: Callable[[str], None] = print) -> list[ScrapeRun]:
    """Load every bundled dataset. Idempotent: a payload already recorded is not recorded again."""
    series = analogies.load_bundled()
    say(f"analogies: {len(series)} series loaded")
    scraping.ensure_sources()
    runs = []
    genai_body, genai_url = genai_prices.bundled()
    bundles = [
        (ledger.SLUG, ledger.PATH.read_bytes(), ledger.URL),
        (genai_prices.SLUG, genai_body, genai_url),
    ]
    for slug, body, url in bundles:
        digest = hashlib.sha256(body).hexdigest()
        done = ScrapeRun.objects.filter(
            source__slug=slug, payload__sha256=digest, status=ScrapeRun.Status.SUCCEEDED
        ).exists()
        if done:
            say(f"{slug}: {url} already recorded")
        else:
            run = scraping.run_source(slug, trigger=ScrapeRun.Trigger.SEED, url=url, body=body)
            say(scraping.describe(run))
            runs.append(run)
        # After each bundle, so the ledger's models are aliased before the price map arrives.
        loaded, waiting = identity.load_aliases()
        say(f"aliases: {loaded} loaded, {waiting} waiting for their model")
    # After the aliases, through which the scores file names its models.
    created, updated = scores.load()
    say(f"capability scores: {created} new, {updated} refreshed ({scores.PATH.name})")
    return runs
