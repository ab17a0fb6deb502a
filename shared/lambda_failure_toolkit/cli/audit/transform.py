"""A SAM template as CloudFormation after the SAM transform, offline (the `audit` extra: aws-sam-translator).

SAM resolves the AWS managed policy names it knows from its own bundled list; a name it does not know
would be looked up in IAM, and is refused here with the reason instead. Local paths (code, layers, a
nested application's template) become S3 locations, as `sam package` would make them: SAM requires one.
"""

import logging
import os
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

__all__ = ["TransformError", "is_sam", "parse", "transformed"]

_SAM = "AWS::Serverless-2016-10-31"


class TransformError(ValueError):
    """The template cannot be read or transformed; the message says why."""


class _OfflinePolicyLoader:
    """SAM asks for this only for a managed policy name missing from its bundled list."""

    def load(self) -> dict[str, str]:
        raise TransformError(
            "the template names a managed policy SAM does not know, and it is not looked up in an AWS "
            "account: give its ARN instead of its name"
        )


def parse(path: Path) -> dict[str, Any]:
    """A YAML or JSON template (CloudFormation's short forms such as !Ref included)."""
    try:
        parsed = yaml_parse(path.read_text())
    except OSError as exc:
        raise TransformError(f"cannot read the template {path}: {exc.strerror or exc}") from exc
    except Exception as exc:
        raise TransformError(f"{path} is not a YAML or JSON template: {str(exc).splitlines()[0]}") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("Resources"), dict):
        raise TransformError(f"{path} is not a CloudFormation template: it has no Resources section")
    return parsed


def is_sam(template: dict[str, Any]) -> bool:
    declared = template.get("Transform", [])
    return _SAM in (declared if isinstance(declared, list) else [declared])


def transformed(template: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform (a CloudFormation template is returned as it is)."""
    if not is_sam(template):
        return template
    _as_packaged(template)
    # SAM only needs a region to fill in pseudo parameters; the output keeps ${AWS::Region} as is.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # Its metrics, never published offline, would warn about themselves at exit.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    try:
        result: dict[str, Any] = transform(template, {}, _OfflinePolicyLoader(), passthrough_metadata=True)
    except TransformError:
        raise
    except Exception as exc:
        causes = getattr(exc, "causes", None) or [exc]
        raise TransformError(
            "the SAM transform refused the template: " + "; ".join(str(cause) for cause in causes)
        ) from exc
    return result


def _as_packaged(template: dict[str, Any]) -> None:
    globals_ = [{"Properties": section} for section in template.get("Globals", {}).values()]
    for body in [*template.get("Resources", {}).values(), *globals_]:
        properties = body.get("Properties", {}) if isinstance(body, dict) else {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://local-artifacts/{properties[key].strip('/')}"
        location = properties.get("Location")
        if body.get("Type") == "AWS::Serverless::Application" and isinstance(location, str):
            properties["Location"] = f"https://local-artifacts.s3.amazonaws.com/{location.strip('/')}"
