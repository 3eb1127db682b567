"""Tests for chainsolve.render: environments, overrides, detail levels and golden outputs."""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import subprocess
from pathlib import Path

import jinja2
import pytest
import sympy

from chainsolve.derivation import solve_problem
from chainsolve.problem import Definition, Problem, build_problem, make_symbol
from chainsolve.render import builtin_template_dirs, make_environment, render_solution, sections_of
from chainsolve.steps import Check, Derivation, Leibniz, Note, RuleRef, Solution, Step
from tests.conftest import compile_latex, require_tool

GOLDEN = Path(__file__).resolve().parent / "golden" / "render"
UPDATE_COMMAND = (
    "CHAINSOLVE_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py -p no:cacheprovider"
)
EXTENSIONS = {"text": "txt", "markdown": "md", "latex": "tex", "html": "html", "json": "json"}

x, y, t = (make_symbol(n) for n in "xyt")

#: The golden problems: key → problem text as a user types it.
PROBLEMS = {
    "sin": "sin(x^2)",
    "power": "(3x^2+1)^5",
    "product": "cos(x)^2*sin(3x)",
    "graph": "z = x^2*y; x = cos(t); y = exp(t)",
    "abstract": "z = f(x, y); x = g(t); y = h(t)",
}


def _hand_built(key: str) -> Problem:
    """The golden problems built without the parser (used until chainsolve.parsing exists)."""
    f, g, h = (sympy.Function(name, real=True) for name in "fgh")
    source = PROBLEMS[key]
    single = {
        "sin": sympy.sin(x**2),
        "power": (3 * x**2 + 1) ** 5,
        "product": sympy.cos(x) ** 2 * sympy.sin(3 * x),
    }
    if key in single:
        return build_problem([Definition("y", single[key])], source=source, implicit_target=True)
    definitions = {
        "graph": [("z", x**2 * y), ("x", sympy.cos(t)), ("y", sympy.exp(t))],
        "abstract": [("z", f(x, y)), ("x", g(t)), ("y", h(t))],
    }[key]
    return build_problem([Definition(n, e) for n, e in definitions], source=source)


@functools.cache
def real_solution(key: str) -> Solution:
    """A golden problem, parsed (when the parser exists) and solved by the real derivation."""
    try:
        from chainsolve.parsing import parse_problem
    except ImportError:
        problem = _hand_built(key)
    else:
        problem = parse_problem(PROBLEMS[key])
    return solve_problem(problem)


def assert_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/render/<name>; regenerate with CHAINSOLVE_UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("CHAINSOLVE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; create it with:\n  {UPDATE_COMMAND}")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/render/{name}",
                tofile="rendered",
            )
        )
        pytest.fail(
            f"{name} differs from its golden file:\n{diff}\nIf intended, run:\n  {UPDATE_COMMAND}"
        )


@pytest.mark.parametrize("fmt", list(EXTENSIONS))
@pytest.mark.parametrize("key", list(PROBLEMS))
def test_golden(key: str, fmt: str) -> None:
    """Each golden problem renders in each format exactly as its stored golden file."""
    rendered = render_solution(real_solution(key), fmt)  # type: ignore[arg-type]
    assert_golden(f"{key}.{EXTENSIONS[fmt]}", rendered)


def _hand_solution(check: Check | None = None) -> Solution:
    """dy/dx of y = sin(x²) built by hand: one nested step and ``check`` on the last."""
    check = check or Check("symbolic", "proved by simplify")
    u1 = make_symbol("u_1")
    problem = build_problem([Definition("y", sympy.sin(x**2))], source="sin(x^2)")
    dydx = Leibniz(y, x, lagrange=("y", None))
    steps = (
        Step("decompose", "decompose", definitions=((u1, x**2), (y, sympy.sin(u1)))),
        Step(
            "chain_formula",
            "chain_formula",
            (dydx, Leibniz(y, u1)),
            (RuleRef("chain"),),
            check=Check("symbolic"),
        ),
        Step(
            "local_derivative",
            "chain_outer",
            (Leibniz(y, u1, lagrange=("sin", u1)), sympy.cos(u1)),
            (RuleRef("derivative_of_sin"),),
            depth=1,
            check=Check("numeric", "16 points"),
        ),
        Step("simplify", "result", (dydx, 2 * x * sympy.cos(x**2)), check=check),
    )
    derivation = Derivation("x", dydx, steps, 2 * x * sympy.cos(x**2))
    note = Note("misspelled", ("u_1", "50% & co"))
    return Solution(problem, (derivation,), notes=(note,))


