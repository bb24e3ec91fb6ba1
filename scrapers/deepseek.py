"""DeepSeek's own "Models & Pricing" page (api-docs.deepseek.com, a Docusaurus site).

The prices are an HTML table written into the page's Markdown. Its layout has changed often:

- until late February 2025, one row per model under a header row (MODEL | CONTEXT LENGTH |
  ... | 1M TOKENS INPUT PRICE (CACHE HIT) | ... ), with USD and CNY versions in two tabs;
- from 26 February 2025, models as columns (MODEL | deepseek-chat | deepseek-reasoner) and
  two row groups, STANDARD PRICE (UTC 00:30-16:30) and DISCOUNT PRICE (UTC 16:30-00:30), the
  latter becoming the `off_peak` tier; the Chinese page (zh-cn) has the same table in yuan;
- from 5 September 2025, one PRICING row group whose cells span both models (no discount);
  while the change was announced, the page carried the coming table after "Starting from
  16:00 UTC Time on Sept 5th, 2025, ..." and the current one after it: such a stated start
  becomes the quotes' `valid_from`.

The parser reads tables as grids (rowspan and colspan expanded), finds the MODEL row or column
and classifies each price row by its label: cache hit -> cache_read, cache miss -> input,
output -> output. Currency comes from each cell ("$" or "¥"/"元").
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

from scrapers.base import Fetched, HttpClient, Parsed, ParseError
from tracker.ingest import Quote, QuoteError
from tracker.models import Meter, PriceUnit, Source

SLUG = "deepseek"
NAME = "DeepSeek API docs: Models & Pricing"
URL = "https://api-docs.deepseek.com/quick_start/pricing"
ZH_URL = "https://api-docs.deepseek.com/zh-cn/quick_start/pricing"  # the same table in CNY
KIND = Source.Kind.PROVIDER_PAGE
PRIORITY = 10
INTERVAL = dt.timedelta(hours=6)
COMPLETE = False
LICENCE = "DeepSeek documentation (facts)"

PROVIDER = "deepseek"
PROVIDER_NAME = "DeepSeek"
# Every pricing table must state these; one missing means the layout changed under us.
REQUIRED = {
    Meter.CACHE_READ: "input (cache hit)",
    Meter.INPUT: "input (cache miss)",
    Meter.OUTPUT: "output",
}
MAX_SPAN = 50  # rowspan/colspan beyond this is not a price table

_MODEL_LABELS = {"MODEL", "模型"}
_MODEL_ID = re.compile(r"([a-z][a-z0-9._-]*[a-z0-9])\s*\**")
_FOOTNOTE = re.compile("[(\uff08]\\d+[)\uff09]")  # "(1)", also in fullwidth brackets
_PRICE = re.compile(
    r"(?P<sign>[$¥￥])\s*(?P<a>\d+(?:\.\d+)?)|(?P<b>\d+(?:\.\d+)?)\s*(?P<word>元|USD|CNY|RMB)"
)
_CURRENCIES = {"$": "USD", "USD": "USD", "¥": "CNY", "￥": "CNY", "元": "CNY", "CNY": "CNY",
               "RMB": "CNY"}  # fmt: skip
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KM])\b", re.IGNORECASE)
_STARTING = re.compile(
    r"(?:starting|effective)\s+(?:from\s+)?(\d{1,2}):(\d{2})\s*UTC(?:\s+time)?\s+on\s+"
    r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})",
    re.IGNORECASE,
)
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
)}  # fmt: skip


def fetch(client: HttpClient, url: str) -> Fetched:
    return client.get(url, dt.datetime.now(dt.UTC))


def parse(fetched: Fetched) -> Parsed:
    """Quotes from every pricing table on the page. Raises ParseError when there is none, or
    when a pricing table lacks one of the REQUIRED price rows."""
    reader = _TableReader()
    reader.feed(fetched.body.decode("utf-8", errors="replace"))
    reader.close()
    parsed = Parsed(quotes=[])
    candidates: list[Quote] = []
    pricing_tables = 0
    for table in reader.tables:
        found = _table_quotes(table, parsed.skipped)
        if found is not None:
            pricing_tables += 1
            candidates += found
    if not pricing_tables:
        raise ParseError(SLUG, "no pricing table (a MODEL row and per-1M-token price rows)")
    parsed.quotes = _deduplicate(candidates, parsed.skipped)
    if not parsed.quotes:
        raise ParseError(SLUG, "no prices found in the pricing table")
    return parsed


# --- reading HTML tables --------------------------------------------------------------------


@dataclass
class _Cell:
    text: str
    rowspan: int
    colspan: int


@dataclass
class _Table:
    before: str  # the page text between the previous table (or the page start) and this one
    rows: list[list[_Cell]] = field(default_factory=list)


class _TableReader(HTMLParser):
    """Collects each <table> as rows of cells; footnote markers (<sup>) are left out."""

    SKIP = {"script", "style", "sup", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._stack: list[_Table] = []
        self._row: list[_Cell] | None = None
        self._cell: list[str] | None = None
        self._spans = (1, 1)
        self._skipping = 0
        self._between: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag == "table":
            before = " ".join(" ".join(self._between).split())[-400:]
            self._stack.append(_Table(before))
            self._row, self._cell = None, None
        elif not self._stack:
            if tag in ("br", "p", "div", "h1", "h2", "h3", "li"):
                self._between.append(" ")
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []
            named = dict(attrs)
            self._spans = (_span(named.get("rowspan")), _span(named.get("colspan")))
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif not self._stack:
            return
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.tables.append(self._stack.pop())
            self._between = []

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif not self._stack:
            self._between.append(data)

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row.append(_Cell(text, *self._spans))
        self._cell = None
        self._skipping = 0  # an unclosed <sup> ends with its cell

    def _end_row(self) -> None:
        self._end_cell()
        if self._row and self._stack:
            self._stack[-1].rows.append(self._row)
        self._row = None


def _span(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MAX_SPAN)
    except ValueError:
        return 1


def _grid(rows: list[list[_Cell]]) -> list[list[str]]:
    """The table as a rectangle of texts, a spanning cell's text repeated in every slot."""
    grid: list[list[str]] = []
    pending: dict[int, tuple[str, int]] = {}  # column -> (text, rows still covered)
    for row in rows:
        line: list[str] = []
        for cell in row:
            _fill_pending(line, pending)
            for _ in range(cell.colspan):
                if cell.rowspan > 1:
                    pending[len(line)] = (cell.text, cell.rowspan - 1)
                line.append(cell.text)
        _fill_pending(line, pending)
        while any(col >= len(line) for col in pending):
            line.append("")
            _fill_pending(line, pending)
        grid.append(line)
    width = max((len(line) for line in grid), default=0)
    return [line + [""] * (width - len(line)) for line in grid]


