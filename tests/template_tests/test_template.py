"""The two templates' own properties: the settings AWS's failure semantics depend on, the toolkit's
independence from the sample, and the sample's adoption of the toolkit through its parameters."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lambda_failure_toolkit.ledger import LedgerSummary
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES
from tests.template import ROOT, SAMPLE, TEMPLATES, TOOLKIT, render_template, resource, template

FUNCTIONS = {
    name: (path, body)
    for path in TEMPLATES
    for name, body in template(path)["Resources"].items()
    if body["Type"] == "AWS::Serverless::Function"
}
TOOLKIT_OUTPUT = re.compile(r"^Outputs\.(\w+)$")


def _timeout(function: str, bound: str = "Default") -> int:
    path, body = FUNCTIONS[function]
    default = template(path)["Globals"]["Function"].get("Timeout", 3)  # SAM's default: 3 s
    return _number(body["Properties"].get("Timeout", default), path, bound)


def _number(value: Any, path: Path, bound: str = "Default") -> int:
    """A literal, or a parameter's Default (or MinValue, MaxValue)."""
    if isinstance(value, dict):
        return int(template(path)["Parameters"][value["Ref"]][bound])
    return int(value)


def _event_sources(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, event["Properties"])
        for name, (_, body) in FUNCTIONS.items()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def _queue(properties: dict[str, Any]) -> dict[str, Any]:
    return resource(properties["Queue"]["Fn::GetAtt"][0])["Properties"]


def _failure_queue_output(name: str = "FailureQueueArn") -> dict[str, Any]:
    return {"Fn::GetAtt": ["Toolkit", f"Outputs.{name}"]}


def test_every_function_has_sample_events_and_a_handler() -> None:
    tested = {case.function for case in BATCH_CASES + ASYNC_CASES + REDRIVE_CASES}
    assert set(FUNCTIONS) == tested
    for path, body in FUNCTIONS.values():
        properties = body["Properties"]
        assert (path.parent / properties["CodeUri"] / "app.py").is_file()
        assert properties["Handler"] == "app.lambda_handler"
    assert {name for name, (path, _) in FUNCTIONS.items() if path == TOOLKIT} == {
        "FailureConsumerFunction",
        "RedriveFunction",
    }


