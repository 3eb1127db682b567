"""LaTeX output compiled by pdflatex: whole documents, hostile names and titles, PDF output."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner, Result

from chainsolve.api import solve, solve_parsed, verify
from chainsolve.cli import main
from chainsolve.filters import latex_text
from chainsolve.problem import Definition, build_problem, make_symbol
from chainsolve.render import render_solution
from chainsolve.sheet import parse_sheet, render_sheet
from chainsolve.verification import render_verdict
from tests.conftest import compile_latex, require_tool

LONG_NAME = "a" * 3000

#: Inputs that broke pdflatex: names sympy prints as LaTeX commands, an accent suffix, a name
#: wider than TeX can measure, in a single expression and in a graph (TikZ labels).
HOSTILE_PROBLEMS = {
    "root": "root(x^2) + sin(x)",
    "scr": "z = xscr^2; xscr = sin(t)",
    "accents": "sin(xhat*xdot + xprime*xbar)",
    "long_name": f"sin({LONG_NAME}^2)",
    "long_graph": f"z = {LONG_NAME}*y; {LONG_NAME} = t^2; y = t",
}

#: A sheet title with guillemets, Icelandic letters, control characters and letters beyond Latin-1.
HOSTILE_TITLE = "«Heimavinna» Ð Þ ð þ\ttab\x01bell č ő 中"


def run(*args: str) -> Result:
    """`chainsolve ARGS` through click's runner."""
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("key", list(HOSTILE_PROBLEMS))
def test_hostile_names_compile(key: str, tmp_path: Path) -> None:
    """Function names frac/root/re/im, names ending in scr/hat/dot/prime and 3,000-letter names compile."""
    problem = HOSTILE_PROBLEMS[key]
    wrt = "xhat" if key == "accents" else None
    compile_latex(render_solution(solve(problem, wrt=wrt), "latex"), tmp_path)


def test_names_are_printed_as_written_not_as_accents() -> None:
    """xhat stays xhat in LaTeX (as in the text output), never \\hat{x} or a derivative-like x'."""
    latex = render_solution(solve("sin(xhat*xprime + xscr)", wrt="xhat"), "latex")
    assert "xhat" in latex and "xprime" in latex and "xscr" in latex
    assert r"\hat" not in latex and r"\mathscr" not in latex and "{x}'" not in latex


def test_unknown_functions_named_like_latex_commands_are_operator_names(tmp_path: Path) -> None:
    r"""frac(x), re(x), im(x) print as \operatorname{…}, not \frac or \re, and compile.

    The parser refuses these well-known names as input, so the problem is built in Python, as
    an API user may build it.
    """
    x = make_symbol("x")
    names = ("frac", "re", "im", "root")
    expr = sympy.Add(*(sympy.Function(name)(x**2) for name in names))
    problem = build_problem([Definition("y", expr)], source="frac(x^2) + re(x^2) + …")
    latex = render_solution(solve_parsed(problem), "latex")
    for name in names:
        assert rf"\operatorname{{{name}}}" in latex
    assert not re.search(r"\\(frac|re|im)\{\\left", latex)
    compile_latex(latex, tmp_path)


@pytest.mark.parametrize("text", ["frac(x^2)", "re(x) + 1", "im(x)"])
def test_names_latex_cannot_print_are_refused_as_input(text: str) -> None:
    """frac, re and im are well-known functions chainsolve does not differentiate: exit 2."""
    result = run("solve", text, "--format", "latex")
    assert result.exit_code == 2 and "well-known function" in result.output


@pytest.mark.parametrize("mode", ["solutions", "answers"])
def test_sheet_title_with_latin1_controls_and_other_unicode_compiles(
    mode: str, tmp_path: Path
) -> None:
    """A title with « » Ð Þ ð þ, control characters and č ő 中 compiles, with no '?' put in."""
    toml = f'title = "{HOSTILE_TITLE}"\n[[problems]]\nproblem = "sin(x^2)"\n'
    toml = toml.replace("\t", "\\t").replace("\x01", "\\u0001")
    document = render_sheet(parse_sheet(toml), "latex", mode=mode)
    title = document.split(r"\title{", 1)[1].split("\n", 1)[0]
    assert "?" not in title
    assert "«Heimavinna» Ð Þ ð þ" in title
    assert r"\v{c}" in title and r"\H{o}" in title and "u+4e2d" in title
    compile_latex(document, tmp_path)


