"""The RedriveFunction in-process against moto, with its sample requests (events/redrive/)."""

from typing import Any

import pytest

from lambda_failure_toolkit.observability import logger
from lambda_failure_toolkit.redrive.report import RedriveReport
from tests.events import load_event
from tests.function_events import REDRIVE_CASES, RedriveCase
from tests.handlers.conftest import handler_module
from tests.handlers.test_failure_consumer import emitted_metrics
from tests.lambda_context import FakeLambdaContext
from tests.redrive_seed import ORDERS_DLQ, ORDERS_QUEUE, queue_url
from tests.template import resource

redrive = handler_module("RedriveFunction")


def invoke(event: Any) -> dict[str, Any]:
    response: dict[str, Any] = redrive.lambda_handler(event, FakeLambdaContext())
    RedriveReport.model_validate(response)  # the answer is always a report
    return response


def visible(sqs: Any, name: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(name), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize("case", REDRIVE_CASES, ids=lambda c: c.event)
def test_sample_request(case: RedriveCase, redrive_aws: dict[str, Any]) -> None:
    response = invoke(load_event(case.event))
    moved = case.check(response)
    assert visible(redrive_aws["sqs"], ORDERS_QUEUE) == moved
    assert visible(redrive_aws["sqs"], ORDERS_DLQ) == 3 - moved  # dry runs leave every message visible


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ([], "a redrive request is a JSON object, not list"),
        ({"source": {"type": "sqs_dlq"}}, "source.sqs_dlq.queue_url: required"),
        ({"source": {"type": "s3"}}, "unknown source type"),
        (
            {"source": {"type": "ledger", "failure_ids": ["async-" + "0" * 32]}, "concurrency": 50},
            "concurrency",
        ),
        (
            {"source": {"type": "ledger", "failure_ids": ["async-" + "0" * 32]}, "dryrun": False},
            "dryrun: unknown field",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": queue_url("no-such-queue")}},
            "cannot read the queue",
        ),
    ],
)
def test_a_bad_request_is_rejected_with_its_problem_and_touches_nothing(
    event: Any, problem: str, redrive_aws: dict[str, Any]
) -> None:
    response = invoke(event)
    assert response["status"] == "rejected"
    assert any(problem in p for p in response["problems"]), response["problems"]
    assert response["message"] == "Nothing was moved: fix the request and run it again."
    assert visible(redrive_aws["sqs"], ORDERS_DLQ) == 3


def test_a_real_run_emits_the_metrics_the_dashboard_shows(
    redrive_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    invoke(load_event("redrive/redrive-sqs-dlq.json"))
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (
        metrics["MessagesRedriven"],
        metrics["RedriveFailures"],
        metrics["RedriveSuspectedDuplicates"],
    ) == (3, 0, 0)
    function = resource("RedriveFunction")["Properties"]
    service = function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    body = resource("FailuresDashboard")["Properties"]["DashboardBody"]["Fn::Sub"][0]
    for name in ("MessagesRedriven", "RedriveFailures", "RedriveSuspectedDuplicates"):
        assert f'["LambdaFailureToolkit", "{name}", "service", "{service}"]' in body


def test_a_dry_run_emits_no_redrive_metric(
    redrive_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    invoke(load_event("redrive/dry-run-sqs-dlq.json"))
    assert "MessagesRedriven" not in emitted_metrics(capsys.readouterr().out)


def test_the_audit_log_names_who_asked(redrive_aws: dict[str, Any], mocker: Any) -> None:
    info = mocker.spy(logger, "info")
    report = invoke(load_event("redrive/dry-run-sqs-dlq.json"))
    audit = [c for c in info.call_args_list if c.args[0] in {"redrive requested", "redrive finished"}]
    assert [c.args[0] for c in audit] == ["redrive requested", "redrive finished"]
    assert {c.kwargs["extra"]["requested_by"] for c in audit} == {"oncall@example.com"}
    assert audit[0].kwargs["extra"]["request"]["source"]["queue_url"] == queue_url(ORDERS_DLQ)
    assert audit[1].kwargs["extra"]["report"]["would_move"] == report["would_move"] == 3
