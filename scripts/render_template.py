"""Render a (transformed) CloudFormation template for one set of parameter values, as CloudFormation would
(the renderer is the library's, `lambda_failure_toolkit.cli.audit.render`, which `dlq audit` uses too;
this script runs it in the scanners' venv, which does not install the library). Stdlib only.
Usage: python scripts/render_template.py transformed.json [--resolve-parameters] [Name=Value ...] > rendered.json
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

from lambda_failure_toolkit.cli.audit.render import NO_VALUE, Renderer, RenderError, overrides

__all__ = ["NO_VALUE", "RenderError", "Renderer", "main"]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    template = json.loads(Path(argv[1]).read_text())
    resolve = "--resolve-parameters" in argv[2:]
    try:
        chosen = overrides([argument for argument in argv[2:] if argument != "--resolve-parameters"])
        rendered = Renderer(template, chosen, resolve_parameters=resolve).rendered()
    except RenderError as error:
        sys.stderr.write(f"render_template: {error}\n")
        return 2
    json.dump(rendered, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
