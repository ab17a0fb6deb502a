"""`FailureRecord`: one normalized shape for every failure AWS reports, whatever carried it."""

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lambda_failure_toolkit.failures.json_text import DeepJson

__all__ = [
    "Channel",
    "Delivery",
    "ErrorInfo",
    "FailureKind",
    "FailureRecord",
    "FirstHop",
    "FirstHopService",
    "StreamPointer",
    "StreamRange",
    "StreamSource",
    "make_failure_id",
]

Channel = Literal["sqs", "sns", "eventbridge", "s3", "lambda"]
StreamSource = Literal["kinesis", "dynamodb", "kafka"]
FirstHopService = Literal["eventbridge", "sns"]


class FailureKind(StrEnum):
    ASYNC = "async"
    """An async invocation record (destination): the event is in `payload`."""
    STREAM = "stream"
    """An event source mapping's on-failure record: `stream` points at the records."""
    DLQ = "dlq"
    """A Lambda async dead-letter message: the event, and the error in its attributes."""
    DELIVERY = "delivery"
    """An event EventBridge or SNS could not deliver to its target (the first hop: the function never
    saw it), from the rule target's or the subscription's DLQ: `first_hop` says what is known."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorInfo(_Frozen):
    """What is known of the error. Every field is optional: AWS says more in some shapes than others."""

    type: str | None = None
    message: str | None = None
    stack_trace: tuple[str, ...] = ()
    function_error: str | None = None
    """`Unhandled` / `Handled` from `responseContext.functionError`."""
    status_code: int | None = None
    """`responseContext.statusCode`, or a DLQ message's `ErrorCode` (200 for a function error)."""


class StreamRange(_Frozen):
    """The failed records on one shard (Kinesis, DynamoDB) or one topic partition (Kafka)."""

    shard_id: str | None
    """A shard id, or `<topic>-<partition>` for Kafka (None when a Kafka-topic destination's record
    carries no event to name its partition)."""
    first: str
    """First sequence number (Kafka: offset), inclusive."""
    last: str
    """Last sequence number (Kafka: offset), inclusive."""
    first_arrival: datetime
    last_arrival: datetime


class StreamPointer(_Frozen):
    """Where the failed batch of a stream can be read back from (while the stream retains it)."""

    source: StreamSource
    stream_arn: str | None
    """The Kinesis or DynamoDB stream ARN, or the MSK cluster ARN (None for self-managed Kafka)."""
    batch_size: int
    ranges: tuple[StreamRange, ...]
    """One range for Kinesis and DynamoDB; one per partition for Kafka."""
    bootstrap_servers: str | None = None
    payload_size: int | None = None

    @property
    def shard_id(self) -> str | None:
        """The shard (Kinesis, DynamoDB) or partition; None when the batch spans several partitions."""
        return self.ranges[0].shard_id if len(self.ranges) == 1 else None

    @property
    def start_sequence_number(self) -> str | None:
        return self.ranges[0].first if len(self.ranges) == 1 else None

    @property
    def end_sequence_number(self) -> str | None:
        return self.ranges[0].last if len(self.ranges) == 1 else None


class FirstHop(_Frozen):
    """What EventBridge or SNS says of an event it could not deliver to its target.

    EventBridge names the rule, the target and the error in the DLQ message's attributes. SNS writes
    nothing of the kind: which queue the message sits in is the only sign that it failed, and the
    topic and subscription are read from its envelope (none with raw delivery).
    """

    service: FirstHopService
    rule_arn: str | None = None
    """EventBridge: `RULE_ARN`."""
    target_arn: str | None = None
    """EventBridge: `TARGET_ARN`, the function (maybe with a qualifier) it could not invoke."""
    topic_arn: str | None = None
    """SNS: the topic, from the envelope."""
    subscription_arn: str | None = None
    """SNS: the subscription, from the envelope's `UnsubscribeURL`."""
    error_code: str | None = None
    """EventBridge: `ERROR_CODE` (NO_PERMISSIONS, NO_RESOURCE, THROTTLING, ...)."""
    exhausted_retry_condition: str | None = None
    """EventBridge: `EXHAUSTED_RETRY_CONDITION` (MaximumRetryAttempts, MaximumEventAgeInSeconds);
    absent when the error is not retried (NO_PERMISSIONS, NO_RESOURCE)."""
    retry_attempts: int | None = None
    """EventBridge: `RETRY_ATTEMPTS`, the retries after the first attempt."""
    raw_delivery: bool = False
    """SNS: the body is the published message itself, not the SNS envelope."""
    message_group_id: str | None = None
    """SNS FIFO: the message group, kept by the FIFO DLQ."""
    message_deduplication_id: str | None = None