def test_latex_environment_uses_tex_safe_delimiters() -> None:
    """LaTeX templates use ((( ))) / ((* *)) / ((= =)) so TeX braces and {# pass through."""
    env = make_environment("latex")
    source = r"((= c =))\frac{#1}{((( 1 + 1 )))}((* if true *)){%x%}((* endif *))"
    assert env.from_string(source).render() == r"\frac{#1}{2}{%x%}"


def test_environment_is_strict_and_escapes_only_html() -> None:
    """Undefined variables raise; autoescape is on for HTML only; each call builds a new env."""
    with pytest.raises(jinja2.UndefinedError):
        make_environment("text").from_string("{{ missing }}").render()
    assert make_environment("html").from_string("{{ '<b>' }}").render() == "&lt;b&gt;"
    assert make_environment("markdown").from_string("{{ '<b>' }}").render() == "<b>"
    assert make_environment("text") is not make_environment("text")
    with pytest.raises(ValueError, match="no templates"):
        make_environment("json")


def test_builtin_templates_found_in_source_tree() -> None:
    """Built-in templates are found (the installed copy first, the source tree second)."""
    dirs = builtin_template_dirs()
    assert dirs
    assert any((Path(d) / "markdown" / "solution.md.jinja").is_file() for d in dirs)


def test_user_template_extends_default(tmp_path: Path) -> None:
    """A user template overrides one block and extends the built-in one via default/."""
    (tmp_path / "solution.md.jinja").write_text(
        '{% extends "default/solution.md.jinja" %}{% block title %}# My homework\n{% endblock %}',
        encoding="utf-8",
    )
    out = render_solution(_hand_solution(), "markdown", template_dir=tmp_path)
    assert out.startswith("# My homework\n")
    assert "**2.** Chain rule" in out
    assert "## Result" in out


def test_user_step_partial_overrides_one_kind(tmp_path: Path) -> None:
    """A per-kind partial in the user's <fmt>/steps/ directory replaces only that kind's steps."""
    partial = tmp_path / "text" / "steps" / "simplify.txt.jinja"
    partial.parent.mkdir(parents=True)
    partial.write_text("SIMPLIFY {{ number }}\n", encoding="utf-8")
    out = render_solution(_hand_solution(), "text", template_dir=tmp_path)
    assert "SIMPLIFY 4\n" in out
    assert " 2. Chain rule" in out


def test_text_marks_checks_and_depth() -> None:
    """Text shows [rule] and ✓ / numeric / ⚠ marks, indents nested steps and ends with a verdict."""
    out = render_solution(_hand_solution(Check("unconfirmed", "timed out")), "text")
    assert "dy/dx = dy/du₁   [chain rule] ✓" in out
    assert "    3. Differentiate the outer function\n" in out
    assert "✓ (checked numerically)" in out
    assert "⚠ unconfirmed" in out
    assert "Result: dy/dx = 2x·cos(x²)" in out
    assert out.rstrip().endswith("Warning: some steps could not be confirmed (marked ⚠).")
    ok = render_solution(_hand_solution(), "text")
    assert ok.rstrip().endswith("All steps verified.")


def test_detail_levels() -> None:
    """brief keeps depth-0 outline kinds plus the result; full adds each step's check detail."""
    brief = render_solution(_hand_solution(), "text", detail="brief")
    assert "outer function" not in brief
    assert "Chain rule" in brief
    assert "Result: dy/dx" in brief
    full = render_solution(_hand_solution(), "text", detail="full")
    assert "check: proved by simplify" in full
    assert "check: 16 points" in full
    assert "check:" not in render_solution(_hand_solution(), "text")


