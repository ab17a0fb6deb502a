"""Whatever the input, parse_failure returns a FailureRecord or raises UnrecognizedFailureError."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.failures import FailureRecord, UnrecognizedFailureError, parse_failure
from tests.events import FIRST_HOP_DLQS, event_files, load_event

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
# Keys AWS uses, so arbitrary objects often take the parser's interesting branches.
aws_keys = st.sampled_from(
    [
        "Records", "eventSource", "EventSource", "Sns", "body", "Message", "Type", "TopicArn", "detail",
        "detail-type", "source", "requestContext", "responseContext", "requestPayload", "KinesisBatchInfo",
        "DDBStreamBatchInfo", "KafkaBatchInfo", "payload", "MessageId", "ReceiptHandle", "Body",
        "messageAttributes", "RequestID", "ErrorCode", "condition", "functionArn", "RULE_ARN", "TARGET_ARN",
        "ERROR_CODE", "RETRY_ATTEMPTS", "EXHAUSTED_RETRY_CONDITION", "UnsubscribeURL", "stringValue",
    ]
)  # fmt: skip
aws_like = st.recursive(
    json_scalars | st.sampled_from(["aws:sqs", "aws:sns", "Notification", "lambda", "RetriesExhausted"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(aws_keys | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)


def _outcome(raw: object, **kwargs: Any) -> FailureRecord | UnrecognizedFailureError:
    try:
        record = parse_failure(raw, **kwargs)
    except UnrecognizedFailureError as error:
        return error
    assert isinstance(record, FailureRecord)
    assert parse_failure(raw, **kwargs).failure_id == record.failure_id
    return record


@given(json_values)
def test_arbitrary_json_values(value: Any) -> None:
    _outcome(value)
    _outcome(json.dumps(value))
    _outcome(json.dumps(value).encode())


@given(aws_like)
def test_arbitrary_objects_with_aws_keys(value: Any) -> None:
    _outcome(value)


@given(
    st.one_of(
        st.binary(max_size=64), st.text(max_size=64), st.integers(), st.floats(), st.tuples(st.integers())
    )
)
def test_arbitrary_python_values(value: Any) -> None:
    _outcome(value)


@given(st.text(max_size=40))
def test_arbitrary_source(source: str) -> None:
    _outcome(load_event("failures/destinations/async/retries_exhausted.json"), source=source)


def _samples() -> list[Any]:
    records: list[Any] = []
    for relative in event_files("failures"):
        event = load_event(relative)
        records.extend(event["Records"] if isinstance(event.get("Records"), list) else [event])
    return records


SAMPLES = _samples()


def _mutate(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """One random change somewhere in `value`, looking inside JSON text (SQS bodies, SNS messages) too."""
    if isinstance(value, str) and value[:1] in "{[" and depth < 6:
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if decoded is not None and data.draw(st.booleans()):
            return json.dumps(_mutate(data, decoded, depth + 1))
    if isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(sorted(value)))
        action = data.draw(st.sampled_from(["descend", "descend", "descend", "delete", "replace", "add"]))
        changed = dict(value)
        if action == "descend":
            changed[key] = _mutate(data, value[key], depth + 1)
        elif action == "delete":
            del changed[key]
        elif action == "replace":
            changed[key] = data.draw(json_values)
        else:
            changed[data.draw(aws_keys | st.text(max_size=8))] = data.draw(json_values)
        return changed
    if isinstance(value, list) and value:
        index = data.draw(st.integers(0, len(value) - 1))
        changed_list = list(value)
        if data.draw(st.booleans()):
            changed_list[index] = _mutate(data, value[index], depth + 1)
        else:
            del changed_list[index]
        return changed_list
    return data.draw(json_values)


@given(st.data())
def test_mutated_real_records(data: st.DataObject) -> None:
    value = data.draw(st.sampled_from(SAMPLES))
    for _ in range(data.draw(st.integers(1, 3))):
        value = _mutate(data, value)
    _outcome(value)
    _outcome(json.dumps(value))
    _outcome(
        value, first_hop_dlqs=FIRST_HOP_DLQS
    )  # every SQS message of those queues is an undelivered event


def _deep(depth: int, leaf: Any) -> Any:
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"k": leaf}
    return leaf


@given(st.data(), st.integers(200, 400))
def test_deeply_nested_values_anywhere(data: st.DataObject, depth: int) -> None:
    # Deep but decodable nesting (around pydantic's and json's limits) inside real records.
    value = data.draw(st.sampled_from(SAMPLES))

    def bury(node: Any) -> Any:
        if isinstance(node, dict) and node and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(node)))
            return {**node, key: bury(node[key])}
        if isinstance(node, str) and node[:1] == "{" and data.draw(st.booleans()):
            try:
                return json.dumps(bury(json.loads(node)))
            except ValueError:
                return node
        return _deep(depth, node)

    _outcome(bury(value))


@given(aws_like, st.booleans())
def test_arbitrary_bodies_of_a_first_hop_dlq_message(body: Any, named: bool) -> None:
    # EventBridge's attributes with any body, in a queue named first-hop or not
    record = load_event("failures/first-hop/eventbridge_no_permissions.json")["Records"][0]
    record = record | {"body": json.dumps(body)}
    _outcome(record, first_hop_dlqs=FIRST_HOP_DLQS if named else frozenset())
    sns = load_event("failures/first-hop/sns_subscription.json")["Records"][0] | {"body": json.dumps(body)}
    _outcome(sns, first_hop_dlqs=FIRST_HOP_DLQS if named else frozenset())
