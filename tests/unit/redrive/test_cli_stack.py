"""`dlq --stack-name` without AWS: which name wins, and what CloudFormation's refusals become
(CloudFormation answered by botocore's Stubber)."""

import io
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import Stubber

from lambda_failure_toolkit.cli.dlq import main
from tests.cli_support import DLQ, FakeAws, FakeEngine

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/{}/1f2e3d4c"
TOOLKIT = {
    "LedgerTableName": "ledger-table",
    "LedgerBucketName": "ledger-bucket",
    "RedriveFunctionName": "redrive",
}


def described(name: str, outputs: dict[str, str], status: str = "CREATE_COMPLETE") -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": name,
                "StackId": STACK_ID.format(name),
                "StackStatus": status,
                "CreationTime": "2026-11-20T08:00:00Z",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


class StackAws(FakeAws):
    """A FakeAws whose CloudFormation is a stubbed client: each test queues its answers."""

    def __init__(self) -> None:
        super().__init__(region="eu-west-1")
        # Unsigned: no credentials are looked for (the Stubber answers before anything is sent).
        self.client = boto3.client(
            "cloudformation", region_name="eu-west-1", config=Config(signature_version=UNSIGNED)
        )
        self.stub = Stubber(self.client)
        self.stub.activate()

    def cloudformation(self) -> Any:
        return self.client


@pytest.fixture
def aws() -> StackAws:
    return StackAws()


def dlq(aws: StackAws, *argv: str, engine: FakeEngine | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        list(argv), out=out, err=err, engine_factory=engine or FakeEngine(), aws_factory=lambda **_: aws
    )
    return code, out.getvalue(), err.getvalue()


LEDGER = ("redrive", "--source-type", "ledger", "--ledger-function-name", "order-events-dev")


def test_options_given_win_over_the_stacks_outputs(aws: StackAws) -> None:
    aws.stub.add_response("describe_stacks", described("toolkit", TOOLKIT), {"StackName": "toolkit"})

    code, _, err = dlq(aws, *LEDGER, "--stack-name", "toolkit", "--ledger-table", "my-table")

    assert code == 0, err
    assert aws.ledgers == [("my-table", "ledger-bucket")]
    aws.stub.assert_no_pending_responses()


def test_the_stack_wins_over_the_environment(aws: StackAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_TABLE_NAME", "from-the-environment")
    monkeypatch.setenv("LEDGER_BUCKET_NAME", "from-the-environment")
    aws.stub.add_response("describe_stacks", described("toolkit", TOOLKIT), {"StackName": "toolkit"})

    dlq(aws, *LEDGER, "--stack-name", "toolkit")

    assert aws.ledgers == [("ledger-table", "ledger-bucket")]


def test_nested_stacks_are_read_only_for_what_the_named_stack_lacks(aws: StackAws) -> None:
    # Given a parent that re-exports the toolkit's outputs: no answer is queued for ListStackResources
    aws.stub.add_response("describe_stacks", described("app", TOOLKIT), {"StackName": "app"})

    code, _, err = dlq(aws, *LEDGER, "--stack-name", "app")

    # Then one call gave the ledger
    assert code == 0, err
    assert aws.ledgers == [("ledger-table", "ledger-bucket")]
    aws.stub.assert_no_pending_responses()


def test_a_nested_stack_not_created_is_passed_over(aws: StackAws) -> None:
    aws.stub.add_response("describe_stacks", described("app", {}), {"StackName": "app"})
    aws.stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "Failed",
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "ResourceStatus": "CREATE_FAILED",
                    "LastUpdatedTimestamp": "2026-11-20T08:00:00Z",
                },
                {
                    "LogicalResourceId": "Toolkit",
                    "PhysicalResourceId": STACK_ID.format("app-Toolkit-X"),
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "ResourceStatus": "CREATE_COMPLETE",
                    "LastUpdatedTimestamp": "2026-11-20T08:00:00Z",
                },
            ]
        },
        {"StackName": STACK_ID.format("app")},
    )
    aws.stub.add_response(
        "describe_stacks",
        described("app-Toolkit-X", TOOLKIT),
        {"StackName": STACK_ID.format("app-Toolkit-X")},
    )

    code, _, err = dlq(aws, *LEDGER, "--stack-name", "app")

    assert code == 0, err
    assert aws.ledgers == [("ledger-table", "ledger-bucket")]


@pytest.mark.parametrize(
    ("operation", "code", "message", "expected"),
    [
        (
            "describe_stacks",
            "AccessDenied",
            "not authorized",
            "dlq: cannot read stack app (AccessDenied: not authorized): your credentials need "
            "cloudformation:DescribeStacks. Nothing was touched.\n",
        ),
        (
            "describe_stacks",
            "ValidationError",
            "1 validation error detected: Value 'a b' at 'stackName' failed to satisfy constraint",
            "dlq: stack app: 1 validation error detected: Value 'a b' at 'stackName' failed to satisfy "
            "constraint. Nothing was touched.\n",
        ),
        (
            "describe_stacks",
            "ExpiredToken",
            "expired",
            "dlq: AWS refused the credentials (ExpiredToken: expired): refresh them (e.g. aws sso login). "
            "Nothing was touched.\n",
        ),
        (
            "list_stack_resources",
            "ExpiredToken",
            "expired",
            "dlq: AWS refused the credentials (ExpiredToken: expired): refresh them (e.g. aws sso login). "
            "Nothing was touched.\n",
        ),
        (
            "list_stack_resources",
            "AccessDenied",
            "not authorized",
            f"dlq: cannot read stack {STACK_ID.format('app')} (AccessDenied: not authorized): your credentials "
            "need cloudformation:ListStackResources. Nothing was touched.\n",
        ),
    ],
)
def test_what_cloudformation_refuses_is_one_line(
    aws: StackAws, operation: str, code: str, message: str, expected: str
) -> None:
    if operation == "list_stack_resources":
        aws.stub.add_response("describe_stacks", described("app", {}), {"StackName": "app"})
    aws.stub.add_client_error(operation, service_error_code=code, service_message=message)

    result = dlq(aws, *LEDGER, "--stack-name", "app")

    assert result == (2, "", expected)


def test_a_stack_that_failed_says_its_status(aws: StackAws) -> None:
    aws.stub.add_response(
        "describe_stacks", described("toolkit", {}, status="ROLLBACK_COMPLETE"), {"StackName": "toolkit"}
    )
    aws.stub.add_response(
        "list_stack_resources", {"StackResourceSummaries": []}, {"StackName": STACK_ID.format("toolkit")}
    )

    code, _, err = dlq(
        aws, "invoke", "--stack-name", "toolkit", "--source-type", "sqs_dlq", "--queue-url", DLQ
    )

    assert code == 2
    assert err.startswith(
        "dlq: stack toolkit (ROLLBACK_COMPLETE) has no output RedriveFunctionName, nor has any stack it nests: "
        "name the toolkit's stack (or one that nests it), or give --function-name."
    )


def test_invoke_needs_a_function_or_a_stack() -> None:
    out, err = io.StringIO(), io.StringIO()

    code = main(["invoke", "--source-type", "sqs_dlq", "--queue-url", DLQ], out=out, err=err)

    assert code == 2
    assert err.getvalue().splitlines()[-1] == (
        "dlq: invoke needs the RedriveFunction: give --function-name or --stack-name"
    )
