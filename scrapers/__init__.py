"""Source adapters, one module per source, registered here by slug."""

from scrapers import (
    anthropic,
    bls_cpi,
    deepseek,
    ecb_fx,
    epoch_eci,
    genai_prices,
    ledger,
    litellm,
    lmarena,
    models_dev,
    openrouter,
    worldbank_pinksheet,
)
from scrapers.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    openrouter.SLUG: openrouter,  # type: ignore[dict-item]
    deepseek.SLUG: deepseek,  # type: ignore[dict-item]
    anthropic.SLUG: anthropic,  # type: ignore[dict-item]
    genai_prices.SLUG: genai_prices,  # type: ignore[dict-item]
    models_dev.SLUG: models_dev,  # type: ignore[dict-item]
    ledger.SLUG: ledger,  # type: ignore[dict-item]
    litellm.SLUG: litellm,  # type: ignore[dict-item]
    ecb_fx.SLUG: ecb_fx,  # type: ignore[dict-item]
    worldbank_pinksheet.SLUG: worldbank_pinksheet,  # type: ignore[dict-item]
    epoch_eci.SLUG: epoch_eci,  # type: ignore[dict-item]
    lmarena.SLUG: lmarena,  # type: ignore[dict-item]
    bls_cpi.SLUG: bls_cpi,  # type: ignore[dict-item]
}
