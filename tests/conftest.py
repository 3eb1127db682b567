"""Shared test helpers: tools that must exist in CI, timed runs of the real command line, a busy CPU."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A step whose check found a difference is a bug: in the suite it raises (child processes of
# the CLI tests inherit this) instead of falling back to sympy's derivative with a note.
os.environ.setdefault("CHAINSOLVE_STRICT_CHECKS", "1")
# Every JSON document built in the suite (and in its CLI child processes) must match its schema.
os.environ.setdefault("CHAINSOLVE_VALIDATE_JSON", "1")


def require_tool(name: str) -> str:
    """The path of an external tool; skip (or, in CI, fail) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CHAINSOLVE_REQUIRE_TOOLS"):
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def compile_latex(
    document: str, directory: Path, name: str = "document", *, timeout: float = 300
) -> str:
    """Compile with pdflatex -halt-on-error in ``directory``; its log (the test fails otherwise)."""
    pdflatex = require_tool("pdflatex")
    (directory / f"{name}.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(
        [pdflatex, "-halt-on-error", "-interaction=nonstopmode", f"{name}.tex"],
        cwd=directory,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert (directory / f"{name}.pdf").stat().st_size > 0
    return (directory / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def run_timed(
    args: list[str], *, limit: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`python -m chainsolve ARGS` as a real process (stdin empty), and its wall-clock seconds."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "chainsolve", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=limit,
        cwd=ROOT,
        env=env,
    )
    return completed, time.perf_counter() - start


def run_cpu(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """:func:`run_timed`, measured in the process's CPU seconds: what a busy machine does not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed, _ = run_timed(args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return completed, cpu


#: Busy processes started per CPU core by :func:`saturated_cpu`.
BUSY_PER_CORE = 4


@pytest.fixture
def saturated_cpu() -> Iterator[int]:
    """Every core kept busy by pure CPU loops (cores × 4 processes) while the test runs.

    Yields how many were started; they are killed in teardown, whatever the tests did.
    """
    count = (os.cpu_count() or 1) * BUSY_PER_CORE
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield count
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()
