"""Anthropic's API pricing page, read in the Markdown form the docs serve when `.md` is appended.

`docs.anthropic.com/en/docs/about-claude/pricing.md` redirects to the same page on the newer
docs host, `platform.claude.com/docs/en/about-claude/pricing.md`; either answers with the page
source. The tables read, each found by the heading it sits under:

- "Model pricing": | Model | Base Input Tokens | 5m Cache Writes | 1h Cache Writes |
  Cache Hits & Refreshes | Output Tokens |, cells like "$3 / MTok". Every column is required:
  a missing one means the page changed layout and raises ParseError naming it.
- "Batch processing": | Model | Batch input | Batch output | -> batch meters.
- "Long context pricing" (2025 to early 2026): prices for prompts over 200K input tokens ->
  tier `over_200k`. The 2025 page has no Model column and names the models in the sentence
  above the table ("When using Claude Sonnet 4 or Sonnet 4.5 with ..."); a later layout has a
  Model column with "Input: $10 / MTok<br>Output: $37.50 / MTok" cells.
- "Fast mode pricing" (2026): | Model | Input | Output | -> tier `fast`.

Model names ("Claude Sonnet 4.5", "Claude Opus 4 ([deprecated](...))") are cleaned of status
notes and footnote markers and mapped to API ids by MODEL_IDS (the ids genai-prices uses). A
name not in the map gets an id derived from it and is counted as unmapped, for an operator to
add. The page lists current models only, so the source is not complete.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from scrapers.base import Fetched, HttpClient, Parsed, ParseError
from tracker.ingest import Quote, QuoteError
from tracker.models import Meter, PriceUnit, Source

SLUG = "anthropic"
NAME = "Anthropic API pricing page"
URL = "https://docs.anthropic.com/en/docs/about-claude/pricing.md"
KIND = Source.Kind.PROVIDER_PAGE
PRIORITY = 10
INTERVAL = dt.timedelta(hours=6)
COMPLETE = False
LICENCE = "Anthropic documentation (facts)"

PROVIDER = "anthropic"
PROVIDER_NAME = "Anthropic"

# Names as the page writes them -> the API ids pydantic/genai-prices uses for these models.
MODEL_IDS = {
    "Claude Fable 5": "claude-fable-5",
    "Claude Opus 5": "claude-opus-5",
    "Claude Sonnet 5": "claude-sonnet-5",
    "Claude Opus 4.8": "claude-opus-4-8",
    "Claude Opus 4.7": "claude-opus-4-7",
    "Claude Opus 4.6": "claude-opus-4-6",
    "Claude Opus 4.5": "claude-opus-4-5",
    "Claude Opus 4.1": "claude-opus-4-1",
    "Claude Opus 4": "claude-opus-4-0",
    "Claude Sonnet 4.6": "claude-sonnet-4-6",
    "Claude Sonnet 4.5": "claude-sonnet-4-5",
    "Claude Sonnet 4": "claude-sonnet-4-0",
    "Claude Haiku 4.5": "claude-haiku-4-5",
    "Claude Sonnet 3.7": "claude-3-7-sonnet-latest",
    "Claude Sonnet 3.5": "claude-3-5-sonnet",
    "Claude Haiku 3.5": "claude-3-5-haiku-latest",
    "Claude Opus 3": "claude-3-opus-latest",
    "Claude Sonnet 3": "claude-3-sonnet",
    "Claude Haiku 3": "claude-3-haiku",
    # The 2024 page's word order.
    "Claude 3.7 Sonnet": "claude-3-7-sonnet-latest",
    "Claude 3.5 Sonnet": "claude-3-5-sonnet",
    "Claude 3.5 Haiku": "claude-3-5-haiku-latest",
    "Claude 3 Opus": "claude-3-opus-latest",
    "Claude 3 Sonnet": "claude-3-sonnet",
    "Claude 3 Haiku": "claude-3-haiku",
}

MODEL = "Model"
# Column label as the page writes it -> (pattern on the normalised header, meter, tier).
MAIN_COLUMNS: dict[str, tuple[str, str, str]] = {
    "Base Input Tokens": (r"^base input", Meter.INPUT, ""),
    "5m Cache Writes": (r"^5[ -]?m(in(ute)?s?)? cache write", Meter.CACHE_WRITE, ""),
    "1h Cache Writes": (r"^1[ -]?h(our)? cache write", Meter.CACHE_WRITE, "ttl_1h"),
    "Cache Hits & Refreshes": (r"^cache hit", Meter.CACHE_READ, ""),
    "Output Tokens": (r"^output", Meter.OUTPUT, ""),
}
BATCH_COLUMNS: dict[str, tuple[str, str, str]] = {
    "Batch input": (r"^batch input", Meter.BATCH_INPUT, ""),
    "Batch output": (r"^batch output", Meter.BATCH_OUTPUT, ""),
}
FAST_COLUMNS: dict[str, tuple[str, str, str]] = {
    "Input": (r"^input", Meter.INPUT, "fast"),
    "Output": (r"^output", Meter.OUTPUT, "fast"),
}
UNITS = {"mtok": PriceUnit.MILLION, "ktok": PriceUnit.THOUSAND}
LABELLED_METERS = {"input": Meter.INPUT, "output": Meter.OUTPUT}

_PRICE = re.compile(r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*/\s*(MTok|KTok)\b", re.IGNORECASE)
_LABELLED_PRICE = re.compile(
    r"\b(input|output)\s*:\s*\$\s*(\d[\d,]*(?:\.\d+)?)\s*/\s*(MTok|KTok)\b", re.IGNORECASE
)
_THRESHOLD = re.compile(r"^>\s*(\d+(?:\.\d+)?)\s*([km])\b")
_STATUS_NOTE = re.compile(
    r"\s*\((?:[^()]*\]\([^)]*\)[^()]*|\s*(?:deprecated|retired|legacy|limited availability)"
    r"[^()]*)\)",
    re.IGNORECASE,
)
_FOOTNOTE = re.compile(r"<sup>.*?</sup>|\[\^[^\]]*\]|[*†‡¹²³⁴⁵⁶⁷⁸⁹⁰]+", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_STRUCK = re.compile(r"~~.*?~~")
_MODELS_IN_PROSE = re.compile(r"\bwhen using (.+?) with\b", re.IGNORECASE)


@dataclass
class _Table:
    heading: str  # the nearest heading above, normalised
    prose: str  # text between that heading and the table
    header: list[str]
    rows: list[list[str]]


@dataclass
class _Quotes:
    """Collects quotes: one per (model, meter, tier), the first one kept, conflicts counted."""

    parsed: Parsed
    unmapped: set[str] = field(default_factory=set)

    def add(self, name: str, meter: str, tier: str, amount: Decimal, unit: str) -> None:
        model_id = MODEL_IDS.get(name)
        if model_id is None:
            model_id = _derived_id(name)
            if name not in self.unmapped:
                self.unmapped.add(name)
                self.parsed.skipped[f"unmapped model name {name}"] += 1
        quote = Quote(
            provider=PROVIDER,
            provider_name=PROVIDER_NAME,
            provider_model_id=model_id,
            meter=meter,
            tier=tier,
            amount=amount,
            unit=unit,
            currency="USD",
            model_name=name,
            creator=PROVIDER,
        )
        # valid_from is always None here: the page states no effective dates.
        self.parsed.add(quote)


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes from the model pricing, batch, long context and fast mode tables. Raises
    ParseError if the page is not Markdown, has no model pricing table, or if a table's
    layout changed (a required column is missing)."""
    try:
        text = fetched.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(SLUG, f"not UTF-8 text: {exc}") from None
    if re.match(r"\s*(<!doctype html|<html)", text.lstrip("\ufeff"), re.IGNORECASE):
        raise ParseError(SLUG, "got an HTML page, not the Markdown pricing page")
    tables = _tables(text)
    main = _main_table(tables)
    if main is None:
        raise ParseError(SLUG, "no model pricing table (| Model | Base Input Tokens | ...)")
    quotes = _Quotes(Parsed(quotes=[]))
    _read_prices(main, MAIN_COLUMNS, "model pricing", quotes)
    if not quotes.parsed.quotes:
        raise ParseError(SLUG, "the model pricing table has no readable prices")

    batch = _section_table(tables, "batch")
    if batch is None:
        quotes.parsed.skipped["page without a batch pricing table"] += 1
    else:
        _read_prices(batch, BATCH_COLUMNS, "batch pricing", quotes)
    fast = _section_table(tables, "fast mode")
    if fast is not None:
        _read_prices(fast, FAST_COLUMNS, "fast mode pricing", quotes)
    for table in tables:
        if "long context" in table.heading and _threshold_column(table) is not None:
            _read_long_context(table, quotes)
    return quotes.parsed


