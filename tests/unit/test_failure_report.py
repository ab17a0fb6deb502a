from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.failures.report import PERMANENT_FAILURE, handled_failure_record
from tests.lambda_context import FakeLambdaContext


def test_handled_failure_record_is_an_async_record_parse_failure_understands() -> None:
    context = FakeLambdaContext(function_name="order-events-dev")
    event = {"order_id": "ord-1", "revision": 3}
    record = handled_failure_record(event, ValueError("order ord-1 cannot ship"), context)
    failure = parse_failure(record)
    assert failure.kind is FailureKind.ASYNC
    assert failure.condition == PERMANENT_FAILURE
    assert failure.function_name == "order-events-dev"
    assert failure.qualifier == "$LATEST"
    assert failure.request_id == context.aws_request_id
    assert failure.payload == event
    assert failure.error is not None
    assert (failure.error.type, failure.error.message, failure.error.function_error) == (
        "ValueError",
        "order ord-1 cannot ship",
        "Handled",
    )


def test_a_qualified_invocation_keeps_its_qualifier() -> None:
    class AliasContext(FakeLambdaContext):
        @property
        def invoked_function_arn(self) -> str:
            return "arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev:live"

    record = handled_failure_record({}, RuntimeError("x"), AliasContext())
    assert parse_failure(record).qualifier == "live"


def test_long_error_messages_are_cut() -> None:
    record = handled_failure_record({}, RuntimeError("x" * 10_000), FakeLambdaContext())
    assert len(record["responsePayload"]["errorMessage"]) == 4096
