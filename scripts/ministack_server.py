"""Start ministack (the local AWS of the demo and the e2e tests) with two differences from AWS fixed:
Lambda's async failure records written in full, and template conditions evaluated as CloudFormation
evaluates them.

Run with ministack's own interpreter, as its console script would be:
    BIND_HOST=127.0.0.1 GATEWAY_PORT=4566 .venv-ministack/bin/python scripts/ministack_server.py

Why not the console script:
- When an async invocation's retries run out, ministack 1.5.33 sends its OnFailure destination (or
  DLQ) a record without four fields AWS always writes: `version`, `timestamp`,
  `requestContext.requestId` and `responseContext.executedVersion` (see docs/failure-records.md and
  ../shared/docs/aws-failure-semantics.md). The failure consumer checks records against what AWS
  writes, so it would refuse them, rightly. This adds the missing fields, with AWS's values, to the
  record ministack builds; it changes nothing else (the retries, their count and spacing, the
  routing and the delivery stay ministack's own). A field ministack already writes is left as it
  is. The requestId is a fresh UUID per record: ministack does not keep the request id of the
  async invocation.
- Its CloudFormation does not apply a nested stack's transforms, where AWS does (a nested SAM
  application, `AWS::Serverless::Application`, is exactly that): the toolkit nested in the sample
  failed with "Unsupported resource type: AWS::Serverless::Function". A nested stack's template is
  transformed here as ministack transforms a stack's own (its SAM transform, with no parameter
  values: the limit it has for every stack).
- Its CloudFormation resolves only `Ref` and `Fn::Select` in a condition's operands, where AWS also
  resolves `Fn::Join`, `Fn::Split`, `Fn::Sub` and `Fn::FindInMap`: `!Equals [!Join ["", !Ref List], ""]`
  (is a list parameter empty?) was never true there, so every optional list looked set. Conditions
  are evaluated here with the same operators, each operand resolved by ministack's own resolver of
  intrinsic functions (the one it uses for resource properties).
"""

import contextvars
import datetime
import json
import sys
import uuid
from types import ModuleType
from typing import Any

from ministack import app
from ministack.services import lambda_svc
from ministack.services.cloudformation import changesets, engine, handlers, stacks

_routing_async_failure: contextvars.ContextVar[bool] = contextvars.ContextVar("routing", default=False)


def _complete(record: Any) -> Any:
    if not (isinstance(record, dict) and isinstance(record.get("requestContext"), dict)):
        return record
    now = datetime.datetime.now(datetime.UTC)
    record.setdefault("version", "1.0")
    record.setdefault("timestamp", now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z")
    record["requestContext"].setdefault("requestId", str(uuid.uuid4()))
    if isinstance(record.get("responseContext"), dict):
        record["responseContext"].setdefault("executedVersion", "$LATEST")
    return record


class _Json(ModuleType):
    """lambda_svc's `json`, whose dumps completes the record while a failure is being routed."""

    def __init__(self) -> None:
        super().__init__("json")
        self.__dict__.update(json.__dict__)
        self.dumps = self._dumps  # over the copy of json.dumps just made

    @staticmethod
    def _dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        if _routing_async_failure.get():
            obj = _complete(obj)
        return json.dumps(obj, *args, **kwargs)


_route = lambda_svc._route_async_failure


def _route_async_failure(*args: Any, **kwargs: Any) -> Any:
    token = _routing_async_failure.set(True)
    try:
        return _route(*args, **kwargs)
    finally:
        _routing_async_failure.reset(token)


lambda_svc.json = _Json()
lambda_svc._route_async_failure = _route_async_failure

_CONDITION_FUNCTIONS = frozenset({"Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"})


def _evaluate_conditions(template: dict[str, Any], params: dict[str, Any]) -> dict[str, bool]:
    """Every condition of `template`, {name: bool}, as CloudFormation evaluates it."""
    definitions = template.get("Conditions") or {}
    mappings = template.get("Mappings") or {}
    evaluated: dict[str, bool] = {}

    def named(name: str) -> bool:
        if name not in evaluated:
            evaluated[name] = truth(definitions[name])
        return evaluated[name]

    def truth(expression: Any) -> bool:
        if not (isinstance(expression, dict) and len(expression) == 1):
            return bool(expression)
        ((function, argument),) = expression.items()
        rules = {
            "Fn::Equals": lambda: equal(*(operand(side) for side in argument)),
            "Fn::And": lambda: all(truth(part) for part in argument),
            "Fn::Or": lambda: any(truth(part) for part in argument),
            "Fn::Not": lambda: not truth(argument[0]),
            "Condition": lambda: named(argument),
        }
        return rules.get(function, lambda: bool(operand(expression)))()

    def equal(left: Any, right: Any) -> bool:
        return bool(left == right) or str(left) == str(right)  # "2" (a Number parameter) equals 2

    def operand(value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _CONDITION_FUNCTIONS:
            return truth(value)
        return engine._resolve_refs(value, {}, params, evaluated, mappings, "", "")

    for name in definitions:
        named(name)
    return evaluated


# Every module that took ministack's function by name (the provisioner of nested stacks looks it up at call time).
for _module in (engine, changesets, handlers, stacks):
    _module._evaluate_conditions = _evaluate_conditions

_parse_template = engine._parse_template


def _parse_and_transform(template_body: str) -> dict[str, Any]:
    """A template, its transforms applied. Stack operations import ministack's own parser by name and
    transform on their own; the nested-stack provisioner looks this up at call time, and gets this."""
    transformed = engine._apply_transforms(_parse_template(template_body))
    if isinstance(transformed, engine._TransformFailed):
        raise ValueError(transformed.error)  # noqa: TRY004 -- the provisioner reports a ValueError as the failure
    result: dict[str, Any] = transformed
    return result


engine._parse_template = _parse_and_transform

if __name__ == "__main__":
    sys.argv[0] = "ministack"
    sys.exit(app.main())
