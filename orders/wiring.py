"""Production wiring of the order-event processor from the function's environment (built once)."""

import functools
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from pydantic import Field

from lambda_failure_toolkit.clients import client, dynamodb_resource
from lambda_failure_toolkit.config import ObservabilityConfig, get_config
from orders.service import OrderEventProcessor
from orders.store import DynamoDBOrderStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["OrdersConfig", "order_event_processor"]


class OrdersConfig(ObservabilityConfig):
    ORDERS_TABLE_NAME: str = Field(min_length=1)
    IDEMPOTENCY_TABLE_NAME: str = Field(min_length=1)
    IDEMPOTENCY_TTL_SECONDS: int = Field(default=24 * 3600, ge=60)


@functools.cache
def _from_environment() -> OrderEventProcessor:
    config = get_config(OrdersConfig)
    dynamodb = dynamodb_resource()
    return OrderEventProcessor(
        DynamoDBOrderStore(dynamodb.Table(config.ORDERS_TABLE_NAME)),
        # A client of the default session: left to itself, Powertools builds one from a new boto3
        # session, which loads botocore's models again (tens of milliseconds of every cold start).
        # Not the resource's meta.client, which re-serialises the items Powertools already typed.
        # Powertools calls it outside any RetryPolicy: botocore keeps a few quick retries of a throttle.
        DynamoDBPersistenceLayer(
            table_name=config.IDEMPOTENCY_TABLE_NAME, boto3_client=client("dynamodb", botocore_attempts=3)
        ),
        idempotency_ttl_s=config.IDEMPOTENCY_TTL_SECONDS,
    )


def order_event_processor(context: "LambdaContext") -> OrderEventProcessor:
    """The execution environment's processor, told about this invocation."""
    processor = _from_environment()
    processor.register_lambda_context(context)
    return processor
