"""The ``chainsolve`` command line: options mapped to the API, errors mapped to one line and an exit code."""

from __future__ import annotations

import codecs
import functools
import gc
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.core import ParameterSource

from chainsolve import __version__

F = TypeVar("F", bound=Callable[..., Any])

#: Longest problem text read from standard input (longer input is rejected by the parser anyway).
STDIN_LIMIT = 1_000_000

FORMATS = ("text", "markdown", "latex", "html", "json")
EXTENSIONS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".tex": "latex",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
}


def _read_stdin() -> str:
    from chainsolve.errors import ChainsolveError

    if sys.stdin is None or sys.stdin.closed:
        raise ChainsolveError("stdin_closed", "'-' reads standard input, but it is closed")
    # Read bytes and decode as UTF-8 ourselves: the locale's codec (strict, or ASCII) would
    # raise on the first bad byte in the middle of the command.
    raw = getattr(sys.stdin, "buffer", None)
    try:
        if raw is None:
            return sys.stdin.read(STDIN_LIMIT)
        data = raw.read(STDIN_LIMIT * 4)
        # A read cut short by the limit may end inside a character: decode it as unfinished.
        decoder = codecs.getincrementaldecoder("utf-8")()
        return str(decoder.decode(data, final=len(data) < STDIN_LIMIT * 4))[:STDIN_LIMIT]
    except UnicodeDecodeError as error:
        raise ChainsolveError(
            "invalid_utf8",
            f"standard input is not valid UTF-8 (byte {error.start + 1} cannot be decoded)",
        ) from None


def _read_problem(text: str) -> str:
    return _read_stdin() if text == "-" else text


def _read_derivation(path: str) -> str:
    from chainsolve.errors import ChainsolveError

    if path == "-":
        return _read_stdin()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(STDIN_LIMIT)
    except (OSError, UnicodeDecodeError) as error:
        raise ChainsolveError(
            "unreadable_file", f"cannot read --derivation {path}: {error}"
        ) from None


def _report_error(error: Exception) -> None:
    from chainsolve.errors import ChainsolveError

    assert isinstance(error, ChainsolveError)
    click.echo(f"error: {error.message}", err=True)
    caret = error.caret_lines()
    if caret is not None:
        line, marks = caret
        click.echo(f"  {line}", err=True)
        click.echo(f"  {marks}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


def friendly_errors(command: F) -> F:
    """Turn chainsolve's errors into one clear message and exit 2; anything unexpected into exit 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chainsolve.errors import ChainsolveError

        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a reader gone (`| head -1`) is found here, not at exit
            return result
        except BrokenPipeError:
            _quiet_broken_pipe()
        except ChainsolveError as error:
            _report_error(error)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except RecursionError:
            click.echo("error: the problem is nested too deeply to work with", err=True)
            sys.exit(2)
        except MemoryError:
            click.echo("error: the problem needs more memory than is available", err=True)
            sys.exit(2)
        except Exception as error:
            click.echo(
                f"internal error: {type(error).__name__}: {error} "
                "(this is a bug in chainsolve; please report it with the command you ran)",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _quiet_broken_pipe() -> None:
    """Exit 141 in silence (as a tool ended by SIGPIPE) when the reader of stdout has gone.

    Standard output is pointed at /dev/null first: the interpreter flushes it at exit, and
    the output still buffered would raise the same error again there.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (an in-process runner): nothing is flushed to a pipe at exit
    sys.exit(141)


#: Set by :func:`run`: the command owns its process, which may be ended when stuck (never when
#: chainsolve is called in-process, by click's test runner or another program).
OWN_PROCESS = False


def _imports_done() -> None:
    """In a process of its own, the start-up imports are done: collect garbage from here on.

    :func:`run` turns the cyclic garbage collector off while sympy, jinja2 and chainsolve
    import: they build about a million objects and no garbage, and the collections that their
    growth triggers cost a tenth of `import sympy`. Here those objects are frozen (never
    traversed again) and collection is back on for the command's own work.
    """
    if not OWN_PROCESS or gc.isenabled():
        return
    # sympy imports sympy.tensor.tensor (and sympy.combinatorics' polyhedra, ~30 ms) on its
    # first addition anywhere, only to ask whether a term is a tensor: see tensor_standin.
    from chainsolve import tensor_standin

    tensor_standin.install()

    import chainsolve.api
    import chainsolve.render  # noqa: F401  (every command renders or checks through these)

    gc.freeze()
    gc.enable()


def whole_command(command: F) -> F:
    """Run a command under one deadline of ``--timeout`` seconds, reading and printing included.

    Past it the command stops with exit 2 and a message naming the stage that was running;
    should sympy be stuck in C code, a process of its own is ended from outside shortly after.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chainsolve.budget import deadline, stage

        _imports_done()
        # The command's name stands for its stage until a finer one (parse, rendering) starts.
        with deadline(kwargs["timeout"], hard_exit=OWN_PROCESS), stage(command.__name__):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def input_option(command: F) -> F:
    """Add ``--input auto|plain|latex``: how the problem, answers and derivation lines are read.

    In force for the whole command; ``grade`` also hands it to every row it sends to a
    worker (:attr:`chainsolve.grade.Submission.input_syntax`), local or on a Dask cluster.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, input_syntax: str, **kwargs: Any) -> Any:
        from chainsolve.parsing import input_syntax as reading

        with reading(input_syntax):  # type: ignore[arg-type]
            return command(*args, **kwargs)

    return click.option(
        "--input",
        "input_syntax",
        type=click.Choice(["auto", "plain", "latex"]),
        default="auto",
        show_default=True,
        help="Read the problem and answers as LaTeX, as plain text, or as whichever they look like.",
    )(wrapper)  # type: ignore[return-value]


