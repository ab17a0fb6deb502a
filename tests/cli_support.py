"""What the command-line tools' tests run them with, instead of AWS and a terminal: a session, an SQS
client and an engine that never reach the network, and a stream that says it is a terminal."""

import io
from collections.abc import Callable
from typing import Any

from lambda_failure_toolkit.redrive.report import Progress, RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.request import RedriveRequest

DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-dev"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dev"
CALLER = "arn:aws:sts::123456789012:assumed-role/oncall/alice"
FAILURE_ID = "async-" + "a" * 32


class FakeAws:
    """What AwsSession gives the tool; no client here ever reaches the network."""

    def __init__(
        self, *, region: str | None = None, endpoint_url: str | None = None, profile: str | None = None
    ) -> None:
        self.region, self.endpoint_url, self.profile = region, endpoint_url, profile
        self.ledgers: list[tuple[str, str]] = []

    def sqs(self) -> Any:
        return FakeSqs()

    def lambda_client(self) -> Any:
        return object()  # the engine is a fake: it never invokes

    def caller_arn(self) -> str:
        return CALLER

    def ledger(self, table: str, bucket: str) -> Any:
        self.ledgers.append((table, bucket))
        return object()


class FakeSqs:
    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": "40"}}


class FakeEngine:
    """Records what it was built with and asked, reports what the test set, and shows progress."""

    def __init__(
        self,
        report: dict[str, Any] | None = None,
        progress: tuple[Progress, ...] = (),
        error: BaseException | None = None,
    ) -> None:
        self.report = report or {}
        self.progress = progress
        self.error = error
        self.parts: dict[str, Any] = {}
        self.request: RedriveRequest | None = None

    def __call__(self, **parts: Any) -> "FakeEngine":
        self.parts = parts
        return self

    def run(
        self, request: RedriveRequest, *, deadline: Any, progress: Callable[[Progress], None]
    ) -> RedriveReport:
        self.request = request
        for step in self.progress:
            progress(step)
        if self.error is not None:
            raise self.error
        fields: dict[str, Any] = {
            "run_id": "run-1",
            "status": RunStatus.COMPLETE,
            "dry_run": request.dry_run,
            "source": f"sqs_dlq {DLQ}",
            "requested_by": request.requested_by,
        }
        return RedriveReport(**(fields | self.report))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True
