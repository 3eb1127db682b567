"""The benchmark suite still runs: every section on the tiniest sizes, no timing assertions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def suite() -> object:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run
    finally:
        sys.path.remove(str(BENCHMARKS))
    return run


def test_suite_runs_on_tiny_sizes(suite: object, tmp_path: Path) -> None:
    """run.py's sections produce a report with every table, and ``main`` writes the file."""
    run = suite
    report = run.run_suite(run.TINY)  # type: ignore[attr-defined]
    for heading in (
        "## 1. CLI latency",
        "### Import costs",
        "## 2. Graph scaling",
        "### diamonds",
        "### deep",
        "Fitted log-log exponent",
        "## 3. Gradient at a point",
        "## 4. verify and grade throughput",
        "## 5. Issue 13 figures",
        "### Worked examples end to end on the CLI (CPU time",
        "machine:",
    ):
        assert heading in report, heading
    output = tmp_path / "latest.md"
    run.main(["--tiny", "--sections", "point", "--output", str(output)])  # type: ignore[attr-defined]
    assert output.read_text(encoding="utf-8").startswith("# chainsolve benchmarks")
