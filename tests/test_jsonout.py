"""Tests for chainsolve.jsonout: the documented, stable JSON schema of a solution."""

from __future__ import annotations

import json
import os

import pytest
import sympy

import chainsolve
from chainsolve.derivation import solve_problem
from chainsolve.graph import build_graph
from chainsolve.jsonout import SCHEMA_VERSION, expression_text, solution_to_dict, step_text
from chainsolve.parsing import parse_expression
from chainsolve.problem import Definition, build_problem, make_symbol
from chainsolve.steps import Check, Derivation, Leibniz, RuleRef, Solution, Step

x, y, z, t = (make_symbol(n) for n in "xyzt")

STEP_KEYS = {
    "kind",
    "rule",
    "rule_ids",
    "claim",
    "text",
    "latex",
    "verified",
    "check",
    "depth",
    "derivation",
}


def _single() -> Solution:
    problem = build_problem([Definition("y", sympy.sin(x**2))], source="sin(x^2)")
    dydx = Leibniz(y, x)
    steps = (
        Step("rule", "chain_formula", (dydx, 2 * x * sympy.cos(x**2)), (RuleRef("chain"),)),
        Step("simplify", "result", (dydx, 2 * x * sympy.cos(x**2)), check=Check("unconfirmed")),
    )
    return Solution(problem, (Derivation("x", dydx, steps, 2 * x * sympy.cos(x**2)),))


def test_top_level_schema() -> None:
    """The dict has exactly the documented top-level keys and is JSON-serialisable."""
    data = solution_to_dict(_single())
    assert set(data) == {
        "schema_version",
        "problem",
        "derivatives",
        "derivatives_latex",
        "steps",
        "verified",
        "graph",
        "paths",
        "notes",
        "evaluation",
    }
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["evaluation"] is None
    assert data["graph"] is None
    assert json.loads(json.dumps(data)) == data


def test_problem_and_steps() -> None:
    """Problem fields are strings/lists; each step has the documented keys and its check."""
    data = solution_to_dict(_single())
    assert data["problem"] == {
        "source": "sin(x^2)",
        "definitions": [{"name": "y", "expr": "sin(x**2)"}],
        "target": "y",
        "inputs": ["x"],
        "wrt": ["x"],
        "point": {},
    }
    first, last = data["steps"]
    assert set(first) == STEP_KEYS
    assert first["text"] == "Chain rule: one factor per link: dy/dx = 2x·cos(x²)"
    assert first["rule"] == "chain rule" and first["rule_ids"] == ["chain"]
    assert first["latex"] == r"\frac{dy}{dx} = 2 x \cos\mathopen{}\left(x^{2} \right)"
    assert first["derivation"] == "x"
    assert last["check"] == {"status": "unconfirmed", "detail": ""}
    assert last["verified"] is False
    assert data["verified"] is False


def test_derivatives_read_back_with_sympy() -> None:
    """Derivative strings are sympy's str() and parse back to the same expression."""
    data = solution_to_dict(_single())
    assert data["derivatives"] == {"x": "2*x*cos(x**2)"}
    parsed = sympy.sympify(data["derivatives"]["x"], locals={"x": x})
    assert sympy.simplify(parsed - 2 * x * sympy.cos(x**2)) == 0
    assert data["derivatives_latex"] == {"x": r"2 x \cos\mathopen{}\left(x^{2} \right)"}


def test_abstract_derivative_strings() -> None:
    """Abstract derivatives keep sympy's spelling, e.g. Derivative(f(x, y), x)."""
    f = sympy.Function("f")
    problem = build_problem([Definition("z", f(x, y))], source="f(x, y)", wrt=["x"])
    result = sympy.Derivative(f(x, y), x)
    dzdx = Leibniz(z, x, partial=True)
    solution = Solution(problem, (Derivation("x", dzdx, (), result),))
    assert solution_to_dict(solution)["derivatives"] == {"x": "Derivative(f(x, y), x)"}


def test_graph_and_paths_from_a_real_solution() -> None:
    """A graph problem lists nodes, edges with local partials, and its paths per variable."""
    problem = build_problem(
        [Definition("z", x**2 * y), Definition("x", sympy.cos(t)), Definition("y", sympy.exp(t))],
        source="z = x^2*y; x = cos(t); y = exp(t)",
    )
    data = solution_to_dict(solve_problem(problem))
    graph = data["graph"]
    assert graph is not None
    assert [n["name"] for n in graph["nodes"]] == [n.name for n in build_graph(problem).nodes]
    assert {"name": "x", "kind": "intermediate", "expr": "cos(t)"} in graph["nodes"]
    assert {"source": "t", "target": "x", "local_partial": "-sin(t)"} in graph["edges"]
    assert data["paths"]["t"]["count"] == 2
    assert sorted(data["paths"]["t"]["paths"]) == [["z", "x", "t"], ["z", "y", "t"]]
    assert data["verified"] is True


