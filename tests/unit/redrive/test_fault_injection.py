"""Fault injection: 240 randomized fault plans, hundreds of messages each. Batch sends that fail
whole or in part, throttles, deletes that fail, invokes that are throttled, and a crash at a random
call (before or after SQS acted), followed by more runs once the visibility timeout has passed.
Every message must end in its target or still in its DLQ: zero lost. Every duplicate delivery is
either counted as a suspected duplicate (sent, then not deleted) or left by the crash, at most the
batches in hand when the process died. Some plans redrive messages of 100 to 300 KB (a batch of
them passes SQS's 1 MiB), some a FIFO DLQ of several groups into a FIFO queue, with a filter that
skips some messages: each group must arrive in its order, and the skipped messages stay.

SQS here is an in-memory queue with SQS's semantics (visibility timeouts on the run's clock, receipt
handles that change on each receive, per-entry batch results, a FIFO group given out in order and
not while one of its messages is in flight, deduplication within five minutes, 1 MiB a batch), so
that a plan runs in milliseconds and time can jump past a visibility timeout.
tests/handlers/test_redrive_engine.py checks it against moto on the calls the engine makes
(`test_the_fault_injection_queue_answers_as_moto_does`).
"""

import io
import itertools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.redrive import RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.report import RedriveReport
from lambda_failure_toolkit.retry import Deadline

PLANS = 240
ACCOUNT = "123456789012"
FUNCTION = "order-events-test"
MAX_BATCH_BYTES = 1_048_576
DEDUPLICATION_S = 300


class Crash(BaseException):
    """The process dies here: nothing after this call runs, not even `finally` cleanup of the run."""


def error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@dataclass
class Message:
    id: str
    body: str
    attributes: dict[str, Any]
    group: str | None = None
    receive_count: int = 0
    visible_at: float = 0.0
    handle: str | None = None


@dataclass
class Queue:
    name: str
    messages: dict[str, Message] = field(default_factory=dict)
    deduplicated: dict[str, tuple[float, str]] = field(default_factory=dict)
    """FIFO: deduplication id -> (when first sent, the message id SQS answered with)."""

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


