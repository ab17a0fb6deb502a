"""Each function's permissions, two ways: derived from the transformed template, and read from docs/permissions.md.

A grant is one (action, resource, when) triple of a function's execution role; an invoker is one
(principal, action, source ARN, source account) of its resource-based policy. Resources and ARNs are
rendered the way docs/permissions.md writes them: `X` for `!GetAtt X.Arn` or `!Ref X` (a list
parameter's name stands for each of its ARNs), `X.StreamArn` or `X.Outputs.Y` for another attribute,
a `!Sub` string with `${X.Arn}` shortened to `X`, `A or B` for `!If`, and `P:*` for each ARN of the
list parameter P followed by `:*` (every version and alias of a function).
`when` is `always`, or the condition a statement depends on.

For a given set of parameter values the same comparison runs on concrete ARNs: the template is
rendered as CloudFormation would deploy it (scripts/render_template.py), and the doc's rows are
expanded with the values (`expand`).
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PERMISSIONS_DOC = ROOT / "docs" / "permissions.md"
SAMPLE_TEMPLATE = ROOT / "template.yaml"
TOOLKIT_TEMPLATE = ROOT / "toolkit" / "template.yaml"
SCAN_VENV = ROOT / ".venv-scan"
ALWAYS = "always"
NO_VALUE = {"Ref": "AWS::NoValue"}


class Grant(NamedTuple):
    action: str
    resource: str
    when: str


class Invoker(NamedTuple):
    principal: str
    action: str
    source_arn: str
    source_account: str


def transform(template_path: Path) -> dict[str, Any]:
    """template.yaml after the SAM transform, by scripts/transform_template.py in the scanners' venv."""
    python = Path(os.environ.get("SCAN_PYTHON", SCAN_VENV / "bin" / "python"))
    if not python.exists():
        raise RuntimeError(
            f"{python} is missing: the SAM transform runs in the scanners' venv. Run `make scan-venv` "
            "(make test does), or set SCAN_PYTHON to a Python with aws-sam-translator."
        )
    result = subprocess.run(
        [str(python), str(ROOT / "scripts" / "transform_template.py"), str(template_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the SAM transform of {template_path} failed:\n{result.stderr}")
    transformed: dict[str, Any] = json.loads(result.stdout)
    return transformed


def render(value: Any) -> str:
    """A resource or ARN expression, as docs/permissions.md writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), *_ = value.items()
        if function == "Ref":
            return str(argument)
        if function == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return name if attribute == "Arn" else f"{name}.{attribute}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([A-Za-z0-9]+)\.Arn\}", r"\1", argument)
        if function == "Fn::If":
            return " or ".join(render(branch) for branch in argument[1:] if branch != NO_VALUE)
    raise ValueError(f"no rendering for {value!r}: teach tests/permissions.render this form")


def render_all(value: Any) -> list[str]:
    """`render`, where one expression may stand for several resources: `!Split [sep, !Sub [text, vars]]`
    with each variable a `!Join` of a list parameter (the ARNs of a list, each also with `:*`)."""
    if isinstance(value, dict) and set(value) == {"Fn::Split"}:
        separator, source = value["Fn::Split"]
        text, variables = source["Fn::Sub"]
        for name, variable in variables.items():
            _, parts = variable["Fn::Join"]
            text = text.replace(f"${{{name}}}", render(parts))
        return [part for part in text.split(separator) if part]
    return [render(value)]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any], when: str) -> Iterator[tuple[dict[str, Any], str]]:
    for statement in _listed(document["Statement"]):
        if isinstance(statement, dict) and "Fn::If" in statement:
            condition, present, absent = statement["Fn::If"]
            if absent != NO_VALUE:
                raise ValueError(f"a statement's !If must fall back to AWS::NoValue: {statement!r}")
            yield present, condition if when == ALWAYS else f"{when} and {condition}"
        else:
            yield statement, when


def _grants(document: dict[str, Any], when: str, where: str) -> Iterator[Grant]:
    for statement, statement_when in _statements(document, when):
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            raise ValueError(f"{where}: only Allow statements with Action and Resource are expected here")
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                for rendered in render_all(resource):
                    yield Grant(action, rendered, statement_when)


def _role_of(resources: dict[str, Any], function: str) -> str:
    role = resources[function]["Properties"]["Role"]
    if not (isinstance(role, dict) and "Fn::GetAtt" in role and role["Fn::GetAtt"][1] == "Arn"):
        raise ValueError(f"{function}'s Role is not a role of this template: {role!r}")
    name: str = role["Fn::GetAtt"][0]
    return name


def role_grants(transformed: dict[str, Any], function: str) -> set[Grant]:
    """Every grant of the function's execution role: inline policies, attached policies of the stack."""
    resources = transformed["Resources"]
    role_name = _role_of(resources, function)
    role = resources[role_name]["Properties"]
    grants: set[Grant] = set()
    for entry in role.get("Policies", []):
        policy, when = entry, ALWAYS
        if "Fn::If" in entry:
            when, policy, absent = entry["Fn::If"]
            if absent != NO_VALUE:
                raise ValueError(f"{role_name}: a policy's !If must fall back to AWS::NoValue")
        grants |= set(_grants(policy["PolicyDocument"], when, f"{role_name}.{policy['PolicyName']}"))
    managed = role.get("ManagedPolicyArns", [])
    attached: list[tuple[Any, str]] = []
    if isinstance(managed, dict) and "Fn::If" in managed:
        condition, present, _absent = managed["Fn::If"]
        attached = [(arn, condition) for arn in _listed(present)]
    else:
        attached = [(arn, ALWAYS) for arn in _listed(managed)]
    for arn, when in attached:
        if isinstance(arn, dict) and set(arn) == {"Ref"} and arn["Ref"] in resources:
            document = resources[arn["Ref"]]["Properties"]["PolicyDocument"]
            grants |= set(_grants(document, when, arn["Ref"]))
        else:  # an AWS managed policy: its actions are not in the template, so name it as a grant
            grants.add(Grant("managed-policy", render(arn), when))
    for name, body in resources.items():
        if body["Type"] == "AWS::IAM::Policy" and {"Ref": role_name} in body["Properties"].get("Roles", []):
            grants |= set(_grants(body["Properties"]["PolicyDocument"], ALWAYS, name))
    return grants


def invokers(transformed: dict[str, Any], function: str) -> set[Invoker]:
    """Every principal the function's resource-based policy (its AWS::Lambda::Permission resources) lets in."""
    return {
        Invoker(
            principal=render(body["Properties"]["Principal"]),
            action=body["Properties"]["Action"],
            source_arn=render(body["Properties"].get("SourceArn", "-")),
            source_account=render(body["Properties"].get("SourceAccount", "-")),
        )
        for body in transformed["Resources"].values()
        if body["Type"] == "AWS::Lambda::Permission" and _names(body["Properties"]["FunctionName"], function)
    }


def _names(reference: Any, function: str) -> bool:
    """Whether a Permission's FunctionName is this function: by name, ARN, or an ARN with a qualifier."""
    if reference in ({"Ref": function}, {"Fn::GetAtt": [function, "Arn"]}, {"Fn::GetAtt": f"{function}.Arn"}):
        return True
    if isinstance(reference, dict) and "Fn::Sub" in reference:
        text = reference["Fn::Sub"] if isinstance(reference["Fn::Sub"], str) else reference["Fn::Sub"][0]
        return bool(re.match(rf"^\$\{{{function}(\.Arn)?\}}(:|$)", text))
    if isinstance(reference, dict) and "Fn::Join" in reference:
        return any(_names(part, function) for part in reference["Fn::Join"][1])
    return False


def functions(transformed: dict[str, Any]) -> list[str]:
    return sorted(
        name for name, body in transformed["Resources"].items() if body["Type"] == "AWS::Lambda::Function"
    )


# ---------------------------------------------------------------- docs/permissions.md
def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _items(cell: str) -> list[str]:
    return [item.strip().strip("`") for item in cell.split(",") if item.strip()]


COMMON = "common"


def documented(text: str) -> dict[str, tuple[set[Grant], set[Invoker]]]:
    """Per function (a `## LogicalId` heading), the grants and invokers its two tables list; under
    COMMON, the rows before the first heading, which every role has (`<Function>` stands for its name)."""
    tables: dict[str, tuple[set[Grant], set[Invoker]]] = {COMMON: (set(), set())}
    current: str | None = COMMON
    header: list[str] = []
    for line in text.splitlines():
        heading = re.match(r"^## (\w+)", line)
        if heading:
            current, header = heading.group(1), []
            tables[current] = (set(), set())
            continue
        if current is None or not line.startswith("|"):
            header = [] if not line.startswith("|") else header
            continue
        cells = _cells(line)
        if not header:
            header = [cell.lower() for cell in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells, strict=True))
        grants, invoked_by = tables[current]
        if header[0] == "actions":
            grants |= {
                Grant(action, resource, row["when"].strip("`"))
                for action in _items(row["actions"])
                for resource in _items(row["resources"])
            }
        elif header[0] == "principal":
            invoked_by.add(
                Invoker(
                    row["principal"].strip("`"),
                    row["action"].strip("`"),
                    row["sourcearn"].strip("`"),
                    row["sourceaccount"].strip("`"),
                )
            )
    return tables


def expand(grants: set[Grant], values: dict[str, list[str]], conditions: dict[str, bool]) -> set[Grant]:
    """The doc's grants for one configuration: each list parameter in `values` becomes its ARNs
    (`P:*` each ARN with `:*`), and only the grants whose condition holds are kept, as `always`."""
    concrete = set()
    for grant in grants:
        if grant.when != ALWAYS and not all(conditions[part] for part in grant.when.split(" and ")):
            continue
        name, _, suffix = grant.resource.partition(":")
        if name in values:
            concrete |= {
                Grant(grant.action, f"{arn}{':' + suffix if suffix else ''}", ALWAYS) for arn in values[name]
            }
        else:
            concrete.add(grant._replace(when=ALWAYS))
    return concrete


def expected(
    tables: dict[str, tuple[set[Grant], set[Invoker]]], function: str
) -> tuple[set[Grant], set[Invoker]]:
    """What docs/permissions.md says the function's role and resource policy hold: its rows and the common rows."""
    grants, invoked_by = tables.get(function, (set(), set()))
    common = {
        grant._replace(resource=grant.resource.replace("<Function>", function)) for grant in tables[COMMON][0]
    }
    return grants | common, invoked_by


def difference(derived: set[Any], listed: set[Any]) -> str:
    """'' when equal; otherwise what the template has that the doc lacks, and the reverse."""
    lines = [f"  in the template, not in docs/permissions.md: {item}" for item in sorted(derived - listed)]
    lines += [f"  in docs/permissions.md, not in the template: {item}" for item in sorted(listed - derived)]
    return "\n".join(lines)


if __name__ == "__main__":  # print the derived tables, to start a doc section from
    for path in (TOOLKIT_TEMPLATE, SAMPLE_TEMPLATE):
        template = transform(path)
        sys.stdout.write(f"# {path.relative_to(ROOT)}\n")
        for name in functions(template):
            sys.stdout.write(f"## {name}\n")
            for grant in sorted(role_grants(template, name)):
                sys.stdout.write(f"| `{grant.action}` | `{grant.resource}` | {grant.when} |\n")
            for invoker in sorted(invokers(template, name)):
                sys.stdout.write(f"| {invoker} |\n")
