import io
import json
import logging

from lambda_failure_toolkit import observability


def test_logger_writes_structured_json() -> None:
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        observability.logger.info("failure recorded", extra={"failure_id": "async-1"})
    finally:
        handler.setStream(previous)
    line = json.loads(out.getvalue())
    assert line["message"] == "failure recorded"
    assert line["failure_id"] == "async-1"
    assert line["level"] == "INFO"
    assert "service" in line
