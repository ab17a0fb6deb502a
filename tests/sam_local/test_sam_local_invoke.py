"""Every function, every sample event, in its Lambda container (warm): the exact responses, and
what the function wrote from inside the container."""

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambda_failure_toolkit.failures import UnrecognizedFailureError, parse_failure
from local_invoke.account import LocalAccount
from tests.events import load_event
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES, AsyncCase, BatchCase, RedriveCase
from tests.sam_local.conftest import ROOT

Invoke = Callable[[str, str], Any]


# The cases that set variables of their own run through `make invoke` (test_invoke_command.py):
# the warm containers hold the templates' values.
@pytest.mark.parametrize(
    "case", [c for c in BATCH_CASES if not c.env], ids=lambda c: f"{c.function}:{c.event}"
)
def test_batch_function(case: BatchCase, invoke: Invoke, local_account: LocalAccount) -> None:
    assert invoke(case.function, case.event) == case.expected()
    if case.function == "FailureConsumerFunction":
        # One ledger entry per failure the batch holds, written from inside the container.
        failure_ids = set()
        for record in load_event(case.event)["Records"]:
            try:
                failure_ids.add(parse_failure(record).failure_id)
            except UnrecognizedFailureError:
                continue
        ledger = local_account.sample.nested["Toolkit"].store("LedgerTable").name
        items = local_account.client("dynamodb").scan(TableName=ledger)["Items"]
        assert sorted(item["failure_id"]["S"] for item in items) == sorted(failure_ids)


@pytest.mark.parametrize("case", ASYNC_CASES, ids=lambda c: c.event)
def test_async_function(case: AsyncCase, invoke: Invoke, local_account: LocalAccount) -> None:
    response = invoke(case.function, case.event)
    if case.status is None:
        # A transient failure is a function error: Lambda retries the event.
        assert response["errorType"] == case.error_type
        return
    assert response["status"] == case.status
    if case.status == "rejected":
        assert response["errorType"] == case.error_type
        failure_queue = local_account.sample.nested["Toolkit"].store("FailureQueue")
        messages = local_account.client("sqs").receive_message(
            QueueUrl=failure_queue.ref, MessageAttributeNames=["All"]
        )["Messages"]
        [failure] = [parse_failure(m, source=failure_queue.attributes["Arn"]) for m in messages]
        assert failure.condition == "PermanentFailure"
        assert failure.error is not None
        assert failure.error.type == case.error_type


@pytest.mark.parametrize("case", REDRIVE_CASES, ids=lambda c: c.event)
def test_redrive_function(case: RedriveCase, invoke: Invoke, local_account: LocalAccount) -> None:
    moved = case.check(invoke(case.function, case.event))
    sqs = local_account.client("sqs")

    def visible(logical_id: str) -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=local_account.sample.store(logical_id).ref,
            AttributeNames=["ApproximateNumberOfMessages"],
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    assert (visible("OrdersQueue"), visible("OrdersQueueDLQ")) == (moved, 3 - moved)


@pytest.mark.parametrize("template", ["template.yaml", "toolkit/template.yaml"])
def test_both_templates_pass_sam_validate_lint_with_no_warning(sam_build: Any, template: str) -> None:
    result = subprocess.run(
        ["sam", "validate", "--lint", "--template", template],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr
    assert "W" not in {
        line[:1] for line in (result.stdout + result.stderr).splitlines() if line[1:5].isdigit()
    }


@pytest.mark.parametrize(
    ("layer", "packages"),
    [
        ("Toolkit/LibraryLayer", {"lambda_failure_toolkit"}),
        ("SampleLayer", {"lambda_failure_toolkit", "orders"}),
    ],
)
def test_sam_build_makes_layers_of_the_library_without_its_tools_or_what_lambda_has(
    sam_build: Path, layer: str, packages: set[str]
) -> None:
    site = sam_build.parent / layer / "python"
    found = {path.name for path in site.iterdir() if (path / "__init__.py").is_file()}
    assert packages <= found
    assert not (site / "lambda_failure_toolkit" / "cli").exists()  # the operator's tools: never in Lambda
    assert not {"boto3", "botocore", "s3transfer", "dateutil", "urllib3"} & found
    # Both runtimes the layer declares find their compiled modules.
    assert {path.name.split(".")[1] for path in (site / "pydantic_core").glob("*.so")} == {
        "cpython-312-x86_64-linux-gnu",
        "cpython-313-x86_64-linux-gnu",
    }
