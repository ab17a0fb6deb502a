"""Print a SAM template as CloudFormation after the SAM transform (JSON), for the scanners and tests.

Runs offline, with the library's transform (`lambda_failure_toolkit.cli.audit.transform`, which
`dlq audit` uses too; this script runs it in the scanners' venv, which does not install the library).
Usage: python scripts/transform_template.py [template.yaml] > transformed.json
(needs aws-sam-translator: the scanners' venv, made by `make scan-venv`, has it).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

from lambda_failure_toolkit.cli.audit.transform import TransformError, parse, transformed


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "template.yaml")
    try:
        output = transformed(parse(path))
    except TransformError as error:
        sys.stderr.write(f"transform_template: {error}\n")
        return 2
    json.dump(output, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
