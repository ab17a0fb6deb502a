"""Wire models: one pydantic model per record shape AWS writes when a Lambda invocation fails.

Tolerant where AWS varies: unknown extra keys are ignored, optional blocks may be missing or null,
`payload` may be an object or an escaped JSON string, and `condition` may be a value AWS has not
documented (recursive-loop detection sends events to destinations with one). Strict where it does
not: ARNs have their documented form, ids are non-empty, counts are non-negative JSON integers.
Field names are snake_case; the aliases are AWS's keys. See docs/aws-failure-semantics (shared).
"""

import json
from typing import Annotated, Any, Final, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from lambda_failure_toolkit.failures.json_text import DeepJson

__all__ = [
    "ASYNC_CONDITIONS",
    "EXHAUSTED_RETRY_CONDITIONS",
    "FUNCTION_ARN_PATTERN",
    "STREAM_CONDITIONS",
    "AsyncInvocationRecord",
    "DDBStreamBatchInfo",
    "EventBridgeDlqAttributes",
    "KafkaBatchInfo",
    "KafkaPartitionInfo",
    "KafkaRecordInfo",
    "KinesisBatchInfo",
    "LambdaDlqAttributes",
    "RequestContext",
    "ResponseContext",
    "StreamOnFailureRecord",
]

ASYNC_CONDITIONS = frozenset({"Success", "RetriesExhausted", "EventAgeExceeded", "ZeroReservedConcurrency"})
STREAM_CONDITIONS = frozenset({"RetryAttemptsExhausted", "RecordAgeExceeded", "MaximumPayloadSizeExceeded"})
EXHAUSTED_RETRY_CONDITIONS = frozenset({"MaximumRetryAttempts", "MaximumEventAgeInSeconds"})
"""EventBridge's, in a rule target's DLQ message."""
Condition = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{1,64}$")]

