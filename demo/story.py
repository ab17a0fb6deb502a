"""The failure story, with real traffic against a deployed stack: each step sends, waits for AWS's
(here ministack's) own machinery to act, and returns what it observed. The demo narrates these
results; the e2e tests assert on them."""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from demo.stack import Stack
from lambda_failure_toolkit.ledger import FailureLedger, LedgerEntry, LedgerFilter
from lambda_failure_toolkit.redrive.report import RedriveReport

__all__ = [
    "REDRIVE_FUNCTION",
    "AsyncFailure",
    "OrderState",
    "Recovery",
    "SqsBatch",
    "StoryError",
    "async_failure",
    "ledger_entry_for",
    "new_order_id",
    "order_event",
    "order_state",
    "placed",
    "poison_sqs_batch",
    "redrive_async_failure",
    "wait_for",
]


REDRIVE_FUNCTION = "Toolkit/RedriveFunction"
"""The RedriveFunction as `sam remote invoke --stack-name <the application>` names it: in the nested toolkit."""


class StoryError(RuntimeError):
    """What a step waited for did not happen in time; the message says what was seen."""


def wait_for[T](what: str, probe: Callable[[], T | None], *, timeout_s: float, every_s: float = 0.5) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = probe()
        if seen is not None:
            return seen
        if time.monotonic() > deadline:
            raise StoryError(f"gave up after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def new_order_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class OrderState:
    order_id: str
    revision: int
    status: str


def order_state(stack: Stack, order_id: str) -> OrderState | None:
    """The order as the orders table holds it now (None: not there)."""
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["OrdersTableName"], Key={"order_id": {"S": order_id}}, ConsistentRead=True
    )
    if "Item" not in item:
        return None
    return OrderState(order_id, int(item["Item"]["revision"]["N"]), item["Item"]["status"]["S"])


def order_event(order_id: str, revision: int, event_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "revision": revision,
        "event_type": event_type,
        "occurred_at": f"2026-11-20T10:0{revision}:00Z",
        **extra,
    }


def placed(order_id: str, total_cents: int) -> dict[str, Any]:
    return order_event(
        order_id,
        1,
        "OrderPlaced",
        customer_id="cus-1042",
        total_cents=total_cents,
        currency="EUR",
        items=[{"sku": "BOOK-0193", "quantity": 1}],
    )


# ------------------------------------------------------------------ SQS: a batch with a poison message


@dataclass(frozen=True, slots=True)
class SqsBatch:
    queue: str
    dlq: str
    max_receive_count: int
    sent: tuple[tuple[str, str], ...]
    """(order id, what it is) for each message sent, in one SendMessageBatch."""
    applied: tuple[OrderState, ...]
    """The good orders, as the orders table holds them afterwards."""
    parked_body: dict[str, Any]
    """The poison message, as it sits in the DLQ."""
    parked_receive_count: int
    """How many times it was received before SQS moved it (ApproximateReceiveCount)."""
    seconds: float


def poison_sqs_batch(stack: Stack, *, good: int = 3, timeout_s: float = 90) -> SqsBatch:
    """Send `good` valid OrderPlaced messages and one without a revision to the orders queue; wait
    for the good ones in the orders table and the poison one in the queue's DLQ."""
    sqs = stack.client("sqs")
    queue, dlq = stack.outputs["OrdersQueueUrl"], stack.outputs["OrdersQueueDLQUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"]
    max_receive_count = int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])
    good_ids = [new_order_id("ord-sqs") for _ in range(good)]
    poison_id = new_order_id("ord-poison")
    bodies = [placed(order_id, 1000 * (n + 1)) for n, order_id in enumerate(good_ids)]
    bodies.insert(good // 2, {"order_id": poison_id, "event_type": "OrderPlaced"})  # no revision
    started = time.monotonic()
    response = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": str(n), "MessageBody": json.dumps(body)} for n, body in enumerate(bodies)],
    )
    if response.get("Failed"):
        raise StoryError(f"SendMessageBatch refused messages: {response['Failed']}")

    def all_applied() -> tuple[OrderState, ...] | None:
        states = [order_state(stack, order_id) for order_id in good_ids]
        return tuple(s for s in states if s is not None) if all(states) else None

    def parked() -> tuple[dict[str, Any], int] | None:
        # A look that leaves the message where it is: visible again at once.
        for message in sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
        ).get("Messages", []):
            body = json.loads(message["Body"])
            if body.get("order_id") == poison_id:
                return body, int(message["Attributes"]["ApproximateReceiveCount"]) - 1
        return None

    applied = wait_for("the good orders in the orders table", all_applied, timeout_s=timeout_s)
    body, receives = wait_for(
        f"{poison_id} in the DLQ", parked, timeout_s=timeout_s - (time.monotonic() - started), every_s=1
    )
    return SqsBatch(
        queue=queue.rsplit("/", 1)[-1],
        dlq=dlq.rsplit("/", 1)[-1],
        max_receive_count=max_receive_count,
        sent=tuple(
            (str(b["order_id"]), "poison: no revision" if b["order_id"] == poison_id else "OrderPlaced")
            for b in bodies
        ),
        applied=applied,
        parked_body=body,
        parked_receive_count=receives,
        seconds=time.monotonic() - started,
    )


