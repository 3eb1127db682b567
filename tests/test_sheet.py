"""Tests for chainsolve.sheet and `chainsolve sheet`: reading, validating and rendering problem sheets."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainsolve.cli import main
from chainsolve.errors import ChainsolveError
from chainsolve.sheet import Sheet, SheetError, load_sheet, parse_sheet, render_sheet
from tests.conftest import compile_latex

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sheet" / "chain_rule_homework.toml"

SMALL = """
title = "Quiz"
author = "A. Teacher"

[[problems]]
problem = "sin(x^2)"
instructions = "Name the inner function."

[[problems]]
problem = "z = x^2*y; x = cos(t); y = exp(t)"

[[problems]]
problem = "L = (w*x + b - y)^2"
wrt = ["w", "b"]
at = { w = 2, x = 3, b = 1, y = 10 }
"""


@functools.cache
def small() -> Sheet:
    """The small sheet above, parsed once."""
    return parse_sheet(SMALL)


@functools.cache
def rendered(fmt: str, mode: str) -> str:
    """The small sheet rendered once per format and mode."""
    return render_sheet(small(), fmt, mode=mode)  # type: ignore[arg-type]


def _error(text: str) -> SheetError:
    """The error parsing (and, if that passes, rendering) ``text`` raises."""
    with pytest.raises(SheetError) as info:
        render_sheet(parse_sheet(text), "text", mode="handout")
    return info.value


# --- reading and validating ----------------------------------------------------------------


def test_parse_reads_every_field() -> None:
    """Title, author and each problem's text, wrt, point and instructions are read."""
    sheet = small()
    assert (sheet.title, sheet.author, sheet.date) == ("Quiz", "A. Teacher", None)
    assert [p.number for p in sheet.problems] == [1, 2, 3]
    assert sheet.problems[0].instructions == "Name the inner function."
    assert sheet.problems[2].wrt == "w,b"
    assert sheet.problems[2].at == "w=2,x=3,b=1,y=10"


def test_wrt_and_at_also_accept_strings() -> None:
    """wrt = "w,b" and at = "w=2, x=3" are taken as the command line takes them."""
    sheet = parse_sheet('title = "T"\n[[problems]]\nproblem = "w*x"\nwrt = "w"\nat = "w=2, x=3"')
    assert (sheet.problems[0].wrt, sheet.problems[0].at) == ("w", "w=2, x=3")


def test_load_sheet_reads_the_sample_file() -> None:
    """The sample sheet in examples/sheet is valid, with 6 to 8 problems and one with a point."""
    sheet = load_sheet(SAMPLE)
    assert 6 <= len(sheet.problems) <= 8
    assert any(p.at for p in sheet.problems)
    assert any(";" in p.problem for p in sheet.problems)


def test_sheet_error_is_a_chainsolve_error() -> None:
    """SheetError is a ChainsolveError, so the CLI reports it in one line with exit 2."""
    assert issubclass(SheetError, ChainsolveError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[problems]]\nproblem = "x"', "no 'title'"),
        ('title = "T"', "no problems"),
        ('title = "T"\nproblems = []', "no problems"),
        ('title = "T"\ncolour = "red"\n[[problems]]\nproblem = "x"', "unknown key 'colour'"),
        (
            'title = "T"\n[[problems]]\nproblem = "x"\n[[problems]]\nwrt = "x"',
            "problem 2: 'problem'",
        ),
        ('title = "T"\n[[problems]]\nproblm = "x"', "problem 1: unknown key 'problm'"),
        ('title = "T"\n[[problems]]\nproblem = 3', "problem 1: 'problem' must be"),
        ('title = "T"\n[[problems]]\nproblem = "x"\nwrt = 1', "problem 1: 'wrt' must be"),
        ('title = "T"\n[[problems]]\nproblem = "x"\nat = [1]', "problem 1: 'at' must be"),
        ('title = "T"\n[[problems]]\nproblem = "x"\nat = {x = true}', "problem 1: 'at': the value"),
        ('title = "T\n', "not valid TOML"),
        ('title = "T"\nseed = "x"\n[[problems]]\nproblem = "x"', "'seed' must be a whole"),
        (
            'title = "T"\n[[problems]]\nid = "a"\nproblem = "x"\n[[problems]]\nid = "a"\n'
            'problem = "x^2"',
            "problem 2: the id 'a' is used twice",
        ),
        (
            'title = "T"\n[[problems]]\nproblem = "x"\nrubric = {points = 0}',
            "problem 1: rubric: 'points' must be a positive number",
        ),
        ('title = "T"\n[[problems]]\nproblem = "a*x"\nvary = {a = 3}', "problem 1: 'vary'"),
    ],
)
def test_invalid_sheets_are_reported(text: str, expected: str) -> None:
    """Each malformed sheet raises a SheetError saying what is wrong and where."""
    with pytest.raises(SheetError) as info:
        parse_sheet(text)
    assert expected in info.value.message


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file and the line."""
    path = tmp_path / "hw.toml"
    path.write_text('title = "T"\n[[problems]\n', encoding="utf-8")
    with pytest.raises(SheetError) as info:
        load_sheet(path)
    assert str(path) in info.value.message
    assert "line 2" in info.value.message


def test_unsolvable_problem_names_its_number_and_keeps_the_caret() -> None:
    """A problem that does not parse fails with 'problem N:' and the caret under the mistake."""
    error = _error('title = "T"\n[[problems]]\nproblem = "x"\n[[problems]]\nproblem = "sin(x^^2)"')
    assert error.message.startswith("problem 2: ")
    assert error.caret_lines() == ("sin(x^^2)", "      ^")


def test_bad_wrt_names_the_problem() -> None:
    """A wrt naming no variable of the problem is reported with the problem's number."""
    error = _error('title = "T"\n[[problems]]\nproblem = "z = x*y; y = x^2"\nwrt = "q"')
    assert error.message.startswith("problem 1: ")
    assert "'q'" in error.message


