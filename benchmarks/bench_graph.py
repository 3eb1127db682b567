"""Scaling of ``chainsolve graph`` on z = (x+1)(x+2)…(x+N); x = t, whose dz/dx has N² factors.

Run: ``python benchmarks/bench_graph.py [--sizes 150,300,600] [--repeat N]``. For each size:
the median CPU seconds of parsing the problem, building the graph and emitting each picture
format, and the length of the text picture. The fitted log-log exponent should be close to
1 (linear): a label too long to show is elided without forming the derivative.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import loglog_slope, markdown_table, slope_text

from chainsolve.emitters import FORMATS, emitter
from chainsolve.graph import build_graph
from chainsolve.parsing import parse_problem


def product_problem(count: int) -> str:
    """The problem text z = (x+1)(x+2)…(x+count); x = t."""
    return "z = " + "".join(f"(x+{i})" for i in range(1, count + 1)) + "; x = t"


def graph_seconds(count: int, repeat: int) -> tuple[float, int]:
    """Median CPU seconds to parse, build and emit every format; the text picture's length."""
    text = product_problem(count)
    times = []
    length = 0
    for _ in range(max(1, repeat)):
        start = time.process_time()
        graph = build_graph(parse_problem(text))
        pictures = [emitter(fmt)(graph) for fmt in FORMATS]
        times.append(time.process_time() - start)
        length = len(pictures[FORMATS.index("text")])
    return statistics.median(times), length


def main() -> None:
    """Print a Markdown table of sizes, CPU seconds and output lengths, and the fitted exponent."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="150,300,600")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    graph_seconds(10, 1)  # warm-up: sympy's lazy imports and caches
    rows = []
    seconds = []
    for size in sizes:
        cpu, length = graph_seconds(size, args.repeat)
        seconds.append(cpu)
        rows.append([str(size), f"{cpu:.3f}", str(length)])
    print(markdown_table(["N", "CPU s (all formats)", "text chars"], rows))
    print(f"\nlog-log exponent of CPU time in N: {slope_text(loglog_slope(sizes, seconds))}")


if __name__ == "__main__":
    main()