# ------------------------------------------------------------------ async: retries, OnFailure, ledger


def ledger(stack: Stack) -> FailureLedger:
    return FailureLedger(
        stack.session.resource("dynamodb", endpoint_url=stack.account.url).Table(
            stack.outputs["LedgerTableName"]
        ),
        stack.client("s3"),
        stack.outputs["LedgerBucketName"],
    )


def ledger_entry_for(stack: Stack, function: str, order_id: str, *, timeout_s: float) -> LedgerEntry:
    """Wait for the ledger entry of `function`'s failure on `order_id`, and read it whole."""
    book = ledger(stack)

    def recorded() -> LedgerEntry | None:
        for summary in book.list(LedgerFilter(function_name=function), limit=100).entries:
            entry = book.get(summary.failure_id)
            if isinstance(entry.payload, dict) and entry.payload.get("order_id") == order_id:
                return entry
        return None

    return wait_for(f"the failure of {order_id} in the ledger", recorded, timeout_s=timeout_s, every_s=1)


@dataclass(frozen=True, slots=True)
class AsyncFailure:
    function: str
    event: dict[str, Any]
    attempts_logged: int
    """Invocations that failed, counted in the function's log."""
    entry: LedgerEntry
    """What the failure consumer recorded from the OnFailure record."""
    seconds: float


def _failed_attempts(stack: Stack, function: str, order_id: str) -> int:
    """Each failed attempt ends with the runtime logging the handler's error, naming the order once."""
    needle = f"OutOfOrderEventError: order {order_id}:"
    pages = (
        stack.client("logs")
        .get_paginator("filter_log_events")
        .paginate(logGroupName=f"/aws/lambda/{function}")
    )
    return sum(event["message"].count(needle) for page in pages for event in page["events"])


def async_failure(stack: Stack, *, timeout_s: float = 60) -> AsyncFailure:
    """Invoke the order-events function asynchronously with an order's revision 2 (OrderPaid) whose
    revision 1 (OrderPlaced) never arrived; wait for the failure in the ledger."""
    function = stack.outputs["OrderEventsFunctionName"]
    order_id = new_order_id("ord-async")
    event = order_event(order_id, 2, "OrderPaid")
    started = time.monotonic()
    stack.client("lambda").invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    entry = ledger_entry_for(stack, function, order_id, timeout_s=timeout_s)
    return AsyncFailure(
        function=function,
        event=event,
        attempts_logged=_failed_attempts(stack, function, order_id),
        entry=entry,
        seconds=time.monotonic() - started,
    )


# ------------------------------------------------------------------ the operator's redrive


@dataclass(frozen=True, slots=True)
class Recovery:
    request: dict[str, Any]
    dry_run: RedriveReport
    state_after_dry_run: OrderState | None
    cause_fixed_by: dict[str, Any]
    state_after_fix: OrderState | None
    redrive: RedriveReport
    state_after_redrive: OrderState
    entry_after: LedgerEntry
    seconds: float


def redrive_async_failure(stack: Stack, failure: AsyncFailure, *, timeout_s: float = 60) -> Recovery:
    """The operator's way: a dry run of the RedriveFunction (`sam remote invoke`); the cause fixed
    (the missing OrderPlaced delivered); the redrive for real; the order at revision 2."""
    order_id = str(failure.event["order_id"])
    request: dict[str, Any] = {
        "source": {
            "type": "ledger",
            "filter": {"function_name": failure.function, "conditions": ["RetriesExhausted"]},
        },
        "filter": {"payload_predicate": f"order_id == '{order_id}'"},
        "requested_by": "demo@localhost",
    }
    started = time.monotonic()
    dry_run = RedriveReport.model_validate(stack.remote_invoke(REDRIVE_FUNCTION, request))
    state_after_dry_run = order_state(stack, order_id)
    fix = placed(order_id, 2599)
    answer = stack.client("lambda").invoke(
        FunctionName=failure.function, InvocationType="RequestResponse", Payload=json.dumps(fix).encode()
    )
    if answer.get("FunctionError"):
        raise StoryError(f"the missing OrderPlaced did not apply: {answer['Payload'].read()!r}")
    state_after_fix = order_state(stack, order_id)
    redrive = RedriveReport.model_validate(
        stack.remote_invoke(REDRIVE_FUNCTION, {**request, "dry_run": False})
    )

    def at_revision_2() -> OrderState | None:
        state = order_state(stack, order_id)
        return state if state is not None and state.revision == 2 else None

    state_after = wait_for(f"{order_id} at revision 2", at_revision_2, timeout_s=timeout_s)
    return Recovery(
        request=request,
        dry_run=dry_run,
        state_after_dry_run=state_after_dry_run,
        cause_fixed_by=fix,
        state_after_fix=state_after_fix,
        redrive=redrive,
        state_after_redrive=state_after,
        entry_after=ledger(stack).get(failure.entry.failure_id),
        seconds=time.monotonic() - started,
    )
