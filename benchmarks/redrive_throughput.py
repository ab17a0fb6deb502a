"""Redrive throughput: the engine against a naive loop and the raw batched limit, on a local SQS.

Moves --messages messages from a DLQ to a queue through the SQS of ministack on 127.0.0.1, three
ways, in one run:

- naive: one message at a time on one thread (receive 1, send 1, delete 1);
- raw: bare batched calls (receive 10, send_message_batch, delete_message_batch) on --concurrency
  threads with no redrive logic: the most the engine could reach against this endpoint;
- engine: shared/redrive's Redrive at the same concurrency, with a `since` filter that selects every
  message, so that it moves them itself (with no filter it would hand the DLQ to SQS's
  StartMessageMoveTask, which ministack lacks).

Every contender carries the message attributes along and stops each thread at its first empty
receive, with the same long poll as the engine (WaitTimeSeconds=1): each time below includes
that last empty second. Before each contender a fresh DLQ is filled (send_message_batch, bodies of
200 bytes of JSON, three message attributes) and afterwards the target must hold exactly
--messages messages, with their attributes, and the DLQ none.

raw and engine run --repeat rounds, alternating which goes first; the naive loop (about 100 s for
10,000 messages) runs first in the first --naive-repeat rounds. The figures are medians, the ratio
the median of the rounds' ratios: other work on the machine moves single runs by 20 % either way.
"client CPU" is this process's CPU time (every thread) per message, "server CPU" ministack's (its
pid from $MINISTACK_PID): they share the machine's two cores. ministack scans the whole queue for
each ReceiveMessage and for each entry of DeleteMessage(Batch), so its cost grows with the queue's
depth: two scans a message for the naive loop, 1.1 for the batched ones. It has no
ListDeadLetterSourceQueues, which the engine calls once per run: the client here answers it locally
with "no source queues".

Memory: each of --memory-sizes is moved by the engine in a fresh subprocess of this script
(--memory-run N), which reports ru_maxrss before and after the run and the tracemalloc peak of the
run (tracemalloc runs only there, never in the throughput runs).

    make bench-redrive-loopback [BENCH_ARGS="--repeat 1"]      # installs and starts ministack itself
    scripts/with-ministack .venv/bin/python benchmarks/redrive_throughput.py \\
        [--endpoint-url http://127.0.0.1:4566] [--messages 10000] [--concurrency 4] [--repeat 7] \\
        [--naive-repeat 1] [--memory-sizes 1000,10000,50000]
"""

import argparse
import ipaddress
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config

from lambda_failure_toolkit.redrive import RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.replays import REPLAYS_ATTRIBUTE
from lambda_failure_toolkit.retry import Deadline

WAIT_TIME_S = 1
BATCH = 10
TARGET_RATIO = 0.85


def sqs_client(endpoint_url: str, concurrency: int) -> Any:
    """One client for every contender (boto3 clients are thread-safe), with a connection per thread."""
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 -- ministack's, which takes any
        config=Config(max_pool_connections=max(10, 2 * concurrency), retries={"mode": "standard"}),
    )
    # ministack (1.5.33) has no ListDeadLetterSourceQueues, and the engine asks it once per run of an
    # sqs_dlq source, even with a target override: answer "no source queues" without a request.
    client.meta.events.register(
        "before-call.sqs.ListDeadLetterSourceQueues",
        _no_source_queues,  # type: ignore[arg-type]  # a before-call handler may answer for the call
    )
    return client


def _no_source_queues(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("", 200, HTTPHeaders(), None), {"queueUrls": []}


def add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    """--endpoint-url and --server-pid, as scripts/with-ministack sets them in the environment."""
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    parser.add_argument("--endpoint-url", default=endpoint_url, type=loopback_only, help="loopback only")
    parser.add_argument(
        "--server-pid",
        type=int,
        default=int(os.environ["MINISTACK_PID"]) if os.environ.get("MINISTACK_PID") else None,
        help="the endpoint's process, to count its CPU time (default: $MINISTACK_PID, as with-ministack sets)",
    )


def loopback_only(endpoint_url: str) -> str:
    host = urlsplit(endpoint_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"--endpoint-url {endpoint_url}: this benchmark sends traffic to loopback only")
    return endpoint_url


# ---------------------------------------------------------------- queues


def entry(index: int, size: int = 200) -> dict[str, Any]:
    """Message `index` of a DLQ to move: an order event of `size` bytes of JSON, three attributes."""
    order = {
        "order_id": f"ord-{index:08d}",
        "revision": 1,
        "event_type": "OrderPlaced",
        "occurred_at": "2026-11-20T10:00:00Z",
        "total_cents": 4599,
        "currency": "EUR",
        "customer": f"cust-{index % 997:05d}",
    }
    padding = size - len(json.dumps({**order, "note": ""}))
    body = json.dumps({**order, "note": "x" * max(0, padding)})
    return {
        "Id": str(index % BATCH),
        "MessageBody": body,
        "MessageAttributes": {
            "origin": {"DataType": "String", "StringValue": "orders-queue"},
            "attempt": {"DataType": "Number", "StringValue": str(index % 5 + 1)},
            "trace": {"DataType": "Binary", "BinaryValue": index.to_bytes(8, "big")},
        },
    }


def create_pair(sqs: Any, label: str) -> tuple[str, str]:
    name = f"bench-redrive-{uuid.uuid4().hex[:8]}-{label}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    target = sqs.create_queue(QueueName=f"{name}-target")["QueueUrl"]
    return dlq, target


def delete_pair(sqs: Any, dlq: str, target: str) -> None:
    for url in (dlq, target):
        sqs.delete_queue(QueueUrl=url)


def fill(sqs: Any, url: str, count: int, threads: int, size: int = 200) -> None:
    def send(start: int) -> None:
        entries = [entry(i, size) for i in range(start, min(start + BATCH, count))]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not response.get("Failed"), response["Failed"]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, range(0, count, BATCH)))
    assert depth(sqs, url) == (count, 0), f"the DLQ holds {depth(sqs, url)} after filling {count}"


def depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight or delayed)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    hidden = int(attributes["ApproximateNumberOfMessagesNotVisible"]) + int(
        attributes["ApproximateNumberOfMessagesDelayed"]
    )
    return int(attributes["ApproximateNumberOfMessages"]), hidden


def verify(sqs: Any, name: str, dlq: str, target: str, count: int) -> None:
    """The target holds exactly `count` messages, with their attributes, and the DLQ none."""
    assert depth(sqs, dlq) == (0, 0), f"{name}: the DLQ still holds {depth(sqs, dlq)} (visible, hidden)"
    assert depth(sqs, target) == (count, 0), (
        f"{name}: the target holds {depth(sqs, target)} (visible, hidden), not {count}"
    )
    sample = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=BATCH, MessageAttributeNames=["All"])
    for message in sample["Messages"]:
        index = int(json.loads(message["Body"])["order_id"].removeprefix("ord-"))
        sent = entry(index)["MessageAttributes"]
        # The engine counts each replay on the copy it sends (decision log 61): the rest is as sent.
        got = {k: v for k, v in attributes_of(message).items() if k != REPLAYS_ATTRIBUTE}
        assert got == sent, f"{name}: message {index} arrived with attributes {got}, sent with {sent}"


# ---------------------------------------------------------------- the contenders


def attributes_of(message: dict[str, Any]) -> dict[str, Any]:
    """What ReceiveMessage returns, as SendMessage takes it (the value fields only)."""
    return {
        name: {k: v for k, v in value.items() if k in {"DataType", "StringValue", "BinaryValue"}}
        for name, value in message.get("MessageAttributes", {}).items()
    }


def naive(sqs: Any, dlq: str, target: str, _: int) -> None:
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=1, WaitTimeSeconds=WAIT_TIME_S, MessageAttributeNames=["All"]
        ).get("Messages")
        if not messages:
            return
        message = messages[0]
        sqs.send_message(
            QueueUrl=target, MessageBody=message["Body"], MessageAttributes=attributes_of(message)
        )
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])


def raw(sqs: Any, dlq: str, target: str, concurrency: int) -> None:
    def worker() -> None:
        while True:
            messages = sqs.receive_message(
                QueueUrl=dlq,
                MaxNumberOfMessages=BATCH,
                WaitTimeSeconds=WAIT_TIME_S,
                MessageAttributeNames=["All"],
            ).get("Messages")
            if not messages:
                return
            sent = sqs.send_message_batch(
                QueueUrl=target,
                Entries=[
                    {"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": attributes_of(m)}
                    for i, m in enumerate(messages)
                ],
            )
            assert not sent.get("Failed"), sent["Failed"]
            deleted = sqs.delete_message_batch(
                QueueUrl=dlq,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            assert not deleted.get("Failed"), deleted["Failed"]

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def engine(sqs: Any, dlq: str, target: str, concurrency: int | None) -> None:
    """The engine moving every message of `dlq` to `target`; `concurrency` None: the request's default."""
    redrive = Redrive(
        sqs=sqs,
        lambda_client=None,  # type: ignore[arg-type]  # a queue source never invokes
        targets=RedriveTargets(),
        restrict_derived_targets=False,
        wait_time_s=WAIT_TIME_S,
        margin_s=5,
    )
    request = parse_redrive_request(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "target": {"queue_url": target},
            "dry_run": False,
            "filter": {"since": "2000-01-01T00:00:00Z"},  # every message, moved by the engine itself
        }
        | ({"concurrency": concurrency} if concurrency is not None else {}),
        RedriveTargets(queues=frozenset({target})),
    )
    report = redrive.run(request, deadline=Deadline.after(3600))
    assert report.status == "complete", report
    assert report.failed == 0, report.failures
    assert report.suspected_duplicates == 0, report


