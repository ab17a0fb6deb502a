"""The audit's test templates, and the parameter values of the scans' "every option on" configuration
(scripts/scan-template)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent / "audit_templates"
BAD = HERE / "bad"
GOOD = HERE / "good.yaml"


def _three(prefix: str) -> str:
    return f"{prefix}-1,{prefix}-2,{prefix}-3"


ALL_OPTIONS = {
    "CustomerKmsKeyArn": "create",
    "VpcSubnetIds": "subnet-0a1b2c3d,subnet-4e5f6a7b",
    "VpcSecurityGroupIds": "sg-0c1d2e3f",
    "FailureDestinationBucketName": "example-lambda-failures",
    "AlertEmail": "oncall@example.com",
}
TOOLKIT_LISTS = {
    "WatchedDlqArns": _three("arn:aws:sqs:eu-west-1:123456789012:app-dlq"),
    "KinesisStreamArns": _three("arn:aws:kinesis:eu-west-1:123456789012:stream/app"),
    "DynamoDBStreamArns": _three("arn:aws:dynamodb:eu-west-1:123456789012:table/app"),
    "RedriveTargetQueueArns": _three("arn:aws:sqs:eu-west-1:123456789012:app-queue"),
    "RedriveTargetFunctionArns": _three("arn:aws:lambda:eu-west-1:123456789012:function:app"),
    "FailureSourceTopicArns": _three("arn:aws:sns:eu-west-1:123456789012:app-failures"),
    "FailureSourceQueueArns": _three("arn:aws:sqs:eu-west-1:123456789012:app-failures"),
    "FirstHopDlqArns": _three("arn:aws:sqs:eu-west-1:123456789012:app-first-hop-dlq"),
}
