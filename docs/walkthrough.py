"""The README's grading walk-through, run for real: a sheet with a rubric and variants to a gradebook.

``docs/regenerate.py`` replaces the Markdown between ``<!-- walkthrough: grading -->`` and
``<!-- /walkthrough -->`` with :func:`walkthrough`: each step's caption, then the command as
typed and what it printed or wrote, run in a scratch folder holding the example files
(``examples/sheet/rubric_*``). The only cut is the run's duration, a ``…`` in the summary.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "sheet"
FILES = ("rubric_homework.toml", "rubric_answers.csv", "rubric_overrides.csv")
CUT = "…"
#: Width of the captions' lines (the README's prose).
WIDTH = 92

#: The marked part of a page: its name and the Markdown generated for it.
MARKER = re.compile(
    r"^<!-- walkthrough: (?P<name>\w+) -->\n(?P<body>.*?)^<!-- /walkthrough -->\n", re.M | re.S
)

GRADE = ["grade", "rubric_answers.csv", "--sheet", "rubric_homework.toml", "-j", "1"]
REPORT_COLUMNS = ("id", "verdict", "score", "points", "feedback")
REVIEW_COLUMNS = ("id", "verdict", "message", "answer")


@dataclass(frozen=True)
class Step:
    """One step: a caption, then a command (``chainsolve ARGS``), a file shown, or columns of one.

    ``keep`` keeps only the first lines of a command's output; ``columns`` shows a CSV file's
    named columns as a ``csv`` block.
    """

    caption: str
    args: tuple[str, ...] = ()
    show: str | None = None
    columns: tuple[str, ...] = ()
    keep: int | None = None


STEPS = (
    Step(
        "Each student gets a variant of their own, the same on every run and every machine "
        "(the parameters come from a SHA-256 of the seed, the student and the problem id); "
        "ben's, as a hand-out:",
        args=("sheet", "rubric_homework.toml", "--student", "ben", "--no-solutions"),
    ),
    Step(
        "The class's answers: a row per student and problem, the student in `student` (or "
        "`id`), the problem's id in `problem`; `name`, `email` and `section` go to the "
        "gradebook:",
        show="rubric_answers.csv",
    ),
    Step(
        "Each row is graded against its student's variant and scored by the rubric. The "
        "summary counts verdicts and mistakes, then breaks the run down per problem (rows, "
        "correct rows, the mean score over the scored rows, the named mistakes):",
        args=(
            *GRADE,
            "-o",
            "report.csv",
            "--review",
            "review.csv",
            "--gradebook",
            "gradebook.csv",
        ),
    ),
    Step(
        "`report.csv` gains the rubric's columns `student`, `problem`, `score`, `points` and "
        "`feedback` (then the input's own); its `id` is `student/problem`, never the problem's "
        "text. Its `id`, `verdict` and scores (the other columns as in any report):",
        show="report.csv",
        columns=REPORT_COLUMNS,
    ),
    Step(
        "`review.csv`, the queue for hand review (undecided, crashed, invalid and partly "
        "unreadable rows; the same columns as the report):",
        show="review.csv",
        columns=REVIEW_COLUMNS,
    ),
    Step(
        "`gradebook.csv`: one row per student, each problem's score in points (blank while "
        "the row waits for hand review), ready for Canvas or Moodle:",
        show="gradebook.csv",
    ),
    Step(
        "The instructor decides dan's unreadable answer in an overrides file and resumes: "
        "the rows already graded are kept, the decision is applied, the gradebook rewritten:",
        show="rubric_overrides.csv",
    ),
    Step(
        "",
        args=(
            *GRADE,
            "-o",
            "report.csv",
            "--resume",
            "--overrides",
            "rubric_overrides.csv",
            "--gradebook",
            "gradebook.csv",
        ),
        keep=3,
    ),
    Step("", show="gradebook.csv"),
)


def run_cli(args: tuple[str, ...]) -> str:
    """What ``chainsolve ARGS`` prints on standard output, run in the current folder."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise RuntimeError(f"chainsolve {shlex.join(args)} exited {result.exit_code}")
    return result.stdout


def _without_duration(line: str) -> str:
    """A summary line with the run's duration (different on every run) cut."""
    return re.sub(r"; \d+(\.\d+)? s on ", f"; {CUT} s on ", line)


def _columns(path: Path, names: tuple[str, ...]) -> str:
    """The named columns of a CSV file, as CSV."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([row[name] for name in names] for row in rows)
    return out.getvalue()


def _blocks(folder: Path) -> Iterator[str]:
    """The Markdown of every step, run in ``folder`` in turn."""
    console: list[str] = []
    for step in STEPS:
        if step.caption:
            if console:
                yield "```console\n" + "\n".join(console) + "\n```\n"
                console = []
            yield textwrap.fill(step.caption, WIDTH) + "\n"
        if step.columns and step.show is not None:
            yield "```csv\n" + _columns(folder / step.show, step.columns) + "```\n"
            continue
        if step.show is not None:
            console.append(f"$ cat {step.show}")
            console.extend((folder / step.show).read_text(encoding="utf-8").splitlines())
            continue
        lines = [_without_duration(line) for line in run_cli(step.args).rstrip().splitlines()]
        if step.keep is not None and len(lines) > step.keep:
            lines = [*lines[: step.keep], CUT]
        console.append("$ chainsolve " + shlex.join(step.args))
        console.extend(lines)
    if console:
        yield "```console\n" + "\n".join(console) + "\n```\n"


def walkthrough() -> str:
    """The walk-through's Markdown: every step run for real in a scratch folder."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for name in FILES:
            shutil.copy(EXAMPLES / name, folder / name)
        here = Path.cwd()
        os.chdir(folder)
        try:
            return "\n".join(_blocks(folder))
        finally:
            os.chdir(here)


def regenerated(text: str) -> str:
    """``text`` with every walk-through marker's body generated again."""

    def replace(match: re.Match[str]) -> str:
        if match["name"] != "grading":
            raise ValueError(f"unknown walk-through {match['name']!r}")
        return f"<!-- walkthrough: grading -->\n{walkthrough()}<!-- /walkthrough -->\n"

    return MARKER.sub(replace, text)
