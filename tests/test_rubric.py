"""Tests for chainsolve.rubric and chainsolve.variants: scores, feedback, domains, per-student variants."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from chainsolve.cli import main
from chainsolve.grade import Submission, grade_file, grade_submission
from chainsolve.parsing import parse_expression
from chainsolve.rubric import (
    Feedback,
    Rubric,
    form_failures,
    parse_assume,
    rubric_from_dict,
)
from chainsolve.sheet import SheetError, load_sheet, parse_sheet
from chainsolve.variants import draw, instantiate, student_sheet

SHEET = Path(__file__).resolve().parent.parent / "examples" / "sheet" / "rubric_homework.toml"
X = sympy.Symbol("x", real=True)


def graded(problem: str, rubric: Rubric, **text: str) -> dict[str, object]:
    """The scored row of one submission (answer= or derivation=)."""
    return grade_submission(Submission(0, "s", problem, rubric=rubric, **text), timeout=20)


def oracle(problem: str) -> str:
    """d/dx of a one-line problem in x, by sympy (the independent oracle), as input text."""
    return str(sympy.diff(parse_expression(problem), X)).replace("**", "^")


def test_right_answer_gets_all_points() -> None:
    """An answer equal to sympy's derivative scores the rubric's points, with no feedback."""
    row = graded("sin(x^2)", Rubric(points=4), answer=oracle("sin(x^2)"))
    assert (row["score"], row["points"], row["feedback"]) == (4.0, 4.0, "")


def test_named_mistake_gets_its_partial_credit() -> None:
    """missing_inner_derivative = 0.5 gives half the points to cos(x^2) for sin(x^2)."""
    rubric = rubric_from_dict({"points": 4, "credit": {"missing_inner_derivative": 0.5}})
    row = graded("sin(x^2)", rubric, answer="cos(x^2)")
    assert row["mistakes"] == ["missing_inner_derivative"]
    assert row["score"] == 2.0
    assert row["feedback"] == "partial credit for the mistake: inner derivative missing"


def test_unlisted_mistake_gets_nothing() -> None:
    """A wrong answer whose mistake the rubric gives no credit for scores 0."""
    rubric = rubric_from_dict({"points": 4, "credit": {"sign_error": 0.5}})
    assert graded("sin(x^2)", rubric, answer="cos(x^2)")["score"] == 0.0


def test_correct_lines_after_a_slip_earn_credit() -> None:
    """A derivation whose first line slips but whose next line follows from it gets after_slip."""
    derivation = "dy/dx = cos(x^2) * x\n= x*cos(x^2)"
    row = graded("sin(x^2)", Rubric(points=10, after_slip=0.6), derivation=derivation)
    assert (row["correct"], row["first_wrong_line"], row["score"]) == (False, 1, 6.0)
    no_slip_credit = graded("sin(x^2)", Rubric(points=10), derivation=derivation)
    assert no_slip_credit["score"] == 0.0


def test_lines_after_a_slip_that_do_not_follow_earn_nothing() -> None:
    """After-slip credit counts only the later lines that follow from the line before them."""
    derivation = "dy/dx = cos(x^2) * x\n= 3*x*cos(x^2)"
    assert graded("sin(x^2)", Rubric(points=10, after_slip=0.6), derivation=derivation)[
        "score"
    ] == pytest.approx(0.0)


def test_required_form_costs_the_form_credit() -> None:
    """A right answer not in the required form gets form_credit of the points, and says why."""
    rubric = Rubric(points=2, form=("factored",), form_credit=0.25)
    row = graded("x^2*exp(x)", rubric, answer="2x*exp(x) + x^2*exp(x)")
    assert row["correct"] is True
    assert (row["score"], row["feedback"]) == (0.5, "right, but not in the required form: factored")
    assert graded("x^2*exp(x)", rubric, answer="x*exp(x)*(x + 2)")["score"] == 2.0


@pytest.mark.parametrize(
    ("answer", "failures"),
    [
        ("x*(x + 2)", []),
        ("x^2 + 2*x", ["factored"]),
        ("x^2 + 1", []),
        ("(x^2 + 2*x)*(x + 1)/(x + 1)", ["factored"]),  # the parser cancels x + 1 first
        ("x^2 + 2*x + 0*sin(x)^2 + (cos(x)^2 + sin(x)^2 - 1)", ["simplified"]),
    ],
)
def test_forms_are_checked_structurally(answer: str, failures: list[str]) -> None:
    """factored: no common non-numeric factor in a sum; simplified: no more ops than the oracle."""
    assert form_failures(parse_expression(answer), parse_expression("x^2 + 2*x")) == failures


def test_a_derivative_left_in_the_answer_fails_no_derivative_left() -> None:
    """d/dx of a known expression is not a final answer; f′(x) of an unknown f is."""
    left = sympy.Derivative(sympy.sin(X**2), X)
    assert form_failures(left, left) == ["no derivative left"]
    f = sympy.Function("f")
    assert form_failures(sympy.Derivative(f(X), X), sympy.Derivative(f(X), X)) == []


def test_declared_domain_decides_equivalence() -> None:
    """For sqrt(x^2), 1 is right on x > 0 only, -1 on x < 0 only: judged on the declared domain."""
    assert graded("sqrt(x^2)", Rubric(), answer="1")["score"] == 0.0
    on_positive = graded("sqrt(x^2)", Rubric(assume=parse_assume("x > 0")), answer="1")
    assert (on_positive["verdict"], on_positive["score"]) == ("equivalent", 1.0)
    assert "x > 0" in str(on_positive["message"])
    assert graded("sqrt(x^2)", Rubric(assume=parse_assume("x > 0")), answer="-1")["score"] == 0.0
    assert graded("sqrt(x^2)", Rubric(assume=parse_assume("x ≤ 0")), answer="-1")["score"] == 1.0


def test_domain_with_an_offset_is_the_declared_one() -> None:
    """For |x - 1|, 1 is right on x > 1 (as sympy's derivative there says), not on x > 0."""
    derivative = sympy.diff(sympy.Abs(X - 1), X)
    assert [float(derivative.subs(X, v)) for v in (1.5, 2, 7, 0.5)] == [1, 1, 1, -1]
    assert graded("abs(x - 1)", Rubric(assume=parse_assume("x > 1")), answer="1")["score"] == 1.0
    assert graded("abs(x - 1)", Rubric(assume=parse_assume("x > 0")), answer="1")["score"] == 0.0


def test_anticipated_answer_matched_by_equivalence_gives_its_feedback() -> None:
    """An answer equivalent to an anticipated one (not the same text) gets its Unicode feedback."""
    text = "Il manque la dérivée intérieure : multipliez par (x²)′ = 2x. 内側の微分"
    rubric = Rubric(points=4, feedback=(Feedback("cos(x*x)", text, 0.25),))
    row = graded("sin(x^2)", rubric, answer="cos(x^2)")
    assert (row["feedback"], row["score"]) == (text, 1.0)
    other = graded("sin(x^2)", rubric, answer="-cos(x^2)")
    assert other["feedback"] != text


def test_anticipated_answer_without_credit_keeps_the_mistake_credit() -> None:
    """An anticipated answer with no credit of its own gets what its named mistake would get."""
    rubric = Rubric(
        points=4,
        credit=(("missing_inner_derivative", 0.5),),
        feedback=(Feedback("cos(x^2)", "Multiply by the inner derivative."),),
    )
    row = graded("sin(x^2)", rubric, answer="cos(x^2)")
    assert (row["score"], row["feedback"]) == (2.0, "Multiply by the inner derivative.")


def test_invalid_answer_is_left_for_hand_review() -> None:
    """A row with no verdict on the answer gets no score, a hand-review note and its labels."""
    row = graded("sin(x^2)", Rubric(problem_id="p1", student="ana"), answer="cos(x^2")
    assert (row["verdict"], row["score"], row["problem"], row["student"]) == (
        "invalid",
        None,
        "p1",
        "ana",
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"points": -1}, "'points' must be a positive number"),
        ({"credit": {"forgot_everything": 0.5}}, "unknown mistake 'forgot_everything'"),
        ({"credit": {"sign_error": 2}}, "between 0 and 1"),
        ({"form": "pretty"}, "'form' must be one or more of"),
        ({"assume": "x is positive"}, "'assume' must be conditions"),
        ({"feedback": [{"answer": "cos(x", "text": "t"}]}, "'feedback' answer 'cos(x'"),
        ({"feedback": [{"answer": "cos(x)"}]}, "needs an 'answer' and a 'text'"),
        ({"pionts": 3}, "unknown key 'pionts'"),
    ],
)
def test_bad_rubrics_are_reported(table: dict[str, object], expected: str) -> None:
    """Each mistake in a rubric table is a clear ValueError naming it."""
    with pytest.raises(ValueError) as error:
        rubric_from_dict(table)
    assert expected in str(error.value)