class FakeSqs:
    """SQS's semantics for the calls the redrive makes, on a clock the test moves."""

    def __init__(self, clock: list[float], source: str = "orders") -> None:
        self.clock = clock
        self.queues: dict[str, Queue] = {}
        self.source = source
        """The queue the DLQ serves (ListDeadLetterSourceQueues)."""
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def create(self, name: str) -> str:
        self.queues[name] = Queue(name)
        return self.url(name)

    @staticmethod
    def url(name: str) -> str:
        return f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/{name}"

    def _queue(self, url: str) -> Queue:
        return self.queues[url.rsplit("/", 1)[1]]

    def put(
        self,
        url: str,
        body: str,
        attributes: dict[str, Any] | None = None,
        group: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        queue = self._queue(url)
        if queue.fifo and deduplication_id is not None:
            first = queue.deduplicated.get(deduplication_id)
            if first is not None and self.clock[0] - first[0] < DEDUPLICATION_S:
                return first[1]  # accepted, and dropped: a re-send within the deduplication window
        message_id = f"m-{next(self._ids)}"
        queue.messages[message_id] = Message(message_id, body, attributes or {}, group)
        if queue.fifo and deduplication_id is not None:
            queue.deduplicated[deduplication_id] = (self.clock[0], message_id)
        return message_id

    def visible(self, url: str) -> list[Message]:
        return [m for m in self._queue(url).messages.values() if m.visible_at <= self.clock[0]]

    def all(self, url: str) -> list[Message]:
        return list(self._queue(url).messages.values())

    # -------------------------------------------------------- the API

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            queue = self._queue(QueueUrl)
            return {
                "Attributes": {
                    "QueueArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{queue.name}",
                    "ApproximateNumberOfMessages": str(len(self.visible(QueueUrl))),
                }
            }

    def list_dead_letter_source_queues(self, QueueUrl: str) -> dict[str, Any]:  # noqa: N803
        return {"queueUrls": [self.url(self.source)]}

    def receive_message(
        self,
        QueueUrl: str,  # noqa: N803 -- boto3's keyword names
        MaxNumberOfMessages: int,  # noqa: N803
        VisibilityTimeout: int,  # noqa: N803
        **_: Any,
    ) -> dict[str, Any]:
        with self._lock:
            queue = self._queue(QueueUrl)
            # FIFO: a group is given out in order, and not while one of its messages is in flight.
            in_flight = {m.group for m in queue.messages.values() if m.visible_at > self.clock[0]}
            available = [m for m in self.visible(QueueUrl) if not (queue.fifo and m.group in in_flight)]
            if queue.fifo:  # as many of one group as it has, then the next group's
                order = {
                    group: index for index, group in enumerate(dict.fromkeys(m.group for m in available))
                }
                available.sort(key=lambda m: order[m.group])
            taken = []
            for message in available[:MaxNumberOfMessages]:
                message.receive_count += 1
                message.visible_at = self.clock[0] + VisibilityTimeout
                message.handle = f"{message.id}/{message.receive_count}"
                attributes = {
                    "ApproximateReceiveCount": str(message.receive_count),
                    "SentTimestamp": "1795000000000",
                }
                if message.group is not None:
                    attributes["MessageGroupId"] = message.group
                taken.append(
                    {
                        "MessageId": message.id,
                        "ReceiptHandle": message.handle,
                        "Body": message.body,
                        "Attributes": attributes,
                        "MessageAttributes": message.attributes,
                    }
                )
            return {"Messages": taken} if taken else {}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            size = sum(
                len(e["MessageBody"].encode()) + _attributes_size(e.get("MessageAttributes")) for e in Entries
            )
            if size > MAX_BATCH_BYTES:
                raise error("AWS.SimpleQueueService.BatchRequestTooLong", "SendMessageBatch")
            successful = []
            for entry in Entries:
                message_id = self.put(
                    QueueUrl,
                    entry["MessageBody"],
                    entry.get("MessageAttributes"),
                    entry.get("MessageGroupId"),
                    entry.get("MessageDeduplicationId"),
                )
                successful.append({"Id": entry["Id"], "MessageId": message_id})
            return {"Successful": successful, "Failed": []}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        return self._by_handle(QueueUrl, Entries, lambda queue, message: queue.messages.pop(message.id))

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        def release(queue: Queue, message: Message) -> None:
            message.visible_at = self.clock[0]

        return self._by_handle(QueueUrl, Entries, release)

    def _by_handle(
        self, url: str, entries: list[dict[str, Any]], act: Callable[[Queue, Message], Any]
    ) -> dict[str, Any]:
        with self._lock:
            queue = self._queue(url)
            by_handle = {m.handle: m for m in queue.messages.values() if m.handle}
            successful, failed = [], []
            for entry in entries:
                message = by_handle.get(entry["ReceiptHandle"])
                if message is None:  # re-received since (its handle changed), or already deleted
                    failed.append(
                        {
                            "Id": entry["Id"],
                            "SenderFault": True,
                            "Code": "ReceiptHandleIsInvalid",
                            "Message": "stale",
                        }
                    )
                    continue
                act(queue, message)
                successful.append({"Id": entry["Id"]})
            return {"Successful": successful, "Failed": failed}


def _attributes_size(attributes: dict[str, Any] | None) -> int:
    return sum(
        len(name) + len(value.get("DataType", "")) + len(value.get("StringValue", ""))
        for name, value in (attributes or {}).items()
    )


class FaultPlan:
    """Chooses, call by call, which faults happen; `crash_at` is the call on which the process dies."""

    def __init__(self, rng: random.Random, *, crash_at: int | None) -> None:
        self.rng = rng
        self.throttle = rng.choice([0.0, 0.1, 0.3])
        self.partial = rng.choice([0.0, 0.2, 0.5])
        self.permanent = rng.choice([0.0, 0.0, 0.02])
        self.delete_fails = rng.choice([0.0, 0.1, 0.3])
        self.crash_at = crash_at
        self.crash_after_acting = rng.random() < 0.5
        self.calls = 0
        self.crashed = False
        self.deletes_failed = 0
        """Messages whose delete failed in this run (the test's count: the engine's report has it too,
        unless the run crashes and its report is lost)."""
        self.uncounted = 0
        """Those of runs that crashed."""
        self._lock = threading.Lock()

    def failed_deletes(self, count: int) -> None:
        """`count` deletes failed: the workers call at once, so under the lock (`+=` is not atomic)."""
        with self._lock:
            self.deletes_failed += count

    def restart(self) -> None:
        """The process is restarted after its crash: no more crashes, same faults otherwise."""
        self.crashed, self.crash_at = False, None
        self.uncounted += self.deletes_failed

    def tick(self) -> bool:
        """Count a call; True when the process dies on it."""
        with self._lock:
            if self.crashed:
                raise Crash
            self.calls += 1
            if self.crash_at is not None and self.calls >= self.crash_at:
                self.crashed = True
                return True
            return False


class FaultySqs:
    def __init__(self, sqs: FakeSqs, plan: FaultPlan) -> None:
        self.sqs = sqs
        self.plan = plan

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.sqs, name)

        def call(**kwargs: Any) -> Any:
            dies = self.plan.tick()
            if dies and not self.plan.crash_after_acting:
                raise Crash
            response = self._faulty(name, real, kwargs)
            if dies:
                raise Crash  # SQS acted; the process never saw the answer
            return response

        return call

    def _faulty(self, name: str, real: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        plan, rng = self.plan, self.plan.rng
        if (
            name in {"send_message_batch", "receive_message", "delete_message_batch"}
            and rng.random() < plan.throttle
        ):
            if name == "delete_message_batch":
                plan.failed_deletes(len(kwargs["Entries"]))
            raise error("AWS.SimpleQueueService.RequestThrottled", name)
        if name == "send_message_batch":
            sent, failed = [], []
            for entry in kwargs["Entries"]:
                if rng.random() < plan.permanent:
                    failed.append(
                        {
                            "Id": entry["Id"],
                            "SenderFault": True,
                            "Code": "InvalidMessageContents",
                            "Message": "no",
                        }
                    )
                elif rng.random() < plan.partial:
                    failed.append(
                        {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError", "Message": "again"}
                    )
                else:
                    sent.append(entry)
            response = (
                real(QueueUrl=kwargs["QueueUrl"], Entries=sent) if sent else {"Successful": [], "Failed": []}
            )
            response["Failed"] = failed
            return response
        if name == "delete_message_batch" and rng.random() < plan.delete_fails:
            if rng.random() < 0.5:
                plan.failed_deletes(len(kwargs["Entries"]))
                raise error("InternalError", name)
            keep = [e for e in kwargs["Entries"] if rng.random() < 0.5]
            plan.failed_deletes(len(kwargs["Entries"]) - len(keep))
            response = (
                real(QueueUrl=kwargs["QueueUrl"], Entries=keep) if keep else {"Successful": [], "Failed": []}
            )
            response["Failed"] = [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "again"}
                for e in kwargs["Entries"]
                if e not in keep
            ]
            return response
        return real(**kwargs)


class FaultyLambda:
    """Lambda's async Invoke: accepted (202) or throttled; records what it accepted."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.accepted: list[str] = []
        self._lock = threading.Lock()

    def invoke(self, **call: Any) -> dict[str, Any]:
        dies = self.plan.tick()
        if dies and not self.plan.crash_after_acting:
            raise Crash
        if self.plan.rng.random() < self.plan.throttle:
            raise ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "Invoke",
            )
        with self._lock:
            self.accepted.append(call["Payload"].decode())
        if dies:
            raise Crash
        return {"StatusCode": 202, "Payload": io.BytesIO(b"")}


def dlq_attributes(number: int) -> dict[str, Any]:
    return {
        "RequestID": {"DataType": "String", "StringValue": f"req-{number}"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "boom"},
    }


@dataclass(frozen=True)
class Kind:
    """What a plan redrives: a Lambda DLQ by invocation, large messages, or a FIFO DLQ with a filter."""

    to_lambda: bool
    large: bool
    fifo: bool

    @classmethod
    def of(cls, seed: int) -> "Kind":
        fifo = seed % 5 == 1
        return cls(to_lambda=seed % 3 == 2 and not fifo, large=seed % 7 == 3 and not fifo, fifo=fifo)


def bodies_of(kind: Kind, rng: random.Random) -> list[dict[str, Any]]:
    if kind.large:  # a batch of them passes SQS's 1 MiB: the engine sizes its batches by bytes
        return [{"n": n, "pad": "x" * rng.randint(100_000, 300_000)} for n in range(rng.randint(20, 60))]
    count = rng.randint(150, 450)
    if not kind.fifo:
        return [{"n": n, "pad": "x" * rng.randint(0, 50)} for n in range(count)]
    groups = [f"customer-{g}" for g in range(rng.randint(1, 12))]
    bodies = [
        {"n": n, "pad": "x" * rng.randint(0, 50), "group": rng.choice(groups), "skip": False}
        for n in range(count)
    ]
    # A few skipped in each group: ten at a group's head would hide the rest of it from every receive
    # (the redrive says so; test_redrive_hardening covers it).
    for group in groups:
        members = [body for body in bodies if body["group"] == group]
        for body in rng.sample(members, min(len(members), rng.randint(0, 5))):
            body["skip"] = True
    return bodies


@pytest.mark.parametrize("seed", range(PLANS))
def test_no_message_is_lost_whatever_fails_and_wherever_the_process_dies(seed: int) -> None:
    rng = random.Random(seed)
    kind = Kind.of(seed)
    clock = [1000.0]
    suffix = ".fifo" if kind.fifo else ""
    sqs = FakeSqs(clock, source=f"orders{suffix}")
    target, dlq = sqs.create(f"orders{suffix}"), sqs.create(f"orders-dlq{suffix}")
    messages = bodies_of(kind, rng)
    bodies = {json.dumps(message) for message in messages}
    for number, message in enumerate(messages):
        sqs.put(
            dlq,
            json.dumps(message),
            dlq_attributes(number) if kind.to_lambda else {"n": {"DataType": "String", "StringValue": "1"}},
            group=message.get("group"),
        )
    skipped = {json.dumps(m) for m in messages if m.get("skip")}
    plan = FaultPlan(rng, crash_at=rng.randint(1, 120) if rng.random() < 0.9 else None)
    invoked = FaultyLambda(plan)
    allowed = RedriveTargets(queues=frozenset({target}), functions=frozenset({FUNCTION}))
    source = (
        {"type": "lambda_dlq", "queue_url": dlq, "function": FUNCTION}
        if kind.to_lambda
        else {"type": "sqs_dlq", "queue_url": dlq}
    )
    concurrency = rng.randint(1, 4)
    raw = {
        "source": source,
        "dry_run": False,
        "concurrency": concurrency,
        "stop_after_consecutive_failures": 10_000,
        # A filter: the engine's own move, not SQS's task (and in FIFO plans, some messages skipped).
        "filter": {"payload_predicate": "!skip"} if kind.fifo else {"since": "2000-01-01T00:00:00Z"},
    }
    request = parse_redrive_request(raw, allowed)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    def run() -> RedriveReport | None:
        engine = Redrive(
            sqs=FaultySqs(sqs, plan),  # type: ignore[arg-type]
            lambda_client=invoked,  # type: ignore[arg-type]
            targets=allowed,
            wait_time_s=0,
            margin_s=1,
            clock=lambda: clock[0],
            sleep=sleep,
        )
        plan.deletes_failed = 0
        try:
            return engine.run(request, deadline=Deadline.after(900, clock=lambda: clock[0]))
        except Crash:
            return None

    reports = []
    crashes = 0
    # The operator runs it again until the DLQ holds only what the filter skips, or nothing more moves
    # when SQS refuses some for good (a message whose every retry failed is reported and stays: the next
    # run takes it again; in a FIFO group, nothing after it moves until it does).
    for _ in range(30 if kind.fifo else 12):
        report = run()
        if report is not None:
            reports.append(report)
        if plan.crashed:
            plan.restart()
            crashes += 1
        clock[0] += 2000  # past every visibility timeout the runs set
        if {m.body for m in sqs.all(dlq)} <= skipped or (
            report is not None and report.moved == 0 and plan.permanent > 0
        ):
            break

    delivered = invoked.accepted if kind.to_lambda else [m.body for m in sqs.all(target)]
    still_in_dlq = [m.body for m in sqs.all(dlq)]
    # Zero lost: every message is in its target or still in its DLQ
    assert bodies <= set(delivered) | set(still_in_dlq)
    assert set(delivered) | set(still_in_dlq) <= bodies  # and nothing else appeared
    assert not skipped & set(delivered)  # what the filter skips stays
    # Every duplicate delivery was counted, or left by the crash: at most the batches in hand then,
    # and the failed deletes the crashed run had counted in the report it never gave
    # (SQS's FIFO deduplication drops a re-send only within five minutes of the first)
    duplicates = len(delivered) - len(set(delivered))
    assert (
        duplicates
        <= sum(r.suspected_duplicates for r in reports) + crashes * concurrency * 10 + plan.uncounted
    )
    # Nothing stays invisible for ever: everything left in the DLQ is visible again
    assert len(sqs.visible(dlq)) == len(still_in_dlq)
    # Each FIFO group arrived in its order (a re-send after a crash repeats what came before it)
    if kind.fifo:
        for group in {m["group"] for m in messages}:
            arrived = [
                json.loads(body)["n"]
                for body in dict.fromkeys(delivered)
                if json.loads(body)["group"] == group
            ]
            assert arrived == sorted(arrived), f"group {group} out of order: {arrived}"
    # Without permanent refusals the DLQ empties of all but what the filter skips
    if plan.permanent == 0.0:
        left = set(still_in_dlq) - skipped
        assert not left, f"left in the DLQ after {len(reports)} runs: {len(left)}"
