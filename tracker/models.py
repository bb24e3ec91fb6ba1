"""The domain model: who sells which model at what price, according to whom, since when.

See ARCHITECTURE.md ("The model"). Money is Decimal USD per 1,000,000 tokens (`usd_per_mtok`);
the figure as the source stated it is kept beside it. Invariants that matter live in the
database as constraints, not only here.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

SLUG_RE = RegexValidator(r"^[a-z0-9][a-z0-9._-]*$", "Lowercase letters, digits, '.', '_' and '-'.")
TIER_RE = RegexValidator(r"^([a-z0-9][a-z0-9_]*)?$", "Empty, or lowercase letters, digits and '_'.")

# Prices: up to 10^11 USD per 1M tokens, to 10^-12 (a millionth of a micro-dollar per 1M).
USD_DIGITS, USD_PLACES = 24, 12
# As stated: per-token figures need many decimal places (0.00000015 USD per token).
STATED_DIGITS, STATED_PLACES = 30, 18


class Meter(models.TextChoices):
    """What a price is per. These slugs are used everywhere: database, exports, API."""

    INPUT = "input", "Input"
    OUTPUT = "output", "Output"
    CACHE_READ = "cache_read", "Cached input read"
    CACHE_WRITE = "cache_write", "Cache write"
    BATCH_INPUT = "batch_input", "Batch input"
    BATCH_OUTPUT = "batch_output", "Batch output"
    REASONING = "reasoning", "Reasoning output"
    INPUT_AUDIO = "input_audio", "Audio input"
    OUTPUT_AUDIO = "output_audio", "Audio output"


class PriceUnit(models.TextChoices):
    """The token count a stated price is per."""

    TOKEN = "token", "per token"
    THOUSAND = "1k", "per 1K tokens"
    MILLION = "1m", "per 1M tokens"


# Keyed by the plain strings (PriceUnit members are str and compare equal to them): looking up
# a stored unit needs no enum construction, which ingest would pay for every price it reads.
TOKENS_PER_UNIT: dict[str, int] = {
    PriceUnit.TOKEN.value: 1,
    PriceUnit.THOUSAND.value: 1_000,
    PriceUnit.MILLION.value: 1_000_000,
}


class Provider(models.Model):
    """Who sells tokens (OpenAI, Together, OpenRouter as a reseller, ...) or makes models."""

    slug = models.CharField(max_length=64, unique=True, validators=[SLUG_RE])
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    is_reseller = models.BooleanField(default=False)
    auto_discovered = models.BooleanField(
        default=False, help_text="Created by ingest from a source's unknown id; worth a look."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class LanguageModel(models.Model):
    """What is sold: one model, whoever sells it."""

    slug = models.CharField(max_length=128, unique=True, validators=[SLUG_RE])
    name = models.CharField(max_length=200)
    creator = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="models_created"
    )
    family = models.CharField(max_length=100, blank=True)
    release_date = models.DateField(null=True, blank=True)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    open_weights = models.BooleanField(null=True, blank=True)
    auto_discovered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "language model"

    def __str__(self) -> str:
        return self.name


class ModelAlias(models.Model):
    """Another name for a LanguageModel, as some source spells it ('openai/gpt-4o',
    'claude-3.5-sonnet', 'GPT-4o (May 2024)'), normalised by tracker.identity.normalise()."""

    alias = models.CharField(max_length=255, unique=True)
    model = models.ForeignKey(LanguageModel, on_delete=models.CASCADE, related_name="aliases")
    auto_created = models.BooleanField(
        default=False, help_text="Added by ingest for a model it created; worth a review."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "model aliases"

    def __str__(self) -> str:
        return f"{self.alias} -> {self.model.slug}"


class CapabilityScore(models.Model):
    """A model's score on a named benchmark, as one source reports it."""

    model = models.ForeignKey(LanguageModel, on_delete=models.CASCADE, related_name="scores")
    benchmark = models.CharField(max_length=64, validators=[SLUG_RE])
    score = models.DecimalField(max_digits=12, decimal_places=4)
    source = models.CharField(max_length=200)
    source_url = models.URLField(blank=True)
    measured_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "benchmark", "source"], name="capabilityscore_unique_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.benchmark}={self.score}"


