"""The local account: a moto server on 127.0.0.1, stopped by its PID, holding the stores of both
templates (tables, queues, bucket, topics, stream) created from their own definitions.

moto rather than ministack: it is in the project's venv already, starts in about a second, and
its account id is the one the sample events name (decision log 52).
"""

import contextlib
import functools
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from demo.processes import HOST, free_port, stop
from local_invoke.template import (
    ACCOUNT_ID,
    REGION,
    SAMPLE,
    TOOLKIT,
    Stack,
    Store,
    TemplateError,
    table_definition,
)

__all__ = [
    "CREDENTIALS",
    "STORE_TYPES",
    "AccountError",
    "LocalAccount",
    "MotoServer",
    "running_moto_server",
]

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
"""What the SDK and the SAM CLI use here: never a real account's credentials."""
STORE_TYPES = {
    "AWS::DynamoDB::Table": "table",
    "AWS::SQS::Queue": "queue",
    "AWS::S3::Bucket": "bucket",
    "AWS::SNS::Topic": "topic",
    "AWS::Kinesis::Stream": "stream",
}
_QUEUE_ATTRIBUTES = ("FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout", "MessageRetentionPeriod")
_TAP_PREFIX = "local-invoke-tap-"
"""A queue the account subscribes to each topic: moto keeps nothing published readable otherwise."""


class AccountError(RuntimeError):
    """The moto server did not start."""


@dataclass(frozen=True)
class MotoServer:
    endpoint: str
    pid: int
    log: Path


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 -- http://127.0.0.1 only
            return True
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_moto_server(log: Path, *, startup_timeout_s: float = 30.0) -> Iterator[MotoServer]:
    """A moto server on a free port of 127.0.0.1, logging to `log`; stopped by its PID when the
    block ends, however it ends (SIGTERM and SIGHUP end it as Ctrl-C does)."""
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 -- moto from this interpreter's own environment
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it
        )
    try:
        for sig in previous:
            signal.signal(sig, interrupted)
        deadline = time.monotonic() + startup_timeout_s
        while not _healthy(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AccountError(
                    f"the moto server (pid {process.pid}) did not start at {endpoint}; see {log}"
                )
            time.sleep(0.1)
        yield MotoServer(endpoint, process.pid, log)
    finally:
        stop(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class LocalAccount:
    """The stores of template.yaml and of the toolkit it nests, in the moto server at `endpoint`,
    as a deployed stage `dev` has them; the functions' endpoint is this server."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.sample = Stack(
            SAMPLE, "orders-local", self._create, parameters={"AwsEndpointUrl": lambda: endpoint}
        )
        self.toolkit = self.sample.add_nested("Toolkit", TOOLKIT)
        self._clients: dict[str, Any] = {}
        self.taps: dict[str, str] = {}
        """Topic ARN -> the URL of the queue subscribed to it."""

    @functools.cached_property
    def _session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

    def client(self, service: str) -> Any:
        """The account's client for `service`, made once (a snapshot reads every store)."""
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
        return self._clients[service]

    def resource(self, service: str) -> Any:
        return self._session.resource(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    def create_stores(self) -> list[Store]:
        """Every table, queue, bucket, topic and stream of both templates, empty."""
        for stack in (self.sample, self.toolkit):
            for logical_id, resource in stack.template["Resources"].items():
                if resource["Type"] in STORE_TYPES:
                    stack.store(logical_id)
        return self.stores()

    def stores(self) -> list[Store]:
        return [*self.sample.stores.values(), *self.toolkit.stores.values()]

    def reset(self) -> list[Store]:
        """An empty account again (moto's reset), then the same stores, empty."""
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 -- http://127.0.0.1 only
        urllib.request.urlopen(reset, timeout=30)  # noqa: S310 -- http://127.0.0.1 only
        self.sample.stores.clear()
        self.toolkit.stores.clear()
        self.taps.clear()
        return self.create_stores()

    def _create(self, stack: Stack, logical_id: str, resource: Mapping[str, Any]) -> Store:
        kind = STORE_TYPES.get(resource["Type"])
        if kind is None:
            raise TemplateError(f"{logical_id} ({resource['Type']}) is not created in the local account")
        if "Condition" in resource:
            raise TemplateError(f"{logical_id} exists only under a condition ({resource['Condition']})")
        properties = resource.get("Properties", {})
        generated = f"{stack.name}-{logical_id}".lower()
        match kind:
            case "table":
                return self._table(stack, logical_id, properties, generated)
            case "queue":
                return self._queue(stack, logical_id, properties, generated)
            case "bucket":
                name = str(stack.resolve(properties.get("BucketName", generated)))
                self.client("s3").create_bucket(Bucket=name)
                return Store(logical_id, kind, name, name, {"Arn": f"arn:aws:s3:::{name}"})
            case "topic":
                return self._topic(stack, logical_id, properties, generated)
            case _:
                name = str(stack.resolve(properties.get("Name", generated)))
                kinesis = self.client("kinesis")
                kinesis.create_stream(
                    StreamName=name, ShardCount=int(stack.resolve(properties.get("ShardCount", 1)))
                )
                arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                    "StreamARN"
                ]
                return Store(logical_id, kind, name, name, {"Arn": arn})

    def _table(self, stack: Stack, logical_id: str, properties: Mapping[str, Any], generated: str) -> Store:
        name = str(stack.resolve(properties.get("TableName", generated)))
        created = self.client("dynamodb").create_table(**table_definition(properties, name))[
            "TableDescription"
        ]
        attributes = {"Arn": created["TableArn"]}
        if "LatestStreamArn" in created:
            attributes["StreamArn"] = created["LatestStreamArn"]
        return Store(logical_id, "table", name, name, attributes)

    def _queue(self, stack: Stack, logical_id: str, properties: Mapping[str, Any], generated: str) -> Store:
        name = str(stack.resolve(properties.get("QueueName", generated)))
        attributes = {
            key: str(stack.resolve(properties[key])).lower() for key in _QUEUE_ATTRIBUTES if key in properties
        }
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(stack.resolve(properties["RedrivePolicy"]))
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        return Store(logical_id, "queue", name, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _topic(self, stack: Stack, logical_id: str, properties: Mapping[str, Any], generated: str) -> Store:
        name = str(stack.resolve(properties.get("TopicName", generated)))
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self.taps[arn] = self.client("sqs").create_queue(QueueName=f"{_TAP_PREFIX}{name}")["QueueUrl"]
        self.client("sns").subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{_TAP_PREFIX}{name}",
            Attributes={"RawMessageDelivery": "true"},
        )
        return Store(logical_id, "topic", name, arn, {"TopicArn": arn, "TopicName": name})
