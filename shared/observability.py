"""The one Logger, Tracer and Metrics of a function, created once and imported everywhere.

Powertools reads POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL
when these are created; creating them does no I/O (metrics are flushed by `log_metrics`).
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

__all__ = ["logger", "metrics", "tracer"]

logger = Logger()
tracer = Tracer()
metrics = Metrics()
