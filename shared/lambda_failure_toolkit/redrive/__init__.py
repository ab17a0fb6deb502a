"""The redrive: replay failures safely, from a DLQ, a destination queue or the ledger.

from lambda_failure_toolkit.redrive import parse_redrive_request, RedriveTargets

request = parse_redrive_request(event, RedriveTargets(queues=..., functions=...))
"""

from lambda_failure_toolkit.redrive.message_filter import MessageFilter
from lambda_failure_toolkit.redrive.request import (
    DestinationQueueSource,
    LambdaDlqSource,
    LedgerSource,
    RedriveRequest,
    RedriveRequestError,
    SqsDlqSource,
    TargetOverride,
    parse_redrive_request,
)
from lambda_failure_toolkit.redrive.targets import RedriveTargets

__all__ = [
    "DestinationQueueSource",
    "LambdaDlqSource",
    "LedgerSource",
    "MessageFilter",
    "RedriveRequest",
    "RedriveRequestError",
    "RedriveTargets",
    "SqsDlqSource",
    "TargetOverride",
    "parse_redrive_request",
]
