"""The worked examples in examples/ are exactly what the command line prints for their .cmd files."""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
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


# --- the documentation's excerpts and pictures (docs/regenerate.py) ---------------------------

ROOT = EXAMPLES.parent


def _load_docs_regenerate() -> ModuleType:
    """docs/regenerate.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "chainsolve_docs", ROOT / "docs" / "regenerate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


docs_regenerate = _load_docs_regenerate()


@pytest.mark.parametrize(
    "page", docs_regenerate.PAGES, ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_documentation_excerpts_are_real_output(page: Path) -> None:
    """Every marked excerpt in README.md and examples/README.md is what chainsolve prints now."""
    stored = page.read_text(encoding="utf-8")
    assert docs_regenerate.MARKER.search(stored), "no generated excerpt in the page"
    current = docs_regenerate.regenerated_page(stored)
    if current != stored:
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True), current.splitlines(keepends=True), "stored", "now"
            )
        )
        pytest.fail(
            f"{page.name} excerpts are out of date:\n{diff}\nRun: python docs/regenerate.py"
        )


def test_excerpts_cut_lines_only_where_they_say_so() -> None:
    """cut_lines marks every gap, a cut start and a cut end with a line '…'."""
    lines = [f"line {n}" for n in range(1, 8)]
    cut = docs_regenerate.cut_lines(lines, ((2, 3), (5, 5)), None)
    assert cut == ["…", "line 2", "line 3", "…", "line 5", "…"]
    assert docs_regenerate.cut_lines(lines, None, None) == lines


def test_readme_first_command_makes_a_virtual_environment() -> None:
    """The README's first shell block creates and activates a venv before pip install."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.index("python3 -m venv") < first_block.index("pip install")
    assert ". .venv/bin/activate" in first_block


@pytest.mark.parametrize(
    "picture",
    ["two_paths_latex-1.png", "html_1200_light.png", "html_375_light.png", "html_375_dark.png"],
)
def test_readme_pictures_exist(picture: str) -> None:
    """The PDF page and HTML screenshots docs/regenerate.py writes are in docs/ and in the README."""
    assert (ROOT / "docs" / picture).read_bytes().startswith(b"\x89PNG")
    assert f"docs/{picture}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("cmd", sorted((EXAMPLES / "backprop").glob("*.cmd")), ids=lambda p: p.stem)
def test_backprop_tables_are_what_their_command_prints(cmd: Path) -> None:
    """Each backprop/NAME.txt's tables appear in the output of backprop/NAME.cmd.

    Only the size of a check's rounding noise (``|difference| 4.3e-28``) may differ: the script
    reads decimals as binary floats, the command line as exact decimals.
    """
    args = tuple(regenerate.read_command(cmd))
    output = regenerate.run(regenerate.Output(cmd.with_suffix(".txt"), args))
    stored = cmd.with_suffix(".txt").read_text(encoding="utf-8")
    tables = stored[stored.index("At the point") :].rstrip("\n")

    def noise_free(text: str) -> str:
        return re.sub(r"\|difference\| \S+ ≤", "|difference| ≤", text)

    assert noise_free(tables) in noise_free(output)