def _tables(text: str) -> list[_Table]:
    """Every pipe table in the page, with the heading and prose above it."""
    tables: list[_Table] = []
    heading, prose = "", list[str]()
    lines = text.splitlines()
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            pass
        elif line.startswith("#"):
            heading, prose = _normalise(_LINK.sub(r"\1", line.lstrip("#"))), []
        elif line.startswith("|") and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i].strip()))
                i += 1
            tables.append(_Table(heading, " ".join(prose), header, rows))
            continue
        elif line:
            prose.append(line)
        i += 1
    return tables


def _is_rule(line: str) -> bool:
    cells = _cells(line.strip())
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells)


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.replace("\\|", "|").strip() for cell in re.split(r"(?<!\\)\|", inner)]


def _normalise(header: str) -> str:
    text = _TAG.sub(" ", _FOOTNOTE.sub("", header)).replace("\\", "").replace("**", "")
    text = text.replace("&", " and ").replace("≤", "<=")
    return re.sub(r"\s+", " ", text).strip().lower()


def _main_table(tables: list[_Table]) -> _Table | None:
    """The first table under "Model pricing"; failing that, the first table with a base input
    column, so that a renamed heading does not hide the table."""
    for table in tables:
        if table.heading == "model pricing":
            return table
    for table in tables:
        header = [_normalise(h) for h in table.header]
        if header and header[0] == "model" and any(h.startswith("base input") for h in header):
            return table
    return None


