"""The failure consumer against moto: every sample record -> exactly one ledger entry, duplicates
change nothing, big bodies go to S3, stream records are read back, nothing unreadable is dropped."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.failures import FailureKind, FailureRecord, parse_failure
from lambda_failure_toolkit.ledger import (
    FailureLedger,
    LedgerEntry,
    LedgerEntryNotFoundError,
    LedgerError,
    LedgerFilter,
    RedriveStatus,
    RehydrationStatus,
)
from lambda_failure_toolkit.ledger.wiring import failure_consumer, failure_ledger
from tests.events import event_files
from tests.failure_queue import DESTINATION_BUCKET, async_record, queued_failures, sqs_message
from tests.handlers.conftest import handler_module
from tests.lambda_context import FakeLambdaContext
from tests.template import resource

consumer = handler_module("FailureConsumerFunction")
FAILURE_SAMPLES = event_files("failures")


@pytest.fixture
def ledger_aws(aws: dict[str, Any]) -> dict[str, Any]:
    """The moto account, plus the bucket S3 destinations write to and a queue subscribed to the alerts."""
    aws["s3"].create_bucket(
        Bucket=DESTINATION_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    alerts_url = aws["sqs"].create_queue(QueueName="alerts-inbox")["QueueUrl"]
    alerts_arn = aws["sqs"].get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    aws["sns"].subscribe(
        TopicArn=aws["alert_topic_arn"],
        Protocol="sqs",
        Endpoint=alerts_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    aws["alerts_url"] = alerts_url
    # The ledger bucket's default encryption, as the template sets it with a customer key.
    aws["ledger_key"] = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    aws["s3"].put_bucket_encryption(
        Bucket="failure-ledger-test",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": aws["ledger_key"],
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return aws


def consume(messages: list[dict[str, Any]]) -> dict[str, Any]:
    response: dict[str, Any] = consumer.lambda_handler({"Records": messages}, FakeLambdaContext())
    return response


def ledger_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws["dynamodb"].scan(TableName="failure-ledger-test")["Items"]
    return sorted(items, key=lambda item: item["failure_id"]["S"])


def alerts(aws: dict[str, Any]) -> list[str]:
    """The alerts published since the last call (drained from the subscribed queue)."""
    bodies = []
    while (
        messages := aws["sqs"]
        .receive_message(QueueUrl=aws["alerts_url"], MaxNumberOfMessages=10)
        .get("Messages")
    ):
        for message in messages:
            bodies.append(message["Body"])
            aws["sqs"].delete_message(QueueUrl=aws["alerts_url"], ReceiptHandle=message["ReceiptHandle"])
    return bodies


def emf_metrics(output: str) -> Iterator[tuple[str, list[list[str]], list[float]]]:
    """(name, dimension sets, values) of each metric in the EMF documents a handler printed."""
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    values = document[metric["Name"]]
                    yield (
                        metric["Name"],
                        definition["Dimensions"],
                        values if isinstance(values, list) else [values],
                    )


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum of each metric in the EMF documents a handler printed."""
    totals: dict[str, float] = {}
    for name, _, values in emf_metrics(output):
        totals[name] = totals.get(name, 0) + sum(values)
    return totals


def assert_entry_matches(entry: LedgerEntry, failure: FailureRecord) -> None:
    assert entry.kind is failure.kind
    assert entry.condition == failure.condition
    assert entry.function_name == failure.function_name
    assert entry.function_arn == failure.function_arn
    assert entry.qualifier == failure.qualifier
    assert entry.source_arn == failure.source_arn
    assert entry.request_id == failure.request_id
    assert entry.attempts == failure.attempts
    if failure.occurred_at is not None:
        assert entry.occurred_at == failure.occurred_at
    assert entry.error_type == (failure.error.type if failure.error else None)
    assert entry.function_error == (failure.error.function_error if failure.error else None)
    assert entry.stack_trace == (failure.error.stack_trace if failure.error else ())
    assert entry.payload == failure.payload
    assert entry.has_payload == failure.has_payload
    assert entry.response_payload == failure.response_payload
    assert entry.stream == failure.stream


