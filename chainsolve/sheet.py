"""Problem sheets: a TOML file of problems solved and rendered as one document, key or hand-out."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chainsolve.budget import DEFAULT_TIMEOUT, deadline
from chainsolve.errors import ChainsolveError
from chainsolve.record import record

if TYPE_CHECKING:
    import sympy

    from chainsolve.evaluation import Value
    from chainsolve.matrix.numeric import MatrixEvaluation
    from chainsolve.matrix.solve import MatrixSolution
    from chainsolve.problem import Problem
    from chainsolve.render import Detail, Notation, Result
    from chainsolve.rubric import Rubric
    from chainsolve.steps import Solution
    from chainsolve.variants import Vary

SheetFormat = Literal["text", "markdown", "latex", "html"]

#: ``solutions``: problems, then worked solutions; ``answers``: each problem with its final
#: answer (the key); ``handout``: the problems only.
SheetMode = Literal["solutions", "answers", "handout"]

#: The sheet template of each format and the one that renders a worked solution inside it.
SHEET_TEMPLATES: dict[str, str] = {
    "text": "sheet.txt.jinja",
    "markdown": "sheet.md.jinja",
    "latex": "sheet.tex.jinja",
    "html": "sheet.html.jinja",
}
SOLUTION_TEMPLATES: dict[str, str] = {
    "text": "sheet.solution.txt.jinja",
    "markdown": "sheet.solution.md.jinja",
    "latex": "sheet.solution.tex.jinja",
    "html": "sheet.solution.html.jinja",
}
#: The template that renders a worked matrix solution inside a sheet.
MATRIX_SOLUTION_TEMPLATES: dict[str, str] = {
    "text": "sheet.matrix.txt.jinja",
    "markdown": "sheet.matrix.md.jinja",
    "latex": "sheet.matrix.tex.jinja",
    "html": "sheet.matrix.html.jinja",
}

#: The keys a sheet and each of its problems may have (anything else is a typo, reported).
SHEET_KEYS = ("title", "author", "date", "instructions", "seed", "problems")
PROBLEM_KEYS = ("id", "problem", "wrt", "at", "instructions", "vary", "rubric", "implicit", "order")

#: Most problems one sheet may hold.
MAX_PROBLEMS = 200


class SheetError(ChainsolveError):
    """A problem sheet that cannot be used: bad TOML, a missing or mistyped field, a bad problem."""


@record
class SheetProblem:
    """One problem as written in the sheet: its text, ``wrt`` and point (both as the CLI takes them).

    ``id`` names it in submissions (its number unless given); ``vary`` makes it a template
    whose parameters each student draws (see :mod:`chainsolve.variants`); ``rubric`` scores it.
    """

    number: int
    problem: str
    wrt: str | None = None
    at: str | None = None
    instructions: str | None = None
    id: str = ""
    vary: Vary = ()
    rubric: Rubric | None = None
    #: The dependent variable of an equation (implicit = "y": the answer is dy/dx).
    implicit: str | None = None
    #: The order of the derivative asked for (2: the second derivative).
    order: int = 1


@record
class Sheet:
    """A problem sheet: a title, optional author, date and instructions, and its problems."""

    title: str
    problems: tuple[SheetProblem, ...]
    author: str | None = None
    date: str | None = None
    instructions: str | None = None
    #: The sheet's part of every student's variant seed.
    seed: int = 0


@record
class SheetItem:
    """A problem of the sheet with its solution, as the sheet templates receive it.

    ``body`` is the worked solution rendered by ``sheet.solution.<ext>.jinja`` (empty
    unless the sheet shows solutions).
    """

    number: int
    spec: SheetProblem
    solution: Solution
    results: tuple[Result, ...]
    body: str
    #: A scalar problem (the templates ask, as :class:`MatrixSheetItem` answers True).
    matrix: bool = False

    @property
    def problem(self) -> Problem:
        """The parsed problem (its definitions, target first, and its point)."""
        return self.solution.problem

    @property
    def instructions(self) -> str | None:
        """The problem's own instructions, if the sheet gives any."""
        return self.spec.instructions

    @property
    def point(self) -> tuple[tuple[sympy.Symbol, Value], ...]:
        """The point as (symbol, value) pairs, in the order the sheet gives them."""
        evaluation = self.solution.evaluation
        if evaluation is None:
            return ()
        problem = self.solution.problem
        return tuple((problem.symbol(name), evaluation.values[name]) for name in problem.point)

    @property
    def values(self) -> tuple[tuple[Result, Value], ...]:
        """Each final answer with its value at the point (empty without a point)."""
        evaluation = self.solution.evaluation
        if evaluation is None:
            return ()
        found = evaluation.gradient_values
        return tuple((r, found[r.wrt]) for r in self.results if r.wrt in found)