def test_step_text_includes_definitions_and_paths() -> None:
    """A step's one-line text carries its definitions or paths after the sentence."""
    u1 = make_symbol("u_1")
    decompose = Step("decompose", "decompose_inner", definitions=((u1, x**2),))
    assert step_text(decompose) == "Name the inner parts: u₁ = x²"
    words = (("count", "2"), ("target", "z"), ("wrt", "t"))
    paths = Step("paths", "graph_paths", paths=(("z", "x", "t"), ("z", "y", "t")), words=words)
    assert step_text(paths) == "2 paths from z to t: z → x → t; z → y → t"
    assert step_text(Step("note", "found_above")) == "Found above"


@pytest.mark.parametrize(
    "problem",
    [
        "sech(x^2)",
        "csch(3x) + coth(x)",
        "arcsinh(x^2) + arccosh(2x)",
        "artanh(x^2)",
        "arccot(x^2) + arcsec(x^3) + arccsc(2x)",
    ],
)
def test_derivatives_of_the_new_functions_read_back_with_our_parser(problem: str) -> None:
    """sympy's str() of sech, asinh, acot, … in the JSON derivative reads back through parse_expression."""
    solution = chainsolve.solve(problem)
    written = solution_to_dict(solution)["derivatives"]["x"]
    assert parse_expression(written) == solution.derivatives["x"]


def _sympy_reading(text: str, expr: sympy.Expr) -> sympy.Expr:
    """``text`` read by sympy with the expression's variables real and its functions by name."""
    names: dict[str, object] = {s.name: s for s in expr.free_symbols}
    names |= {str(a.func): a.func for a in expr.atoms(sympy.core.function.AppliedUndef)}
    return sympy.sympify(text, locals=names)


def test_derivatives_of_unknown_functions_at_a_point_use_readable_subs() -> None:
    """∂₁f(g(t), t) is written Subs(Derivative(f(xi_1, t), xi_1), xi_1, g(t)): both parsers read it."""
    f, g = sympy.Function("f", real=True), sympy.Function("g", real=True)
    expr = sympy.diff(f(g(t), t), t)  # sympy: Derivative(f(g(t), t), g(t))*g′(t) + Subs(…)
    written = expression_text(expr)
    assert "Subs(Derivative(f(xi_1, t), xi_1), xi_1, g(t))" in written
    assert "_" not in written.replace("xi_", "")
    for reading in (parse_expression(written), _sympy_reading(written, expr)):
        assert (reading - expr).doit() == 0 or sympy.simplify(reading - expr) == 0


def test_bound_names_avoid_the_expressions_own_variables() -> None:
    """A user variable called xi_1 pushes the bound name of a Subs to xi_2."""
    f, g = sympy.Function("f", real=True), sympy.Function("g", real=True)
    xi = make_symbol("xi_1")
    expr = xi * sympy.diff(f(g(xi)), xi)
    written = expression_text(expr)
    assert "Subs(Derivative(f(xi_2), xi_2), xi_2, g(xi_1))" in written
    assert parse_expression(written).free_symbols == {xi}


def test_json_has_no_unreadable_expression_string() -> None:
    """Graph nodes, local partials, points and derivatives all read back with chainsolve's parser."""
    strings: list[str] = []
    for problem, point in (
        ("z = f(x, y); x = g(t); y = exp(t)", None),
        ("z = x^2*y + e^x; x = cos(t); y = exp(t)", "t=pi/4"),
    ):
        data = solution_to_dict(chainsolve.solve(problem, wrt="t", at=point))
        strings += [data["derivatives"]["t"], *(d["expr"] for d in data["problem"]["definitions"])]
        strings += [edge["local_partial"] for edge in data["graph"]["edges"]]
        strings += list(data["problem"]["point"].values())
        if data["evaluation"] is not None:
            strings += [row["formula"] for row in data["evaluation"]["forward_pass"]]
    for text in strings:
        if text is not None:
            parse_expression(text)  # raises on anything it cannot read
    assert all("E" not in text.replace("Derivative", "") for text in strings if text)


@pytest.mark.parametrize(
    "problem",
    ["sin(x^2)", "x^2*exp(-x)", "sin(x)/x", "x^x", "(3x^2+1)^5*cos(x)", "L = (w*x + b - y)^2"],
)
def test_every_step_claim_rechecks_outside_chainsolve(problem: str) -> None:
    """Each JSON step's claim, read back, is true: d(derivative_of)/d(wrt) equals every value."""
    from chainsolve.equivalence import compare
    from chainsolve.rules import sympy_derivative

    data = solution_to_dict(chainsolve.solve(problem, wrt="w,b" if "L" in problem else None))
    claims = [step["claim"] for step in data["steps"] if step["claim"] is not None]
    assert claims
    for claim in claims:
        subject = parse_expression(claim["derivative_of"])
        reference = sympy_derivative(subject, make_symbol(claim["wrt"]))
        for value in claim["equals"]:
            assert compare(parse_expression(value), reference).verdict == "equal", claim