def _section_table(tables: list[_Table], heading: str) -> _Table | None:
    """The first table under a heading containing `heading` ("batch", "fast mode")."""
    return next((table for table in tables if heading in table.heading), None)


def _columns(
    table: _Table, spec: dict[str, tuple[str, str, str]], what: str, quotes: _Quotes
) -> dict[int, tuple[str, str, str]]:
    """Column index -> (label, meter, tier). Raises ParseError naming a missing column."""
    header = [_normalise(h) for h in table.header]
    if not header or header[0] != "model":
        raise ParseError(SLUG, f"{what} table has no {MODEL!r} column first (header: {header})")
    found: dict[int, tuple[str, str, str]] = {}
    for label, (pattern, meter, tier) in spec.items():
        matches = [i for i, h in enumerate(header) if i and re.search(pattern, h)]
        if not matches:
            raise ParseError(SLUG, f"{what} table has no {label!r} column (header: {header})")
        found[matches[0]] = (label, meter, tier)
    for i, h in enumerate(header):
        if i and i not in found:
            quotes.parsed.skipped[f"unknown column {h!r} in {what} table"] += 1
    return found


def _read_prices(
    table: _Table, spec: dict[str, tuple[str, str, str]], what: str, quotes: _Quotes
) -> None:
    columns = _columns(table, spec, what, quotes)
    for row in table.rows:
        names = _split_names(_clean_name(row[0])) if row else []
        if not names:
            quotes.parsed.skipped[f"{what} row without a model name"] += 1
            continue
        for index, (label, meter, tier) in columns.items():
            price = _price(row[index]) if index < len(row) else None
            if price is None:
                quotes.parsed.skipped[f"unreadable price in {what} column {label!r}"] += 1
                continue
            for name in names:
                _add(quotes, name, meter, tier, *price)