@pytest.mark.parametrize("sample", FAILURE_SAMPLES)
def test_every_sample_failure_becomes_exactly_one_ledger_entry(
    sample: str, ledger_aws: dict[str, Any]
) -> None:
    # Given the sample, delivered to the failure queue the way AWS would deliver it
    queued = queued_failures(sample, ledger_aws["s3"])
    # When the consumer gets the batch
    response = consume([item.message for item in queued])
    # Then what is not a failure record is reported for redelivery, never dropped
    unreadable = [item.message["messageId"] for item in queued if item.expected is None]
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in unreadable]}
    # And each failure is one entry holding what AWS said (an async Success record is no failure)
    failures = {f.failure_id: f for item in queued for f in item.expected or () if f.is_failure}
    assert [item["failure_id"]["S"] for item in ledger_items(ledger_aws)] == sorted(failures)
    for failure_id, failure in failures.items():
        assert_entry_matches(failure_ledger().get(failure_id), failure)


def test_every_sample_file_is_delivered(ledger_aws: dict[str, Any]) -> None:
    # Guards the table above: each sample yields at least one message, and all but the two
    # deliberately unreadable ones are failure records.
    unreadable = {
        sample
        for sample in FAILURE_SAMPLES
        for item in queued_failures(sample, ledger_aws["s3"])
        if item.expected is None
    }
    assert unreadable == {"failures/failure-queue/mixed_batch.json"}
    assert len(FAILURE_SAMPLES) == 40


def test_a_duplicate_delivery_changes_nothing_and_alerts_once(ledger_aws: dict[str, Any]) -> None:
    # Given every sample delivered once
    batches = [
        [item.message for item in queued_failures(sample, ledger_aws["s3"])] for sample in FAILURE_SAMPLES
    ]
    for batch in batches:
        consume(batch)
    before = ledger_items(ledger_aws)
    # One alert per batch that recorded something new: several samples carry the same failure
    # through other channels (SNS, EventBridge, S3), which the ledger counts once.
    seen: set[str] = set()
    alerting = 0
    for sample in FAILURE_SAMPLES:
        queued = queued_failures(sample, ledger_aws["s3"])
        new = {f.failure_id for item in queued for f in item.expected or () if f.is_failure} - seen
        alerting += bool(new) or any(item.expected is None for item in queued)
        seen |= new
    assert len(alerts(ledger_aws)) == alerting
    # When every message is delivered again (SQS at-least-once; redrive of the failure queue)
    redelivered = [
        [
            message | {"attributes": message["attributes"] | {"ApproximateReceiveCount": "2"}}
            for message in batch
        ]
        for batch in batches
    ]
    responses = [consume(batch) for batch in redelivered]
    # Then the ledger is exactly as it was, and nothing is alerted again (not even the unreadable
    # message, which was alerted on at its first receive and is reported for redelivery again)
    assert ledger_items(ledger_aws) == before
    assert alerts(ledger_aws) == []
    assert sum(len(r["batchItemFailures"]) for r in responses) == 1


def test_one_alert_per_batch_naming_each_failure_and_group(ledger_aws: dict[str, Any]) -> None:
    queued = queued_failures("failures/failure-queue/mixed_batch.json", ledger_aws["s3"])
    consume([item.message for item in queued])
    [alert] = alerts(ledger_aws)
    recorded = {f.failure_id for item in queued for f in item.expected or ()}
    assert len(recorded) == 4
    for failure_id in recorded:
        assert failure_id in alert
    assert "RetriesExhausted" in alert
    assert "ZeroReservedConcurrency" in alert
    assert "1 message(s) could not be recorded" in alert


def test_redelivered_failures_alone_send_no_alert(ledger_aws: dict[str, Any]) -> None:
    messages = [
        item.message
        for item in queued_failures("failures/failure-queue/stream_kinesis.json", ledger_aws["s3"])
    ]
    consume(messages)
    assert len(alerts(ledger_aws)) == 1
    consume(messages)
    assert alerts(ledger_aws) == []


