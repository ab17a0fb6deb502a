"""The allow-list a redrive is deployed with: the queues and functions a target may be."""

from functools import cached_property
from typing import TYPE_CHECKING

from lambda_failure_toolkit.redrive.strict import Strict

if TYPE_CHECKING:
    from lambda_failure_toolkit.redrive.request import TargetOverride

__all__ = ["RedriveTargets", "listed"]


class RedriveTargets(Strict):
    """The allow-list fixed at deployment: where a target override may point and, in the function,
    where a failure's own target may be.

    Queues are named by ARN or URL and compared by account and name (one queue has several URL forms:
    regional, legacy, an endpoint's). Functions are named by ARN or name and compared by name, and by
    account too when both sides name one: a record naming another account's function of the same
    name is refused."""

    queues: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()

    @cached_property
    def _queue_keys(self) -> frozenset[tuple[str, ...]]:
        return frozenset(_queue_key(queue) for queue in self.queues)

    @cached_property
    def _function_keys(self) -> frozenset[tuple[str | None, str]]:
        return frozenset(_function_key(function) for function in self.functions)

    def refuses(self, target: "TargetOverride | None") -> str | None:
        if target is None:
            return None
        if target.queue_url is not None and not self.allows_queue(target.queue_url):
            return f"target.queue_url {target.queue_url} is not in the allow-list ({listed(self.queues)})"
        if target.function is not None and not self.allows_function(target.function):
            return f"target.function {target.function} is not in the allow-list ({listed(self.functions)})"
        return None

    def allows_queue(self, queue: str) -> bool:
        """Whether the queue (an ARN or a URL) is allowed."""
        return _queue_key(queue) in self._queue_keys

    def allows_function(self, function: str) -> bool:
        """Whether the function (a name, `name:qualifier`, or an ARN, qualified or not) is allowed."""
        account, name = _function_key(function)
        return any(
            name == allowed_name
            and (account is None or allowed_account is None or account == allowed_account)
            for allowed_account, allowed_name in self._function_keys
        )


def _function_key(function: str) -> tuple[str | None, str]:
    """(account, name) of `name`, `name:qualifier`, `account:function:name` or an ARN; no account for a bare name."""
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) >= 7:
        return parts[4], parts[6]
    if len(parts) >= 3 and parts[1] == "function":
        return parts[0], parts[2]
    return None, parts[0]


def _queue_key(queue: str) -> tuple[str, ...]:
    """(account, name) of a queue ARN, or the last two parts of its URL's path (the same two)."""
    if queue.startswith("arn:"):
        return tuple(queue.split(":")[4:6])
    return tuple(queue.rstrip("/").split("/")[-2:])


def listed(values: frozenset[str]) -> str:
    """An allow-list as a refusal names it: sorted, or what to do when it is empty."""
    return ", ".join(sorted(values)) if values else "empty: set it at deployment"
