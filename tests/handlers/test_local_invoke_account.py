"""`make invoke`'s local account, on a real moto server: its lifecycle, the stores it makes from the
templates, what it says an invocation changed, and the redrive's sample state."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_invoke.account import STORE_TYPES, LocalAccount, running_moto_server
from local_invoke.changes import describe_changes, snapshot
from local_invoke.samples import prepare
from local_invoke.template import SAMPLE, TOOLKIT, load
from tests.processes import alive


class _StepFailedError(Exception):
    pass


def _run_in_server(log: Path, *, fails: bool) -> int:
    with running_moto_server(log) as server:
        assert server.endpoint.startswith("http://127.0.0.1:")
        assert alive(server.pid)
        if fails:
            raise _StepFailedError(server.pid)
        return server.pid


def test_the_moto_server_is_stopped_by_its_pid_when_the_block_ends(tmp_path: Path) -> None:
    assert not alive(_run_in_server(tmp_path / "moto.log", fails=False))


def test_the_moto_server_is_stopped_by_its_pid_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(_StepFailedError) as raised:
        _run_in_server(tmp_path / "moto.log", fails=True)
    assert not alive(raised.value.args[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as running:
        yield running.endpoint


@pytest.fixture
def account(server: str) -> LocalAccount:
    local = LocalAccount(server)
    local.reset()
    return local


def test_every_store_of_both_templates_is_made_with_the_templates_own_settings(account: LocalAccount) -> None:
    expected = sum(
        resource["Type"] in STORE_TYPES
        for path in (SAMPLE, TOOLKIT)
        for resource in load(path)["Resources"].values()
    )
    assert len(account.stores()) == expected
    dynamodb, sqs = account.client("dynamodb"), account.client("sqs")
    ledger = dynamodb.describe_table(TableName="failure-ledger-dev")["Table"]
    template_ledger = load(TOOLKIT)["Resources"]["LedgerTable"]["Properties"]
    assert ledger["KeySchema"] == template_ledger["KeySchema"]
    assert {index["IndexName"] for index in ledger["GlobalSecondaryIndexes"]} == {
        index["IndexName"] for index in template_ledger["GlobalSecondaryIndexes"]
    }
    outbox = dynamodb.describe_table(TableName="order-outbox-dev")["Table"]
    assert outbox["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    fifo = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName="orders-fifo-dev.fifo")["QueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert (fifo["FifoQueue"], fifo["ContentBasedDeduplication"], fifo["VisibilityTimeout"]) == (
        "true",
        "true",
        "180",
    )
    assert json.loads(fifo["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-fifo-dlq-dev.fifo",
        "maxReceiveCount": 5,
    }


def test_the_changes_name_each_item_message_and_object_and_nothing_else(account: LocalAccount) -> None:
    # Given an account with one order already
    orders = account.resource("dynamodb").Table("orders-dev")
    orders.put_item(Item={"order_id": "ord-1", "revision": 1, "status": "PLACED"})
    before = snapshot(account)
    # When an order is updated and another written, a failure sent, an alert published, a body put
    orders.put_item(Item={"order_id": "ord-1", "revision": 2, "status": "PAID"})
    orders.put_item(Item={"order_id": "ord-2", "revision": 1, "status": "PLACED", "lines": [{"sku": "x"}]})
    failure_queue = account.sample.nested["Toolkit"].store("FailureQueue").ref
    account.client("sqs").send_message(QueueUrl=failure_queue, MessageBody='{"version": "1.0"}')
    alerts = account.sample.nested["Toolkit"].store("AlertTopic").ref
    account.client("sns").publish(TopicArn=alerts, Message="2 new failures")
    bucket = account.sample.nested["Toolkit"].store("LedgerBucket").name
    account.client("s3").put_object(Bucket=bucket, Key="bodies/f-1/abc.json", Body=b"{}")
    # Then each is said, with the values that identify it, and the other stores are counted
    assert describe_changes(account, before, snapshot(account)) == [
        "table orders-dev: 1 item written, 1 item updated",
        "    + order_id=ord-2",
        "        revision=1 status=PLACED",
        "    ~ order_id=ord-1: revision 1 -> 2, status PLACED -> PAID",
        "queue lambda-failures-dev: 1 message (0 before)",
        '    + {"version": "1.0"}',
        f"bucket {bucket}: 1 object(s) written, 0 removed",
        "    + bodies/f-1/abc.json",
        "topic lambda-failure-alerts-dev: 1 message published",
        "    + 2 new failures",
        f"Nothing else changed (the other {len(account.stores()) - 4} stores).",
    ]


def test_only_the_redrive_finds_the_failures_its_requests_redrive(account: LocalAccount) -> None:
    before = snapshot(account)
    prepare("SqsOrdersFunction", account)
    assert describe_changes(account, before, snapshot(account)) == [
        f"Nothing changed in the {len(account.stores())} stores of the local account."
    ]
    prepare("RedriveFunction", account)
    headings = [
        line for line in describe_changes(account, before, snapshot(account)) if not line.startswith(" ")
    ]
    assert headings == [
        "queue order-events-dlq-dev: 2 messages (0 before)",
        "queue orders-queue-dlq-dev: 3 messages (0 before)",
        "table failure-ledger-dev: 2 items written",
        f"Nothing else changed (the other {len(account.stores()) - 3} stores).",
    ]
