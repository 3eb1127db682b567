"""The one place for the words of a solution: step sentences by phrase key, rule names by rule id."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from chainsolve.filters import definition_unicode, formula_unicode, unicode_expr, unicode_name
from chainsolve.functions import BY_RULE_ID
from chainsolve.problem import make_symbol
from chainsolve.steps import Leibniz, Note, RuleRef, Step

if TYPE_CHECKING:
    import sympy

    from chainsolve.mistakes import MistakeMatch
    from chainsolve.verification import (
        AnswerVerdict,
        Counterexample,
        DerivationReport,
        LineCheck,
    )

Words = Mapping[str, str]


def _paths(words: Words) -> str:
    count = int(words["count"])
    return f"{count} path{'s' if count != 1 else ''} from {words['target']} to {words['wrt']}"


#: Superscript letters, for a rule's statement fᵍ (a letter without one is raised as ^(…)).
_SUPERSCRIPTS = str.maketrans("abcdefghijklmnoprstuvwxyz", "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")


def _letters(words: Words) -> tuple[str, str, str]:
    """A rule statement's two letters (the step's ``f`` and ``g`` words, else f and g) and what
    joins them in a product: nothing between single letters (fg), else a dot (loss·g)."""
    f, g = unicode_name(words.get("f", "f")), unicode_name(words.get("g", "g"))
    single = all(len(letter.rstrip("₀₁₂₃₄₅₆₇₈₉")) == 1 for letter in (f, g))
    return f, g, "" if single else "·"


def _raised(letter: str) -> str:
    raised = letter.translate(_SUPERSCRIPTS)
    return raised if len(letter) == 1 and raised != letter else f"^({letter})"


def _product_statement(words: Words) -> str:
    f, g, times = _letters(words)
    return f"Product rule: ({f}{times}{g})′ = {f}′{times}{g} + {f}{times}{g}′"


def _quotient_statement(words: Words) -> str:
    f, g, times = _letters(words)
    return f"Quotient rule: ({f}/{g})′ = ({f}′{times}{g} − {f}{times}{g}′)/{g}²"


def _logarithmic_statement(words: Words) -> str:
    f, g, times = _letters(words)
    log_f = f"ln({f})" if times else f"ln {f}"  # ln(loss), not ln loss
    return (
        f"Base and exponent both vary: take logarithms, ln y = {g}·{log_f}, "
        "and differentiate both sides"
    )


def _logarithmic_close(words: Words) -> str:
    f, g, _ = _letters(words)
    return f"Multiply back by {f}{_raised(g)}"


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
        "rates_constraint": "Put {name} = {value} into the equation",
        "rates_units": "With units",
        "rates_solve": "Solve for d{unknown}/d{time}",
        "implicit_higher": (
            "Derivative of order {order}: differentiate the result of order {previous} "
            "implicitly ({dependent} is still a function of {wrt})"
        ),
        "implicit_substitute_slope": "Substitute d{dependent}/d{wrt} found above",
        "implicit_use_curve": "Shorten with the curve's equation",
        "implicit_value_at": "The value at the point ({point})",
        "higher_order": "Derivative of order {order}: differentiate the result of order {previous}",
        "mixed_partial": "Mixed partial: differentiate ∂{target}/∂{first} found above with respect to {then}",
        "mixed_subscripts": (
            "Collect by the partial derivatives of {function} (equal mixed partials: "
            "{swapped} = {ordered}) and write them with subscripts"
        ),
        "sum_terms": "Differentiate term by term",
        "sum_open": "The derivative of a sum is the sum of the derivatives",
        "sum_add": "Add the parts",
        "constant_out": "Take the constant factor out",
        "constant_multiply": "Multiply by the constant",
        "product_open": _product_statement,
        "product_close": "Put the product rule together",
        "quotient_open": _quotient_statement,
        "quotient_close": "Put the quotient rule together",
        "logarithmic_open": _logarithmic_statement,
        "logarithmic_close": _logarithmic_close,
        "simplify": "Simplify",
        "simplify_where": "Simplify, where {condition}",
        "result": "Result",
        "simplify_for": "Simplify, for {condition}",
        "result_for": "Result, for {condition}",
        "shared": "The decomposition is the same as for {owner} (shown above)",
        "shared_outer": (
            "The outer derivatives are the same as for {owner} (shown above); "
            "only the inner derivatives differ"
        ),
        "graph_definitions": "The definitions and the dependency graph",
        "graph_dependencies": "{dependencies}",
        "graph_edge": "Local derivative along the edge {source} → {target}",
        "graph_paths": _paths,
        "graph_path_sum": "Multivariable chain rule: one product per path, summed",
        "graph_insert": "Insert the local derivatives",
        "graph_substitute": "Substitute the definitions of the intermediate variables",
        "graph_simplify_intermediates": "Simplify in the intermediate variables, with {definitions}",
        "graph_too_many_paths": (
            "There are {count} paths from {target} to {wrt}: too many to write out, so the "
            "derivative is accumulated layer by layer (backpropagation), one multiply-add per edge"
        ),
        "graph_accumulate": "Gradient arriving at {node} from {consumers}",
        "graph_backprop_check": "Backpropagation checked against a central finite difference",
    }
)

#: The names of the rules that are not the derivative of one function (those are in the registry).
_RULE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "constant": "constant rule",
        "variable": "dx/dx = 1",
        "power": "power rule",
        "square_root": "square root rule",
        "reciprocal": "power rule (reciprocal)",
        "exponential": "exponential rule: d/du aᵘ = aᵘ·ln(a)",
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
        "sign_over_abs": "sign(u)/|u| = 1/u",
        "abs_products": "u·sign(u) = |u|",
        "cancel": "fraction in lowest terms",
        "merge_powers": "a^m·a^n = a^(m+n)",
        "common_factor": "common factor taken out",
        "tangent": "sin/cos = tan",
        "double_angle": "double-angle formulas",
    }
)


def rule_name(rule: RuleRef) -> str:
    """The human name of a rule: ``derivative of sin``, ``product rule``, ``x held constant``."""
    spec = BY_RULE_ID.get(rule.id)
    template = spec.human_rule_name if spec is not None else _RULE_NAMES.get(rule.id)
    if template is None:
        raise KeyError(f"no name for rule id {rule.id!r}")
    name = rule.names[0] if rule.names else ""
    if rule.id == "variable":
        return f"{formula_unicode(Leibniz(make_symbol(name), make_symbol(name)))} = 1"
    return template.format(name=name, names=", ".join(rule.names))


#: Words of a rule's statement (f and g in (fg)′ = f′g + fg′) and the ones Leibniz notation uses.
STATEMENT_LETTERS = MappingProxyType({"f": "f_spare", "g": "g_spare"})


def sentence(step: Step, notation: str = "leibniz") -> str:
    """The sentence that opens a step.

    A rule's statement names the parts by the step's own letters in Lagrange notation (the
    letters its lines use, h for the user's h); Leibniz notation names no part by a letter,
    so the statement takes letters the problem does not use.
    """
    phrase = PHRASES[step.phrase]
    words = dict(step.words)
    if notation != "lagrange":
        words.update(
            {key: words[spare] for key, spare in STATEMENT_LETTERS.items() if spare in words}
        )
    return phrase(words) if callable(phrase) else phrase.format(**words)


def rule_label(step: Step) -> str | None:
    """The names of the rules a step applies, joined (``sum rule, power rule``), or None."""
    if not step.rules:
        return None
    return ", ".join(rule_name(rule) for rule in step.rules)


def depends_on(node: str, inputs: list[str], constants: Sequence[str] = ()) -> str:
    """``z depends on x, y``, ``z depends on y (x is a constant)``: one line of the dependency note."""
    line = f"{node} depends on {', '.join(inputs)}"
    if constants:
        verb = "is a constant" if len(constants) == 1 else "are constants"
        line += f" ({', '.join(constants)} {verb})"
    return line


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


def condition_text(
    nonzero: Iterable[sympy.Expr], signed: Iterable[tuple[sympy.Expr, bool]] = ()
) -> str:
    """``x ≠ 0 and y > 0``: where a result holds, from the expressions that must not be 0 and
    the (expression, strict) pairs that must be positive (strict) or not negative."""
    zeros = [f"{unicode_expr(g)} ≠ 0" for g in nonzero]
    signs = [f"{unicode_expr(u)} {'>' if strict else '≥'} 0" for u, strict in signed]
    return " and ".join([*zeros, *signs])


def note_holds_for(
    nonzero: Iterable[sympy.Expr], signed: Iterable[tuple[sympy.Expr, bool]] = ()
) -> str:
    """A result that holds only under a condition (a kink, a division rewritten away)."""
    return f"The result holds for {condition_text(nonzero, signed)}, where the derivative exists."


def note_derivative_at_limit(
    argument: sympy.Expr, var: sympy.Symbol, point: sympy.Expr, value: sympy.Expr
) -> str:
    """A formula undefined at a kink where the derivative exists all the same: its limit there."""
    at = f"{unicode_expr(var)} = {unicode_expr(point)}"
    return (
        f"The formula holds for {unicode_expr(argument)} ≠ 0. At {at} the derivative exists as "
        f"well: it is {unicode_expr(value)}, the formula's limit there."
    )


def note_indicator(expr: sympy.Expr) -> str:
    """What relu′ = Heaviside(u, 0) is, and the value chosen at the kink."""
    argument = unicode_expr(expr)
    return (
        f"Heaviside({argument}, 0) is the indicator of {argument} > 0: 1 if {argument} > 0, "
        f"else 0; at the kink {argument} = 0, where relu has no derivative, it is taken as 0 "
        "(the convention of PyTorch and most textbooks)."
    )


def note_constant_wrt(target: str, wrt: str, variables: Sequence[str] = ()) -> str:
    """A problem that does not depend on the variable it is differentiated by.

    ``variables`` (given when ``wrt`` appears nowhere in the problem, perhaps a typo) are the
    ones it does depend on.
    """
    which = ""
    if variables:
        noun = "variable is" if len(variables) == 1 else "variables are"
        which = f" (its {noun} {', '.join(variables)})"
    return (
        f"{target} does not depend on {wrt}{which}: it is constant with respect to {wrt}, "
        f"so d{target}/d{wrt} = 0."
    )


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


def note_subscripts(
    function: str, slots: Sequence[str], definitions: Sequence[tuple[str, sympy.Expr]]
) -> str:
    """What f_u, f_uv, … mean in a result collected by an unknown function's partials, and
    ``definitions`` (name, expression) of the slots that are defined."""
    defined = [definition_unicode(name, expr) for name, expr in definitions]
    f = unicode_name(function)
    u = unicode_name(f"{function}_{slots[0]}")
    first, second = (unicode_name(slot) for slot in slots[:2])
    mixed = unicode_name(f"{function}_{slots[0]}{slots[1]}")
    return (
        f"{u} = ∂{f}/∂{first}, {mixed} = ∂²{f}/∂{first}∂{second} and so on, each evaluated "
        f"at ({', '.join(unicode_name(s) for s in slots)}), where {'; '.join(defined)}."
    )


def note_partial_versus_total(target: str, name: str, others: list[str]) -> str:
    """Why ∂z/∂t and dz/dt differ when t reaches z directly and through intermediates."""
    z, t = unicode_name(target), unicode_name(name)
    fixed = ", ".join(unicode_name(o) for o in others)
    of, by = make_symbol(target), make_symbol(name)
    partial, total = (formula_unicode(Leibniz(of, by, p)) for p in (True, False))
    return (
        f"{t} reaches {z} both directly and through {fixed}: the partial derivative "
        f"{partial} holds {fixed} fixed, while the total derivative {total} adds every "
        f"path by which {t} changes {z}."
    )


def note_wrong_step(variables: list[str]) -> str:
    """A rule produced a wrong step: that derivative is sympy's instead."""
    return (
        f"A step of the worked solution for {', '.join(variables)} failed its check (a bug in "
        "chainsolve; please report it), so that derivative is given as computed by sympy "
        "instead of step by step."
    )


def note_higher_order_needs_one_variable(asked: str, names: Sequence[str]) -> str:
    """Why an order above 1 is refused with several variables; ``asked`` is what the user typed."""
    return (
        f"{asked} needs one variable to differentiate by, not {len(names)} ({', '.join(names)}): "
        "give one with --wrt, or two for the mixed partial of order 2 (--wrt x,y)"
    )


def note_higher_order_matrix(order: int) -> str:
    """Why --order above 1 is refused for a problem with vectors and matrices."""
    return (
        f"--order {order} is not available for vectors and matrices: "
        "chainsolve derives their gradients of order 1 only"
    )


def implicit_branches(dependent: str, branches: Sequence[sympy.Expr]) -> str:
    """Where an answer without y holds: on the curve's branches y = g(x) named."""
    from chainsolve.filters import unicode_expr

    named = " or ".join(f"{dependent} = {unicode_expr(g)}" for g in branches)
    which = "that branch" if len(branches) == 1 else "those branches"
    return f"{named} ({which} of the curve)"


def mistake_previous_order(order: int) -> str:
    """Where the wrong-order mistake happened: which derivative the answer is."""
    return f"your answer is the derivative of order {order}"


def rates_wrong_rate_detail(name: str, used: sympy.Expr) -> str:
    """Where the wrong-rate slip happened: which rate, and what was used for it."""
    return f"d{name}/dt taken as {used}"


def rates_error_constraint(piece: str) -> str:
    """Why a second equation of a related-rates problem is refused."""
    return f"cannot use '{piece}' as a constraint: write one quantity by the others, e.g. r = h/2"


def rates_error_asked(asked: str, unknown: Sequence[str]) -> str:
    """Why the rate asked for (dh/dt = ?) is not the one the given rates leave unknown."""
    left = ", ".join(unknown) or "none"
    return f"d{asked}/dt is asked for, but the rates given leave unknown: {left}"


def rates_check_constraint() -> str:
    """How a constraint's substitution was confirmed."""
    return "the answer is checked again by differentiating the constraint instead"


def rates_wrong_unit_detail(unit: str) -> str:
    """Where the wrong-unit slip is: the unit the rate is in."""
    return f"the rate is in {unit}"


def verify_mixed_partial_abstract() -> str:
    """Why verify refuses an answer to a mixed partial of an unknown function (f(u, v))."""
    return "an answer to a mixed partial of an unknown function (∂²z/∂y∂x of f(u, v)) is not checked yet"


def verify_mixed_partial_abstract_hint() -> str:
    """What to do instead of verifying that answer."""
    return "chainsolve solve shows it step by step, collected by f_uu, f_uv and f_vv"


def answer_unit_note(expected: bool, given: bool) -> str:
    """How a related rate's answer is read with units: the words before its value and unit."""
    if expected and not given:
        return "no unit given, read as"
    if given and not expected:
        return "the problem gives no units: this unit is not checked"
    return ""


def rates_note_units(rate: str, unit: str) -> str:
    """The unit of the rate found, from the units given."""
    return f"{rate} is in {unit} (from the units given)."


def rates_check_units() -> str:
    """How the unit of a rate was found."""
    return "every term of the equation carries the same unit"


def units_error_time(units: Sequence[str]) -> str:
    """Why the rates' units are refused: not one time unit."""
    return f"the rates' units must all be per the same time unit: {', '.join(units)}"


def units_error_clash(name: str, units: Sequence[sympy.Expr]) -> str:
    """Why a quantity's units are refused: two different ones."""
    shown = " and ".join(str(u) for u in units)
    return f"'{name}' is given in {shown} (chainsolve does not convert units)"


def units_error_terms(units: Sequence[str]) -> str:
    """Why an equation's units are refused: its terms carry different units."""
    return f"the units do not match: the equation's terms are in {' and '.join(units)}"


def note_mixed_one_layer() -> str:
    """Why a mixed partial of a deeper graph is refused."""
    return (
        "the mixed partial (--wrt x,y --order 2) needs intermediates defined directly by the "
        "inputs (z = f(u, v); u = x*y; v = x + y)"
    )


def mixed_check_collected() -> str:
    """How the collected mixed partial was confirmed."""
    return "equals the sum above, term by term"


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


def implicit_error_operator(written: str, dependent: str) -> str:
    """Why a derivative written before the curve of another name than --implicit is refused."""
    return f"the problem asks for a derivative of {written} but --implicit says {dependent}"


def implicit_error_operator_wrt(written: str, given: str) -> str:
    """Why a derivative written before the curve by another variable than --wrt is refused."""
    return f"the problem asks for a derivative by {written} but --wrt says {given}"


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
    return "equals the derivative of that order from F's partial derivatives (on the curve)"


def implicit_check_on_curve() -> str:
    """How the form shortened with the curve's equation was confirmed."""
    return "differs from the form above by a multiple of the curve's equation"


def implicit_check_collect() -> str:
    """How the collected form was confirmed."""
    return "expands back to the difference of the two sides' derivatives"


def implicit_check_result() -> str:
    """How dy/dx was confirmed (independently of the steps)."""
    return "equals −F_x/F_y from the equation's partial derivatives"


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


def note_exact_too_slow(seconds: float) -> str:
    """Exact arithmetic at a point ran out of its CPU time: decimals instead."""
    return (
        f"Exact arithmetic took more than {seconds:g} s of CPU time, so every value is shown "
        "as a decimal."
    )


def note_exact_gave_up(node: str, digits: int, operations: int) -> str:
    """Exact values grew too large from one node of the forward pass on."""
    return (
        f"From {node} on, exact values grew past {digits} digits or {operations} operations, "
        "so they are shown as decimals."
    )


def note_numeric_mode() -> str:
    """Values at a point shown as decimals because numeric mode was asked for."""
    return "Values are shown as decimals (numeric mode)."


def note_decimal_inputs() -> str:
    """Values at a point shown as decimals because the point has decimal inputs."""
    return "The point has decimal inputs, so the values are decimals."


def note_working_digits(digits: int, usual: int) -> str:
    """Values at a point computed with more digits than usual, because at fewer they moved."""
    return (
        f"The values at this point are computed with {digits} significant digits: with "
        f"{usual}, a large argument (of sin, say) left too few of them right."
    )


def note_finite_differences_skipped(inputs: int) -> str:
    """Why central differences were not computed for a point with many inputs."""
    return (
        f"Central differences need two forward passes per input; with {inputs} inputs they "
        "are skipped (the reference check still covers every input)."
    )


#: Each note's sentence by its kind (:class:`~chainsolve.steps.Note`), filled with its values.
NOTES: Mapping[str, Callable[..., str]] = MappingProxyType(
    {
        "long_chain": note_long_chain,
        "simplify_ran_out": note_simplify_ran_out,
        "holds_for": note_holds_for,
        "derivative_at_limit": note_derivative_at_limit,
        "indicator": note_indicator,
        "constant_wrt": note_constant_wrt,
        "misspelled": note_misspelled,
        "partial_slots": note_partial_slots,
        "subscripts": note_subscripts,
        "partial_versus_total": note_partial_versus_total,
        "wrong_step": note_wrong_step,
        "left_in_intermediates": note_left_in_intermediates,
        "rates_units": rates_note_units,
        "exact_too_slow": note_exact_too_slow,
        "exact_gave_up": note_exact_gave_up,
        "numeric_mode": note_numeric_mode,
        "decimal_inputs": note_decimal_inputs,
        "finite_differences_skipped": note_finite_differences_skipped,
        "working_digits": note_working_digits,
    }
)


def note_text(note: Note) -> str:
    """A note's sentence (the same in every format: renderers typeset its maths themselves)."""
    return NOTES[note.kind](*note.values)


# -- matrices (chainsolve.matrix) ---------------------------------------------------------------

#: The name of each gate of the matrix backward pass, by rule id (a function's own derivative
#: rule, ``derivative_of_sigmoid``, is named by the registry).
MATRIX_RULE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "add_gate": "sum gate: A + B passes δ to both",
        "subtract_gate": "difference gate: A − B passes δ and −δ",
        "matrix_multiply_gate": "matrix-multiply gate: ∂/∂A of A·B is δ·Bᵀ, ∂/∂B is Aᵀ·δ",
        "scalar_multiple_gate": "scalar multiple: c·M passes c·δ",
        "divide_gate": "division by a scalar",
        "elementwise_gate": "elementwise gate: F(A) entry by entry passes δ ⊙ F′(A)",
        "elementwise_divide_gate": "elementwise quotient: A ⊘ B passes δ ⊘ B and −(δ ⊙ A) ⊘ (B ⊙ B)",
        "transpose_gate": "transpose gate: Aᵀ passes δᵀ",
        "sum_gate": "sum of entries: passes δ·𝟙",
        "broadcast": (
            "broadcast gate: a 1×1 copied to every entry gets the sum of their δ, sum(δ) = 𝟙ᵀ·δ"
        ),
        "dot_gate": "dot product: dot(u, v) passes δ·v to u",
        "norm2": "∂‖v‖/∂v = v/‖v‖",
        "norm2_squared": "∂‖v‖²/∂v = 2v",
        "trace_gate": "∂ tr(A)/∂A = I",
        "power": "power rule",
        "square_root": "square root rule",
        "softmax_gate": "softmax gate: p ⊙ (δ − dot(p, δ)·𝟙)",
        "cross_entropy_gate": "cross-entropy: ∂/∂p of −Σ yᵢ ln pᵢ is −y ⊘ p",
        "softmax_cross_entropy": "softmax with cross-entropy: ∂L/∂z = p − y",
        "binary_cross_entropy_gate": "binary cross-entropy: ∂/∂p is (p − y) ⊘ (p ⊙ (1 − p))",
        "sigmoid_binary_cross_entropy": "sigmoid with binary cross-entropy: ∂L/∂z = p − y",
        "multivariable_chain": "multivariable chain rule: the sum over every use",
        "no_dependence": "the loss does not depend on it: every entry is 0",
    }
)
#: The layout convention, stated once at the top of a matrix solution.
MATRIX_LAYOUT = (
    "Layout: denominator — ∂L/∂W has the shape of W, so a gradient step is read entry by "
    "entry as ∂L/∂Wᵢⱼ. (Numerator layout writes the transpose.)"
)
#: What the check of a matrix solution compares with.
MATRIX_VERIFIED = (
    "Verified: every step agrees, entry by entry, with sympy.diff of the problem expanded "
    "into scalar entries."
)