def test_an_alert_that_cannot_be_sent_does_not_fail_the_batch(
    ledger_aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:deleted-topic")
    messages = [
        item.message
        for item in queued_failures("failures/failure-queue/async_retries_exhausted.json", ledger_aws["s3"])
    ]
    assert consume(messages) == {"batchItemFailures": []}
    assert len(ledger_items(ledger_aws)) == 1
    assert "the batch's alert was not sent" in caplog.text
    assert emitted_metrics(capsys.readouterr().out)["AlertsNotSent"] == 1


def test_an_oversized_payload_goes_to_s3_encrypted_and_reads_back_intact(
    ledger_aws: dict[str, Any], mocker: Any
) -> None:
    # Given a failed event of about 500 KB (an item may not pass 400 KB), with values JSON must keep exact
    payload = {"blob": "x" * 500_000, "price": 0.1, "big": 2**70, "none": None, "nested": [{"é": "ü"}]}
    record = async_record(payload)
    calls = mocker.spy(BaseClient, "_make_api_call")
    # When it is consumed
    assert consume([sqs_message(json.dumps(record))]) == {"batchItemFailures": []}
    # Then its body is in S3, encrypted with the bucket's own key, and the entry reads back equal.
    # The put names no encryption: S3 would take a bare aws:kms to mean aws/s3, not the bucket's key.
    [put] = [call.args[2] for call in calls.call_args_list if call.args[1] == "PutObject"]
    assert not {"ServerSideEncryption", "SSEKMSKeyId"} & set(put)
    [item] = ledger_items(ledger_aws)
    assert item["body_location"] == {"S": "s3"}
    assert "body" not in item
    bucket, _, key = item["body_s3"]["S"].removeprefix("s3://").partition("/")
    assert bucket == "failure-ledger-test"
    head = ledger_aws["s3"].head_object(Bucket=bucket, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", ledger_aws["ledger_key"])
    entry = failure_ledger().get(item["failure_id"]["S"])
    assert entry.payload == payload
    assert entry.body_location == "s3"
    assert entry.response_payload == {"errorType": "ValueError", "errorMessage": "boom"}


def test_a_small_payload_stays_inline(ledger_aws: dict[str, Any]) -> None:
    consume([sqs_message(json.dumps(async_record({"order_id": "o-1"})))])
    [item] = ledger_items(ledger_aws)
    assert item["body_location"] == {"S": "inline"}
    assert ledger_aws["s3"].list_objects_v2(Bucket="failure-ledger-test").get("KeyCount") == 0


def test_an_entry_whose_body_object_is_gone_says_so(ledger_aws: dict[str, Any]) -> None:
    consume([sqs_message(json.dumps(async_record({"blob": "x" * 400_000})))])
    [item] = ledger_items(ledger_aws)
    bucket, _, key = item["body_s3"]["S"].removeprefix("s3://").partition("/")
    ledger_aws["s3"].delete_object(Bucket=bucket, Key=key)
    with pytest.raises(LedgerError, match="body is missing"):
        failure_ledger().get(item["failure_id"]["S"])


# ---------------------------------------------------------------- stream rehydration


def kinesis_failure(stream_arn: str, first: str, last: str, batch_size: int) -> dict[str, Any]:
    return {
        "requestContext": {
            "requestId": "c9b8a7d6-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:kinesis-orders-test",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None},
        "version": "1.0",
        "timestamp": "2026-11-21T10:00:03.863Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "approximateArrivalOfFirstRecord": "2026-11-21T10:00:01.427Z",
            "approximateArrivalOfLastRecord": "2026-11-21T10:00:01.427Z",
            "batchSize": batch_size,
            "streamArn": stream_arn,
        },
    }


@pytest.fixture
def kinesis_stream(ledger_aws: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName="orders-test", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="orders-test")["StreamDescription"]["StreamARN"]
    put = []
    for number in range(10):
        data = json.dumps({"order_id": f"o-{number}", "revision": 1}).encode()
        response = kinesis.put_record(StreamARN=arn, Data=data, PartitionKey=f"o-{number}")
        put.append({"sequence": response["SequenceNumber"], "data": data, "key": f"o-{number}"})
    return arn, put


def test_kinesis_records_are_read_back_exactly_between_the_sequence_numbers(
    kinesis_stream: tuple[str, list[dict[str, Any]]], ledger_aws: dict[str, Any]
) -> None:
    arn, put = kinesis_stream
    failure = kinesis_failure(arn, put[3]["sequence"], put[6]["sequence"], batch_size=4)
    assert consume([sqs_message(json.dumps(failure))]) == {"batchItemFailures": []}
    entry = failure_ledger().get(parse_failure(failure).failure_id)
    assert entry.rehydration_status is RehydrationStatus.COMPLETE
    assert [record["kinesis"]["sequenceNumber"] for record in entry.records] == [
        p["sequence"] for p in put[3:7]
    ]  # type: ignore[index,call-overload]
    for record, sent in zip(entry.records, put[3:7], strict=True):
        # As Lambda delivers a Kinesis record (base64 data), ready to be replayed to the processor
        assert record["eventSource"] == "aws:kinesis"
        assert record["eventSourceARN"] == arn
        assert record["eventID"] == f"shardId-000000000000:{sent['sequence']}"
        assert record["kinesis"]["partitionKey"] == sent["key"]  # type: ignore[index,call-overload]
        assert base64.b64decode(record["kinesis"]["data"]) == sent["data"]  # type: ignore[index,call-overload,arg-type]


def test_kinesis_records_partly_past_retention_are_kept_and_the_gap_is_said(
    kinesis_stream: tuple[str, list[dict[str, Any]]],
    ledger_aws: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A start sequence number before the oldest record left reads from the trim horizon.
    arn, put = kinesis_stream
    failure = kinesis_failure(arn, "0", put[1]["sequence"], batch_size=5)
    consume([sqs_message(json.dumps(failure))])
    entry = failure_ledger().get(parse_failure(failure).failure_id)
    assert entry.rehydration_status is RehydrationStatus.PARTIAL
    assert entry.rehydration_reason is not None
    assert "had left" in entry.rehydration_reason
    assert [record["kinesis"]["sequenceNumber"] for record in entry.records] == [
        put[0]["sequence"],
        put[1]["sequence"],
    ]  # type: ignore[index,call-overload]
    assert emitted_metrics(capsys.readouterr().out)["StreamRecordsLost"] == 1


def test_a_deleted_stream_makes_the_entry_expired_and_still_recorded(ledger_aws: dict[str, Any]) -> None:
    failure = kinesis_failure("arn:aws:kinesis:eu-west-1:123456789012:stream/deleted", "1", "4", batch_size=4)
    assert consume([sqs_message(json.dumps(failure))]) == {"batchItemFailures": []}
    entry = failure_ledger().get(parse_failure(failure).failure_id)
    assert entry.rehydration_status is RehydrationStatus.EXPIRED
    assert entry.records == ()
    assert entry.stream is not None  # the pointer is kept: what failed is still known
    assert [alert for alert in alerts(ledger_aws) if "not all read back" in alert]


def test_a_stream_the_consumer_may_not_read_is_recorded_unreadable_with_the_reason(
    kinesis_stream: tuple[str, list[dict[str, Any]]], ledger_aws: dict[str, Any], mocker: Any
) -> None:
    # A mapping on a stream the consumer's role does not name: AWS answers AccessDenied.
    arn, put = kinesis_stream
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetShardIterator"
    )
    mocker.patch.object(failure_consumer()._rehydrator._kinesis, "get_shard_iterator", side_effect=denied)
    failure = kinesis_failure(arn, put[0]["sequence"], put[1]["sequence"], batch_size=2)
    assert consume([sqs_message(json.dumps(failure))]) == {"batchItemFailures": []}
    entry = failure_ledger().get(parse_failure(failure).failure_id)
    assert entry.rehydration_status is RehydrationStatus.UNREADABLE
    assert entry.rehydration_reason == "AccessDeniedException from kinesis: not authorized"


def test_dynamodb_stream_records_are_read_back_exactly_between_the_sequence_numbers(
    ledger_aws: dict[str, Any],
) -> None:
    dynamodb = ledger_aws["dynamodb"]
    description = dynamodb.create_table(
        TableName="order-outbox-test",
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream_arn = description["LatestStreamArn"]
    for number in range(5):
        dynamodb.put_item(
            TableName="order-outbox-test",
            Item={
                "order_id": {"S": f"o-{number}"},
                "blob": {"B": bytes([number, 255])},
                "total": {"N": "12.50"},
            },
        )
    streams = boto3.client("dynamodbstreams")
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )
    written = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    failure = {
        "requestContext": {
            "requestId": "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:dynamodb-orders-test",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-21T10:00:03.863Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": written[1]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": written[3]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": "2026-11-21T10:00:01Z",
            "approximateArrivalOfLastRecord": "2026-11-21T10:00:01Z",
            "batchSize": 3,
            "streamArn": stream_arn,
        },
    }
    assert consume([sqs_message(json.dumps(failure))]) == {"batchItemFailures": []}
    entry = failure_ledger().get(parse_failure(failure).failure_id)
    assert entry.rehydration_status is RehydrationStatus.COMPLETE
    assert len(entry.records) == 3
    for record, original in zip(entry.records, written[1:4], strict=True):
        # As Lambda delivers a DynamoDB stream record: wire-format images, binary in base64, epoch seconds
        change = record["dynamodb"]
        assert isinstance(change, dict)
        assert change["SequenceNumber"] == original["dynamodb"]["SequenceNumber"]
        assert change["Keys"] == original["dynamodb"]["Keys"]
        assert change["NewImage"]["blob"] == {
            "B": base64.b64encode(original["dynamodb"]["NewImage"]["blob"]["B"]).decode()
        }  # type: ignore[index,call-overload]
        assert change["NewImage"]["total"] == {"N": "12.50"}  # type: ignore[index,call-overload]
        assert isinstance(change["ApproximateCreationDateTime"], int | float)
        assert record["eventName"] == "INSERT"
        assert record["eventSourceARN"] == stream_arn


def test_a_redelivered_stream_failure_is_not_read_back_again(
    kinesis_stream: tuple[str, list[dict[str, Any]]], ledger_aws: dict[str, Any], mocker: Any
) -> None:
    arn, put = kinesis_stream
    message = sqs_message(
        json.dumps(kinesis_failure(arn, put[0]["sequence"], put[1]["sequence"], batch_size=2))
    )
    consume([message])
    reads = mocker.spy(failure_ledger(), "record")
    consume([message])
    assert reads.call_count == 0
    assert len(ledger_items(ledger_aws)) == 1


# ---------------------------------------------------------------- nothing lost


def test_an_unreadable_message_ends_in_the_consumers_dlq_after_max_receive_count(
    ledger_aws: dict[str, Any],
) -> None:
    # Given the failure queue with its redrive policy (as in the template: maxReceiveCount to a DLQ)
    sqs = ledger_aws["sqs"]
    dlq_url = sqs.create_queue(QueueName="orders-failures-dlq-test")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="orders-failures-loop-test",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(async_record({"order_id": "o-1"})))
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"note": "not a failure record"}')
    # When Lambda's SQS mapping polls, invokes the consumer and deletes what it did not report, until empty
    for _ in range(5):
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not received:
            continue
        event = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders-failures-loop-test",
                "awsRegion": "eu-west-1",
            }
            for m in received
        ]
        failed = {f["itemIdentifier"] for f in consume(event)["batchItemFailures"]}
        for m in received:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    # Then the failure is in the ledger and the unreadable message is in the DLQ, intact
    assert len(ledger_items(ledger_aws)) == 1
    [parked] = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert parked["Body"] == '{"note": "not a failure record"}'
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == []


