"""The operator's tools installed as a user installs them, in a fresh venv with the project's
constraints: the library alone says what to install, the `cli` extra brings the tools and no test
tool. Needs the package index (about a minute)."""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "pytest-mock", "pytest-cov", "pytest-socket", "moto", "hypothesis", "mypy", "ruff"}


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    # Away from the work tree: `python -c` puts its working directory first on the import path.
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),
    )


def _project(into: Path) -> Path:
    """What a build of the package reads, copied: building in the work tree would leave build/ there."""
    project = into / "project"
    shutil.copytree(
        ROOT / "shared" / "lambda_failure_toolkit",
        project / "shared" / "lambda_failure_toolkit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    return project


def test_the_cli_extra_installs_the_tools_with_runtime_dependencies_only() -> None:
    with tempfile.TemporaryDirectory(prefix="cli-install-") as scratch:
        # Given a fresh venv and the package built from the repository
        project = _project(Path(scratch))
        venv = Path(scratch) / "venv"
        assert _run(sys.executable, "-m", "venv", venv).returncode == 0
        bin_dir = venv / "bin"
        pip = (bin_dir / "python", "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt")

        # When the library is installed alone (a function's dependencies), the tools say what is missing
        installed = _run(*pip, project)
        assert installed.returncode == 0, installed.stderr
        # ...and it is the library alone: one top-level package, nothing of the sample, no boto3
        top_level = _run(
            bin_dir / "python",
            "-c",
            "import importlib.metadata as m; print(m.distribution('lambda-failure-toolkit').read_text('top_level.txt'))",
        )
        assert top_level.stdout.split() == ["lambda_failure_toolkit"], top_level.stderr
        listed = _run(bin_dir / "python", "-m", "pip", "list", "--format=json")
        assert "boto3" not in {package["name"].lower() for package in json.loads(listed.stdout)}
        for tool in ("dlq", "failure-record"):
            alone = _run(bin_dir / tool, "--help")
            assert (alone.returncode, alone.stdout) == (2, ""), alone.stderr
            assert alone.stderr.endswith("need the cli extra, pip install 'lambda-failure-toolkit[cli]'\n")

        # When the cli extra is installed
        installed = _run(*pip, f"{project}[cli]")
        assert installed.returncode == 0, installed.stderr

        # Then both tools run, and nothing of the test tiers came with them
        for tool in ("dlq", "failure-record"):
            helped = _run(bin_dir / tool, "--help")
            assert helped.returncode == 0, helped.stderr
            assert helped.stdout.startswith(f"usage: {tool}")
        listed = _run(bin_dir / "python", "-m", "pip", "list", "--format=json")
        names = {package["name"].lower() for package in json.loads(listed.stdout)}
        assert {"boto3", "rich", "lambda-failure-toolkit"} <= names
        assert names & TEST_TOOLS == set()
