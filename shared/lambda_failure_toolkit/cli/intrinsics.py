"""A template's intrinsic functions computed: the walk and the functions every reader of a template
shares (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`).

A reader says what `Ref` and `Fn::GetAtt` give in its account, which other functions it computes, and
what a function it cannot compute becomes: `dlq audit` (`cli/audit/resolve.py`) writes a placeholder
and reads on; `make invoke` (`local_invoke/template.py`) refuses, so that a function never gets a
wrong value.
"""

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["Intrinsics", "text"]

_PLACEHOLDER: Final = re.compile(r"\$\{([^}!]+)\}")


class Intrinsics(ABC):
    """A template's reader: `resolve` computes what `functions` names, in the reader's account."""

    @abstractmethod
    def ref(self, name: str) -> Any:
        """What `Ref` gives for a pseudo parameter, a parameter or a resource."""

    @abstractmethod
    def get_att(self, logical_id: str, attribute: str) -> str:
        """What `Fn::GetAtt` gives for the resource's attribute."""

    @abstractmethod
    def uncomputed(self, node: Mapping[str, Any]) -> Any:
        """What `node`, a function missing from `functions`, becomes (or raise)."""

    def functions(self) -> dict[str, Callable[[Any], Any]]:
        """The intrinsic functions computed, by name: a reader adds its own to these."""
        return {"Ref": self.ref, "Fn::GetAtt": self._get_att, "Fn::Sub": self._sub, "Fn::Join": self._join}

    def resolve(self, node: Any) -> Any:
        """`node` with its intrinsic functions computed."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Ref", "Fn::")):
            return {key: self.resolve(value) for key, value in node.items()}
        ((function, argument),) = node.items()
        compute = self.functions().get(function)
        return self.uncomputed(node) if compute is None else compute(argument)

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self.get_att(logical_id, self.resolve(attribute))

    def _join(self, argument: Any) -> str:
        separator, parts = argument
        return str(separator).join(text(part) for part in _flat(self.resolve(parts)))

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return text(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return text(self.ref(name))

        return _PLACEHOLDER.sub(replace, template)


def text(value: Any) -> str:
    """A computed value as it reads inside a string: a list parameter's members joined by commas."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(text(item) for item in value)
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _flat(parts: Any) -> list[Any]:
    """A `Fn::Join` list, where an item may be a list parameter's members."""
    if not isinstance(parts, list):
        return [parts]
    return [member for part in parts for member in _flat(part)]