# --- the published JSON Schema ---------------------------------------------------------------

jsonschema = pytest.importorskip("jsonschema")


def _valid(data: object, name: str) -> None:
    """Validate with jsonschema directly (independent of the suite's CHAINSOLVE_VALIDATE_JSON)."""
    from chainsolve.jsonout import json_schema

    jsonschema.validate(data, json_schema(name), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("name", ["solution", "verdict"])
def test_schema_files_are_draft_2020_12_schemas(name: str) -> None:
    """Each shipped schema declares draft 2020-12 and is itself a valid schema of that draft."""
    from chainsolve.jsonout import json_schema

    schema = json_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_at_output_matches_the_schema_with_values_gradient_and_passes() -> None:
    """`--at` JSON: values, gradient {exact, decimal}, forward and backward pass, all in the schema."""
    solution = chainsolve.solve("L = (sigmoid(w*x + b) - y)^2", at="w=0.5,x=1.5,b=0.1,y=1")
    data = json.loads(json.dumps(solution_to_dict(solution)))
    _valid(data, "solution")
    assert set(data["gradient"]) == {"w", "x", "b", "y"}
    assert set(data["gradient"]["w"]) == {"exact", "decimal"}
    assert data["forward_pass"] and data["backward_pass"]
    assert data["evaluation"]["gradient"] == data["gradient"]


def test_exact_forward_mode_output_matches_the_schema() -> None:
    """An exact point with tangent passes (forward mode) matches the schema too."""
    solution = chainsolve.solve("z = x*y + sin(x); y = x^2", at="x=2", mode="forward")
    data = solution_to_dict(solution)
    _valid(data, "solution")
    assert data["gradient"]["x"]["exact"] is not None
    assert data["evaluation"]["tangent_passes"]


def test_undocumented_field_fails_the_schema() -> None:
    """The schema admits no field it does not document (a new field must be documented first)."""
    data = solution_to_dict(chainsolve.solve("sin(x^2)"))
    data["undocumented"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _valid(data, "solution")


@pytest.mark.parametrize(
    ("answer", "derivation"),
    [("2x*cos(x^2)", None), ("cos(x^2)", None), (None, "dy/dx = cos(x^2)*2x\nnonsense)(")],
)
def test_verify_output_matches_the_schema(answer: str | None, derivation: str | None) -> None:
    """Answer and derivation verdicts (right, wrong, unreadable line) match verdict.json."""
    from chainsolve.verification import verdict_to_dict

    report = chainsolve.verify("sin(x^2)", answer=answer, derivation=derivation)
    _valid(json.loads(json.dumps(verdict_to_dict(report))), "verdict")


def test_schema_enums_are_the_code_s_literals() -> None:
    """Step kinds, check statuses, verdicts and line statuses in the schema are the code's own."""
    import typing

    from chainsolve import steps, verification
    from chainsolve.jsonout import json_schema

    step = json_schema("solution")["$defs"]["step"]["properties"]
    assert step["kind"]["enum"] == list(typing.get_args(steps.StepKind))
    assert step["check"]["properties"]["status"]["enum"] == list(typing.get_args(steps.CheckStatus))
    verdict = json_schema("verdict")["$defs"]
    assert verdict["answer"]["properties"]["verdict"]["enum"] == list(
        typing.get_args(verification.VerdictId)
    )
    assert verdict["line"]["properties"]["status"]["enum"] == list(
        typing.get_args(verification.LineStatus)
    )


def test_the_suite_validates_every_json_it_builds() -> None:
    """Under CHAINSOLVE_VALIDATE_JSON (set by conftest) a document off the schema raises."""
    from chainsolve.jsonout import VALIDATE_JSON_ENV, validated

    assert os.environ.get(VALIDATE_JSON_ENV)
    data = solution_to_dict(chainsolve.solve("sin(x^2)"))
    data["steps"][0]["kind"] = "not_a_kind"
    with pytest.raises(jsonschema.ValidationError):
        validated(data, "solution")


def test_brief_detail_json_still_has_every_step() -> None:
    """`--detail brief --format json` gives the full step list, as docs/json-schema.md says."""
    from chainsolve.render import render_solution

    brief = json.loads(render_solution(chainsolve.solve("sin(x^2)", detail="brief"), "json"))
    full = json.loads(render_solution(chainsolve.solve("sin(x^2)", detail="full"), "json"))
    assert len(brief["steps"]) == len(full["steps"]) > 1


def test_json_schema_page_is_generated_from_the_schema() -> None:
    """docs/json-schema.md is what docs/generate_json_schema_doc.py writes now."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "docs" / "generate_json_schema_doc.py"
    spec = importlib.util.spec_from_file_location("generate_json_schema_doc", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = module.PAGE.read_text(encoding="utf-8")
    assert stored == module.page(), "run: python docs/generate_json_schema_doc.py"
