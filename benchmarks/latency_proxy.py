"""A proxy on 127.0.0.1 that makes every AWS call to a local endpoint take as long as it would on AWS.

On AWS a call from Lambda to SQS takes roughly 5 to 20 ms; to ministack on the loopback about one.
Throughput at real latency is decided by how many calls are in flight, which the loopback hides.
This proxy holds each HTTP request for `delay` milliseconds, give or take `jitter` (uniform), then
forwards it to the upstream endpoint and returns the answer byte for byte. Requests on different
connections wait in parallel, as calls to AWS do; a connection carries one request at a time
(HTTP/1.1 keep-alive, as botocore uses it).

    .venv/bin/python benchmarks/latency_proxy.py --upstream http://127.0.0.1:4566 [--delay-ms 15]
        [--jitter-ms 3] [--seed 1]

It prints one line, `listening on http://127.0.0.1:PORT`, once it accepts requests, and runs until
SIGTERM or SIGINT. `running_latency_proxy` starts it as a subprocess and stops it by its PID.
"""

import argparse
import contextlib
import http.client
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.processes import HOST, stop

# Hop-by-hop headers are the proxy's own business on each side, never forwarded.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"})


@dataclass(frozen=True)
class Latency:
    delay_ms: float
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.delay_ms < 0 or self.jitter_ms < 0 or self.jitter_ms > self.delay_ms:
            raise ValueError(
                f"--delay-ms {self.delay_ms} --jitter-ms {self.jitter_ms}: both at least 0, "
                "the jitter at most the delay"
            )

    def sample_s(self, rng: random.Random) -> float:
        return (self.delay_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000


def add_latency_options(parser: argparse.ArgumentParser) -> None:
    """A benchmark's --latency-ms and --jitter-ms; `latency_of` reads them."""
    parser.add_argument("--latency-ms", type=float, default=15.0, help="each call's delay (5, 15, 30)")
    parser.add_argument("--jitter-ms", type=float, help="give or take (default: a fifth of the latency)")


def latency_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Latency:
    jitter_ms = args.latency_ms / 5 if args.jitter_ms is None else args.jitter_ms
    try:
        return Latency(args.latency_ms, jitter_ms)
    except ValueError as exc:
        parser.error(str(exc).replace("--delay-ms", "--latency-ms"))


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body are two writes: with Nagle's algorithm and the client's delayed ACK
    # the body would wait 40 ms more, a latency no AWS call has.
    disable_nagle_algorithm = True
    server: "_Proxy"

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        time.sleep(self.server.next_delay_s())
        upstream = self.server.upstream_connection()
        headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as error:
            upstream.close()
            self.send_error(502, f"upstream {self.server.upstream}: {error}")
            return
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815 -- http.server's names

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a benchmark's proxy would otherwise print a line a request."""


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, upstream: str, latency: Latency, seed: int | None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"--upstream {upstream}: give http://HOST:PORT")
        self.upstream = upstream
        self._upstream_address = (parts.hostname, parts.port or 80)
        self._latency = latency
        self._rng = random.Random(seed)  # noqa: S311 -- jitter, not a secret
        self._rng_lock = threading.Lock()
        self._local = threading.local()
        super().__init__((HOST, 0), _Forward)

    def next_delay_s(self) -> float:
        with self._rng_lock:
            return self._latency.sample_s(self._rng)

    def upstream_connection(self) -> http.client.HTTPConnection:
        """One keep-alive connection upstream per client connection's thread."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(*self._upstream_address, timeout=60)
            self._local.connection = connection
        return connection


@dataclass(frozen=True)
class RunningProxy:
    url: str
    pid: int


@contextlib.contextmanager
def running_latency_proxy(upstream: str, latency: Latency, *, seed: int = 1) -> Iterator[RunningProxy]:
    """The proxy in a subprocess (its CPU is its own, not the client's), stopped by its PID however
    the block ends."""
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--upstream",
            upstream,
            "--delay-ms",
            str(latency.delay_ms),
            "--jitter-ms",
            str(latency.jitter_ms),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the latency proxy did not start (exit {process.poll()}): {line!r}")
        yield RunningProxy(url=line.removeprefix("listening on "), pid=process.pid)
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="the endpoint to forward to, http://127.0.0.1:PORT")
    parser.add_argument("--delay-ms", type=float, default=15.0)
    parser.add_argument("--jitter-ms", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args(argv)
    try:
        proxy = _Proxy(options.upstream, Latency(options.delay_ms, options.jitter_ms), options.seed)
    except ValueError as error:
        parser.error(str(error))
    print(f"listening on http://{HOST}:{proxy.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        proxy.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
