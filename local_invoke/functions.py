"""The functions `sam local invoke` can run here, read from the templates, and the environment each
gets in the local account: its template's `Environment.Variables` (Globals and its own), computed."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_invoke.template import ROOT, SAMPLE, Stack, load

__all__ = ["Function", "UnknownFunctionError", "declared_variables", "environment", "find", "functions"]


class UnknownFunctionError(LookupError):
    def __init__(self, name: str) -> None:
        known = ", ".join(function.logical_id for function in functions())
        super().__init__(f"no function {name!r} in template.yaml or the toolkit it nests: one of {known}")


@dataclass(frozen=True)
class Function:
    logical_id: str
    nested_in: str = ""
    """The logical id of the nested application that holds it (the toolkit's: Toolkit), or ""."""

    @property
    def template(self) -> Path:
        return _nested_template(self.nested_in) if self.nested_in else SAMPLE

    @property
    def full_name(self) -> str:
        """As `sam local invoke` names it from the root template: Toolkit/RedriveFunction."""
        return f"{self.nested_in}/{self.logical_id}" if self.nested_in else self.logical_id


def _nested_template(application: str) -> Path:
    """The template of the sample's nested application `application` (a local `Location`)."""
    return (ROOT / str(load(SAMPLE)["Resources"][application]["Properties"]["Location"])).resolve()


def _function_ids(template: Path) -> list[str]:
    return [
        logical_id
        for logical_id, resource in load(template)["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]


def functions() -> list[Function]:
    """The sample's functions, then those of each application it nests from a local template."""
    found = [Function(logical_id) for logical_id in _function_ids(SAMPLE)]
    for logical_id, resource in load(SAMPLE)["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Application":
            found += [
                Function(function_id, logical_id)
                for function_id in _function_ids(_nested_template(logical_id))
            ]
    return found


def find(name: str) -> Function:
    """`SqsOrdersFunction`, `RedriveFunction` or `Toolkit/RedriveFunction`."""
    for function in functions():
        if name in {function.logical_id, function.full_name}:
            return function
    raise UnknownFunctionError(name)


def declared_variables(function: Function) -> dict[str, Any]:
    """The variables the template gives the function, as written (Globals first, its own over them)."""
    template = load(function.template)
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][function.logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {**globals_, **own}


def environment(function: Function, sample: Stack) -> dict[str, str]:
    """The function's variables with the values of `sample` (the root template's stack) and the
    stacks it nests, creating the stores they name."""
    stack = sample.nested[function.nested_in] if function.nested_in else sample
    return {name: str(stack.resolve(value)) for name, value in declared_variables(function).items()}