@pytest.mark.parametrize("kind", ["SQS", "Kinesis", "DynamoDB"])
def test_every_poll_based_mapping_reports_batch_item_failures(kind: str) -> None:
    sources = _event_sources(kind)
    assert sources
    for _, properties in sources:
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    mappings = [
        body
        for body in template(TOOLKIT)["Resources"].values()
        if body["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 5  # one per position of FailureSourceQueueArns
    sample_mappings = [
        body
        for body in template(SAMPLE)["Resources"].values()
        if body["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(sample_mappings) == 2  # the consumer's, on the sample's first-hop DLQs
    for mapping in mappings + sample_mappings:
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("bound", ["Default", "MaxValue"])
def test_sqs_sources_have_a_dlq_and_a_visibility_timeout_of_six_function_timeouts(bound: str) -> None:
    """With the defaults; and a literal visibility timeout holds for the longest FunctionTimeout allowed
    (one set by a parameter, OrdersQueueVisibilityTimeout, is the deployer's to lower with it)."""
    for function, properties in _event_sources("SQS"):
        path = FUNCTIONS[function][0]
        queue = _queue(properties)
        timeout = _timeout(function, bound)
        if bound == "Default" or not isinstance(queue["VisibilityTimeout"], dict):
            assert _number(queue["VisibilityTimeout"], path) >= 6 * timeout, function
        dlq = resource(queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])["Properties"]
        assert dlq.get("FifoQueue", False) == queue.get("FifoQueue", False)
        expected = (
            "ConsumerMaxReceiveCount" if function == "FailureConsumerFunction" else "SqsMaxReceiveCount"
        )
        assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": expected}


@pytest.mark.parametrize("kind", ["Kinesis", "DynamoDB"])
def test_stream_mappings_bisect_bound_retries_and_send_failures_to_the_toolkits_failure_queue(
    kind: str,
) -> None:
    for _, properties in _event_sources(kind):
        assert properties["BisectBatchOnFunctionError"] is True
        assert properties["MaximumRetryAttempts"] == {"Ref": "StreamMaximumRetryAttempts"}
        assert properties["MaximumRecordAgeInSeconds"] == {"Ref": "StreamMaximumRecordAgeInSeconds"}
        assert properties["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS",
            "Destination": _failure_queue_output(),
        }


def test_dynamodb_source_table_streams_new_and_old_images() -> None:
    [(_, properties)] = _event_sources("DynamoDB")
    table = resource(properties["Stream"]["Fn::GetAtt"][0])["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_async_function_has_retry_settings_destinations_and_a_dlq() -> None:
    properties = FUNCTIONS["OrderEventsFunction"][1]["Properties"]
    config = properties["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == {"Ref": "AsyncMaximumRetryAttempts"}
    assert config["MaximumEventAgeInSeconds"] == {"Ref": "AsyncMaximumEventAgeInSeconds"}
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == _failure_queue_output()
    assert config["DestinationConfig"]["OnSuccess"]["Type"] == "SQS"
    assert properties["DeadLetterQueue"]["Type"] == "SQS"
    assert properties["Environment"]["Variables"]["FAILURE_QUEUE_URL"] == _failure_queue_output(
        "FailureQueueUrl"
    )
    assert {event["Type"] for event in properties["Events"].values()} == {"EventBridgeRule", "SNS"}


def test_parameters_have_aws_ranges() -> None:
    parameters = template(SAMPLE)["Parameters"]
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
    for path in TEMPLATES:
        assert template(path)["Parameters"]["Architecture"]["Default"] == "x86_64"
    assert (
        template(TOOLKIT)["Parameters"]["FunctionTimeout"]["MaxValue"] == 30
    )  # the failure queue's 180 s is 6 x


# ---------------------------------------------------------------- the layers


def _pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[name.split("[")[0].lower().replace("_", "-")] = version
    return found


def test_both_layers_are_built_from_the_library_by_one_makefile() -> None:
    for path in TEMPLATES:
        function_globals = template(path)["Globals"]["Function"]
        assert function_globals["Runtime"] == "python3.13"
    assert template(SAMPLE)["Globals"]["Function"]["Layers"] == [{"Ref": "SampleLayer"}]
    assert template(TOOLKIT)["Globals"]["Function"]["Layers"] == [{"Ref": "LibraryLayer"}]
    for name, folder in (("SampleLayer", ROOT / "layer"), ("LibraryLayer", ROOT / "toolkit" / "layer")):
        layer = resource(name)
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12", "python3.13"]
        assert f"build-{name}:" in (folder / "Makefile").read_text().replace(
            "build-LibraryLayer build-SampleLayer:", f"build-{name}:"
        )
        assert (folder / "lambda_failure_toolkit").resolve() == ROOT / "shared" / "lambda_failure_toolkit"
    assert (ROOT / "layer" / "orders").resolve() == ROOT / "orders"
    assert (ROOT / "layer" / "Makefile").resolve() == ROOT / "toolkit" / "layer" / "Makefile"
    # A version your functions were deployed with stays when the toolkit publishes a new one.
    assert resource("LibraryLayer")["Properties"]["RetentionPolicy"] == "Retain"


def test_layer_pins_agree_with_constraints_and_leave_out_what_lambda_has() -> None:
    layer, constraints = (
        _pins(ROOT / "toolkit" / "layer" / "requirements.txt"),
        _pins(ROOT / "constraints.txt"),
    )
    assert {name: constraints.get(name) for name in layer} == layer
    assert not set(layer) & {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "urllib3",
        "six",
    }


# ---------------------------------------------------------------- outputs and adoption


def test_every_output_names_an_existing_resource_or_toolkit_output() -> None:
    for path in TEMPLATES:
        resources = template(path)["Resources"]
        for output in template(path)["Outputs"].values():
            value = output["Value"]
            if "Fn::Sub" in value:  # a URL naming resources in ${...}
                targets = {name.split(".")[0] for name in re.findall(r"\$\{([^}]+)\}", value["Fn::Sub"])}
                assert targets - {"AWS::Region"} <= set(resources)
                continue
            target = value.get("Ref") or value["Fn::GetAtt"][0]
            assert target in resources
            if target == "Toolkit" and "Fn::GetAtt" in value:
                [name] = TOOLKIT_OUTPUT.match(value["Fn::GetAtt"][1]).groups()  # type: ignore[union-attr]
                assert name in template(TOOLKIT)["Outputs"]


def test_every_toolkit_output_but_the_dashboard_is_exported_under_the_stack_name() -> None:
    for name, output in template(TOOLKIT)["Outputs"].items():
        if name == "FailuresDashboardUrl":
            continue
        assert output["Export"] == {"Name": {"Fn::Sub": f"${{AWS::StackName}}-{name}"}}


def test_the_toolkit_holds_nothing_of_the_sample() -> None:
    text = (ROOT / "toolkit" / "template.yaml").read_text().lower()
    assert "order" not in text
    for path in TEMPLATES:
        assert not [
            name
            for name in template(path)["Globals"]["Function"]["Environment"]["Variables"]
            if "ORDER" in name or "IDEMPOTENCY" in name
        ]
    for name, (path, body) in FUNCTIONS.items():
        if path == TOOLKIT:
            assert not [
                v
                for v in body["Properties"]["Environment"]["Variables"]
                if "ORDER" in v or "IDEMPOTENCY" in v
            ], name


def test_the_sample_passes_the_toolkit_only_parameters_it_declares() -> None:
    passed = set(resource("Toolkit")["Properties"]["Parameters"])
    assert passed <= set(template(TOOLKIT)["Parameters"])
    assert resource("Toolkit")["Properties"]["Location"] == "toolkit/template.yaml"


def _dead_letter_queues(path: Path) -> set[str]:
    """Every queue of the template that holds what was given up on: SQS redrive targets and Lambda async DLQs."""
    resources = template(path)["Resources"]
    queues = {
        body["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for body in resources.values()
        if body["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in body["Properties"]
    } - {"Toolkit"}  # the first-hop DLQs' own DLQ is the toolkit's consumer DLQ
    queues |= {
        body["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for body in resources.values()
        if body["Type"] == "AWS::Serverless::Function" and "DeadLetterQueue" in body["Properties"]
    }
    return queues


def _joined(value: Any) -> list[Any]:
    """The members of a `!Join [",", [...]]` parameter value, or the one value."""
    return value["Fn::Join"][1] if isinstance(value, dict) and "Fn::Join" in value else [value]


def _queue_of(arn: Any) -> str:
    """The sample's queue a `!GetAtt Queue.Arn` or an ARN written out with its name stands for."""
    if "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    name = arn["Fn::Sub"].rsplit(":", 1)[1]
    [queue] = [
        logical_id
        for logical_id, body in template(SAMPLE)["Resources"].items()
        if body["Type"] == "AWS::SQS::Queue" and body["Properties"].get("QueueName") == {"Fn::Sub": name}
    ]
    return queue


def test_the_sample_adopts_the_toolkit_with_every_dlq_stream_queue_and_function_of_its_own() -> None:
    parameters = resource("Toolkit")["Properties"]["Parameters"]
    watched = {arn["Fn::GetAtt"][0] for arn in _joined(parameters["WatchedDlqArns"])}
    assert (
        watched == _dead_letter_queues(SAMPLE) == {"OrderEventsDLQ", "OrdersQueueDLQ", "OrdersFifoQueueDLQ"}
    )
    streams = {
        json.dumps(properties["Stream"])
        for kind in ("Kinesis", "DynamoDB")
        for _, properties in _event_sources(kind)
    }
    assert {
        json.dumps(parameters["KinesisStreamArns"]),
        json.dumps(parameters["DynamoDBStreamArns"]),
    } == streams
    # The redrive may send back to the queues those DLQs serve, and invoke what fails into the ledger.
    sources = {
        name
        for name, body in template(SAMPLE)["Resources"].items()
        if body["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in body["Properties"]
    }
    assert {_queue_of(arn) for arn in _joined(parameters["RedriveTargetQueueArns"])} == sources
    functions = {arn["Fn::Sub"].rsplit(":", 1)[1] for arn in _joined(parameters["RedriveTargetFunctionArns"])}
    assert functions == {
        FUNCTIONS[name][1]["Properties"]["FunctionName"]["Fn::Sub"]
        for name in ("OrderEventsFunction", "KinesisOrdersFunction", "DynamoDBOrdersFunction")
    }


def test_the_sample_keeps_what_its_rule_and_subscription_cannot_deliver_and_the_toolkit_reads_it() -> None:
    events = FUNCTIONS["OrderEventsFunction"][1]["Properties"]["Events"]
    rule = events["OrderEventsRule"]["Properties"]
    subscription = events["OrderEventsTopicSubscription"]["Properties"]
    assert rule["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    rule_dlq = rule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    subscription_dlq = subscription["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    # The toolkit is told which queues they are, and its consumer reads each through a mapping
    parameters = resource("Toolkit")["Properties"]["Parameters"]
    assert [_queue_of(arn) for arn in _joined(parameters["FirstHopDlqArns"])] == [rule_dlq, subscription_dlq]
    mappings = {
        body["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: body["Properties"]
        for body in template(SAMPLE)["Resources"].values()
        if body["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert set(mappings) == {rule_dlq, subscription_dlq}
    for mapping in mappings.values():
        assert mapping["FunctionName"] == _failure_queue_output("FailureConsumerFunctionName")
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    consumer_timeout = _timeout("FailureConsumerFunction", "MaxValue")
    for queue in (rule_dlq, subscription_dlq):
        properties = resource(queue)["Properties"]
        assert properties["VisibilityTimeout"] >= 6 * consumer_timeout
        assert properties["MessageRetentionPeriod"] == 1209600
        # What the consumer cannot record waits in its DLQ with the failure queue's
        assert properties["RedrivePolicy"] == {
            "deadLetterTargetArn": _failure_queue_output("FailureConsumerDLQArn"),
            "maxReceiveCount": {"Ref": "ConsumerMaxReceiveCount"},
        }
    # Each DLQ lets in only its own rule or topic
    policies = {
        body["Properties"]["Queues"][0]["Ref"]: body["Properties"]["PolicyDocument"]["Statement"]
        for body in template(SAMPLE)["Resources"].values()
        if body["Type"] == "AWS::SQS::QueuePolicy"
    }
    [to_rule_dlq] = policies[rule_dlq]
    [to_subscription_dlq] = policies[subscription_dlq]
    assert to_rule_dlq["Principal"] == {"Service": "events.amazonaws.com"}
    assert to_rule_dlq["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rule/order-events-${Stage}"
    )
    assert rule["RuleName"] == {"Fn::Sub": "order-events-${Stage}"}
    assert to_subscription_dlq["Principal"] == {"Service": "sns.amazonaws.com"}
    assert to_subscription_dlq["Condition"]["ArnEquals"]["aws:SourceArn"] == subscription["Topic"]
    assert {to_rule_dlq["Action"], to_subscription_dlq["Action"]} == {"sqs:SendMessage"}


def test_no_queue_holds_less_than_a_1_mib_message() -> None:
    """SQS, EventBridge and async invocations take 1 MB payloads since 2025 (SQS's default maximum is
    now 1 MiB): a queue set lower would refuse an event that every other hop took."""
    for path in TEMPLATES:
        for name, body in template(path)["Resources"].items():
            if body["Type"] == "AWS::SQS::Queue":
                assert body["Properties"].get("MaximumMessageSize", 1_048_576) == 1_048_576, name


def test_the_toolkit_can_be_published_to_the_serverless_application_repository() -> None:
    metadata = template(TOOLKIT)["Metadata"]["AWS::ServerlessRepo::Application"]
    assert {"Name", "Description", "Author", "SpdxLicenseId", "SemanticVersion"} <= set(metadata)
    assert re.fullmatch(r"\d+\.\d+\.\d+", metadata["SemanticVersion"])
    for document in ("LicenseUrl", "ReadmeUrl"):
        assert (ROOT / "toolkit" / metadata[document]).resolve().is_file()


# ---------------------------------------------------------------- the toolkit: consumer, ledger, alarms


def _alarms(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: body["Properties"]
        for name, body in rendered["Resources"].items()
        if body["Type"] == "AWS::CloudWatch::Alarm"
    }


def _toolkit(**overrides: str) -> dict[str, Any]:
    rendered: dict[str, Any] = render_template.Renderer(
        json.loads(json.dumps(template(TOOLKIT))), overrides, resolve_parameters=True
    ).rendered()
    return rendered


def test_the_consumer_reads_the_failure_queue_and_the_failure_queue_has_its_own_dlq() -> None:
    [properties] = [p for f, p in _event_sources("SQS") if f == "FailureConsumerFunction"]
    assert properties["Queue"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    failure_queue = resource("FailureQueue")["Properties"]
    assert failure_queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["FailureConsumerDLQ", "Arn"]
    }
    assert failure_queue["MessageRetentionPeriod"] == 1209600


def test_a_failure_source_queue_is_read_by_the_consumer_for_each_arn_given() -> None:
    arns = [f"arn:aws:sqs:eu-west-1:123456789012:app-failures-{n}" for n in range(1, 4)]
    for count in (0, 1, 3):
        mappings = [
            body["Properties"]
            for body in _toolkit(FailureSourceQueueArns=",".join(arns[:count]))["Resources"].values()
            if body["Type"] == "AWS::Lambda::EventSourceMapping"
        ]
        assert [m["EventSourceArn"] for m in mappings] == arns[:count]
        assert all(m["FunctionName"] == {"Ref": "FailureConsumerFunction"} for m in mappings)


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
    statements = resource("FailureQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    [conditional] = [
        s for s in statements if "Fn::If" in s and s["Fn::If"][0] == "HasFailureDestinationBucket"
    ]
    _, statement, otherwise = conditional["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert set(statement["Condition"]) == {"ArnEquals", "StringEquals"}
    role = _toolkit(FailureDestinationBucketName="example-lambda-failures")["Resources"][
        "FailureConsumerFunctionRole"
    ]
    [reads] = [
        s
        for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "S3DestinationObjects"
    ]
    assert reads["Action"] == "s3:GetObject"
    assert "S3DestinationObjects" not in json.dumps(_toolkit()["Resources"]["FailureConsumerFunctionRole"])


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
    environment = template(TOOLKIT)["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["LEDGER_RETENTION_DAYS"] == {"Ref": "LedgerRetentionDays"}


@pytest.mark.parametrize("count", [0, 1, 3, 10, 11])
def test_the_toolkits_dlq_and_each_of_the_first_ten_watched_dlqs_alarm_on_depth_and_age(count: int) -> None:
    names = [f"app-dlq-{n}" for n in range(1, count + 1)]
    rendered = _toolkit(
        WatchedDlqArns=",".join(f"arn:aws:sqs:eu-west-1:123456789012:{name}" for name in names)
    )
    watched: dict[str, set[str]] = {}
    for alarm in _alarms(rendered).values():
        if alarm["Namespace"] == "AWS/SQS":
            [dimension] = alarm["Dimensions"]
            value = dimension["Value"]
            watched.setdefault(value if isinstance(value, str) else value["Fn::GetAtt"][0], set()).add(
                alarm["MetricName"]
            )
    both = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert watched == {
        "FailureConsumerDLQ": both,
        "FailureQueue": {"ApproximateAgeOfOldestMessage"},
    } | dict.fromkeys(names[:10], both)


@pytest.mark.parametrize("count", [0, 1, 5, 6])
def test_each_of_the_first_five_first_hop_dlqs_alarms_when_not_emptied_and_on_age(count: int) -> None:
    names = [f"app-first-hop-dlq-{n}" for n in range(1, count + 1)]
    rendered = _toolkit(
        FirstHopDlqArns=",".join(f"arn:aws:sqs:eu-west-1:123456789012:{name}" for name in names)
    )
    watched: dict[str, dict[str, dict[str, Any]]] = {}
    for alarm in _alarms(rendered).values():
        [dimension] = alarm.get("Dimensions", [{"Value": None}])
        if isinstance(dimension["Value"], str) and dimension["Value"] in names:
            watched.setdefault(dimension["Value"], {})[alarm["MetricName"]] = alarm
    assert list(watched) == names[:5]
    for alarms in watched.values():
        depth = alarms["ApproximateNumberOfMessagesVisible"]
        # The consumer empties it in seconds: only a queue not emptied for 15 minutes alarms
        assert (depth["Statistic"], depth["Period"], depth["EvaluationPeriods"]) == ("Minimum", 300, 3)
        assert alarms["ApproximateAgeOfOldestMessage"]["Threshold"] == "3600"  # DlqAgeAlarmSeconds
    environment = rendered["Resources"]["FailureConsumerFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["FIRST_HOP_DLQ_ARNS"] == ",".join(
        f"arn:aws:sqs:eu-west-1:123456789012:{name}" for name in names
    )


def test_the_consumers_own_errors_alarm_and_every_alarm_tells_the_alert_topic() -> None:
    alarms = _alarms(_toolkit(WatchedDlqArns="arn:aws:sqs:eu-west-1:123456789012:app-dlq"))
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("LambdaFailureToolkit", "UnreadableFailureMessages") in metrics
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"
    assert not [a for a in template(SAMPLE)["Resources"].values() if a["Type"] == "AWS::CloudWatch::Alarm"]


def test_the_alert_topic_key_lets_cloudwatch_publish() -> None:
    assert resource("AlertTopic")["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    statements = resource("AlertTopicKey")["Properties"]["KeyPolicy"]["Statement"]
    [cloudwatch] = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}


@pytest.mark.parametrize("count", [0, 3])
def test_the_dashboard_is_valid_json_showing_failures_and_every_watched_dlq(count: int) -> None:
    names = [f"app-dlq-{n}" for n in range(1, count + 1)]
    rendered = _toolkit(
        WatchedDlqArns=",".join(f"arn:aws:sqs:eu-west-1:123456789012:{name}" for name in names)
    )
    body, variables = rendered["Resources"]["FailuresDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert set(re.findall(r"\$\{([^}]+)\}", body)) <= set(variables) | {
        "AWS::Region",
        "FailureConsumerFunction",
        "RedriveFunction",
    }
    separator, queues = variables["QueueNames"]["Fn::Join"]
    resolved = [queue if isinstance(queue, str) else queue["Fn::GetAtt"][0] for queue in queues]
    assert resolved == ["FailureQueue", "FailureConsumerDLQ", *names]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", separator.join(resolved), body))
    text = json.dumps(dashboard)
    assert "{LambdaFailureToolkit,Condition,ErrorType,FunctionName,service}" in text
    for name in resolved:
        assert f'QueueName=\\"{name}\\"' in text
