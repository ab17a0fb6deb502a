"""The two templates as data, and the values of their intrinsic functions in a local account.

A `Stack` is one template as a local account holds it: its parameters at their defaults (a nested
stack's, at what its parent passes), its stores created on first reference (by the `create`
callback the account gives), and `resolve` computing `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join`
over them (`lambda_failure_toolkit.cli.intrinsics`, shared with `dlq audit`): what a function's
`Environment.Variables` or a store's properties say. Anything else raises `TemplateError` naming it,
so that a template needing more fails loudly instead of giving a function a wrong value.
"""

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped] # pyyaml ships no types; only its SafeLoader is used

from lambda_failure_toolkit.cli.intrinsics import Intrinsics

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "ROOT",
    "SAMPLE",
    "TOOLKIT",
    "Stack",
    "Store",
    "TemplateError",
    "load",
    "table_definition",
]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "template.yaml"
TOOLKIT = ROOT / "toolkit" / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
"""moto's account: the one the sample events name (events/redrive/ queue URLs, function ARNs)."""


class TemplateError(ValueError):
    """The template says something this local account cannot give a value for."""


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Reads !Ref, !GetAtt, !Sub ... as {"Ref": ...}, {"Fn::GetAtt": ...}, ... ."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else "Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@functools.cache
def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 -- SafeLoader subclass
    return loaded


def table_definition(properties: Mapping[str, Any], name: str) -> dict[str, Any]:
    """CreateTable arguments from a table's own key schema, indexes and stream (billing on demand)."""
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if "GlobalSecondaryIndexes" in properties:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["IndexName"],
                "KeySchema": index["KeySchema"],
                "Projection": index["Projection"],
            }
            for index in properties["GlobalSecondaryIndexes"]
        ]
    if "StreamSpecification" in properties:
        definition["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    return definition


@dataclass(frozen=True)
class Store:
    """A resource created in the local account: what `Ref` and `Fn::GetAtt` give for it."""

    logical_id: str
    kind: str
    """table, queue, bucket, topic or stream."""
    name: str
    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


Create = Callable[["Stack", str, Mapping[str, Any]], Store]
"""The account's way to create a resource: (stack, logical id, resource) -> the store."""


class Stack(Intrinsics):
    """One template in the local account (see the module's docstring)."""

    def __init__(
        self,
        path: Path,
        name: str,
        create: Create,
        *,
        parameters: Mapping[str, Callable[[], Any]] | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.template = load(path)
        self._create = create
        self._passed = dict(parameters or {})
        self.stores: dict[str, Store] = {}
        self.nested: dict[str, Stack] = {}

    def add_nested(self, logical_id: str, path: Path) -> "Stack":
        """The nested application `logical_id` (at `path`), given its parameters by this stack."""
        passed = self.template["Resources"][logical_id]["Properties"].get("Parameters", {})
        child = Stack(
            path,
            f"{self.name}-{logical_id.lower()}",
            self._create,
            parameters={name: functools.partial(self.resolve, value) for name, value in passed.items()},
        )
        self.nested[logical_id] = child
        return child

    def store(self, logical_id: str) -> Store:
        """The resource `logical_id`, created the first time it is asked for."""
        if logical_id not in self.stores:
            resource = self.template["Resources"].get(logical_id)
            if resource is None:
                raise TemplateError(f"{self.path.name} has no resource {logical_id}")
            self.stores[logical_id] = self._create(self, logical_id, resource)
        return self.stores[logical_id]

    def parameter(self, name: str) -> Any:
        declaration = self.template.get("Parameters", {}).get(name)
        if declaration is None:
            raise TemplateError(f"{self.path.name} has no parameter {name}")
        value = self._passed[name]() if name in self._passed else declaration.get("Default")
        if value is None:
            raise TemplateError(f"parameter {name} of {self.path.name} has no default")
        return str(value).split(",") if declaration["Type"] == "CommaDelimitedList" else str(value)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": self.name,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        return self.store(name).ref

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id in self.nested and attribute.startswith("Outputs."):
            child = self.nested[logical_id]
            output = child.template["Outputs"].get(attribute.removeprefix("Outputs."))
            if output is None:
                raise TemplateError(f"{child.path.name} has no output {attribute}")
            return str(child.resolve(output["Value"]))
        store = self.store(logical_id)
        if attribute not in store.attributes:
            raise TemplateError(
                f"{logical_id}.{attribute}: a {store.kind} here has {sorted(store.attributes)}"
            )
        return store.attributes[attribute]

    def uncomputed(self, node: Mapping[str, Any]) -> Any:
        raise TemplateError(f"{self.path.name}: cannot compute {next(iter(node))} locally ({dict(node)!r})")
