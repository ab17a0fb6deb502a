"""The failure consumer under a failure storm, at the latency of AWS.

The toolkit is deployed alone to ministack (as tests/e2e does), with its `AwsEndpointUrl` set to the
latency proxy (benchmarks/latency_proxy.py) in front of ministack: every AWS call the deployed
functions make (the ledger's conditional put, a stream read-back, the alert) takes what a call from
Lambda takes on AWS (default 15 ms, give or take 3). The consumer's event source mapping is paused,
--records failure records are put on the failure queue, the mapping is resumed, and the clock runs
until the queue is empty (visible and in flight). The records are a mix, each with a unique id:
4 in 10 asynchronous OnFailure records, 3 in 10 Lambda DLQ messages (the event as the body,
RequestID / ErrorCode / ErrorMessage as attributes), 2 in 10 Kinesis and 1 in 10 DynamoDB Streams
pointer records (their streams do not exist: the read-back is one refused call, and the entry says so).

Then, directly on ministack (not through the proxy):
- the ledger holds exactly one entry per record: the failure ids scanned from the table equal the
  ones the parser gives for the records put (nothing lost, nothing twice);
- the alerts, read from a queue subscribed to the alert topic: one per batch that recorded something,
  and the counts their subjects give add up to the records;
- the consumer's own DLQ is empty.

CPU per record is counted for this client, ministack's server process, the function workers it runs
the handlers in (what Lambda would be on AWS), and the proxy: on a shared 2-core machine they
compete, and the figures show which side limits.

    make bench-storm [BENCH_ARGS="--records 2000"]     # installs ministack and the SAM CLI itself
    .venv/bin/python benchmarks/consumer_storm.py [--records 10000] [--latency-ms 15] [--jitter-ms 3]
        [--timeout-s 1800] [--json benchmarks/results/consumer-storm.json]
"""

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.latency_proxy import Latency, add_latency_options, latency_of, running_latency_proxy
from benchmarks.redrive_throughput import server_cpu_s
from demo.ministack import ROOT, running_ministack
from demo.stack import Stack, deploy
from lambda_failure_toolkit.failures import parse_failure

QUEUE = "arn:aws:sqs:us-east-1:000000000000:failure-queue"  # as the consumer sees the records' source
ALERT_SUBJECT = re.compile(r"^(\d+) new Lambda failure")


@dataclass(frozen=True)
class Storm:
    records: int
    latency_ms: float
    seconds_to_empty: float
    records_per_second: float
    ledger_entries: int
    missing: int
    unexpected: int
    alerts: int
    alerted_records: int
    consumer_dlq: int
    client_cpu_us: float
    ministack_cpu_us: float
    functions_cpu_us: float
    proxy_cpu_us: float


# ---------------------------------------------------------------- the records


def _async(index: int, tag: str) -> dict[str, Any]:
    request = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/async/{index}"))
    body = {
        "version": "1.0",
        "timestamp": "2026-11-20T09:02:11.348Z",
        "requestContext": {
            "requestId": request,
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:orders-async-processor:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"detail-type": "OrderPlaced", "detail": {"order_id": f"ord-{index}"}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "inventory returned 503",
            "errorType": "InventoryUnavailableError",
        },
    }
    return {"MessageBody": json.dumps(body)}


def _dlq(index: int, tag: str) -> dict[str, Any]:
    request = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/dlq/{index}"))
    event = {"detail-type": "OrderPlaced", "source": "shop.orders", "detail": {"order_id": f"ord-{index}"}}
    return {
        "MessageBody": json.dumps(event),
        "MessageAttributes": {
            "RequestID": {"DataType": "String", "StringValue": request},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "inventory returned 503"},
        },
    }


