"""Matrix problems in problem sheets: solved in matrices, rendered in every format, refused in one line."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from chainsolve.cli import main
from chainsolve.sheet import (
    MatrixSheetItem,
    SheetError,
    is_matrix_problem,
    parse_sheet,
    render_sheet,
)
from tests.conftest import compile_latex

#: A scalar problem, a matrix problem without a point and one with a point given as a TOML table.
SHEET = """
title = "Backprop"

[[problems]]
problem = "sin(x^2)"

[[problems]]
problem = "x: 2; W: 3x2; a = W*x; h = sigmoid(a); L = sum(h)"
wrt = "W"

[[problems]]
problem = "x: 2; W: 2x2; a = W*x; L = sum(tanh(a))"
wrt = ["W"]
at = { x = [1, 2], W = [[0.5, -1], [0.25, 2]] }
"""

#: The point of problem 3, exactly.
POINT = {"x": [[1], [2]], "W": [[sympy.Rational(1, 2), -1], [sympy.Rational(1, 4), 2]]}


@functools.cache
def rendered(fmt: str, mode: str) -> str:
    """The sheet above rendered once per format and mode."""
    return render_sheet(parse_sheet(SHEET), fmt, mode=mode)  # type: ignore[arg-type]


def tanh_layer_gradient() -> sympy.Matrix:
    """∂L/∂W of L = Σ tanh(W·x) at POINT by sympy.diff of the entries; nothing of chainsolve."""
    w = sympy.Matrix(2, 2, lambda i, j: sympy.Symbol(f"W{i}{j}"))
    x = sympy.Matrix(2, 1, lambda i, _: sympy.Symbol(f"x{i}"))
    loss = sum(sympy.tanh(entry) for entry in w * x)
    values = {x[i]: POINT["x"][i][0] for i in range(2)}
    values.update({w[i, j]: POINT["W"][i][j] for i in range(2) for j in range(2)})
    return w.applyfunc(lambda entry: sympy.diff(loss, entry).subs(values))


def test_a_problem_with_declarations_is_a_matrix_problem() -> None:
    """Declarations in the text (x: 2; W: 3x2; …) make a problem a matrix problem; others are scalar."""
    problems = parse_sheet(SHEET).problems
    assert [is_matrix_problem(spec) for spec in problems] == [False, True, True]


def test_the_gradient_at_the_point_equals_sympy_diff_of_the_entries() -> None:
    """The sheet's ∂L/∂W at the TOML table's point equals sympy.diff of the layer written out."""
    text = rendered("text", "solutions")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("∂L/∂W = δ_a·xᵀ = [["))
    shown = json.loads(re.search(r"(\[\[.*\]\])", line).group(1))  # type: ignore[union-attr]
    expected = tanh_layer_gradient()
    for i in range(2):
        for j in range(2):
            assert abs(shown[i][j] - float(expected[i, j])) <= 1e-5 * abs(float(expected[i, j]))


def test_each_matrix_solution_agrees_with_the_oracle_entry_by_entry() -> None:
    """Every step of each matrix problem in the sheet was checked against sympy.diff and passed."""
    from chainsolve.sheet import _matrix_item

    for spec in parse_sheet(SHEET).problems[1:]:
        item = _matrix_item(spec, "text", "solutions", None)
        assert isinstance(item, MatrixSheetItem)
        assert item.solution.verified
        assert item.evaluation is None or item.evaluation.verified


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
@pytest.mark.parametrize("mode", ["solutions", "answers", "handout"])
def test_every_format_and_mode_states_the_matrix_problems(fmt: str, mode: str) -> None:
    """Each format and mode states both matrix problems; solutions show their backward passes."""
    text = rendered(fmt, mode)
    assert text.count("Find") >= 3
    shows_solution = "Backward pass" in text
    assert shows_solution == (mode == "solutions")
    if mode == "solutions":
        assert "Solution to problem 2" in text and "Solution to problem 3" in text
    if mode == "answers":
        assert text.count("Answer:") == 3


@pytest.mark.parametrize("mode", ["solutions", "answers", "handout"])
def test_the_latex_sheet_with_matrix_problems_compiles(tmp_path: Path, mode: str) -> None:
    """The LaTeX sheet with matrix problems (bmatrix values, shapes under names) compiles."""
    compile_latex(rendered("latex", mode), tmp_path, "sheet")


def test_the_html_sheet_has_one_document() -> None:
    """The HTML sheet embeds the matrix solutions as sections, not as documents of their own."""
    text = rendered("html", "solutions")
    assert text.count("<!DOCTYPE html>") == 1 and text.count("</html>") == 1
    assert 'id="solution-2"' in text and 'id="solution-3"' in text


def test_the_point_as_a_table_reads_as_the_point_as_text() -> None:
    """A TOML table of nested lists gives the same --at text as writing it out."""
    spec = parse_sheet(SHEET).problems[2]
    assert spec.at == "x=[1, 2],W=[[0.5, -1], [0.25, 2]]"


@pytest.mark.parametrize(
    ("extra", "word"),
    [
        ('implicit = "y"', "'implicit'"),
        ("order = 2", "'order'"),
        ("vary = { c = [1, 2] }", "'vary'"),
    ],
)
def test_scalar_only_keys_on_a_matrix_problem_are_refused(extra: str, word: str) -> None:
    """implicit, order and vary on a matrix problem are refused in one line naming the problem."""
    text = f'title = "T"\n[[problems]]\nproblem = "x: 2; L = sum(c*x)"\n{extra}\n'
    with pytest.raises(SheetError) as info:
        render_sheet(parse_sheet(text), "text")
    assert "problem 1" in info.value.message and word in info.value.message


def test_cli_reports_a_shape_mismatch_in_a_sheet_with_exit_2(tmp_path: Path) -> None:
    """A matrix problem whose shapes do not fit: one line, exit 2, no traceback."""
    path = tmp_path / "bad.toml"
    path.write_text('title = "T"\n[[problems]]\nproblem = "x: 2; W: 3x3; L = sum(W*x)"\n')
    result = CliRunner().invoke(main, ["sheet", str(path)])
    assert result.exit_code == 2
    assert "problem 1" in result.output and "Traceback" not in result.output


# --- grading matrix answers ------------------------------------------------------------------

#: A one-layer σ problem graded with a rubric that gives half the points for the wrong order.
GRADE_SHEET = """
title = "Quiz"
[[problems]]
id = "p1"
problem = "x: 2; W: 3x2; a = W*x; h = sigmoid(a); L = sum(h)"
wrt = "W"
rubric = { points = 4, credit = { matrix_wrong_order = 0.5 } }
"""


def sigmoid_layer() -> tuple[sympy.Matrix, sympy.Matrix, sympy.Matrix, dict[str, sympy.Matrix]]:
    """W, x, ∂L/∂W by sympy.diff of L = Σ σ(W·x) written out, and what each answer means."""
    w = sympy.Matrix(3, 2, lambda i, j: sympy.Symbol(f"W{i}{j}"))
    x = sympy.Matrix(2, 1, lambda i, _: sympy.Symbol(f"x{i}"))
    sigma = (w * x).applyfunc(lambda u: 1 / (1 + sympy.exp(-u)))
    loss = sum(sigma)
    gradient = w.applyfunc(lambda entry: sympy.diff(loss, entry))
    prime = sigma.applyfunc(lambda s: s * (1 - s))
    meanings = {
        "(sigmoid(a) .* sigmoid(-a))*x'": prime * x.T,
        "x*(sigmoid(a) .* sigmoid(-a))'": x * prime.T,
        "sigmoid(a)*x'": sigma * x.T,
    }
    return w, x, gradient, meanings


def _equal_to_oracle(answer: sympy.Matrix, oracle: sympy.Matrix, names: sympy.Matrix) -> bool:
    """Equal entry by entry at seeded random points (a different shape is never equal)."""
    if answer.shape != oracle.shape:
        return False
    import random

    draw = random.Random(5)
    for _ in range(3):
        point = {s: sympy.Rational(draw.randint(-50, 50), 17) for s in names}
        gap = (answer - oracle).xreplace(point)
        if any(abs(sympy.N(entry, 30)) > 1e-20 for entry in gap):
            return False
    return True


def test_grade_with_a_sheet_judges_matrix_answers_like_the_oracle(tmp_path: Path) -> None:
    """Each row's correct column is what sympy.diff of the entries says; wrong order gets its credit."""
    from chainsolve.grade import grade_file
    from chainsolve.sheet import parse_sheet
    from chainsolve.wording import MATRIX_MISTAKES

    w, x, gradient, meanings = sigmoid_layer()
    symbols = sympy.Matrix([*w, *x])
    answers = tmp_path / "answers.csv"
    lines = ["student,problem,answer"] + [f'{n},p1,"{answer}"' for n, answer in enumerate(meanings)]
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    grade_file(answers, jobs=1, output=report, progress=False, sheet=parse_sheet(GRADE_SHEET))
    import csv

    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["answer"] for r in rows] == list(meanings)
    for row, meaning in zip(rows, meanings.values(), strict=True):
        right = _equal_to_oracle(meaning, gradient, symbols)
        assert row["correct"] == ("true" if right else "false"), row
        assert row["verdict"] == ("equivalent" if right else "not_equivalent")
        assert float(row["score"]) == (4.0 if right else 2.0 if row["mistakes"] else 0.0)
        assert all(m in MATRIX_MISTAKES for m in row["mistakes"].split(";") if m)
    # The transposed gradient is named as the wrong order (and earns the rubric's half).
    assert rows[1]["mistakes"] == "matrix_wrong_order" and rows[1]["score"] == "2.0"
    assert "wrong order" in rows[1]["feedback"]


