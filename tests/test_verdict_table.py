"""verify against a teacher's table: verdict, exit code and named mistake for each answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from chainsolve.cli import main as cli

TABLE = Path(__file__).parent / "data" / "verdict_table.tsv"


class Row(NamedTuple):
    """One answer and what a teacher says about it."""

    problem: str
    answer: str
    wrt: str | None
    verdict: str
    mistake: str | None
    why: str


def _rows() -> list[Row]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        problem, answer, wrt, verdict, mistake, why = line.split("\t")
        rows.append(
            Row(
                problem,
                answer,
                None if wrt == "-" else wrt,
                verdict,
                None if mistake == "-" else mistake,
                why,
            )
        )
    return rows


ROWS = _rows()


def test_the_table_is_large_and_varied() -> None:
    """The table holds at least 60 answers, with every verdict and several mistakes."""
    assert len(ROWS) >= 60
    assert {r.verdict for r in ROWS} == {"equivalent", "not_equivalent", "equivalent_on_part"}
    assert len({r.mistake for r in ROWS if r.mistake}) >= 8


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.problem} | {r.answer}" for r in ROWS])
def test_verdict_matches_the_teacher(row: Row) -> None:
    """verify gives the teacher's verdict, exit 0 exactly when equivalent, and names the mistake."""
    arguments = ["verify", row.problem, f"--answer={row.answer}", "--format", "json"]
    if row.wrt:
        arguments += ["--wrt", row.wrt]
    result = CliRunner().invoke(cli, arguments)
    data = json.loads(result.output)
    assert data["verdict"] == row.verdict, (row.why, data["message"])
    assert result.exit_code == (0 if row.verdict == "equivalent" else 1)
    assert data["correct"] is (row.verdict == "equivalent")
    if row.mistake:
        assert row.mistake in data["mistakes"], data["message"]
    if row.verdict != "equivalent":
        assert data["counterexample"] is not None
