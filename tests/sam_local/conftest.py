"""The `sam local invoke` tier: `sam build`, then each function in its Lambda container, against a
moto server on 127.0.0.1 holding the template's tables and the failure queue.

Needs the SAM CLI and a Docker engine. On these offline machines `make test-sam-local` brings both
up with ../shared/tools/sam-local; elsewhere, a normal SAM CLI and Docker do (the functions reach
127.0.0.1 through host networking: SAM_DOCKER_NETWORK=host).
"""

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pytest_socket import enable_socket

from tests.template import table_definition

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
TABLES = {
    "OrdersTable": "orders-local",
    "IdempotencyTable": "orders-idempotency-local",
    "LedgerTable": "failure-ledger-local",
}
LEDGER_BUCKET = "failure-ledger-local"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalAws:
    endpoint: str
    failure_queue_url: str = ""
    alert_topic_arn: str = ""

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def resource(self, service: str) -> Any:
        return boto3.resource(
            service,
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def reset(self) -> None:
        """Empty account, then the template's tables and the failure queue: every case starts alike."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))  # noqa: S310 -- loopback
        dynamodb = self.client("dynamodb")
        for logical_id, name in TABLES.items():
            dynamodb.create_table(**table_definition(logical_id, name))
        self.failure_queue_url = self.client("sqs").create_queue(QueueName="lambda-failures-local")[
            "QueueUrl"
        ]
        self.client("s3").create_bucket(
            Bucket=LEDGER_BUCKET,
            CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]},
        )
        self.alert_topic_arn = self.client("sns").create_topic(Name="lambda-failure-alerts-local")["TopicArn"]


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    enable_socket()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield LocalAws(endpoint=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sam_build() -> Path:
    missing = [tool for tool in ("sam", "docker") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"the sam local invoke tier needs {' and '.join(missing)} on PATH: run it with `make test-sam-local` "
            "(which sets them up on these machines), or install the SAM CLI and Docker"
        )
    result = subprocess.run(
        ["sam", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return ROOT / ".aws-sam" / "build" / "template.yaml"


@dataclass
class Invocation:
    stdout: str
    stderr: str

    @property
    def response(self) -> Any:
        """The function's answer: the last line of stdout (`sam local invoke` exits 0 even on errors)."""
        lines = [line for line in self.stdout.strip().splitlines() if line.strip()]
        assert lines, f"no response from the function; stderr:\n{self.stderr[-4000:]}"
        return json.loads(lines[-1])


@pytest.fixture
def invoke(sam_build: Path, local_aws: LocalAws, tmp_path: Path) -> Any:
    local_aws.reset()

    def run(function: str, event_file: str, env: dict[str, str] | None = None) -> Invocation:
        variables = {
            "AWS_ENDPOINT_URL": local_aws.endpoint,
            "ORDERS_TABLE_NAME": TABLES["OrdersTable"],
            "IDEMPOTENCY_TABLE_NAME": TABLES["IdempotencyTable"],
            "FAILURE_QUEUE_URL": local_aws.failure_queue_url,
            "LEDGER_TABLE_NAME": TABLES["LedgerTable"],
            "LEDGER_BUCKET_NAME": LEDGER_BUCKET,
            "ALERT_TOPIC_ARN": local_aws.alert_topic_arn,
        } | (env or {})
        env_file = tmp_path / "env.json"
        env_file.write_text(json.dumps({function: variables}))
        result = subprocess.run(
            [
                "sam",
                "local",
                "invoke",
                function,
                "-e",
                str(ROOT / "events" / event_file),
                "--env-vars",
                str(env_file),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=os.environ | CREDENTIALS,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return Invocation(result.stdout, result.stderr)

    return run