def _fill_pending(line: list[str], pending: dict[int, tuple[str, int]]) -> None:
    """Put the cells that rows above span down into this row, at the row's current end."""
    while len(line) in pending:
        text, left = pending.pop(len(line))
        if left > 1:
            pending[len(line)] = (text, left - 1)
        line.append(text)


# --- making sense of a pricing table --------------------------------------------------------


def _label(text: str) -> str:
    return " ".join(_FOOTNOTE.sub(" ", text).upper().split())


def _model_id(text: str) -> str | None:
    match = _MODEL_ID.fullmatch(_FOOTNOTE.sub("", text).strip())
    return match.group(1) if match else None


def _models_to_the_right(grid: list[list[str]]) -> tuple[int, list[int]] | None:
    """The row holding MODEL followed by model ids, and the columns of those ids."""
    for r, line in enumerate(grid):
        for c, text in enumerate(line):
            if _label(text) not in _MODEL_LABELS:
                continue
            columns = [j for j in range(c + 1, len(line)) if line[j] != text]
            if columns and all(_model_id(line[j]) for j in columns):
                return r, columns
    return None


def _meter(label: str) -> str | None:
    if "1M" not in label and "百万" not in label:
        return None
    if "CACHE MISS" in label or "缓存未命中" in label:
        return Meter.INPUT
    if "CACHE HIT" in label or "缓存命中" in label:
        return Meter.CACHE_READ
    if "OUTPUT" in label or "输出" in label:
        return Meter.OUTPUT
    if "INPUT" in label or "输入" in label:
        return Meter.INPUT
    return None


def _tier(label: str) -> str:
    if any(word in label for word in ("DISCOUNT", "OFF-PEAK", "OFF PEAK", "优惠", "空闲", "闲时")):
        return "off_peak"
    if "PEAK" in label or "高峰" in label:
        return "peak"
    return ""