def _choose_format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output and Path(output).suffix.lower() == ".pdf":
        return "latex"  # compiled by _write
    if output:
        suffix = Path(output).suffix.lower()
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
    return "text"


def _write_pdf(text: str, output: str, files: Mapping[str, bytes] | None = None) -> None:
    """``--output FILE.pdf``: the LaTeX document (with ``files`` beside it) compiled, or a clear refusal."""
    from chainsolve.render import latex_to_pdf

    if not text.lstrip().startswith("\\documentclass"):
        raise click.UsageError(
            "only a whole LaTeX document compiles to PDF: use --format latex without --fragment"
        )
    Path(output).write_bytes(latex_to_pdf(text, files or {}))
    click.echo(f"wrote {output}", err=True)


def _write(text: str, output: str | None) -> None:
    if output and Path(output).suffix.lower() == ".pdf":
        _write_pdf(text, output)
    elif output and output != "-":
        Path(output).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text.rstrip("\n"))


def _echo_reading(problem: Any) -> None:
    from chainsolve.filters import one_line

    normalized = getattr(problem, "normalized_source", None)
    if not normalized:
        return
    # On one terminal line, and only when the reading differs by more than line breaks.
    shown = one_line(normalized.strip(), "; ")
    if shown != one_line(problem.source.strip(), "; "):
        click.echo(f"read as: {shown}", err=True)


timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=20.0,
    show_default=True,
    help="Seconds the whole command may take; the message names the stage that ran out.",
)


def _given_order(order: int) -> int | None:
    """--order when it was given, None when left at its default (the problem's own order)."""
    given = click.get_current_context().get_parameter_source("order")
    return None if given is ParameterSource.DEFAULT else order


def _asked_order(problem: Any, order: int) -> int:
    """The order to solve: written in the problem (d²/dx²) unless --order was given too."""
    from chainsolve.parsing import asked_order

    given = click.get_current_context().get_parameter_source("order")
    return asked_order(problem, None if given is ParameterSource.DEFAULT else order)


wrt_option = click.option(
    "--wrt",
    metavar="NAMES",
    help="Variable(s) to differentiate by, e.g. t or s,t (inferred if one).",
)


