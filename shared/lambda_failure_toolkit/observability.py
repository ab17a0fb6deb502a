"""The one Logger, Tracer and Metrics of a function, created once and imported everywhere.

Powertools reads POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL
when these are created; creating them does no I/O (metrics are flushed by `log_metrics`).
"""

from typing import TYPE_CHECKING, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

if TYPE_CHECKING:
    import logging

__all__ = ["logger", "metrics", "record_failure_logger", "tracer"]

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Powertools' batch processors log each failed record (with its exception: the poison reason)
# through the standard logging.Logger interface, which Powertools' Logger implements.
record_failure_logger = cast("logging.Logger", logger)
