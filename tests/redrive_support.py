"""Test doubles for the redrive: a Lambda client that records invocations (moto cannot run Lambda
code) and an SQS client wrapper whose calls are made one at a time (moto's in-process queues are not
safe under threads, where SQS's receive is), and moto queues made, filled and drained by name."""

import io
import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:{}"


def client_error(code: str, message: str = "", status: int = 400, operation: str = "Invoke") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class FakeLambda:
    """Invoke as Lambda answers it: 202 for an accepted async event, 200 and the function's result
    (or `FunctionError`) for a synchronous call. `behave(call)` may raise, or return a result."""

    def __init__(self, behave: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self._behave = behave
        self._lock = threading.Lock()

    def invoke(self, **call: Any) -> dict[str, Any]:
        with self._lock:
            self.calls.append(call)
        result = self._behave(call) if self._behave else None
        with self._lock:
            self.accepted.append(call)
        if call.get("InvocationType") == "Event":
            return {"StatusCode": 202, "Payload": io.BytesIO(b"")}
        if isinstance(result, FunctionFailed):
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps({"errorMessage": result.message}).encode()),
            }
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}

    def payloads(self) -> list[Any]:
        return [json.loads(call["Payload"]) for call in self.accepted]


class FunctionFailed:
    def __init__(self, message: str) -> None:
        self.message = message


class Serialized:
    """Proxy a boto3 client so that its calls run one at a time."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class Queues:
    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs

    def create(self, name: str, *, dlq_of: str | None = None, fifo: bool = False) -> str:
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoQueue"] = "true"
        url: str = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        if dlq_of:
            self.sqs.set_queue_attributes(
                QueueUrl=dlq_of,
                Attributes={
                    "RedrivePolicy": json.dumps({"deadLetterTargetArn": self.arn(url), "maxReceiveCount": 3})
                },
            )
        return url

    def arn(self, url: str) -> str:
        arn: str = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return arn

    def put(self, url: str, bodies: list[str], **extra: Any) -> list[str]:
        ids = []
        for body in bodies:
            ids.append(self.sqs.send_message(QueueUrl=url, MessageBody=body, **extra)["MessageId"])
        return ids

    def drain(self, url: str) -> list[dict[str, Any]]:
        """Every visible message (received and deleted)."""
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found.extend(messages)

    def bodies(self, url: str) -> list[str]:
        return sorted(message["Body"] for message in self.drain(url))