def _read_long_context(table: _Table, quotes: _Quotes) -> None:
    column, tier = _threshold_column(table) or (0, "")
    has_model_column = _normalise(table.header[0]) == "model"
    prose_names = [] if has_model_column else _names_in_prose(table.prose)
    for row in table.rows:
        names = _split_names(_clean_name(row[0])) if has_model_column else prose_names
        prices = _LABELLED_PRICE.findall(_clean_cell(row[column])) if column < len(row) else []
        if not prices:
            quotes.parsed.skipped["unreadable long context price"] += 1
            continue
        if not names:
            quotes.parsed.skipped["long context price without a model name"] += len(prices)
            continue
        for label, amount, unit in prices:
            value = _decimal(amount)
            if value is None:
                quotes.parsed.skipped["unreadable long context price"] += 1
                continue
            for name in names:
                _add(quotes, name, LABELLED_METERS[label.lower()], tier, value, UNITS[unit.lower()])


def _threshold_column(table: _Table) -> tuple[int, str] | None:
    """The "> 200K input tokens" column and its tier (`over_200k`)."""
    for i, header in enumerate(table.header):
        match = _THRESHOLD.match(_normalise(header))
        if match:
            number, scale = match.groups()
            return i, f"over_{number.replace('.', '_')}{scale}"
    return None


def _add(quotes: _Quotes, name: str, meter: str, tier: str, amount: Decimal, unit: str) -> None:
    try:
        quotes.add(name, meter, tier, amount, unit)
    except QuoteError as exc:
        quotes.parsed.skipped[f"invalid price ({exc.__class__.__name__})"] += 1


def _clean_cell(cell: str) -> str:
    text = _STRUCK.sub("", cell).replace("\\$", "$")
    text = re.sub(r"<sup>.*?</sup>", "", text, flags=re.IGNORECASE)
    return re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)


def _price(cell: str) -> tuple[Decimal, str] | None:
    """The one "$X / MTok" price in a cell, as stated; None if there is not exactly one."""
    prices = _PRICE.findall(_clean_cell(cell))
    if len(prices) != 1:
        return None
    amount, unit = prices[0]
    value = _decimal(amount)
    return (value, UNITS[unit.lower()]) if value is not None else None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _clean_name(raw: str) -> str:
    """The name without status notes or footnotes: "Claude Opus 3 ([deprecated](/docs/...))"
    -> "Claude Opus 3"."""
    text = _STATUS_NOTE.sub("", raw.replace("\\", ""))
    text = _TAG.sub(" ", _FOOTNOTE.sub("", _LINK.sub(r"\1", text)))
    return re.sub(r"\s+", " ", text).strip()


def _split_names(name: str) -> list[str]:
    """Names in one cell: "Claude Opus 4.6 / Claude Opus 4.7", "Claude Sonnet 4.5 / 4"."""
    parts = [part.strip() for part in name.split("/") if part.strip()]
    return _completed(parts)


def _names_in_prose(prose: str) -> list[str]:
    """Names in the sentence above a table: "When using Claude Sonnet 4 or Sonnet 4.5 with
    ..." -> both, in full."""
    match = _MODELS_IN_PROSE.search(_LINK.sub(r"\1", prose))
    if not match:
        return []
    parts = re.split(r",\s*(?:or\s+|and\s+)?|\s+(?:or|and)\s+", match.group(1))
    return _completed([part.strip() for part in parts if part.strip()])


def _completed(parts: list[str]) -> list[str]:
    """Fill in what a list of names leaves out: "Sonnet 4.5" -> "Claude Sonnet 4.5", and a bare
    version ("4") takes the family of the name before it."""
    names: list[str] = []
    for part in parts:
        if re.fullmatch(r"\d+(\.\d+)?", part) and names:
            family = re.sub(r"\s+\d+(\.\d+)?$", "", names[-1])
            part = f"{family} {part}"
        elif not part.lower().startswith("claude"):
            part = f"Claude {part}"
        names.append(part)
    return names


def _derived_id(name: str) -> str:
    """An id in the style of Anthropic's: "Claude Mythos 5" -> "claude-mythos-5"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed"