def _price(text: str) -> tuple[Decimal, str] | None:
    match = _PRICE.search(text)
    if match is None:
        return None
    number = match.group("a") or match.group("b")
    currency = _CURRENCIES[match.group("sign") or match.group("word")]
    try:
        return Decimal(number), currency
    except InvalidOperation:
        return None


def _context_window(text: str) -> int | None:
    match = _SIZE.search(text)
    if match is None:
        return None
    scale = 1_000 if match.group(2).upper() == "K" else 1_000_000
    return int(Decimal(match.group(1)) * scale)


def _stated_start(text: str) -> dt.datetime | None:
    """When the text before a table says "Starting from 16:00 UTC Time on Sept 5th, 2025"."""
    match = _STARTING.search(text)
    if match is None:
        return None
    hour, minute, month, day, year = match.groups()
    try:
        return dt.datetime(
            int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), tzinfo=dt.UTC
        )
    except (KeyError, ValueError):
        return None


def _table_quotes(table: _Table, skipped: Counter[str]) -> list[Quote] | None:
    """The table's quotes, or None if it is not a pricing table (no per-1M-token price rows)."""
    grid = _grid(table.rows)
    header = _models_to_the_right(grid)
    if header is None:  # one row per model: read the transposed table
        grid = [list(column) for column in zip(*grid, strict=True)] if grid else []
        header = _models_to_the_right(grid)
    has_prices = any(_meter(_label(" ".join(line))) for line in grid)
    if header is None:
        if has_prices:
            raise ParseError(SLUG, "a price table without a MODEL row (layout changed?)")
        return None
    head_row, columns = header
    models = {j: _model_id(grid[head_row][j]) or "" for j in columns}
    first = min(columns)
    windows: dict[str, int | None] = {}
    rows: list[tuple[str, str, list[str]]] = []  # (meter, tier, line)
    for line in grid[head_row + 1 :]:
        parts: list[str] = []
        for text in line[:first]:
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        label = _label(" ".join(parts))
        if "CONTEXT LENGTH" in label or "上下文长度" in label:
            windows = {models[j]: _context_window(line[j]) for j in columns}
        meter = _meter(label)
        if meter is not None:
            rows.append((meter, _tier(label), line))
    if not rows:
        return None
    missing = [name for meter, name in REQUIRED.items() if meter not in {m for m, _, _ in rows}]
    if missing:
        raise ParseError(SLUG, f"pricing table has no {' or '.join(missing)} price row")
    valid_from = _stated_start(table.before)
    quotes = []
    for meter, tier, line in rows:
        for j in columns:
            price = _price(line[j])
            if price is None:
                skipped["cell without a price"] += 1
                continue
            amount, currency = price
            try:
                quotes.append(
                    Quote(
                        provider=PROVIDER,
                        provider_name=PROVIDER_NAME,
                        provider_model_id=models[j],
                        meter=meter,
                        tier=tier,
                        amount=amount,
                        unit=PriceUnit.MILLION,
                        currency=currency,
                        valid_from=valid_from,
                        model_name=models[j],
                        creator=PROVIDER,
                        context_window=windows.get(models[j]),
                    )
                )
            except QuoteError:
                skipped["malformed price"] += 1
    return quotes


def _deduplicate(candidates: list[Quote], skipped: Counter[str]) -> list[Quote]:
    """One quote per (model, meter, tier, start). A price stated in USD and CNY (the two tabs of
    the early 2025 page) is kept in USD; different amounts for one key are dropped, counted."""
    groups: dict[tuple[str, str, str, dt.datetime | None], list[Quote]] = {}
    for quote in candidates:
        groups.setdefault((*quote.key[1:], quote.valid_from), []).append(quote)
    kept = []
    for group in groups.values():
        if len({q.currency for q in group}) > 1 and any(q.currency == "USD" for q in group):
            for quote in group:
                if quote.currency != "USD":
                    skipped[f"{quote.currency} price also stated in USD"] += 1
            group = [q for q in group if q.currency == "USD"]
        if len({(q.currency, q.amount) for q in group}) > 1:
            skipped["conflicting prices for one model, meter and tier"] += len(group)
            continue
        kept.append(group[0])
    return kept
