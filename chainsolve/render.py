"""Render a Solution as text, Markdown, LaTeX, HTML (Jinja templates) or JSON; never does maths."""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import marshal
import os
import pickle
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chainsolve import filters, wording
from chainsolve.record import record
from chainsolve.steps import Formula, Leibniz, Solution, Step

if TYPE_CHECKING:  # jinja2 is imported by the template formats only, never for JSON
    import jinja2
    from markupsafe import Markup

    from chainsolve.problem import Problem

Format = Literal["text", "markdown", "latex", "html", "json"]
TemplateFormat = Literal["text", "markdown", "latex", "html"]
Detail = Literal["brief", "normal", "full"]
Notation = filters.Notation

#: The main template of each Jinja format, relative to the format's template directory.
TEMPLATE_NAMES: dict[str, str] = {
    "text": "solution.txt.jinja",
    "markdown": "solution.md.jinja",
    "latex": "solution.tex.jinja",
    "html": "solution.html.jinja",
}

#: Step kinds ``detail="brief"`` keeps (depth 0 only): the one definition of "brief".
BRIEF_KINDS = frozenset({"decompose", "chain_formula", "paths", "rule", "simplify", "note"})

#: The graph emitter whose picture each format embeds (from ``chainsolve.emitters``).
GRAPH_EMITTERS: dict[str, str] = {
    "text": "to_text",
    "markdown": "to_mermaid",
    "latex": "to_tikz",
    "html": "to_text",
}

#: Graphs with at most this many nodes are not drawn (``y = f(x)`` needs no picture).
GRAPH_MIN_NODES = 3


@record
class NumberedStep:
    """A step as shown: its running number in the output and the step itself."""

    number: int
    step: Step


@record
class Section:
    """A run of steps under one heading: shared steps (``derivative`` None) or one derivation."""

    derivative: Leibniz | None
    wrt: str | None
    steps: tuple[NumberedStep, ...]


@record
class Result:
    """One final answer: the derivative symbol and its value."""

    wrt: str
    derivative: Leibniz
    value: Formula
    in_terms_of_inputs: bool


def builtin_template_dirs() -> list[str]:
    """Built-in template roots: the installed package's copy first, then the source tree's."""
    # os.path, not pathlib: a render's first Path costs a quarter of a millisecond.
    package = os.path.dirname(os.path.realpath(__file__))
    candidates = [os.path.join(package, "templates"), os.path.join(package, os.pardir, "templates")]
    return [os.path.normpath(path) for path in candidates if os.path.isdir(path)]


def _format_dirs(roots: Sequence[str], fmt: str) -> list[str]:
    return [os.path.join(root, fmt) for root in roots]