def test_latex_text_never_replaces_a_character_by_a_question_mark() -> None:
    """Every character outside pdflatex's reach is an accent command or its code point."""
    text = "".join(chr(code) for code in range(0x100, 0x800))
    assert "?" not in latex_text(text)


def test_verdict_latex_is_a_whole_document_that_compiles(tmp_path: Path) -> None:
    """verify's LaTeX is a whole document; its line table fits the text width (no overfull box)."""
    work = "dy/dx = 2x*cos(x^2)` <img src=x onerror=alert(1)> and a long tail of words to wrap\n"
    report = verify("sin(x^2)", derivation=work + "dy/dx = cos(x^2)*2*x + 0*sin(x)*cos(x)*x^2")
    document = render_verdict(report, "latex")
    assert document.startswith(r"\documentclass")
    assert document.rstrip().endswith(r"\end{document}")
    log = compile_latex(document, tmp_path)
    assert "Overfull \\hbox" not in log


def test_verdict_fragment_has_no_preamble() -> None:
    """verify --fragment gives the body only, for \\input."""
    result = run("verify", "sin(x^2)", "--answer", "cos(x^2)", "--format", "latex", "--fragment")
    assert result.exit_code == 1
    assert r"\documentclass" not in result.stdout and r"\subsection*{Check" in result.stdout


def test_verify_output_files_are_whole_documents(tmp_path: Path) -> None:
    """verify --output v.tex and v.html write whole documents (a .tex that compiles alone)."""
    tex, html = tmp_path / "verdict.tex", tmp_path / "v.html"
    assert run("verify", "sin(x^2)", "--answer", "cos(x^2)", "--output", str(tex)).exit_code == 1
    assert run("verify", "sin(x^2)", "--answer", "cos(x^2)", "--output", str(html)).exit_code == 1
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "</html>" in html.read_text(encoding="utf-8")
    compile_latex(tex.read_text(encoding="utf-8"), tmp_path, "alone")