def test_a_throttled_ledger_reports_the_message_instead_of_losing_it(
    ledger_aws: dict[str, Any], mocker: Any
) -> None:
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
    )
    table = failure_ledger()._table
    put = mocker.patch.object(table, "put_item", side_effect=throttled)
    message = sqs_message(json.dumps(async_record({"order_id": "o-1"})))
    assert consume([message]) == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert put.call_count > 1  # retried within the invocation before giving the message back
    mocker.stop(put)
    assert consume([message]) == {"batchItemFailures": []}
    assert len(ledger_items(ledger_aws)) == 1


def test_a_throttle_that_passes_is_retried_within_the_invocation(
    ledger_aws: dict[str, Any], mocker: Any
) -> None:
    table = failure_ledger()._table
    real_put = table.put_item
    throttles = iter(
        [ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")] * 2
    )

    def flaky_put(**kwargs: Any) -> Any:
        if (error := next(throttles, None)) is not None:
            raise error
        return real_put(**kwargs)

    put = mocker.patch.object(table, "put_item", side_effect=flaky_put)
    assert consume([sqs_message(json.dumps(async_record({"order_id": "o-2"})))]) == {"batchItemFailures": []}
    assert len(ledger_items(ledger_aws)) == 1
    assert put.call_count == 3


def test_an_s3_test_event_is_acknowledged_and_records_nothing(ledger_aws: dict[str, Any]) -> None:
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": DESTINATION_BUCKET})
    assert consume([sqs_message(body)]) == {"batchItemFailures": []}
    assert ledger_items(ledger_aws) == []


def test_an_s3_notification_through_an_sns_topic_is_followed_to_its_object(
    ledger_aws: dict[str, Any],
) -> None:
    [direct] = queued_failures("failures/s3/failure_object_created.json", ledger_aws["s3"])
    assert direct.expected is not None
    notification = {
        "Type": "Notification",
        "MessageId": "0b6d0c55-2f3e-4c1a-9d7b-5e8f1a2b3c4d",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:failure-objects",
        "Subject": "Amazon S3 Notification",
        "Message": direct.message["body"],
        "Timestamp": "2026-11-20T11:40:04.200Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    assert consume([sqs_message(json.dumps(notification))]) == {"batchItemFailures": []}
    assert [item["failure_id"]["S"] for item in ledger_items(ledger_aws)] == [direct.expected[0].failure_id]


def test_an_s3_notification_for_a_missing_object_is_reported(ledger_aws: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "s3": {"bucket": {"name": DESTINATION_BUCKET}, "object": {"key": "aws/lambda/gone"}},
                }
            ]
        }
    )
    message = sqs_message(body)
    assert consume([message]) == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}