#: Said once before steps that write only δ (``--notation delta``), after "δ_v means ∂L/∂v",
#: as the scalar backward pass says once what x̄ stands for.
MATRIX_DELTA_MEANS = "for every intermediate v; each step gives one δ."


def matrix_notation_note(notation: str, in_sheet: bool = False) -> str:
    """The stderr line for a ``--notation`` a matrix solution cannot be written in."""
    which = "the sheet's matrix problems are" if in_sheet else "the matrix solution is"
    return (
        f"note: --notation {notation} has no meaning for a gradient by a matrix; "
        f"{which} written in Leibniz notation (δ_v = ∂L/∂v)"
    )


def scalar_delta_note(in_sheet: bool = False) -> str:
    """The stderr line for ``--notation delta`` on a problem (or sheet problems) without shapes."""
    which = (
        "the sheet's problems without shapes are"
        if in_sheet
        else "this problem has no shapes, so it is"
    )
    return (
        "note: --notation delta writes the backward pass of a problem in matrices (δ for each "
        f"layer); {which} written in Leibniz notation"
    )


def matrix_product_shapes(left: str, sign: str, right: str, result: str) -> str:
    """The shapes of one product of a step, as ``--detail full`` lists them."""
    return f"({left}){sign}({right}) → {result}"


def matrix_rule_name(rule_id: str) -> str:
    """The human name of a gate or a function's derivative rule in the matrix backward pass."""
    spec = BY_RULE_ID.get(rule_id)
    return spec.human_rule_name if spec is not None else MATRIX_RULE_NAMES[rule_id]


