"""`parse_failure`: any failure record AWS writes, in any envelope, to one `FailureRecord`."""

import json
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal, TypedDict

from pydantic import JsonValue, ValidationError

from lambda_failure_toolkit.failures.envelopes import ENVELOPES, Envelope, EnvelopeError, Peeled, detect
from lambda_failure_toolkit.failures.exceptions import UnrecognizedFailureError, UnrecognizedReason
from lambda_failure_toolkit.failures.first_hop import (
    carries_failure_record,
    from_eventbridge,
    from_subscription,
    is_eventbridge_dead_letter,
)
from lambda_failure_toolkit.failures.json_text import body_payload, member_text
from lambda_failure_toolkit.failures.models import (
    STREAM_CONDITIONS,
    AsyncInvocationRecord,
    KafkaBatchInfo,
    LambdaDlqAttributes,
    RequestContext,
    StreamOnFailureRecord,
)
from lambda_failure_toolkit.failures.record import (
    Delivery,
    ErrorInfo,
    FailureKind,
    FailureRecord,
    StreamPointer,
    StreamRange,
    make_failure_id,
)

__all__ = ["parse_failure"]

Shape = Envelope | Literal["async", "stream", "dlq"]
_RECORDS: Final = frozenset[Shape]({"async", "stream"})
# Which shapes may sit inside which envelope. Every path is acyclic, so peeling always ends:
# the longest AWS delivers is SQS > SNS > EventBridge > invocation record.
_INSIDE: Final[dict[Shape | None, frozenset[Shape]]] = {
    None: frozenset({"sqs", "sqs_api", "sns", "sns_notification", "eventbridge", *_RECORDS}),
    "sqs": frozenset({"sns_notification", "eventbridge", *_RECORDS}),
    "sqs_api": frozenset({"sns_notification", "eventbridge", *_RECORDS}),
    "sns": frozenset({"eventbridge", *_RECORDS}),
    "sns_notification": frozenset({"eventbridge", *_RECORDS}),
    "eventbridge": frozenset({"async"}),
}
_EXPECTED: Final = {
    "sqs": "an SQS record (eventSource aws:sqs)",
    "sqs_api": "an SQS ReceiveMessage message (MessageId, ReceiptHandle, Body)",
    "sns": "an SNS record (EventSource aws:sns)",
    "sns_notification": "an SNS notification (Type Notification)",
    "eventbridge": "an EventBridge 'Lambda Function Invocation Result' event",
    "async": "an async invocation record (requestContext, requestPayload, ...)",
    "stream": "a stream on-failure record (requestContext with KinesisBatchInfo, DDBStreamBatchInfo or KafkaBatchInfo)",
    "dlq": "a Lambda DLQ message (RequestID, ErrorCode, ErrorMessage attributes and the event as body)",
}
_BATCH_INFO_KEYS: Final = ("KinesisBatchInfo", "DDBStreamBatchInfo", "KafkaBatchInfo")


