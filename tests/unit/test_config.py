import pytest
from pydantic import Field

from lambda_failure_toolkit.config import ConfigError, EnvConfig, ObservabilityConfig, get_config, load_config


class QueueConfig(ObservabilityConfig):
    FAILURE_QUEUE_URL: str = Field(min_length=1)
    MAX_BATCH: int = Field(ge=1, le=10)


GOOD = {
    "POWERTOOLS_SERVICE_NAME": "orders",
    "POWERTOOLS_METRICS_NAMESPACE": "FailureToolkit",
    "FAILURE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-failures",
    "MAX_BATCH": " 10 ",
    "UNRELATED": "ignored",
}


def test_typed_values_from_strings() -> None:
    config = load_config(QueueConfig, GOOD)
    assert config.MAX_BATCH == 10
    assert config.POWERTOOLS_LOG_LEVEL == "INFO"


def test_every_missing_or_bad_variable_is_named() -> None:
    environ = {k: v for k, v in GOOD.items() if k != "FAILURE_QUEUE_URL"} | {"MAX_BATCH": "eleven"}
    with pytest.raises(ConfigError) as raised:
        load_config(QueueConfig, environ)
    message = str(raised.value)
    assert "FAILURE_QUEUE_URL is not set" in message
    assert "MAX_BATCH is invalid" in message
    assert "eleven" not in message  # values may be secrets: never echoed
    assert "Environment.Variables in its template" in message  # where to set them
    assert raised.value.problems == [
        "FAILURE_QUEUE_URL is not set",
        "MAX_BATCH is invalid (Input should be a valid integer, unable to parse string as an integer)",
    ]


def test_out_of_range_value_is_named() -> None:
    with pytest.raises(
        ConfigError, match=r"MAX_BATCH is invalid \(Input should be less than or equal to 10\)"
    ):
        load_config(QueueConfig, GOOD | {"MAX_BATCH": "11"})


def test_config_is_immutable() -> None:
    config = load_config(QueueConfig, GOOD)
    with pytest.raises(ValueError, match="frozen"):
        config.MAX_BATCH = 3  # type: ignore[misc]


def test_get_config_reads_the_process_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class OnceConfig(EnvConfig):
        ONCE_VALUE: str

    monkeypatch.setenv("ONCE_VALUE", "first")
    assert get_config(OnceConfig).ONCE_VALUE == "first"
    monkeypatch.setenv("ONCE_VALUE", "second")
    assert get_config(OnceConfig).ONCE_VALUE == "first"
