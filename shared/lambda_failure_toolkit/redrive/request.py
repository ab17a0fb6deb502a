"""What an operator asks a redrive to do: a typed request, checked whole before anything is touched.

A request names one source (a DLQ of SQS queues, a Lambda async DLQ, an on-failure destination
queue, or ledger entries), optionally a target override, filters and limits. It is a dry run
unless it says `"dry_run": false`. `parse_redrive_request` turns the raw request (a Lambda event,
or the command line's options) into a `RedriveRequest`, or raises `RedriveRequestError` naming
every problem: an unknown field, a limit out of range, a bad pattern or JMESPath expression, a
target outside the deployment's allow-list.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from lambda_failure_toolkit.ledger import LedgerFilter
from lambda_failure_toolkit.redrive.message_filter import MessageFilter
from lambda_failure_toolkit.redrive.strict import Strict
from lambda_failure_toolkit.redrive.targets import RedriveTargets, listed

__all__ = [
    "INVOKE_CONCURRENCY",
    "MAX_CONCURRENCY",
    "QUEUE_CONCURRENCY",
    "DestinationQueueSource",
    "LambdaDlqSource",
    "LedgerSource",
    "RedriveRequest",
    "RedriveRequestError",
    "SqsDlqSource",
    "TargetOverride",
    "parse_redrive_request",
]

MAX_CONCURRENCY: Final = 20
QUEUE_CONCURRENCY: Final = 16
"""Workers of an SQS DLQ's move when the request names none. At AWS's 5 to 20 ms a call, one worker
moves about 200 messages a second (receive, send, delete: 10 at a time); 16 put enough calls in
flight to pass StartMessageMoveTask's 500 a second, and a queue's consumer scales by itself on
what arrives (decision log 64)."""
INVOKE_CONCURRENCY: Final = 4
"""Workers of a redrive that invokes functions (Lambda DLQs, destination records, the ledger) when
the request names none: each invoke in flight feeds the target function's own concurrency, so the
default stays low; `concurrency` or `rate_per_second` say more."""

_QUEUE_URL = r"^https?://[^\s/]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$"
_FUNCTION = (
    r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
)


class SqsDlqSource(Strict):
    """An SQS DLQ of SQS queues: asks for its messages to go back to their source queue, or to `target`."""

    type: Literal["sqs_dlq"]
    queue_url: str = Field(pattern=_QUEUE_URL)


class LambdaDlqSource(Strict):
    """A Lambda async DLQ: asks for each body to be re-invoked asynchronously on `function` (the DLQ
    message does not say which function failed)."""

    type: Literal["lambda_dlq"]
    queue_url: str = Field(pattern=_QUEUE_URL)
    function: str = Field(pattern=_FUNCTION)


class DestinationQueueSource(Strict):
    """An on-failure destination queue: asks for each async invocation record's `requestPayload`
    to be re-invoked on the function (and qualifier) in its `requestContext.functionArn`, and each
    stream record's batch (read back into the ledger) to be sent to its processor."""

    type: Literal["destination_queue"]
    queue_url: str = Field(pattern=_QUEUE_URL)


class LedgerSource(Strict):
    """Ledger entries, by id or by filter: asks for each to be redriven as its kind says."""

    type: Literal["ledger"]
    failure_ids: tuple[Annotated[str, Field(pattern=r"^(async|stream|dlq|delivery)-[0-9a-f]{32}$")], ...] = ()
    filter: LedgerFilter | None = None
    cursor: str | None = Field(default=None, min_length=1, max_length=4096)
    """Where a redrive by filter that stopped part way goes on (its report's `next_request` has it)."""

    @model_validator(mode="after")
    def _ids_or_filter(self) -> Self:
        if bool(self.failure_ids) == (self.filter is not None):
            raise ValueError("name the entries by failure_ids or select them by filter (one of the two)")
        if self.cursor is not None and self.filter is None:
            raise ValueError("a cursor goes on with a filter: give the filter it was returned with")
        return self


Source = Annotated[
    SqsDlqSource | LambdaDlqSource | DestinationQueueSource | LedgerSource, Field(discriminator="type")
]


class TargetOverride(Strict):
    """Send somewhere else than the failure's own target: an allow-listed queue or function."""

    queue_url: str | None = Field(default=None, pattern=_QUEUE_URL)
    function: str | None = Field(default=None, pattern=_FUNCTION)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.queue_url is None) == (self.function is None):
            raise ValueError("a target is a queue_url or a function (one of the two)")
        return self


