"""`dlq --stack-name` against moto's CloudFormation: the toolkit's stack alone, nested in an
application's (its outputs re-exported or not, one level down or two), and the stacks it refuses."""

import io
import json
import os
from functools import partial
from typing import Any

import boto3
import pytest

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.redrive.engine import Redrive
from tests.redrive_seed import FUNCTION, ORDERS_DLQ, ORDERS_QUEUE

REDRIVE_FUNCTION = "lambda-failure-toolkit-RedriveFunction-ABC123"
TEMPLATES = "stack-templates"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, engine_factory=partial(Redrive, wait_time_s=0))
    return code, out.getvalue(), err.getvalue()


def nesting(*children: tuple[str, str], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A template whose resources are nested stacks (logical id, template key in the bucket)."""
    return {
        "Resources": {
            logical_id: {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": f"https://{TEMPLATES}.s3.amazonaws.com/{key}"},
            }
            for logical_id, key in children
        },
        "Outputs": outputs or {},
    }


@pytest.fixture
def stacks(redrive_aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The toolkit's stack (its outputs as toolkit/template.yaml names them), alone and nested."""
    ledger_table, ledger_bucket = os.environ["LEDGER_TABLE_NAME"], os.environ["LEDGER_BUCKET_NAME"]
    # The ledger can come from the stack only.
    monkeypatch.delenv("LEDGER_TABLE_NAME")
    monkeypatch.delenv("LEDGER_BUCKET_NAME")
    toolkit = {
        "Resources": {"FailureConsumerDLQ": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "LedgerTableName": {"Value": ledger_table},
            "LedgerBucketName": {"Value": ledger_bucket},
            "RedriveFunctionName": {"Value": REDRIVE_FUNCTION},
            "FailureConsumerDLQUrl": {"Value": {"Ref": "FailureConsumerDLQ"}},
        },
    }
    sqs = redrive_aws["sqs"]
    orders_dlq = sqs.get_queue_url(QueueName=ORDERS_DLQ)["QueueUrl"]
    s3 = redrive_aws["s3"]
    s3.create_bucket(Bucket=TEMPLATES, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    templates = {
        "toolkit.json": toolkit,
        "infra.json": nesting(("Toolkit", "toolkit.json")),
    }
    for key, body in templates.items():
        s3.put_object(Bucket=TEMPLATES, Key=key, Body=json.dumps(body))
    cloudformation = boto3.client("cloudformation")
    for name, template in {
        "toolkit": toolkit,
        # As the sample application does, but re-exporting one output only (a user's may export none).
        "app": nesting(
            ("Toolkit", "toolkit.json"),
            outputs={
                "LedgerTableName": {"Value": ledger_table},
                "OrdersQueueDLQUrl": {"Value": orders_dlq},
            },
        ),
        "app-deep": nesting(("Infra", "infra.json")),
        "app-two-toolkits": nesting(("Toolkit", "toolkit.json"), ("Other", "toolkit.json")),
        "plain": {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Other": {"Value": "x"}}},
    }.items():
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    [nested] = [
        resource["PhysicalResourceId"]
        for resource in cloudformation.list_stack_resources(StackName="app")["StackResourceSummaries"]
    ]
    consumer_dlq = next(
        output["OutputValue"]
        for output in cloudformation.describe_stacks(StackName=nested)["Stacks"][0]["Outputs"]
        if output["OutputKey"] == "FailureConsumerDLQUrl"
    )
    return {"sqs": sqs, "orders_dlq": orders_dlq, "consumer_dlq": consumer_dlq, "toolkit": nested}


LEDGER_DRY_RUN = ("redrive", "--source-type", "ledger", "--ledger-function-name", FUNCTION, "--json")


@pytest.mark.parametrize("stack", ["toolkit", "app", "app-deep"])
def test_the_ledger_comes_from_the_toolkits_stack_alone_or_nested(stacks: dict[str, Any], stack: str) -> None:
    # Given the toolkit's stack, an application nesting it (re-exporting only the ledger table), and one
    # nesting it two levels down; the environment names no ledger
    # When the operator names the stack instead of the ledger's table and bucket
    code, out, err = run(*LEDGER_DRY_RUN, "--stack-name", stack)

    # Then the ledger's two failures of the function are found
    assert code == 0, err
    report = json.loads(out)
    assert (report["method"], report["would_move"]) == ("ledger", 2)


def test_a_queue_given_by_an_outputs_name(stacks: dict[str, Any]) -> None:
    code, out, _ = run(
        "redrive",
        "--stack-name",
        "app",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        "OrdersQueueDLQUrl",
        "--json",
    )

    report = json.loads(out)
    assert code == 0
    assert report["source"] == f"sqs_dlq {stacks['orders_dlq']}"
    assert report["would_move"] == 3


def test_a_target_named_by_the_nested_toolkits_output_is_the_allow_list(stacks: dict[str, Any]) -> None:
    # Given a target that only the toolkit's nested stack names (the application does not re-export it)
    code, out, err = run(
        "redrive",
        "--stack-name",
        "app",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        "OrdersQueueDLQUrl",
        "--target-queue-url",
        "FailureConsumerDLQUrl",
        "--max-messages",
        "10",
        "--execute",
        "--json",
    )

    # Then the operator's own target is allowed, and the messages move there
    assert code == 0, err
    assert json.loads(out)["moved"] == 3
    moved = stacks["sqs"].receive_message(QueueUrl=stacks["consumer_dlq"], MaxNumberOfMessages=10)["Messages"]
    assert len(moved) == 3


def test_invoke_finds_the_redrive_function_in_the_stack(stacks: dict[str, Any], mocker: Any) -> None:
    client = mocker.Mock()
    client.invoke.return_value = {
        "StatusCode": 200,
        "Payload": io.BytesIO(
            json.dumps({"run_id": "r", "status": "complete", "dry_run": True, "source": "x"}).encode()
        ),
    }
    mocker.patch.object(AwsSession, "lambda_client", return_value=client)

    code, _, err = run(
        "invoke", "--stack-name", "app", "--source-type", "sqs_dlq", "--queue-url", "OrdersQueueDLQUrl"
    )

    assert code == 0, err
    assert client.invoke.call_args.kwargs["FunctionName"] == REDRIVE_FUNCTION
    assert f"dlq: invoking {REDRIVE_FUNCTION}" in err


def test_an_unknown_stack_is_refused_in_one_line(stacks: dict[str, Any]) -> None:
    code, out, err = run(*LEDGER_DRY_RUN, "--stack-name", "no-such-stack")

    assert (code, out) == (2, "")
    assert err == (
        "dlq: no stack no-such-stack in eu-west-1: check --stack-name, --region and --profile. "
        "Nothing was touched.\n"
    )


def test_a_stack_without_the_toolkit_is_refused_naming_what_is_missing(stacks: dict[str, Any]) -> None:
    code, out, err = run(*LEDGER_DRY_RUN, "--stack-name", "plain")

    assert (code, out) == (2, "")
    assert err == (
        "dlq: stack plain (CREATE_COMPLETE) has no output LedgerTableName, LedgerBucketName, nor has any "
        "stack it nests: name the toolkit's stack (or one that nests it), or give --ledger-table and "
        "--ledger-bucket. Nothing was touched.\n"
    )


def test_an_output_neither_the_stack_nor_its_toolkit_has_is_refused(stacks: dict[str, Any]) -> None:
    code, _, err = run(
        "redrive", "--stack-name", "app", "--source-type", "sqs_dlq", "--queue-url", "NoSuchQueueUrl"
    )

    assert code == 2
    assert err == (
        f"dlq: stack app (CREATE_COMPLETE) and the toolkit's stack it nests, {stacks['toolkit']}, have no "
        "output NoSuchQueueUrl: name the toolkit's stack (or one that nests it), or give --queue-url as "
        "a URL. Nothing was touched.\n"
    )


def test_a_stack_nesting_two_toolkits_is_refused(stacks: dict[str, Any]) -> None:
    code, _, err = run(*LEDGER_DRY_RUN, "--stack-name", "app-two-toolkits")

    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("dlq: stack app-two-toolkits nests several toolkit stacks (app-two-toolkits-")
    assert line.endswith("): give one of them as --stack-name. Nothing was touched.")


def test_the_toolkits_allow_list_is_not_dlqs(stacks: dict[str, Any]) -> None:
    # The source queue's own target (its source queue) is not in any allow-list: the operator's IAM
    # bounds what `dlq redrive` does.
    code, out, _ = run(
        "redrive",
        "--stack-name",
        "toolkit",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        stacks["orders_dlq"],
        "--max-messages",
        "10",
        "--execute",
        "--json",
    )

    assert code == 0
    assert json.loads(out)["groups"][0]["target"] == ORDERS_QUEUE
