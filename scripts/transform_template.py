"""Print a SAM template as CloudFormation after the SAM transform (JSON), for the scanners and tests.

Runs offline. SAM resolves the AWS managed policy names it knows from its own bundled list; a
name it does not know would be looked up in IAM, and is refused here with the reason instead. (The
template names none: every function has a role of its own, docs/permissions.md.)
Usage: python scripts/transform_template.py [template.yaml] > transformed.json
(needs aws-sam-translator: the scanners' venv, made by `make scan-venv`, has it).
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyLoader:
    """SAM asks for this only for a managed policy name missing from its bundled list."""

    def load(self) -> dict[str, str]:
        raise SystemExit(
            "transform_template: the template names a managed policy SAM does not know, and there is no "
            "AWS account here to look it up in; give the function a role of its own (docs/permissions.md)."
        )


def _as_packaged(template: dict[str, Any]) -> None:
    """Local paths become S3 locations, as `sam package` would make them (SAM requires one): code, layers,
    and a nested application's template (its Location)."""
    for body in template.get("Resources", {}).values():
        properties = body.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://local-artifacts/{properties[key].strip('/')}"
        location = properties.get("Location")
        if body.get("Type") == "AWS::Serverless::Application" and isinstance(location, str):
            properties["Location"] = f"https://local-artifacts.s3.amazonaws.com/{location.strip('/')}"


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "template.yaml")
    template: dict[str, Any] = yaml_parse(path.read_text())
    # SAM only needs a region to fill in pseudo parameters; the output keeps ${AWS::Region} as is.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    _as_packaged(template)
    # passthrough_metadata keeps each resource's Metadata (the scanners' skips, with their reasons).
    transformed = transform(template, {}, OfflinePolicyLoader(), passthrough_metadata=True)  # type: ignore[arg-type]
    json.dump(transformed, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
