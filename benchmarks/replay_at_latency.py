"""Replay into functions at the latency of AWS: a Lambda DLQ and an on-failure destination queue
redriven by asynchronous Invoke, every call of the contenders through the latency proxy
(benchmarks/latency_proxy.py) in front of ministack.

A trivial function is created on ministack (boto3 create_function, its zip made in memory): it sends
each event it is given to a queue of its own (the sink), directly to ministack. Before each contender
a fresh queue is filled with --messages messages shaped as Lambda writes them, for each of --sources:

- lambda_dlq: an async DLQ's message (the event as the body, RequestID / ErrorCode / ErrorMessage as
  attributes);
- destination_queue: an OnFailure destination's invocation record (the event as `requestPayload`,
  the function's qualified ARN in `requestContext.functionArn`, the error in `responsePayload`).

The contenders, for each source:

- naive: one message at a time on one thread (receive 1, Invoke Event, delete 1), on --naive-messages;
  for a destination record, its `requestPayload` on its `functionArn`;
- engine: the redrive engine, with the source's type, at each --concurrencies and at its defaults
  (the request with no `concurrency`: INVOKE_CONCURRENCY workers).

Each stops at its first empty receive (WaitTimeSeconds=1, included in its time). Its rate is messages
over the time until its last invoke was accepted and its DLQ is empty. Then, directly on ministack:
the DLQ is empty (visible and in flight), and the sink, once every asynchronous invocation has run,
holds each event exactly once (drained and counted by the event's index: nothing lost, nothing twice).
"executed" is how long after the start the last invocation ran on ministack: its own pace, not the
replay's. CPU per message is counted for this client, ministack (its server and the function workers
it runs the handler in) and the proxy.

    make bench-replay [BENCH_ARGS="--messages 1000"]        # installs and starts ministack itself
    scripts/with-ministack .venv/bin/python benchmarks/replay_at_latency.py [--latency-ms 15]
        [--jitter-ms 3] [--messages 2000] [--naive-messages 300] [--concurrencies 1,4,16]
        [--sources lambda_dlq,destination_queue]
        [--json benchmarks/results/replay-at-latency.json]
"""

import argparse
import io
import json
import sys
import time
import uuid
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.config import Config

from benchmarks.consumer_storm import tree_cpu_s
from benchmarks.latency_proxy import add_latency_options, latency_of, running_latency_proxy
from benchmarks.redrive_throughput import (
    BATCH,
    WAIT_TIME_S,
    add_endpoint_options,
    depth,
    server_cpu_s,
)
from lambda_failure_toolkit.redrive import RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.request import INVOKE_CONCURRENCY
from lambda_failure_toolkit.retry import Deadline

DEFAULT = "default"
SOURCES = ("lambda_dlq", "destination_queue")
SINK_CODE = """
import json, os
import boto3

sqs = boto3.client("sqs", endpoint_url=os.environ["SINK_ENDPOINT"])


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK_QUEUE_URL"], MessageBody=json.dumps(event))
"""


@dataclass(frozen=True)
class Result:
    source: str
    contender: str
    concurrency: str
    messages: int
    per_second: float
    executed_s: float
    """From the start until the sink held every event (ministack running the invocations)."""
    client_cpu_us: float
    server_cpu_us: float
    proxy_cpu_us: float


def clients(endpoint_url: str, concurrency: int) -> tuple[Any, Any]:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")  # noqa: S106
    config = Config(max_pool_connections=max(10, 2 * concurrency), retries={"mode": "standard"})
    return (
        session.client("sqs", endpoint_url=endpoint_url, config=config),
        session.client("lambda", endpoint_url=endpoint_url, config=config),
    )


