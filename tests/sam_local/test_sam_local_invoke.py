"""Every function, every sample event, in its Lambda container: the exact responses."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from lambda_failure_toolkit.failures import UnrecognizedFailureError, parse_failure
from tests.events import load_event
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES, AsyncCase, BatchCase, RedriveCase
from tests.redrive_seed import ENVIRONMENT, ORDERS_DLQ, ORDERS_QUEUE, queue_url, seed
from tests.sam_local.conftest import LEDGER_BUCKET, ROOT, TABLES, LocalAws


@pytest.mark.parametrize("case", BATCH_CASES, ids=lambda c: f"{c.function}:{c.event}{'+' if c.env else ''}")
def test_batch_function(case: BatchCase, invoke: Any, local_aws: LocalAws) -> None:
    invocation = invoke(case.function, case.event, dict(case.env))
    assert invocation.response == case.expected()
    if case.function == "FailureConsumerFunction":
        # One ledger entry per failure the batch holds, written from inside the container.
        failure_ids = set()
        for record in load_event(case.event)["Records"]:
            try:
                failure_ids.add(parse_failure(record).failure_id)
            except UnrecognizedFailureError:
                continue
        items = local_aws.client("dynamodb").scan(TableName=TABLES["LedgerTable"])["Items"]
        assert sorted(item["failure_id"]["S"] for item in items) == sorted(failure_ids)


@pytest.mark.parametrize("case", ASYNC_CASES, ids=lambda c: c.event)
def test_async_function(case: AsyncCase, invoke: Any, local_aws: LocalAws) -> None:
    response = invoke(case.function, case.event).response
    if case.status is None:
        # A transient failure is a function error: Lambda retries the event.
        assert response["errorType"] == case.error_type
        return
    assert response["status"] == case.status
    if case.status == "rejected":
        assert response["errorType"] == case.error_type
        messages = local_aws.client("sqs").receive_message(
            QueueUrl=local_aws.failure_queue_url, MessageAttributeNames=["All"]
        )["Messages"]
        [failure] = [
            parse_failure(m, source="arn:aws:sqs:eu-west-1:123456789012:lambda-failures-local")
            for m in messages
        ]
        assert failure.condition == "PermanentFailure"
        assert failure.error is not None
        assert failure.error.type == case.error_type


@pytest.mark.parametrize("case", REDRIVE_CASES, ids=lambda c: c.event)
def test_redrive_function(case: RedriveCase, invoke: Any, local_aws: LocalAws) -> None:
    sqs = local_aws.client("sqs")
    seed(
        sqs,
        local_aws.resource("dynamodb").Table(TABLES["LedgerTable"]),
        local_aws.client("s3"),
        LEDGER_BUCKET,
    )
    response = invoke(case.function, case.event, ENVIRONMENT).response
    moved = case.check(response)

    def visible(name: str) -> int:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url(name), AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    assert (visible(ORDERS_QUEUE), visible(ORDERS_DLQ)) == (moved, 3 - moved)


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
