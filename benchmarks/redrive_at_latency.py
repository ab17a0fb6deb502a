"""Redrive throughput at the latency of AWS: every contender's calls go through the latency proxy
(benchmarks/latency_proxy.py) in front of ministack's SQS on 127.0.0.1, so each call takes what a
call from Lambda to SQS takes (default 15 ms, give or take 3), and throughput is decided by how many
calls are in flight.

In one run, for each message size (default 200 B and 100 KB) with --messages messages:

- naive: one message at a time (receive 1, send 1, delete 1) on one thread, on --naive-messages
  messages (10,000 of them would take minutes at this latency; its rate does not depend on the count);
- raw: bare batched receive / send_message_batch / delete_message_batch at each --concurrencies,
  no redrive logic: the most a client could reach with that many calls in flight;
- engine: the redrive engine at the same concurrencies, and at its default settings (the request
  with no `concurrency`);
- SQS's StartMessageMoveTask, as a reference line: at most 500 messages a second.

The DLQ is filled and the result checked directly on ministack, not through the proxy. Each
contender stops at its first empty receive (WaitTimeSeconds=1, included in its time). CPU per
message is counted for this client, ministack ($MINISTACK_PID) and the proxy: on these two cores
ministack's CPU may cap every contender, and the table shows which side limits.

Targets (issue 19): the engine at least 0.85x raw at equal concurrency; the engine at its defaults
at least 0.85x raw at its best concurrency, and above the move task's 500 msg/s.

    make bench-redrive [BENCH_ARGS="--latency-ms 30"]      # installs and starts ministack itself
    scripts/with-ministack .venv/bin/python benchmarks/redrive_at_latency.py [--latency-ms 15]
        [--jitter-ms 3] [--messages 10000] [--sizes 200,100000] [--concurrencies 1,4,16]
        [--naive-messages 300] [--json benchmarks/results/redrive-at-latency.json]
        [--chart docs/redrive-at-latency.png]
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.latency_chart import MOVE_TASK_CAP
from benchmarks.latency_proxy import add_latency_options, latency_of, running_latency_proxy
from benchmarks.redrive_throughput import (
    add_endpoint_options,
    create_pair,
    delete_pair,
    engine,
    fill,
    naive,
    raw,
    server_cpu_s,
    sqs_client,
    verify,
)
from lambda_failure_toolkit.redrive.request import QUEUE_CONCURRENCY

TARGET_RATIO = 0.85
DEFAULT = "default"


@dataclass(frozen=True)
class Result:
    contender: str
    size: int
    concurrency: str
    """A number of threads, or "default" (the engine's request with no `concurrency`)."""
    messages: int
    per_second: float
    client_cpu_us: float
    server_cpu_us: float
    proxy_cpu_us: float


def _run(
    name: str,
    contender: Callable[[Any, str, str, Any], None],
    concurrency: int | None,
    *,
    size: int,
    count: int,
    direct: Any,
    proxied: Any,
    pids: tuple[int | None, int],
) -> Result:
    server, proxy = pids
    dlq, target = create_pair(direct, f"{name}-{concurrency or DEFAULT}")
    try:
        fill(direct, dlq, count, 8, size)
        # The contender's queue URLs name the proxy, so that every call of theirs goes through it.
        dlq_url, target_url = (
            url.replace(direct.meta.endpoint_url, proxied.meta.endpoint_url) for url in (dlq, target)
        )
        before = (time.process_time(), server_cpu_s(server), server_cpu_s(proxy))
        started = time.perf_counter()
        contender(proxied, dlq_url, target_url, concurrency)
        elapsed = time.perf_counter() - started
        after = (time.process_time(), server_cpu_s(server), server_cpu_s(proxy))
        verify(direct, name, dlq, target, count)
    finally:
        delete_pair(direct, dlq, target)
    cpu_us = [(b - a) / count * 1e6 for a, b in zip(before, after, strict=True)]
    return Result(name, size, str(concurrency or DEFAULT), count, count / elapsed, *cpu_us)


def _print(result: Result) -> None:
    print(
        f"  {result.size:>7} B  {result.contender:7} {result.concurrency:>7}  {result.per_second:7.0f} msg/s"
        f"   CPU µs/msg: client {result.client_cpu_us:5.0f}  ministack {result.server_cpu_us:5.0f}"
        f"  proxy {result.proxy_cpu_us:5.0f}",
        flush=True,
    )


def verdicts(results: list[Result]) -> list[str]:
    """The targets, one line each, per message size."""
    lines = []
    for size in sorted({r.size for r in results}):
        of = {(r.contender, r.concurrency): r.per_second for r in results if r.size == size}
        raws = {c: rate for (name, c), rate in of.items() if name == "raw"}
        for concurrency, raw_rate in raws.items():
            ratio = of.get(("engine", concurrency), 0.0) / raw_rate
            lines.append(
                f"{size} B, concurrency {concurrency}: engine / raw {ratio:.2f} "
                f"({'meets' if ratio >= TARGET_RATIO else 'MISSES'} {TARGET_RATIO})"
            )
        best_concurrency, best = max(raws.items(), key=lambda item: item[1])
        default = of.get(("engine", DEFAULT), 0.0)
        ratio = default / best
        meets = ratio >= TARGET_RATIO and default > MOVE_TASK_CAP
        lines.append(
            f"{size} B, engine at its defaults: {default:.0f} msg/s, {ratio:.2f}x raw at its best "
            f"(concurrency {best_concurrency}), the move task's cap {MOVE_TASK_CAP:.0f} msg/s: "
            f"{'meets' if meets else 'MISSES'} the targets"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_endpoint_options(parser)
    add_latency_options(parser)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--naive-messages", type=int, default=300)
    parser.add_argument("--sizes", default="200,100000", help="message bodies in bytes, comma-separated")
    parser.add_argument("--concurrencies", default="1,4,16", help="threads for raw and engine")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument("--chart", type=Path, help="draw msg/s against calls in flight here (PNG)")
    args = parser.parse_args()
    latency = latency_of(parser, args)
    sizes = [int(size) for size in args.sizes.split(",")]
    concurrencies = [int(c) for c in args.concurrencies.split(",")]

    direct = sqs_client(args.endpoint_url, 8)
    results: list[Result] = []
    with running_latency_proxy(args.endpoint_url, latency) as proxy:
        proxied = sqs_client(proxy.url, max(concurrencies))
        print(
            f"redrive at {latency.delay_ms:g} ± {latency.jitter_ms:g} ms a call (proxy pid {proxy.pid}) to "
            f"{args.endpoint_url}: {args.messages} messages a contender, naive {args.naive_messages}"
        )
        for size in sizes:
            # raw and the engine side by side at each concurrency, so that the machine's other work
            # weighs on both alike; the defaults right after the concurrency they are compared with
            runs: list[tuple[str, Callable[[Any, str, str, Any], None], int | None, int]] = [
                ("naive", naive, None, args.naive_messages),
                *[
                    (name, run, c, args.messages)
                    for c in concurrencies
                    for name, run in (("raw", raw), ("engine", engine))
                ],
                ("engine", engine, None, args.messages),
            ]
            for name, contender, concurrency, count in runs:
                result = _run(
                    name,
                    contender,
                    concurrency,
                    size=size,
                    count=count,
                    direct=direct,
                    proxied=proxied,
                    pids=(args.server_pid, proxy.pid),
                )
                results.append(
                    result if name != "naive" else Result(**{**asdict(result), "concurrency": "1"})
                )
                _print(results[-1])
    print()
    for line in verdicts(results):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"latency_ms": asdict(latency), "results": [asdict(r) for r in results]}, indent=2)
            + "\n"
        )
    if args.chart:
        from benchmarks.latency_chart import draw

        draw(results, latency, args.chart, default_workers=QUEUE_CONCURRENCY)
        print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