def matrix_step_sentence(kind: str, name: str, target: str) -> str:
    """The sentence that opens a step of the matrix backward pass."""
    if kind == "delta":
        return f"δ for {name}: how {target} changes with {name}"
    return f"The gradient of {target} by {name}"


def matrix_condition(rule: str, name: str) -> str:
    """The condition a matrix step holds under."""
    assert rule == "sums_to_one", rule
    return f"for {name} whose entries sum to 1 (a one-hot label or a distribution)"


def matrix_check(method: str, checked: int, entries: int, points: int) -> str:
    """How a matrix step was checked, in words."""
    how = "exactly" if method == "exact" else f"at {points} random points (30 digits)"
    if checked < entries:
        return f"checked {how} at {checked} of its {entries} entries, chosen at random"
    every = "its entry" if entries == 1 else f"all {entries} entries"
    return f"checked {how}, {every}"


# -- verdicts ------------------------------------------------------------------------------------

#: How each verdict reads in prose (the JSON uses the ids).
VERDICT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "equivalent": "equivalent",
        "not_equivalent": "not equivalent",
        "equivalent_on_part": "equivalent only on part of the domain",
        "undecided": "undecided",
        "incomplete": "incomplete (contains an unevaluated derivative)",
        "wrong_step": "a step does not follow",
    }
)
#: How each line status of a checked derivation reads in prose.
STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "follows": "follows",
        "does_not_follow": "does not follow",
        "unreadable": "could not be read",
        "undecided": "undecided",
        "prose": "prose, skipped",
        "defines": "defines",
    }
)