def parse_failure(
    raw: object, *, source: str | None = None, first_hop_dlqs: Collection[str] = frozenset()
) -> FailureRecord:
    """Recognise a failure record AWS wrote, in whatever envelope it arrived, and normalise it.

    Args:
        raw: one record as it reaches a consumer: an SQS or SNS event record, an SQS
            `ReceiveMessage` message, an EventBridge event, a bare invocation record (a Lambda
            destination's event), or the body of an S3 destination object; a mapping, or JSON
            text (str or bytes).
        source: where the caller read `raw` when `raw` itself does not say: the queue or topic
            ARN of a message read with the SQS API, or `s3://bucket/key` of an S3 object.
        first_hop_dlqs: the ARNs of your EventBridge rule targets' and SNS subscriptions' DLQs. A
            message of one of these queues is an event the service could not deliver (kind
            `delivery`). An SNS subscription's DLQ message carries no sign of it but the queue it
            is in; an EventBridge rule target's says so in its attributes, so it is recognised in
            any queue (unless its body is itself a Lambda failure record, which says more).

    A Lambda DLQ message is told apart by its message attributes: read DLQs with
    `ReceiveMessage(MessageAttributeNames=["All"])`, or a DLQ message whose body happens to be an
    invocation record is taken for that record.

    Raises:
        UnrecognizedFailureError: for anything else, and only that, whatever the input.
    """
    delivery = _delivery_from_source(source)
    path: tuple[str, ...] = ("s3",) if delivery.s3_location else ()
    value, text = _as_mapping(raw, path)
    outer: Shape | None = None
    peeled_layers: list[Peeled] = []
    while True:
        shape = _shape_of(value, path, allowed=_INSIDE[outer])
        try:
            if shape == "async":
                invocation = AsyncInvocationRecord.model_validate(value)
                exact = (
                    member_text(text, "requestPayload") if text and invocation.has_request_payload else None
                )
                return _from_async(invocation, _delivery(delivery, peeled_layers), peeled_layers, path, exact)
            if shape == "stream":
                on_failure = StreamOnFailureRecord.model_validate(value)
                return _from_stream(on_failure, _delivery(delivery, peeled_layers))
        except ValidationError as exc:  # the record, or its payload re-checked as a FailureRecord field
            raise _invalid(shape, path, exc) from exc
        except RecursionError as exc:  # an escaped `payload` nested deeper than json can decode
            raise _error(UnrecognizedReason.TOO_DEEP, path, f"{_EXPECTED[shape]} nested too deep") from exc
        peeled = _peel(shape, value, path)
        peeled_layers.append(peeled)
        path = (*path, peeled.channel)
        if peeled.dlq_attributes is not None:
            try:
                return _from_dlq(peeled, _delivery(delivery, peeled_layers), path)
            except ValidationError as exc:
                raise _invalid("dlq", path, exc) from exc
        if outer is None and peeled.channel == "sqs":
            undelivered = _first_hop(peeled, _delivery(delivery, peeled_layers), path, first_hop_dlqs)
            if undelivered is not None:
                return undelivered
        # The text of what is inside, to keep the payload exactly as AWS wrote it: a string envelope
        # holds it whole; EventBridge's detail is a member of the event's own text.
        inner_text = member_text(text, "detail") if shape == "eventbridge" and text is not None else None
        value, text = _as_mapping(peeled.inner, path)
        text = text or inner_text
        outer = shape


def _first_hop(
    peeled: Peeled, delivery: Delivery, path: tuple[str, ...], first_hop_dlqs: Collection[str]
) -> FailureRecord | None:
    """An SQS message that is an undelivered event, or None (peeling goes on)."""
    configured = delivery.queue_arn is not None and delivery.queue_arn in first_hop_dlqs
    if is_eventbridge_dead_letter(peeled.attributes) and (
        configured or not carries_failure_record(peeled.inner)
    ):
        return from_eventbridge(peeled, delivery, path)
    return from_subscription(peeled, delivery, path) if configured else None


def _delivery_from_source(source: str | None) -> Delivery:
    if source is None:
        return Delivery()
    if not isinstance(source, str):
        raise UnrecognizedFailureError(
            UnrecognizedReason.UNKNOWN_SHAPE,
            path=("source",),
            seen=f"source {_describe(source)}",
            expected="an SQS queue ARN, an SNS topic ARN or s3://bucket/key, as a str",
        )
    if source.startswith("s3://") and "/" in source.removeprefix("s3://"):
        return Delivery(channels=("s3",), s3_location=source)
    arn_service = source.split(":")[2] if source.startswith("arn:") and source.count(":") >= 5 else ""
    if arn_service == "sqs":
        return Delivery(queue_arn=source)
    if arn_service == "sns":
        return Delivery(topic_arn=source)
    raise UnrecognizedFailureError(
        UnrecognizedReason.UNKNOWN_SHAPE,
        path=("source",),
        seen=f"source {_describe(source)}",
        expected="an SQS queue ARN, an SNS topic ARN or s3://bucket/key",
    )


def _delivery(base: Delivery, layers: list[Peeled]) -> Delivery:
    """The delivery facts of the envelopes peeled: the first to say a thing wins (outermost first)."""
    if not layers:
        return base

    def first(attr: str, channel: str | None = None) -> Any:
        return next(
            (
                getattr(layer, attr)
                for layer in layers
                if getattr(layer, attr) is not None and (channel is None or layer.channel == channel)
            ),
            None,
        )

    return base.model_copy(
        update={
            "channels": (*base.channels, *(layer.channel for layer in layers)),
            "queue_arn": base.queue_arn or first("arn", "sqs"),
            "topic_arn": base.topic_arn or first("arn", "sns"),
            "event_bus_arn": first("arn", "eventbridge"),
            "message_id": layers[0].message_id,
            "receive_count": first("receive_count"),
        }
    )