def create_sink(functions: Any, endpoint_url: str, sink_url: str) -> tuple[str, str]:
    """The trivial function: each event it gets goes to `sink_url`. Its name and ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("sink.py", SINK_CODE)
    name = f"bench-replay-sink-{uuid.uuid4().hex[:8]}"
    created = functions.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/bench-replay",
        Handler="sink.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
        Environment={"Variables": {"SINK_ENDPOINT": endpoint_url, "SINK_QUEUE_URL": sink_url}},
    )
    functions.get_waiter("function_active_v2").wait(FunctionName=name)
    return name, created["FunctionArn"]


def dlq_message(index: int, _: str) -> dict[str, Any]:
    """An async DLQ's message: the event as the body, the failure in attributes."""
    return {
        "MessageBody": json.dumps({"detail-type": "OrderPlaced", "detail": {"index": index}}),
        "MessageAttributes": {
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "inventory returned 503"},
        },
    }


def destination_record(index: int, function_arn: str) -> dict[str, Any]:
    """An OnFailure destination's invocation record of an unqualified invoke (`$LATEST`), as
    events/failures/destinations/async/retries_exhausted.json has it."""
    record = {
        "version": "1.0",
        "timestamp": "2026-11-20T15:00:04.902Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"detail-type": "OrderPlaced", "detail": {"index": index}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "inventory returned 503",
            "errorType": "InventoryUnavailableError",
        },
    }
    return {"MessageBody": json.dumps(record)}


def fill(sqs: Any, queue: str, count: int, source: str, function_arn: str) -> None:
    """`count` messages as Lambda writes them to the `source` kind of queue."""
    shape = dlq_message if source == "lambda_dlq" else destination_record
    for start in range(0, count, BATCH):
        entries = [
            {"Id": str(index - start)} | shape(index, function_arn)
            for index in range(start, min(start + BATCH, count))
        ]
        response = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        assert not response.get("Failed"), response["Failed"]
    assert depth(sqs, queue) == (count, 0)


def naive(sqs: Any, functions: Any, queue: str, function: str, _: int | None, *, source: str) -> None:
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=1, WaitTimeSeconds=WAIT_TIME_S
        ).get("Messages")
        if not messages:
            return
        body = messages[0]["Body"]
        if source == "destination_queue":
            record = json.loads(body)
            function, body = record["requestContext"]["functionArn"], json.dumps(record["requestPayload"])
        functions.invoke(FunctionName=function, InvocationType="Event", Payload=body.encode())
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])


def engine(
    sqs: Any, functions: Any, queue: str, function: str, concurrency: int | None, *, source: str
) -> None:
    targets = RedriveTargets(functions=frozenset({function}))
    redrive = Redrive(
        sqs=sqs,
        lambda_client=functions,
        targets=targets,
        restrict_derived_targets=False,
        wait_time_s=WAIT_TIME_S,
        margin_s=5,
    )
    described = {"type": source, "queue_url": queue} | (
        {"function": function} if source == "lambda_dlq" else {}
    )
    request = parse_redrive_request(
        {"source": described, "dry_run": False}
        | ({"concurrency": concurrency} if concurrency is not None else {}),
        targets,
    )
    report = redrive.run(request, deadline=Deadline.after(3600))
    assert report.status == "complete", report
    assert report.failed == 0, report.failures


