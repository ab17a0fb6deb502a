"""The one exception `parse_failure` raises."""

from enum import StrEnum

__all__ = ["UnrecognizedFailureError", "UnrecognizedReason"]


class UnrecognizedReason(StrEnum):
    """Why a raw input was not turned into a `FailureRecord` (stable values: use them in metrics)."""

    NOT_JSON = "not_json"
    """Text that is not JSON, or a value that is neither a mapping nor JSON text."""
    UNKNOWN_SHAPE = "unknown_shape"
    """Valid JSON whose keys match none of the shapes AWS writes."""
    INVALID_RECORD = "invalid_record"
    """The keys say which shape it is, but a field is missing or has the wrong type or value."""
    BATCH_EVENT = "batch_event"
    """A whole Lambda event (`{"Records": [...]}`) where one record was expected."""
    S3_NOTIFICATION = "s3_notification"
    """An S3 event notification: the failure record is in the object it points to."""
    TOO_DEEP = "too_deep"
    """JSON text nested deeper than Python can decode (deep but decodable payloads are INVALID_RECORD)."""


class UnrecognizedFailureError(ValueError):
    """Raised by `parse_failure` for any input that is not a failure record AWS writes.

    The message says where in the input the problem is, what was seen and what was expected.
    It never quotes payload values, only keys and types, so it is safe to log.

    Attributes:
        reason: a stable machine-readable category.
        path: the envelopes peeled before the problem, outermost first (e.g. ``("sqs", "sns")``).
        seen: a short description of the offending value (its type and keys).
        expected: what would have been accepted there.
    """

    def __init__(
        self, reason: UnrecognizedReason, *, path: tuple[str, ...], seen: str, expected: str
    ) -> None:
        self.reason = reason
        self.path = path
        self.seen = seen
        self.expected = expected
        where = " > ".join(path) if path else "top level"
        super().__init__(
            f"unrecognized failure record ({reason}) at {where}: saw {seen}; expected {expected}"
        )