def _stream(index: int, tag: str, *, dynamodb: bool) -> dict[str, Any]:
    start = 10**40 + index * 10  # unique per record (and per run, by the stream's name)
    info = {
        "shardId": "shardId-00000001732097727841-5f0a2c3e" if dynamodb else "shardId-000000000001",
        "startSequenceNumber": str(start),
        "endSequenceNumber": str(start + 2),
        "approximateArrivalOfFirstRecord": "2026-11-20T11:39:58.427Z",
        "approximateArrivalOfLastRecord": "2026-11-20T11:39:59.102Z",
        "batchSize": 3,
        "streamArn": (
            f"arn:aws:dynamodb:us-east-1:000000000000:table/storm-{tag}/stream/2026-11-02T09:15:27.841"
            if dynamodb
            else f"arn:aws:kinesis:us-east-1:000000000000:stream/storm-{tag}"
        ),
    }
    body = {
        "requestContext": {
            "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/stream/{index}")),
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:orders-stream-processor:live",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "version": "1.0",
        "timestamp": "2026-11-20T11:40:03.863Z",
        "DDBStreamBatchInfo" if dynamodb else "KinesisBatchInfo": info,
        "responseContext": {"statusCode": 200, "executedVersion": "12", "functionError": "Unhandled"},
    }
    return {"MessageBody": json.dumps(body)}


def storm_entries(count: int, tag: str) -> list[dict[str, Any]]:
    """`count` send_message_batch entries: 4 in 10 async, 3 in 10 DLQ, 2 Kinesis, 1 DynamoDB pointer."""
    makers = [_async] * 4 + [_dlq] * 3
    entries = []
    for index in range(count):
        slot = index % 10
        entry = makers[slot](index, tag) if slot < 7 else _stream(index, tag, dynamodb=slot == 9)
        entries.append({"Id": str(index % 10), **entry})
    return entries


def expected_failure_id(entry: dict[str, Any]) -> str:
    """The failure id the consumer gives the message (as the mapping delivers it: camelCase attributes)."""
    attributes = {
        name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
        for name, value in entry.get("MessageAttributes", {}).items()
    }
    record = {
        "messageId": "m",
        "receiptHandle": "r",
        "body": entry["MessageBody"],
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1795251731402",
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": "1795251731421",
        },
        "messageAttributes": attributes,
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE,
        "awsRegion": "us-east-1",
    }
    return parse_failure(record).failure_id


