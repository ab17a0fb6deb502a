"""template.yaml as data, for tests that must not drift from it (tables, settings, policies)."""

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub ... as {"Ref": ...}, {"Fn::GetAtt": ...}, ... ."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@functools.cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 -- SafeLoader subclass
    return loaded


def resource(logical_id: str) -> dict[str, Any]:
    for path in (TEMPLATE, TEMPLATE.parent / "toolkit" / "template.yaml"):
        resources = yaml.load(path.read_text(), Loader=_CloudFormationLoader)["Resources"]  # noqa: S506
        if logical_id in resources:
            found: dict[str, Any] = resources[logical_id]
            return found
    raise KeyError(logical_id)


def table_definition(logical_id: str, name: str) -> dict[str, Any]:
    """CreateTable arguments from the template's own key schema (for moto or a local endpoint)."""
    properties = resource(logical_id)["Properties"]
    definition = {
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


def _script(name: str) -> ModuleType:
    """A stdlib-only script of scripts/, imported as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE.parent / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_template = _script("render_template")
"""scripts/render_template.py: a template as CloudFormation would deploy it for given parameters."""