# --- the three modes -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_full_sheet_has_problems_then_solutions(fmt: str) -> None:
    """The default sheet lists the numbered problems, then one worked solution per problem."""
    text = rendered(fmt, "solutions")
    assert "Quiz" in text
    positions = [text.index(f"Solution to problem {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    assert text.index("Problems") < positions[0]
    assert "Name the inner function." in text
    assert "Answer:" not in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_answer_key_has_final_answers_only(fmt: str) -> None:
    """--answers-only: each problem with its final answer (and values at a point), no steps."""
    text = rendered(fmt, "answers")
    assert text.count("Answer:") == 3
    assert "answer key" in text
    assert "Solution to problem" not in text
    assert "Steps" not in text
    # The gradient at the point of problem 3 (HTML writes minus as the character U+2212).
    signed = text.replace("&#8722;", "-")
    assert "-18" in signed and "-6" in signed


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_handout_has_problems_only(fmt: str) -> None:
    """--no-solutions: the numbered problems and instructions, no answers and no solutions."""
    text = rendered(fmt, "handout")
    assert "Name the inner function." in text
    for absent in ("Answer:", "Solution to problem", "Steps", "-18"):
        assert absent not in text


def test_markdown_statements() -> None:
    """Each problem is stated as 'Find <derivatives> for <definitions>', with the point."""
    text = rendered("markdown", "handout")
    assert "1. Find $\\frac{dy}{dx}$ for $y = \\sin\\mathopen{}\\left(x^{2} \\right)$." in text
    assert "$x = \\cos\\mathopen{}\\left(t \\right)$ and $y = e^{t}$" in text
    assert "at $w = 2,\\ x = 3,\\ b = 1,\\ y = 10$." in text


# --- command line --------------------------------------------------------------------------


def _sheet_file(tmp_path: Path, text: str = SMALL) -> str:
    path = tmp_path / "hw.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_writes_the_format_its_output_extension_names(tmp_path: Path) -> None:
    """`chainsolve sheet hw.toml --output key.md --answers-only` writes a Markdown key."""
    out = tmp_path / "key.md"
    result = CliRunner().invoke(
        main, ["sheet", _sheet_file(tmp_path), "--output", str(out), "--answers-only"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Quiz — answer key")


def test_cli_rejects_both_modes(tmp_path: Path) -> None:
    """--answers-only and --no-solutions together are a usage error."""
    args = ["sheet", _sheet_file(tmp_path), "--answers-only", "--no-solutions"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "at most one" in result.output


def test_cli_reports_a_bad_problem_with_exit_2(tmp_path: Path) -> None:
    """A bad problem prints 'error: problem N: …' and exits 2."""
    path = _sheet_file(tmp_path, 'title = "T"\n[[problems]]\nproblem = "sin(x"')
    result = CliRunner().invoke(main, ["sheet", path])
    assert result.exit_code == 2
    assert "error: problem 1: " in result.output


def test_template_dir_overrides_sheet_and_solution(tmp_path: Path) -> None:
    """--template-dir: a sheet override extends the default; a solution override reaches the sheet."""
    override = tmp_path / "tpl" / "markdown"
    override.mkdir(parents=True)
    (override / "sheet.md.jinja").write_text(
        '{% extends "default/sheet.md.jinja" %}{% block title %}# Custom {{ sheet.title }}\n'
        "{% endblock %}",
        encoding="utf-8",
    )
    (override / "solution.md.jinja").write_text(
        '{% extends "default/solution.md.jinja" %}{% block verdict %}\nCHECKED\n{% endblock %}',
        encoding="utf-8",
    )
    args = ["sheet", _sheet_file(tmp_path), "--format", "markdown"]
    result = CliRunner().invoke(main, [*args, "--template-dir", str(tmp_path / "tpl")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Custom Quiz")
    assert result.output.count("CHECKED") == 3
    assert "Solution to problem 3" in result.output


# --- LaTeX compiles ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["solutions", "answers", "handout"])
def test_latex_sheet_compiles_with_pdflatex(mode: str, tmp_path: Path) -> None:
    """Every LaTeX mode of the sample sheet compiles with pdflatex -halt-on-error."""
    source = render_sheet(load_sheet(SAMPLE), "latex", mode=mode)  # type: ignore[arg-type]
    compile_latex(source, tmp_path, "sheet", timeout=120)


def test_rubric_and_variant_keys_are_read() -> None:
    """id, seed, vary and rubric are read from the sheet; the id defaults to the number."""
    sheet = parse_sheet(
        'title = "T"\nseed = 7\n[[problems]]\nid = "p1"\nproblem = "sin(a*x)"\n'
        'vary = {a = [2, 3]}\n[problems.rubric]\npoints = 4\nassume = "x > 0"\n'
        '[[problems]]\nproblem = "x^2"\n'
    )
    first, second = sheet.problems
    assert (sheet.seed, first.id, first.vary, second.id) == (7, "p1", (("a", 2, 3),), "2")
    assert first.rubric is not None and first.rubric.points == 4.0
    assert [(b.name, b.op, b.value) for b in first.rubric.assume] == [("x", ">", "0")]
    assert second.rubric is None and second.vary == ()
