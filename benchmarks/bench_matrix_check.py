"""Benchmark: the entry-by-entry check of one n×n sigmoid layer, as n grows (4, 8, 16, 32).

Run: ``python benchmarks/bench_matrix_check.py [--repeat 5] [--sizes 4,8,16,32]``. For each n,
the problem ``a = W*x + b; h = sigmoid(a); L = 1/2*norm2(h - y)^2`` (W n×n) is parsed, shaped
and backpropagated once; then the check of every step against sympy.diff of the scalar
expansion is timed, sympy's cache cleared before each run: the median CPU and wall seconds,
with the default sample of entries (at most 36 per step) and with every entry checked.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from sympy.core.cache import clear_cache

from chainsolve.matrix.backprop import Backprop, backprop
from chainsolve.matrix.check import CHECK_LIMITS, CheckLimits, check_backprop, with_limits
from chainsolve.matrix.parse import parse_matrix_problem
from chainsolve.matrix.shapes import infer_shapes

LAYER = "a = W*x + b; h = sigmoid(a); L = 1/2*norm2(h - y)^2"


def layer(n: int) -> Backprop:
    """The backward pass of one n×n sigmoid layer with a squared-error loss, by W."""
    shapes = f"W: {n}x{n}, x: {n}, b: {n}, y: {n}"
    return backprop(infer_shapes(parse_matrix_problem(LAYER, shapes, ["W"])))


def medians(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median CPU and wall seconds of ``repeat`` runs, sympy's cache cleared before each."""
    cpu, wall = [], []
    for _ in range(repeat):
        clear_cache()
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        work()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return statistics.median(cpu), statistics.median(wall)


def run(sizes: list[int], repeat: int) -> str:
    """The Markdown table of the figures."""
    every = with_limits(CHECK_LIMITS, max_entries=10**6)
    rows = [
        "| n | entries of ∂L/∂W | checked (default) | CPU s (default) | wall s (default) "
        "| CPU s (every entry) | wall s (every entry) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        worked = layer(n)

        def check(limits: CheckLimits, worked: Backprop = worked) -> object:
            return check_backprop(worked, limits)

        checked = check_backprop(worked)
        gradient = checked.checks[-1]
        default = medians(lambda: check(CHECK_LIMITS), repeat)
        full = medians(lambda: check(every), repeat) if n <= 16 else (float("nan"),) * 2
        rows.append(
            f"| {n} | {gradient.entries} | {gradient.checked} | {default[0]:.3f} | "
            f"{default[1]:.3f} | {full[0]:.3f} | {full[1]:.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="4,8,16,32")
    args = parser.parse_args()
    print(run([int(size) for size in args.sizes.split(",")], args.repeat))


if __name__ == "__main__":
    main()
