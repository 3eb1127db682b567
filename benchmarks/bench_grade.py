"""Grading throughput: submissions per second on 1 and 2 worker processes for a realistic mix."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from chainsolve.grade import grade_file

#: A class's worth of submissions: mostly right, common slips, a few derivations and bad rows.
MIX = [
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x^2)"},
    {"problem": "sin(x^2)", "answer": "cos(x)*2*x"},
    {"problem": "exp(3*x^2 + 1)", "answer": "6*x*exp(3*x^2 + 1)"},
    {"problem": "(x^2 + 1)^3", "answer": "6*x*(x^2 + 1)^2"},
    {"problem": "(x^2 + 1)^3", "answer": "3*(x^2 + 1)^2"},
    {"problem": "log(cos(x))", "answer": "-tan(x)"},
    {"problem": "sqrt(1 + sin(x))", "answer": "cos(x)/(2*sqrt(1 + sin(x)))"},
    {"problem": "sigmoid(2*x)", "answer": "2*sigmoid(2*x)*(1 - sigmoid(2*x))"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t) + x^2*exp(t)"},
    {"problem": "z = x^2*y; x = cos(t); y = exp(t)", "answer": "-2*x*y*sin(t)"},
    {"problem": "z = f(x, y); x = g(t); y = h(t)", "answer": "f_x*g_t + f_y*h_t"},
    {"problem": "sin(x^2)", "derivation": "dy/dx = cos(x^2)*2*x\n= 2*x*cos(x^2)"},
    {"problem": "sin(x^2)", "derivation": "= cos(x^2)*2*x\n= x*cos(x^2)\n= cos(x^2)*x"},
    {"problem": "sin(x^2)", "answer": "2*x*cos(x^2"},
]


def main(rows: int = 150) -> None:
    """Print a table of submissions per second for 1 and 2 jobs."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "subs.jsonl"
        lines = [json.dumps({"id": f"s{i}", **MIX[i % len(MIX)]}) for i in range(rows)]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{rows} submissions, {len(MIX)} kinds")
        print(f"{'jobs':>4}  {'seconds':>8}  {'per second':>10}")
        for jobs in (1, 2):
            start = time.perf_counter()
            summary = grade_file(
                source,
                jobs=jobs,
                output=Path(folder) / f"r{jobs}.csv",
                report_format="csv",
                resume=False,
                timeout=10,
                memory_mb=1024,
                progress=False,
            )
            seconds = time.perf_counter() - start
            assert summary.total == rows
            print(f"{jobs:>4}  {seconds:>8.2f}  {rows / seconds:>10.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
