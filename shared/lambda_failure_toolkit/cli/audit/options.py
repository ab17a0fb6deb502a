"""`dlq audit`'s command line, registered on `dlq`'s parser by `add_audit_command`."""

import argparse
from pathlib import Path
from typing import Any, Final

from lambda_failure_toolkit.cli.audit.finding import Severity

__all__ = ["add_audit_command"]

_EPILOG: Final = """\
examples:
  dlq audit --template template.yaml                       # SAM or CloudFormation, at its defaults
  dlq audit --template template.yaml --parameter Stage=prod --fail-on medium
  dlq audit --region eu-west-1 --stack-name orders-prod    # a deployed stack, read-only calls
  dlq audit --region eu-west-1 --json > findings.json      # every function of the region

exit status: 0 no finding at or above --fail-on; 1 some; 2 bad input (a template that cannot be
read or transformed, a bad parameter, AWS credentials, a region or an endpoint that do not work).
"""


def add_audit_command(commands: "argparse._SubParsersAction[Any]") -> None:
    audit = commands.add_parser(
        "audit",
        help="find where a failure would be lost or a permission is wrong (a template or an account)",
        description="Find where a failure would be lost or a permission is wrong, in a SAM or CloudFormation\n"
        "template or in a live account (read-only calls). Each finding: a rule, a severity, the\n"
        "resource, why, and the fix as a SAM snippet.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = audit.add_argument_group("what to audit (a template, or else the account)")
    source.add_argument("--template", type=Path, metavar="FILE", help="a SAM or CloudFormation template")
    source.add_argument(
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter's value (repeatable; the others take their defaults)",
    )
    source.add_argument(
        "--stack-name", metavar="STACK", help="the account: only this stack's resources (nested stacks too)"
    )
    aws = audit.add_argument_group("AWS (the account)")
    aws.add_argument("--region", help="default: boto3's (AWS_REGION, the profile)")
    aws.add_argument("--profile", help="an AWS profile of your configuration (default: boto3's, AWS_PROFILE)")
    aws.add_argument(
        "--endpoint-url", metavar="URL", help="an emulator's endpoint (e.g. http://localhost:4566)"
    )
    output = audit.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the findings as JSON instead of a table")
    output.add_argument(
        "--fail-on",
        choices=[severity.label for severity in Severity],
        default=Severity.HIGH.label,
        help="exit 1 when a finding is at least this severe (default high)",
    )
