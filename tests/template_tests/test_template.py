"""template.yaml's own properties: the settings AWS's failure semantics depend on."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lambda_failure_toolkit.ledger import LedgerSummary
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES
from tests.template import resource, template

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    name: body
    for name, body in template()["Resources"].items()
    if body["Type"] == "AWS::Serverless::Function"
}
GLOBAL_TIMEOUT = template()["Globals"]["Function"]["Timeout"]


def _event_sources(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, event["Properties"])
        for name, body in FUNCTIONS.items()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def _queue(properties: dict[str, Any]) -> dict[str, Any]:
    return resource(properties["Queue"]["Fn::GetAtt"][0])["Properties"]


def test_every_function_has_sample_events_and_a_handler() -> None:
    tested = {case.function for case in BATCH_CASES + ASYNC_CASES + REDRIVE_CASES}
    assert set(FUNCTIONS) == tested
    for body in FUNCTIONS.values():
        properties = body["Properties"]
        assert (ROOT / properties["CodeUri"] / "app.py").is_file()
        assert properties["Handler"] == "app.lambda_handler"


@pytest.mark.parametrize("kind", ["SQS", "Kinesis", "DynamoDB"])
def test_every_poll_based_mapping_reports_batch_item_failures(kind: str) -> None:
    sources = _event_sources(kind)
    assert sources
    for _, properties in sources:
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _number(value: Any, bound: str = "Default") -> int:
    """A literal, or a parameter's Default (or MinValue, MaxValue)."""
    if isinstance(value, dict):
        return int(template()["Parameters"][value["Ref"]][bound])
    return int(value)


@pytest.mark.parametrize("bound", ["Default", "MaxValue"])
def test_sqs_sources_have_a_dlq_and_a_visibility_timeout_of_six_function_timeouts(bound: str) -> None:
    """With the defaults; and a literal visibility timeout holds for the longest FunctionTimeout allowed
    (one set by a parameter, OrdersQueueVisibilityTimeout, is the deployer's to lower with it)."""
    for function, properties in _event_sources("SQS"):
        queue = _queue(properties)
        timeout = _number(FUNCTIONS[function]["Properties"].get("Timeout", GLOBAL_TIMEOUT), bound)
        if bound == "Default" or not isinstance(queue["VisibilityTimeout"], dict):
            assert _number(queue["VisibilityTimeout"]) >= 6 * timeout, function
        dlq = resource(queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])["Properties"]
        assert dlq.get("FifoQueue", False) == queue.get("FifoQueue", False)
        expected = (
            "ConsumerMaxReceiveCount" if function == "FailureConsumerFunction" else "SqsMaxReceiveCount"
        )
        assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": expected}


@pytest.mark.parametrize("kind", ["Kinesis", "DynamoDB"])
def test_stream_mappings_bisect_bound_retries_and_send_failures_to_the_failure_queue(kind: str) -> None:
    for _, properties in _event_sources(kind):
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["MaximumRetryAttempts"] == {"Ref": "StreamMaximumRetryAttempts"}
        assert properties["MaximumRecordAgeInSeconds"] == {"Ref": "StreamMaximumRecordAgeInSeconds"}
        assert properties["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
        }


