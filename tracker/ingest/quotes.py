"""What a source adapter produces: one Quote per stated price."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tracker.identity import slugify
from tracker.models import TOKENS_PER_UNIT, Meter, PriceUnit

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TIER = re.compile(r"^([a-z0-9][a-z0-9_]*)?$")
MTOK = Decimal(1_000_000)


class QuoteError(ValueError):
    """A quote that cannot be right (unknown meter, negative price, ...): an adapter bug."""


@dataclass(frozen=True)
class Quote:
    """One price as a source states it: `amount` `currency` per `unit` tokens.

    `valid_from` is the effective date the source states, if any; without one, the price is
    taken to hold from the time it was observed. The model fields are hints used only when
    ingest meets an offering it does not know yet.
    """

    provider: str
    provider_model_id: str
    meter: str
    amount: Decimal
    unit: str = PriceUnit.MILLION
    currency: str = "USD"
    tier: str = ""
    valid_from: datetime | None = None
    model: str = ""
    model_name: str = ""
    provider_name: str = ""
    creator: str = ""
    context_window: int | None = None
    release_date: date | None = None
    open_weights: bool | None = None

    def __post_init__(self) -> None:
        where = f"{self.provider}/{self.provider_model_id} {self.meter}"
        if not _SLUG.match(self.provider):
            raise QuoteError(f"{where}: provider slug {self.provider!r} is not a slug")
        if not self.provider_model_id or len(self.provider_model_id) > 255:
            raise QuoteError(f"{where}: provider_model_id must be 1 to 255 characters")
        if self.meter not in Meter.values:
            raise QuoteError(f"{where}: unknown meter {self.meter!r}")
        if not _TIER.match(self.tier):
            raise QuoteError(f"{where}: tier {self.tier!r} is not a tier slug")
        if self.unit not in PriceUnit.values:
            raise QuoteError(f"{where}: unknown unit {self.unit!r}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise QuoteError(f"{where}: currency {self.currency!r} is not an ISO 4217 code")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise QuoteError(f"{where}: amount must be a finite Decimal, got {self.amount!r}")
        if self.amount < 0:
            raise QuoteError(f"{where}: negative price {self.amount}")
        if self.model and not _SLUG.match(self.model):
            raise QuoteError(f"{where}: model slug {self.model!r} is not a slug")
        if self.valid_from is not None and self.valid_from.tzinfo is None:
            raise QuoteError(f"{where}: valid_from must be timezone-aware")

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.provider, self.provider_model_id, self.meter, self.tier)

    @property
    def per_mtok(self) -> Decimal:
        """The stated amount per 1,000,000 tokens, still in the stated currency."""
        return (self.amount * MTOK / TOKENS_PER_UNIT[self.unit]).normalize()

    @property
    def model_slug(self) -> str:
        """Our model slug: the adapter's hint, else the provider's id without any prefix."""
        if self.model:
            return self.model
        bare = self.provider_model_id.rsplit("/", 1)[-1].split(":", 1)[0]
        return slugify(bare) or "unnamed"