# ---------------------------------------------------------------- the query API


def record_failures(count: int, *, function: str, condition: str, error_type: str, day: int) -> list[str]:
    ids = []
    for number in range(count):
        record = async_record({"n": number}, request_id=f"{function}-{condition}-{day}-{number}")
        record["timestamp"] = f"2026-11-{day:02d}T10:{number // 60:02d}:{number % 60:02d}.000Z"
        record["requestContext"]["functionArn"] = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{function}:$LATEST"
        )
        record["requestContext"]["condition"] = condition
        record["responsePayload"] = {"errorType": error_type, "errorMessage": "boom"}
        consume([sqs_message(json.dumps(record))])
        ids.append(parse_failure(record).failure_id)
    return ids


def test_list_by_function_newest_first_with_filters_and_pages(ledger_aws: dict[str, Any]) -> None:
    a_retries = record_failures(
        12, function="fn-a", condition="RetriesExhausted", error_type="ValueError", day=19
    )
    a_age = record_failures(
        3, function="fn-a", condition="EventAgeExceeded", error_type="TimeoutError", day=20
    )
    record_failures(4, function="fn-b", condition="RetriesExhausted", error_type="ValueError", day=20)
    ledger = failure_ledger()

    # Pages of 5 over fn-a's 15 entries: each once, newest first
    seen, cursor = [], None
    while True:
        page = ledger.list(LedgerFilter(function_name="fn-a"), limit=5, cursor=cursor)
        seen.extend(page.entries)
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(e.failure_id for e in seen) == sorted(a_retries + a_age)
    assert [e.occurred_at for e in seen] == sorted((e.occurred_at for e in seen), reverse=True)

    only_age = ledger.list(LedgerFilter(function_name="fn-a", conditions=frozenset({"EventAgeExceeded"})))
    assert sorted(e.failure_id for e in only_age.entries) == sorted(a_age)
    by_error = ledger.list(LedgerFilter(function_name="fn-a", error_types=frozenset({"TimeoutError"})))
    assert {e.error_type for e in by_error.entries} == {"TimeoutError"}
    window = ledger.list(
        LedgerFilter(
            function_name="fn-a",
            since=datetime(2026, 11, 20, tzinfo=UTC),
            until=datetime(2026, 11, 21, tzinfo=UTC),
        )
    )
    assert sorted(e.failure_id for e in window.entries) == sorted(a_age)


