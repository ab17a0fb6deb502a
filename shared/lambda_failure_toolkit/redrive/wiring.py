"""Production wiring of the redrive engine for the RedriveFunction (built once per environment)."""

import functools

from pydantic import Field

from lambda_failure_toolkit.clients import INVOKE_READ_TIMEOUT_S, client
from lambda_failure_toolkit.config import EnvConfig, get_config
from lambda_failure_toolkit.observability import logger
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.retry import RetryPolicy

__all__ = ["RedriveConfig", "redrive_engine", "redrive_targets"]


class RedriveConfig(EnvConfig):
    REDRIVE_ALLOWED_QUEUES: str = ""
    """Comma-separated ARNs (or URLs): the queues a redrive may send to (a failure's own or an override)."""
    REDRIVE_ALLOWED_FUNCTIONS: str = ""
    """Comma-separated ARNs (or names): the functions a redrive may invoke, every version and alias."""
    REDRIVE_STOP_MARGIN_S: float = Field(default=30.0, ge=1, le=300)
    """How long before the function's timeout a run stops taking new work and reports."""
    LEDGER_TABLE_NAME: str = ""
    """Empty: no ledger (ledger sources and stream records in a destination queue are refused)."""


def _listed(value: str) -> frozenset[str]:
    return frozenset(item.strip() for item in value.split(",") if item.strip())


def redrive_targets() -> RedriveTargets:
    config = get_config(RedriveConfig)
    return RedriveTargets(
        queues=_listed(config.REDRIVE_ALLOWED_QUEUES),
        functions=_listed(config.REDRIVE_ALLOWED_FUNCTIONS),
    )


@functools.cache
def redrive_engine() -> Redrive:
    from lambda_failure_toolkit.ledger.wiring import failure_ledger  # noqa: PLC0415 -- only when a ledger is configured

    config = get_config(RedriveConfig)
    sts = client("sts")
    return Redrive(
        sqs=client("sqs"),
        # A stream processor is invoked synchronously: wait as long as it may run (and never invoke it
        # again on botocore's own: the engine's RetryPolicy decides, on the run's deadline).
        lambda_client=client("lambda", read_timeout_s=INVOKE_READ_TIMEOUT_S),
        ledger=failure_ledger() if config.LEDGER_TABLE_NAME else None,
        targets=redrive_targets(),
        restrict_derived_targets=True,
        invoke_identity_arn=lambda: RetryPolicy().call(sts.get_caller_identity)["Arn"],
        margin_s=config.REDRIVE_STOP_MARGIN_S,
        log=logger,
    )