#: An answer that is a definition or words, not an expression for the derivative.
NOT_AN_ANSWER = "an answer is the derivative: one expression, or dy/dx = …"
NOT_AN_ANSWER_HINT = "write the derivative itself, for example 2x*cos(x^2) or dy/dx = 2x*cos(x^2)"
#: A line whose derivatives are nested too deep to read (d/dx(d/dx(…)) a hundred times).
DERIVATIVES_TOO_DEEP = "derivatives nested too deeply to read"
#: A line that uses every letter followed by digits as a name (Q0, Z0, …).
NO_PLACEHOLDER = "too many names of a letter and digits (Q0, Z1, …) on one line to read it"


def derivative_name(target: str, wrt: str, order: int = 1, mixed: Sequence[str] = ()) -> str:
    """The derivative a verdict is about, as printed everywhere: dy/dθ, dy/d(d), d²y/dx², ∂²z/∂y∂x.

    ``mixed`` names the variables differentiated by before ``wrt`` (x in ∂²z/∂y∂x).
    """
    if mixed:
        by = tuple(make_symbol(name) for name in mixed)
        return formula_unicode(Leibniz(make_symbol(target), make_symbol(wrt), True, mixed=by))
    return formula_unicode(Leibniz(make_symbol(target), make_symbol(wrt), order=order))


