"""The e2e tier: template.yaml deployed with `sam deploy` to ministack (a local AWS account, started on
127.0.0.1 for the session and stopped by its PID), then driven with real traffic by the demo's own
steps (demo/story.py), which these tests assert on.

Needs the SAM CLI and ministack: `make test-e2e` (or `make test`) makes both. What ministack does not
model (Kinesis and DynamoDB Streams failure handling) is not tested here: see the README.
"""

from collections.abc import Iterator

import pytest
from pytest_socket import enable_socket

from demo.ministack import MinistackError, running_ministack
from demo.stack import DeployError, Stack, deploy, sam_cli
from demo.story import AsyncFailure, SqsBatch, async_failure, poison_sqs_batch


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    enable_socket()
    try:
        sam_cli()
        with running_ministack() as account:
            yield deploy(account, stack_name="lambda-failure-toolkit-e2e")
    except (MinistackError, DeployError) as error:
        pytest.fail(f"the e2e tier cannot run: {error} (run it with `make test-e2e`)")


@pytest.fixture(scope="session")
def sqs_batch(stack: Stack) -> SqsBatch:
    return poison_sqs_batch(stack)


@pytest.fixture(scope="session")
def transient_failure(stack: Stack) -> AsyncFailure:
    return async_failure(stack)
