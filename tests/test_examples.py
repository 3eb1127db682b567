"""The worked examples in examples/ are exactly what the command line prints for their .cmd files."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load_regenerate() -> ModuleType:
    """examples/regenerate.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("chainsolve_examples", EXAMPLES / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


regenerate = _load_regenerate()
OUTPUTS = regenerate.outputs()


def test_every_kind_has_examples() -> None:
    """Both example folders hold worked examples, each .cmd a single line without --format."""
    for kind in regenerate.KINDS:
        commands = sorted((EXAMPLES / kind).glob("*.cmd"))
        assert len(commands) >= 4, kind
        for command in commands:
            regenerate.read_command(command)


def test_readme_lists_every_example() -> None:
    """examples/README.md mentions every worked example by its file name."""
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for command in regenerate.command_files():
        assert f"{command.parent.name}/{command.stem}" in readme, command


def test_no_stray_outputs() -> None:
    """Every .txt and .md beside a .cmd file belongs to one (no outputs of deleted examples)."""
    stored = {o.path for o in OUTPUTS}
    for kind in regenerate.KINDS:
        for path in (EXAMPLES / kind).iterdir():
            if path.suffix in {".txt", ".md"}:
                assert path in stored, f"{path} has no .cmd file"


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: o.name)
def test_example_output_is_current(output: object) -> None:
    """The stored output equals what chainsolve prints now (CHAINSOLVE_UPDATE_GOLDEN=1 rewrites it)."""
    actual = regenerate.run(output)
    path: Path = output.path  # type: ignore[attr-defined]
    if os.environ.get("CHAINSOLVE_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with:\n  {regenerate.UPDATE_COMMAND}")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"stored {output.name}",  # type: ignore[attr-defined]
                tofile=output.command,  # type: ignore[attr-defined]
            )
        )
        pytest.fail(
            f"{path} is out of date:\n{diff}\nIf the change is intended, run:\n"
            f"  {regenerate.UPDATE_COMMAND}"
        )