def sink_indices(
    sqs: Any, sink: str, count: int, started: float, timeout_s: float
) -> tuple[Counter[int], float]:
    """Wait until the sink holds `count` events (or the timeout), then drain it: each event's index,
    counted, and when the last one arrived (seconds after `started`)."""
    while depth(sqs, sink)[0] < count and time.perf_counter() - started < timeout_s:
        time.sleep(0.2)
    executed = time.perf_counter() - started
    seen: Counter[int] = Counter()
    empty = 0
    while empty < 2:
        messages = sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        empty = 0 if messages else empty + 1
        for message in messages:
            seen[json.loads(message["Body"])["detail"]["index"]] += 1
        if messages:
            sqs.delete_message_batch(
                QueueUrl=sink,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
    return seen, executed


def run_one(
    source: str, name: str, concurrency: int | None, count: int, *, direct: Any, proxied: tuple[Any, Any],
    function: tuple[str, str], sink: str, pids: tuple[int | None, int], timeout_s: float,
) -> Result:  # fmt: skip
    sqs = direct[0]
    dlq = sqs.create_queue(QueueName=f"bench-replay-{uuid.uuid4().hex[:8]}-dlq")["QueueUrl"]
    try:
        fill(sqs, dlq, count, source, function[1])
        dlq_url = dlq.replace(sqs.meta.endpoint_url, proxied[0].meta.endpoint_url)
        server, proxy = pids
        before = (time.process_time(), sum(tree_cpu_s(server)) if server else 0.0, server_cpu_s(proxy))
        started = time.perf_counter()
        (naive if name == "naive" else engine)(
            proxied[0], proxied[1], dlq_url, function[0], concurrency, source=source
        )
        elapsed = time.perf_counter() - started
        after = (time.process_time(), sum(tree_cpu_s(server)) if server else 0.0, server_cpu_s(proxy))
        assert depth(sqs, dlq) == (0, 0), f"{name}: the DLQ still holds {depth(sqs, dlq)} (visible, hidden)"
        seen, executed = sink_indices(sqs, sink, count, started, timeout_s)
        lost = set(range(count)) - set(seen)
        twice = {index: n for index, n in seen.items() if n > 1}
        assert not lost, f"{name}: {len(lost)} events never invoked"
        assert not twice, f"{name}: {len(twice)} events invoked more than once"
    finally:
        sqs.delete_queue(QueueUrl=dlq)
    cpu_us = [(b - a) / count * 1e6 for a, b in zip(before, after, strict=True)]
    label = "1" if name == "naive" else str(concurrency or DEFAULT)
    return Result(source, name, label, count, count / elapsed, executed, *cpu_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_endpoint_options(parser)
    add_latency_options(parser)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--concurrencies", default="1,4,16", help="the engine's workers")
    parser.add_argument("--sources", default=",".join(SOURCES), help="what the replayed queues hold")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="for ministack to run the invocations")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args()
    latency = latency_of(parser, args)
    concurrencies = [int(c) for c in args.concurrencies.split(",")]
    sources = args.sources.split(",")
    if unknown := set(sources) - set(SOURCES):
        parser.error(f"--sources: {', '.join(sorted(unknown))} unknown; give some of {', '.join(SOURCES)}")

    direct = clients(args.endpoint_url, 4)
    sink = direct[0].create_queue(QueueName=f"bench-replay-sink-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    function = create_sink(direct[1], args.endpoint_url, sink)
    results: list[Result] = []
    with running_latency_proxy(args.endpoint_url, latency) as proxy:
        proxied = clients(proxy.url, max(concurrencies))
        print(
            f"replay into a function at {latency.delay_ms:g} ± {latency.jitter_ms:g} ms a call (proxy pid "
            f"{proxy.pid}) to {args.endpoint_url}: {args.messages} messages a run, naive {args.naive_messages}"
        )
        runs: list[tuple[str, str, int | None, int]] = []
        for source in sources:
            runs += [(source, "naive", None, args.naive_messages)]
            runs += [(source, "engine", c, args.messages) for c in [*concurrencies, None]]
        for source, name, concurrency, count in runs:
            result = run_one(
                source, name, concurrency, count, direct=direct, proxied=proxied, function=function, sink=sink,
                pids=(args.server_pid, proxy.pid), timeout_s=args.timeout_s,
            )  # fmt: skip
            results.append(result)
            print(
                f"  {result.source:17} {result.contender:7} {result.concurrency:>7}  {result.per_second:6.0f} msg/s  "
                f"(all executed after {result.executed_s:5.1f} s)   CPU µs/msg: client {result.client_cpu_us:5.0f}"
                f"  ministack {result.server_cpu_us:5.0f}  proxy {result.proxy_cpu_us:5.0f}",
                flush=True,
            )
    print(
        f"every run: its queue empty, each of its events invoked exactly once (default workers {INVOKE_CONCURRENCY})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"latency_ms": asdict(latency), "results": [asdict(r) for r in results]}, indent=2)
            + "\n"
        )


if __name__ == "__main__":
    main()