def _mistake_titles(matched: Sequence[MistakeMatch]) -> str:
    return "; ".join(m.title + (f" ({m.detail})" if m.detail else "") for m in matched)


def _counterexample_sentence(counterexample: Counterexample, subject: str, derivative: str) -> str:
    answer_text, expected_text = counterexample.values_text()
    at = counterexample.describe()
    concrete = (
        " (with the unknown functions replaced by concrete ones)"
        if counterexample.concrete_functions
        else ""
    )
    if counterexample.answer_value is None:
        return f"At {at}{concrete} {subject} is undefined but {derivative} = {expected_text}."
    return f"At {at}{concrete} {subject} is {answer_text} but {derivative} = {expected_text}."


def _verdict_sentences(
    report: AnswerVerdict | DerivationReport,
    subject: str,
    matched: Sequence[MistakeMatch],
    *,
    name_mistakes: bool,
) -> list[str]:
    """The verdict of an answer (or of a derivation's last line) as sentences."""
    verdict, grounds, wrt = report.verdict, report.grounds, report.wrt
    derivative = derivative_name(
        report.problem.target, wrt, getattr(report, "order", 1), getattr(report, "mixed", ())
    )
    if verdict == "equivalent":
        return [f"Correct: {subject} equals {derivative} (proved symbolically)."]
    if verdict == "wrong_step":
        return [f"{subject.capitalize()} equals {derivative}, but not every step follows."]
    if verdict == "incomplete" and grounds.restates:
        return [
            f"Incomplete: {subject} only restates the problem as d/d{wrt}(…); "
            "restating the problem is not a derivation."
        ]
    if verdict == "undecided":
        if grounds.sampled_points is not None:
            return [
                f"Undecided: {subject} agrees with {derivative} at {grounds.sampled_points} "
                "random points to 40 digits, but no symbolic proof came within the time budget."
            ]
        return ["Undecided: neither a proof nor a counterexample came within the time budget."]
    if verdict == "incomplete" and any(m.id == "previous_order" for m in report.mistakes):
        # a derivation that stops at a lower order (y′ = … when y″ is asked)
        return [f"Incomplete: {subject} is a derivative of lower order; {derivative} is asked."]
    if verdict == "incomplete":
        return [
            f"Incomplete: {subject} still contains a derivative d/d{wrt}(…); "
            "finish differentiating."
        ]
    if verdict == "equivalent_on_part":
        where = grounds.agree_where
        parts = [f"Equal to {derivative} only on part of the domain: they agree where {where}."]
    else:
        parts = [f"Not equivalent to {derivative}."]
    if report.counterexample is not None:
        parts.append(_counterexample_sentence(report.counterexample, subject, derivative))
    if matched:
        lead = (
            "This matches a common mistake"
            if len(matched) == 1
            else "This matches several common mistakes"
        )
        parts.append(f"{lead}: {_mistake_titles(matched)}.")
    elif verdict == "not_equivalent" and name_mistakes:
        parts.append("It matches none of the common mistakes chainsolve knows.")
    return parts