def test_list_by_day_across_functions_and_by_request_id(ledger_aws: dict[str, Any]) -> None:
    record_failures(2, function="fn-a", condition="RetriesExhausted", error_type="ValueError", day=19)
    b = record_failures(3, function="fn-b", condition="RetriesExhausted", error_type="ValueError", day=20)
    ledger = failure_ledger()
    day = ledger.list(
        LedgerFilter(since=datetime(2026, 11, 20, tzinfo=UTC), until=datetime(2026, 11, 20, 23, tzinfo=UTC))
    )
    assert sorted(e.failure_id for e in day.entries) == sorted(b)
    assert {e.function_name for e in day.entries} == {"fn-b"}  # every summary field, whatever the index
    week = ledger.list(LedgerFilter(until=datetime(2026, 11, 21, tzinfo=UTC)))
    assert len(week.entries) == 5
    one = ledger.list(
        LedgerFilter(until=datetime(2026, 11, 21, tzinfo=UTC), request_id="fn-b-RetriesExhausted-20-1")
    )
    assert [e.failure_id for e in one.entries] == [b[1]]


def test_list_by_source_finds_stream_failures(
    kinesis_stream: tuple[str, list[dict[str, Any]]], ledger_aws: dict[str, Any]
) -> None:
    arn, put = kinesis_stream
    failure = kinesis_failure(arn, put[0]["sequence"], put[0]["sequence"], batch_size=1)
    consume([sqs_message(json.dumps(failure))])
    page = failure_ledger().list(LedgerFilter(source_arn=arn, kinds=frozenset({FailureKind.STREAM})))
    assert [e.failure_id for e in page.entries] == [parse_failure(failure).failure_id]
    assert page.entries[0].rehydration_status is RehydrationStatus.COMPLETE
    assert page.entries[0].function_name == "kinesis-orders-test"
    assert page.entries[0].source_arn == arn


