"""The `sam local invoke` tier: `sam build --cached`, then the functions in their Lambda containers
against `make invoke`'s local account (local_invoke/: a moto server on 127.0.0.1 holding the
templates' stores, each function's environment computed from the templates).

Two ways in. Most cases invoke warm containers of one `sam local start-lambda` (a container per
function, reused: about 1 s a case instead of 10), with the account reset before each case. A true
`sam local invoke` per function kind, and per row of events/README.md that sets variables, runs
through `make invoke` itself (test_invoke_command.py), as a user runs it.

Needs the SAM CLI and a Docker engine. On these offline machines `make test-sam-local` brings both
up with ../shared/tools/sam-local; elsewhere, a normal SAM CLI and Docker do (the functions reach
127.0.0.1 through host networking: SAM_DOCKER_NETWORK=host).
"""

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pytest_socket import enable_socket

from demo.processes import stop
from local_invoke.account import CREDENTIALS, LocalAccount, running_moto_server
from local_invoke.functions import environment, functions
from local_invoke.index import EVENTS
from local_invoke.sam import sam_environment
from local_invoke.samples import prepare
from local_invoke.template import ROOT

__all__ = ["ROOT"]


@pytest.fixture(scope="session")
def sam_build() -> Path:
    missing = [tool for tool in ("sam", "docker") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"the sam local invoke tier needs {' and '.join(missing)} on PATH: run it with `make test-sam-local` "
            "(which sets them up on these machines), or install the SAM CLI and Docker"
        )
    # --cached as `make invoke` builds, so that its runs here find the build done.
    result = subprocess.run(
        ["sam", "build", "--cached"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=sam_environment(),
    )
    assert result.returncode == 0, f"sam build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return ROOT / ".aws-sam" / "build" / "template.yaml"


@pytest.fixture(scope="session")
def local_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAccount]:
    enable_socket()
    with running_moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        account = LocalAccount(server.endpoint)
        account.create_stores()
        yield account


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def warm_lambda(
    sam_build: Path, local_account: LocalAccount, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A Lambda client of `sam local start-lambda` on 127.0.0.1, warm containers made on first use.
    It serves a copy of the build: `make invoke`'s own `sam build` rewrites .aws-sam/build, which
    would pull the code from under a running container."""
    work = tmp_path_factory.mktemp("start-lambda")
    build = shutil.copytree(sam_build.parent, work / "build", symlinks=True)
    env_vars = work / "env-vars.json"
    # The account's names and URLs survive its resets: one environment serves every case.
    env_vars.write_text(json.dumps({f.logical_id: environment(f, local_account.sample) for f in functions()}))
    port = _port()
    with (work / "start-lambda.log").open("wb") as log:
        process = subprocess.Popen(
            [
                "sam",
                "local",
                "start-lambda",
                "--template",
                str(build / "template.yaml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--warm-containers",
                "LAZY",
                "--env-vars",
                str(env_vars),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=sam_environment(),
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert process.poll() is None, (work / "start-lambda.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "sam local start-lambda did not listen within 120 s"
            time.sleep(0.2)
        yield boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=CREDENTIALS["AWS_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(read_timeout=900, retries={"total_max_attempts": 1}),
        )
    finally:
        stop(process, grace_s=30)


@pytest.fixture
def invoke(warm_lambda: Any, local_account: LocalAccount) -> Callable[[str, str], Any]:
    """(function, event under events/) -> the function's response, from an account reset to the
    templates' empty stores (and, for the redrive, what its requests redrive). An `errorType` in
    it is a function error: start-lambda leaves out the FunctionError header."""

    def run(function: str, event: str) -> Any:
        local_account.reset()
        prepare(function, local_account)
        answer = warm_lambda.invoke(FunctionName=function, Payload=(EVENTS / event).read_bytes())
        return json.loads(answer["Payload"].read())

    return run
