"""`dlq audit`'s rules over templates: each bad template under tests/audit_templates/bad/ makes exactly its
own rule fire, once; the good one and the project's own templates (defaults and every option on) none
above informational."""

from pathlib import Path

import pytest

from lambda_failure_toolkit.cli.audit.finding import Severity
from lambda_failure_toolkit.cli.audit.model import Function, Model, Permission, Queue, Role, Statement
from lambda_failure_toolkit.cli.audit.policy import allows
from lambda_failure_toolkit.cli.audit.rules import RULES, audit
from lambda_failure_toolkit.cli.audit.template_reader import read_template
from tests.audit_support import ALL_OPTIONS, BAD, GOOD, TOOLKIT_LISTS
from tests.template import SAMPLE, TOOLKIT


@pytest.mark.parametrize("rule", [rule.id for rule in RULES])
def test_each_bad_template_fires_its_own_rule_exactly_once(rule: str) -> None:
    # Given the bad template named for the rule
    # When it is audited
    findings = audit(read_template(BAD / f"{rule}.yaml", {}))
    # Then that rule, and only it, finds one thing
    assert [finding.rule.id for finding in findings] == [rule]


def test_every_rule_has_a_bad_template_and_nothing_else_is_there() -> None:
    assert sorted(path.stem for path in BAD.glob("*.yaml")) == sorted(rule.id for rule in RULES)
    assert len({rule.id for rule in RULES}) == len(RULES)


def test_the_good_template_has_no_finding() -> None:
    assert audit(read_template(GOOD, {})) == []


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        (SAMPLE, {}),
        (TOOLKIT, {}),
        (SAMPLE, ALL_OPTIONS),
        (TOOLKIT, ALL_OPTIONS | TOOLKIT_LISTS),
    ],
    ids=["sample", "toolkit", "sample-all-options", "toolkit-all-options"],
)
def test_the_projects_own_templates_have_nothing_above_informational(
    path: Path, parameters: dict[str, str]
) -> None:
    findings = audit(read_template(path, parameters))
    assert [f"{f.rule.id} {f.resource}" for f in findings if f.rule.severity > Severity.INFO] == []


def _model(**kwargs: object) -> Model:
    return Model(account="123456789012", region="eu-west-1", **kwargs)  # type: ignore[arg-type]


def test_a_deny_wins_and_actions_match_case_insensitively() -> None:
    statements = [
        Statement("Allow", ("SQS:Send*",), ("arn:aws:sqs:*:*:q",)),
        Statement("Deny", ("sqs:SendMessage",), ("arn:aws:sqs:eu-west-1:1:q",)),
    ]
    assert allows(statements, "sqs:SendMessageBatch", "arn:aws:sqs:eu-west-1:1:q")
    assert not allows(statements, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q")
    assert not allows(statements, "sqs:SendMessageBatch", "arn:aws:sqs:eu-west-1:1:other")


def test_a_dlq_at_the_sqs_maximum_retention_is_long_enough() -> None:
    # Given a source and its DLQ both at 14 days (SQS's maximum: the DLQ cannot keep them longer)
    dlq = "arn:aws:sqs:eu-west-1:123456789012:dlq"
    model = _model(
        queues={
            "src": Queue("src", retention_s=1209600, dead_letter_arn=dlq),
            dlq: Queue(dlq, retention_s=1209600),
        }
    )
    # Then SQS-005 has nothing to say; one day shorter, it has
    assert [f for f in audit(model) if f.rule.id == "SQS-005"] == []
    model.queues[dlq] = Queue(dlq, retention_s=1209600 - 86400)
    model.queues["src"] = Queue("src", retention_s=1209600 - 86400, dead_letter_arn=dlq)
    assert [f.rule.id for f in audit(model)] == ["SQS-005"]


def test_an_s3_permission_needs_both_its_source_arn_and_account() -> None:
    function = Function("arn:aws:lambda:eu-west-1:123456789012:function:f", "f", "role", dead_letter_arn="d")
    model = _model(
        functions={function.arn: function},
        roles={"role": Role("role", (Statement("Allow", ("*",)),))},
        permissions=[Permission(function.arn, "s3", "s3.amazonaws.com")],
    )
    found = {finding.rule.id: finding.detail for finding in audit(model)}
    assert "without SourceArn or SourceAccount" in found["PERM-001"]
    assert found["IAM-003"] == "allows *"


def test_the_readme_rules_table_lists_every_rule_as_it_is() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for rule in RULES:
        assert f"| {rule.id} | {rule.severity.label} | {rule.what} | {rule.why} |" in readme