def test_dynamodb_source_table_streams_new_and_old_images() -> None:
    [(_, properties)] = _event_sources("DynamoDB")
    table = resource(properties["Stream"]["Fn::GetAtt"][0])["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_async_function_has_retry_settings_destinations_and_a_dlq() -> None:
    properties = FUNCTIONS["OrderEventsFunction"]["Properties"]
    config = properties["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == {"Ref": "AsyncMaximumRetryAttempts"}
    assert config["MaximumEventAgeInSeconds"] == {"Ref": "AsyncMaximumEventAgeInSeconds"}
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert config["DestinationConfig"]["OnSuccess"]["Type"] == "SQS"
    assert properties["DeadLetterQueue"]["Type"] == "SQS"
    assert {event["Type"] for event in properties["Events"].values()} == {"EventBridgeRule", "SNS"}


def test_parameters_have_aws_ranges() -> None:
    parameters = template()["Parameters"]
    assert (
        parameters["AsyncMaximumRetryAttempts"]["MinValue"],
        parameters["AsyncMaximumRetryAttempts"]["MaxValue"],
    ) == (0, 2)
    assert (
        parameters["AsyncMaximumEventAgeInSeconds"]["MinValue"],
        parameters["AsyncMaximumEventAgeInSeconds"]["MaxValue"],
    ) == (60, 21600)
    assert (
        parameters["StreamMaximumRetryAttempts"]["MinValue"],
        parameters["StreamMaximumRetryAttempts"]["MaxValue"],
    ) == (-1, 10000)
    assert parameters["StreamMaximumRecordAgeInSeconds"]["MaxValue"] == 604800
    assert parameters["Architecture"]["Default"] == "x86_64"


def test_runtime_is_python_3_13_with_the_shared_layer() -> None:
    function_globals = template()["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Layers"] == [{"Ref": "SharedLayer"}]
    layer = resource("SharedLayer")
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert (ROOT / "layer" / "shared").resolve() == (ROOT / "shared").resolve()


def test_layer_pins_agree_with_constraints() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = {}
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                name, version = line.split("==")
                found[name.split("[")[0].lower().replace("_", "-")] = version
        return found

    layer, constraints = pins(ROOT / "layer" / "requirements.txt"), pins(ROOT / "constraints.txt")
    assert {name: constraints.get(name) for name in layer} == layer


def test_every_output_names_an_existing_resource() -> None:
    resources = template()["Resources"]
    for output in template()["Outputs"].values():
        value = output["Value"]
        if "Fn::Sub" in value:  # a URL naming resources in ${...}
            targets = {name.split(".")[0] for name in re.findall(r"\$\{([^}]+)\}", value["Fn::Sub"])}
            assert targets - {"AWS::Region"} <= set(resources)
            continue
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        assert target in resources


# ---------------------------------------------------------------- failure consumer and ledger


def _dead_letter_queues() -> set[str]:
    """Every queue that holds what was given up on: SQS redrive targets and Lambda async DLQs."""
    queues = {
        body["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for body in template()["Resources"].values()
        if body["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in body["Properties"]
    }
    queues |= {
        body["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for body in FUNCTIONS.values()
        if "DeadLetterQueue" in body["Properties"]
    }
    return queues


def _alarms() -> dict[str, dict[str, Any]]:
    return {
        name: body["Properties"]
        for name, body in template()["Resources"].items()
        if body["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_consumer_reads_the_failure_queue_and_the_failure_queue_has_its_own_dlq() -> None:
    [properties] = [p for f, p in _event_sources("SQS") if f == "FailureConsumerFunction"]
    assert properties["Queue"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    failure_queue = resource("FailureQueue")["Properties"]
    assert failure_queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["FailureConsumerDLQ", "Arn"]
    }
    assert failure_queue["MessageRetentionPeriod"] == 1209600


def test_failure_events_on_a_bus_reach_the_failure_queue_and_only_that_rule_may_send() -> None:
    rule = resource("FailureEventsRule")["Properties"]
    assert rule["EventPattern"]["detail-type"] == ["Lambda Function Invocation Result - Failure"]
    assert set(rule["EventPattern"]["source"]) == {"lambda", "aws.lambda"}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert rule["Targets"][0]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailureConsumerDLQ", "Arn"]}}
    for policy in ("FailureQueuePolicy", "FailureConsumerDLQPolicy"):
        statement = resource(policy)["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {
            "Fn::GetAtt": ["FailureEventsRule", "Arn"]
        }


def test_an_s3_destination_bucket_may_notify_the_failure_queue_only_when_named() -> None:
    [_, conditional] = resource("FailureQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    condition, statement, otherwise = conditional["Fn::If"]
    assert condition == "HasFailureDestinationBucket"
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert set(statement["Condition"]) == {"ArnEquals", "StringEquals"}
    [reads] = [
        entry["Fn::If"]
        for entry in resource("FailureConsumerFunctionRole")["Properties"]["Policies"]
        if "Fn::If" in entry and entry["Fn::If"][0] == "HasFailureDestinationBucket"
    ]
    assert reads[1]["PolicyDocument"]["Statement"][0]["Action"] == "s3:GetObject"
    assert reads[2] == {"Ref": "AWS::NoValue"}


def test_ledger_table_is_keyed_on_failure_id_with_ttl_and_indexes_that_project_every_summary_field() -> None:
    table = resource("LedgerTable")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "failure_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["SSESpecification"]["SSEType"] == "KMS"
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert {name: index["KeySchema"][0]["AttributeName"] for name, index in indexes.items()} == {
        "by-function": "function_name",
        "by-source": "source_arn",
        "by-day": "day",
    }
    for index in indexes.values():
        assert index["KeySchema"][1] == {"AttributeName": "list_key", "KeyType": "RANGE"}
        # A listed entry must hold every summary field; the body must never be copied into an index.
        keys = {"failure_id", *(key["AttributeName"] for key in index["KeySchema"])}
        projected = set(index["Projection"]["NonKeyAttributes"]) | keys
        assert {"function_name", "source_arn", "expires_at"} <= projected
        assert set(LedgerSummary.model_fields) <= projected
        assert not projected & {"body", "detail", "body_s3"}


def test_ledger_bodies_are_encrypted_private_and_expire_with_their_entries() -> None:
    bucket = resource("LedgerBucket")["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    [lifecycle] = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == {"Ref": "LedgerRetentionDays"}
    environment = FUNCTIONS["FailureConsumerFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["LEDGER_RETENTION_DAYS"] == {"Ref": "LedgerRetentionDays"}


def test_every_dead_letter_queue_alarms_on_depth_and_age() -> None:
    watched: dict[str, set[str]] = {}
    for alarm in _alarms().values():
        if alarm["Namespace"] == "AWS/SQS":
            [dimension] = alarm["Dimensions"]
            watched.setdefault(dimension["Value"]["Fn::GetAtt"][0], set()).add(alarm["MetricName"])
    dead_letter_queues = _dead_letter_queues()
    assert dead_letter_queues == {
        "OrderEventsDLQ",
        "OrdersQueueDLQ",
        "OrdersFifoQueueDLQ",
        "FailureConsumerDLQ",
    }
    for queue in dead_letter_queues:
        assert watched[queue] == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert watched["FailureQueue"] == {"ApproximateAgeOfOldestMessage"}


def test_the_consumers_own_errors_alarm_and_every_alarm_tells_the_alert_topic() -> None:
    alarms = _alarms()
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("LambdaFailureToolkit", "UnreadableFailureMessages") in metrics
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_alert_topic_key_lets_cloudwatch_publish() -> None:
    assert resource("AlertTopic")["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    statements = resource("AlertTopicKey")["Properties"]["KeyPolicy"]["Statement"]
    [cloudwatch] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


def test_the_dashboard_is_valid_json_showing_failures_and_dlqs() -> None:
    body, variables = resource("FailuresDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", body))
    assert names <= set(variables) | {"AWS::Region", "FailureConsumerFunction", "RedriveFunction"}
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    text = json.dumps(dashboard)
    assert "{LambdaFailureToolkit,Condition,ErrorType,FunctionName,service}" in text
    for queue in _dead_letter_queues():
        assert variables[f"{queue}Name"] == {"Fn::GetAtt": [queue, "QueueName"]}