CONTENDERS: dict[str, Callable[[Any, str, str, int], None]] = {"naive": naive, "raw": raw, "engine": engine}


def server_cpu_s(pid: int | None) -> float:
    """The CPU time (user + system) of the process `pid` so far; 0 when unknown."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    sqs: Any, name: str, count: int, concurrency: int, server: int | None
) -> tuple[float, float, float]:
    """(messages per second, client CPU µs per message, server CPU µs per message) of one contender
    moving `count` messages."""
    dlq, target = create_pair(sqs, name)
    try:
        fill(sqs, dlq, count, concurrency)
        server_cpu, cpu, started = server_cpu_s(server), time.process_time(), time.perf_counter()
        CONTENDERS[name](sqs, dlq, target, concurrency)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = server_cpu_s(server) - server_cpu
        verify(sqs, name, dlq, target, count)
    finally:
        delete_pair(sqs, dlq, target)
    return count / elapsed, cpu / count * 1e6, server_cpu / count * 1e6


# ---------------------------------------------------------------- memory


def memory_run(endpoint_url: str, count: int, concurrency: int) -> None:
    """In a fresh process: move `count` messages with the engine; print its memory as JSON."""
    import tracemalloc

    sqs = sqs_client(endpoint_url, concurrency)
    dlq, target = create_pair(sqs, f"memory-{count}")
    try:
        fill(sqs, dlq, count, concurrency)
        before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        engine(sqs, dlq, target, concurrency)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        verify(sqs, "engine", dlq, target, count)
    finally:
        delete_pair(sqs, dlq, target)
    print(
        json.dumps(
            {
                "messages": count,
                "rss_before_kib": before_kib,
                "rss_after_kib": after_kib,
                "tracemalloc_peak": peak,
            }
        )
    )


def memory(endpoint_url: str, sizes: list[int], concurrency: int) -> None:
    print(f"\nengine memory, each size in a fresh process (concurrency {concurrency}; tracemalloc on)")
    print(f"{'messages':>9} {'maxrss before MiB':>18} {'maxrss after MiB':>17} {'tracemalloc peak MiB':>21}")
    for size in sizes:
        arguments = [
            "--endpoint-url",
            endpoint_url,
            "--concurrency",
            str(concurrency),
            "--memory-run",
            str(size),
        ]
        child = subprocess.run(
            [sys.executable, __file__, *arguments], check=True, capture_output=True, text=True
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{size:>9} {figures['rss_before_kib'] / 1024:18.1f} {figures['rss_after_kib'] / 1024:17.1f} "
            f"{figures['tracemalloc_peak'] / 2**20:21.2f}"
        )


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_endpoint_options(parser)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7, help="rounds of raw and engine")
    parser.add_argument("--naive-repeat", type=int, default=1, help="rounds with the naive loop (slow)")
    parser.add_argument("--memory-sizes", default="1000,10000,50000", help="comma-separated; empty: none")
    parser.add_argument("--memory-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run is not None:
        memory_run(args.endpoint_url, args.memory_run, args.concurrency)
        return

    sqs = sqs_client(args.endpoint_url, args.concurrency)
    print(
        f"redrive throughput: {args.messages} messages DLQ -> queue through {args.endpoint_url}; naive on "
        f"1 thread, raw and engine on {args.concurrency}; WaitTimeSeconds={WAIT_TIME_S}"
    )
    print(
        f"{args.repeat} round(s) of raw and engine, alternating which goes first, the naive loop first in "
        f"the first {args.naive_repeat}; medians, and the median of the rounds' engine / raw ratios"
    )
    names = list(CONTENDERS)
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    ratios: list[float] = []
    for round_number in range(args.repeat):
        order = ["naive"] if round_number < args.naive_repeat else []
        order += ["raw", "engine"] if round_number % 2 == 0 else ["engine", "raw"]
        for name in order:
            figures[name].append(timed(sqs, name, args.messages, args.concurrency, args.server_pid))
            rate, client, server = figures[name][-1]
            print(
                f"  round {round_number + 1} {name:7} {rate:6.0f} msg/s; "
                f"CPU µs/msg client {client:5.0f} server {server:5.0f}"
            )
        ratios.append(figures["engine"][-1][0] / figures["raw"][-1][0])
    print(f"\n{'contender':10} {'msg/s':>7} {'client CPU µs/msg':>18} {'server CPU µs/msg':>18}")
    for name in (name for name in names if figures[name]):
        rate, client, server = (statistics.median(column) for column in zip(*figures[name], strict=True))
        print(f"{name:10} {rate:7.0f} {client:18.0f} {server if args.server_pid else float('nan'):18.0f}")
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"engine / raw: {ratio:.2f} (median of the rounds' ratios; {verdict} the target {TARGET_RATIO})")

    sizes = [int(size) for size in args.memory_sizes.split(",") if size.strip()]
    if sizes:
        memory(args.endpoint_url, sizes, args.concurrency)


if __name__ == "__main__":
    main()
