"""Typed configuration from environment variables.

Each function declares what it needs as a pydantic model whose field names are the variable names,
composed from the mixins here. Nothing is read at import time: handlers call `get_config(Model)` in
the invocation (cached for the life of the execution environment) and tests call `load_config`
with a dict.
"""

import functools
import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["ConfigError", "EnvConfig", "ObservabilityConfig", "get_config", "load_config"]


class ConfigError(RuntimeError):
    """An environment variable is missing or has a bad value. The message names every such variable."""

    def __init__(self, model: type[BaseModel], problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{model.__name__}: bad environment configuration: {'; '.join(problems)}. "
            "Set these variables on the function (Environment.Variables in its template)."
        )


class EnvConfig(BaseModel):
    """Base of every configuration model: immutable, other variables ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class ObservabilityConfig(EnvConfig):
    """What Powertools' Logger, Tracer and Metrics need to label what they emit."""

    POWERTOOLS_SERVICE_NAME: str = Field(min_length=1)
    POWERTOOLS_METRICS_NAMESPACE: str = Field(min_length=1)
    POWERTOOLS_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"


def load_config[C: EnvConfig](model: type[C], environ: Mapping[str, str]) -> C:
    """Validate `environ` against `model`; raise `ConfigError` naming every bad variable."""
    try:
        return model.model_validate(dict(environ))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            name = ".".join(str(part) for part in error["loc"])
            if error["type"] == "missing":
                problems.append(f"{name} is not set")
            else:
                problems.append(f"{name} is invalid ({error['msg']})")
        raise ConfigError(model, problems) from exc


@functools.cache
def get_config[C: EnvConfig](model: type[C]) -> C:
    """`load_config` from the process environment, once per model per execution environment."""
    return load_config(model, os.environ)
