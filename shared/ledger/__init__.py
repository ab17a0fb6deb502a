"""The failure ledger: one entry per failure AWS reported, its original event kept for a redrive.

from shared.ledger import FailureLedger, LedgerFilter

page = ledger.list(LedgerFilter(function_name="order-events-dev", conditions={"RetriesExhausted"}))
entry = ledger.get(page.entries[0].failure_id)   # with its payload (and stream records)
"""

from shared.ledger.consumer import AlertPublisher, BatchReport, Consumed, ConsumedAs, FailureConsumer
from shared.ledger.models import (
    LedgerEntry,
    LedgerFilter,
    LedgerPage,
    LedgerSummary,
    RedriveStatus,
    Rehydration,
    RehydrationStatus,
    as_utc,
)
from shared.ledger.rehydrate import StreamRehydrator
from shared.ledger.store import FailureLedger, LedgerEntryNotFoundError, LedgerError

__all__ = [
    "AlertPublisher",
    "BatchReport",
    "Consumed",
    "ConsumedAs",
    "FailureConsumer",
    "FailureLedger",
    "LedgerEntry",
    "LedgerEntryNotFoundError",
    "LedgerError",
    "LedgerFilter",
    "LedgerPage",
    "LedgerSummary",
    "RedriveStatus",
    "Rehydration",
    "RehydrationStatus",
    "StreamRehydrator",
    "as_utc",
]
