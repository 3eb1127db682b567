"""A stand-in for ``sympy.tensor.tensor`` in the command's own process, until a tensor is used.

sympy's every addition (``Add.flatten``) imports ``TensExpr`` and ``TensAdd`` from
``sympy.tensor.tensor``, to ask whether a term is a tensor. That import builds the symmetry
groups of the five Platonic solids (``sympy.combinatorics.polyhedron``): about 30 ms of CPU,
8% of ``import sympy``, on every command, for a question whose answer is always no: no tensor
can exist before the module that defines them is loaded. The stand-in answers those two
names with a class nothing is an instance of; any other use of the module (a name, or
attribute access from the package) loads the real one, which then replaces the stand-in, so
that every later addition sees the real classes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

MODULE = "sympy.tensor.tensor"
#: What sympy's addition asks of the module: only whether a term is an instance of these.
_ASKED_BY_ADDITION = frozenset({"TensExpr", "TensAdd"})


class NoTensor:
    """Stands for TensExpr and TensAdd while no tensor can exist: nothing is an instance of it."""

    def __new__(cls, *args: Any, **kwargs: Any) -> NoTensor:
        raise TypeError("no tensor can be built before sympy.tensor.tensor is loaded")


class _StandIn(types.ModuleType):
    """The module in sys.modules until the real one is needed: see the module's docstring."""

    def __getattr__(self, name: str) -> Any:
        if name in _ASKED_BY_ADDITION:
            return NoTensor
        if name.startswith("__"):  # the import system's questions (__path__, __spec__, …)
            raise AttributeError(name)
        return getattr(real_module(), name)


def install() -> None:
    """Put the stand-in in place, unless sympy.tensor.tensor is loaded already."""
    if MODULE in sys.modules:
        return
    stand_in = _StandIn(MODULE)
    sys.modules[MODULE] = stand_in
    import sympy.tensor

    # ``sympy.tensor.tensor.X`` reaches the real module through the stand-in too.
    sympy.tensor.tensor = stand_in


def real_module() -> types.ModuleType:
    """sympy.tensor.tensor itself, imported now if only the stand-in was in place."""
    module = sys.modules.get(MODULE)
    if isinstance(module, _StandIn):
        del sys.modules[MODULE]
        module = None
    return module if module is not None else importlib.import_module(MODULE)