class Delivery(_Frozen):
    """How the record reached the consumer. It does not enter `failure_id`."""

    channels: tuple[Channel, ...] = ()
    """The envelopes peeled, outermost first: ("sqs", "sns") is an SNS topic delivered into SQS."""
    queue_arn: str | None = None
    topic_arn: str | None = None
    event_bus_arn: str | None = None
    message_id: str | None = None
    """The outermost envelope's message id (SQS messageId, SNS MessageId or EventBridge id)."""
    receive_count: int | None = None
    s3_location: str | None = None
    """`s3://bucket/key` of an S3 destination object, when the caller said where it read it."""


class FailureRecord(_Frozen):
    """A failure (or an async success record) as the rest of the toolkit sees it."""

    failure_id: str
    """Stable: derived from the record's own identity, never from its envelopes."""
    kind: FailureKind
    condition: str | None
    """AWS's `condition` (e.g. RetriesExhausted); None for a DLQ message, which has none; for an
    undelivered event, EventBridge's exhausted retry condition (None when it did not retry)."""
    request_id: str | None
    """The async request id (async and DLQ: shared by both captures of one event), the last
    invocation's request id (stream), or the undelivered event's own id (EventBridge event id,
    SNS MessageId)."""
    function_arn: str | None
    """The unqualified ARN of the function that failed (or that EventBridge could not invoke); None
    for a DLQ message and an SNS subscription's, which do not name it."""
    function_name: str | None
    qualifier: str | None
    """`$LATEST`, a version or an alias, as AWS recorded it."""
    source_arn: str | None
    """What the failure came from besides the function: the stream (stream kind) or the DLQ queue
    or topic it was read from (dlq and delivery kinds)."""
    attempts: int | None
    """`approximateInvokeCount` (EventBridge: its retries and the first attempt); None when AWS
    does not say (DLQ, SNS)."""
    occurred_at: datetime | None
    """When AWS wrote the record (its `timestamp`; for a DLQ message, when it was sent)."""
    error: ErrorInfo | None
    payload: DeepJson
    """The original event (async, DLQ), the whole batch event of an S3 stream record, or an undelivered
    event as its DLQ holds it (EventBridge: the event; SNS: the SNS envelope, or the raw message)."""
    has_payload: bool
    """Whether `payload` was present (it may legitimately be JSON null)."""
    response_payload: DeepJson = None
    """What the function returned (async records): the result on success, the error object on failure."""
    payload_json: str | None = None
    """`payload` exactly as AWS wrote it (its numbers, its duplicated keys), when the record came as
    JSON text: what a redrive replays."""
    stream: StreamPointer | None = None
    first_hop: FirstHop | None = None
    """An undelivered event (delivery kind): the rule or topic, the target and the error."""
    delivery: Delivery = Delivery()

    @property
    def is_failure(self) -> bool:
        """False only for an async `Success` record (an OnSuccess destination's record)."""
        return self.condition != "Success"


def make_failure_id(kind: FailureKind, *identity: str | None) -> str:
    """A stable id from the parts that identify one failure (never the envelope's ids)."""
    canonical = json.dumps([kind.value, *identity], separators=(",", ":"))
    return f"{kind.value}-{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"
