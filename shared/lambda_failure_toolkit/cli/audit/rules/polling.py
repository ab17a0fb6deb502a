"""Event source mappings: stream mappings that block a shard on a poison record or drop it, SQS
sources whose failures are redelivered too soon, too few times, or to a DLQ that expires them first."""

from collections.abc import Iterator
from typing import Final

from lambda_failure_toolkit.cli.audit.finding import Check, Rule, Severity
from lambda_failure_toolkit.cli.audit.model import Mapping_, Model

__all__ = ["RULES", "describe"]

_STREAMS: Final = frozenset({"kinesis", "dynamodb"})
_VISIBILITY_FACTOR: Final = 6
_MIN_RECEIVES: Final = 5
_MAX_RETENTION_S: Final = 1209600


def describe(mapping: Mapping_) -> str:
    """A mapping by what it joins (its id differs between a template and an account)."""
    source = mapping.source_arn.split("/stream/")[0] if mapping.kind == "dynamodb" else mapping.source_arn
    return f"{source} -> {mapping.function_arn}"


def _streams(model: Model) -> Iterator[Mapping_]:
    return (mapping for mapping in model.mappings if mapping.kind in _STREAMS)


def _infinite(value: int | None) -> bool:
    return value is None or value == -1


def _no_on_failure(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in _streams(model):
        if not mapping.on_failure_arn:
            yield describe(mapping), "no DestinationConfig.OnFailure"


def _infinite_retries(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in _streams(model):
        if _infinite(mapping.max_retry_attempts):
            yield (
                describe(mapping),
                "MaximumRetryAttempts is -1 (the default): retried until the record expires",
            )


def _infinite_age(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in _streams(model):
        if _infinite(mapping.max_record_age_s):
            yield describe(mapping), "MaximumRecordAgeInSeconds is -1 (the default)"


def _no_bisect(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in _streams(model):
        if not mapping.bisect:
            yield describe(mapping), "BisectBatchOnFunctionError is off"


def _no_partial_batch(kinds: frozenset[str]) -> Check:
    def check(model: Model) -> Iterator[tuple[str, str]]:
        for mapping in model.mappings:
            if mapping.kind in kinds and not mapping.report_batch_item_failures:
                yield describe(mapping), "FunctionResponseTypes has no ReportBatchItemFailures"

    return check


def _kafka_infinite(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in model.mappings:
        if mapping.kind == "kafka" and _infinite(mapping.max_retry_attempts):
            yield describe(mapping), "MaximumRetryAttempts is -1 (the default)"


def _sqs_sources(model: Model) -> Iterator[tuple[Mapping_, str]]:
    for mapping in model.mappings:
        if mapping.kind == "sqs" and mapping.source_arn in model.queues:
            yield mapping, mapping.source_arn


def _no_redrive(model: Model) -> Iterator[tuple[str, str]]:
    for queue_arn in sorted({arn for _, arn in _sqs_sources(model)}):
        if not model.queues[queue_arn].dead_letter_arn:
            yield queue_arn, "no RedrivePolicy"


def _short_visibility(model: Model) -> Iterator[tuple[str, str]]:
    for mapping, queue_arn in _sqs_sources(model):
        function = model.function(mapping.function_arn)
        if function is None:
            continue
        visibility = model.queues[queue_arn].visibility_timeout_s
        if visibility < _VISIBILITY_FACTOR * function.timeout_s:
            yield (
                queue_arn,
                f"VisibilityTimeout {visibility} s < 6 x {function.name}'s timeout {function.timeout_s} s",
            )


def _few_receives(model: Model) -> Iterator[tuple[str, str]]:
    for queue_arn in sorted({arn for _, arn in _sqs_sources(model)}):
        count = model.queues[queue_arn].max_receive_count
        if count is not None and count < _MIN_RECEIVES:
            yield queue_arn, f"maxReceiveCount {count}"


def _short_dlq_retention(model: Model) -> Iterator[tuple[str, str]]:
    for queue in model.queues.values():
        dlq = model.queues.get(queue.dead_letter_arn or "")
        # A standard DLQ keeps the original enqueue time: it must keep messages longer than the source did
        # (at SQS's maximum it cannot: the message then lives that long whatever the source's retention).
        if dlq is not None and not queue.fifo and dlq.retention_s <= queue.retention_s < _MAX_RETENTION_S:
            yield (
                dlq.arn,
                f"MessageRetentionPeriod {dlq.retention_s} s <= its source's {queue.retention_s} s ({queue.arn})",
            )


_STREAM_FIX = """\
      Events:
        Stream:
          Type: Kinesis            # or DynamoDB
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: TRIM_HORIZON
            MaximumRetryAttempts: 3
            MaximumRecordAgeInSeconds: 3600
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt StreamFailures.Arn}}"""
_QUEUE_FIX = """\
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 180          # at least 6 x the function's Timeout (30)
      MessageRetentionPeriod: 345600  # 4 days
      RedrivePolicy: {deadLetterTargetArn: !GetAtt QueueDLQ.Arn, maxReceiveCount: 5}
  QueueDLQ:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600 # 14 days: longer than the source's"""
_SQS_EVENT_FIX = "      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Queue.Arn\n            FunctionResponseTypes: [ReportBatchItemFailures]"

RULES: Final = (
    Rule(
        "STREAM-001",
        Severity.HIGH,
        "a Kinesis or DynamoDB Streams mapping with no OnFailure destination",
        "a batch that exhausts its retries or age is skipped and its records are gone (nothing says where)",
        _STREAM_FIX,
        _no_on_failure,
    ),
    Rule(
        "STREAM-002",
        Severity.MEDIUM,
        "a stream mapping with infinite retries",
        "a poison record is retried until it is too old or expires, blocking its shard all that time",
        _STREAM_FIX,
        _infinite_retries,
    ),
    Rule(
        "STREAM-003",
        Severity.MEDIUM,
        "a stream mapping with infinite record age",
        "a failing record is retried until the stream drops it (24 h by default, up to a year): the shard waits",
        _STREAM_FIX,
        _infinite_age,
    ),
    Rule(
        "STREAM-004",
        Severity.LOW,
        "a stream mapping without BisectBatchOnFunctionError",
        "one poison record fails its whole batch, so good records share its fate and its retries",
        _STREAM_FIX,
        _no_bisect,
    ),
    Rule(
        "STREAM-005",
        Severity.MEDIUM,
        "a stream mapping without ReportBatchItemFailures",
        "a failure retries the whole batch: records already handled run again, and skipped ones go with it",
        _STREAM_FIX,
        _no_partial_batch(_STREAMS),
    ),
    Rule(
        "KAFKA-001",
        Severity.HIGH,
        "a Kafka mapping with infinite retries",
        "a poison record blocks its partition for good",
        "      Events:\n        Kafka:\n          Type: MSK\n          Properties:\n            MaximumRetryAttempts: 3\n"
        "            DestinationConfig: {OnFailure: {Destination: !GetAtt KafkaFailures.Arn}}",
        _kafka_infinite,
    ),
    Rule(
        "SQS-001",
        Severity.MEDIUM,
        "an SQS mapping without ReportBatchItemFailures",
        "one failed message returns the whole batch: the others run again and count towards maxReceiveCount",
        _SQS_EVENT_FIX,
        _no_partial_batch(frozenset({"sqs"})),
    ),
    Rule(
        "SQS-002",
        Severity.HIGH,
        "a function's source queue with no redrive policy",
        "a message that keeps failing is received until its retention ends, then deleted",
        _QUEUE_FIX,
        _no_redrive,
    ),
    Rule(
        "SQS-003",
        Severity.MEDIUM,
        "a source queue whose visibility timeout is under 6 x the function's timeout",
        "a message still being processed (or retried by throttling) is received again: duplicates, and "
        "receives spent towards the DLQ",
        _QUEUE_FIX,
        _short_visibility,
    ),
    Rule(
        "SQS-004",
        Severity.LOW,
        "a source queue's maxReceiveCount under 5",
        "a message is moved to the DLQ after a throttle or a transient error, not only after real failures",
        _QUEUE_FIX,
        _few_receives,
    ),
    Rule(
        "SQS-005",
        Severity.MEDIUM,
        "a DLQ whose retention is not longer than its source's",
        "a standard DLQ keeps the original enqueue time: a message may expire on arrival in the DLQ",
        _QUEUE_FIX,
        _short_dlq_retention,
    ),
)
