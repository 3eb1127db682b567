"""Regenerates the worked examples and the sample problem sheet: ``python examples/regenerate.py``.

Each worked example is ``<kind>/<name>.cmd``: one line of chainsolve arguments, without
``--format``. Its outputs are ``<name>.txt`` (``--format text``) and ``<name>.md``
(``--format markdown``). The sample sheet's outputs are listed in ``SHEET_OUTPUTS``.
``tests/test_examples.py`` runs the same commands and compares with the stored files.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from chainsolve.cli import main as cli

HERE = Path(__file__).resolve().parent

#: The output files of every worked example: extension → ``--format`` value.
FORMATS = {"txt": "text", "md": "markdown"}

#: Folders whose ``*.cmd`` files are worked examples (``backprop/`` has its own script).
KINDS = ("single", "multivariable", "matrix")

#: The sample problem sheet, in ``sheet/``: output file → arguments after the TOML file.
SHEET = HERE / "sheet" / "chain_rule_homework.toml"
SHEET_OUTPUTS = {
    "hw.tex": ["--format", "latex"],
    "key.tex": ["--format", "latex", "--answers-only"],
    "handout.md": ["--format", "markdown", "--no-solutions"],
}

#: Regenerate the stored outputs (the hint printed when a test finds one out of date).
UPDATE_COMMAND = (
    "python examples/regenerate.py"
    "  (or CHAINSOLVE_UPDATE_GOLDEN=1 python -m pytest tests/test_examples.py -p no:cacheprovider)"
)


@dataclass(frozen=True)
class Output:
    """One stored output file and the chainsolve arguments that produce it."""

    path: Path
    args: tuple[str, ...]

    @property
    def name(self) -> str:
        """The file's path relative to ``examples/``, as a test id."""
        return self.path.relative_to(HERE).as_posix()

    @property
    def command(self) -> str:
        """The command a user types to see this output."""
        return "chainsolve " + shlex.join(self.args)


def read_command(path: Path) -> list[str]:
    """The arguments of a ``.cmd`` file (one line, shell quoting)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValueError(f"{path}: expected exactly one line of chainsolve arguments")
    args = shlex.split(lines[0])
    if "--format" in args or "--output" in args or "-o" in args:
        raise ValueError(f"{path}: leave out --format/--output; the runner adds --format per file")
    return args


def command_files() -> list[Path]:
    """Every worked example's ``.cmd`` file, sorted."""
    return sorted(path for kind in KINDS for path in (HERE / kind).glob("*.cmd"))


def outputs() -> list[Output]:
    """Every stored output: two per worked example, then the sample sheet's."""
    result = []
    for cmd in command_files():
        args = read_command(cmd)
        for extension, fmt in FORMATS.items():
            result.append(Output(cmd.with_suffix(f".{extension}"), (*args, "--format", fmt)))
    for name, extra in SHEET_OUTPUTS.items():
        result.append(Output(SHEET.parent / name, ("sheet", str(SHEET), *extra)))
    return result


def _runner() -> CliRunner:
    """A runner that keeps standard error apart (click 8.2+ always does; 8.1 must be asked)."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run(output: Output) -> str:
    """What chainsolve prints to standard output for ``output``'s arguments.

    ``verify`` examples show wrong answers, so they may exit 1; anything else must exit 0.
    """
    result = _runner().invoke(cli, list(output.args), catch_exceptions=False)
    allowed = {0, 1} if output.args[0] == "verify" else {0}
    if result.exit_code not in allowed:
        raise RuntimeError(
            f"{output.command} exited {result.exit_code}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def main() -> int:
    """Write every stored output next to its ``.cmd`` file (and the sheet's)."""
    for output in outputs():
        output.path.write_text(run(output), encoding="utf-8")
        print(f"wrote {output.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
