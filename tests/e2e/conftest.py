"""The e2e tier: ministack (a local AWS account, started on 127.0.0.1 for the session and stopped by its
PID), and in it, deployed with `sam deploy`:
- the sample application (template.yaml, the toolkit nested in it), driven with real traffic by the
  demo's own steps (demo/story.py), which test_failure_story.py asserts on;
- the toolkit alone (toolkit/template.yaml) and, beside it, a foreign application (foreign_app/) that
  adopts it as the README's recipe says, which test_adoption.py asserts on.

Needs the SAM CLI and ministack: `make test-e2e` (or `make test`) makes both. What ministack does not
model (Kinesis and DynamoDB Streams failure handling) is not tested here: see the README.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_socket import enable_socket

from demo.ministack import ROOT, Ministack, MinistackError, running_ministack
from demo.stack import DeployError, Stack, deploy, sam_cli
from demo.story import AsyncFailure, SqsBatch, async_failure, poison_sqs_batch

FOREIGN_APP = Path(__file__).parent / "foreign_app" / "template.yaml"
ACCOUNT, REGION = "000000000000", "us-east-1"  # ministack's
TOOLKIT_STAGE = "adopted"
# Step 1 of the recipe: the toolkit is given the foreign application's ARNs, by name: they do not
# have to exist yet (the application is deployed after, with the toolkit's outputs).
FOREIGN_ARNS = {
    "WatchedDlqArns": f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-shipments-dlq",
    "FirstHopDlqArns": f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-notifications-dlq,arn:aws:sqs:{REGION}:{ACCOUNT}:shop-payments-rule-dlq",
    "RedriveTargetQueueArns": f"arn:aws:sqs:{REGION}:{ACCOUNT}:shop-shipments",
    "RedriveTargetFunctionArns": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shop-payments",
}


def _unavailable(error: Exception) -> None:
    pytest.fail(f"the e2e tier cannot run: {error} (run it with `make test-e2e`)")


@pytest.fixture(scope="session")
def account() -> Iterator[Ministack]:
    enable_socket()
    try:
        sam_cli()
        with running_ministack() as started:
            yield started
    except (MinistackError, DeployError) as error:
        _unavailable(error)


@pytest.fixture(scope="session")
def stack(account: Ministack) -> Stack:
    try:
        return deploy(account, stack_name="lambda-failure-toolkit-e2e")
    except DeployError as error:
        _unavailable(error)
        raise


@pytest.fixture(scope="session")
def toolkit(account: Ministack) -> Stack:
    """The toolkit deployed alone, with the foreign application's ARNs and nothing of the sample."""
    try:
        return deploy(
            account,
            stack_name="lambda-failure-toolkit",
            template=ROOT / "toolkit" / "template.yaml",
            parameters={"Stage": TOOLKIT_STAGE, "FunctionTimeout": "10", **FOREIGN_ARNS},
            build_dir=".aws-sam/toolkit",
        )
    except DeployError as error:
        _unavailable(error)
        raise


@pytest.fixture(scope="session")
def foreign(account: Ministack, toolkit: Stack) -> Stack:
    """The foreign application, given the toolkit's outputs (step 2 of the recipe)."""
    try:
        return deploy(
            account,
            stack_name="shop",
            template=FOREIGN_APP,
            parameters={
                "FailureQueueArn": toolkit.outputs["FailureQueueArn"],
                "LibraryLayerArn": toolkit.outputs["LibraryLayerArn"],
                "FailureConsumerFunctionName": toolkit.outputs["FailureConsumerFunctionName"],
                "FailureConsumerDLQArn": toolkit.outputs["FailureConsumerDLQArn"],
            },
            build_dir=".aws-sam/foreign",
        )
    except DeployError as error:
        _unavailable(error)
        raise


@pytest.fixture(scope="session")
def sqs_batch(stack: Stack) -> SqsBatch:
    return poison_sqs_batch(stack)


@pytest.fixture(scope="session")
def transient_failure(stack: Stack) -> AsyncFailure:
    return async_failure(stack)