def test_mark_redriven_counts_each_redrive_and_filters(ledger_aws: dict[str, Any]) -> None:
    [first, second] = record_failures(
        2, function="fn-a", condition="RetriesExhausted", error_type="ValueError", day=20
    )
    ledger = failure_ledger()
    ledger.mark_redriven(first)
    ledger.mark_redriven(first)
    entry = ledger.get(first)
    assert entry.redrive_status is RedriveStatus.REDRIVEN
    assert entry.redrive_count == 2
    assert entry.last_redriven_at is not None
    pending = ledger.list(LedgerFilter(function_name="fn-a", redrive_status=RedriveStatus.PENDING))
    assert [e.failure_id for e in pending.entries] == [second]
    with pytest.raises(LedgerEntryNotFoundError, match="no ledger entry"):
        ledger.mark_redriven("async-0000")
    with pytest.raises(LedgerEntryNotFoundError):
        ledger.get("async-0000")


def test_a_cursor_from_elsewhere_is_refused_clearly(ledger_aws: dict[str, Any]) -> None:
    for cursor in (
        "not-base64!",
        base64.urlsafe_b64encode(b"[9, {}]").decode(),
        base64.urlsafe_b64encode(b"{}").decode(),
    ):
        with pytest.raises(LedgerError, match="list again without a cursor"):
            failure_ledger().list(LedgerFilter(function_name="fn-a"), cursor=cursor)
    with pytest.raises(ValueError, match="limit"):
        failure_ledger().list(limit=0)


def test_a_huge_stack_trace_goes_to_s3_with_the_body(ledger_aws: dict[str, Any]) -> None:
    # The payload is small; the error's details alone would pass DynamoDB's 400 KB.
    record = async_record({"order_id": "o-1"})
    record["responsePayload"] = {
        "errorType": "RecursionError",
        "errorMessage": "deep",
        "stackTrace": ["  frame\n" * 60] * 1000,
    }
    assert consume([sqs_message(json.dumps(record))]) == {"batchItemFailures": []}
    [item] = ledger_items(ledger_aws)
    assert item["body_location"] == {"S": "s3"}
    assert "detail" not in item
    entry = failure_ledger().get(item["failure_id"]["S"])
    assert len(entry.stack_trace) == 1000
    assert entry.payload == {"order_id": "o-1"}


def fixed_clock_ledger(moment: list[datetime]) -> Any:
    return FailureLedger(
        boto3.resource("dynamodb").Table("failure-ledger-test"),
        boto3.client("s3"),
        "failure-ledger-test",
        retention_days=1,
        clock=lambda: moment[0],
    )


def test_a_cursor_keeps_its_days_across_midnight_and_belongs_to_its_filter(
    ledger_aws: dict[str, Any],
) -> None:
    ids = record_failures(4, function="fn-a", condition="RetriesExhausted", error_type="ValueError", day=20)
    now = [datetime(2026, 11, 20, 23, 59, tzinfo=UTC)]
    ledger = fixed_clock_ledger(now)
    first = ledger.list(limit=3)
    assert first.cursor is not None
    now[0] = datetime(2026, 11, 21, 0, 1, tzinfo=UTC)  # a new day begins between two pages
    second = ledger.list(limit=3, cursor=first.cursor)
    assert sorted(e.failure_id for e in first.entries + second.entries) == sorted(ids)
    with pytest.raises(LedgerError, match="not one this ledger returned for this filter"):
        ledger.list(LedgerFilter(function_name="fn-a"), cursor=first.cursor)


def test_an_entry_past_its_ttl_is_gone_even_before_dynamodb_deletes_it(ledger_aws: dict[str, Any]) -> None:
    [failure_id] = record_failures(
        1, function="fn-a", condition="RetriesExhausted", error_type="ValueError", day=20
    )
    now = [datetime.now(UTC) + timedelta(days=89)]
    ledger = fixed_clock_ledger(now)  # (its retention only sets the TTL of what it writes)
    assert [e.failure_id for e in ledger.list(LedgerFilter(function_name="fn-a")).entries] == [failure_id]
    now[0] += timedelta(days=2)  # past the 90 days the consumer's ledger wrote
    assert ledger.list(LedgerFilter(function_name="fn-a")).entries == ()
    with pytest.raises(LedgerEntryNotFoundError):
        ledger.get(failure_id)


