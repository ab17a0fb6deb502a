"""`dlq audit` on the deployed sample stack (the toolkit nested in it): the settings ministack keeps give
the findings the template's audit gives for the parameters the stack was deployed with."""

import io
import json

import pytest

from demo.stack import DEMO_PARAMETERS, Stack
from lambda_failure_toolkit.cli.audit.rules import audit
from lambda_failure_toolkit.cli.audit.template_reader import read_template
from lambda_failure_toolkit.cli.dlq import main as dlq
from tests.template import SAMPLE


def test_the_deployed_sample_gives_the_templates_findings(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stack.account.environment().items():
        monkeypatch.setenv(name, value)
    # Given the sample deployed with the demo's parameters: a 10 s visibility timeout for a 10 s
    # function, and a message parked after its 2nd receive (SQS-003 and SQS-004, on purpose)
    expected = sorted(
        (finding.rule.id, finding.resource.replace("123456789012", "000000000000"))
        for finding in audit(read_template(SAMPLE, DEMO_PARAMETERS))
    )
    # When the stack is audited
    out, err = io.StringIO(), io.StringIO()
    arguments = ["audit", "--stack-name", stack.name, "--json", "--fail-on", "low"]
    code = dlq([*arguments, "--endpoint-url", stack.account.url, "--region", "us-east-1"], out=out, err=err)
    # Then the findings are the template's (ministack keeps no function DeadLetterConfig, but the
    # sample's async function has an OnFailure destination too: nothing differs)
    found = sorted((finding["rule"], finding["resource"]) for finding in json.loads(out.getvalue()))
    assert found == expected
    assert {rule for rule, _ in found} == {"SQS-003", "SQS-004"}
    assert (code, err.getvalue()) == (1, "")