# -- variants ---------------------------------------------------------------------------------


def test_draw_is_deterministic_per_seed_and_student_and_within_ranges() -> None:
    """Same (seed, student, problem) → same parameters; each in its declared range."""
    vary = (("a", 2, 9), ("n", 2, 5))
    students = [f"student{i}" for i in range(40)]
    first = [draw(vary, 7, s, "p1") for s in students]
    assert first == [draw(vary, 7, s, "p1") for s in students]
    assert all(2 <= v["a"] <= 9 and 2 <= v["n"] <= 5 for v in first)
    assert len({tuple(v.values()) for v in first}) > 5
    assert first != [draw(vary, 8, s, "p1") for s in students]


def test_instantiate_replaces_whole_names_only() -> None:
    """Parameters replace whole names (not the a of asin or tan); negatives are parenthesised."""
    assert instantiate("a*tan(x)^n + asin(x) + a", {"a": -2, "n": 3}) == (
        "(-2)*tan(x)^3 + asin(x) + (-2)"
    )


def test_grade_with_sheet_grades_each_student_against_their_own_variant(tmp_path: Path) -> None:
    """Each student's oracle answer to their own variant is right, and wrong for another's."""
    sheet = load_sheet(SHEET)
    rows = []
    for student in ("ana", "ben", "chloé"):
        mine = student_sheet(sheet, student).problems[0].problem
        rows.append({"student": student, "problem": "p1", "answer": oracle(mine)})
    theirs = student_sheet(sheet, "ana").problems[0].problem
    assert theirs != student_sheet(sheet, "ben").problems[0].problem
    rows.append({"student": "ben", "problem": "p1", "answer": oracle(theirs)})
    rows.append({"student": "ben", "problem": "nope", "answer": "1"})
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = tmp_path / "report.csv"
    grade_file(answers, jobs=1, output=report, progress=False, sheet=sheet)
    got = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["id"] for r in got] == ["ana/p1", "ben/p1", "chloé/p1", "ben/p1", "ben/nope"]
    assert [r["student"] for r in got[:4]] == ["ana", "ben", "chloé", "ben"]
    assert [r["correct"] for r in got[:4]] == ["true", "true", "true", "false"]
    assert [r["score"] for r in got[:4]] == ["4.0", "4.0", "4.0", "0.0"]
    assert got[4]["verdict"] == "invalid" and "no problem 'nope'" in got[4]["message"]
    assert theirs not in report.read_text(encoding="utf-8")  # rows name ids, not the problem


