"""The stand-in for sympy.tensor.tensor: additions run without it, any real use loads it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(body: str, *, installed: bool = True) -> str:
    """Run ``body`` in a fresh interpreter, with the stand-in installed first; its standard output."""
    script = "import sympy\nfrom chainsolve import tensor_standin\n"
    script += "tensor_standin.install()\n" * installed + body
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_additions_and_a_solve_need_no_tensor_module() -> None:
    """Sums, a derivative and a whole solve run on the stand-in: sympy's polyhedra are never built."""
    out = _run(
        "from chainsolve.api import solve\n"
        "x, y = sympy.symbols('x y')\n"
        "total = x + 1 + y + sympy.sin(x) + 2\n"
        "solution = solve('z = x^2*y; x = cos(t); y = exp(t)', wrt='t')\n"
        "print(total, sympy.diff(sympy.exp(x**2 + x), x), solution.derivations[0].result)\n"
        "import sys\n"
        "print(type(sys.modules['sympy.tensor.tensor']).__name__,"
        " 'sympy.combinatorics.polyhedron' in sys.modules)\n"
    )
    first, second = out.splitlines()
    assert first.startswith("x + y + sin(x) + 3 (2*x + 1)*exp(x**2 + x)")
    assert second == "_StandIn False"


@pytest.mark.parametrize(
    "reach",
    [
        "from sympy.tensor.tensor import TensorIndexType, tensor_indices, TensorHead, TensAdd",
        "import sympy.tensor.tensor as T\n"
        "TensorIndexType, tensor_indices, TensorHead, TensAdd = "
        "T.TensorIndexType, T.tensor_indices, T.TensorHead, T.TensAdd",
    ],
)
def test_any_other_use_loads_the_real_module_and_tensor_sums_are_right(reach: str) -> None:
    """A name the addition does not ask for, imported or reached from the package, loads the real
    module; it replaces the stand-in, so a tensor sum built after it is a real, correct TensAdd."""
    out = _run(
        "x = sympy.Symbol('x')\n"
        "print(x + 1)\n"
        f"{reach}\n"
        "L = TensorIndexType('L')\n"
        "i = tensor_indices('i', L)\n"
        "A, B = TensorHead('A', [L]), TensorHead('B', [L])\n"
        "total = A(i) + B(i) + A(i)\n"
        "import sys\n"
        "real = sys.modules['sympy.tensor.tensor']\n"
        "print(type(total) is real.TensAdd, total == 2*A(i) + B(i), type(real).__name__,"
        " sympy.tensor.tensor is real)\n"
    )
    assert out.splitlines() == ["x + 1", "True True module True"]


def test_the_stand_in_keeps_out_when_the_real_module_is_loaded() -> None:
    """Installed after sympy.tensor.tensor was imported, the stand-in does nothing."""
    out = _run(
        "import sys, sympy.tensor.tensor as T\n"
        "tensor_standin.install()\n"
        "print(type(sys.modules['sympy.tensor.tensor']).__name__, tensor_standin.real_module() is T)\n",
        installed=False,
    )
    assert out == "module True"


def test_nothing_is_a_no_tensor() -> None:
    """The class the addition's instance test meets cannot be built: no term can be one."""
    from chainsolve.tensor_standin import NoTensor

    with pytest.raises(TypeError):
        NoTensor()
