"""A Solution as a plain JSON-ready dict with a stable schema (chainsolve/schema/*.json)."""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from typing import Any, Literal

import sympy
from sympy.printing.str import StrPrinter

from chainsolve.filters import (
    StructuralOrder,
    chain_latex,
    chain_unicode,
    definition_latex,
    definition_unicode,
    formula_latex,
    latex_expr,
    slot_form_of,
)
from chainsolve.graph import Graph
from chainsolve.problem import Problem, make_symbol
from chainsolve.steps import Claim, Derivation, Formula, Neg, Product, Solution, Step, Sum
from chainsolve.wording import note_text, rule_label, sentence

#: Bumped whenever a field is removed or changes meaning (adding a field keeps the version).
SCHEMA_VERSION = 1

#: Set (the test suite sets it) to validate every JSON document chainsolve builds against its schema.
VALIDATE_JSON_ENV = "CHAINSOLVE_VALIDATE_JSON"

SchemaName = Literal["solution", "verdict", "gradients"]


@functools.cache
def json_schema(name: SchemaName) -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of a solution or a verdict, shipped in the package.

    >>> json_schema("solution")["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    """
    text = resources.files("chainsolve").joinpath("schema", f"{name}.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validated(data: dict[str, Any], name: SchemaName) -> dict[str, Any]:
    """``data`` itself; under :data:`VALIDATE_JSON_ENV` it must match the schema or this raises.

    ``jsonschema`` is a test dependency only: outside the suite nothing is imported.
    """
    if os.environ.get(VALIDATE_JSON_ENV):
        _validator(name).validate(data)
    return data


@functools.cache
def _validator(name: SchemaName) -> Any:
    """A draft 2020-12 validator of one schema, built once (checking the schema itself is slow)."""
    import jsonschema

    schema = json_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def step_text(step: Step) -> str:
    """One line of plain Unicode: the sentence, then the equality chain, definitions or paths.

    >>> from chainsolve.steps import Leibniz
    >>> x, y = sympy.Symbol("x"), sympy.Symbol("y")
    >>> step_text(Step("rule", "direct", (Leibniz(y, x), 2 * x)))
    'Differentiate directly: dy/dx = 2x'
    """
    parts = [chain_unicode(step.sides)] if step.sides else []
    parts += [definition_unicode(name, expr) for name, expr in step.definitions]
    parts += [" → ".join(path) for path in step.paths]
    text = sentence(step)
    if not parts:
        return text
    details = "; ".join(parts)
    return f"{text}: {details}" if text else details


def step_latex(step: Step) -> str:
    r"""The LaTeX of a step's maths: its equality chain, else its definitions or paths."""
    if step.sides:
        return chain_latex(step.sides)
    if step.definitions:
        return r",\quad ".join(definition_latex(name, expr) for name, expr in step.definitions)
    if step.paths:
        return r",\quad ".join(
            r" \to ".join(latex_expr_name(name) for name in path) for path in step.paths
        )
    return ""


def latex_expr_name(name: str) -> str:
    """A variable name in LaTeX (``u_1`` → ``u_{1}``)."""
    return latex_expr(sympy.Symbol(name))


def _claim_dict(claim: Claim | None) -> dict[str, Any] | None:
    """A step's equality in the input language: each of ``equals`` is d(derivative_of)/d(wrt)."""
    if claim is None:
        return None
    return {
        "derivative_of": expression_text(claim.subject),
        "wrt": claim.var.name,
        "equals": [expression_text(value) for value in claim.values],
    }


def _step_dict(step: Step, derivation: str | None) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "rule": rule_label(step),
        "rule_ids": [rule.id for rule in step.rules],
        "claim": _claim_dict(step.claim),
        "text": step_text(step),
        "latex": step_latex(step),
        "verified": step.verified,
        "check": {"status": step.check.status, "detail": step.check.detail},
        "depth": step.depth,
        "derivation": derivation,
    }


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """Nodes (name, kind, definition) and edges (source, target, local partial) as strings."""
    return {
        "nodes": [
            {
                "name": node.name,
                "kind": node.kind,
                "expr": None if node.expr is None else expression_text(node.expr),
            }
            for node in graph.nodes
        ],
        "edges": [
            {
                "source": edge.source,
                "target": edge.target,
                "local_partial": expression_text(edge.local_partial),
            }
            for edge in graph.edges
        ],
    }


def _paths_dict(derivation: Derivation) -> dict[str, Any]:
    paths = [list(path) for path in derivation.paths] if derivation.paths else None
    return {"count": derivation.path_count, "paths": paths}


class _ReadableStrPrinter(StructuralOrder, StrPrinter):
    """sympy's ``str()`` in the notation both sympy and chainsolve's parser read back.

    Euler's number is ``exp(1)`` (``E`` would read back as a variable). A derivative of an
    unknown function by one of its argument expressions is written as sympy's ``Subs``
    of a ``Derivative``, with bound names ``xi_1``, ``xi_2``, … that no variable of the
    expression uses (sympy's own ``_xi_1`` is not a name chainsolve reads).
    """

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "exp(1)"

    def _print_Derivative(self, expr: sympy.Expr) -> str:
        slot_form = slot_form_of(expr)
        if slot_form is not None:
            return self._print_Subs(slot_form)
        return str(super()._print_Derivative(expr))

    def _print_Subs(self, expr: sympy.Expr) -> str:
        inner, old, new = expr.args
        taken = {s.name for s in (expr.free_symbols | inner.free_symbols) if s not in old}
        names = _bound_names(len(old), taken)
        renamed = inner.xreplace(dict(zip(old, names, strict=True)))
        variables = names[0] if len(names) == 1 else tuple(names)
        point = new[0] if len(new) == 1 else tuple(new)
        return f"Subs({self._print(renamed)}, {self._print(variables)}, {self._print(point)})"


def _bound_names(count: int, taken: set[str]) -> list[sympy.Symbol]:
    """``count`` names ``xi_1``, ``xi_2``, … for the variables of a ``Subs``, none in ``taken``."""
    names: list[sympy.Symbol] = []
    index = 0
    while len(names) < count:
        index += 1
        name = f"xi_{index}"
        if name not in taken:
            names.append(make_symbol(name))
    return names


def expression_text(expr: sympy.Expr) -> str:
    """An expression as a string that both sympy and chainsolve's parser read back.

    >>> from sympy import Function
    >>> t = make_symbol("t")
    >>> f, g = Function("f"), Function("g")
    >>> expression_text(f(g(t)).diff(t))
    'Subs(Derivative(f(xi_1), xi_1), xi_1, g(t))*Derivative(g(t), t)'
    """
    return str(_ReadableStrPrinter().doprint(expr))


def _in_inputs(formula: Formula, inputs: frozenset[str]) -> bool:
    """Is ``formula`` (a result as written) plain expressions in the problem's inputs only?"""
    if isinstance(formula, sympy.Expr):
        return {s.name for s in formula.free_symbols} <= inputs
    if isinstance(formula, Neg):
        return _in_inputs(formula.operand, inputs)
    if isinstance(formula, (Sum, Product)):
        parts = formula.terms if isinstance(formula, Sum) else formula.factors
        return all(_in_inputs(part, inputs) for part in parts)
    return False


def _formula_text(formula: Formula) -> str:
    """A result as written (sums in the order typed), in the input language."""
    if isinstance(formula, Neg):
        return f"-({_formula_text(formula.operand)})"
    if isinstance(formula, Product):
        return "*".join(_factor_text(f) for f in formula.factors)
    if isinstance(formula, Sum):
        pieces = []
        for index, term in enumerate(formula.terms):
            negative = isinstance(term, Neg)
            text = _formula_text(term.operand if isinstance(term, Neg) else term)
            if isinstance(term, Neg) and isinstance(term.operand, Sum):
                text = f"({text})"
            sign = ("-" if negative else "") if index == 0 else (" - " if negative else " + ")
            pieces.append(sign + text)
        return "".join(pieces)
    return expression_text(formula)


def _factor_text(factor: Formula) -> str:
    """One factor of a product, in parentheses when it is a sum or has a sign."""
    text = _formula_text(factor)
    plain = isinstance(factor, sympy.Expr) and not (
        factor.is_Add or factor.could_extract_minus_sign()
    )
    return text if plain else f"({text})"


def _written(derivation: Derivation, problem: Problem) -> Formula:
    """The result as the Result line writes it, when that is in the inputs; else sympy's form."""
    if _in_inputs(derivation.written, frozenset(problem.inputs)):
        return derivation.written
    return derivation.result


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """The documented JSON schema (version 1) of a solution.

    Expressions are sympy's ``str()`` (``2*x*cos(x**2)``), which both sympy and
    chainsolve's parser read back. With a point (``--at``), ``evaluation`` holds the
    forward and backward passes and the checked gradient, and ``values``, ``gradient``,
    ``forward_pass`` and ``backward_pass`` are repeated at the top level.
    """
    problem = solution.problem
    steps = [_step_dict(step, None) for step in solution.shared_steps]
    for derivation in solution.derivations:
        steps += [_step_dict(step, derivation.wrt) for step in derivation.steps]
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "problem": {
            "source": problem.source,
            "definitions": [
                {"name": d.name, "expr": expression_text(d.expr)} for d in problem.definitions
            ],
            "target": problem.target,
            "inputs": list(problem.inputs),
            "wrt": list(problem.wrt),
            "point": {name: expression_text(value) for name, value in problem.point.items()},
        },
        "derivatives": {d.wrt: _formula_text(_written(d, problem)) for d in solution.derivations},
        "derivatives_latex": {
            d.wrt: formula_latex(_written(d, problem)) for d in solution.derivations
        },
        "steps": steps,
        "verified": solution.verified,
        "graph": None if solution.graph is None else graph_to_dict(solution.graph),
        "paths": {d.wrt: _paths_dict(d) for d in solution.derivations},
        "notes": [note_text(note) for note in solution.notes],
        "evaluation": None,
    }
    if len(solution.derivations) > len({d.wrt for d in solution.derivations}):
        # Several orders of one variable (--order): each order's result, keyed by its order.
        result["derivatives_by_order"] = {
            str(d.derivative.order): expression_text(d.result) for d in solution.derivations
        }
    if solution.evaluation is not None:
        from chainsolve.evaluation import evaluation_to_dict

        evaluation = evaluation_to_dict(solution.evaluation)
        result["evaluation"] = evaluation
        # The keys graders read at the top level, as documented for --at.
        for key in ("values", "gradient", "forward_pass", "backward_pass"):
            result[key] = evaluation.get(key)
    return validated(result, "solution")


__all__ = [
    "SCHEMA_VERSION",
    "expression_text",
    "graph_to_dict",
    "json_schema",
    "solution_to_dict",
    "step_latex",
    "step_text",
    "validated",
]
