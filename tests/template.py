"""The two templates as data, for tests that must not drift from them (tables, settings, policies):
the sample application's (template.yaml) and the toolkit's (toolkit/template.yaml)."""

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "template.yaml"
TOOLKIT = ROOT / "toolkit" / "template.yaml"
TEMPLATES = (SAMPLE, TOOLKIT)


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub ... as {"Ref": ...}, {"Fn::GetAtt": ...}, ... ."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else "Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}"
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
def template(path: Path = SAMPLE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 -- SafeLoader subclass
    return loaded


def resource(logical_id: str) -> dict[str, Any]:
    """The resource of that logical id, in whichever of the two templates has it."""
    for path in TEMPLATES:
        if logical_id in template(path)["Resources"]:
            found: dict[str, Any] = template(path)["Resources"][logical_id]
            return found
    raise KeyError(f"no resource {logical_id} in {', '.join(str(path) for path in TEMPLATES)}")


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
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_template = _script("render_template")
"""scripts/render_template.py: a template as CloudFormation would deploy it for given parameters."""
