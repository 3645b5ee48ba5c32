"""The import rule of docs/architecture.md holds: import-linter's contracts in pyproject.toml are kept,
and none of them lists an exception."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def test_every_import_contract_is_kept() -> None:
    """In a child process: the linter imports nothing into this one and leaves its logging alone."""
    result = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_contract_lists_an_exception() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 4
    for contract in contracts:
        assert not contract.get("ignore_imports") and not contract.get("skip_descendants"), contract["name"]