class ExpressionFirst(click.Command):
    """A command whose PROBLEM may start with a minus sign: ``chainsolve solve "-x^2"``.

    click would read ``-x^2`` as the short options -x, -^, -2 (and ``-cos(x)`` as -c and
    ``-o s(x)``, a file to write). A token that starts with one '-', is none of the
    command's options and is no option's value is moved after ``--``, where click takes it
    as the PROBLEM argument, the only argument these commands have.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            return super().parse_args(ctx, args)
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        known = {name for p in options for name in (*p.opts, *p.secondary_opts)}
        takes_value = {
            name
            for p in options
            if not p.is_flag and not p.count
            for name in (*p.opts, *p.secondary_opts)
        }
        kept: list[str] = []
        problem: str | None = None
        after_option = False
        for arg in args:
            if after_option:
                kept.append(arg)
                after_option = False
            elif arg in takes_value:
                kept.append(arg)
                after_option = True
            elif (
                problem is None
                and arg.startswith("-")
                and not arg.startswith("--")
                and arg != "-"
                and arg not in known
            ):
                problem = arg
            else:
                kept.append(arg)
        return super().parse_args(ctx, kept if problem is None else [*kept, "--", problem])


notation_option = click.option(
    "--notation",
    type=click.Choice(["leibniz", "lagrange", "delta"]),
    default="leibniz",
    show_default=True,
    help="leibniz: dy/dx; lagrange: f′(x); delta: a matrix backward pass in δs (docs/matrices.md).",
)
detail_option = click.option(
    "--detail", type=click.Choice(["brief", "normal", "full"]), default="normal", show_default=True
)
template_option = click.option(
    "--template-dir",
    type=click.Path(exists=True, file_okay=False),
    help="Directory searched first for templates (see README: templates).",
)
output_option = click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE; its extension picks the format."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="chainsolve")
def main() -> None:
    """Derive derivatives with the chain rule, step by step, and prove every step."""
    # The parser bounds every number a user types; a result sympy builds from them may still
    # print more digits than Python's default guard (4,300) allows, and must not crash.
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


@main.command(cls=ExpressionFirst)
@click.argument("problem")
@wrt_option
@click.option(
    "--at",
    metavar="NAME=VALUE,...",
    help="Evaluate forward and backward passes at a point; with --shapes vectors [1,2] and "
    "matrices [[1,2],[3,4]]; @FILE reads a JSON object of names to numbers or nested lists.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: text).")
@output_option
@template_option
@notation_option
@detail_option
@click.option(
    "--graph",
    "graph_style",
    type=click.Choice(["definitions", "elementary"]),
    default="definitions",
    show_default=True,
    help="elementary: one node per operation (p = w·x, q = p + b, …), as a computational graph.",
)
@click.option(
    "--mode",
    type=click.Choice(["reverse", "forward"]),
    default="reverse",
    show_default=True,
    help="At a point: reverse mode (backpropagation) or forward mode (tangents).",
)
@click.option("--numeric", is_flag=True, help="Show values at the point as decimals.")
@click.option("--fragment", is_flag=True, help="LaTeX: only the body, to \\input into a document.")
@click.option(
    "--reveal",
    is_flag=True,
    help="HTML: each step's maths folded away, to try the step before opening it.",
)
@click.option(
    "--implicit",
    metavar="NAME",
    help="PROBLEM is an equation (x^2 + y^2 = 25) and NAME a function of the other variable: "
    "dNAME/dx by implicit differentiation.",
)
@click.option(
    "--rates",
    metavar="'dr/dt = 2, ...'",
    help="PROBLEM is an equation between quantities changing in time; given every rate but "
    "one, find that one (with --at: at that moment).",
)
@click.option(
    "--order",
    # The upper bound is higher.MAX_ORDER, checked there (importing it here would load sympy).
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Derivatives up to this order, each differentiating the previous result.",
)
@click.option(
    "--shapes",
    metavar="'x: 2, W: 3x2, ...'",
    help="Declare the shapes of vectors and matrices: PROBLEM is then in matrices, solved by "
    "backpropagation in matrix form, every step checked entry by entry (docs/matrices.md).",
)
@timeout_option
@friendly_errors
@whole_command
@input_option
def solve(
    problem: str,
    wrt: str | None,
    at: str | None,
    fmt: str | None,
    output: str | None,
    template_dir: str | None,
    notation: str,
    detail: str,
    graph_style: str,
    mode: str,
    numeric: bool,
    fragment: bool,
    reveal: bool,
    order: int,
    implicit: str | None,
    rates: str | None,
    shapes: str | None,
    timeout: float,
) -> None:
    """Solve PROBLEM step by step; PROBLEM is an expression or definitions, target first ('-': stdin).

    \b
    Examples:
      chainsolve solve "sin(x^2)"
      chainsolve solve "sin(x^2)" --order 2
      chainsolve solve "x^2 + y^2 = 25" --implicit y --at x=3,y=4
      chainsolve solve "V = 4/3*pi*r^3" --rates "dr/dt = 2" --at r=5
      chainsolve solve "z = x^2*y; x = cos(t); y = exp(t)"
      chainsolve solve "L = (w*x + b - y)^2" --wrt w,b
      chainsolve solve "L = (w*x + b - y)^2" --graph elementary --at w=2,x=3,b=1,y=10
      chainsolve solve "d/dx (x^2+1)^5"         (also diff(…, x), f(x) = …, dy/dx = …)
      chainsolve solve "2x cos(x)"              (read as: 2·x·cos(x); see docs/input.md)
      chainsolve solve "a = W*x + b; L = sum(relu(a))" --shapes "x: 2, W: 3x2, b: 3" --wrt W
      chainsolve solve "f(x) = sin(x^2)"        (Find f′(x); ∂/∂x (x^2*y) for a partial)
      chainsolve solve "\\frac{d}{dx}\\sin(x^2)"  (LaTeX; --input latex|plain forces the reader)
      chainsolve solve "y^2 + 1" --wrt x        (constant in x: the derivative 0, with a note)
    """
    from chainsolve.api import (
        Detail,
        Mode,
        load_problem,
        solve_curve,
        solve_parsed,
        solve_related_rates,
    )
    from chainsolve.budget import stage
    from chainsolve.render import render_solution

    text = _read_problem(problem)
    from chainsolve.matrix.statements import has_declarations

    if shapes is not None or has_declarations(text):
        _refuse_matrix_order(text, order)
        scalar_only = implicit or rates
        _solve_matrix(
            text, shapes or "", wrt, fmt, output, template_dir, at, scalar_only, detail, notation
        )
        return
    if notation == "delta":
        from chainsolve import wording

        click.echo(wording.scalar_delta_note(), err=True)
        notation = "leibniz"
    if rates is not None:
        if implicit is not None or order != 1:
            from chainsolve import wording
            from chainsolve.errors import ProblemError

            raise ProblemError("rates_options", wording.rates_error_options(), source=text)
        solution = solve_related_rates(text, rates, at=at, detail=detail, timeout=None)
    elif implicit is not None:
        solution = solve_curve(
            text, implicit, wrt=wrt, at=at, detail=detail, order=_given_order(order), timeout=None
        )
    else:
        parsed = load_problem(text, wrt=wrt, at=at, graph=graph_style, timeout=None)  # type: ignore[arg-type]
        order = _asked_order(parsed, order)
        _echo_reading(parsed)
        # click has checked the choices: the strings are the Literals.
        solution = solve_parsed(
            parsed,
            detail=cast(Detail, detail),
            mode=cast(Mode, mode),
            numeric=numeric,
            order=order,
            timeout=None,
        )
    chosen = _choose_format(fmt, output)
    if reveal and chosen != "html":
        raise click.UsageError("--reveal folds steps in HTML output only: add --format html")
    with stage("rendering"):
        rendered = render_solution(
            solution,
            chosen,  # type: ignore[arg-type]
            notation=notation,  # type: ignore[arg-type]
            detail=detail,  # type: ignore[arg-type]
            template_dir=template_dir,
            fragment=fragment,
            reveal=reveal,
        )
        _write(rendered, output)


def _refuse_matrix_order(text: str, order: int) -> None:
    """--order above 1 of a matrix problem: refused in one line (the gradient is of order 1)."""
    if order != 1:
        from chainsolve import wording
        from chainsolve.errors import ProblemError

        raise ProblemError(
            "higher_order_matrix", wording.note_higher_order_matrix(order), source=text
        )


def _solve_matrix(
    text: str,
    shapes: str,
    wrt: str | None,
    fmt: str | None,
    output: str | None,
    template_dir: str | None,
    at: str | None,
    scalar_only: str | None,
    detail: str = "normal",
    notation: str = "leibniz",
) -> None:
    """``solve`` for a problem in matrices, in any format, at a point (``--at``, ``@file``) or not;
    ``--detail`` and ``--notation`` as a matrix solution has them (a note on stderr otherwise)."""
    from chainsolve.api import solve_matrix
    from chainsolve.budget import stage
    from chainsolve.errors import ProblemError
    from chainsolve.matrix.formats import matrix_notation, render_matrix_solution

    chosen = _choose_format(fmt, output)
    written, note = matrix_notation(notation)
    if note is not None:
        click.echo(note, err=True)
    if scalar_only:
        raise ProblemError(
            "matrix_options",
            "a matrix problem is solved without --implicit or --rates",
            hint="drop the option",
        )
    from chainsolve.matrix.point import read_point

    # The point is read (bounded, refused in one line) before anything is solved.
    point = None if at is None else read_point(at)
    solution = solve_matrix(text, shapes=shapes, wrt=wrt, timeout=None)
    evaluation = None
    if point is not None:
        from chainsolve.matrix.numeric import evaluate_at_point
        from chainsolve.matrix.point import check_point

        # As api.evaluate_matrix does, with the point read before the solving.
        with stage("evaluation"):
            check_point(point, solution.backprop.shaped.shapes, solution.problem.inputs)
            evaluation = evaluate_at_point(solution.checked, point)
    with stage("rendering"):
        rendered = render_matrix_solution(
            solution,
            chosen,  # type: ignore[arg-type]
            evaluation,
            template_dir,
            detail=detail,  # type: ignore[arg-type]
            notation=written,
        )
        _write(rendered, output)


@main.command(cls=ExpressionFirst)
@click.argument("problem")
@click.option("--answer", metavar="EXPR", help="The final answer to check.")
@click.option(
    "--derivation",
    metavar="FILE",
    help="A file with one step per line ('-': stdin).",
)
@wrt_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: text).")
@output_option
@template_option
@click.option("--fragment", is_flag=True, help="LaTeX, HTML: only the body, to include elsewhere.")
@click.option(
    "--implicit",
    metavar="NAME",
    help="PROBLEM is an equation and the answer dNAME/dx, checked modulo the equation.",
)
@click.option(
    "--order",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="The answer is the derivative of this order (2: the second derivative).",
)
@click.option(
    "--rates",
    metavar="'dr/dt = 2, ...'",
    help="PROBLEM is an equation between quantities changing in time: the answer is the "
    "unknown rate (with --at: at that moment).",
)
@click.option("--at", metavar="NAME=VALUE,...", help="With --rates: the values at that moment.")
@click.option(
    "--shapes",
    metavar="'x: 2, W: 3x2, ...'",
    help="PROBLEM is in matrices (as for solve): check a matrix answer (delta_a names δ of a) "
    "entry by entry and name the matrix mistakes (wrong order x·δᵀ, missing ⊙σ′, …).",
)
@timeout_option
@friendly_errors
@whole_command
@input_option
def verify(
    problem: str,
    answer: str | None,
    derivation: str | None,
    wrt: str | None,
    fmt: str | None,
    output: str | None,
    template_dir: str | None,
    fragment: bool,
    implicit: str | None,
    order: int,
    rates: str | None,
    at: str | None,
    shapes: str | None,
    timeout: float,
) -> None:
    """Check an answer or a line-by-line derivation; exit 0 if correct, 1 if not.

    \b
    Examples:
      chainsolve verify "sin(x^2)" --answer "cos(x^2)"
      chainsolve verify "sin(x^2)" --answer "2x*cos(x^2)"
      chainsolve verify "sin(x^2)" --derivation work.txt
      chainsolve verify "x^2 + y^2 = 25" --implicit y --answer "-x/y"
      chainsolve verify "sin(x^2)" --order 2 --answer "2cos(x^2) - 4x^2*sin(x^2)"
      chainsolve verify "V = 4/3*pi*r^3" --rates "dr/dt = 2" --at r=5 --answer "200pi"
      chainsolve verify "sin(x^2)" --answer "2x\\cos(x^2)"   (LaTeX, as in --derivation lines)
      chainsolve verify "a = W*x; h = sigmoid(a); L = sum(h)" --shapes "x: 2, W: 3x2" --wrt W --answer "x*delta_a'"
    """
    from chainsolve.api import check_curve, check_parsed, check_rates, load_problem
    from chainsolve.budget import stage
    from chainsolve.verification import AnswerVerdict, DerivationReport, render_verdict

    if (answer is None) == (derivation is None):
        raise click.UsageError("give exactly one of --answer EXPR or --derivation FILE")
    text = _read_problem(problem)
    from chainsolve.matrix.statements import has_declarations

    if shapes is not None or has_declarations(text):
        _refuse_matrix_order(text, order)
        _verify_matrix(
            text, shapes or "", wrt, answer, _choose_format(fmt, output), output, template_dir
        )
    report: AnswerVerdict | DerivationReport
    if rates is not None:
        if answer is None:
            raise click.UsageError("--rates checks an --answer, not a --derivation")
        report = check_rates(text, rates, answer, at=at)
    elif implicit is not None:
        if answer is None:
            raise click.UsageError("--implicit checks an --answer, not a --derivation")
        report = check_curve(text, implicit, answer, wrt=wrt, order=_given_order(order))
    else:
        parsed = load_problem(text, wrt=wrt, timeout=None)
        order = _asked_order(parsed, order)
        _echo_reading(parsed)
        lines = None if derivation is None else _read_derivation(derivation)
        report = check_parsed(parsed, answer=answer, derivation=lines, order=order)
    chosen = _choose_format(fmt, output)
    with stage("rendering"):
        _write(render_verdict(report, chosen, template_dir=template_dir, fragment=fragment), output)
    sys.exit(0 if report.correct else 1)


def _verify_matrix(
    text: str,
    shapes: str,
    wrt: str | None,
    answer: str | None,
    chosen: str,
    output: str | None,
    template_dir: str | None,
) -> None:
    """``verify`` of a matrix answer in any format, exit 0 when right and 1 when not."""
    from chainsolve.budget import stage
    from chainsolve.verification import render_matrix_verdict, verify_matrix

    if answer is None:
        raise click.UsageError("a matrix problem checks a final --answer, not a --derivation")
    report = verify_matrix(text, shapes, wrt, answer)
    with stage("rendering"):
        _write(render_matrix_verdict(report, chosen, template_dir), output)
    sys.exit(0 if report.correct else 1)


@main.command(cls=ExpressionFirst)
@click.argument("problem")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot", "tikz"]),
    default="text",
    show_default=True,
)
@click.option(
    "--tree",
    is_flag=True,
    help="The textbook tree diagram (a variable repeated under each parent).",
)
@click.option("--at", metavar="NAME=VALUE,...", help="Label edges with values at a point.")
@wrt_option
@click.option(
    "--graph",
    "graph_style",
    type=click.Choice(["definitions", "elementary"]),
    default="definitions",
    show_default=True,
)
@output_option
@timeout_option
@friendly_errors
@whole_command
def graph(
    problem: str,
    fmt: str,
    tree: bool,
    at: str | None,
    wrt: str | None,
    graph_style: str,
    output: str | None,
    timeout: float,
) -> None:
    """Print the dependency graph of PROBLEM, edges labelled with their local partial derivatives.

    \b
    Examples:
      chainsolve graph "z = x^2*y; x = cos(t); y = exp(t)"
      chainsolve graph "z = f(x, y); x = g(t); y = h(t)" --format mermaid
      chainsolve graph "sin(x^2)" --graph elementary --format dot | dot -Tsvg > g.svg
    """
    from chainsolve import emitters
    from chainsolve.api import load_problem
    from chainsolve.budget import stage
    from chainsolve.graph import build_graph

    parsed = load_problem(_read_problem(problem), wrt=wrt, at=at, graph=graph_style, timeout=None)  # type: ignore[arg-type]
    with stage("parse"):
        if parsed.is_single_expression and graph_style == "definitions":
            from chainsolve.decompose import elementary_problem

            parsed = elementary_problem(parsed)
    _echo_reading(parsed)
    with stage("rendering"):
        dependency_graph = build_graph(parsed)
        # Input values suffice: the emitter labels every node and edge from them.
        values = dict(parsed.point) if parsed.point else None
        emit = emitters.emitter(fmt, tree=tree)  # type: ignore[arg-type]
        _write(emit(dependency_graph, values=values), output)


@main.command()
@click.option(
    "--depth",
    # The upper bound is vanishing.MAX_DEPTH, checked there (importing it here would load sympy).
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Layers of the chain h_k = act(w*h_(k-1) + b) (at most 200).",
)
@click.option(
    "--width",
    # The upper bound is matrix.vanishing.MAX_WIDTH, checked there.
    type=click.IntRange(min=1),
    help="Matrix form: every h_k a vector of this many units, h_k = act(W*h_(k-1) + b).",
)
@click.option(
    "--activation",
    metavar="NAMES",
    default="sigmoid,tanh,relu",
    show_default=True,
    help="Activations side by side: sigmoid, tanh, relu, softplus.",
)
@click.option(
    "--at",
    metavar="x=…,w=…,b=…",
    help="The input x, weight w and bias b (defaults x=1/2, w=1, b=0).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format (default: text).")
@output_option
@template_option
@click.option("--fragment", is_flag=True, help="LaTeX, HTML: only the body, to include elsewhere.")
@timeout_option
@friendly_errors
@whole_command
def gradients(
    depth: int,
    width: int | None,
    activation: str,
    at: str | None,
    fmt: str | None,
    output: str | None,
    template_dir: str | None,
    fragment: bool,
    timeout: float,
) -> None:
    """Vanishing and exploding gradients: |dL/dh_k| layer by layer in a deep chain.

    The chain is h_0 = x, h_k = act(w*h_(k-1) + b) for k = 1..depth, L = h_depth; each
    activation gets a table of each layer's factor act'(a_k)*w and of |dL/dh_k|, a note on
    its bound (sigmoid' <= 1/4, tanh' <= 1, relu' in {0, 1}) and, in HTML, an SVG plot (in
    LaTeX a PDF plot beside --output FILE.tex, drawn by matplotlib when it is installed).

    \b
    Examples:
      chainsolve gradients
      chainsolve gradients --depth 50 --activation sigmoid,relu --at w=2
      chainsolve gradients --width 4      (W a 4x4 matrix: the norm of dL/dh_k)
      chainsolve gradients --format html --output gradients.html
      chainsolve gradients --output gradients.tex      (and gradients-plot.pdf)
    """
    from chainsolve.budget import stage
    from chainsolve.gradview import plot_file_name, render_gradients
    from chainsolve.parsing import parse_point
    from chainsolve.vanishing import gradient_study

    with stage("gradients"):
        point = None if at is None else parse_point(at)
        study = gradient_study(depth, activation, point, width)
    chosen = _choose_format(fmt, output)
    to_file = output is not None and output != "-"
    with stage("rendering"):
        rendered = render_gradients(
            study,
            chosen,  # type: ignore[arg-type]
            template_dir=template_dir,
            fragment=fragment,
            plot_name=plot_file_name(output) if to_file and output else None,
        )
        if output and Path(output).suffix.lower() == ".pdf":
            _write_pdf(rendered.text, output, rendered.files)
            return
        for name, data in rendered.files.items():
            (Path(output or ".").parent / name).write_bytes(data)
            click.echo(f"wrote {Path(output or '.').parent / name}", err=True)
        _write(rendered.text, output)


@main.command()
@click.argument("submissions", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1, max=64), help="Worker processes (default: cores)."
)
@click.option("--output", "-o", metavar="FILE", help="Report file (.csv, .jsonl or .md).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "markdown"]),
    help="Report format (default: from --output's extension, else csv).",
)
@click.option("--resume", is_flag=True, help="Skip rows already in the report (needs --output).")
@click.option(
    "--no-retry", is_flag=True, help="With --resume, keep crashed and timed-out rows as they are."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=10.0,
    show_default=True,
    help="Seconds per submission.",
)
@click.option("--memory-mb", type=click.IntRange(min=64), default=1024, show_default=True)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Grade on the Dask cluster of this scheduler (tcp://HOST:8786) instead of --jobs.",
)
@click.option(
    "--review", metavar="FILE", help="Also write the rows a person should look at to FILE."
)
@click.option(
    "--overrides",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV of the instructor's decisions (id, problem, verdict, correct, score, feedback).",
)
@click.option(
    "--gradebook",
    metavar="FILE",
    help="Write a gradebook CSV (one row per student, each problem's score) to FILE.",
)
@click.option(
    "--sheet",
    "sheet_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A TOML sheet: rows name a student and a problem id, graded in the student's "
    "variant and scored by the problem's rubric.",
)
@friendly_errors
@input_option
def grade(
    submissions: str,
    jobs: int | None,
    output: str | None,
    fmt: str | None,
    resume: bool,
    no_retry: bool,
    timeout: float,
    memory_mb: int,
    scheduler: str | None,
    review: str | None,
    overrides: str | None,
    gradebook: str | None,
    sheet_path: str | None,
) -> None:
    """Grade SUBMISSIONS (JSON Lines or CSV: id, problem, wrt, answer or derivation) in parallel.

    \b
    Examples:
      chainsolve grade submissions.csv --output report.csv --jobs 2
      chainsolve grade submissions.csv -o report.csv --review check.csv --gradebook book.csv
      chainsolve grade submissions.csv --output report.csv --scheduler tcp://HOST:8786
      chainsolve grade answers.csv --sheet hw.toml --output report.csv
    """
    import os

    _imports_done()  # before any worker starts: a batch collects its garbage
    from chainsolve.grade import grade_file
    from chainsolve.parsing import syntax_in_force
    from chainsolve.sheet import load_sheet

    summary = grade_file(
        submissions,
        jobs=jobs or os.cpu_count() or 1,
        output=output,
        report_format=fmt,  # type: ignore[arg-type]
        resume=resume,
        timeout=timeout,
        memory_mb=memory_mb,
        progress=sys.stderr.isatty(),
        scheduler=scheduler,
        retry=not no_retry,
        review_path=review,
        overrides_path=overrides,
        gradebook_path=gradebook,
        sheet=None if sheet_path is None else load_sheet(sheet_path),
        input_syntax=syntax_in_force(),
    )
    # The report itself goes to --output or, without one, to stdout: the summary then goes
    # to stderr, so that `chainsolve grade subs.csv > report.csv` stays a clean report.
    click.echo(summary.to_markdown().rstrip(), err=output is None)
    if summary.total == summary.by_verdict.get("invalid", 0):
        click.echo(
            "chainsolve: error: no row could be graded (no row, or every row invalid)",
            err=True,
        )
        sys.exit(2)


@main.command()
@click.argument("problems", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "latex", "html"]),
    help="Output format (default: from --output's extension, else text).",
)
@output_option
@template_option
@click.option(
    "--answers-only", is_flag=True, help="The answer key: each problem, final answer only."
)
@click.option("--no-solutions", is_flag=True, help="The hand-out: the problems only.")
@click.option("--student", metavar="ID", help="The variant of this student (problems with 'vary').")
@notation_option
@detail_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=20.0,
    show_default=True,
    help="Seconds the whole command may take; the message names the stage that ran out.",
)
@friendly_errors
@whole_command
def sheet(
    problems: str,
    fmt: str | None,
    output: str | None,
    template_dir: str | None,
    answers_only: bool,
    no_solutions: bool,
    student: str | None,
    notation: str,
    detail: str,
    timeout: float,
) -> None:
    """Turn a TOML file of PROBLEMS into one document: problems, then worked solutions.

    \b
    Examples:
      chainsolve sheet hw.toml --format latex --output hw.tex
      chainsolve sheet hw.toml --output key.tex --answers-only
      chainsolve sheet hw.toml --output handout.md --no-solutions
      chainsolve sheet hw.toml --student ana --no-solutions
    """
    from chainsolve.budget import stage
    from chainsolve.sheet import SheetMode, load_sheet, render_sheet
    from chainsolve.variants import student_sheet

    if answers_only and no_solutions:
        raise click.UsageError("give at most one of --answers-only and --no-solutions")
    chosen = _choose_format(fmt, output)
    if chosen == "json":
        raise click.UsageError("sheets render as text, markdown, latex or html")
    mode: SheetMode = "answers" if answers_only else "handout" if no_solutions else "solutions"
    loaded = load_sheet(problems)
    _sheet_notation_notes(loaded, notation)
    rendered = render_sheet(
        loaded if student is None else student_sheet(loaded, student),
        chosen,  # type: ignore[arg-type]
        mode=mode,
        notation=notation,  # type: ignore[arg-type]
        detail=detail,  # type: ignore[arg-type]
        template_dir=template_dir,
        timeout=None,
    )
    with stage("rendering"):
        _write(rendered, output)


def _sheet_notation_notes(loaded: Any, notation: str) -> None:
    """One stderr note when ``--notation`` has no meaning for some problems of the sheet."""
    from chainsolve import wording
    from chainsolve.sheet import is_matrix_problem

    kinds = {is_matrix_problem(spec) for spec in loaded.problems}
    if notation == "lagrange" and True in kinds:
        click.echo(wording.matrix_notation_note(notation, in_sheet=True), err=True)
    if notation == "delta" and False in kinds:
        click.echo(wording.scalar_delta_note(in_sheet=True), err=True)


def run() -> None:
    """The ``chainsolve`` script and ``python -m chainsolve``: :func:`main`, then a quick exit."""
    global OWN_PROCESS
    OWN_PROCESS = True
    gc.disable()  # until the imports are done: see _imports_done
    try:
        main()
    finally:
        # At exit the interpreter collects every object sympy built, ~60 ms or a fifth of
        # `import sympy` itself; frozen objects are left to the OS. Files are closed and
        # streams flushed as usual: only the final garbage collection is skipped.
        gc.freeze()


if __name__ == "__main__":
    run()
