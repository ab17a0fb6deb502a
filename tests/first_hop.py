"""EventBridge's and SNS's first hop to a function, played against moto's account, for the handler tier.

moto keeps the rules, their targets (RetryPolicy, DeadLetterConfig), the topics and subscriptions
(RedrivePolicy), the queues and each function's resource-based policy, but delivers to neither kind
of Lambda target: its EventBridge raises NotImplementedError for one, and its SNS needs Docker to
invoke one and checks no permission. ministack delivers to both but never dead-letters either (the
README's table). So this plays the services' part as AWS documents it (the shared
aws-failure-semantics, section 4b), and nothing more:

- a function target is invoked (on the recording FakeLambda) only when the function exists and its
  resource-based policy lets the service's principal call lambda:InvokeFunction with the rule's or
  topic's ARN as SourceArn; otherwise the event goes to the target's DLQ at once, without retries
  (NO_PERMISSIONS, NO_RESOURCE): EventBridge's body is the event with its six attributes, SNS's the
  JSON envelope and nothing else;
- a queue target or subscriber gets the event as the service sends it, through moto's SQS.
"""

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.ledger.wiring import failure_consumer
from tests.redrive_support import FakeLambda

ACCOUNT, REGION = "123456789012", "eu-west-1"
FUNCTION = "order-events-test"
RULE = "order-events-test"


class FirstHop:
    def __init__(self, *, lambda_client: Any, events: Any, sns: Any, sqs: Any, invoked: FakeLambda) -> None:
        self._lambda = lambda_client
        self._events = events
        self._sns = sns
        self._sqs = sqs
        self.invoked = invoked

    # ------------------------------------------------------------ EventBridge

    def put_event(self, rule: str, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        """An event matched by `rule`, delivered to each of its targets; returns the event."""
        rule_arn = self._events.describe_rule(Name=rule)["Arn"]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
        body = json.dumps(event)
        for target in self._events.list_targets_by_rule(Rule=rule)["Targets"]:
            if ":sqs:" in target["Arn"]:
                self._send(target["Arn"], body)
                continue
            refused = self._refusal(target["Arn"], "events.amazonaws.com", rule_arn)
            if refused is None:
                self.invoked.invoke(FunctionName=target["Arn"], InvocationType="Event", Payload=body.encode())
            elif "DeadLetterConfig" in target:  # without one, EventBridge drops the event
                code, message = refused
                attributes = {
                    "RULE_ARN": rule_arn,
                    "TARGET_ARN": target["Arn"],
                    "ERROR_CODE": code,
                    "ERROR_MESSAGE": message,
                    "RETRY_ATTEMPTS": "0",  # not retried: a missing permission or target goes at once
                }
                self._send(target["DeadLetterConfig"]["Arn"], body, attributes)
        return event

    # ------------------------------------------------------------ SNS

    def publish(self, topic_arn: str, message: str) -> dict[str, Any]:
        """`message` published to the topic, delivered to each subscription; returns the envelope."""
        message_id = str(uuid.uuid4())
        for subscription in self._subscriptions(topic_arn):
            envelope = {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": topic_arn,
                "Message": message,
                "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "SignatureVersion": "1",
                "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
                "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription['SubscriptionArn']}",
            }
            if subscription["Protocol"] == "sqs":
                self._send(subscription["Endpoint"], json.dumps(envelope))
                continue
            refused = self._refusal(subscription["Endpoint"], "sns.amazonaws.com", topic_arn)
            if refused is None:
                record = {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription["SubscriptionArn"],
                    "Sns": {
                        {"SigningCertURL": "SigningCertUrl", "UnsubscribeURL": "UnsubscribeUrl"}.get(
                            key, key
                        ): value
                        for key, value in envelope.items()
                    }
                    | {"Subject": None, "MessageAttributes": {}},
                }
                self.invoked.invoke(
                    FunctionName=subscription["Endpoint"],
                    InvocationType="Event",
                    Payload=json.dumps({"Records": [record]}).encode(),
                )
                continue
            policy = self._sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
            redrive = policy["Attributes"].get("RedrivePolicy")
            if redrive:  # without one, SNS drops the message once its delivery policy runs out
                self._send(json.loads(redrive)["deadLetterTargetArn"], json.dumps(envelope))
        return {"MessageId": message_id}

    def _subscriptions(self, topic_arn: str) -> Iterator[dict[str, Any]]:
        yield from self._sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]

    # ------------------------------------------------------------ shared

    def _refusal(self, function_arn: str, principal: str, source_arn: str) -> tuple[str, str] | None:
        """(ERROR_CODE, ERROR_MESSAGE) when the service may not invoke the function; None when it may."""
        try:
            policy = json.loads(self._lambda.get_policy(FunctionName=function_arn)["Policy"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            try:
                self._lambda.get_function(FunctionName=function_arn)
            except ClientError:
                return "NO_RESOURCE", f"Function not found: {function_arn}"
            policy = {"Statement": []}  # the function exists, with no resource-based policy at all
        for statement in policy["Statement"]:
            conditions = statement.get("Condition", {})
            allowed_source = next(
                (value.get("AWS:SourceArn") for value in conditions.values() if "AWS:SourceArn" in value),
                None,
            )
            if (
                statement["Effect"] == "Allow"
                and statement["Principal"] == {"Service": principal}
                and statement["Action"] == "lambda:InvokeFunction"
                and allowed_source == source_arn
            ):
                return None
        return (
            "NO_PERMISSIONS",
            f"User: {principal} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"{function_arn} because no resource-based policy allows the lambda:InvokeFunction action",
        )

    def _send(self, queue_arn: str, body: str, attributes: dict[str, str] | None = None) -> None:
        url = self._sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        self._sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in (attributes or {}).items()
            },
        )