@record
class MatrixSheetItem:
    """A matrix problem of the sheet with its checked backward pass, as the templates receive it.

    ``maths`` holds the statement and the answers written in the sheet's format: ``find`` (each
    gradient asked for), ``given`` (each input with its shape), ``definitions`` ((name, formula)
    pairs) and ``answers`` ((gradient, formula) pairs); ``body`` is the worked solution.
    """

    number: int
    spec: SheetProblem
    solution: MatrixSolution
    evaluation: MatrixEvaluation | None
    maths: Mapping[str, Any]
    body: str
    matrix: bool = True

    @property
    def instructions(self) -> str | None:
        """The problem's own instructions, if the sheet gives any."""
        return self.spec.instructions


def _fail(message: str, number: int | None = None, hint: str | None = None) -> SheetError:
    where = "" if number is None else f"problem {number}: "
    return SheetError("sheet", where + message, hint=hint)


def _optional_text(table: Mapping[str, Any], key: str, number: int | None) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"'{key}' must be a non-empty string", number)
    return value.strip()


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], number: int | None) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise _fail(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            number,
            hint=f"the keys are {', '.join(allowed)}",
        )


def _wrt(value: Any, number: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return ",".join(v.strip() for v in value)
    raise _fail("'wrt' must be a name, 'w,b', or a list of names such as [\"w\", \"b\"]", number)


def _is_numbers(value: Any) -> bool:
    """Is ``value`` a non-empty list of numbers, or of such lists (a vector or a matrix)?"""
    if not isinstance(value, list) or not value:
        return False
    return all(
        _is_numbers(part) or (isinstance(part, int | float) and not isinstance(part, bool))
        for part in value
    )


def _at(value: Any, number: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict) and value:
        items = []
        for name, number_value in value.items():
            if _is_numbers(number_value):
                # A vector or matrix of a matrix problem, as --at writes it: [1, 2], [[1, 2]].
                items.append(f"{name}={json.dumps(number_value)}")
                continue
            ok = isinstance(number_value, int | float | str) and not isinstance(number_value, bool)
            if not ok:
                raise _fail(f"'at': the value of {name!r} must be a number", number)
            items.append(f"{name}={number_value}")
        return ",".join(items)
    raise _fail("'at' must be text such as \"w=2, x=3\" or a table such as {w = 2, x = 3}", number)


def _problem(table: Any, number: int) -> SheetProblem:
    if not isinstance(table, dict):
        raise _fail("each [[problems]] entry must be a table", number)
    _check_keys(table, PROBLEM_KEYS, number)
    text = _optional_text(table, "problem", number)
    if text is None:
        raise _fail("'problem' is missing", number, hint='give it, e.g. problem = "sin(x^2)"')
    return SheetProblem(
        number=number,
        problem=text,
        wrt=_wrt(table.get("wrt"), number),
        at=_at(table.get("at"), number),
        instructions=_optional_text(table, "instructions", number),
        id=_optional_text(table, "id", number) or str(number),
        vary=_vary(table, number),
        rubric=_rubric(table, number),
        implicit=_optional_text(table, "implicit", number),
        order=_order(table.get("order", 1), number),
    )


def _order(value: Any, number: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise _fail("'order' must be a whole number from 1 (the first derivative)", number)


def _vary(table: Mapping[str, Any], number: int) -> Vary:
    from chainsolve.variants import vary_from_dict

    if "vary" not in table:
        return ()
    try:
        return vary_from_dict(table["vary"])
    except ValueError as error:
        raise _fail(str(error), number) from None


def _rubric(table: Mapping[str, Any], number: int) -> Rubric | None:
    from chainsolve.rubric import rubric_from_dict

    if "rubric" not in table:
        return None
    try:
        return rubric_from_dict(table["rubric"])
    except ValueError as error:
        raise _fail(f"rubric: {error}", number) from None


def _seed(data: Mapping[str, Any]) -> int:
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _fail("'seed' must be a whole number")
    return seed


def _unique_ids(problems: tuple[SheetProblem, ...]) -> tuple[SheetProblem, ...]:
    seen: set[str] = set()
    for spec in problems:
        if spec.id in seen:
            raise _fail(f"the id {spec.id!r} is used twice", spec.number)
        seen.add(spec.id)
    return problems


def sheet_from_dict(data: Mapping[str, Any]) -> Sheet:
    """Validate a decoded sheet (the TOML's tables) and build a :class:`Sheet`.

    >>> spec = sheet_from_dict({"title": "HW 1", "problems": [{"problem": "sin(x^2)"}]}).problems[0]
    >>> spec.problem, spec.id, spec.wrt, spec.rubric
    ('sin(x^2)', '1', None, None)
    """
    _check_keys(data, SHEET_KEYS, None)
    title = _optional_text(data, "title", None)
    if title is None:
        raise _fail("the sheet has no 'title'", hint='add a line title = "…" at the top')
    problems = data.get("problems")
    if not isinstance(problems, list) or not problems:
        raise _fail(
            "the sheet has no problems",
            hint='add one or more [[problems]] tables, each with problem = "…"',
        )
    if len(problems) > MAX_PROBLEMS:
        raise _fail(f"the sheet has {len(problems)} problems; at most {MAX_PROBLEMS} are allowed")
    return Sheet(
        title=title,
        problems=_unique_ids(tuple(_problem(t, n) for n, t in enumerate(problems, start=1))),
        author=_optional_text(data, "author", None),
        date=_optional_text(data, "date", None),
        instructions=_optional_text(data, "instructions", None),
        seed=_seed(data),
    )


def _toml() -> Any:
    """The TOML reader: ``tomllib`` (Python 3.11+), else the ``tomli`` backport if installed."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    else:  # pragma: no cover - Python 3.10 only
        try:
            import tomli
        except ImportError:
            raise SheetError(
                "sheet",
                "reading problem sheets on Python 3.10 needs the 'tomli' package",
                hint="pip install tomli (or use Python 3.11 or newer)",
            ) from None
        return tomli


def parse_sheet(text: str, *, origin: str = "the sheet") -> Sheet:
    """Read a sheet from TOML text; ``origin`` names it in error messages.

    >>> sheet = parse_sheet('title = "HW"\\n[[problems]]\\nproblem = "sin(x^2)"\\nwrt = "x"')
    >>> sheet.title, sheet.problems[0].wrt
    ('HW', 'x')
    """
    toml = _toml()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as error:
        raise SheetError(
            "sheet_toml",
            f"{origin} is not valid TOML: {error}",
            hint="see the TOML format at https://toml.io",
        ) from None
    return sheet_from_dict(data)


def load_sheet(path: str | Path) -> Sheet:
    """Read a sheet from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SheetError("sheet_toml", f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise SheetError("sheet", f"cannot read {path}: {error.strerror}") from None
    return parse_sheet(text, origin=str(path))


def solve_sheet_problem(
    spec: SheetProblem, *, detail: str = "normal", timeout: float | None = DEFAULT_TIMEOUT
) -> Solution:
    """Solve one problem of a sheet; its errors name the problem's number."""
    from chainsolve.api import solve

    try:
        return solve(
            spec.problem,
            wrt=spec.wrt,
            at=spec.at,
            detail=detail,  # type: ignore[arg-type]
            timeout=timeout,
            implicit=spec.implicit,
            order=spec.order,
        )
    except ChainsolveError as error:
        raise _in_problem(error, spec.number) from error


def _in_problem(error: ChainsolveError, number: int) -> SheetError:
    """A solver's error as the sheet's, naming the problem it came from."""
    return SheetError(
        error.code,
        f"problem {number}: {error.message}",
        source=error.source,
        span=error.span,
        hint=error.hint,
    )


def is_matrix_problem(spec: SheetProblem) -> bool:
    """Is this a problem in vectors and matrices (shapes declared in its text)?"""
    from chainsolve.matrix.statements import has_declarations

    return has_declarations(spec.problem)


def _matrix_options(spec: SheetProblem) -> None:
    """Refuse, in one line, what a matrix problem of a sheet cannot have."""
    from chainsolve import wording

    unsupported = [
        key
        for key, given in (("vary", bool(spec.vary)), ("implicit", spec.implicit is not None))
        if given
    ] + (["order"] if spec.order != 1 else [])
    if unsupported:
        raise _fail(wording.sheet_matrix_options(unsupported), spec.number)


def solve_sheet_matrix(
    spec: SheetProblem, *, timeout: float | None = DEFAULT_TIMEOUT
) -> tuple[MatrixSolution, MatrixEvaluation | None]:
    """Solve one matrix problem of a sheet (and evaluate it at its point); errors name it."""
    from chainsolve.api import evaluate_matrix, solve_matrix

    _matrix_options(spec)
    try:
        solution = solve_matrix(spec.problem, wrt=spec.wrt, timeout=timeout)
        at = None if spec.at is None else evaluate_matrix(solution, spec.at, timeout=timeout)
    except ChainsolveError as error:
        raise _in_problem(error, spec.number) from error
    return solution, at


def _matrix_maths(solution: MatrixSolution, fmt: str) -> dict[str, Any]:
    """The statement and answers of a matrix problem written in ``fmt`` (see MatrixSheetItem)."""
    from chainsolve.matrix.formats import format_context

    context = format_context(solution, fmt)
    maths = context["maths"]
    given = maths["shapes"]
    if fmt == "text":
        # Plain text cannot write a shape under its symbol: it follows in brackets.
        given = [f"{name} ({shape})" for name, shape in context["shapes"]]
        definitions = [(name, expr) for name, expr, _ in context["forward"]]
    else:
        definitions = list(maths["forward"])
    found = {
        "find": list(maths["title"]),
        "given": list(given),
        "definitions": definitions,
        "answers": list(maths["results"]),
    }
    if fmt == "html":
        from markupsafe import Markup

        # MathML that chainsolve wrote from escaped pieces, as matrix.formats marks it.
        return {key: _marked(value, Markup) for key, value in found.items()}
    return found


def _marked(value: Any, markup: Any) -> Any:
    if isinstance(value, str):
        return markup(value)
    if isinstance(value, list | tuple):
        return type(value)(_marked(part, markup) for part in value)
    return value


def _matrix_item(
    spec: SheetProblem,
    fmt: SheetFormat,
    mode: SheetMode,
    template_dir: str | Path | None,
    detail: Detail = "normal",
    notation: str = "leibniz",
) -> MatrixSheetItem:
    from chainsolve.matrix.formats import matrix_notation, render_matrix_solution

    solution, evaluation = solve_sheet_matrix(spec, timeout=None)
    body = ""
    if mode == "solutions":
        body = render_matrix_solution(
            solution,
            fmt,
            evaluation,
            None if template_dir is None else str(template_dir),
            template=MATRIX_SOLUTION_TEMPLATES[fmt],
            extra={"number": spec.number, "spec": spec, "fragment": True},
            detail=detail,
            # A sheet's scalar problems take Lagrange's primes; its matrix ones stay in Leibniz.
            notation=matrix_notation(notation)[0],
        )
    if fmt == "html":
        from markupsafe import Markup

        body = Markup(body)
    return MatrixSheetItem(
        number=spec.number,
        spec=spec,
        solution=solution,
        evaluation=evaluation,
        maths=_matrix_maths(solution, fmt),
        body=body,
    )


def render_sheet(
    sheet: Sheet,
    fmt: SheetFormat,
    *,
    mode: SheetMode = "solutions",
    notation: Notation = "leibniz",
    detail: Detail = "normal",
    template_dir: str | Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> str:
    """Solve every problem of ``sheet`` and render the document, all within ``timeout`` seconds."""
    with deadline(timeout):
        return _render_sheet(
            sheet, fmt, mode=mode, notation=notation, detail=detail, template_dir=template_dir
        )


def _render_sheet(
    sheet: Sheet,
    fmt: SheetFormat,
    *,
    mode: SheetMode,
    notation: Notation,
    detail: Detail,
    template_dir: str | Path | None,
) -> str:
    """Solve every problem of ``sheet`` and render the document.

    Every mode solves every problem, so that a hand-out never contains a problem without
    a solution. Layout lives in ``sheet.<ext>.jinja`` and ``sheet.solution.<ext>.jinja``.
    """
    from markupsafe import Markup

    from chainsolve.render import make_environment, results_of, template_context

    if fmt not in SHEET_TEMPLATES:
        raise ValueError(f"no sheet template for format {fmt!r}")
    env = make_environment(fmt, template_dir)
    solution_template = env.get_template(SOLUTION_TEMPLATES[fmt])
    items: list[SheetItem | MatrixSheetItem] = []
    for spec in sheet.problems:
        if is_matrix_problem(spec):
            items.append(_matrix_item(spec, fmt, mode, template_dir, detail, notation))
            continue
        solution = solve_sheet_problem(spec, detail=detail, timeout=None)
        body = ""
        if mode == "solutions":
            context = template_context(
                solution, fmt, notation=notation, detail=detail, fragment=True
            )
            body = solution_template.render({**context, "number": spec.number, "spec": spec})
        results = results_of(solution)
        items.append(
            SheetItem(
                number=spec.number,
                spec=spec,
                solution=solution,
                results=results,
                body=Markup(body) if fmt == "html" else body,
            )
        )
    context = {
        "sheet": sheet,
        "items": tuple(items),
        "mode": mode,
        "notation": notation,
        "detail": detail,
    }
    return env.get_template(SHEET_TEMPLATES[fmt]).render(context)
