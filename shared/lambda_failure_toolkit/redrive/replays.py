"""How many times an SQS message was replayed, carried on the message itself: a message attribute,
`dlq.replays`, `{"count": N, "last_at": "<ISO 8601>"}`, set on each copy a redrive sends. SQS keeps
message attributes when it moves a message to its DLQ, so the count survives the loop from a DLQ
to its queue and back. SQS allows 10 attributes a message: one that has 10 others goes without the
count (it is then counted from 0, and said in the log)."""

import json
from datetime import datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

__all__ = ["REPLAYS_ATTRIBUTE", "Attributes", "replayed", "with_one_more"]

REPLAYS_ATTRIBUTE: Final = "dlq.replays"
_MAX_ATTRIBUTES: Final = 10

Attributes = dict[str, "MessageAttributeValueOutputTypeDef"]


def replayed(attributes: Attributes) -> int:
    """The count the message carries (0 when it carries none, or one this code did not write)."""
    carried = attributes.get(REPLAYS_ATTRIBUTE)
    value = carried.get("StringValue") if carried is not None else None
    try:
        count = json.loads(value or "{}").get("count", 0)
    except (ValueError, AttributeError):
        return 0
    return count if isinstance(count, int) and count >= 0 else 0


def with_one_more(attributes: Attributes, at: datetime) -> Attributes | None:
    """The attributes with the count one higher and `at`; None when SQS's limit leaves no room."""
    if REPLAYS_ATTRIBUTE not in attributes and len(attributes) >= _MAX_ATTRIBUTES:
        return None
    value = json.dumps({"count": replayed(attributes) + 1, "last_at": at.isoformat()})
    return {**attributes, REPLAYS_ATTRIBUTE: {"DataType": "String", "StringValue": value}}
