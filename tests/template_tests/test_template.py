"""template.yaml's own properties: the settings AWS's failure semantics depend on."""

from pathlib import Path
from typing import Any

import pytest

from tests.function_events import ASYNC_CASES, BATCH_CASES
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
    tested = {case.function for case in BATCH_CASES} | {case.function for case in ASYNC_CASES}
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


def test_sqs_sources_have_a_dlq_and_a_visibility_timeout_of_six_function_timeouts() -> None:
    for function, properties in _event_sources("SQS"):
        queue = _queue(properties)
        timeout = FUNCTIONS[function]["Properties"].get("Timeout", GLOBAL_TIMEOUT)
        assert queue["VisibilityTimeout"] >= 6 * timeout
        dlq = resource(queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])["Properties"]
        assert dlq.get("FifoQueue", False) == queue.get("FifoQueue", False)
        assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "SqsMaxReceiveCount"}


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
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        assert target in resources