def test_grade_without_a_sheet_reads_declarations_in_the_problem_column(tmp_path: Path) -> None:
    """A submissions file whose problem declares shapes is graded in matrices; a derivation is refused."""
    from chainsolve.grade import grade_file, read_report

    problem = "x: 2; W: 3x2; a = W*x; h = sigmoid(a); L = sum(h)"
    rows = [
        {"id": "right", "problem": problem, "wrt": "W", "answer": "delta_a*x'"},
        {"id": "order", "problem": problem, "wrt": "W", "answer": "x*delta_a'"},
        {"id": "steps", "problem": problem, "wrt": "W", "derivation": "dL/dW = 1"},
    ]
    source = tmp_path / "subs.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    grade_file(source, jobs=1, output=tmp_path / "r.jsonl", progress=False)
    got = list(read_report(tmp_path / "r.jsonl").values())
    w, x, gradient, meanings = sigmoid_layer()
    symbols = sympy.Matrix([*w, *x])
    # delta_a is σ′(a) here (L = Σ σ(a)): the answers mean the first two meanings.
    for row, meaning in zip(got[:2], list(meanings.values())[:2], strict=True):
        assert row["correct"] is _equal_to_oracle(meaning, gradient, symbols)
    assert got[1]["mistakes"] == ["matrix_wrong_order"]
    assert got[2]["verdict"] == "invalid" and "answer column" in got[2]["message"]