def _as_mapping(value: object, path: tuple[str, ...]) -> tuple[Mapping[str, Any], str | None]:
    """A mapping as is, JSON text decoded (with that text); anything else is not a record."""
    if isinstance(value, Mapping):
        return value, None
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(
                UnrecognizedReason.NOT_JSON, path, f"bytes that are not UTF-8 ({exc.reason})"
            ) from exc
    if not isinstance(value, str):
        raise _error(UnrecognizedReason.NOT_JSON, path, _describe(value))
    try:
        decoded = json.loads(value)
    except RecursionError as exc:
        raise _error(UnrecognizedReason.TOO_DEEP, path, "JSON nested deeper than Python can decode") from exc
    except ValueError as exc:  # JSONDecodeError, and int strings past Python's digit limit
        raise _error(
            UnrecognizedReason.NOT_JSON, path, f"{_describe(value)} that is not JSON ({exc})"
        ) from exc
    if not isinstance(decoded, dict):
        raise _error(UnrecognizedReason.UNKNOWN_SHAPE, path, f"JSON text holding {_describe(decoded)}")
    return decoded, value


def _shape_of(value: Mapping[str, Any], path: tuple[str, ...], *, allowed: frozenset[Shape]) -> Shape:
    shape: Shape | None = detect(value)
    if shape is None and "requestContext" in value:
        shape = "stream" if _is_stream_record(value) else "async"
    if shape is not None and shape in allowed:
        return shape
    records = value.get("Records")
    if shape is None and isinstance(records, list):
        if records and isinstance(records[0], Mapping) and "s3" in records[0]:
            raise UnrecognizedFailureError(
                UnrecognizedReason.S3_NOTIFICATION,
                path=path,
                seen="an S3 event notification",
                expected="the body of the object it names: read it, then call "
                "parse_failure(body, source='s3://<bucket>/<key>')",
            )
        raise UnrecognizedFailureError(
            UnrecognizedReason.BATCH_EVENT,
            path=path,
            seen=f"a Lambda event holding {len(records)} records",
            expected="one record at a time: call parse_failure for each item of Records",
        )
    seen = _describe(value) if shape is None else f"{_EXPECTED[shape]}, which cannot be here"
    expected = " or ".join(_EXPECTED[option] for option in sorted(allowed))
    raise UnrecognizedFailureError(UnrecognizedReason.UNKNOWN_SHAPE, path=path, seen=seen, expected=expected)


def _is_stream_record(value: Mapping[str, Any]) -> bool:
    """A batch info block, or else a stream condition, says stream (a missing block is then reported)."""
    if any(key in value for key in _BATCH_INFO_KEYS):
        return True
    context = value["requestContext"]
    condition = context.get("condition") if isinstance(context, Mapping) else None
    return isinstance(condition, str) and condition in STREAM_CONDITIONS


def _peel(shape: Shape, value: Mapping[str, Any], path: tuple[str, ...]) -> Peeled:
    assert shape in ENVELOPES  # noqa: S101 -- records never reach here (see parse_failure)
    try:
        return ENVELOPES[shape](value)
    except EnvelopeError as exc:
        reason = UnrecognizedReason.INVALID_RECORD if exc.invalid else UnrecognizedReason.UNKNOWN_SHAPE
        raise UnrecognizedFailureError(reason, path=path, seen=exc.seen, expected=exc.expected) from exc
    except ValidationError as exc:
        raise _invalid(shape, path, exc) from exc


