"""Every rule of the audit, pure functions over the model (`rules.RULES`), and running them."""

from typing import Final

from lambda_failure_toolkit.cli.audit.finding import Finding, Rule
from lambda_failure_toolkit.cli.audit.model import Model
from lambda_failure_toolkit.cli.audit.rules import access, invocation, polling

__all__ = ["RULES", "audit"]

RULES: Final[tuple[Rule, ...]] = (*invocation.RULES, *polling.RULES, *access.RULES)


def audit(model: Model) -> list[Finding]:
    """Every finding, most severe first."""
    findings = [finding for rule in RULES for finding in rule.run(model)]
    return sorted(findings, key=lambda finding: (-finding.rule.severity, finding.rule.id, finding.resource))
