"""The failure ledger: one entry per failure AWS reported, its original event kept for a redrive.

from lambda_failure_toolkit.ledger import FailureLedger, LedgerFilter

page = ledger.list(LedgerFilter(function_name="order-events-dev", conditions={"RetriesExhausted"}))
entry = ledger.get(page.entries[0].failure_id)   # with its payload (and stream records)
"""

from lambda_failure_toolkit.ledger.consumer import FailureConsumer
from lambda_failure_toolkit.ledger.models import (
    LedgerEntry,
    LedgerFilter,
    LedgerPage,
    LedgerSummary,
    PayloadStatus,
    RedriveStatus,
    Rehydration,
    RehydrationStatus,
    as_utc,
)
from lambda_failure_toolkit.ledger.rehydrate import StreamRehydrator
from lambda_failure_toolkit.ledger.report import AlertPublisher, BatchReport, Consumed, ConsumedAs
from lambda_failure_toolkit.ledger.store import FailureLedger, LedgerEntryNotFoundError, LedgerError

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
    "PayloadStatus",
    "RedriveStatus",
    "Rehydration",
    "RehydrationStatus",
    "StreamRehydrator",
    "as_utc",
]
