"""The async failure pattern as a decorator: transient errors raised for Lambda, permanent ones
recorded in the destination's shape and answered, and nothing lost when the record cannot be kept."""

from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from lambda_failure_toolkit.failures import parse_failure
from lambda_failure_toolkit.failures.report import PERMANENT_FAILURE, record_permanent_failures
from lambda_failure_toolkit.retry import ErrorClass, PoisonRecordError, TransientError
from tests.lambda_context import FakeLambdaContext

EVENT = {"detail-type": "OrderPlaced", "detail": {"order_id": "o-1"}}


class RecordingReporter:
    def __init__(self, refuse: Exception | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self.refuse = refuse

    def report(self, record: dict[str, Any]) -> str:
        if self.refuse is not None:
            raise self.refuse
        self.records.append(record)
        return f"message-{len(self.records)}"


def failing_with(error: Exception) -> Any:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        raise error

    return handler


def test_a_transient_error_is_raised_for_lambda_to_retry_and_nothing_is_recorded() -> None:
    reporter = RecordingReporter()
    handler = record_permanent_failures(reporter=lambda: reporter)(failing_with(TransientError("throttled")))
    with pytest.raises(TransientError, match="throttled"):
        handler(EVENT, FakeLambdaContext())
    assert reporter.records == []


@pytest.mark.parametrize(
    "error", [ValueError("total is negative"), PoisonRecordError("not an order event"), KeyError("order_id")]
)
def test_a_permanent_or_poison_error_is_recorded_in_the_destination_shape_and_answered(
    error: Exception,
) -> None:
    # Given a handler that fails for good, decorated with a reporter
    reporter = RecordingReporter()
    handler = record_permanent_failures(reporter=lambda: reporter)(failing_with(error))
    context = FakeLambdaContext(function_name="order-events-dev")
    # When it is invoked
    response = handler(EVENT, context)
    # Then the record is the one Lambda's destinations write, with the event and the error, and the
    # parser reads it as an async failure of that function and request
    [record] = reporter.records
    failure = parse_failure(record)
    assert (failure.kind.value, failure.condition, failure.request_id) == (
        "async",
        PERMANENT_FAILURE,
        context.aws_request_id,
    )
    assert (failure.function_arn, failure.qualifier) == (context.invoked_function_arn, "$LATEST")
    assert failure.payload == EVENT
    assert failure.error is not None
    assert (failure.error.type, failure.error.function_error) == (type(error).__name__, "Handled")
    assert response == {
        "status": "rejected",
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "failureMessageId": "message-1",
    }


def test_when_the_record_cannot_be_kept_the_original_error_is_raised_with_the_refusal_as_cause() -> None:
    refusal = ConnectionError("failure queue unreachable")
    handler = record_permanent_failures(reporter=lambda: RecordingReporter(refuse=refusal))(
        failing_with(ValueError("total is negative"))
    )
    with pytest.raises(ValueError, match="total is negative") as raised:
        handler(EVENT, FakeLambdaContext())
    assert raised.value.__cause__ is refusal


def test_a_reporter_passed_at_call_time_replaces_the_configured_one_and_success_passes_through() -> None:
    configured, given = RecordingReporter(), RecordingReporter()
    decorated = record_permanent_failures(reporter=lambda: configured)

    @decorated
    def handler(event: Any, context: Any, *, fail: bool = True) -> dict[str, Any]:
        if fail:
            raise ValueError("bad")
        return {"status": "applied"}

    assert handler(EVENT, FakeLambdaContext(), fail=False) == {"status": "applied"}
    handler(EVENT, FakeLambdaContext(), failure_reporter=given)
    assert (len(configured.records), len(given.records)) == (0, 1)


def test_bare_decorator_classifier_and_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Tests")
    metrics = Metrics(service="tests")
    metrics.clear_metrics()
    reporter = RecordingReporter()
    # A classifier of the caller's: here everything is transient
    transient_everything = record_permanent_failures(
        reporter=lambda: reporter, metrics=metrics, classifier=lambda error: ErrorClass.TRANSIENT
    )(failing_with(ValueError("bad")))
    with pytest.raises(ValueError, match="bad"):
        transient_everything(EVENT, FakeLambdaContext())
    permanent = record_permanent_failures(reporter=lambda: reporter, metrics=metrics)(
        failing_with(ValueError("bad"))
    )
    permanent(EVENT, FakeLambdaContext())
    not_kept = record_permanent_failures(
        reporter=lambda: RecordingReporter(refuse=OSError("no")), metrics=metrics
    )(failing_with(ValueError("bad")))
    with pytest.raises(ValueError, match="bad"):
        not_kept(EVENT, FakeLambdaContext())
    counted = {name: sum(values) for name, values in ((n, v["Value"]) for n, v in metrics.metric_set.items())}
    assert counted == {"TransientFailures": 1.0, "PermanentFailures": 1.0, "FailureRecordsNotSent": 1.0}
    metrics.clear_metrics()
    # Used without arguments, it reads the failure queue from FAILURE_QUEUE_URL when something fails
    assert record_permanent_failures(failing_with(ValueError("x"))).__wrapped__ is not None
