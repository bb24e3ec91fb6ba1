"""Source adapters, one module per source, registered here by slug."""

from scrapers import genai_prices, ledger
from scrapers.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    genai_prices.SLUG: genai_prices,  # type: ignore[dict-item]
    ledger.SLUG: ledger,  # type: ignore[dict-item]
}
