"""What an invocation changed in the local account: each store read before and after, and the
difference said one line a store, with the items, messages and objects that appeared."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from local_invoke.account import LocalAccount
from local_invoke.template import Store

__all__ = ["Snapshot", "describe_changes", "snapshot"]

_LINE_WIDTH = 100
_VALUE_WIDTH = 48
_BODY_WIDTH = 160
_SHOWN_MESSAGES = 10
"""One receive's worth."""
_DESERIALIZE = TypeDeserializer().deserialize


@dataclass(frozen=True)
class Snapshot:
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Table -> the item's key as text -> the item."""
    key_names: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)
    """Queue URL (a topic's: its tap queue) -> messages in it, visible or not."""
    objects: dict[str, set[str]] = field(default_factory=dict)
    """Bucket -> object keys."""


def snapshot(account: LocalAccount) -> Snapshot:
    """Every store's content. Reads only: nothing is received, so nothing changes."""
    taken = Snapshot()
    for store in account.stores():
        if store.kind == "table":
            taken.key_names[store.name], taken.items[store.name] = _items(account, store)
        elif store.kind == "queue":
            taken.messages[store.ref] = _count(account, store.ref)
        elif store.kind == "topic":
            taken.messages[account.taps[store.ref]] = _count(account, account.taps[store.ref])
        elif store.kind == "bucket":
            pages = account.client("s3").get_paginator("list_objects_v2").paginate(Bucket=store.name)
            taken.objects[store.name] = {item["Key"] for page in pages for item in page.get("Contents", [])}
    return taken


def describe_changes(account: LocalAccount, before: Snapshot, after: Snapshot) -> list[str]:
    """Lines saying what changed, store by store, then how many stores did not."""
    lines: list[str] = []
    unchanged = 0
    for store in account.stores():
        described = _store_changes(account, store, before, after)
        unchanged += not described
        lines += described
    if not lines:
        return [f"Nothing changed in the {unchanged} stores of the local account."]
    return [*lines, f"Nothing else changed (the other {unchanged} stores)."]


def _store_changes(account: LocalAccount, store: Store, before: Snapshot, after: Snapshot) -> list[str]:
    if store.kind == "table":
        return _table_changes(
            store, after.key_names[store.name], before.items[store.name], after.items[store.name]
        )
    if store.kind in {"queue", "topic"}:
        url = store.ref if store.kind == "queue" else account.taps[store.ref]
        was, now = before.messages[url], after.messages[url]
        if was == now:
            return []
        if store.kind == "topic":
            heading = f"topic {store.name}: {_count_of(now - was, 'message')} published"
        else:
            heading = f"queue {store.name}: {_count_of(now, 'message')} ({was} before)"
        return [heading, *(f"    + {body}" for body in _bodies(account, url, now - was))]
    if store.kind == "bucket":
        added = sorted(after.objects[store.name] - before.objects[store.name])
        removed = sorted(before.objects[store.name] - after.objects[store.name])
        if not (added or removed):
            return []
        return [
            f"bucket {store.name}: {len(added)} object(s) written, {len(removed)} removed",
            *(f"    + {key}" for key in added),
            *(f"    - {key}" for key in removed),
        ]
    return []  # a stream: no function here writes to one


def _table_changes(
    store: Store, key_names: list[str], was: dict[str, dict[str, Any]], now: dict[str, dict[str, Any]]
) -> list[str]:
    written = [key for key in now if key not in was]
    updated = [key for key in now if key in was and now[key] != was[key]]
    deleted = [key for key in was if key not in now]
    if not (written or updated or deleted):
        return []
    counts = [
        f"{_count_of(len(keys), 'item')} {verb}"
        for keys, verb in ((written, "written"), (updated, "updated"), (deleted, "deleted"))
        if keys
    ]
    lines = [f"table {store.name}: {', '.join(counts)}"]
    for key in written:
        lines += [f"    + {key}", *(f"        {line}" for line in _attributes(now[key], key_names))]
    for key in updated:
        differences = sorted(
            name for name in {*now[key], *was[key]} if now[key].get(name) != was[key].get(name)
        )
        lines.append(
            f"    ~ {key}: "
            + ", ".join(
                f"{name} {_text(was[key].get(name))} -> {_text(now[key].get(name))}" for name in differences
            )
        )
    lines += [f"    - {key}" for key in deleted]
    return lines


def _items(account: LocalAccount, store: Store) -> tuple[list[str], dict[str, dict[str, Any]]]:
    dynamodb = account.client("dynamodb")
    key_names = [
        key["AttributeName"] for key in dynamodb.describe_table(TableName=store.name)["Table"]["KeySchema"]
    ]
    items: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=store.name):
        for raw in page["Items"]:
            item = {name: _DESERIALIZE(value) for name, value in raw.items()}
            # Whole, never clipped: two keys with a common beginning stay two items.
            items[" ".join(f"{name}={_key_text(item[name])}" for name in key_names)] = item
    return key_names, items


def _count(account: LocalAccount, url: str) -> int:
    attributes = account.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _bodies(account: LocalAccount, url: str, gained: int) -> list[str]:
    """The bodies of up to ten messages now in the queue, when it gained some (the account is
    thrown away next, so receiving them changes nothing that matters)."""
    if gained <= 0:
        return []
    messages = (
        account.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=_SHOWN_MESSAGES, VisibilityTimeout=0)
        .get("Messages", [])
    )
    return [_clipped(message["Body"], _BODY_WIDTH) for message in messages]


def _attributes(item: dict[str, Any], key_names: list[str]) -> list[str]:
    """The item's other attributes that read as one short value (no JSON documents), in its own
    order, a few to a line."""
    pairs = [
        f"{name}={_key_text(value)}"
        for name, value in item.items()
        if name not in key_names and _short_scalar(value)
    ]
    lines: list[str] = []
    for pair in pairs:
        if lines and len(lines[-1]) + 1 + len(pair) <= _LINE_WIDTH:
            lines[-1] += f" {pair}"
        else:
            lines.append(pair)
    return lines


def _short_scalar(value: Any) -> bool:
    if isinstance(value, bool | Decimal):
        return True
    return isinstance(value, str) and len(value) <= _VALUE_WIDTH and not value.startswith(("{", "["))


def _key_text(value: Any) -> str:
    return (
        str(int(value)) if isinstance(value, Decimal) and value == value.to_integral_value() else str(value)
    )


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal | str):
        return _clipped(_key_text(value), _VALUE_WIDTH)
    return _clipped(json.dumps(value, default=str, separators=(",", ":")), _VALUE_WIDTH)


def _clipped(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else f"{text[: width - 1]}…"


def _count_of(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