class RedriveRequest(Strict):
    source: Source
    target: TargetOverride | None = None
    dry_run: StrictBool = True
    """True unless the request says otherwise: a redrive that moves messages is asked for explicitly
    (with JSON's false: not "false", "no" or 0, which pydantic would otherwise take for false)."""
    # Numbers are strict too: true is not 1 and "100" is not 100 (a request says what it means).
    max_messages: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    filter: MessageFilter = MessageFilter()
    rate_per_second: float | None = Field(default=None, gt=0, le=3000, strict=True)
    concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY, strict=True)
    """Workers, each with a call in flight; None: `QUEUE_CONCURRENCY` for an SQS DLQ, else
    `INVOKE_CONCURRENCY` (`workers`)."""
    keep_source: StrictBool = False
    """Copy instead of move: the source messages stay where they are."""
    stop_after_consecutive_failures: int = Field(default=10, ge=1, le=10_000, strict=True)
    fifo_message_group_id: str | None = Field(default=None, min_length=1, max_length=128)
    """For a FIFO target when the source message has no group: the group to send it in."""
    requested_by: str | None = Field(default=None, max_length=512)
    """Who asked (the audit log); the function fills it from the caller's identity when it can."""
    canary: int | None = Field(default=None, ge=1, le=100, strict=True)
    """Replay this many first and wait for their outcome (a function: a synchronous invoke of the same
    event; a queue: they leave it, or come back to its DLQ); go on only if they succeeded."""
    canary_wait_s: float = Field(default=120.0, gt=0, le=900, strict=True)
    """How long a queue canary's messages have to leave the target queue."""
    max_failure_rate: float | None = Field(default=None, gt=0, lt=1, strict=True)
    """Stop once this share of the deliveries (at least MIN_RATE_SAMPLE of them) failed at the target."""
    max_replays: int | None = Field(default=None, ge=1, le=1000, strict=True)
    """A failure replayed this many times already is quarantined instead (a ledger entry is marked so;
    an SQS DLQ message, whose count rides in its `dlq.replays` attribute, goes to quarantine_queue_url
    or stays in its DLQ)."""
    quarantine_queue_url: str | None = Field(default=None, pattern=_QUEUE_URL)
    """Where an SQS DLQ's messages past max_replays go (an allow-listed queue)."""

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency_given_or_left_out(cls, value: object) -> object:
        if value is None:
            raise ValueError(
                f"give a number of workers from 1 to {MAX_CONCURRENCY}, or leave it out for the default"
            )
        return value

    @property
    def workers(self) -> int:
        """How many workers the run has: the request's `concurrency`, or the default for its source."""
        if self.concurrency is not None:
            return self.concurrency
        return QUEUE_CONCURRENCY if isinstance(self.source, SqsDlqSource) else INVOKE_CONCURRENCY

    def describe_source(self) -> str:
        """The source in a few words, for reports and logs."""
        source = self.source
        if isinstance(source, LedgerSource):
            return "ledger " + (
                f"{len(source.failure_ids)} failure id(s)" if source.failure_ids else "by filter"
            )
        return f"{source.type} {source.queue_url}"

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if isinstance(self.source, LedgerSource) and self.keep_source:
            raise ValueError("keep_source applies to queue sources; a ledger entry is never removed")
        if (
            self.target
            and self.target.queue_url
            and isinstance(self.source, LambdaDlqSource | DestinationQueueSource)
        ):
            raise ValueError(
                "an async failure is re-invoked on a function: its target override is a function"
            )
        if self.target and self.target.function and isinstance(self.source, SqsDlqSource):
            raise ValueError("an SQS DLQ's messages go to a queue: its target override is a queue_url")
        if isinstance(self.source, SqsDlqSource) and (
            self.filter.conditions
            or self.filter.error_types
            or self.filter.error_message_pattern
            or self.filter.kinds
        ):
            raise ValueError(
                "an SQS DLQ's messages carry no condition, error or kind: filter them by since/until or payload_predicate"
            )
        if isinstance(self.source, LambdaDlqSource) and (
            self.filter.conditions or self.filter.error_types or self.filter.kinds
        ):
            raise ValueError(
                "a Lambda DLQ message carries no condition or error type: filter it by error_message_pattern, "
                "since/until or payload_predicate"
            )
        if self.canary is not None and self.keep_source:
            raise ValueError(
                "a canary goes before a move: with keep_source the copies it made would be sent again"
            )
        if self.quarantine_queue_url and self.max_replays is None:
            raise ValueError("quarantine_queue_url receives what passed max_replays: give max_replays")
        if self.quarantine_queue_url and not isinstance(self.source, SqsDlqSource):
            raise ValueError(
                "quarantine_queue_url applies to an SQS DLQ; ledger entries are quarantined in the ledger"
            )
        if self.max_replays is not None and isinstance(self.source, LambdaDlqSource | DestinationQueueSource):
            raise ValueError(
                "max_replays counts the replays of ledger entries and SQS DLQ messages: a failed invoke "
                "comes back as a new record; redrive these failures from the ledger to count them"
            )
        if self.fifo_message_group_id and isinstance(
            self.source, LedgerSource | LambdaDlqSource | DestinationQueueSource
        ):
            raise ValueError("fifo_message_group_id applies to a redrive into a FIFO queue (source sqs_dlq)")
        return self


class RedriveRequestError(ValueError):
    """The request cannot be run as it is; nothing was touched. `problems` names each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "bad redrive request: "
            + "; ".join(problems)
            + ". Nothing was moved; fix the request and run it again."
        )


def parse_redrive_request(raw: object, allowed: RedriveTargets) -> RedriveRequest:
    """The request, checked whole (fields, ranges, patterns, the allow-list) before anything runs."""
    if not isinstance(raw, Mapping):
        raise RedriveRequestError([f"a redrive request is a JSON object, not {type(raw).__name__}"])
    try:
        request = RedriveRequest.model_validate(dict(raw))
    except ValidationError as exc:
        raise RedriveRequestError([_problem(error) for error in exc.errors(include_url=False)]) from exc
    if (refusal := allowed.refuses(request.target)) is not None:
        raise RedriveRequestError([refusal])
    if request.quarantine_queue_url and not allowed.allows_queue(request.quarantine_queue_url):
        raise RedriveRequestError(
            [
                f"quarantine_queue_url {request.quarantine_queue_url} is not in the allow-list ({listed(allowed.queues)})"
            ]
        )
    return request


def _problem(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    if error["type"] == "missing":
        return f"{where}: required"
    if error["type"] == "union_tag_not_found":
        return f"{where}.type: required; one of sqs_dlq, lambda_dlq, destination_queue, ledger"
    if error["type"] == "union_tag_invalid":
        return f"{where}: unknown source type; expected one of sqs_dlq, lambda_dlq, destination_queue, ledger"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
