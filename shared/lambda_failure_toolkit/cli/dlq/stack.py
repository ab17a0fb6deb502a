"""`--stack-name`: the toolkit's resources named by CloudFormation stack outputs.

The stack named may be the toolkit's own, or a stack that nests it (the sample application nests it
as `Toolkit`). Its own outputs come first; an output it lacks is taken from the toolkit's stack
among those it nests, at any depth: a parent stack need not re-export the toolkit's outputs.
"""

from collections.abc import Iterator, Mapping
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from lambda_failure_toolkit.cli.dlq.errors import RefusedError, aws_reason, is_setup_error
from lambda_failure_toolkit.retry import error_code, error_message

__all__ = ["TOOLKIT_OUTPUTS", "StackOutputs"]

TOOLKIT_OUTPUTS: Final = frozenset({"LedgerTableName", "LedgerBucketName", "RedriveFunctionName"})
"""Outputs of the toolkit's template that `dlq` uses: a nested stack with all of them is the toolkit's."""


class StackOutputs:
    """The outputs of one stack, read when it is named (a stack that does not exist is refused there)."""

    def __init__(self, cloudformation: Any, stack_name: str, *, region: str | None) -> None:
        self._cloudformation = cloudformation
        self._region = region
        stack = self._describe(stack_name)
        self.name: str = stack["StackName"]
        self._status: str = stack["StackStatus"]
        self._id: str = stack["StackId"]
        self._outputs = _outputs(stack)

    def values(self, wanted: Mapping[str, str]) -> dict[str, str]:
        """The value of each output `wanted` names (output name: the option that gives it otherwise),
        from this stack, else from the toolkit's stack it nests; refused naming every one missing."""
        found = {name: self._outputs[name] for name in wanted if name in self._outputs}
        toolkit = None
        if len(found) < len(wanted):  # only then are nested stacks listed
            toolkit = self._nested_toolkit()
            if toolkit is not None:
                _, outputs = toolkit
                found |= {name: outputs[name] for name in wanted if name in outputs and name not in found}
        missing = [name for name in wanted if name not in found]
        if missing:
            raise RefusedError(self._missing(missing, wanted, toolkit))
        return found

    def _missing(
        self, missing: list[str], wanted: Mapping[str, str], toolkit: tuple[str, dict[str, str]] | None
    ) -> str:
        where = f"stack {self.name} ({self._status})"
        if toolkit is not None:
            lacks = (
                f"{where} and the toolkit's stack it nests, {toolkit[0]}, have no output {', '.join(missing)}"
            )
        else:
            lacks = f"{where} has no output {', '.join(missing)}, nor has any stack it nests"
        options = " and ".join(dict.fromkeys(wanted[name] for name in missing))
        return f"{lacks}: name the toolkit's stack (or one that nests it), or give {options}"

    def _nested_toolkit(self) -> tuple[str, dict[str, str]] | None:
        """(name, outputs) of the toolkit's stack among those this one nests, level by level."""
        level = [self._id]
        while level:
            found: list[tuple[str, dict[str, str]]] = []
            deeper: list[str] = []
            for parent in level:
                for nested_id in self._nested(parent):
                    stack = self._describe(nested_id)
                    outputs = _outputs(stack)
                    if TOOLKIT_OUTPUTS.issubset(outputs):
                        found.append((stack["StackName"], outputs))
                    else:
                        deeper.append(stack["StackId"])
            if len(found) > 1:
                names = ", ".join(name for name, _ in found)
                raise RefusedError(
                    f"stack {self.name} nests several toolkit stacks ({names}): give one of them as --stack-name"
                )
            if found:
                return found[0]
            level = deeper
        return None

    def _nested(self, stack_id: str) -> Iterator[str]:
        pages = self._cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        try:
            for page in pages:
                for resource in page["StackResourceSummaries"]:
                    # A nested stack not created (or deleted) has no physical id.
                    if resource["ResourceType"] == "AWS::CloudFormation::Stack" and resource.get(
                        "PhysicalResourceId"
                    ):
                        yield resource["PhysicalResourceId"]
        except (ClientError, BotoCoreError) as exc:
            if is_setup_error(exc):
                raise
            raise _unreadable(stack_id, exc, "cloudformation:ListStackResources") from exc

    def _describe(self, stack: str) -> dict[str, Any]:
        try:
            described: dict[str, Any] = self._cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        except (ClientError, BotoCoreError) as exc:
            if is_setup_error(exc):
                raise
            if isinstance(exc, ClientError) and error_code(exc) == "ValidationError":
                if error_message(exc).endswith("does not exist"):
                    raise RefusedError(
                        f"no stack {stack} in {self._region or 'the default region'}: "
                        "check --stack-name, --region and --profile"
                    ) from exc
                raise RefusedError(f"stack {stack}: {error_message(exc)}") from exc
            raise _unreadable(stack, exc, "cloudformation:DescribeStacks") from exc
        return described


def _unreadable(stack: str, error: BaseException, action: str) -> RefusedError:
    return RefusedError(f"cannot read stack {stack} ({aws_reason(error)}): your credentials need {action}")


def _outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", ())}
