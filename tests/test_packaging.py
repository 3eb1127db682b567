"""The built wheel installs and runs from outside the source tree, templates included."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel once for this module."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("chainsolve-*.whl")
    return built


def test_wheel_contains_templates(wheel: Path) -> None:
    """Top-level templates/ is shipped inside the package, with py.typed."""
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("chainsolve/templates/text/") for n in names)
    assert any(n.startswith("chainsolve/templates/latex/") for n in names)
    assert "chainsolve/py.typed" in names


def test_wheel_contains_the_json_schemas(wheel: Path) -> None:
    """The published JSON Schemas ship inside the package (chainsolve/schema/*.json)."""
    names = zipfile.ZipFile(wheel).namelist()
    assert {"chainsolve/schema/solution.json", "chainsolve/schema/verdict.json"} <= set(names)


def test_installed_wheel_runs_outside_source_tree(wheel: Path, tmp_path: Path) -> None:
    """A fresh virtual environment with only the wheel solves a problem from an unrelated directory."""
    env_dir = tmp_path / "venv"
    # System site packages supply sympy/click/jinja2 without a network; the wheel shadows any
    # editable install of chainsolve because the venv's own site-packages comes first.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        timeout=600,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import chainsolve; print(chainsolve.__file__)"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(env_dir) in where.stdout
    script = env_dir / "bin" / "chainsolve"
    for fmt in ("text", "markdown", "latex", "json"):
        result = subprocess.run(
            [str(script), "solve", "sin(x^2)", "--format", fmt],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "cos" in result.stdout
    version = subprocess.run(
        [str(python), "-m", "chainsolve", "--version"], cwd=workdir, capture_output=True, text=True
    )
    assert "0.1.0" in version.stdout
