import importlib
import io
import json
import logging

from shared import observability


def test_created_once_and_shared() -> None:
    again = importlib.import_module("shared.observability")
    assert again.logger is observability.logger
    assert again.tracer is observability.tracer
    assert again.metrics is observability.metrics


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
