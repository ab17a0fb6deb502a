"""The two templates as data, for tests that must not drift from them (tables, settings, policies):
the sample application's (template.yaml) and the toolkit's (toolkit/template.yaml)."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from local_invoke.template import ROOT, SAMPLE, TOOLKIT, load
from local_invoke.template import table_definition as local_table_definition

TEMPLATES = (SAMPLE, TOOLKIT)


def template(path: Path = SAMPLE) -> dict[str, Any]:
    return load(path)


def resource(logical_id: str) -> dict[str, Any]:
    """The resource of that logical id, in whichever of the two templates has it."""
    for path in TEMPLATES:
        if logical_id in template(path)["Resources"]:
            found: dict[str, Any] = template(path)["Resources"][logical_id]
            return found
    raise KeyError(f"no resource {logical_id} in {', '.join(str(path) for path in TEMPLATES)}")


def table_definition(logical_id: str, name: str) -> dict[str, Any]:
    """CreateTable arguments from the template's own key schema (for moto or a local endpoint)."""
    return local_table_definition(resource(logical_id)["Properties"], name)


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
