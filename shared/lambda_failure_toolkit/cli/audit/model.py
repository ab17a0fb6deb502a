"""One normalized model of what the audit reads, from a template or from a live account.

Every reference is an ARN (a template's are computed in a placeholder account, `template_reader`), so a
rule compares strings and never knows where the model came from. Absent settings are `None`: the
rules apply AWS's defaults themselves.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Function",
    "Key",
    "Mapping_",
    "Model",
    "Permission",
    "Queue",
    "Role",
    "RuleTarget",
    "Statement",
    "Subscription",
    "Topic",
]


@dataclass(frozen=True)
class Statement:
    """One IAM statement: an identity policy's (no principals) or a resource policy's."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)
    principals: tuple[str, ...] = ()
    """Service names (`sns.amazonaws.com`), ARNs or account ids, or `*`."""
    conditions: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    not_actions: bool = False


@dataclass(frozen=True)
class Role:
    arn: str
    statements: tuple[Statement, ...]
    """Inline and attached policies together: what the role may do."""


@dataclass(frozen=True)
class Function:
    arn: str
    name: str
    role_arn: str
    timeout_s: int = 3
    dead_letter_arn: str | None = None
    on_failure_arn: str | None = None
    has_invoke_config: bool = False
    max_retry_attempts: int | None = None
    max_event_age_s: int | None = None
    in_vpc: bool = False


@dataclass(frozen=True)
class Mapping_:  # noqa: N801 -- `Mapping` is collections.abc's
    """An event source mapping (poll-based source)."""

    id: str
    function_arn: str
    source_arn: str
    kind: str
    """sqs, kinesis, dynamodb or kafka."""
    on_failure_arn: str | None = None
    max_retry_attempts: int | None = None
    max_record_age_s: int | None = None
    bisect: bool = False
    report_batch_item_failures: bool = False


@dataclass(frozen=True)
class Queue:
    arn: str
    visibility_timeout_s: int = 30
    retention_s: int = 345600
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None
    kms_key: str | None = None
    fifo: bool = False
    statements: tuple[Statement, ...] = ()


@dataclass(frozen=True)
class Topic:
    arn: str
    kms_key: str | None = None


@dataclass(frozen=True)
class Subscription:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class RuleTarget:
    rule_arn: str
    target_id: str
    target_arn: str
    dead_letter_arn: str | None = None


@dataclass(frozen=True)
class Permission:
    """One statement of a function's resource-based policy."""

    function_arn: str
    sid: str
    principal: str
    source_arn: str | None = None
    source_account: str | None = None


@dataclass(frozen=True)
class Key:
    arn: str
    statements: tuple[Statement, ...]


@dataclass
class Model:
    account: str
    region: str
    functions: dict[str, Function] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    mappings: list[Mapping_] = field(default_factory=list)
    queues: dict[str, Queue] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    subscriptions: list[Subscription] = field(default_factory=list)
    targets: list[RuleTarget] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    keys: dict[str, Key] = field(default_factory=dict)

    def function(self, reference: str) -> Function | None:
        """A function by ARN (qualified or not) or name."""
        for function in self.functions.values():
            if reference in {function.arn, function.name} or reference.startswith(f"{function.arn}:"):
                return function
        return None