_PARTITION = r"aws[a-z-]*"
_REGION = r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}"  # eu-west-1, us-gov-west-1, eusc-de-east-1
_ACCOUNT = r"\d{12}"
FUNCTION_ARN_PATTERN: Final = (
    rf"^arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:[A-Za-z0-9_-]{{1,64}}(:[A-Za-z0-9$_.-]+)?$"
)
FunctionArn = Annotated[str, StringConstraints(pattern=FUNCTION_ARN_PATTERN)]
RuleArn = Annotated[
    str, StringConstraints(pattern=rf"^arn:{_PARTITION}:events:{_REGION}:{_ACCOUNT}:rule/[A-Za-z0-9_./-]+$")
]
KinesisStreamArn = Annotated[
    str, StringConstraints(pattern=rf"^arn:{_PARTITION}:kinesis:{_REGION}:{_ACCOUNT}:stream/[A-Za-z0-9_.-]+$")
]
DynamoDBStreamArn = Annotated[
    str,
    StringConstraints(
        pattern=rf"^arn:{_PARTITION}:dynamodb:{_REGION}:{_ACCOUNT}:table/[A-Za-z0-9_.-]+/stream/[^/\s]+$"
    ),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Count = Annotated[int, Field(ge=0, strict=True)]  # AWS writes JSON integers: no "3", 3.0 or true
BatchSize = Annotated[int, Field(ge=1, strict=True)]


class _Wire(BaseModel):
    # extra="ignore": AWS adds keys over time; a new key must not turn a failure into a parse error.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ResponseContext(_Wire):
    """`responseContext`: how the last attempt ended. Absent when the function never ran."""

    status_code: Count = Field(alias="statusCode")
    executed_version: NonEmpty = Field(alias="executedVersion")
    # Absent (async success) or null (stream failure reported through batchItemFailures),
    # otherwise "Unhandled" (the function raised or crashed) or "Handled".
    function_error: str | None = Field(default=None, alias="functionError")


class RequestContext(_Wire):
    """`requestContext`: the same block in async and stream records."""

    request_id: NonEmpty = Field(alias="requestId")
    function_arn: FunctionArn = Field(alias="functionArn")
    condition: Condition
    approximate_invoke_count: Count = Field(alias="approximateInvokeCount")


class AsyncInvocationRecord(_Wire):
    """The invocation record an async invocation sends to its OnSuccess / OnFailure destination."""

    version: NonEmpty
    timestamp: AwareDatetime
    request_context: RequestContext = Field(alias="requestContext")
    # Any JSON value, null included: whether the key was present is `has_request_payload`.
    request_payload: DeepJson = Field(default=None, alias="requestPayload")
    response_context: ResponseContext | None = Field(default=None, alias="responseContext")
    response_payload: DeepJson = Field(default=None, alias="responsePayload")

    @property
    def has_request_payload(self) -> bool:
        return "request_payload" in self.model_fields_set

    @property
    def has_response_payload(self) -> bool:
        return "response_payload" in self.model_fields_set


class _ShardBatchInfo(_Wire):
    shard_id: NonEmpty = Field(alias="shardId")
    start_sequence_number: NonEmpty = Field(alias="startSequenceNumber")
    end_sequence_number: NonEmpty = Field(alias="endSequenceNumber")
    approximate_arrival_of_first_record: AwareDatetime = Field(alias="approximateArrivalOfFirstRecord")
    approximate_arrival_of_last_record: AwareDatetime = Field(alias="approximateArrivalOfLastRecord")
    batch_size: BatchSize = Field(alias="batchSize")


class KinesisBatchInfo(_ShardBatchInfo):
    stream_arn: KinesisStreamArn = Field(alias="streamArn")


class DDBStreamBatchInfo(_ShardBatchInfo):
    # DynamoDB's timestamps have no milliseconds; AwareDatetime takes both forms.
    stream_arn: DynamoDBStreamArn = Field(alias="streamArn")


class KafkaPartitionInfo(_Wire):
    """One `recordsInfo` entry: the first and last offsets of the failed batch on one partition."""

    first_record_offset: NonEmpty = Field(alias="firstRecordOffset")
    first_record_timestamp: AwareDatetime = Field(alias="firstRecordTimestamp")
    last_record_offset: NonEmpty = Field(alias="lastRecordOffset")
    last_record_timestamp: AwareDatetime = Field(alias="lastRecordTimestamp")


class KafkaRecordInfo(_Wire):
    """`recordInfo` of a record Lambda produced to a Kafka-topic destination: one failed record."""

    offset: NonEmpty
    timestamp: AwareDatetime


class KafkaBatchInfo(_Wire):
    batch_size: BatchSize = Field(alias="batchSize")
    # An MSK cluster ARN, or absent for a self-managed cluster (its bootstrap servers say where it is).
    event_source_arn: str | None = Field(default=None, alias="eventSourceArn")
    bootstrap_servers: str | None = Field(default=None, alias="bootstrapServers")
    payload_size: Count | None = Field(default=None, alias="payloadSize")
    # SQS, SNS and S3 destinations: first/last offsets keyed by "<topic>-<partition>".
    records_info: dict[NonEmpty, KafkaPartitionInfo] | None = Field(
        default=None, alias="recordsInfo", min_length=1
    )
    # A Kafka-topic destination gets one message per failed record, with its offset only.
    record_info: KafkaRecordInfo | None = Field(default=None, alias="recordInfo")

    @model_validator(mode="after")
    def _one_kind_of_record_info(self) -> Self:
        if (self.records_info is None) == (self.record_info is None):
            raise ValueError("expected exactly one of recordsInfo (SQS, SNS, S3) or recordInfo (Kafka topic)")
        return self


class StreamOnFailureRecord(_Wire):
    """The on-failure record of a Kinesis, DynamoDB Streams or Kafka event source mapping.

    A pointer to the failed batch, not its data, except on S3 destinations where `payload`
    holds the whole original batch event (an object, or the same object as an escaped string).
    """

    version: NonEmpty
    timestamp: AwareDatetime
    request_context: RequestContext = Field(alias="requestContext")
    response_context: ResponseContext | None = Field(default=None, alias="responseContext")
    kinesis_batch_info: KinesisBatchInfo | None = Field(default=None, alias="KinesisBatchInfo")
    ddb_stream_batch_info: DDBStreamBatchInfo | None = Field(default=None, alias="DDBStreamBatchInfo")
    kafka_batch_info: KafkaBatchInfo | None = Field(default=None, alias="KafkaBatchInfo")
    payload: dict[str, DeepJson] | None = None

    @model_validator(mode="before")
    @classmethod
    def _decode_escaped_payload(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("payload"), str):
            try:
                decoded = json.loads(data["payload"])
            except ValueError as exc:
                raise ValueError("payload is a string but not JSON: expected the batch event") from exc
            return {**data, "payload": decoded}
        return data

    @model_validator(mode="after")
    def _exactly_one_batch_info(self) -> Self:
        present = [
            i for i in (self.kinesis_batch_info, self.ddb_stream_batch_info, self.kafka_batch_info) if i
        ]
        if len(present) != 1:
            raise ValueError(
                f"expected exactly one of KinesisBatchInfo, DDBStreamBatchInfo, KafkaBatchInfo; got {len(present)}"
            )
        return self


class LambdaDlqAttributes(_Wire):
    """The message attributes Lambda adds to an event it writes to a function's DLQ (SQS or SNS)."""

    request_id: NonEmpty = Field(alias="RequestID")
    # The HTTP status: 200 for a function error. Reported missing for ZeroReservedConcurrency.
    error_code: int | None = Field(default=None, alias="ErrorCode")
    # First 1 KB of the error. SQS and SNS reject empty attribute values, so it may be absent.
    error_message: str = Field(default="", alias="ErrorMessage")


class EventBridgeDlqAttributes(_Wire):
    """The message attributes EventBridge adds to an event it writes to a rule target's DLQ."""

    rule_arn: RuleArn = Field(alias="RULE_ARN")
    target_arn: NonEmpty = Field(alias="TARGET_ARN")
    # NO_PERMISSIONS, NO_RESOURCE, THROTTLING, SDK_CLIENT_ERROR, CONNECTION_FAILURE, ...: the list grows.
    error_code: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,63}$")] = Field(
        alias="ERROR_CODE"
    )
    error_message: str = Field(default="", alias="ERROR_MESSAGE")
    # Absent when the error is not retried (a missing permission, a deleted target).
    exhausted_retry_condition: Condition | None = Field(default=None, alias="EXHAUSTED_RETRY_CONDITION")
    retry_attempts: int | None = Field(default=None, alias="RETRY_ATTEMPTS")

    @field_validator("retry_attempts", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        # An SQS attribute's value is a string whatever its data type: "0", "185".
        if value is None or (
            isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6
        ):
            return None if value is None else int(value)
        raise ValueError("expected the number of retries, as digits")
