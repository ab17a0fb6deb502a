"""The application deployed with the SAM CLI to a local account, and the operator's `sam remote invoke`."""

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from demo.ministack import ROOT, Ministack

__all__ = ["DEMO_PARAMETERS", "DeployError", "Stack", "deploy", "sam_cli"]

DEMO_PARAMETERS = {
    "Stage": "demo",
    # A poison message comes back after 10 s, not 3 minutes, and is parked after its 2nd receive.
    "FunctionTimeout": "10",
    "OrdersQueueVisibilityTimeout": "10",
    "SqsMaxReceiveCount": "2",
    # Lambda's default: the first attempt and 2 retries.
    "AsyncMaximumRetryAttempts": "2",
}
"""What the demo and the e2e tests deploy with (and AwsEndpointUrl, the local account's URL)."""


class DeployError(RuntimeError):
    """`sam build` or `sam deploy` failed; the message holds the end of its output."""


def sam_cli() -> str:
    """The SAM CLI: $SAM_CLI, else .venv-sam's (made by `make sam-venv`), else `sam` on PATH."""
    for candidate in (
        os.environ.get("SAM_CLI"),
        str(ROOT / ".venv-sam" / "bin" / "sam"),
        shutil.which("sam"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise DeployError("no SAM CLI: run 'make sam-venv', or set SAM_CLI to a sam executable")


@dataclass(frozen=True)
class Stack:
    name: str
    account: Ministack
    outputs: dict[str, str]
    sam: str
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def session(self) -> boto3.Session:
        env = self.account.environment()
        return boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def client(self, service: str) -> Any:
        """The local account's client for `service`, made once (the steps poll with them)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.account.url)  # type: ignore[call-overload]
        return self._clients[service]

    def queue_depth(self, url: str) -> int:
        """Messages in the queue, visible or held by a reader."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def remote_invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """`sam remote invoke <function> --stack-name <stack>` with `event`: the function's JSON answer."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as request:
            json.dump(event, request)
        try:
            out = _run(
                [
                    self.sam,
                    "remote",
                    "invoke",
                    function,
                    "--stack-name",
                    self.name,
                    "--event-file",
                    request.name,
                    "--output",
                    "json",
                    "--region",
                    "us-east-1",
                ],
                self.account,
            )
        finally:
            Path(request.name).unlink()
        response = json.loads(out)
        payload = json.loads(response["Payload"])
        if not isinstance(payload, dict) or response.get("FunctionError"):
            raise DeployError(f"{function} failed: {response.get('FunctionError')}: {payload}")
        return payload


def _without_other_accounts(environment: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus whatever could point the SAM CLI at another account."""
    return {
        key: value
        for key, value in environment.items()
        if not key.startswith(
            ("AWS_ENDPOINT_URL_", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED")
        )
    }


_SAM_TIMEOUT_S = 600
"""A SAM CLI command that has not ended by then never will: `sam deploy` waits on a stack status
forever if the local account's CloudFormation dies mid-operation."""


def _run(command: list[str], account: Ministack) -> str:
    try:
        result = subprocess.run(  # noqa: S603 (the SAM CLI, with our arguments)
            command,
            cwd=ROOT,
            env={**_without_other_accounts(os.environ), **account.environment()},
            capture_output=True,
            text=True,
            check=False,
            timeout=_SAM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as expired:
        raise DeployError(
            f"{' '.join(command[:3])} did not end within {_SAM_TIMEOUT_S} s; ministack's log: {account.log}"
        ) from expired
    if result.returncode != 0:
        raise DeployError(
            f"{' '.join(command[:3])} failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}"
        )
    return result.stdout


def deploy(
    account: Ministack,
    *,
    stack_name: str = "lambda-failure-toolkit-demo",
    template: Path = ROOT / "template.yaml",
    parameters: Mapping[str, str] = DEMO_PARAMETERS,
    build_dir: str = ".aws-sam/build",
) -> Stack:
    """`sam build --cached` and `sam deploy` of `template` (the sample application by default) to
    `account`, with `parameters` and AwsEndpointUrl when the template has it. Each template builds in a
    folder of its own, so that deploying one does not rebuild another's artifacts."""
    sam = sam_cli()
    _run([sam, "build", "--cached", "--template", str(template), "--build-dir", build_dir], account)
    overrides = dict(parameters)
    if "AwsEndpointUrl" in template.read_text():
        # A caller's own (a benchmark's latency proxy in front of the account) wins.
        overrides.setdefault("AwsEndpointUrl", account.url)
    _run(
        [
            sam,
            "deploy",
            "--template",
            f"{build_dir}/template.yaml",
            "--stack-name",
            stack_name,
            "--resolve-s3",
            "--capabilities",
            "CAPABILITY_IAM",
            "CAPABILITY_AUTO_EXPAND",  # the sample nests the toolkit as an application
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--region",
            "us-east-1",
            *(
                ["--parameter-overrides", *(f"{key}={value}" for key, value in overrides.items())]
                if overrides
                else []
            ),
        ],
        account,
    )
    stack = Stack(name=stack_name, account=account, outputs={}, sam=sam)
    described = stack.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    stack.outputs.update(
        {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    )
    return stack