def test_cli_grade_sheet_adds_the_rubric_columns(tmp_path: Path) -> None:
    """`grade --sheet` writes score, points and feedback after the usual columns."""
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,answer\nana,p2,1\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(
        main, ["grade", str(answers), "--sheet", str(SHEET), "-o", str(report), "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    header = report.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(",seconds,student,score,points,feedback")


def test_cli_sheet_renders_one_students_variant(tmp_path: Path) -> None:
    """`sheet --student` renders that student's variant, the same on every run."""
    sheet = load_sheet(SHEET)
    values = draw(sheet.problems[0].vary, sheet.seed, "ana", "p1")
    runs = [
        CliRunner().invoke(main, ["sheet", str(SHEET), "--student", "ana", "--no-solutions"])
        for _ in range(2)
    ]
    assert runs[0].exit_code == 0, runs[0].output
    assert runs[0].output == runs[1].output
    assert f"y = sin({values['a']}x" in runs[0].output


def test_cli_bad_rubric_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A sheet with a bad rubric stops `grade --sheet` with one clear line and exit code 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'title = "T"\n[[problems]]\nproblem = "sin(x)"\n[problems.rubric]\npoints = "four"\n',
        encoding="utf-8",
    )
    answers = tmp_path / "a.csv"
    answers.write_text("student,problem,answer\nana,1,cos(x)\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["grade", str(answers), "--sheet", str(bad)])
    assert result.exit_code == 2
    assert "problem 1: rubric: 'points' must be a positive number" in result.output
    assert "Traceback" not in result.output


def test_sheet_error_names_bad_vary() -> None:
    """A 'vary' range that is not [lowest, highest] is a SheetError naming the problem."""
    with pytest.raises(SheetError, match="problem 1: 'vary': a must be"):
        parse_sheet('title = "T"\n[[problems]]\nproblem = "sin(a*x)"\nvary = {a = [5, 2]}\n')


def test_identical_answers_of_two_students_share_a_verdict_but_keep_their_labels(
    tmp_path: Path,
) -> None:
    """Two students' identical answers to a fixed problem are judged once, each row labelled."""
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "student,problem,answer\nana,p3,x*exp(x)*(x+2)\nben,p3,x*exp(x)*(x+2)\n", encoding="utf-8"
    )
    report = tmp_path / "report.jsonl"
    summary = grade_file(
        answers,
        jobs=1,
        output=report,
        report_format="jsonl",
        progress=False,
        sheet=load_sheet(SHEET),
    )
    rows = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert summary.extra["judged"] == 1
    assert [(r["id"], r["student"], r["score"]) for r in rows] == [
        ("ana/p3", "ana", 2.0),
        ("ben/p3", "ben", 2.0),
    ]


def test_rubric_out_of_time_leaves_the_row_for_hand_review() -> None:
    """A rubric that runs out of the row's time gives no score, never a guessed one."""
    # In a child process: a deadline that fires inside sympy could leave its caches
    # half-built for the tests that run after this one.
    script = (
        "import json\n"
        "from chainsolve.parsing import parse_problem\n"
        "from chainsolve.rubric import Feedback, Rubric, score_row\n"
        "rubric = Rubric(points=4, feedback=(Feedback('cos(x^2)', 't'),))\n"
        "row = {'id': 's', 'verdict': 'not_equivalent', 'mistakes': [], 'limit': ''}\n"
        "problem = parse_problem('sin(x^2)')\n"
        "rows = [score_row(row, rubric, problem=problem, answer='cos(x^2)', timeout=t)\n"
        "        for t in (1e-6, 20)]\n"
        "print(json.dumps([[r['score'], r['feedback']] for r in rows]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    starved, full = json.loads(run.stdout)
    assert starved == [None, "not scored: to be reviewed by hand"]
    assert full == [0.0, "t"]


def test_resume_keeps_the_scored_rows(tmp_path: Path) -> None:
    """--resume keeps each student's scored rows as they were: the report is unchanged."""
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,answer\nana,p1,1\nana,p2,1\nben,p2,-1\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    sheet = load_sheet(SHEET)
    grade_file(answers, jobs=1, output=report, progress=False, sheet=sheet)
    first = report.read_text(encoding="utf-8")
    summary = grade_file(answers, jobs=1, output=report, progress=False, sheet=sheet, resume=True)
    assert summary.resumed == 3
    assert report.read_text(encoding="utf-8") == first
    assert ",ana,2.0,2.0," in first and ",ben,0.0,2.0," in first


def test_anticipated_answers_are_instantiated_for_each_students_variant() -> None:
    """cos(a·xⁿ) of the student's own a and n gets the anticipated feedback; sympy's answer, 4."""
    sheet = load_sheet(SHEET)
    for student in ("ana", "ben", "chloé", "dmitri", "eun-ji"):
        spec = student_sheet(sheet, student).problems[0]
        assert spec.rubric is not None
        inner = spec.problem.removeprefix("sin(").removesuffix(")")
        missing = graded(spec.problem, spec.rubric, answer=f"cos({inner})")
        assert missing["feedback"] == spec.rubric.feedback[1].text
        assert missing["score"] == 2.0
        assert graded(spec.problem, spec.rubric, answer=oracle(spec.problem))["score"] == 4.0


GRADEBOOK_SHEET = """
title = "Gradebook check"
seed = 7

[[problems]]
id = "p1"
problem = "sin(a*x^2)"
vary = { a = [2, 9] }
[problems.rubric]
points = 4
credit = { missing_inner_derivative = 0.5 }
[[problems.rubric.feedback]]
answer = "2*a*x"
text = "Only the inner derivative."
credit = 0.25

[[problems]]
id = "p2"
problem = "x^2*exp(x)"
[problems.rubric]
points = 2
form = "factored"
form_credit = 0.5
"""


def _import_as_canvas(path: Path) -> dict[str, dict[str, float | None]]:
    """The gradebook as Canvas reads it: students by SIS User ID, every column after the five
    leading ones an assignment (but the read-only Final Points), a blank cell no grade."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    book: dict[str, dict[str, float | None]] = {}
    for row in rows:
        assignments = list(row)[5:]
        assert list(row)[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        book[row["SIS User ID"]] = {
            name: float(row[name]) if row[name] else None for name in assignments
        }
    return book


def test_gradebook_carries_the_rubric_scores_and_overrides(tmp_path: Path) -> None:
    """--gradebook with --sheet: one row per student, each problem's cell its rubric score
    (points, partial credit, anticipated answer, required form, overrides; blank for hand
    review), the total of them, the same after --resume."""
    sheet_file = tmp_path / "sheet.toml"
    sheet_file.write_text(GRADEBOOK_SHEET, encoding="utf-8")
    sheet = load_sheet(sheet_file)
    p1 = {s: student_sheet(sheet, s).problems[0].problem for s in ("ana", "ben", "cy", "dee")}
    a_of = {s: p1[s].removeprefix("sin(").split("*")[0] for s in p1}
    rows = [
        ("ana", "p1", oracle(p1["ana"])),  # right: all 4 points
        ("ana", "p2", "2x*exp(x) + x^2*exp(x)"),  # right, not factored: half of 2
        ("ben", "p1", f"cos({a_of['ben']}*x^2)"),  # missing inner derivative: 50 %, overridden
        ("ben", "p2", "x*(x+2)*exp(x)"),  # right and factored
        ("cy", "p1", f"2*{a_of['cy']}*x"),  # the anticipated answer: 25 %
        ("cy", "p2", "x^2*exp(x"),  # unreadable: hand review, then a scored override
        ("dee", "p1", "x^2*exp(x"),  # unreadable: hand review, left blank
        ("dee", "p2", "0"),  # wrong, no credit
    ]
    answers = tmp_path / "answers.csv"
    _write_rows(answers, rows)
    overrides = tmp_path / "overrides.csv"
    overrides.write_text(
        "id,problem,verdict,score,feedback\n"
        "ben,p1,equivalent,,\n"
        "cy,p2,,1.5,Typo accepted for most of the points\n",
        encoding="utf-8",
    )
    report, book = tmp_path / "report.csv", tmp_path / "book.csv"
    options: dict[str, object] = {
        "jobs": 1,
        "output": report,
        "progress": False,
        "sheet": sheet,
        "overrides_path": overrides,
        "gradebook_path": book,
    }
    summary = grade_file(answers, **options)  # type: ignore[arg-type]
    expected = {
        "ana": {"p1": 4.0, "p2": 1.0, "Final Points": 5.0},
        "ben": {"p1": 4.0, "p2": 2.0, "Final Points": 6.0},
        "cy": {"p1": 1.0, "p2": 1.5, "Final Points": 2.5},
        "dee": {"p1": None, "p2": 0.0, "Final Points": 0.0},
    }
    assert _import_as_canvas(book) == expected
    graded = {r["id"]: r for r in csv.DictReader(report.open(encoding="utf-8"))}
    assert graded["cy/p1"]["feedback"] == "Only the inner derivative."
    assert (graded["ben/p1"]["limit"], graded["ben/p1"]["score"]) == ("override", "4.0")
    assert graded["cy/p2"]["feedback"] == "Typo accepted for most of the points"
    assert graded["dee/p1"]["score"] == "" and graded["dee/p1"]["verdict"] == "invalid"
    # The summary's per-problem breakdown counts the rows after the overrides.
    assert "| p2 | 4 | 2 | 1.125 / 2 |" in summary.to_markdown()
    assert (summary.by_problem["p1"].rows, summary.by_problem["p1"].scored) == (4, 3)
    first = book.read_text(encoding="utf-8")
    grade_file(answers, resume=True, **options)  # type: ignore[arg-type]
    assert book.read_text(encoding="utf-8") == first


def test_gradebook_names_email_and_section_come_from_the_input(tmp_path: Path) -> None:
    """With --sheet the gradebook's Student, SIS Login ID and Section are the input's columns."""
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "student,name,email,section,problem,answer\n"
        "ana,Ana Lima,ana@example.org,A,p3,x*exp(x)*(x+2)\n",
        encoding="utf-8",
    )
    book = tmp_path / "book.csv"
    grade_file(
        answers,
        jobs=1,
        output=tmp_path / "r.csv",
        progress=False,
        sheet=load_sheet(SHEET),
        gradebook_path=book,
    )
    (row,) = list(csv.DictReader(book.open(encoding="utf-8")))
    assert (row["Student"], row["SIS User ID"], row["SIS Login ID"], row["Section"]) == (
        "Ana Lima",
        "ana",
        "ana@example.org",
        "A",
    )
    assert (row["p3"], row["Final Points"]) == ("2", "2")


def test_override_score_must_be_a_number(tmp_path: Path) -> None:
    """An overrides file whose score is not a number of points stops the run with one line."""
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,answer\nana,p3,1\n", encoding="utf-8")
    overrides = tmp_path / "o.csv"
    overrides.write_text("id,problem,score\nana,p3,lots\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["grade", str(answers), "--sheet", str(SHEET), "--overrides", str(overrides), "-j", "1"],
    )
    assert result.exit_code == 2
    assert "line 2: the score 'lots' is not a number of points" in result.output


def _write_rows(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A submissions CSV of (student, problem, answer) rows."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "problem", "answer"])
        writer.writerows(rows)
