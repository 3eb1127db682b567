"""Tests for chainsolve.cli: the commands, their formats, exit codes and error messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import chainsolve
import chainsolve.api
from chainsolve.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SHEET = ROOT / "examples" / "sheet" / "chain_rule_homework.toml"
TWO_PATHS = "z = x^2*y; x = cos(t); y = exp(t)"
LOSS = "L = (w*x + b - y)^2"
POINT = "w=2,x=3,b=1,y=10"

DERIVATION_WITH_SLIP = """\
# chain rule
dy/dx = cos(x^2) * 2*x
= 2*x*cos(x^2)
= x*cos(x^2)        # slip: lost the 2
= cos(x^2)*x
"""


def run(*args: str, stdin: str | None = None) -> Result:
    """`chainsolve ARGS` through click's runner, stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), input=stdin)


def run_process(*args: str, close_stdin: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m chainsolve ARGS` as a real process, standard input closed (fd 0 not open)."""

    def close_fd_0() -> None:
        os.close(0)

    return subprocess.run(
        [sys.executable, "-m", "chainsolve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        preexec_fn=close_fd_0 if close_stdin else None,
    )


def numbered_steps(text: str) -> int:
    """How many numbered steps (`` 3. …``) a text rendering shows."""
    return len(re.findall(r"^\s*\d+\. ", text, flags=re.MULTILINE))


def expensive_problem(count: int = 40) -> str:
    """A big definition system whose derivation takes a few seconds."""
    target = "z = " + " + ".join(f"sin(u{i})*cos(u{i})" for i in range(count))
    parts = [f"u{i} = exp(x*t + {i})^2 + log(1 + x^2*t^{i % 5 + 1})" for i in range(count)]
    return "; ".join([target, *parts])


# --- global options ------------------------------------------------------------------------


def test_version() -> None:
    """`--version` prints the program name and the package version."""
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"chainsolve, version {chainsolve.__version__}"


@pytest.mark.parametrize("command", ["solve", "verify", "graph", "grade", "sheet"])
def test_help_of_each_command_shows_an_example(command: str) -> None:
    """Every command's `--help` has an Examples section with a `chainsolve COMMAND` line."""
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert re.search(rf"^\s+chainsolve {command} ", result.stdout, flags=re.MULTILINE)


# --- solve: formats and output files ------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("text", "Result: dy/dx = 2x·cos(x²)"),
        ("markdown", "# Find $\\frac{dy}{dx}$"),
        ("latex", "\\documentclass"),
        ("html", "<!DOCTYPE html>"),
    ],
)
def test_solve_formats(fmt: str, marker: str) -> None:
    """`solve --format F` writes that format to stdout."""
    result = run("solve", "sin(x^2)", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert marker in result.stdout


def test_solve_json_is_machine_readable() -> None:
    """`solve --format json` prints one JSON document with the derivative in sympy syntax."""
    result = run("solve", "sin(x^2)", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["derivatives"] == {"x": "2*x*cos(x**2)"}
    assert data["problem"]["wrt"] == ["x"]


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".tex", lambda text: text.startswith("\\documentclass")),
        (".md", lambda text: text.startswith("# Find")),
        (".html", lambda text: text.lstrip().startswith("<!DOCTYPE html>")),
        (".json", lambda text: json.loads(text)["derivatives"] == {"x": "2*x*cos(x**2)"}),
        (".txt", lambda text: text.startswith("Find dy/dx") and "Result:" in text),
    ],
)
def test_output_extension_picks_the_format(suffix: str, check: object, tmp_path: Path) -> None:
    """`--output FILE` writes FILE (nothing on stdout) in the format its extension names."""
    out = tmp_path / f"solution{suffix}"
    result = run("solve", "sin(x^2)", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    assert callable(check) and check(out.read_text(encoding="utf-8"))


def test_problem_dash_reads_stdin() -> None:
    """PROBLEM `-` reads the problem from standard input."""
    result = run("solve", "-", stdin="z = x^2*y; x = cos(t); y = exp(t)\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Find dz/dt")


# --- solve: wrt -----------------------------------------------------------------------------


def test_wrt_is_inferred_when_there_is_one_input() -> None:
    """With a single input (t, through x and y) `--wrt` is not needed."""
    result = run("solve", TWO_PATHS)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Find dz/dt")


def test_ambiguous_wrt_lists_the_inputs_and_exits_2() -> None:
    """Several inputs and no `--wrt`: exit 2, the message lists every input and a hint."""
    result = run("solve", LOSS)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: the problem has several inputs (")
    listed = re.search(r"\(([^)]*)\)", first)
    assert listed is not None and set(listed.group(1).split(", ")) == {"w", "x", "b", "y"}
    assert "hint: for example --wrt" in result.stderr
    assert "Traceback" not in result.output


def test_wrt_list_gives_one_derivative_each() -> None:
    """`--wrt w,b` derives ∂L/∂w and ∂L/∂b."""
    result = run("solve", LOSS, "--wrt", "w,b", "--format", "json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["derivatives"]) == {"w", "b"}


# --- errors ---------------------------------------------------------------------------------


def test_parse_error_shows_message_line_caret_and_hint() -> None:
    """A parse error prints `error: …`, the input line, a caret under the bad column, a hint; exit 2."""
    problem = "sin(x^2) + @"
    result = run("solve", problem)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: unexpected '@'")
    assert lines[1] == "  " + problem
    assert lines[2].strip() == "^"
    assert lines[2].index("^") == lines[1].index("@")
    assert lines[3].startswith("hint: ")
    assert result.stdout == ""


def test_caret_on_the_right_line_of_a_multiline_problem() -> None:
    """In a problem on several lines the caret line shows the line with the error."""
    result = run("solve", "z = x^2*y\nx = cos(t))\ny = exp(t)")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[1] == "  x = cos(t))"
    assert lines[2].index("^") == lines[1].rindex(")")


def test_bad_at_value_exits_2() -> None:
    """`--at` naming a variable that is not an input is bad input (exit 2)."""
    result = run("solve", TWO_PATHS, "--at", "x=1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --at gives a value for 'x'")


def test_timeout_names_the_stage_and_exits_2() -> None:
    """A problem that outlasts `--timeout 0.5` stops with exit 2 and names the stage."""
    result = run("solve", expensive_problem(), "--wrt", "t", "--timeout", "0.5")
    assert result.exit_code == 2, result.output
    # Which stage 0.5 s of wall clock reaches depends on the machine's load (parsing this
    # problem alone can take that long under load); that a stage is named is the behaviour.
    assert re.match(
        r"error: the (parse|derivation|solve) stage ran out of its time budget \(0\.5 s\)",
        result.stderr,
    ), result.stderr
    assert "hint: raise --timeout" in result.stderr


def test_unexpected_exception_is_one_internal_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception chainsolve did not expect prints one `internal error:` line, exit 1, no traceback."""

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(chainsolve.api, "solve_parsed", explode)
    result = run("solve", "sin(x^2)")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("internal error: RuntimeError: boom")
    assert "Traceback" not in result.output


# --- verify ---------------------------------------------------------------------------------


def test_verify_correct_answer_exits_0() -> None:
    """`verify --answer` with the right derivative: verdict equivalent, exit 0."""
    result = run("verify", "sin(x^2)", "--answer", "2x*cos(x^2)")
    assert result.exit_code == 0, result.output
    assert "Verdict: equivalent" in result.stdout


def test_verify_wrong_answer_exits_1() -> None:
    """`verify --answer` with a wrong derivative: the mistake is named, exit 1."""
    result = run("verify", "sin(x^2)", "--answer", "cos(x^2)")
    assert result.exit_code == 1
    assert "Verdict: not equivalent" in result.stdout
    assert "inner derivative missing" in result.stdout


def test_verify_unreadable_answer_exits_2() -> None:
    """An answer that does not parse is bad input: exit 2 with a caret."""
    result = run("verify", "sin(x^2)", "--answer", "cos(x^2")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "^" in result.stderr.splitlines()[2]


@pytest.mark.parametrize("extra", [[], ["--answer", "2x*cos(x^2)", "--derivation", "-"]])
def test_verify_needs_exactly_one_of_answer_and_derivation(extra: list[str]) -> None:
    """Neither or both of --answer/--derivation is a usage error (exit 2)."""
    result = run("verify", "sin(x^2)", *extra, stdin="= 2*x*cos(x^2)\n")
    assert result.exit_code == 2
    assert "give exactly one of --answer EXPR or --derivation FILE" in result.stderr


def test_verify_derivation_file_with_a_slip(tmp_path: Path) -> None:
    """`verify --derivation FILE` names the first wrong line and exits 1."""
    work = tmp_path / "work.txt"
    work.write_text(DERIVATION_WITH_SLIP, encoding="utf-8")
    result = run("verify", "sin(x^2)", "--derivation", str(work))
    assert result.exit_code == 1, result.output
    assert "The first wrong step is line 4" in result.stdout


def test_verify_correct_derivation_exits_0(tmp_path: Path) -> None:
    """A derivation whose every line follows and that ends at the derivative exits 0."""
    work = tmp_path / "work.txt"
    work.write_text("d/dx(sin(x^2))\n= cos(x^2)*2*x\n= 2*x*cos(x^2)\n", encoding="utf-8")
    result = run("verify", "sin(x^2)", "--derivation", str(work))
    assert result.exit_code == 0, result.output


# --- graph ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("text", "layer 0 (inputs): t"),
        ("mermaid", "flowchart BT"),
        ("dot", "digraph chainsolve"),
        ("tikz", "\\begin{tikzpicture}"),
    ],
)
def test_graph_formats(fmt: str, marker: str) -> None:
    """`graph --format F` prints the graph in that format with its edge labels."""
    result = run("graph", TWO_PATHS, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "sin" in result.stdout  # the label dx/dt = -sin(t)


def test_graph_tree_repeats_shared_nodes() -> None:
    """`graph --tree` draws the textbook tree: t appears once under x and once under y."""
    result = run("graph", TWO_PATHS, "--tree")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "z"
    assert result.stdout.count("── t") == 2


def test_graph_at_a_point_labels_values() -> None:
    """`graph --at t=0` labels nodes and edges with their values there."""
    result = run("graph", TWO_PATHS, "--at", "t=0")
    assert result.exit_code == 0, result.output
    assert "layer 0 (inputs): t = 0" in result.stdout
    assert "layer 2 (target): z = 1" in result.stdout
    assert "[dx/dt = 0]" in result.stdout


# --- points, modes, notation, detail -------------------------------------------------------


def test_elementary_graph_at_a_point_shows_both_passes() -> None:
    """`--graph elementary --at …` shows the forward pass and the backward pass (∂L/∂w = -18)."""
    result = run("solve", LOSS, "--graph", "elementary", "--at", POINT)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Forward pass (inputs to output):" in out
    assert "Backward pass (output to inputs)" in out
    assert out.index("Forward pass") < out.index("Backward pass")
    assert "L̄ = 1 (seed)" in out
    assert "∂L/∂w = -18" in out


def test_forward_mode_shows_tangent_passes() -> None:
    """`--mode forward` shows one tangent pass per input and the forward-mode gradient."""
    result = run("solve", LOSS, "--at", POINT, "--mode", "forward")
    assert result.exit_code == 0, result.output
    assert "Forward-mode pass 1 of 4" in result.stdout
    assert "Gradient at the point (forward mode)" in result.stdout


def test_lagrange_notation_writes_primes() -> None:
    """`--notation lagrange` writes y′ and f′(…) instead of dy/dx."""
    result = run("solve", "sin(x^2)", "--notation", "lagrange")
    assert result.exit_code == 0, result.output
    assert "Result: y′ = 2x·cos(x²)" in result.stdout
    assert "f′(x²)" in result.stdout
    assert "dy/dx" not in result.stdout


def test_brief_detail_shows_fewer_steps_than_full() -> None:
    """`--detail brief` shows fewer numbered steps than `--detail full`, with the same result."""
    brief = run("solve", "sin(x^2)", "--detail", "brief")
    full = run("solve", "sin(x^2)", "--detail", "full")
    assert brief.exit_code == full.exit_code == 0
    assert 0 < numbered_steps(brief.stdout) < numbered_steps(full.stdout)
    assert "Result: dy/dx = 2x·cos(x²)" in brief.stdout


# --- sheet ----------------------------------------------------------------------------------


def test_sheet_answer_key_of_the_sample() -> None:
    """`sheet examples/sheet/chain_rule_homework.toml --answers-only` prints the answer key."""
    result = run("sheet", str(SAMPLE_SHEET), "--answers-only")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Homework 4: the chain rule — answer key")
    assert "Answer: dy/dx = 2x·cos(x²)" in result.stdout


def test_sheet_handout_to_markdown_file(tmp_path: Path) -> None:
    """`sheet … --no-solutions --output handout.md` writes a Markdown hand-out."""
    out = tmp_path / "handout.md"
    result = run("sheet", str(SAMPLE_SHEET), "--no-solutions", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Homework 4: the chain rule")


# --- real processes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "stdout_part", "stderr_part"),
    [
        (["solve", "sin(x^2)"], 0, "All steps verified.", ""),
        (["verify", "sin(x^2)", "--answer", "cos(x^2)"], 1, "Verdict: not equivalent", ""),
        (["solve", "sin(x^^2)"], 2, "", "error: unexpected '^'"),
    ],
)
def test_real_process_exit_codes(
    args: list[str], code: int, stdout_part: str, stderr_part: str
) -> None:
    """`python -m chainsolve` with stdin closed exits 0/1/2 as documented, never a traceback."""
    proc = run_process(*args)
    assert proc.returncode == code, proc.stderr
    assert stdout_part in proc.stdout
    assert stderr_part in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dash_with_closed_stdin_is_bad_input() -> None:
    """`solve -` with standard input closed is bad input: exit 2 with an `error:` line."""
    proc = run_process("solve", "-")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ")


def test_derivation_dash_with_closed_stdin_has_no_traceback() -> None:
    """`verify --derivation -` with standard input closed exits 2 without a traceback."""
    proc = run_process("verify", "sin(x^2)", "--derivation", "-")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2, proc.stderr


def test_script_keeps_exit_codes_and_flushes_output(tmp_path: Path) -> None:
    """The real process (main, then a frozen-heap exit) keeps exit codes and writes everything out."""
    solved = run_process("solve", "sin(x^2)")
    assert solved.returncode == 0
    assert solved.stdout.rstrip().endswith("All steps verified.")
    refused = run_process("solve", "sin(")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error:") and "Traceback" not in refused.stderr
    target = tmp_path / "solution.json"
    written = run_process("solve", "w = x^2 + y^2; x = cos(t); y = sin(t)", "-o", str(target))
    assert written.returncode == 0
    assert json.loads(target.read_text(encoding="utf-8"))["derivatives"]["t"] == "0"


def test_grade_prints_a_readable_summary_and_keeps_stdout_reports_clean(tmp_path: Path) -> None:
    """`grade -o` prints the Markdown summary; without -o the CSV report alone is on stdout."""
    submissions = tmp_path / "subs.csv"
    submissions.write_text(
        "id,problem,answer\nann,sin(x^2),2x*cos(x^2)\nbob,sin(x^2),2x*cosine(x^2)\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.csv"
    written = run("grade", str(submissions), "-o", str(report), "--jobs", "1")
    assert written.exit_code == 0, written.stderr
    assert written.stdout.startswith("# Grading summary")
    assert "2 submissions: 1 correct, 1 not" in written.stdout
    assert "GradeSummary(" not in written.stdout
    assert "(did you mean cos?)" in report.read_text(encoding="utf-8")
    piped = run("grade", str(submissions), "--jobs", "1")
    assert piped.stdout.splitlines()[0].startswith("row,id,problem,verdict,correct")
    assert "# Grading summary" in piped.stderr and "# Grading summary" not in piped.stdout


def test_problem_may_start_with_a_minus_sign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'-x^2' and '-cos(x)' are problems, not options (-cos(x) once meant -c -o 's(x)')."""
    monkeypatch.chdir(tmp_path)
    solved = run("solve", "-x^2", "--wrt", "x")
    assert solved.exit_code == 0 and "Result: dy/dx = -2x" in solved.stdout
    checked = run("verify", "-cos(x)", "--answer", "sin(x)")
    assert checked.exit_code == 0 and "equivalent (correct)" in checked.stdout
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "out.md"
    written = run("solve", "-o", str(target), "-sin(x)")
    assert written.exit_code == 0 and "-sin(x)" in target.read_text(encoding="utf-8")
    mistyped = run("solve", "sin(x)", "--formt", "latex")
    assert mistyped.exit_code == 2 and "No such option" in mistyped.stderr


def test_carriage_returns_in_user_text_never_reach_the_terminal() -> None:
    """A CR (or CRLF) in a problem is not echoed raw: the text output, the reading echo and the
    caret line of an error stay on their own lines (a raw CR would overwrite what was printed)."""
    solved = run("solve", "-", stdin="sin(x)\r\n")
    assert solved.exit_code == 0
    assert "\r" not in solved.output and "Problem: sin(x)\n" in solved.output
    refused = run("solve", "sin(x)\r+ )")
    assert refused.exit_code == 2 and "\r" not in refused.output
    line, caret = refused.stderr.splitlines()[1:3]
    assert caret.index("^") == line.index(")", line.index("+"))
    two_lines = run("solve", "-", "--wrt", "t", stdin="z = x^2*y\r\nx = cos(t)\n")
    assert "Problem: z = x^2*y; x = cos(t)\n" in two_lines.output


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "sin(x^2)", "--format", "html"],
        ["solve", "sin(x^2)"],
        ["verify", "sin(x^2)", "--answer", "cos(x^2)"],
    ],
)
def test_a_reader_gone_ends_the_command_quietly(args: list[str]) -> None:
    """Bug: `solve … | head -1` printed "internal error: BrokenPipeError"; now exit 141, no stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chainsolve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert stderr == b""


def test_own_process_collects_garbage_in_the_work_but_not_the_imports() -> None:
    """`chainsolve` in its own process imports with the collector off, then freezes and resumes it.

    sympy.tensor.tensor, which sympy imports on its first addition, is a stand-in from the
    start-up on (tensor_standin): the whole command runs without sympy's polyhedra.
    """
    probe = (
        "import gc, sys\n"
        "import chainsolve.cli as cli\n"
        "real = cli._imports_done\n"
        "def spy():\n"
        "    before = (gc.isenabled(), 'sympy' in sys.modules)\n"
        "    real()\n"
        "    tensor = type(sys.modules['sympy.tensor.tensor']).__name__\n"
        "    print(before, gc.isenabled(), gc.get_freeze_count() > 100_000, tensor, file=sys.stderr)\n"
        "cli._imports_done = spy\n"
        "sys.argv = ['chainsolve', 'solve', 'sin(x^2)']\n"
        "try:\n"
        "    cli.run()\n"
        "finally:\n"
        "    print('sympy.combinatorics.polyhedron' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "cos(x²)" in done.stdout
    assert done.stderr.split() == ["(False,", "True)", "True", "True", "_StandIn", "False"]