def test_a_matrix_row_asking_for_two_gradients_is_invalid_in_one_line(tmp_path: Path) -> None:
    """A matrix problem graded by two gradients at once is an invalid row naming both, not a crash."""
    from chainsolve.grade import grade_file, read_report

    problem = "x: 2; W: 3x2; b: 3; a = W*x + b; L = sum(tanh(a))"
    row = {"id": "two", "problem": problem, "wrt": "W, b", "answer": "delta_a*x'"}
    source = tmp_path / "subs.jsonl"
    source.write_text(json.dumps(row) + "\n", encoding="utf-8")
    grade_file(source, jobs=1, output=tmp_path / "r.jsonl", progress=False)
    (got,) = read_report(tmp_path / "r.jsonl").values()
    assert got["verdict"] == "invalid" and "W, b" in got["message"]


def test_a_sheet_passes_detail_and_notation_to_its_matrix_solutions() -> None:
    """`sheet --detail brief --notation delta`: the matrix solutions drop their gate rules and write δ alone."""
    sheet = parse_sheet(SHEET)
    brief = render_sheet(sheet, "text", detail="brief", notation="delta")  # type: ignore[arg-type]
    normal = rendered("text", "solutions")
    assert "Rules:" in normal and "Rules:" not in brief
    assert "δ_a = ∂L/∂a = " in normal and "δ_a = ∂L/∂a" not in brief
    assert "δ_v means ∂L/∂v for every intermediate v" in brief
    assert "   δ_a = " in brief


@pytest.mark.parametrize(
    ("notation", "note"),
    [
        ("lagrange", "the sheet's matrix problems are written in Leibniz notation"),
        ("delta", "the sheet's problems without shapes are written in Leibniz notation"),
    ],
)
def test_a_notation_without_meaning_for_some_sheet_problems_says_so(
    tmp_path: Path, notation: str, note: str
) -> None:
    """`sheet --notation lagrange|delta` on a sheet of both kinds: one note on stderr, exit 0."""
    sheet = tmp_path / "sheet.toml"
    sheet.write_text(SHEET, encoding="utf-8")
    result = CliRunner().invoke(main, ["sheet", str(sheet), "--notation", notation])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1 and note in result.stderr
    plain = CliRunner().invoke(main, ["sheet", str(sheet)])
    assert plain.stderr == ""


def test_grade_credits_a_forgotten_broadcast_sum_by_the_rubric(tmp_path: Path) -> None:
    """A rubric may credit `matrix_missing_broadcast_sum`: δ_a for a 1×1 b earns it, sum(δ_a) is full marks."""
    from chainsolve.grade import grade_file
    from chainsolve.sheet import parse_sheet

    sheet = parse_sheet(
        'title = "Bias"\n[[problems]]\nid = "p1"\n'
        'problem = "x: 2; W: 3x2; b: 1; a = W*x + b; L = sum(tanh(a))"\nwrt = "b"\n'
        "rubric = { points = 2, credit = { matrix_missing_broadcast_sum = 0.5 } }\n"
    )
    answers = tmp_path / "answers.csv"
    answers.write_text('student,problem,answer\n0,p1,"sum(delta_a)"\n1,p1,"delta_a"\n')
    report = tmp_path / "report.csv"
    grade_file(answers, jobs=1, output=report, progress=False, sheet=sheet)
    import csv

    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["correct"], r["score"]) for r in rows] == [("true", "2.0"), ("false", "1.0")]
    assert rows[1]["mistakes"] == "matrix_missing_broadcast_sum"
    assert "forgot to sum over the broadcast entries" in rows[1]["feedback"]