def _bytecode_cache(options: dict[str, Any]) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (a third of a solve's run time otherwise), never stale.

    Jinja checks each entry against the template's source and its own version, so an edited
    or user-overridden template is recompiled. The compiled code also depends on the
    environment's ``options`` (delimiters, whitespace control, autoescape): they name the
    directory, so code compiled under other options is never reused. No cache where the
    directory is not writable.
    """
    compiled_by = repr(sorted((k, repr(v)) for k, v in options.items() if k != "loader"))
    fingerprint = hashlib.sha256(compiled_by.encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "chainsolve", "jinja", fingerprint)
    try:
        if not os.path.isdir(directory):  # one stat, where makedirs would also try mkdir
            os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return None
    except OSError:
        return None
    return _whole_file_bytecode_cache()(directory)


@functools.cache
def _whole_file_bytecode_cache() -> type[jinja2.FileSystemBytecodeCache]:
    """Jinja's FileSystemBytecodeCache, reading each entry in one piece.

    Jinja unmarshals the compiled code straight from the open file, which reads it object by
    object: three times slower than unmarshalling the bytes (about 1 ms of a render's 4).
    The entry is checked as Jinja checks it (its magic, then the source's checksum).
    """
    import jinja2
    from jinja2.bccache import Bucket, bc_magic

    class WholeFileBytecodeCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Bucket) -> None:
            try:
                with open(self._get_cache_filename(bucket), "rb") as file:
                    data = file.read()
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                return
            if not data.startswith(bc_magic):
                bucket.reset()
                return
            stream = io.BytesIO(data)
            stream.seek(len(bc_magic))
            if pickle.load(stream) != bucket.checksum:
                bucket.reset()
                return
            try:
                bucket.code = marshal.loads(data[stream.tell() :])
            except (EOFError, ValueError, TypeError):
                bucket.reset()

    return WholeFileBytecodeCache


def make_environment(fmt: str, template_dir: str | Path | None = None) -> jinja2.Environment:
    """A fresh Jinja environment for one format, with our filters and the override search path.

    Templates are looked up in ``template_dir/<fmt>/`` and ``template_dir/`` (when given),
    then in the built-in ``templates/<fmt>/``; the built-in ones are also reachable as
    ``default/<name>`` so that an override can ``{% extends "default/solution.md.jinja" %}``.
    """
    if fmt not in TEMPLATE_NAMES:
        raise ValueError(f"no templates for format {fmt!r}; choose one of {sorted(TEMPLATE_NAMES)}")
    import jinja2

    builtin = jinja2.FileSystemLoader(_format_dirs(builtin_template_dirs(), fmt))
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        user = Path(template_dir)
        loaders.append(jinja2.FileSystemLoader([str(user / fmt), str(user)]))
    loaders += [builtin, jinja2.PrefixLoader({"default": builtin})]
    options: dict[str, Any] = {
        "loader": _first_found_loader()(loaders),
        "undefined": jinja2.StrictUndefined,
        # One environment serves one render: a template loaded is not looked at on disk again.
        "auto_reload": False,
        "autoescape": fmt == "html",
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if fmt == "latex":
        options.update(
            block_start_string="((*",
            block_end_string="*))",
            variable_start_string="(((",
            variable_end_string=")))",
            comment_start_string="((=",
            comment_end_string="=))",
            line_statement_prefix=None,
            line_comment_prefix=None,
        )
    cache = _bytecode_cache(options)
    if cache is not None:
        options["bytecode_cache"] = cache
    env = jinja2.Environment(**options)
    env.filters.update(filters.FILTERS)
    env.filters.update(wording.FILTERS)
    if fmt == "html":
        # MathML is markup we build ourselves from escaped pieces: mark it safe once, here.
        for name in _MARKUP_FILTERS:
            env.filters[name] = _as_markup(filters.FILTERS[name])
    return env


@functools.cache
def _first_found_loader() -> type[jinja2.ChoiceLoader]:
    """A ChoiceLoader that remembers the names none of its loaders has, for its environment's life.

    Every step includes ``steps/<kind>`` if there is one, else ``_step``: without the memo,
    each step asks every loader (and the disk) again for a template that is not there.
    """
    import jinja2

    class FirstFoundLoader(jinja2.ChoiceLoader):
        def __init__(self, loaders: Sequence[jinja2.BaseLoader]) -> None:
            super().__init__(loaders)
            self.missing: set[str] = set()

        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str | None, Callable[[], bool] | None]:
            if template in self.missing:
                raise jinja2.TemplateNotFound(template)
            try:
                return super().get_source(environment, template)
            except jinja2.TemplateNotFound:
                self.missing.add(template)
                raise

        def load(
            self,
            environment: jinja2.Environment,
            name: str,
            globals: MutableMapping[str, Any] | None = None,
        ) -> jinja2.Template:
            if name in self.missing:
                raise jinja2.TemplateNotFound(name)
            try:
                return super().load(environment, name, globals)
            except jinja2.TemplateNotFound:
                self.missing.add(name)
                raise

    return FirstFoundLoader


_MARKUP_FILTERS = (
    "mathml",
    "formula_mathml",
    "chain_mathml",
    "definition_mathml",
    "adjoint_mathml",
    "math_element",
    "equation_html",
    "definitions_html",
)


def _as_markup(function: Callable[..., str]) -> Callable[..., Markup]:
    from markupsafe import Markup

    def wrapped(*args: Any, **kwargs: Any) -> Markup:
        return Markup(function(*args, **kwargs))

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


def shown_steps(steps: Sequence[Step], detail: Detail) -> list[Step]:
    """The steps a detail level shows: ``brief`` keeps the depth-0 outline, others keep all."""
    if detail == "brief":
        # A derivation with no outline step (one no_rule line) still shows its last step.
        return [s for s in steps if s.depth == 0 and s.kind in BRIEF_KINDS] or list(steps[-1:])
    return list(steps)


def sections_of(solution: Solution, detail: Detail) -> tuple[Section, ...]:
    """The shared steps and each derivation's steps, numbered continuously."""
    sections: list[Section] = []
    number = 0

    def numbered(steps: Sequence[Step]) -> tuple[NumberedStep, ...]:
        nonlocal number
        result = []
        for step in shown_steps(steps, detail):
            number += 1
            result.append(NumberedStep(number, step))
        return tuple(result)

    if solution.shared_steps:
        sections.append(Section(None, None, numbered(solution.shared_steps)))
    for derivation in solution.derivations:
        sections.append(Section(derivation.derivative, derivation.wrt, numbered(derivation.steps)))
    return tuple(sections)


def graph_picture(solution: Solution, fmt: str) -> str | None:
    """The dependency graph drawn by ``chainsolve.emitters`` for this format, when it applies."""
    graph = solution.graph
    if graph is None or len(graph.nodes) < GRAPH_MIN_NODES:
        return None
    try:
        emitters = importlib.import_module("chainsolve.emitters")
    except ImportError:
        return None
    emit = getattr(emitters, GRAPH_EMITTERS.get(fmt, ""), None)
    if emit is None:
        return None
    return str(emit(graph))


#: Seconds Graphviz may take to lay out a graph for an HTML page before the text fallback is used.
DOT_SECONDS = 10.0


def graph_svg(solution: Solution) -> str | None:
    """The dependency graph as inline SVG drawn by Graphviz's ``dot``, or None without Graphviz.

    The DOT source is chainsolve's own (escaped labels, fixed layout); only the drawing is
    Graphviz's. Any failure falls back to the text picture: a page is never lost to it.
    """
    graph = solution.graph
    # CHAINSOLVE_NO_GRAPHVIZ=1 forces the text fallback (golden files must not depend on dot's version).
    dot = None if os.environ.get("CHAINSOLVE_NO_GRAPHVIZ") else shutil.which("dot")
    if graph is None or dot is None or len(graph.nodes) < GRAPH_MIN_NODES:
        return None
    from chainsolve.emitters import to_dot

    try:
        drawn = subprocess.run(
            [dot, "-Tsvg"],
            input=to_dot(graph),
            capture_output=True,
            text=True,
            timeout=DOT_SECONDS,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    start = drawn.stdout.find("<svg")
    return drawn.stdout[start:] if start >= 0 else None


#: Seconds pdflatex may run on one document before ``--output *.pdf`` gives up (it only aborts).
PDFLATEX_SECONDS = 300.0


def latex_to_pdf(document: str, files: Mapping[str, bytes] | None = None) -> bytes:
    """A whole LaTeX document compiled by ``pdflatex`` (no shell escape) into the PDF's bytes.

    ``files`` go beside the document (a plot it includes), by name.

    Raises :class:`~chainsolve.errors.ChainsolveError` (exit 2) when pdflatex is not installed
    or cannot compile the document, saying which.
    """
    from chainsolve.errors import ChainsolveError

    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise ChainsolveError(
            "no_pdflatex",
            "writing a PDF needs pdflatex, which is not installed",
            hint="install TeX Live, or write the LaTeX with --output FILE.tex",
        )
    with tempfile.TemporaryDirectory(prefix="chainsolve-pdf-") as directory:
        source = Path(directory) / "document.tex"
        source.write_text(document, encoding="utf-8")
        for name, data in (files or {}).items():
            (Path(directory) / Path(name).name).write_bytes(data)
        command = [pdflatex, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape"]
        try:
            run = subprocess.run(
                [*command, source.name],
                cwd=directory,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=PDFLATEX_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise ChainsolveError("pdflatex_failed", f"pdflatex did not run: {error}") from None
        pdf = source.with_suffix(".pdf")
        if run.returncode != 0 or not pdf.exists():
            first_error = next(
                (line for line in run.stdout.splitlines() if line.startswith("!")), "no message"
            )
            raise ChainsolveError(
                "pdflatex_failed",
                f"pdflatex could not compile the document ({first_error.lstrip('! ')})",
                hint="write the LaTeX with --output FILE.tex to see it",
            )
        return pdf.read_bytes()


def variable_names(solution: Solution) -> tuple[str, ...]:
    """Every variable of a solution (defined, input, intermediate): prose puts these in maths."""
    problem = solution.problem
    names = [d.name for d in problem.definitions] + list(problem.inputs)
    return tuple(dict.fromkeys([*names, *solution.intermediates]))


def results_of(solution: Solution) -> tuple[Result, ...]:
    """A solution's final answers, each derivative named as the problem was written (f′(x))."""
    return tuple(
        Result(d.wrt, _named(d.derivative, solution.problem), d.written, d.in_terms_of_inputs)
        for d in solution.derivations
    )


def _named(derivative: Leibniz, problem: Problem) -> Leibniz:
    """The derivative of ``f(x) = …`` as the student named the function: f′(x), in any notation."""
    if not problem.function_notation or derivative.partial:
        return derivative
    return replace(derivative, lagrange=(problem.target, derivative.wrt), named=True)


def template_context(
    solution: Solution,
    fmt: str,
    *,
    notation: Notation = "leibniz",
    detail: Detail | None = None,
    fragment: bool = False,
    reveal: bool = False,
) -> dict[str, Any]:
    """Everything a solution template receives (documented in the README).

    ``detail`` defaults to the solution's own (``chainsolve.solve(..., detail=...)``);
    ``reveal`` (HTML) puts each step's maths behind a ``<details>`` a student opens.
    """
    shown: Detail = detail if detail is not None else solution.detail  # type: ignore[assignment]
    results = results_of(solution)
    return {
        "solution": solution,
        "problem": solution.problem,
        "sections": sections_of(solution, shown),
        "results": results,
        "notes": [wording.note_text(note) for note in solution.notes],
        "verified": solution.verified,
        "graph": solution.graph,
        "graph_picture": graph_picture(solution, fmt),
        "graph_svg": graph_svg(solution) if fmt == "html" else None,
        "evaluation": solution.evaluation,
        "notation": notation,
        "detail": shown,
        "show_checks": shown == "full",
        "fragment": fragment,
        "reveal": reveal,
        "variable_names": variable_names(solution),
    }


def in_typed_order(problem: Problem) -> AbstractContextManager[None]:
    """A block in which the sums of ``problem``'s definitions print in their typed order.

    Only text the user typed has an order (a definition built from sympy objects has none;
    a generated one of ``--graph elementary`` has the order it was built in).
    """
    return filters.typed_order(d.typed for d in problem.definitions if d.typed is not d.expr)


def render_solution(
    solution: Solution,
    fmt: Format,
    *,
    notation: Notation = "leibniz",
    detail: Detail | None = None,
    template_dir: str | Path | None = None,
    fragment: bool = False,
    reveal: bool = False,
) -> str:
    """Render a worked solution in one output format.

    ``fragment`` renders only the body (LaTeX: no preamble; HTML: no ``<html>`` shell).
    ``reveal`` (HTML only) shows each step's sentence and hides its maths in a ``<details>``
    element (no JavaScript), so a student can try the step before opening it.
    JSON ignores templates and follows the documented schema (``docs/json-schema.md``).
    """
    with in_typed_order(solution.problem):
        if fmt == "json":
            from chainsolve.jsonout import solution_to_dict

            return json.dumps(solution_to_dict(solution), indent=2, ensure_ascii=False) + "\n"
        env = make_environment(fmt, template_dir)
        template = env.get_template(TEMPLATE_NAMES[fmt])
        context = template_context(
            solution, fmt, notation=notation, detail=detail, fragment=fragment, reveal=reveal
        )
        return template.render(context)


def html_body(solution: Solution, *, notation: Notation = "leibniz", reveal: bool = False) -> str:
    """The HTML page's body with its stylesheet scoped to it: for a notebook cell (Jupyter).

    The maths is MathML and the graph inline SVG, so it displays offline; the style is in
    an ``@scope`` block, so it does not restyle the notebook around it.
    """
    env = make_environment("html")
    style = env.get_template("_style.html.jinja").render()
    body = render_solution(solution, "html", notation=notation, fragment=True, reveal=reveal)
    return f"<style>\n@scope (.chainsolve-solution) {{\n{style}}}\n</style>\n{body}"