class Offering(models.Model):
    """One model as sold by one provider, under the provider's own model id."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="offerings")
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="offerings")
    provider_model_id = models.CharField(max_length=255)
    auto_discovered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider__slug", "provider_model_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_model_id"], name="offering_unique_provider_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider.slug}/{self.provider_model_id}"


class Source(models.Model):
    """Something that reports prices: a provider's page, a curated map, an aggregator's API."""

    class Kind(models.TextChoices):
        PROVIDER_PAGE = "provider_page", "Provider's own page"
        CURATED_MAP = "curated_map", "Curated price map"
        LEDGER = "ledger", "Bundled ledger of historical prices"
        AGGREGATOR = "aggregator", "Aggregator or reseller"
        REFERENCE = "reference", "Reference data (FX, scores, series)"

    slug = models.CharField(max_length=64, unique=True, validators=[SLUG_RE])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    priority = models.PositiveSmallIntegerField(
        default=50,
        help_text="Lower is more authoritative: the published price comes from the "
        "lowest-priority source that currently reports it.",
    )
    url = models.URLField(max_length=500, blank=True, help_text="Overrides the adapter's URL.")
    interval = models.DurationField(help_text="How often the scheduler runs it.")
    enabled = models.BooleanField(default=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Validators of the last response, sent back so that an unchanged source answers 304.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    licence = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["priority", "slug"]

    def __str__(self) -> str:
        return self.slug


class Payload(models.Model):
    """Raw bytes of a fetched response, stored once per content hash (zlib-compressed)."""

    sha256 = models.CharField(max_length=64, unique=True)
    body = models.BinaryField()
    size_bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=1000, blank=True)
    first_fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size_bytes} B)"


class ScrapeRun(models.Model):
    """One attempt to fetch, parse and record a source."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        INGEST = "ingest"
        SEED = "seed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    url = models.CharField(max_length=1000, blank=True)
    observed_at = models.DateTimeField(
        help_text="When the prices were true (fetch time, or "
        "the time given for a backfilled payload)."
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    payload = models.ForeignKey(
        Payload, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    error = models.TextField(blank=True)
    quotes = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(
        default=0, help_text="Entries the parser could not price."
    )
    spans_created = models.PositiveIntegerField(default=0)
    spans_extended = models.PositiveIntegerField(default=0)
    changes = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The sources page and the sweeper: latest runs of a source.
            models.Index(fields=["source", "-started_at"], name="scraperun_source_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.source.slug} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class FxRate(models.Model):
    """A daily reference rate: how many units of `currency` one US dollar buys."""

    date = models.DateField()
    currency = models.CharField(max_length=3)
    per_usd = models.DecimalField(max_digits=20, decimal_places=10)
    source = models.CharField(max_length=100, default="ECB euro foreign exchange reference rates")

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["date", "currency"], name="fxrate_unique_day"),
            models.CheckConstraint(condition=Q(per_usd__gt=0), name="fxrate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date} 1 USD = {self.per_usd} {self.currency}"


class SpanKey(models.Model):
    """Fields shared by everything that is keyed by (offering, meter, tier)."""

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT)
    meter = models.CharField(max_length=20, choices=Meter.choices)
    tier = models.CharField(max_length=32, blank=True, validators=[TIER_RE])

    class Meta:
        abstract = True


class PriceSpan(SpanKey):
    """What one source says a (offering, meter, tier) costs, from valid_from until valid_to.

    Per (source, offering, meter, tier) spans never overlap and at most one is open; on
    PostgreSQL an exclusion constraint (migration 0002) enforces the first too.
    """

    # Indexed by pricespan_key_time, which starts with it (migration 0011). A one-column
    # index beside it cost every insert an index entry, and drew the planner to it for
    # (source, offering) lookups, which it answers by filtering dozens of rows per probe.
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, db_index=False)
    # Indexed by pricespan_source_key, which starts with it.
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="spans", db_index=False
    )
    usd_per_mtok = models.DecimalField(max_digits=USD_DIGITS, decimal_places=USD_PLACES)
    original_amount = models.DecimalField(max_digits=STATED_DIGITS, decimal_places=STATED_PLACES)
    original_currency = models.CharField(max_length=3, default="USD")
    original_unit = models.CharField(max_length=8, choices=PriceUnit.choices)
    fx_rate = models.ForeignKey(FxRate, null=True, blank=True, on_delete=models.PROTECT)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    observed_until = models.DateTimeField(
        help_text="The latest effective time at which the source stated this price."
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Not indexed: every run moves last_seen_at/last_run of every span it sees again, and with
    # no index on the columns it changes PostgreSQL updates the row in place (a HOT update, with
    # the table's fillfactor leaving room, see migration 0007) instead of touching every index.
    # Nor checked by the database (migration 0009): its foreign-key check on every re-seen span
    # cost as much as the update itself. Runs are never deleted by the application, and Django
    # still applies SET_NULL when one is deleted through the ORM.
    first_run = models.ForeignKey(
        ScrapeRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    last_run = models.ForeignKey(
        ScrapeRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["source", "offering", "meter", "tier", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(usd_per_mtok__gte=0), name="pricespan_usd_nonneg"),
            models.CheckConstraint(
                condition=Q(original_amount__gte=0), name="pricespan_amount_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="pricespan_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(meter__in=Meter.values), name="pricespan_meter_known"
            ),
            models.UniqueConstraint(
                fields=["source", "offering", "meter", "tier"],
                condition=Q(valid_to__isnull=True),
                name="pricespan_one_open_per_key",
            ),
        ]
        indexes = [
            # record(): all spans of the touched offerings, per key, in time order.
            models.Index(
                fields=["offering", "meter", "tier", "valid_from"], name="pricespan_key_time"
            ),
            # A source's spans key by key: ingest's loads, and the spans download, which
            # walks them pair by pair rather than sorting them all (dashboard/exports.py).
            models.Index(
                fields=["source", "offering", "meter", "tier", "valid_from"],
                name="pricespan_source_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.slug} {self.offering_id} {self.meter} {self.usd_per_mtok}"


class PendingPrice(SpanKey):
    """A suspicious observation held until a second run (or an operator) confirms it."""

    class Kind(models.TextChoices):
        JUMP = "jump", "Changed by 10x or more"
        ZERO = "zero", "Dropped to zero"
        VANISHED = "vanished", "No longer reported"

    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        REJECTED = "rejected"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="pending")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    usd_per_mtok = models.DecimalField(
        max_digits=USD_DIGITS, decimal_places=USD_PLACES, null=True, blank=True
    )
    original_amount = models.DecimalField(
        max_digits=STATED_DIGITS, decimal_places=STATED_PLACES, null=True, blank=True
    )
    original_currency = models.CharField(max_length=3, blank=True)
    original_unit = models.CharField(max_length=8, choices=PriceUnit.choices, blank=True)
    # The rate usd_per_mtok was converted with (a non-USD price): the span an operator's
    # confirmation creates links to it, as one recorded from a run does.
    fx_rate = models.ForeignKey(FxRate, null=True, blank=True, on_delete=models.PROTECT)
    previous_usd_per_mtok = models.DecimalField(
        max_digits=USD_DIGITS, decimal_places=USD_PLACES, null=True, blank=True
    )
    effective_at = models.DateTimeField()
    first_observed_at = models.DateTimeField()
    run = models.ForeignKey(ScrapeRun, null=True, blank=True, on_delete=models.SET_NULL)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-first_observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "offering", "meter", "tier"],
                condition=Q(status="pending"),
                name="pendingprice_one_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.offering} {self.meter} -> {self.usd_per_mtok}"


class PriceChange(SpanKey):
    """An append-only event: the published price of (offering, meter, tier) changed.

    `kind` says whether a price appeared, changed or vanished. A backfill can show that an
    earlier event no longer holds; it is then marked `retracted_at`, never deleted.
    """

    class Kind(models.TextChoices):
        LISTED = "listed"
        CHANGED = "changed"
        DELISTED = "delisted"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    old_usd_per_mtok = models.DecimalField(
        max_digits=USD_DIGITS, decimal_places=USD_PLACES, null=True, blank=True
    )
    new_usd_per_mtok = models.DecimalField(
        max_digits=USD_DIGITS, decimal_places=USD_PLACES, null=True, blank=True
    )
    ratio = models.DecimalField(
        max_digits=24, decimal_places=12, null=True, blank=True, help_text="new / old"
    )
    changed_at = models.DateTimeField(help_text="When the new price took effect.")
    detected_at = models.DateTimeField()
    source = models.ForeignKey(
        Source,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Source of the new price.",
    )
    span = models.ForeignKey(PriceSpan, null=True, blank=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(ScrapeRun, null=True, blank=True, on_delete=models.SET_NULL)
    is_backfill = models.BooleanField(
        default=False, help_text="Learnt after the fact (backfill, ledger): never alerted on."
    )
    retracted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "meter", "tier", "changed_at"],
                condition=Q(retracted_at__isnull=True),
                name="pricechange_one_per_transition",
            ),
        ]
        indexes = [
            # The changes feed: newest first.
            models.Index(fields=["-changed_at"], name="pricechange_recent"),
            # The cache key of every page: MAX(retracted_at) without a scan of every change.
            models.Index(
                fields=["retracted_at"],
                name="pricechange_retracted",
                condition=Q(retracted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering} {self.meter} {self.old_usd_per_mtok} -> {self.new_usd_per_mtok}"

    @staticmethod
    def ratio_of(old: Decimal | None, new: Decimal | None) -> Decimal | None:
        if old is None or new is None or old == 0:
            return None
        return (new / old).quantize(Decimal("0.000000000001"))


class PriceDisagreement(SpanKey):
    """A source whose current price for an offering differs from the published one by more
    than 1 %. Opened when seen, resolved (never deleted) when the two agree again."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="disagreements")
    usd_per_mtok = models.DecimalField(max_digits=USD_DIGITS, decimal_places=USD_PLACES)
    published_source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    published_usd_per_mtok = models.DecimalField(max_digits=USD_DIGITS, decimal_places=USD_PLACES)
    difference = models.DecimalField(
        max_digits=14, decimal_places=6, help_text="(this - published) / published"
    )
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["offering", "meter", "tier", "source"],
                condition=Q(resolved_at__isnull=True),
                name="pricedisagreement_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offering} {self.meter}: {self.source} {self.difference:+.1%}"


class Series(models.Model):
    """A historical series used as an analogy (aluminium after 1886, ...), or the CPI.

    Points keep the value as published; `real` is computed in dollars of `cpi_base_year`.
    """

    class Kind(models.TextChoices):
        PRICE = "price"
        QUANTITY = "quantity"
        INDEX = "index"

    class Basis(models.TextChoices):
        NOMINAL = "nominal", "Current dollars of each year"
        REAL = "real", "Constant dollars of basis_year"

    slug = models.CharField(max_length=64, unique=True, validators=[SLUG_RE])
    title = models.CharField(max_length=200)
    unit = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRICE)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.NOMINAL)
    basis_year = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.TextField()
    source_url = models.URLField(max_length=500, blank=True)
    licence = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True)
    splice = models.TextField(blank=True)
    breakthrough_date = models.DateField(null=True, blank=True)
    breakthrough_event = models.CharField(max_length=300, blank=True)
    cpi_base_year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The year whose dollars `real` values are in."
    )

    class Meta:
        verbose_name_plural = "series"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


class SeriesPoint(models.Model):
    class Quality(models.TextChoices):
        MEASURED = "measured"
        ESTIMATED = "estimated"
        APPROXIMATE = "approximate"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="points")
    date = models.DateField()
    value = models.DecimalField(
        max_digits=30,
        decimal_places=12,
        help_text="As published, in the series' unit and basis.",
    )
    nominal = models.DecimalField(
        max_digits=30,
        decimal_places=12,
        null=True,
        blank=True,
        help_text="Current dollars of the point's year (derived via CPI for real series).",
    )
    real = models.DecimalField(
        max_digits=30,
        decimal_places=12,
        null=True,
        blank=True,
        help_text="Constant dollars of the series' cpi_base_year (prices only).",
    )
    quality = models.CharField(max_length=12, choices=Quality.choices, default=Quality.MEASURED)
    note = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["series", "date"]
        constraints = [
            models.UniqueConstraint(fields=["series", "date"], name="seriespoint_unique_date"),
            models.CheckConstraint(condition=Q(value__gte=0), name="seriespoint_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.series.slug} {self.date} {self.value}"