def answer_message(report: AnswerVerdict) -> str:
    """The verdict on one answer in prose: what it equals, where it differs, which mistake."""
    grounds = report.grounds
    if grounds.timeout is not None:
        if grounds.timeout:
            return f"Undecided: the check ran out of its time budget ({grounds.timeout:g} s)."
        return "Undecided."
    parts = _verdict_sentences(report, "your answer", report.mistakes, name_mistakes=True)
    unknown = grounds.unknown_names
    if unknown:
        verb = "is not a variable" if len(unknown) == 1 else "are not variables"
        parts.append(f"Note: {', '.join(unknown)} {verb} of the problem.")
    return " ".join(parts)


_LINE_REASONS = MappingProxyType(
    {
        "not_started": "out of time",
        "out_of_time": "the time budget ran out",
        "no_proof": "no proof or counterexample in time",
    }
)


def line_note(check: LineCheck) -> str:
    """Why a derivation line has its status: 'from line 3', 'from the problem's derivative', …"""
    if check.status == "unreadable":
        return check.error
    if check.status in ("prose", "defines"):
        return check.claim
    if check.claim:
        return _claim_note(check)
    if check.status == "undecided":
        note = _LINE_REASONS.get(check.reason, "")
    elif check.status == "follows":
        note = "from the problem" if check.follows_from == 0 else f"from line {check.follows_from}"
    elif check.follows_from == check.number:
        note = "from the side before it on the same line"
    else:
        source = check.follows_from
        note = "from the problem's derivative" if source == 0 else f"from line {source}"
        if check.equals_derivative:
            note += ", but it is the correct derivative"
    if check.unevaluated:
        note += "; it still contains a derivative to evaluate"
    return note


#: How a side line (``du/dx = 2x``, ``y = sin(x²)``) came out, by its status.
_CLAIM_HELD = MappingProxyType(
    {"follows": "holds", "does_not_follow": "does not hold", "undecided": "could not be decided"}
)


def _claim_note(check: LineCheck) -> str:
    """'(a side computation: du/dx holds)', or for the problem's own name '(y as the problem …)'."""
    if check.claim.isidentifier():
        same = {"follows": "as", "does_not_follow": "not as"}.get(check.status, "perhaps not as")
        return f"({check.claim} {same} the problem defines it)"
    return f"(a side computation: {check.claim} {_CLAIM_HELD.get(check.status, '')})"


def _skipped(unreadable: Sequence[int]) -> str:
    if not unreadable:
        return ""
    several = len(unreadable) > 1
    numbers = ", ".join(map(str, unreadable))
    return f"Line{'s' if several else ''} {numbers} could not be read and {'were' if several else 'was'} skipped."


def _prose(lines: Sequence[int]) -> str:
    if not lines:
        return ""
    several = len(lines) > 1
    numbers = ", ".join(map(str, lines))
    if several:
        return f"Lines {numbers} are prose and were skipped."
    return f"Line {numbers} is prose and was skipped."


def derivation_message(report: DerivationReport) -> str:
    """The verdict on a derivation in prose: its last line, the first wrong line, skipped lines."""
    grounds = report.grounds
    if grounds.timeout is not None:
        return "Undecided: the check ran out of its time budget."
    skipped = " ".join(filter(None, [_skipped(grounds.unreadable), _prose(grounds.prose)]))
    if grounds.no_line:
        return " ".join(filter(None, ["No line could be checked.", skipped]))
    parts = _verdict_sentences(report, "the last line", (), name_mistakes=False)
    if report.first_wrong_line is not None:
        parts.append(f"The first wrong step is line {report.first_wrong_line}.")
        if grounds.first_wrong_mistakes:
            parts.append(f"It matches: {_mistake_titles(grounds.first_wrong_mistakes)}.")
        else:
            parts.append("It matches none of the common mistakes chainsolve knows.")
    if skipped:
        parts.append(skipped)
    return " ".join(parts)


#: Jinja filters that put the words on a step or a note (registered by :mod:`chainsolve.render`).
FILTERS: Mapping[str, Callable[..., str | None]] = MappingProxyType(
    {"sentence": sentence, "rule_label": rule_label, "note_text": note_text}
)


# -- rubric feedback (chainsolve.rubric) ----------------------------------------------------------

#: The feedback of a row the rubric could not score (no verdict on the answer, or no time left).
RUBRIC_HAND_REVIEW = "not scored: to be reviewed by hand"
#: The message of an answer that is right on the rubric's declared domain only.
RUBRIC_ON_DOMAIN = "The answer is equivalent to the derivative for {domain}, the declared domain."
#: The feedback of a right answer not in the form the rubric requires.
RUBRIC_FORM = "right, but not in the required form: {forms}"
#: The feedback of a wrong answer given partial credit for a named mistake.
RUBRIC_MISTAKE = "partial credit for the mistake: {mistake}"
#: The feedback of a derivation given credit for the lines that follow after its first slip.
RUBRIC_AFTER_SLIP = "partial credit for the correct lines after the first wrong one"


# -- vanishing and exploding gradients (chainsolve.vanishing, `chainsolve gradients`) ------------

