"""The one place for the words of a solution: step sentences by phrase key, rule names by rule id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from chainsolve.steps import RuleRef, Step

Words = Mapping[str, str]


def _paths(words: Words) -> str:
    count = int(words["count"])
    return f"{count} path{'s' if count != 1 else ''} from {words['target']} to {words['wrt']}"


#: Each step's sentence, keyed by the step's ``phrase``; ``{name}`` is filled from its words.
PHRASES: Mapping[str, str | Callable[[Words], str]] = MappingProxyType(
    {
        "decompose": "Decompose into intermediate variables",
        "decompose_inner": "Name the inner parts",
        "chain_formula": "Chain rule: one factor per link",
        "chain_outer": "Differentiate the outer function",
        "chain_middle": "Differentiate the middle function",
        "chain_inner": "Differentiate the inner part",
        "chain_inner_summary": "So the inner derivative is",
        "chain_inner_found": "The inner derivative, found above",
        "chain_multiply": "Multiply the local derivatives",
        "chain_substitute": "Substitute back",
        "direct": "Differentiate directly",
        "found_above": "Found above",
        "no_rule": "No step-by-step rule covers this part; the derivative comes from sympy",
        "sympy_fallback": "The derivative as computed by sympy",
        "sum_terms": "Differentiate term by term",
        "sum_open": "The derivative of a sum is the sum of the derivatives",
        "sum_add": "Add the parts",
        "constant_out": "Take the constant factor out",
        "constant_multiply": "Multiply by the constant",
        "product_open": "Product rule: (fg)′ = f′g + fg′",
        "product_close": "Put the product rule together",
        "quotient_open": "Quotient rule: (f/g)′ = (f′g − fg′)/g²",
        "quotient_close": "Put the quotient rule together",
        "logarithmic_open": (
            "Base and exponent both vary: take logarithms, ln y = g·ln f, "
            "and differentiate both sides"
        ),
        "logarithmic_close": "Multiply back by fᵍ",
        "simplify": "Simplify",
        "simplify_where": "Simplify, where {condition}",
        "result": "Result",
        "shared": (
            "The decomposition and the outer derivatives are the same as for {owner} "
            "(shown above); only the inner derivatives differ"
        ),
        "graph_definitions": "The definitions and the dependency graph",
        "graph_dependencies": "{dependencies}",
        "graph_edge": "Local derivative along the edge {source} → {target}",
        "graph_paths": _paths,
        "graph_path_sum": "Multivariable chain rule: one product per path, summed",
        "graph_insert": "Insert the local derivatives",
        "graph_substitute": "Substitute the definitions of the intermediate variables",
        "graph_too_many_paths": (
            "There are {count} paths from {target} to {wrt}: too many to write out, so the "
            "derivative is accumulated layer by layer (backpropagation), one multiply-add per edge"
        ),
        "graph_accumulate": "Gradient arriving at {node} from {consumers}",
        "graph_backprop_check": "Backpropagation checked against a central finite difference",
    }
)

_FUNCTION_NAMES = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "acot": "arccot",
    "asec": "arcsec",
    "acsc": "arccsc",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "log": "ln",
}

#: Rule names that say more than "derivative of F".
_RULE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "constant": "constant rule",
        "variable": "d{name}/d{name} = 1",
        "power": "power rule",
        "square_root": "square root rule",
        "reciprocal": "power rule (reciprocal)",
        "exponential": "exponential rule: d/du aᵘ = aᵘ·ln(a)",
        "derivative_of_abs": "derivative of |u| (its sign)",
        "derivative_of_sigmoid": "derivative of sigmoid: σ(1 − σ)",
        "derivative_of_relu": "derivative of relu: 1 where u > 0, else 0",
        "derivative_of_softplus": "derivative of softplus: σ",
        "derivative_of_sign": "derivative of sign: 0 where u ≠ 0",
        "derivative_of_heaviside": "derivative of Heaviside: 0 where u ≠ 0",
        "abstract_function": "derivative of {name} (an unknown function)",
        "abstract_partial": "partial derivative of {name} (an unknown function)",
        "sum": "sum rule",
        "constant_multiple": "constant multiple rule",
        "held_constant": "{names} held constant",
        "product": "product rule",
        "quotient": "quotient rule",
        "logarithmic": "logarithmic differentiation",
        "chain": "chain rule",
        "no_rule": "computed by sympy",
        "path_sum": "chain rule (sum over paths)",
        "accumulation": "reverse accumulation",
        "pythagorean": "sin² + cos² = 1",
        "pythagorean_hyperbolic": "cosh² − sinh² = 1",
    }
)


def rule_name(rule: RuleRef) -> str:
    """The human name of a rule: ``derivative of sin``, ``product rule``, ``x held constant``."""
    template = _RULE_NAMES.get(rule.id)
    if template is None:
        if not rule.id.startswith("derivative_of_"):
            raise KeyError(f"no name for rule id {rule.id!r}")
        function = rule.id.removeprefix("derivative_of_")
        template = f"derivative of {_FUNCTION_NAMES.get(function, function)}"
    name = rule.names[0] if rule.names else ""
    return template.format(name=name, names=", ".join(rule.names))


def sentence(step: Step) -> str:
    """The sentence that opens a step."""
    phrase = PHRASES[step.phrase]
    words = dict(step.words)
    return phrase(words) if callable(phrase) else phrase.format(**words)


def rule_label(step: Step) -> str | None:
    """The names of the rules a step applies, joined (``sum rule, power rule``), or None."""
    if not step.rules:
        return None
    return ", ".join(rule_name(rule) for rule in step.rules)


def depends_on(node: str, inputs: list[str]) -> str:
    """``z depends on x, y``: one line of the dependency note."""
    return f"{node} depends on {', '.join(inputs)}"


# -- notes --------------------------------------------------------------------------------------


def note_long_chain(count: int) -> str:
    """A chain too long to substitute back is left in its intermediate variables."""
    return (
        f"The chain has {count + 1} links: the result is left in terms of the intermediate "
        f"variables u_1 … u_{count} defined above, because substituting them back would "
        f"write out about {count * count // 2} nested functions."
    )


def note_simplify_ran_out() -> str:
    """Simplifying stopped before it finished; the result is still right."""
    return "Simplifying took too long; the result is shown unsimplified (it is still correct)."


def note_misspelled(name: str, meant: str) -> str:
    """An unknown function whose name looks like a known one."""
    return (
        f"'{name}' is not a function chainsolve knows, so it is treated as an unknown "
        f"function; if you meant {meant}, write {meant}."
    )


def note_partial_slots(functions: list[str]) -> str:
    """What ∂₁f(…) means, for the functions of several arguments in the results."""
    f = functions[0]
    more = f" (and so for {', '.join(functions[1:])})." if len(functions) > 1 else "."
    return (
        f"∂₁{f}(…) is the partial derivative of {f} with respect to its first argument, "
        f"evaluated at the point in the parentheses; ∂₂{f} likewise for the second" + more
    )


def note_partial_versus_total() -> str:
    """Why ∂z/∂x and dz/dx differ when x reaches z directly and through intermediates."""
    return (
        "Some input reaches the target both directly and through intermediate variables: "
        "the partial derivative ∂z/∂x holds the other variables of z's definition fixed, "
        "while the total derivative dz/dx adds every path by which x changes z."
    )


def note_wrong_step(variables: list[str]) -> str:
    """A rule produced a wrong step: that derivative is sympy's instead."""
    return (
        f"A step of the worked solution for {', '.join(variables)} failed its check (a bug in "
        "chainsolve; please report it), so that derivative is given as computed by sympy "
        "instead of step by step."
    )


def note_left_in_intermediates(wrt: str) -> str:
    """A graph derivative too large to substitute is given in the intermediate variables."""
    return (
        f"The fully substituted derivative with respect to {wrt} would be enormous, so it is "
        "given in terms of the intermediate variables."
    )


#: Jinja filters that put the words on a step (registered by :mod:`chainsolve.render`).
FILTERS: Mapping[str, Callable[[Step], str | None]] = MappingProxyType(
    {"sentence": sentence, "rule_label": rule_label}
)