def _invalid(shape: Shape, path: tuple[str, ...], exc: ValidationError) -> UnrecognizedFailureError:
    problems = "; ".join(
        f"{_location(error['loc'])}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    )
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return UnrecognizedFailureError(
        UnrecognizedReason.INVALID_RECORD,
        path=path,
        seen=f"{_EXPECTED[shape]} with {problems}{more}",
        expected=f"{_EXPECTED[shape]} as AWS writes it",
    )


def _location(loc: tuple[int | str, ...]) -> str:
    """A field path, cut short: a payload nested thousands deep must not make a message that long."""
    parts = [str(part) for part in loc]
    shown = ".".join(parts[:6]) + (".…" if len(parts) > 6 else "")
    return shown or "(record)"


def _error(reason: UnrecognizedReason, path: tuple[str, ...], seen: str) -> UnrecognizedFailureError:
    return UnrecognizedFailureError(
        reason, path=path, seen=seen, expected="a JSON object: a failure record or an envelope holding one"
    )


def _describe(value: object) -> str:
    """Type and shape, never content: the description goes into logs."""
    match value:
        case Mapping():
            keys = sorted(str(key)[:40] for key in value)
            shown = ", ".join(repr(key) for key in keys[:8])
            return f"an object with keys [{shown}{', ...' if len(keys) > 8 else ''}]"
        case list():
            return f"a list of {len(value)} items"
        case str():
            return f"a string of {len(value)} characters"
        case None:
            return "null"
        case _:
            return f"a {type(value).__name__}"


class _Invocation(TypedDict):
    condition: str
    request_id: str
    function_arn: str
    function_name: str
    qualifier: str | None
    attempts: int


def _invocation(context: RequestContext) -> _Invocation:
    """The FailureRecord fields every invocation record's requestContext gives."""
    parts = context.function_arn.split(
        ":"
    )  # validated: arn:partition:lambda:region:account:function:name[:qualifier]
    return _Invocation(
        condition=context.condition,
        request_id=context.request_id,
        function_arn=":".join(parts[:7]),
        function_name=parts[6],
        qualifier=parts[7] if len(parts) > 7 else None,
        attempts=context.approximate_invoke_count,
    )


def _error_from_response(payload: JsonValue, function_error: str | None, status: int | None) -> ErrorInfo:
    if isinstance(payload, dict):
        # Python and Java say stackTrace; Node.js says trace.
        trace = payload.get("stackTrace", payload.get("trace"))
        error_type, message = payload.get("errorType"), payload.get("errorMessage")
        return ErrorInfo(
            type=error_type if isinstance(error_type, str) else None,
            message=message if isinstance(message, str) else None,
            stack_trace=_stack_trace(trace),
            function_error=function_error,
            status_code=status,
        )
    return ErrorInfo(
        message=payload if isinstance(payload, str) else None,
        function_error=function_error,
        status_code=status,
    )


def _stack_trace(trace: JsonValue) -> tuple[str, ...]:
    if isinstance(trace, str):
        return (trace,)
    if isinstance(trace, list):
        return tuple(line if isinstance(line, str) else json.dumps(line) for line in trace)
    return ()


def _from_async(
    record: AsyncInvocationRecord,
    delivery: Delivery,
    layers: list[Peeled],
    path: tuple[str, ...],
    payload_json: str | None,
) -> FailureRecord:
    context = record.request_context
    said_success = next((layer.success for layer in layers if layer.success is not None), None)
    if said_success is not None and said_success != (context.condition == "Success"):
        raise UnrecognizedFailureError(
            UnrecognizedReason.INVALID_RECORD,
            path=path,
            seen=f"an EventBridge {'Success' if said_success else 'Failure'} event whose record's condition "
            f"is {context.condition}",
            expected="a detail-type that agrees with requestContext.condition",
        )
    response = record.response_context
    error = None
    if context.condition != "Success" and (response is not None or record.has_response_payload):
        error = _error_from_response(
            record.response_payload,
            response.function_error if response else None,
            response.status_code if response else None,
        )
    return FailureRecord(
        failure_id=make_failure_id(
            FailureKind.ASYNC, context.request_id, context.function_arn, context.condition
        ),
        kind=FailureKind.ASYNC,
        **_invocation(context),
        source_arn=None,
        occurred_at=record.timestamp,
        error=error,
        payload=record.request_payload,
        has_payload=record.has_request_payload,
        payload_json=payload_json,
        response_payload=record.response_payload,
        delivery=delivery,
    )


def _stream_pointer(record: StreamOnFailureRecord) -> StreamPointer:
    shard_info = record.kinesis_batch_info or record.ddb_stream_batch_info
    if shard_info is not None:
        return StreamPointer(
            source="kinesis" if record.kinesis_batch_info else "dynamodb",
            stream_arn=shard_info.stream_arn,
            batch_size=shard_info.batch_size,
            ranges=(
                StreamRange(
                    shard_id=shard_info.shard_id,
                    first=shard_info.start_sequence_number,
                    last=shard_info.end_sequence_number,
                    first_arrival=shard_info.approximate_arrival_of_first_record,
                    last_arrival=shard_info.approximate_arrival_of_last_record,
                ),
            ),
        )
    kafka = record.kafka_batch_info
    assert kafka is not None  # noqa: S101 -- the model requires exactly one batch info
    return StreamPointer(
        source="kafka",
        stream_arn=kafka.event_source_arn,
        batch_size=kafka.batch_size,
        ranges=_kafka_ranges(kafka, record.payload),
        bootstrap_servers=kafka.bootstrap_servers,
        payload_size=kafka.payload_size,
    )


def _kafka_ranges(kafka: KafkaBatchInfo, payload: dict[str, JsonValue] | None) -> tuple[StreamRange, ...]:
    if kafka.records_info is not None:
        return tuple(
            StreamRange(
                shard_id=partition,
                first=info.first_record_offset,
                last=info.last_record_offset,
                first_arrival=info.first_record_timestamp,
                last_arrival=info.last_record_timestamp,
            )
            for partition, info in sorted(kafka.records_info.items(), key=_partition_order)
        )
    single = kafka.record_info
    assert single is not None  # noqa: S101 -- the model requires recordsInfo or recordInfo
    # A Kafka-topic destination record names its partition only in the event it carries.
    records = payload.get("records") if payload else None
    partitions = list(records) if isinstance(records, dict) else []
    return (
        StreamRange(
            shard_id=partitions[0] if len(partitions) == 1 else None,
            first=single.offset,
            last=single.offset,
            first_arrival=single.timestamp,
            last_arrival=single.timestamp,
        ),
    )


def _partition_order(item: tuple[str, object]) -> tuple[str, int, str]:
    """`<topic>-<partition>` in topic, then numeric partition order (t-2 before t-10)."""
    topic, _, partition = item[0].rpartition("-")
    return (topic, int(partition), "") if partition.isdigit() else (item[0], -1, item[0])


def _from_stream(record: StreamOnFailureRecord, delivery: Delivery) -> FailureRecord:
    context = record.request_context
    pointer = _stream_pointer(record)
    response = record.response_context
    identity = [
        context.request_id,
        context.function_arn,
        context.condition,
        pointer.stream_arn or pointer.bootstrap_servers,
        *(part for r in pointer.ranges for part in (r.shard_id, r.first, r.last)),
    ]
    return FailureRecord(
        failure_id=make_failure_id(FailureKind.STREAM, *identity),
        kind=FailureKind.STREAM,
        **_invocation(context),
        source_arn=pointer.stream_arn,
        occurred_at=record.timestamp,
        error=None
        if response is None
        else ErrorInfo(function_error=response.function_error, status_code=response.status_code),
        payload=record.payload,
        has_payload=record.payload is not None,
        stream=pointer,
        delivery=delivery,
    )


def _from_dlq(peeled: Peeled, delivery: Delivery, path: tuple[str, ...]) -> FailureRecord:
    assert peeled.dlq_attributes is not None  # noqa: S101 -- only called for DLQ messages
    try:
        attributes = LambdaDlqAttributes.model_validate(peeled.dlq_attributes)
    except ValidationError as exc:
        raise UnrecognizedFailureError(
            UnrecognizedReason.INVALID_RECORD,
            path=path,
            seen="a Lambda DLQ message whose attributes are invalid: "
            + "; ".join(
                f"{e['loc'][0]}: {e['msg']}" for e in exc.errors(include_url=False, include_input=False)
            ),
            expected="RequestID (String), ErrorCode (Number) and ErrorMessage (String) attributes",
        ) from exc
    body = str(peeled.inner)
    payload, decoded = body_payload(body)
    return FailureRecord(
        failure_id=make_failure_id(FailureKind.DLQ, attributes.request_id),
        kind=FailureKind.DLQ,
        condition=None,
        request_id=attributes.request_id,
        function_arn=None,
        function_name=None,
        qualifier=None,
        source_arn=peeled.arn or (delivery.topic_arn if peeled.channel == "sns" else delivery.queue_arn),
        attempts=None,
        occurred_at=peeled.sent_at,
        error=ErrorInfo(message=attributes.error_message or None, status_code=attributes.error_code),
        payload=payload,
        has_payload=True,
        payload_json=body if decoded else None,
        delivery=delivery,
    )
