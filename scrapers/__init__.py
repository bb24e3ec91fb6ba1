"""Source adapters, one module per source, registered here by slug."""

from scrapers import bls_cpi, genai_prices, ledger, worldbank_pinksheet
from scrapers.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    genai_prices.SLUG: genai_prices,  # type: ignore[dict-item]
    ledger.SLUG: ledger,  # type: ignore[dict-item]
    worldbank_pinksheet.SLUG: worldbank_pinksheet,  # type: ignore[dict-item]
    bls_cpi.SLUG: bls_cpi,  # type: ignore[dict-item]
}