#: Each activation's bound on its slope, the reason its gradient vanishes, explodes or not.
GRADIENT_BOUNDS: Mapping[str, str] = MappingProxyType(
    {
        "sigmoid": "σ′(a) = σ(a)(1 − σ(a)) ≤ ¼ (equal at a = 0): each factor is at most |w|/4, "
        "so with |w| < 4 the product of n factors shrinks at least like (|w|/4)ⁿ.",
        "tanh": "tanh′(a) = 1 − tanh²(a) ≤ 1 (equal at a = 0): each factor is at most |w|; "
        "it falls below 1 as |a| grows, so with |w| ≤ 1 the product can only shrink.",
        "relu": "relu′(a) ∈ {0, 1} (1 for a > 0, 0 for a ≤ 0: chainsolve takes relu′(0) = 0, "
        "as PyTorch does): each factor is w or 0, so the product is wⁿ while every unit is "
        "active (it explodes for |w| > 1, vanishes for |w| < 1) and 0 once one is not.",
        "softplus": "softplus′(a) = σ(a) lies in (0, 1): each factor is less than |w|.",
    }
)
#: The same bounds for LaTeX.
GRADIENT_BOUNDS_LATEX: Mapping[str, str] = MappingProxyType(
    {
        "sigmoid": r"$\sigma'(a) = \sigma(a)\,(1 - \sigma(a)) \le \frac14$ (equal at $a = 0$): "
        r"each factor is at most $|w|/4$, so with $|w| < 4$ the product of $n$ factors shrinks "
        r"at least like $(|w|/4)^n$.",
        "tanh": r"$\tanh'(a) = 1 - \tanh^2(a) \le 1$ (equal at $a = 0$): each factor is at most "
        r"$|w|$; it falls below 1 as $|a|$ grows, so with $|w| \le 1$ the product can only shrink.",
        "relu": r"$\operatorname{relu}'(a) \in \{0, 1\}$ (1 for $a > 0$, 0 for $a \le 0$: "
        r"chainsolve takes $\operatorname{relu}'(0) = 0$, as PyTorch does): each factor is $w$ "
        r"or 0, so the product is $w^n$ while every unit is active (it explodes for $|w| > 1$, "
        r"vanishes for $|w| < 1$) and 0 once one is not.",
        "softplus": r"$\operatorname{softplus}'(a) = \sigma(a) \in (0, 1)$: each factor is less "
        r"than $|w|$.",
    }
)
#: What the product of the factors did, from δₙ = 1 back to δ₀ = ∂L/∂x.
GRADIENT_TRENDS: Mapping[str, str] = MappingProxyType(
    {
        "shrinks": "vanishes",
        "grows": "explodes",
        "stays": "keeps its size",
        "dies": "is 0 (a unit is inactive)",
    }
)


def gradients_error_activation(name: str) -> str:
    """The message of an activation chainsolve does not chain."""
    return f"--activation: '{name}' is not an activation chainsolve chains"


def gradients_hint_activations(known: Sequence[str]) -> str:
    """The hint listing the activations."""
    return f"choose from {', '.join(known)}, separated by commas (e.g. sigmoid,tanh,relu)"


def gradients_error_activation_list() -> str:
    """The message of an empty list of activations, or one naming an activation twice."""
    return "--activation names each activation once"


def gradients_error_point_name(name: str, names: Sequence[str]) -> str:
    """The message of a value given for a name the chain does not have."""
    return f"--at gives '{name}', but the chain's values are {', '.join(names)}"


def gradients_error_point_value(name: str) -> str:
    """The message of a value that is not a finite real number."""
    return f"--at {name} must be a finite real number"


def gradients_error_depth(depth: int, most: int) -> str:
    """The message of a depth out of range."""
    return f"--depth {depth} is out of range: a chain has 1 to {most} layers"


#: Why the LaTeX document has no plot, by reason.
GRADIENT_PLOT_ABSENT: Mapping[str, str] = MappingProxyType(
    {
        "no_matplotlib": "The plot is absent: drawing it for LaTeX needs matplotlib, which is "
        "not installed (pip install matplotlib).",
        "no_file": "The plot is absent: a LaTeX document written to standard output has no "
        "file beside it for the picture (write it with --output FILE.tex, and the plot goes to "
        "FILE-plot.pdf).",
    }
)


def gradients_zero_note(activations: Sequence[str], matrix: bool = False) -> str:
    """The note under a log-scale plot on which some |δ| (‖δ‖) is 0 and cannot be drawn."""
    size = "‖δ‖" if matrix else "|δ|"
    return (
        f"{size} = 0 has no place on a log scale: the line of {', '.join(activations)} "
        f"stops at the last layer where {size} is not 0."
    )


#: The horizontal axis of the plot of |δ| by layer.
GRADIENT_PLOT_X_LABEL = "layer k (0 = the input x)"


def gradients_plot_y_label(matrix: bool) -> str:
    """The vertical axis: |δₖ| of the scalar chain, ‖δₖ‖ of the matrix form."""
    return "‖δₖ‖ = ‖∂L/∂hₖ‖ (log scale)" if matrix else "|δₖ| = |∂L/∂hₖ| (log scale)"


def gradients_plot_title(depth: int, width: int | None = None) -> str:
    """The plot's title."""
    if width is not None:
        return f"‖∂L/∂hₖ‖ by layer in a chain of {depth} layers of width {width}"
    return f"|∂L/∂hₖ| by layer in a chain of {depth} layers"


def gradients_plot_description(input_gradients: Sequence[tuple[str, str]]) -> str:
    """The plot's description for a screen reader: each line's value at the input."""
    each = "; ".join(f"{name}: ∂L/∂x has size {value}" for name, value in input_gradients)
    return f"One line per activation, from the output back to the input. {each}."


def gradients_error_width(width: int, most: int) -> str:
    """The message of a width out of range."""
    return f"--width {width} is out of range: a layer has 1 to {most} units"


def gradients_error_work(depth: int, width: int, most: int) -> str:
    """The message of a matrix chain too large to evaluate."""
    return (
        f"--depth {depth} with --width {width} is too much work: depth × width² is "
        f"{depth * width * width}, at most {most} (fewer layers or narrower ones)"
    )


#: Each activation's bound on its slope, for the matrix form (whose factor bound follows).
GRADIENT_SLOPE_BOUNDS: Mapping[str, str] = MappingProxyType(
    {
        "sigmoid": "σ′(a) = σ(a)(1 − σ(a)) ≤ ¼",
        "tanh": "tanh′(a) = 1 − tanh²(a) ≤ 1",
        "relu": "relu′(a) ∈ {0, 1} (relu′(0) = 0)",
        "softplus": "softplus′(a) = σ(a) < 1",
    }
)
GRADIENT_SLOPE_BOUNDS_LATEX: Mapping[str, str] = MappingProxyType(
    {
        "sigmoid": r"$\sigma'(a) = \sigma(a)\,(1 - \sigma(a)) \le \frac14$",
        "tanh": r"$\tanh'(a) = 1 - \tanh^2(a) \le 1$",
        "relu": r"$\operatorname{relu}'(a) \in \{0, 1\}$ ($\operatorname{relu}'(0) = 0$)",
        "softplus": r"$\operatorname{softplus}'(a) = \sigma(a) < 1$",
    }
)


