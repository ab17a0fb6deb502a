"""Replay into functions at the latency of AWS: a Lambda DLQ redriven by asynchronous Invoke, every call
of the contenders through the latency proxy (benchmarks/latency_proxy.py) in front of ministack.

A trivial function is created on ministack (boto3 create_function, its zip made in memory): it sends
each event it is given to a queue of its own (the sink), directly to ministack. Before each contender
a fresh DLQ is filled with --messages messages shaped as Lambda writes them (the event as the body,
RequestID / ErrorCode / ErrorMessage as attributes). The contenders:

- naive: one message at a time on one thread (receive 1, Invoke Event, delete 1), on --naive-messages;
- engine: the redrive engine, source `lambda_dlq`, at each --concurrencies and at its defaults (the
  request with no `concurrency`: INVOKE_CONCURRENCY workers).

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
        [--json benchmarks/results/replay-at-latency.json]
"""

import argparse
import io
import json
import os
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
from benchmarks.latency_proxy import Latency, running_latency_proxy
from benchmarks.redrive_throughput import BATCH, WAIT_TIME_S, depth, loopback_only, server_cpu_s
from lambda_failure_toolkit.redrive import RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.request import INVOKE_CONCURRENCY
from lambda_failure_toolkit.retry import Deadline

DEFAULT = "default"
SINK_CODE = """
import json, os
import boto3

sqs = boto3.client("sqs", endpoint_url=os.environ["SINK_ENDPOINT"])


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SINK_QUEUE_URL"], MessageBody=json.dumps(event))
"""


@dataclass(frozen=True)
class Result:
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


def create_sink(functions: Any, endpoint_url: str, sink_url: str) -> str:
    """The trivial function: each event it gets goes to `sink_url`."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("sink.py", SINK_CODE)
    name = f"bench-replay-sink-{uuid.uuid4().hex[:8]}"
    functions.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/bench-replay",
        Handler="sink.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
        Environment={"Variables": {"SINK_ENDPOINT": endpoint_url, "SINK_QUEUE_URL": sink_url}},
    )
    functions.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def fill(sqs: Any, dlq: str, count: int) -> None:
    """`count` messages as Lambda writes them to an async DLQ."""
    for start in range(0, count, BATCH):
        entries = [
            {
                "Id": str(index - start),
                "MessageBody": json.dumps({"detail-type": "OrderPlaced", "detail": {"index": index}}),
                "MessageAttributes": {
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": "inventory returned 503"},
                },
            }
            for index in range(start, min(start + BATCH, count))
        ]
        response = sqs.send_message_batch(QueueUrl=dlq, Entries=entries)
        assert not response.get("Failed"), response["Failed"]
    assert depth(sqs, dlq) == (count, 0)


def naive(sqs: Any, functions: Any, dlq: str, function: str, _: int | None) -> None:
    while True:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1, WaitTimeSeconds=WAIT_TIME_S).get(
            "Messages"
        )
        if not messages:
            return
        functions.invoke(FunctionName=function, InvocationType="Event", Payload=messages[0]["Body"].encode())
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=messages[0]["ReceiptHandle"])


def engine(sqs: Any, functions: Any, dlq: str, function: str, concurrency: int | None) -> None:
    targets = RedriveTargets(functions=frozenset({function}))
    redrive = Redrive(
        sqs=sqs,
        lambda_client=functions,
        targets=targets,
        restrict_derived_targets=False,
        wait_time_s=WAIT_TIME_S,
        margin_s=5,
    )
    request = parse_redrive_request(
        {"source": {"type": "lambda_dlq", "queue_url": dlq, "function": function}, "dry_run": False}
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
    name: str, concurrency: int | None, count: int, *, direct: Any, proxied: tuple[Any, Any], function: str,
    sink: str, pids: tuple[int | None, int], timeout_s: float,
) -> Result:  # fmt: skip
    sqs = direct[0]
    dlq = sqs.create_queue(QueueName=f"bench-replay-{uuid.uuid4().hex[:8]}-dlq")["QueueUrl"]
    try:
        fill(sqs, dlq, count)
        dlq_url = dlq.replace(sqs.meta.endpoint_url, proxied[0].meta.endpoint_url)
        server, proxy = pids
        before = (time.process_time(), sum(tree_cpu_s(server)) if server else 0.0, server_cpu_s(proxy))
        started = time.perf_counter()
        (naive if name == "naive" else engine)(proxied[0], proxied[1], dlq_url, function, concurrency)
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
    return Result(name, label, count, count / elapsed, executed, *cpu_us)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    parser.add_argument("--endpoint-url", default=endpoint_url, type=loopback_only, help="loopback only")
    parser.add_argument("--latency-ms", type=float, default=15.0)
    parser.add_argument("--jitter-ms", type=float, help="give or take (default: a fifth of the latency)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--concurrencies", default="1,4,16", help="the engine's workers")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="for ministack to run the invocations")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument(
        "--server-pid",
        type=int,
        default=int(os.environ["MINISTACK_PID"]) if os.environ.get("MINISTACK_PID") else None,
    )
    args = parser.parse_args()
    latency = Latency(args.latency_ms, args.latency_ms / 5 if args.jitter_ms is None else args.jitter_ms)
    concurrencies = [int(c) for c in args.concurrencies.split(",")]

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
        runs: list[tuple[str, int | None, int]] = [("naive", None, args.naive_messages)]
        runs += [("engine", c, args.messages) for c in [*concurrencies, None]]
        for name, concurrency, count in runs:
            result = run_one(
                name, concurrency, count, direct=direct, proxied=proxied, function=function, sink=sink,
                pids=(args.server_pid, proxy.pid), timeout_s=args.timeout_s,
            )  # fmt: skip
            results.append(result)
            print(
                f"  {result.contender:7} {result.concurrency:>7}  {result.per_second:6.0f} msg/s  "
                f"(all executed after {result.executed_s:5.1f} s)   CPU µs/msg: client {result.client_cpu_us:5.0f}"
                f"  ministack {result.server_cpu_us:5.0f}  proxy {result.proxy_cpu_us:5.0f}",
                flush=True,
            )
    print(
        f"every run: its DLQ empty, each of its events invoked exactly once (default workers {INVOKE_CONCURRENCY})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"latency_ms": asdict(latency), "results": [asdict(r) for r in results]}, indent=2)
            + "\n"
        )


if __name__ == "__main__":
    main()
