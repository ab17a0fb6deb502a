"""Reports on a failure record with the toolkit's library (from its layer), and this application's
own shared/ folder beside it: the two must not clash."""

from shared.config import SERVICE_NAME

from lambda_failure_toolkit.failures import parse_failure


def handler(event, context):
    failure = parse_failure(event)
    return {
        "service": SERVICE_NAME,
        "failure_id": failure.failure_id,
        "kind": failure.kind.value,
        "function": failure.function_name,
    }
