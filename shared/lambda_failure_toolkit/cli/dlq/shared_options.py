"""Options more than one `dlq` command takes: where the ledger is, how to reach AWS, and the filters
by what failed."""

import argparse

from lambda_failure_toolkit.failures import FailureKind

__all__ = ["add_aws_options", "add_failure_filters", "add_ledger_options"]


def add_failure_filters(group: argparse._ArgumentGroup) -> None:
    """--condition, --error-type and --kind, each repeatable: `dlq failures` and `dlq redrive` select alike."""
    group.add_argument(
        "--condition",
        dest="conditions",
        action="append",
        metavar="CONDITION",
        help="e.g. RetriesExhausted (repeatable)",
    )
    group.add_argument(
        "--error-type", dest="error_types", action="append", metavar="TYPE", help="(repeatable)"
    )
    group.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        choices=[kind.value for kind in FailureKind],
        help="(repeatable)",
    )


def add_ledger_options(parser: argparse.ArgumentParser, description: str | None = None) -> None:
    ledger = parser.add_argument_group("the failure ledger", description)
    ledger.add_argument(
        "--ledger-table",
        metavar="NAME",
        help="default: --stack-name's LedgerTableName, or $LEDGER_TABLE_NAME",
    )
    ledger.add_argument(
        "--ledger-bucket",
        metavar="NAME",
        help="default: --stack-name's LedgerBucketName, or $LEDGER_BUCKET_NAME",
    )


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    aws = parser.add_argument_group("AWS")
    aws.add_argument(
        "--stack-name",
        metavar="STACK",
        help="the toolkit's stack, or one that nests it: the ledger, the RedriveFunction and queue URLs "
        "(--queue-url/--target-queue-url given as an output's name) from its outputs; options given win",
    )
    aws.add_argument("--region", help="default: boto3's (AWS_REGION, the profile)")
    aws.add_argument("--profile", help="an AWS profile of your configuration (default: boto3's, AWS_PROFILE)")
    aws.add_argument(
        "--endpoint-url", metavar="URL", help="an emulator's endpoint (e.g. http://localhost:4566)"
    )