@pytest.mark.parametrize(
    "args",
    [
        ("solve", "sin(x^2)"),
        ("verify", "sin(x^2)", "--answer", "2x*cos(x^2)"),
    ],
)
def test_output_pdf_is_a_pdf(args: tuple[str, ...], tmp_path: Path) -> None:
    """--output a.pdf compiles the LaTeX document to a real PDF."""
    require_tool("pdflatex")
    pdf = tmp_path / "a.pdf"
    result = run(*args, "--output", str(pdf))
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_output_pdf_without_pdflatex_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pdflatex, --output a.pdf is one clear error and exit 2, and writes nothing."""
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "pdflatex" else real_which(name)
    )
    pdf = tmp_path / "a.pdf"
    result = run("solve", "sin(x^2)", "--output", str(pdf))
    assert result.exit_code == 2
    assert "needs pdflatex" in result.stderr
    assert not pdf.exists()


@pytest.mark.parametrize("extra", [("--fragment",), ("--format", "text")])
def test_output_pdf_of_no_whole_document_is_refused(extra: tuple[str, ...], tmp_path: Path) -> None:
    """--output a.pdf with --fragment or a non-LaTeX format is refused with exit 2."""
    result = run("solve", "sin(x^2)", "--output", str(tmp_path / "a.pdf"), *extra)
    assert result.exit_code == 2
    assert "whole LaTeX document" in result.output


def test_function_names_sit_close_to_their_brackets() -> None:
    r"""\sin\mathopen{}\left( (no thin space after the name), never \sin{\left(."""
    latex = render_solution(solve("sin(x^2)*log(x)"), "latex")
    assert r"\sin\mathopen{}\left(" in latex and r"\ln\mathopen{}\left(" in latex
    assert r"{\left(" not in latex


def test_rule_formulas_and_variables_in_sentences_are_maths() -> None:
    """'(fg)′ = f′g + fg′', 'edge x → z' and 'a depends on W1' are set in math mode."""
    product = render_solution(solve("x^2*sin(x)"), "latex")
    assert "Product rule: $(fg)' = f'g + fg'$" in product
    graph = render_solution(solve("L = (a - y)^2; a = W1*x", wrt="W1"), "latex")
    assert r"$a$ depends on $W_{1}$, $x$" in graph
    assert r"edge $W_{1} \to a$" in graph


def test_forward_pass_operations_are_maths_not_escaped_text(tmp_path: Path) -> None:
    r"""The forward-pass table shows ^2 as (·)², − as a minus: no \^{} and no hyphen."""
    solution = solve("L = (w*x + b - y)^2", at="w=2,x=3,b=1,y=10", graph="elementary")
    latex = render_solution(solution, "latex")
    table = latex.split("Forward pass.", 1)[1].split(r"\end{tabular}", 1)[0]
    assert r"\^{}" not in table
    assert r"$(\cdot)^{2}$" in table and "& $-$ &" in table
    compile_latex(latex, tmp_path)


def test_gradient_checks_read_as_a_textbook() -> None:
    """The gradient bullets say what was compared, not which sympy call made the reference."""
    solution = solve("L = (w*x + b - y)^2", at="w=2,x=3,b=1,y=10")
    gradient = render_solution(solution, "latex").split("Gradient, reverse mode", 1)[1]
    assert "sympy" not in gradient.split("Forward mode vs reverse mode", 1)[0]
    assert "agrees with the derivative of the whole expression" in gradient


def test_per_derivative_headings_are_words_and_a_display_fraction() -> None:
    """Each derivative's heading says what it is and sets the fraction display-size."""
    latex = render_solution(solve("z = x*y; x = t^2; y = sin(s*t)", wrt="t,s"), "latex")
    assert r"\subsubsection*{The derivative $\displaystyle \frac{\partial z}{\partial t}$}" in latex


def test_the_result_keeps_to_the_last_step() -> None:
    """No page break is allowed between the last step and the Result heading and its maths."""
    latex = render_solution(solve("sin(x^2)"), "latex")
    before, after = latex.split(r"{\large\bfseries Result}", 1)
    assert before.rstrip().endswith(r"\par\nopagebreak\bigskip\noindent")
    assert after.startswith(r"\par\nopagebreak")


#: Sentences whose maths latex_prose must set without breaking pdflatex.
TRICKY_SENTENCES = [
    "e^t and e^(sin(x)) and a^b^c and x^ and x^( and fᵍ²",
    "Quotient rule: (f/g)′ = (f′g − fg′)/g², then ln y = g·ln f",
    "edge u₁ → θ₂; 50% of {x} costs $5 & #1 ~ \\ _",
    "a depends on W1, b1; «quoted» Ð þ 中",
    "holds for x > 0 and x ≠ 1, y ≥ 0 ≤ z < 2; ∂₁f(…) and ∂z/∂x, a -> b",
]


def test_latex_prose_of_tricky_sentences_compiles(tmp_path: Path) -> None:
    """Carets, primes, sub/superscripts, TeX specials and Unicode in sentences all compile."""
    from chainsolve.filters import latex_prose

    body = "\n\n".join(
        latex_prose(text, ["a", "W1", "b1", "u_1", "theta_2", "x"]) for text in TRICKY_SENTENCES
    )
    preamble = render_solution(solve("sin(x)"), "latex").split(r"\begin{document}", 1)[0]
    compile_latex(preamble + "\\begin{document}\n" + body + "\n\\end{document}\n", tmp_path)


def test_notes_set_their_maths_in_math_mode() -> None:
    """A note's conditions and derivatives are maths in LaTeX: $x > 0$, $\\partial z/\\partial x$.

    Notes were escaped as plain text (x \\ensuremath{>} 0, \\ensuremath{\\partial}z/...).
    """
    latex = render_solution(solve("log(exp(x)) + exp(log(x))"), "latex")
    assert r"\paragraph{Note.} The result holds for $x > 0$," in latex
    latex = render_solution(solve("z = x*y; y = x^2"), "latex")
    assert r"the partial derivative $\frac{\partial z}{\partial x}$ holds $y$ fixed" in latex


def test_a_derivative_in_a_rule_label_is_the_fraction_the_formulas_print() -> None:
    """Bug: [x held constant, dy/dy = 1] was set as $dy/dy = 1$, and da1/da1 read as d·a·1;
    a derivative of variables in a sentence or rule label is now a fraction, as in the steps."""
    from chainsolve.filters import latex_prose

    latex = render_solution(solve("z = a1*b; a1 = t^2; b = sin(t)", wrt="t"), "latex")
    assert r"[\emph{$b$ held constant, $\frac{da_{1}}{da_{1}} = 1$}]" in latex
    assert latex_prose("d(d)/d(d) = 1", ["d"]) == r"$\frac{d\left(d\right)}{d\left(d\right)} = 1$"
    assert latex_prose("∂z/∂W2 = h", ["z", "W2", "h"]) == r"$\frac{\partial z}{\partial W_{2}} = h$"
    assert latex_prose("dq/dx", ["x"]) == "$dq/dx$"  # q is no variable: left as written
