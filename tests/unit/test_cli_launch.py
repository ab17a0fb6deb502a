"""The console scripts without the `cli` extra: one line saying what to install, exit status 2; and
the tools' package kept out of the library (the Lambda layer leaves it out)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "shared" / "lambda_failure_toolkit"


@pytest.mark.parametrize(
    ("script", "missing"),
    [("dlq", "rich"), ("dlq", "boto3"), ("failure_record", "rich")],
)
def test_a_tool_without_the_cli_extra_says_what_to_install(script: str, missing: str) -> None:
    # Given an interpreter where the module cannot be imported (as after `pip install lambda-failure-toolkit`)
    program = (
        f"import sys; sys.modules[{missing!r}] = None; sys.argv[1:] = ['--help']\n"
        f"from lambda_failure_toolkit.cli.launch import {script}\n"
        f"sys.exit({script}())"
    )

    # When the console script runs
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)

    # Then one line, no traceback, and exit status 2
    name = script.replace("_", "-")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"{name}: {missing} is not installed: the command-line tools need the cli extra, "
        "pip install 'lambda-failure-toolkit[cli]'\n"
    )


def test_another_missing_module_is_a_bug_and_not_hidden() -> None:
    program = (
        "import sys; sys.modules['lambda_failure_toolkit.cli.dlq.command'] = None\n"
        "from lambda_failure_toolkit.cli.launch import dlq\n"
        "sys.exit(dlq())"
    )

    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_nothing_outside_the_cli_package_imports_it() -> None:
    importers = []
    for path in LIBRARY.rglob("*.py"):
        if "cli" in path.relative_to(LIBRARY).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(
                name == "lambda_failure_toolkit.cli" or name.startswith("lambda_failure_toolkit.cli.")
                for name in names
            ):
                importers.append(str(path.relative_to(LIBRARY)))
    assert importers == []