def as_mapping_event(sqs: Any, queue_url: str, queue_arn: str) -> list[dict[str, Any]]:
    """What the consumer's event source mapping would deliver from the queue: every visible message,
    as Lambda's SQS event records (received, not deleted: the caller deletes what the consumer took)."""
    records: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return records
        records += [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]


# ------------------------------------------------------------ the sample's async function, in moto


@dataclass
class Account:
    hop: FirstHop
    function_arn: str
    rule_arn: str
    topic_arn: str
    queues: dict[str, tuple[str, str]]
    """Each queue by role: its URL and ARN."""


def order(order_id: str, revision: int = 1, event_type: str = "OrderPlaced") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "revision": revision,
        "event_type": event_type,
        "occurred_at": f"2026-11-21T10:0{revision}:00Z",
        "customer_id": "cus-1042",
        "total_cents": 4599,
        "currency": "EUR",
        "items": [{"sku": "BOOK-0193", "quantity": 1}],
    }


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


def build_account(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Account:
    """The sample's async function with its EventBridge rule and SNS subscription, each with a DLQ and
    the invoker statement the template gives it, beside a second rule target and a second subscriber."""
    sqs, sns = aws["sqs"], aws["sns"]
    lambda_client, events = boto3.client("lambda"), boto3.client("events")
    queues = {}
    for role in ("rule_dlq", "subscription_dlq", "other_rule_target", "other_subscriber", "alerts"):
        url = sqs.create_queue(QueueName=f"{role.replace('_', '-')}-test")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[role] = (url, arn)
    execution_role = boto3.client("iam").create_role(
        RoleName="order-events-test", AssumeRolePolicyDocument="{}"
    )
    function_arn = lambda_client.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.13",
        Role=execution_role["Role"]["Arn"],
        Handler="app.lambda_handler",
        Code={"ZipFile": _zip()},
    )["FunctionArn"]
    rule_arn = events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["shop.orders"]}))["RuleArn"]
    events.put_targets(
        Rule=RULE,
        Targets=[
            {
                "Id": "order-events",
                "Arn": function_arn,
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                "DeadLetterConfig": {"Arn": queues["rule_dlq"][1]},
            },
            {"Id": "other", "Arn": queues["other_rule_target"][1]},
        ],
    )
    topic_arn = sns.create_topic(Name="order-events-test")["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="lambda",
        Endpoint=function_arn,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queues["subscription_dlq"][1]})},
    )
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queues["other_subscriber"][1])
    sns.subscribe(TopicArn=aws["alert_topic_arn"], Protocol="sqs", Endpoint=queues["alerts"][1])
    for statement, principal, source in (("events", "events", rule_arn), ("sns", "sns", topic_arn)):
        lambda_client.add_permission(
            FunctionName=FUNCTION,
            StatementId=statement,
            Action="lambda:InvokeFunction",
            Principal=f"{principal}.amazonaws.com",
            SourceArn=source,
        )
    # The toolkit's configuration for these, as its template sets it from FirstHopDlqArns and
    # RedriveTargetFunctionArns
    monkeypatch.setenv("FIRST_HOP_DLQ_ARNS", f"{queues['rule_dlq'][1]},{queues['subscription_dlq'][1]}")
    monkeypatch.setenv("REDRIVE_ALLOWED_FUNCTIONS", function_arn)
    get_config.cache_clear()
    failure_consumer.cache_clear()
    hop = FirstHop(lambda_client=lambda_client, events=events, sns=sns, sqs=sqs, invoked=FakeLambda())
    return Account(hop, function_arn, rule_arn, topic_arn, queues)
