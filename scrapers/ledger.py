"""The bundled ledger of flagship historical prices (tracker/data/ledger.csv).

One row per price change of an offering since 2020, each citing its public source. It is the
history that live sources cannot give: what GPT-4 cost in 2023, when o3 was cut by 80 %.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from scrapers.base import Fetched, HttpClient, Parsed, ParseError
from tracker.ingest import Quote, QuoteError
from tracker.models import Meter, PriceUnit, Source

SLUG = "ledger"
NAME = "Token Price Tracker ledger of flagship prices"
PATH = Path(__file__).resolve().parent.parent / "tracker" / "data" / "ledger.csv"
URL = "bundled:tracker/data/ledger.csv"
KIND = Source.Kind.LEDGER
PRIORITY = 30
INTERVAL = dt.timedelta(days=1)
COMPLETE = False
LICENCE = "CC BY 4.0 (compiled by the project; facts from the cited sources)"

COLUMNS = [
    "provider", "provider_model_id", "model", "model_name", "creator", "tier", "effective_date",
    "input_usd_per_mtok", "output_usd_per_mtok", "cache_read_usd_per_mtok", "source",
]  # fmt: skip
# The sellers' names as they write them (the ledger's rows carry only slugs).
PROVIDER_NAMES = {
    "anthropic": "Anthropic", "deepseek": "DeepSeek", "google": "Google", "groq": "Groq",
    "mistral": "Mistral AI", "openai": "OpenAI", "together": "Together AI", "x-ai": "xAI",
}  # fmt: skip
PRICE_COLUMNS = {
    "input_usd_per_mtok": Meter.INPUT,
    "output_usd_per_mtok": Meter.OUTPUT,
    "cache_read_usd_per_mtok": Meter.CACHE_READ,
}


def fetch(client: HttpClient, url: str) -> Fetched:
    """Reads the bundled file (the ledger travels with the code); an http(s) URL is fetched."""
    if url.startswith(("http://", "https://")):
        return client.get(url, dt.datetime.now(dt.UTC))
    return Fetched(PATH.read_bytes(), URL, dt.datetime.now(dt.UTC), "text/csv")


def parse(fetched: Fetched) -> Parsed:
    """Every row must be complete and correct: a bad row is a bug in the ledger, not noise."""
    try:
        text = fetched.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(SLUG, f"not UTF-8: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != COLUMNS:
        raise ParseError(SLUG, f"expected columns {','.join(COLUMNS)}, got {reader.fieldnames}")
    quotes: list[Quote] = []
    for line, row in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat(row["effective_date"])
            valid_from = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            if not row["source"].strip():
                raise ValueError("no source cited")
            for column, meter in PRICE_COLUMNS.items():
                if not row[column].strip():
                    continue
                quotes.append(
                    Quote(
                        provider=row["provider"],
                        provider_name=PROVIDER_NAMES.get(row["provider"], ""),
                        provider_model_id=row["provider_model_id"],
                        meter=meter,
                        tier=row["tier"],
                        amount=Decimal(row[column]),
                        unit=PriceUnit.MILLION,
                        valid_from=valid_from,
                        model=row["model"],
                        model_name=row["model_name"],
                        creator=row["creator"],
                    )
                )
        except (ValueError, InvalidOperation, QuoteError) as exc:
            raise ParseError(SLUG, f"line {line}: {exc}") from None
    if not quotes:
        raise ParseError(SLUG, "the ledger has no prices")
    return Parsed(quotes=quotes)
