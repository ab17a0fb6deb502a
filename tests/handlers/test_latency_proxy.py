"""The benchmarks' latency proxy, in front of a real moto server: each call waits its delay, calls on
different connections wait in parallel, answers come back byte for byte, and the proxy is stopped by
its PID however its block ends."""

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from benchmarks.latency_proxy import Latency, main, running_latency_proxy
from local_invoke.account import CREDENTIALS, running_moto_server
from tests.processes import alive

DELAY_MS = 60.0


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server.endpoint


def _sqs(endpoint: str, connections: int = 10) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=connections, retries={"total_max_attempts": 1}),
    )


def test_each_call_waits_the_delay_and_the_answer_is_the_upstreams(upstream: str) -> None:
    # Given the proxy in front of moto, with a 60 ms delay and no jitter
    with running_latency_proxy(upstream, Latency(DELAY_MS)) as proxy:
        sqs = _sqs(proxy.url)
        url = sqs.create_queue(QueueName="through-the-proxy")["QueueUrl"]
        body = '{"order_id": "ord-1", "note": "ü ✓"}' + "x" * 200_000
        # When a message goes through it and comes back
        started = time.perf_counter()
        sqs.send_message(QueueUrl=url, MessageBody=body)
        sent_s = time.perf_counter() - started
        [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    # Then the call took at least the delay, and the body is the one sent, byte for byte
    assert sent_s >= DELAY_MS / 1000
    assert message["Body"] == body
    # and moto itself holds it (the proxy forwarded, it did not answer by itself)
    assert (
        _sqs(upstream).get_queue_attributes(
            QueueUrl=url.replace(proxy.url, upstream),
            AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
        == "1"
    )


def test_a_call_takes_the_delay_and_not_much_more(upstream: str) -> None:
    # Given the proxy with a 60 ms delay, on a kept-alive connection
    with running_latency_proxy(upstream, Latency(DELAY_MS)) as proxy:
        sqs = _sqs(proxy.url)
        sqs.list_queues()
        times = []
        for _ in range(9):
            started = time.perf_counter()
            sqs.list_queues()
            times.append(time.perf_counter() - started)
    # Then the median call takes the delay and moto's few milliseconds: not Nagle's algorithm's 40 ms
    # more (an answer written in two parts waits for the client's delayed ACK)
    assert DELAY_MS / 1000 <= statistics.median(times) < (DELAY_MS + 25) / 1000


def test_calls_on_different_connections_wait_in_parallel(upstream: str) -> None:
    # Given the proxy with a 60 ms delay, and 8 calls made at once on 8 connections
    with running_latency_proxy(upstream, Latency(DELAY_MS)) as proxy:
        sqs = _sqs(proxy.url, connections=8)
        sqs.list_queues()  # the client made before the clock starts
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: sqs.list_queues(), range(8)))
        elapsed_s = time.perf_counter() - started
    # Then they took about one delay, not eight in a row
    assert DELAY_MS / 1000 <= elapsed_s < 4 * DELAY_MS / 1000


def test_jitter_spreads_the_delay_within_its_bounds(upstream: str) -> None:
    # Given a 60 ms delay with 30 ms of jitter
    with running_latency_proxy(upstream, Latency(DELAY_MS, 30.0), seed=7) as proxy:
        sqs = _sqs(proxy.url)
        sqs.list_queues()
        times = []
        for _ in range(12):
            started = time.perf_counter()
            sqs.list_queues()
            times.append(time.perf_counter() - started)
    # Then no call is faster than the low bound, and they are not all alike
    assert min(times) >= (DELAY_MS - 30.0) / 1000
    assert max(times) - min(times) > 0.01


def test_an_upstream_that_is_gone_is_a_502_not_a_hang(tmp_path: Path) -> None:
    # Given the proxy in front of a moto server that then stops
    with running_moto_server(tmp_path / "moto.log") as server:
        gone = server.endpoint
    # When a call goes through the proxy
    with running_latency_proxy(gone, Latency(1.0)) as proxy, pytest.raises(ClientError) as raised:
        _sqs(proxy.url).list_queues()
    # Then the client is told at once that the gateway failed
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502


class _StepFailedError(Exception):
    pass


def _fail_while_running(upstream: str) -> None:
    with running_latency_proxy(upstream, Latency(1.0)) as proxy:
        assert alive(proxy.pid)
        raise _StepFailedError(proxy.pid)


def test_the_proxy_is_stopped_by_its_pid_when_its_block_raises(upstream: str) -> None:
    # Given a block that fails while the proxy runs
    with pytest.raises(_StepFailedError) as raised:
        _fail_while_running(upstream)
    # Then the proxy is gone
    assert not alive(raised.value.args[0])


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--upstream", "http://127.0.0.1:1", "--delay-ms", "-1"], "both at least 0"),
        (
            ["--upstream", "http://127.0.0.1:1", "--delay-ms", "5", "--jitter-ms", "6"],
            "the jitter at most the delay",
        ),
        (["--upstream", "127.0.0.1:4566"], "give http://HOST:PORT"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    arguments: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err
