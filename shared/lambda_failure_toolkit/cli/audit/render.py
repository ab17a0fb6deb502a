"""A (transformed) CloudFormation template as CloudFormation would deploy it for one set of parameter values.

Conditions are evaluated, each `Fn::If` takes its branch, `AWS::NoValue` disappears and resources whose
condition is false are dropped. Scanners such as checkov cannot evaluate `Fn::If`; they see any value
as set. With `resolve_parameters`, every `Ref` to a parameter is replaced by its value too, and `Fn::Join`,
`Fn::Split`, `Fn::Select` and `Fn::Sub` are computed where their arguments are known (pseudo
parameters and resources stay as they are): what a policy built from a list parameter names.
Stdlib only: scripts/render_template.py runs it in the scanners' venv, `dlq audit` reads templates with it.
"""

import re
from typing import Any

__all__ = ["NO_VALUE", "RenderError", "Renderer", "overrides"]

NO_VALUE = {"Ref": "AWS::NoValue"}
_PLACEHOLDER = re.compile(r"\$\{([^}!]+)\}")


class RenderError(ValueError):
    """The template uses a form this renderer does not evaluate."""


class Renderer:
    def __init__(
        self, template: dict[str, Any], overrides: dict[str, str], *, resolve_parameters: bool = False
    ) -> None:
        self.template = template
        self.resolve_parameters = resolve_parameters
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
        """An operand of a condition: every part of it must be known."""
        value = self._computed(expression)
        if _unknown(value):
            raise RenderError(f"cannot evaluate {expression!r} in a condition")
        return value

    def _computed(self, node: Any) -> Any:
        """`node` with parameters replaced and Join, Split, Select and Sub computed where known."""
        if isinstance(node, list):
            return [self._computed(item) for item in node]
        if not (isinstance(node, dict) and len(node) == 1):
            return node
        ((function, argument),) = node.items()
        if function == "Ref" and argument in self.parameters:
            return self.parameters[argument]
        if function == "Fn::Sub":
            return self._substituted(argument)
        if function not in _LIST_FUNCTIONS:
            return node
        computed = self._computed(argument)
        return {function: computed} if _unknown(computed) else _LIST_FUNCTIONS[function](*computed)

    def _substituted(self, argument: Any) -> Any:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        known = {name: self._computed(value) for name, value in variables.items()}
        known |= {name: value for name, value in self.parameters.items() if name not in known}

        def replace(match: re.Match[str]) -> str:
            value = known.get(match.group(1))
            return value if isinstance(value, str) else match.group(0)

        text = _PLACEHOLDER.sub(replace, text)
        left = {name: value for name, value in variables.items() if f"${{{name}}}" in text}
        if left:
            return {"Fn::Sub": [text, {name: self._computed(value) for name, value in left.items()}]}
        return {"Fn::Sub": text} if _PLACEHOLDER.search(text) else text

    def render(self, node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return self.render(when_true if self.condition(name) else when_false)
            rendered = {key: self.render(value) for key, value in node.items()}
            rendered = {key: value for key, value in rendered.items() if value != NO_VALUE}
            return self._computed(rendered) if self.resolve_parameters else rendered
        if isinstance(node, list):
            return [item for item in (self.render(item) for item in node) if item != NO_VALUE]
        return node

    def rendered(self) -> dict[str, Any]:
        # Other sections (SAM's Globals when a template is rendered before its transform) render as they are.
        output = {
            key: self.render(value)
            for key, value in self.template.items()
            if key not in {"Conditions", "Rules", "Parameters", "Resources", "Outputs"}
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


def _select(index: Any, items: list[Any]) -> Any:
    if int(index) >= len(items):
        raise RenderError(f"Fn::Select index {index} is outside {items!r}")
    return items[int(index)]


_LIST_FUNCTIONS = {
    "Fn::Join": lambda separator, parts: separator.join(str(part) for part in parts),
    "Fn::Split": lambda separator, text: text.split(separator),
    "Fn::Select": _select,
}


def _unknown(value: Any) -> bool:
    """Whether a computed value still holds a function (a pseudo parameter, a resource)."""
    if isinstance(value, list):
        return any(_unknown(item) for item in value)
    return isinstance(value, dict)


def overrides(arguments: list[str]) -> dict[str, str]:
    """`Name=Value` arguments as a mapping, or `RenderError` naming those without `=`."""
    malformed = [argument for argument in arguments if "=" not in argument]
    if malformed:
        raise RenderError(f"give parameters as Name=Value, not {' '.join(malformed)}")
    return dict(argument.split("=", 1) for argument in arguments)