# ---------------------------------------------------------------- measuring


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """(CPU of `pid` itself, CPU of its descendants), user + system, reaped children included."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, tuple[float, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(entry.name)
        parents[child] = int(fields[1])
        own = (int(fields[11]) + int(fields[12])) / tick
        reaped = (int(fields[13]) + int(fields[14])) / tick
        times[child] = (own, reaped)
    descendants: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    own, reaped = times.get(pid, (0.0, 0.0))
    return own, reaped + sum(sum(times[child]) for child in descendants)


def _drain(sqs: Any, url: str) -> Iterator[dict[str, Any]]:
    empty = 0
    while empty < 3:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        empty = 0 if messages else empty + 1
        for message in messages:
            yield message
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def _ledger_ids(stack: Stack) -> list[str]:
    ids: list[str] = []
    pages = stack.client("dynamodb").get_paginator("scan")
    for page in pages.paginate(
        TableName=stack.outputs["LedgerTableName"], ProjectionExpression="failure_id", ConsistentRead=True
    ):
        ids.extend(item["failure_id"]["S"] for item in page["Items"])
    return ids


def _alert_queue(stack: Stack) -> str:
    sqs = stack.client("sqs")
    url: str = sqs.create_queue(QueueName=f"storm-alerts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.client("sns").subscribe(TopicArn=stack.outputs["AlertTopicArn"], Protocol="sqs", Endpoint=arn)
    return url


def _consumer_mapping(stack: Stack) -> str:
    mappings = stack.client("lambda").list_event_source_mappings(
        FunctionName=stack.outputs["FailureConsumerFunctionName"]
    )["EventSourceMappings"]
    found = [m["UUID"] for m in mappings if m["EventSourceArn"] == stack.outputs["FailureQueueArn"]]
    if len(found) != 1:
        raise RuntimeError(f"expected one mapping of the failure queue to the consumer, found {found}")
    return str(found[0])


def storm(stack: Stack, *, records: int, latency: Latency, proxy_pid: int, timeout_s: float) -> Storm:
    sqs, functions = stack.client("sqs"), stack.client("lambda")
    queue = stack.outputs["FailureQueueUrl"]
    alerts = _alert_queue(stack)
    mapping = _consumer_mapping(stack)
    functions.update_event_source_mapping(UUID=mapping, Enabled=False)
    tag = uuid.uuid4().hex[:8]
    entries = storm_entries(records, tag)
    expected = {expected_failure_id(entry) for entry in entries}
    if len(expected) != records:
        raise RuntimeError(f"the storm's records are not unique: {len(expected)} ids for {records}")
    with ThreadPoolExecutor(8) as pool:
        batches = [entries[start : start + 10] for start in range(0, records, 10)]
        list(pool.map(lambda batch: sqs.send_message_batch(QueueUrl=queue, Entries=batch), batches))
    print(f"  {records} records on the failure queue; resuming the consumer", flush=True)

    pid = stack.account.pid
    before = (time.process_time(), *tree_cpu_s(pid), server_cpu_s(proxy_pid))
    started = time.perf_counter()
    functions.update_event_source_mapping(UUID=mapping, Enabled=True)
    while (depth := _depth(sqs, queue)) > 0:
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"{depth} records still on the failure queue after {timeout_s:.0f} s")
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    after = (time.process_time(), *tree_cpu_s(pid), server_cpu_s(proxy_pid))

    ids = _ledger_ids(stack)
    subjects = [json.loads(message["Body"]).get("Subject", "") for message in _drain(sqs, alerts)]
    counts = [int(match.group(1)) for subject in subjects if (match := ALERT_SUBJECT.match(subject))]
    cpu_us = [(b - a) / records * 1e6 for a, b in zip(before, after, strict=True)]
    return Storm(
        records=records,
        latency_ms=latency.delay_ms,
        seconds_to_empty=elapsed,
        records_per_second=records / elapsed,
        ledger_entries=len(ids),
        missing=len(expected - set(ids)),
        unexpected=len(set(ids) - expected),
        alerts=len(subjects),
        alerted_records=sum(counts),
        consumer_dlq=_depth(sqs, stack.outputs["FailureConsumerDLQUrl"]),
        client_cpu_us=cpu_us[0],
        ministack_cpu_us=cpu_us[1],
        functions_cpu_us=cpu_us[2],
        proxy_cpu_us=cpu_us[3],
    )


def verdicts(result: Storm) -> list[str]:
    exact = result.ledger_entries == result.records and not result.missing and not result.unexpected
    batches = -(-result.records // 10)
    per_batch = result.alerts <= batches and result.alerted_records == result.records
    return [
        f"ledger: {result.ledger_entries} entries for {result.records} records, {result.missing} missing, "
        f"{result.unexpected} unexpected: {'exact' if exact else 'NOT EXACT'}",
        f"alerts: {result.alerts} for {result.alerted_records} recorded failures (at least {batches} batches "
        f"of 10): {'one per batch' if per_batch else 'NOT one per batch'}",
        f"consumer's DLQ: {result.consumer_dlq} messages",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=10_000)
    add_latency_options(parser)
    parser.add_argument(
        "--timeout-s", type=float, default=1800.0, help="give up when the queue is not empty by then"
    )
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()
    latency = latency_of(parser, args)
    with running_ministack() as account, running_latency_proxy(account.url, latency) as proxy:
        print(f"deploying the toolkit to ministack (pid {account.pid}), its AWS calls through {proxy.url}")
        stack = deploy(
            account,
            stack_name="lambda-failure-toolkit-storm",
            template=ROOT / "toolkit" / "template.yaml",
            parameters={"Stage": "storm", "FunctionTimeout": "30", "AwsEndpointUrl": proxy.url},
            build_dir=".aws-sam/toolkit",
        )
        print(
            f"consumer storm at {latency.delay_ms:g} ± {latency.jitter_ms:g} ms a call (proxy pid {proxy.pid}):",
            flush=True,
        )
        result = storm(
            stack, records=args.records, latency=latency, proxy_pid=proxy.pid, timeout_s=args.timeout_s
        )
    print(
        f"  {result.records} records: queue empty after {result.seconds_to_empty:.1f} s, "
        f"{result.records_per_second:.1f} records/s\n"
        f"  CPU µs/record: client {result.client_cpu_us:.0f}  ministack {result.ministack_cpu_us:.0f}  "
        f"functions {result.functions_cpu_us:.0f}  proxy {result.proxy_cpu_us:.0f}"
    )
    for line in verdicts(result):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
