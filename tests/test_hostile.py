"""Hostile and pathological input through the real command line: clear refusals, no code run, no hangs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chainsolve.cli import main
from tests.conftest import run_cpu

CORPUS = Path(__file__).parent / "data" / "hostile_cli.jsonl"
#: Seconds an input may take in-process (start-up already paid by the warm-up).
#: CPU seconds (not wall-clock: a busy machine must not fail the test) a hostile input may cost.
BUDGET = 1.0

Row = dict[str, Any]


def _load() -> list[Row]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def _generated() -> list[Row]:
    """Inputs too large or too repetitive to keep in the data file."""
    deep = 300
    return [
        {"args": ["solve", "(" * deep + "x" + ")" * deep], "why": "300-deep parentheses"},
        {"args": ["solve", "sin(" * deep + "x" + ")" * deep], "why": "300-deep calls"},
        {"args": ["solve", "--", "-" * deep + "x"], "why": "300 unary minus signs"},
        {"args": ["solve", "x^" * deep + "x"], "why": "300-deep power tower"},
        {"args": ["solve", "x" * 100_000], "why": "100k-character name"},
        {"args": ["solve", "x+" * 50_000 + "x"], "why": "100k-character sum"},
        {"args": ["solve", "z = x\n" * 20_000], "why": "120k characters of duplicate definitions"},
        {"args": ["verify", "sin(x)", "--answer", "cos(x)*" * 15_000 + "1"], "why": "100k answer"},
        {"args": ["graph", "(" * deep + "x" + ")" * deep], "why": "300-deep graph"},
        {"args": ["solve", "sin(x)", "--at", "x=" + "1" * 100_000], "why": "100k --at"},
        {"args": ["solve", "sin(x)", "--wrt", "x," * 50_000], "why": "100k --wrt"},
        {"args": ["solve", "x\x00+1"], "why": "NUL byte"},
    ]


CASES = [{**row, "expect": row.get("expect", "error")} for row in _load() + _generated()]


def _allowed_exits(row: Row) -> tuple[int, ...]:
    if row["expect"] == "error":
        return (2,)
    # verify answers with 0 (correct) or 1 (wrong); other commands with 0.
    return (0, 1) if row["args"][0] == "verify" else (0,)


def _with_canary(args: list[str], canary: Path) -> list[str]:
    return [arg.replace("{CANARY}", str(canary)) for arg in args]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    """A CliRunner whose first command has already paid the lazy imports (start-up)."""
    warm = CliRunner()
    warm.invoke(main, ["solve", "sin(x^2)", "--at", "x=1"])
    warm.invoke(main, ["verify", "sin(x)", "--answer", "cos(x)"])
    warm.invoke(main, ["graph", "z = x*y; x = t; y = t"])
    return warm


def test_corpus_is_big_and_well_formed() -> None:
    """The stored corpus has at least 50 inputs, each with args, a reason and an expectation."""
    rows = _load()
    assert len(rows) >= 50
    for row in rows:
        assert set(row) == {"args", "why", "expect"}, row
        assert row["args"][0] in ("solve", "verify", "graph")
        assert row["expect"] in ("error", "answer")
        assert row["why"]


def test_corpus_covers_every_command_and_option() -> None:
    """The corpus reaches solve, verify --answer, graph, --at and --wrt."""
    rows = _load()
    commands = {row["args"][0] for row in rows}
    options = {arg for row in rows for arg in row["args"] if arg.startswith("--")}
    assert commands == {"solve", "verify", "graph"}
    assert {"--answer", "--at", "--wrt"} <= options
    assert sum("{CANARY}" in " ".join(row["args"]) for row in rows) >= 10


@pytest.mark.parametrize("row", CASES, ids=lambda row: str(row["why"])[:50])
def test_hostile_input_in_process(row: Row, runner: CliRunner, tmp_path: Path) -> None:
    """Each hostile input ends in under a second with a clear message and exit 2 (or a correct answer), runs nothing."""
    canary = tmp_path / "CANARY"
    args = _with_canary(row["args"], canary)
    start = time.thread_time()  # CPU time: a busy machine must not fail the test
    result = runner.invoke(main, args)
    elapsed = time.thread_time() - start
    output = result.output
    assert result.exit_code in _allowed_exits(row), (row["why"], result.exit_code, output[-500:])
    assert "Traceback" not in output
    assert "internal error" not in output
    if row["expect"] == "error":
        first = output.strip().splitlines()[0] if output.strip() else ""
        assert first.startswith("error: "), output[:500]
        # The message is for people: short, and it never echoes 100k characters back.
        assert len(output) < 2_000, len(output)
    else:
        assert output.strip()
    assert elapsed < BUDGET, (row["why"], elapsed)
    assert not canary.exists()


def test_error_messages_never_echo_invisible_characters(runner: CliRunner) -> None:
    """A refused bidi or zero-width character is named (U+202E), not printed raw into the terminal."""
    for char in ("\u202e", "\u2066", "\u200b", "\ufeff"):
        result = runner.invoke(main, ["solve", f"x{char}+1"])
        assert result.exit_code == 2
        assert char not in result.output
        assert f"U+{ord(char):04X}" in result.output


def test_hostile_stdin(runner: CliRunner, tmp_path: Path) -> None:
    """Problems read from stdin ('-') get the same treatment: junk, injection and 1 MB of text."""
    canary = tmp_path / "CANARY"
    for text in (
        "\x00\x01\xff\xfe junk",
        f"__import__('os').system('touch {canary}')",
        "x+" * 500_000,
        "",
    ):
        start = time.thread_time()
        result = runner.invoke(main, ["solve", "-"], input=text)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert time.thread_time() - start < BUDGET
    assert not canary.exists()


# --- true start-up: a separate interpreter with stdin closed -----------------------------------

SUBPROCESS_CASES = [
    ["solve", "__import__('os').system('touch {CANARY}')"],
    ["solve", "exec(\"open('{CANARY}', 'w')\")"],
    ["solve", "2^10^10"],
    ["solve", "(" * 300 + "x" + ")" * 300],
    ["solve", "x" * 100_000],
    ["verify", "sin(x^2)", "--answer", "(lambda: open('{CANARY}', 'w'))()"],
    ["graph", "a = b; b = a"],
    ["solve", "sin(x)", "--at", "x=__import__('os').system('touch {CANARY}')"],
    ["solve", "sin(x)", "--wrt", "x.__class__"],
    ["solve", "-"],
    # LaTeX: every command outside the maths whitelist is refused before anything is read
    ["solve", r"\input{/etc/passwd}"],
    ["solve", r"\def\x{1} x", "--input", "latex"],
    ["solve", r"\catcode`\^=11 x"],
    ["solve", r"\write18{touch {CANARY}} x"],
    ["verify", "sin(x)", "--answer", r"\immediate\write18{touch {CANARY}}"],
    ["solve", r"\frac{1}{" * 500 + "x" + "}" * 500],
    ["solve", r"\sin" * 25_000, "--input", "latex"],
    ["solve", "x" * 100_000, "--input", "latex"],
]


@pytest.fixture(scope="module")
def startup() -> float:
    """CPU seconds the interpreter takes to start chainsolve and solve a trivial problem (best of 2)."""
    return min(run_cpu(["solve", "x"])[1] for _ in range(2))


@pytest.mark.parametrize("args", SUBPROCESS_CASES, ids=lambda args: " ".join(args)[:40])
def test_hostile_input_in_a_fresh_process(args: list[str], startup: float, tmp_path: Path) -> None:
    """A real `python -m chainsolve` refuses hostile input with exit 2 within a second of start-up, runs nothing."""
    canary = tmp_path / "CANARY"
    completed, elapsed = run_cpu(_with_canary(args, canary))
    assert completed.returncode == 2, completed.stderr[-500:]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stderr.startswith("error: "), completed.stderr[:500]
    assert elapsed - startup < BUDGET, (elapsed, startup)
    assert not canary.exists()
