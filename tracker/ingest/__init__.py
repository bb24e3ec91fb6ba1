"""Ingest: normalise quotes to USD per 1M tokens, validate, and record them as spans."""

from tracker.ingest.quotes import Quote, QuoteError
from tracker.ingest.record import IngestError, RecordResult, confirm_pending, record

__all__ = ["IngestError", "Quote", "QuoteError", "RecordResult", "confirm_pending", "record"]
