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
        "implicit_both_sides": (
            "Treat {dependent} as a function of {wrt} and differentiate both sides "
            "with respect to {wrt}"
        ),
        "implicit_collect": "Collect the d{dependent}/d{wrt} terms on one side and factor",
        "implicit_solve": "Solve for d{dependent}/d{wrt}",
        "implicit_slope": "The slope at the point ({point})",
        "implicit_tangent": "The tangent line at ({point})",
        "rates_both_sides": (
            "Every variable is a function of {time}: differentiate both sides "
            "with respect to {time}"
        ),
        "rates_value_from_equation": "The value of {name} at that moment, from the equation",
        "rates_substitute": "Put in the known rates and the values at that moment",
        "rates_solve": "Solve for d{unknown}/d{time}",
        "implicit_higher": (
            "Derivative of order {order}: differentiate the result of order {previous} "
            "implicitly ({dependent} is still a function of {wrt})"
        ),
        "implicit_substitute_slope": "Substitute d{dependent}/d{wrt} found above",
        "implicit_use_curve": "Shorten with the curve's equation",
        "implicit_value_at": "The value at the point ({point})",
        "higher_order": "Derivative of order {order}: differentiate the result of order {previous}",
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


def note_higher_order_needs_one_expression() -> str:
    """Why --order above 1 is refused for a problem it does not cover."""
    return "--order above 1 needs one expression and one variable (--wrt)"


def note_order_out_of_range(highest: int) -> str:
    """Why an --order outside 1..highest is refused."""
    return f"--order must be a whole number from 1 to {highest}"


def note_higher_order_at_point() -> str:
    """Why --order above 1 is refused together with --at."""
    return "--order above 1 cannot be combined with --at yet"


def implicit_error_no_dependent(dependent: str) -> str:
    """Why an equation without the dependent variable is refused."""
    return f"the equation does not contain '{dependent}', the variable given to --implicit"


def implicit_error_variables(dependent: str, others: list[str]) -> str:
    """Why an equation is refused when the independent variable is not exactly one name."""
    found = ", ".join(others) if others else "none"
    return (
        f"implicit differentiation needs exactly one variable besides '{dependent}' "
        f"(found: {found}); name it with --wrt"
    )


def implicit_error_point_names(names: list[str]) -> str:
    """Why a point that does not give exactly both coordinates is refused."""
    return f"--at must give exactly {' and '.join(names)}"


def implicit_error_off_curve(point: str, gap: object) -> str:
    """Why a point off the curve is refused."""
    return f"the point ({point}) is not on the curve: lhs − rhs = {gap} there, not 0"


def implicit_hint_off_curve() -> str:
    """What to do about a point off the curve."""
    return "give a point whose coordinates satisfy the equation"


def implicit_error_vertical(point: str) -> str:
    """Why a slope at a point with a vertical tangent is refused."""
    return f"the tangent at ({point}) is vertical: dy/dx is undefined there"


def implicit_error_singular(point: str) -> str:
    """Why a slope at a singular point of the curve is refused."""
    return f"({point}) is a singular point of the curve (F_x = F_y = 0): dy/dx is 0/0 there"


def implicit_error_no_slope() -> str:
    """Why an equation whose derivative does not involve dy/dx is refused."""
    return "differentiating the equation leaves no dy/dx term to solve for"


def implicit_check_higher() -> str:
    """How a higher implicit derivative was confirmed."""
    return "equals sympy's idiff (on the curve)"


def implicit_check_on_curve() -> str:
    """How the form shortened with the curve's equation was confirmed."""
    return "differs from the form above by a multiple of the curve's equation"


def implicit_check_collect() -> str:
    """How the collected form was confirmed."""
    return "expands back to the difference of the two sides' derivatives"


def implicit_check_result() -> str:
    """How dy/dx was confirmed (independently of the steps)."""
    return "equals −F_x/F_y and sympy's idiff"


def implicit_check_slope() -> str:
    """How the slope at the point was confirmed."""
    return "equals −F_x/F_y at the point"


def implicit_check_tangent() -> str:
    """How the tangent line was confirmed."""
    return "passes through the point with that slope"


def rates_error_options() -> str:
    """Why --rates is refused together with --implicit or --order."""
    return "--rates cannot be combined with --implicit or --order"


def rates_error_syntax(item: str) -> str:
    """Why a --rates item is refused."""
    return f"cannot read the rate '{item}'"


def rates_hint_syntax() -> str:
    """How to write --rates."""
    return 'write known rates as --rates "dr/dt = 2" (several separated by commas)'


def rates_error_twice(name: str) -> str:
    """Why a rate given twice is refused."""
    return f"the rate of '{name}' is given twice"


def rates_error_time(times: list[str]) -> str:
    """Why rates with different (or no) time variables are refused."""
    found = ", ".join(times) if times else "none"
    return f"the rates must all be with respect to one time variable (found: {found})"


def rates_error_time_used(time: str) -> str:
    """Why an equation using the time variable itself is refused."""
    return (
        f"the equation uses '{time}' itself; related rates need an equation between the variables"
    )


def rates_error_not_in_equation(names: list[str]) -> str:
    """Why rates or values for names the equation does not use are refused."""
    return f"not a variable of the equation: {', '.join(names)}"


def rates_error_unknowns(names: list[str]) -> str:
    """Why the rates must leave exactly one unknown."""
    found = ", ".join(names) if names else "none"
    return f"give every rate but one: the unknown rates are {found}"


def rates_error_inconsistent() -> str:
    """Why values that do not satisfy the equation are refused."""
    return "the values given with --at do not satisfy the equation"


def rates_error_missing_values(names: list[str]) -> str:
    """Why --at must leave at most one value to find."""
    return f"--at must give the values of all variables but one (missing: {', '.join(names)})"


def rates_error_ambiguous_value(name: str, roots: list[str]) -> str:
    """Why a value the equation does not determine is refused."""
    found = ", ".join(roots) if roots else "none"
    return f"the equation does not determine one value of '{name}' (real solutions: {found}); give it with --at"


def rates_error_no_solution(name: str) -> str:
    """Why a rate the equation does not determine is refused."""
    return f"the rate of '{name}' drops out of the differentiated equation at that moment"


def rates_check_value() -> str:
    """How a value found from the equation was confirmed."""
    return "satisfies the equation (the positive root)"


def rates_check_result() -> str:
    """How the unknown rate was confirmed."""
    return "equals −(Σ F_v·dv/dt)/F_u from the equation's partial derivatives"


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