def test_the_metrics_emitted_are_the_ones_the_dashboard_and_alarms_read(
    ledger_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    consume(
        [
            item.message
            for item in queued_failures("failures/failure-queue/mixed_batch.json", ledger_aws["s3"])
        ]
    )
    dimension_sets: dict[str, set[tuple[str, ...]]] = {}
    for name, dimensions, _ in emf_metrics(capsys.readouterr().out):
        dimension_sets.setdefault(name, set()).update(tuple(sorted(d)) for d in dimensions)
    body = resource("FailuresDashboard")["Properties"]["DashboardBody"]["Fn::Sub"][0]
    schema = body.split("SEARCH('{LambdaFailureToolkit,", 1)[1].split("}", 1)[0]
    assert dimension_sets["FailuresRecorded"] >= {tuple(sorted(schema.split(",")))}
    alarm = resource("FailureConsumerUnreadableAlarm")["Properties"]
    assert dimension_sets[alarm["MetricName"]] == {tuple(d["Name"] for d in alarm["Dimensions"])}


# ---------------------------------------------------------------- the first hop


def test_an_undelivered_event_is_one_entry_with_its_event_and_the_alert_names_the_policy_to_check(
    ledger_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given EventBridge could not invoke the function: no permission (its DLQ message, by the mapping)
    [queued] = queued_failures("failures/first-hop/eventbridge_no_permissions.json", ledger_aws["s3"])
    assert queued.expected is not None
    # When the consumer reads it
    assert consume([queued.message]) == {"batchItemFailures": []}
    # Then the ledger holds one entry with the event as the rule target would have got it
    [failure] = queued.expected
    entry = failure_ledger().get(failure.failure_id)
    assert entry.kind is FailureKind.DELIVERY
    assert entry.payload_json == queued.message["body"]
    assert entry.first_hop == failure.first_hop
    assert (entry.function_name, entry.error_type, entry.source_arn) == (
        "order-events-dev",
        "NO_PERMISSIONS",
        queued.message["eventSourceARN"],
    )
    # And the alert says it is a permission problem, and which policy to check
    [alert] = alerts(ledger_aws)
    assert "permission problem" in alert
    assert (
        "aws lambda get-policy --function-name arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev"
        in alert
    )
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["UndeliveredEventsRecorded"] == 1
    assert metrics["FailuresRecorded"] == 2  # one by function, condition and error type, one total


def test_an_sns_subscription_dlq_message_is_read_only_from_a_queue_named_first_hop(
    ledger_aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    [queued] = queued_failures("failures/first-hop/sns_subscription.json", ledger_aws["s3"])
    # Not named (FirstHopDlqArns empty): nothing in it says what it is, so it is not recorded
    monkeypatch.setenv("FIRST_HOP_DLQ_ARNS", "")
    failure_consumer.cache_clear()
    get_config.cache_clear()
    message_id = queued.message["messageId"]
    assert consume([queued.message]) == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert ledger_items(ledger_aws) == []
    # Named: it is the event SNS could not deliver
    monkeypatch.setenv(
        "FIRST_HOP_DLQ_ARNS", f"arn:aws:sqs:eu-west-1:123456789012:other,{queued.message['eventSourceARN']}"
    )
    failure_consumer.cache_clear()
    get_config.cache_clear()
    assert consume([queued.message]) == {"batchItemFailures": []}
    [item] = ledger_items(ledger_aws)
    assert item["kind"] == {"S": "delivery"}


def test_a_record_whose_payload_aws_dropped_is_recorded_as_such_not_unreadable(
    ledger_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Lambda's OnFailure record came through an SNS topic without its payload (over 256 KB)
    record = async_record({"order_id": "ord-big"})
    del record["requestPayload"], record["responsePayload"]
    notification = {
        "Type": "Notification",
        "MessageId": "5d7f9b1d-3f5a-4c7e-9b1d-3f5a7c9e1b3d",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders-failures",
        "Message": json.dumps(record),
        "Timestamp": "2026-11-21T09:00:00.100Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:orders-failures:1",
    }
    # When the consumer reads it
    assert consume([sqs_message(json.dumps(notification))]) == {"batchItemFailures": []}
    # Then it is an entry whose event AWS dropped, said so, and counted; not a message it could not read
    [item] = ledger_items(ledger_aws)
    entry = failure_ledger().get(item["failure_id"]["S"])
    assert entry.payload_status.value == "dropped"
    assert "through SNS, whose 256 KB limit" in (entry.payload_dropped_because or "")
    [alert] = alerts(ledger_aws)
    assert "came without their event, which AWS dropped" in alert
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["PayloadsDropped"] == 1
    assert metrics["UnreadableFailureMessages"] == 0