#: The matrix form's chain and its bound, for the text formats and for LaTeX.
GRADIENT_MATRIX_NOTE = (
    "In matrix form each layer passes δ back as δₖ₋₁ = Wᵀ·(δₖ ⊙ act′(aₖ)), so "
    "‖δₖ₋₁‖ ≤ ‖W‖₂ · max act′(aₖ) · ‖δₖ‖: the factor of a layer is at most ‖W‖₂ times the "
    "activation's bound."
)
GRADIENT_MATRIX_NOTE_LATEX = (
    r"In matrix form each layer passes $\delta$ back as "
    r"$\delta_{k-1} = W^{\top}(\delta_k \odot \operatorname{act}'(a_k))$, so "
    r"$\lVert\delta_{k-1}\rVert \le \lVert W\rVert_2 \cdot \max \operatorname{act}'(a_k) \cdot "
    r"\lVert\delta_k\rVert$: the factor of a layer is at most $\lVert W\rVert_2$ times the "
    r"activation's bound."
)


# -- matrix-level mistakes (chainsolve.matrix.mistakes, `verify --shapes`) ------------------

#: Each matrix mistake: its short title and what went wrong.
MATRIX_MISTAKES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "matrix_wrong_order": (
            "wrong order or transpose (x·δᵀ instead of δ·xᵀ)",
            "A matrix-multiply gate was applied in the wrong order: for a = W·x the gradient "
            "by W is δ_a·xᵀ (it has W's shape), and x·δ_aᵀ is its transpose; δ passed back to "
            "x is Wᵀ·δ_a, not δ_aᵀ·W.",
        ),
        "matrix_missing_transpose": (
            "missing transpose (W·δ instead of Wᵀ·δ)",
            "A transpose was left out: δ passes back through a = W·x as Wᵀ·δ_a, and the "
            "gradient by W is δ_a·xᵀ.",
        ),
        "matrix_missing_elementwise_derivative": (
            "missing ⊙σ′ (the activation's derivative)",
            "Through h = σ(a), applied entry by entry, δ_a = δ_h ⊙ σ′(a): every entry of δ_h "
            "is multiplied by σ′ at its entry of a. That factor was left out.",
        ),
        "matrix_product_for_elementwise": (
            "matrix product where the elementwise product is meant",
            "δ_h ⊙ σ′(a) multiplies entry by entry (two vectors of one shape give a vector of "
            "that shape); a matrix product of the two (δ_hᵀ·σ′(a), a number, or δ_h·σ′(a)ᵀ, a "
            "matrix) is something else.",
        ),
        "matrix_missing_broadcast_sum": (
            "forgot to sum over the broadcast entries",
            "A 1×1 added to (or multiplying) every entry of a vector or matrix, as b in "
            "W·x + b, is copied to each entry, and each copy passes its own δ back: the "
            "gradient by b is the sum of those δ, sum(δ) = 𝟙ᵀ·δ, one number. δ itself (a "
            "vector) is the gradient of the copies, not of b.",
        ),
        "matrix_shape_mismatch": (
            "the answer's shape is not the gradient's",
            "In denominator layout ∂L/∂W has the shape of W, entry (i, j) being ∂L/∂Wᵢⱼ; "
            "an answer of another shape cannot be it.",
        ),
    }
)


def matrix_mistake_detail(site: str) -> str:
    """Where a matrix mistake was made: the step whose gate went wrong."""
    return f"in the step {site}"


def matrix_shape_detail(answer: str, expected: str, name: str) -> str:
    """The shape mismatch: the answer's shape against the gradient's."""
    return f"the answer is {answer}; ∂L/∂{name} has {name}'s shape, {expected}"


def matrix_verdict_message(report: object) -> str:
    """A matrix verdict in prose: right, or wrong and which mistakes reproduce the answer."""
    correct = getattr(report, "correct", False)
    derivative = getattr(report, "derivative", "the gradient")
    if correct:
        return (
            f"Correct: the answer equals {derivative} entry by entry (checked against sympy.diff "
            "of the problem expanded into scalar entries)."
        )
    mistakes = getattr(report, "mistakes", ())
    if not mistakes:
        return f"Not equal to {derivative} entry by entry, and no common matrix mistake gives it."
    titles = "; ".join(f"{m.title} ({m.detail})" if m.detail else m.title for m in mistakes)
    return f"Not equal to {derivative} entry by entry. It matches: {titles}."


def matrix_verify_wrt(names: Sequence[str]) -> str:
    """The message of a matrix answer checked without saying by which input."""
    return f"say which gradient the answer is: the problem has inputs {', '.join(names)}"


def matrix_verify_wrt_hint() -> str:
    """The hint: give --wrt."""
    return "add --wrt NAME (e.g. --wrt W1)"


def sheet_matrix_options(keys: Sequence[str]) -> str:
    """The message of a matrix problem in a sheet with keys only a scalar problem has."""
    return f"a matrix problem (shapes declared) cannot have {', '.join(map(repr, keys))}"


def grade_matrix_answer_only() -> str:
    """The message of a matrix problem's row graded from a derivation."""
    return "a matrix problem is graded from its answer column (delta_a*x' style), not a derivation"


def grade_matrix_one_gradient(names: Sequence[str]) -> str:
    """The message of a matrix row whose problem asks for several gradients."""
    return (
        f"a matrix answer is one gradient, and the problem asks for {', '.join(names)}: "
        "give each its own problem (wrt = one name)"
    )


def matrix_answer_names_hint(names: Sequence[str], deltas: Sequence[str]) -> str:
    """The hint for a name a matrix answer uses that the problem does not have."""
    return (
        f"an answer uses the problem's names ({', '.join(names)}) and δ of an intermediate as "
        f"{', '.join(deltas) or 'delta_NAME'}"
    )
