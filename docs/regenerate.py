"""Regenerates every generated part of the documentation: ``python docs/regenerate.py``.

- the worked examples (``examples/regenerate.py``, ``examples/backprop/regenerate.py``);
- ``docs/json-schema.md`` from the JSON Schemas (``docs/generate_json_schema_doc.py``);
- every output excerpt in ``README.md`` and ``examples/README.md``: a block after a marker
  ``<!-- output: ARGS [| keep A-B,C] [| grep REGEX] [| width N] [| fence LANG] -->`` is what
  ``chainsolve ARGS`` prints, cut only where a line says ``…``;
- the README's grading walk-through, between ``<!-- walkthrough: grading -->`` and
  ``<!-- /walkthrough -->`` (``docs/walkthrough.py``: several commands in a scratch folder);
- the pictures: a PDF page of the two-path problem (pdflatex, pdftoppm) and the HTML
  solution at 1200 px and at 375 px, light and dark (headless Chromium,
  ``docs/html_screenshots.py``), when those tools are installed.

``tests/test_examples.py`` checks that the excerpts are current.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: The Markdown files whose excerpts are generated.
PAGES = (ROOT / "README.md", ROOT / "examples" / "README.md")

MARKER = re.compile(
    r"^<!-- output: (?P<spec>.*?) -->\n(?P<block>```[^\n]*\n.*?^```\n)", re.M | re.S
)

#: The problem of the PDF picture.
PICTURE_PROBLEM = "z = x^2*y; x = cos(t); y = exp(t)"
CUT = "…"


@dataclass(frozen=True)
class Excerpt:
    """One marker: the command's arguments and how its output is cut."""

    args: tuple[str, ...]
    keep: tuple[tuple[int, int], ...] | None = None
    grep: str | None = None
    width: int | None = None
    fence: str = "console"

    @classmethod
    def parse(cls, spec: str) -> Excerpt:
        """``solve "sin(x^2)" | keep 1-12 | width 100`` as an Excerpt."""
        command, *options = (part.strip() for part in spec.split(" | "))
        fields: dict[str, object] = {"args": tuple(shlex.split(command))}
        for option in options:
            name, _, value = option.partition(" ")
            if name == "keep":
                fields["keep"] = tuple(_line_range(item) for item in value.split(","))
            elif name in ("grep", "fence"):
                fields[name] = value
            elif name == "width":
                fields["width"] = int(value)
            else:
                raise ValueError(f"unknown excerpt option {name!r} in {spec!r}")
        return cls(**fields)  # type: ignore[arg-type]

    def block(self) -> str:
        """The fenced block: the prompt line (console), then the output as cut."""
        lines = cut_lines(run_cli(self.args).splitlines(), self.keep, self.grep)
        if self.width:
            lines = [
                line if len(line) <= self.width else line[: self.width - 2] + " " + CUT
                for line in lines
            ]
        if self.fence == "console":
            lines = ["$ chainsolve " + shlex.join(self.args), *lines]
        return f"```{self.fence}\n" + "\n".join(lines) + "\n```\n"


def _line_range(item: str) -> tuple[int, int]:
    first, _, last = item.partition("-")
    return int(first), int(last or first)


def cut_lines(
    lines: list[str], keep: tuple[tuple[int, int], ...] | None, grep: str | None
) -> list[str]:
    """The kept lines (1-based ranges, or those matching ``grep``), ``…`` wherever lines are left out."""
    wanted = set(range(1, len(lines) + 1))
    if keep is not None:
        wanted = {n for first, last in keep for n in range(first, last + 1) if n <= len(lines)}
    if grep is not None:
        wanted = {n for n in wanted if re.search(grep, lines[n - 1])}
    result: list[str] = []
    previous = 0
    for number in sorted(wanted):
        if number != previous + 1:
            result.append(CUT)
        result.append(lines[number - 1])
        previous = number
    if previous != len(lines):
        result.append(CUT)
    return result


def run_cli(args: tuple[str, ...]) -> str:
    """What ``chainsolve ARGS`` prints on standard output (verify may exit 1)."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if result.exit_code not in ({0, 1} if args[0] == "verify" else {0}):
        raise RuntimeError(f"chainsolve {shlex.join(args)} exited {result.exit_code}")
    return result.stdout


def regenerated_page(text: str) -> str:
    """The page with every marked block replaced by the command's current output."""

    def replace(match: re.Match[str]) -> str:
        spec = match["spec"]
        return f"<!-- output: {spec} -->\n" + Excerpt.parse(spec).block()

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from docs import walkthrough  # the README's grading walk-through (several commands)

    return walkthrough.regenerated(MARKER.sub(replace, text))


def write_pdf_picture() -> None:
    """docs/two_paths_latex-1.png: page 1 of the two-path problem's LaTeX, by pdflatex and pdftoppm."""
    from chainsolve.api import solve
    from chainsolve.render import latex_to_pdf

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None or shutil.which("pdflatex") is None:
        print("skipped the PDF picture: pdflatex or pdftoppm is missing", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as directory:
        pdf = Path(directory) / "two_paths.pdf"
        pdf.write_bytes(latex_to_pdf(solve(PICTURE_PROBLEM).to_latex()))
        prefix = DOCS / "two_paths_latex"
        command = [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf), str(prefix)]
        subprocess.run(command, check=True, timeout=120)
    print(f"wrote {prefix}-1.png", file=sys.stderr)


def write_html_screenshots() -> None:
    """docs/html_*.png: the HTML solution in headless Chromium (``docs/html_screenshots.py``)."""
    if shutil.which("chromium") is None:
        print("skipped the HTML screenshots: chromium is missing", file=sys.stderr)
        return
    from docs.html_screenshots import regenerate

    for target in regenerate(DOCS):
        print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)


def main() -> int:
    """Regenerate the examples, the schema page, the excerpts and the pictures."""
    sys.path.insert(0, str(ROOT))
    for script in ("examples/regenerate.py", "examples/backprop/regenerate.py"):
        subprocess.run([sys.executable, str(ROOT / script)], check=True)
    subprocess.run([sys.executable, str(DOCS / "generate_json_schema_doc.py")], check=True)
    for page in PAGES:
        page.write_text(regenerated_page(page.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {page.relative_to(ROOT)}", file=sys.stderr)
    write_pdf_picture()
    write_html_screenshots()
    return 0


if __name__ == "__main__":
    sys.exit(main())
