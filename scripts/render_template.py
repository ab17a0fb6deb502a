"""Render a (transformed) CloudFormation template for one set of parameter values, as CloudFormation would.

Conditions are evaluated, each `Fn::If` takes its branch, `AWS::NoValue` disappears and resources whose
condition is false are dropped. Scanners such as checkov cannot evaluate `Fn::If`; they see any value
as set. Scanning the rendered template of each configuration shows what is really deployed.
Stdlib only.
Usage: python scripts/render_template.py transformed.json [Name=Value ...] > rendered.json
"""

import json
import sys
from pathlib import Path
from typing import Any

NO_VALUE = {"Ref": "AWS::NoValue"}


class RenderError(ValueError):
    """The template uses a form this renderer does not evaluate."""


class Renderer:
    def __init__(self, template: dict[str, Any], overrides: dict[str, str]) -> None:
        self.template = template
        overrides = dict(overrides)  # the caller's stays as it was
        self.parameters: dict[str, Any] = {}
        self.chosen: dict[str, Any] = {}
        for name, declaration in template.get("Parameters", {}).items():
            raw = overrides.pop(name, declaration.get("Default"))
            if raw is None:
                raise RenderError(f"parameter {name} has no default: give it as {name}=<value>")
            self.chosen[name] = raw
            text = str(raw)
            self.parameters[name] = text.split(",") if declaration["Type"] == "CommaDelimitedList" else text
        if overrides:
            raise RenderError(f"no such parameter: {', '.join(sorted(overrides))}")
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.template.get("Conditions", {}):
                raise RenderError(f"no condition named {name}")
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, expression: Any) -> bool:
        (function, argument), *_ = expression.items()
        if function == "Fn::Equals":
            left, right = (self._value(side) for side in argument)
            return bool(left == right)
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(part) for part in argument)
        if function == "Fn::Or":
            return any(self._truth(part) for part in argument)
        if function == "Condition":
            return self.condition(argument)
        raise RenderError(f"cannot evaluate the condition {expression!r}")

    def _value(self, expression: Any) -> Any:
        if isinstance(expression, str):
            return expression
        if (
            isinstance(expression, dict)
            and set(expression) == {"Ref"}
            and expression["Ref"] in self.parameters
        ):
            return self.parameters[expression["Ref"]]
        if isinstance(expression, dict) and set(expression) == {"Fn::Join"}:
            separator, parts = expression["Fn::Join"]
            return separator.join(str(part) for part in self._value(parts))
        raise RenderError(f"cannot evaluate {expression!r} in a condition")

    def render(self, node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return self.render(when_true if self.condition(name) else when_false)
            rendered = {key: self.render(value) for key, value in node.items()}
            return {key: value for key, value in rendered.items() if value != NO_VALUE}
        if isinstance(node, list):
            return [item for item in (self.render(item) for item in node) if item != NO_VALUE]
        return node

    def rendered(self) -> dict[str, Any]:
        # Other sections (SAM's Globals when a template is rendered before its transform) render as they are.
        output = {
            key: self.render(value)
            for key, value in self.template.items()
            if key not in {"Conditions", "Rules", "Parameters"}
        }
        resources = {}
        for name, body in self.template["Resources"].items():
            if "Condition" in body and not self.condition(body["Condition"]):
                continue
            resources[name] = self.render({key: value for key, value in body.items() if key != "Condition"})
        output["Resources"] = resources
        output["Outputs"] = {
            name: self.render({key: value for key, value in body.items() if key != "Condition"})
            for name, body in self.template.get("Outputs", {}).items()
            if "Condition" not in body or self.condition(body["Condition"])
        }
        # The chosen values become the defaults, so a scanner that reads defaults sees these.
        output["Parameters"] = {
            name: declaration | {"Default": self.chosen[name]}
            for name, declaration in self.template.get("Parameters", {}).items()
        }
        return output


def _overrides(arguments: list[str]) -> dict[str, str]:
    malformed = [argument for argument in arguments if "=" not in argument]
    if malformed:
        raise RenderError(f"give parameters as Name=Value, not {' '.join(malformed)}")
    return dict(argument.split("=", 1) for argument in arguments)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    template = json.loads(Path(argv[1]).read_text())
    try:
        rendered = Renderer(template, _overrides(argv[2:])).rendered()
    except RenderError as error:
        sys.stderr.write(f"render_template: {error}\n")
        return 2
    json.dump(rendered, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