def test_lagrange_notation_in_output() -> None:
    """notation="lagrange" writes y′ and sin′(u₁) where the model gives a Lagrange form."""
    out = render_solution(_hand_solution(), "text", notation="lagrange")
    assert "y′ = dy/du₁" in out
    assert "sin′(u₁) = cos(u₁)" in out


def test_fragments() -> None:
    """fragment=True renders LaTeX without preamble and HTML without the page shell."""
    latex = render_solution(_hand_solution(), "latex", fragment=True)
    assert r"\documentclass" not in latex
    assert r"\begin{document}" not in latex
    assert r"\begin{align*}" in latex
    html = render_solution(_hand_solution(), "html", fragment=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<main class="chainsolve-solution">')


def test_text_escaping_per_format() -> None:
    """Step and note text is escaped for LaTeX, Markdown and HTML."""
    assert r"'u\_1' is not a function" in render_solution(_hand_solution(), "latex")
    assert r"if you meant 50\% \& co" in render_solution(_hand_solution(), "latex")
    assert r"'u\_1' is not a function" in render_solution(_hand_solution(), "markdown")
    assert r"if you meant 50% \& co" in render_solution(_hand_solution(), "markdown")
    assert "if you meant 50% &amp; co" in render_solution(_hand_solution(), "html")


def test_graph_embedded_when_emitters_exist() -> None:
    """Graph problems embed the emitted mermaid (Markdown) and TikZ (LaTeX) pictures."""
    pytest.importorskip("chainsolve.emitters", reason="chainsolve.emitters is not written yet")
    solution = real_solution("graph")
    assert "```mermaid" in render_solution(solution, "markdown")
    assert r"\begin{tikzpicture}" in render_solution(solution, "latex")
    assert "```mermaid" not in render_solution(real_solution("sin"), "markdown")


def test_json_format_is_the_schema() -> None:
    """render_solution(..., "json") is the JSON of solution_to_dict."""
    data = json.loads(render_solution(_hand_solution(), "json"))
    assert data["schema_version"] == 1
    assert data["derivatives"] == {"x": "2*x*cos(x**2)"}


@pytest.mark.parametrize("key", list(PROBLEMS))
def test_latex_golden_compiles(key: str, tmp_path: Path) -> None:
    """Each LaTeX golden compiles with pdflatex -halt-on-error."""
    compile_latex(render_solution(real_solution(key), "latex"), tmp_path, key, timeout=180)


_MEASURE = """
<script>
  const box = document.querySelector("math").getBoundingClientRect();
  const all = [...document.querySelectorAll("math")].map(m => m.getBoundingClientRect());
  const flat = all.filter(r => r.width < 1 || r.height < 1).length;
  document.body.setAttribute("data-math", `${box.width}x${box.height} flat=${flat}`);
</script>
"""


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    from tests.chromium import headless_flags

    chromium = require_tool("chromium")
    flags = headless_flags(profile)
    return subprocess.run(
        [chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_html_maths_is_laid_out_by_chromium(tmp_path: Path) -> None:
    """Chromium lays out every <math> of the HTML with a non-zero size and can screenshot it."""
    html = render_solution(real_solution("abstract"), "html")
    assert "http://" not in html.replace("http://www.w3.org/1998/Math/MathML", "")
    page = tmp_path / "solution.html"
    page.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dumped = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    match = re.search(r'data-math="([\d.]+)x([\d.]+) flat=(\d+)"', dumped.stdout)
    assert match, dumped.stderr[-2000:]
    width, height, flat = float(match[1]), float(match[2]), int(match[3])
    assert width > 10 and height > 10
    assert flat == 0
    png = tmp_path / "solution.png"
    _chromium(
        f"--screenshot={png}", "--window-size=1000,1400", page.as_uri(), profile=tmp_path / "p2"
    )
    assert png.stat().st_size > 10_000


@pytest.fixture(autouse=True)
def _no_graphviz_in_goldens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Golden HTML uses the text picture, so it does not depend on the installed Graphviz."""
    monkeypatch.setenv("CHAINSOLVE_NO_GRAPHVIZ", "1")


def test_html_graph_is_inline_svg_with_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Graphviz installed, the HTML page draws the dependency graph as inline SVG."""
    from conftest import require_tool

    require_tool("dot")
    monkeypatch.delenv("CHAINSOLVE_NO_GRAPHVIZ")
    from chainsolve.api import solve

    page = solve("z = x^2*y; x = cos(t); y = exp(t)").to_html()
    assert "<svg" in page and '<pre class="graph">' not in page
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_html_graph_falls_back_to_text_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Graphviz, the HTML page lists the layers and says how to get a drawing."""
    monkeypatch.setenv("CHAINSOLVE_NO_GRAPHVIZ", "1")
    from chainsolve.api import solve

    page = solve("z = x^2*y; x = cos(t); y = exp(t)").to_html()
    assert "<svg" not in page and "Install Graphviz" in page


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_failed_gradient_check_is_not_printed_as_within_tolerance(fmt: str) -> None:
    """A gradient check that failed shows its difference as > the tolerance (or 'not equal'), never ≤."""
    import dataclasses

    from chainsolve.api import solve

    solution = solve("L = (w*x - y)^2", wrt="w", at="w=0.5,x=1.5,y=1", numeric=True)
    assert solution.evaluation is not None
    entries = []
    for entry in solution.evaluation.gradient:
        checks = tuple(
            dataclasses.replace(check, status="failed")
            for check in entry.checks
            if check.status == "passed"
        )
        entries.append(dataclasses.replace(entry, checks=checks))
    failed = dataclasses.replace(solution.evaluation, gradient=tuple(entries))
    text = render_solution(dataclasses.replace(solution, evaluation=failed), fmt)
    assert "≤" not in text and "\\le " not in text
    assert ">" in text or "not equal" in text


# --- HTML a student reads: MathML details, equations that wrap, --reveal, real layout ---------


def _leaves(mathml: str) -> list[tuple[str, str]]:
    """The token elements (mi, mn, mo, mtext) of MathML, in order, with their text."""
    from xml.dom import minidom

    document = minidom.parseString(f"<root>{mathml.replace('&#8203;', '')}</root>")
    tokens = []
    for element in document.getElementsByTagName("*"):
        if element.tagName in ("mi", "mn", "mo", "mtext"):
            text = "".join(child.data for child in element.childNodes)
            tokens.append((element.tagName, text))
    return tokens


def test_mathml_prints_plain_e_true_minus_and_hugging_parentheses() -> None:
    """e is a plain <mi>e</mi>, minus is U+2212, and parentheses stretch only around fractions."""
    from chainsolve.filters import mathml_expr

    printed = mathml_expr(sympy.cos(t) ** 2 * sympy.exp(x) - t)
    assert "ExponentialE" not in printed and "&" not in printed.replace("&#", "")
    assert ("mi", "e") in _leaves(printed)
    assert ("mo", "-") not in _leaves(printed) and ("mo", "−") in _leaves(printed)
    assert '<mo stretchy="false">(</mo><mi>t</mi><mo stretchy="false">)</mo>' in printed
    tall = mathml_expr(sympy.sin(1 / (1 + x)))
    assert "<mo>(</mo>" in tall and "stretchy" not in tall
    assert ("mn", "−2") in _leaves(mathml_expr(sympy.Integer(-2)))
    # sympy writes its text unescaped: "<" must come out as &lt; (well-formed, not a tag).
    assert ("mo", "<") in _leaves(mathml_expr(sympy.Lt(x, 1)))


@pytest.mark.parametrize("key", list(PROBLEMS))
def test_html_equations_show_the_same_maths_as_one_mathml_chain(key: str) -> None:
    """Cut into wrapping pieces and rows, every step's equation keeps every token of its chain."""
    from chainsolve.filters import chain_mathml, equation_html

    for step in real_solution(key).steps:
        if step.sides:
            assert _leaves(equation_html(step.sides)) == _leaves(chain_mathml(step.sides))


def test_html_equation_has_one_row_per_equals_sign() -> None:
    """A chain a = b = c is two rows aligned on "=": the left side once, then "= b", "= c"."""
    from chainsolve.filters import equation_html

    html = equation_html([Leibniz(y, x), 2 * x * sympy.cos(x**2) - x + 1, x])
    assert html.count('class="lhs"') == 2 and html.count('<span class="lhs"></span>') == 1
    assert html.count('<mo form="infix">=</mo>') == 2
    # The long side may break before − and +, each a <math> of its own.
    assert (
        '<mo form="infix">−</mo><mi>x</mi>' in html and '<mo form="infix">+</mo><mn>1</mn>' in html
    )


def test_html_definitions_are_one_aligned_grid() -> None:
    """The problem's definitions are one grid aligned on "=", not separate block <math>s."""
    html = render_solution(real_solution("graph"), "html")
    problem = html[html.index('<section class="problem">') : html.index("</section>")]
    assert problem.count('<div class="equation">') == 1
    assert problem.count('<span class="lhs">') == 3
    assert 'MathML" display="block"' not in html


def test_reveal_folds_every_step_and_the_result_without_javascript() -> None:
    """With reveal, each step and the result are a <details> (sentence shown, maths folded)."""
    solution = real_solution("graph")
    html = render_solution(solution, "html", reveal=True)
    shown = sum(len(section.steps) for section in sections_of(solution, "normal"))
    assert html.count("<details>") == shown + 1
    assert html.count("<summary>") == shown + 1
    assert "<script" not in html
    assert "<details>" not in render_solution(solution, "html")


def test_reveal_is_an_html_option_of_solve_on_the_command_line() -> None:
    """solve --reveal folds steps in HTML; with another format it is a one-line error (exit 2)."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    runner = CliRunner()
    folded = runner.invoke(main, ["solve", "sin(x^2)", "--format", "html", "--reveal"])
    assert folded.exit_code == 0 and "<details>" in folded.output
    refused = runner.invoke(main, ["solve", "sin(x^2)", "--reveal"])
    assert refused.exit_code == 2 and "--reveal" in refused.output
    assert "Traceback" not in refused.output


#: Pages a student opens: the issue's two examples, forward mode, a sheet, steps folded.
LAYOUT_PAGES = {
    "logistic_loss": [
        "solve",
        "L = (sigmoid(w*x + b) - y)^2",
        "--at",
        "w=0.5,x=1.5,b=0.1,y=1",
        "--graph",
        "elementary",
    ],
    "abstract": ["solve", "z = f(x, y); x = g(t); y = h(t)"],
    "forward": ["solve", "L = (w*x + b - y)^2", "--at", "w=2,x=3,b=1,y=10", "--mode", "forward"],
    "full_reveal": ["solve", "z = x^2*y; x = cos(t); y = exp(t)", "--detail", "full", "--reveal"],
    "sheet": ["sheet", "examples/sheet/chain_rule_homework.toml"],
}

_OPEN_EVERY_DETAILS = "document.querySelectorAll('details').forEach(d => { d.open = true; })"

#: At 1200 px: the backward pass's cell padding and where the path bullets sit in their step.
_TABLE_AND_BULLETS = """
(() => {
  const cell = document.querySelector("table td");
  const bullet = document.querySelector("ul.paths > li");
  const number = bullet && bullet.closest("li.step").querySelector(".number");
  return {
    padding: cell ? parseFloat(getComputedStyle(cell).paddingLeft) : null,
    bulletText: bullet ? bullet.getBoundingClientRect().left : null,
    numberRight: number ? number.getBoundingClientRect().right : null,
  };
})()
"""


@pytest.fixture(scope="module")
def layout_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each layout page written by the real command line as HTML (Graphviz SVG when installed)."""
    from tests.conftest import run_timed

    require_tool("chromium")
    folder = tmp_path_factory.mktemp("pages")
    pages = {}
    for name, args in LAYOUT_PAGES.items():
        completed, _ = run_timed([*args, "--format", "html"], limit=120)
        assert completed.returncode == 0, completed.stderr
        pages[name] = folder / f"{name}.html"
        pages[name].write_text(completed.stdout, encoding="utf-8")
    return pages


@pytest.mark.parametrize("width", [375, 700, 1200])
def test_html_fits_the_page_width_in_chromium(layout_pages: dict[str, Path], width: int) -> None:
    """In real Chromium at 375 px (a phone), 700 px and 1200 px, no element passes the right edge."""
    from tests.chromium import browser

    with browser(require_tool("chromium")) as chromium:
        for name, page in layout_pages.items():
            chromium.open(page.as_uri(), width=width)
            chromium.evaluate(_OPEN_EVERY_DETAILS)
            layout = chromium.overflow()
            assert layout["width"] == width, name
            assert layout["over"] == [], (name, width, layout["over"][:10])
            assert layout["scrollWidth"] <= width, (name, width)


def test_html_tables_are_padded_and_path_bullets_sit_inside_the_step(
    layout_pages: dict[str, Path],
) -> None:
    """Table cells have padding (values do not run together) and path bullets follow the step number."""
    from tests.chromium import browser

    with browser(require_tool("chromium")) as chromium:
        chromium.open(layout_pages["logistic_loss"].as_uri(), width=1200)
        measured = chromium.evaluate(_TABLE_AND_BULLETS)
        assert measured["padding"] >= 6
        chromium.open(layout_pages["abstract"].as_uri(), width=1200)
        measured = chromium.evaluate(_TABLE_AND_BULLETS)
        # The bullet sits about 1 em left of its text: the text starts well right of the number.
        assert measured["bulletText"] - 16 >= measured["numberRight"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_greek_names_print_as_letters_in_every_format(fmt: str) -> None:
    """z = r*cos(theta) at a point prints θ (\\theta in LaTeX) everywhere but the problem as typed."""
    from click.testing import CliRunner

    from chainsolve.cli import main

    source = "z = r*cos(theta)"
    args = ["solve", source, "--wrt", "theta", "--at", "r=1,theta=2", "--format", fmt]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    output = result.output.replace(source, "").replace("r*cos(theta)", "")
    assert "theta" not in output.replace(r"\theta", "")
    greek = ("θ", "&#952;") if fmt in ("text", "html") else (r"\theta",)
    assert any(letter in output for letter in greek)


def test_bytecode_cache_gives_the_compiled_templates_back_and_recompiles_a_bad_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render from the bytecode cache, and one after its entries are corrupted, match a fresh one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = render_solution(_hand_solution(), "text")
    entries = sorted(tmp_path.rglob("*.cache"))
    assert entries  # the first render filled the cache
    assert render_solution(_hand_solution(), "text") == fresh
    loaded: list[bool] = []
    cache = make_environment("text").bytecode_cache
    assert cache is not None
    original = type(cache).load_bytecode

    def spy(self: jinja2.BytecodeCache, bucket: jinja2.bccache.Bucket) -> None:
        original(self, bucket)
        loaded.append(bucket.code is not None)

    monkeypatch.setattr(type(cache), "load_bytecode", spy)
    assert render_solution(_hand_solution(), "text") == fresh
    assert loaded and all(loaded)  # every template came from the cache
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:-40])  # truncated: marshal fails
    loaded.clear()
    assert render_solution(_hand_solution(), "text") == fresh
    assert loaded and not any(loaded)  # every entry refused, every template recompiled
    for entry in entries:
        entry.write_bytes(b"not a jinja entry")
    assert render_solution(_hand_solution(), "text") == fresh


def test_a_step_template_added_for_one_render_is_used_even_if_missing_before(
    tmp_path: Path,
) -> None:
    """Missing step templates are remembered per environment only: the next render sees a new one."""
    before = render_solution(_hand_solution(), "text", template_dir=tmp_path)
    assert "SIMPLIFY" not in before
    partial = tmp_path / "text" / "steps" / "simplify.txt.jinja"
    partial.parent.mkdir(parents=True)
    partial.write_text("SIMPLIFY {{ number }}\n", encoding="utf-8")
    assert "SIMPLIFY 4\n" in render_solution(_hand_solution(), "text", template_dir=tmp_path)
