"""The one place for the words of a solution: step sentences by phrase key, rule names by rule id."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from chainsolve.filters import formula_unicode, unicode_name
from chainsolve.functions import BY_RULE_ID
from chainsolve.problem import make_symbol
from chainsolve.steps import Leibniz, RuleRef, Step

if TYPE_CHECKING:
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
        "result": "Result",
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


def note_left_in_intermediates(wrt: str) -> str:
    """A graph derivative too large to substitute is given in the intermediate variables."""
    return (
        f"The fully substituted derivative with respect to {wrt} would be enormous, so it is "
        "given in terms of the intermediate variables."
    )


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
    }
)


def derivative_name(target: str, wrt: str) -> str:
    """The derivative a verdict is about, as printed everywhere: dy/dθ, dy/d(d)."""
    return formula_unicode(Leibniz(make_symbol(target), make_symbol(wrt)))


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
    derivative = derivative_name(report.problem.target, wrt)
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
    if check.status == "undecided":
        note = _LINE_REASONS.get(check.reason, "")
    elif check.status == "follows":
        note = "from the problem" if check.follows_from == 0 else f"from line {check.follows_from}"
    else:
        source = check.follows_from
        note = "from the problem's derivative" if source == 0 else f"from line {source}"
        if check.equals_derivative:
            note += ", but it is the correct derivative"
    if check.unevaluated:
        note += "; it still contains a derivative to evaluate"
    return note


def _skipped(unreadable: Sequence[int]) -> str:
    if not unreadable:
        return ""
    several = len(unreadable) > 1
    numbers = ", ".join(map(str, unreadable))
    return f"Line{'s' if several else ''} {numbers} could not be read and {'were' if several else 'was'} skipped."


def derivation_message(report: DerivationReport) -> str:
    """The verdict on a derivation in prose: its last line, the first wrong line, skipped lines."""
    grounds = report.grounds
    if grounds.timeout is not None:
        return "Undecided: the check ran out of its time budget."
    skipped = _skipped(grounds.unreadable)
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


#: Jinja filters that put the words on a step (registered by :mod:`chainsolve.render`).
FILTERS: Mapping[str, Callable[[Step], str | None]] = MappingProxyType(
    {"sentence": sentence, "rule_label": rule_label}
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
