"""Applying order events exactly once, whatever delivers them (a batch record, an async event, a redrive)."""

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from lambda_failure_toolkit.retry import RetryPolicy
from orders.logic import OutOfOrderEventError, apply_order_event
from orders.models import OrderEvent
from orders.store import ConcurrentOrderUpdateError, OrderStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["IDEMPOTENCY_KEY", "OrderEventProcessor"]

IDEMPOTENCY_KEY = "[order_id, revision]"
"""The business key: a redelivery or a redrive carries a new message id but the same order revision."""


def _worth_reapplying(error: BaseException) -> bool:
    return isinstance(error, OutOfOrderEventError | ConcurrentOrderUpdateError)


class OrderEventProcessor:
    """Powertools idempotency on the business key, then the order rules, with transient failures
    (throttling, a concurrent update, a revision arriving early) retried in-process within the
    invocation's deadline and raised when retries stop, for the caller to report."""

    def __init__(
        self,
        store: OrderStore,
        persistence: "BasePersistenceLayer | None",
        *,
        retry: RetryPolicy | None = None,
        idempotency_ttl_s: int = 24 * 3600,
    ) -> None:
        self._store = store
        # The store retries its own AWS calls; here only what re-reading the order can fix.
        self._retry = retry or RetryPolicy(retry_if=_worth_reapplying)
        self._config = IdempotencyConfig(
            event_key_jmespath=IDEMPOTENCY_KEY,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=idempotency_ttl_s,
        )
        self._apply_once = (
            idempotent_function(
                data_keyword_argument="event", config=self._config, persistence_store=persistence
            )(self._apply)
            if persistence is not None
            else self._apply
        )

    def register_lambda_context(self, context: "LambdaContext") -> None:
        """Let an in-progress idempotency record expire with the invocation if it dies."""
        self._config.register_lambda_context(context)

    def process(self, event: OrderEvent) -> str:
        """Apply `event` once; returns "applied" or "already_applied"."""
        return self._apply_once(event=event)

    def _apply(self, event: OrderEvent) -> str:
        return self._retry.call(apply_order_event, event, self._store)  # a StrEnum: serialises as its value
