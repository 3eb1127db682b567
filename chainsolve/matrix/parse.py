"""Matrix problem text (and ``--shapes``) → :class:`MatrixProblem`: a recursive-descent parser, no eval."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

import sympy

from chainsolve.errors import ChainsolveError, ParseError, ProblemError, Span
from chainsolve.functions import BY_NAME, FUNCTION_ARITIES
from chainsolve.matrix.lexer import Token, error_at, problem_error_at, tokenize
from chainsolve.matrix.model import (
    Add,
    Apply,
    BinaryCrossEntropy,
    Constant,
    CrossEntropy,
    Declaration,
    Divide,
    Dot,
    ElementDivide,
    Hadamard,
    MatMul,
    MatrixProblem,
    Node,
    Norm2,
    Power,
    ScalarMul,
    Shape,
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
    children,
)
from chainsolve.matrix.statements import DECLARATION_START, has_declarations, statement_bounds
from chainsolve.parsing import LIMITS, RESERVED_NAMES, check_length
from chainsolve.record import record

__all__ = [
    "MATRIX_LIMITS",
    "MatrixLimits",
    "has_declarations",
    "parse_matrix_problem",
    "parse_shapes",
]


@record
class MatrixLimits:
    """Sizes checked when a shape is read, before any matrix is built.

    - ``max_dimension``: most rows (or columns) of one declared shape.
    - ``max_entries``: most entries of one declared shape.
    - ``max_total_entries``: most entries of all declared inputs together (each becomes a
      scalar symbol of the expansion that checks every step).
    """

    max_dimension: int = 64
    max_entries: int = 1024
    max_total_entries: int = 4096


MATRIX_LIMITS = MatrixLimits()

#: The name of a final bare expression (``norm2(A*x - y)^2`` with no ``L =``).
BARE_TARGET = "f"

_DECLARATION = re.compile(
    r"\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*:\s*(?P<rows>[0-9]+)(?:\s*[x×]\s*(?P<cols>[0-9]+))?\s*"
)
_DEFINITION_START = re.compile(r"\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*=(?!=)")

_UNARY: dict[str, Callable[[Node, Span], Node]] = {
    "sum": SumAll,
    "norm2": Norm2,
    "trace": Trace,
    "tr": Trace,
    "softmax": Softmax,
}
_BINARY: dict[str, Callable[[Node, Node, Span], Node]] = {
    "dot": Dot,
    "cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}
#: The functions of matrices, by name, with how many arguments each takes.
MATRIX_FUNCTIONS = {**dict.fromkeys(_UNARY, 1), **dict.fromkeys(_BINARY, 2)}


def _declarations(source: str, start: int, end: int) -> list[Declaration]:
    """The comma-separated ``name: rows[x cols]`` of ``source[start:end]``."""
    found = []
    part_start = start
    for i in range(start, end + 1):
        if i < end and source[i] != ",":
            continue
        match = _DECLARATION.fullmatch(source, part_start, i)
        if match is None:
            raise error_at(
                "bad_shape",
                "a shape is written name: rows x cols (W1: 3x2) or name: n for a vector",
                source,
                Span(part_start, max(i, part_start + 1)),
                'for example --shapes "x: 2, W1: 3x2, b1: 3"',
            )
        found.append(_declaration(source, match))
        part_start = i + 1
    return found


def _declaration(source: str, match: re.Match[str]) -> Declaration:
    span = Span(match.start("name"), match.end())
    if match.group("name") in RESERVED_NAMES:
        raise error_at(
            "reserved_name",
            f"'{match.group('name')}' cannot be used as a name",
            source,
            Span(match.start("name"), match.end("name")),
        )
    rows_text, cols_text = match.group("rows"), match.group("cols") or "1"
    if max(len(rows_text), len(cols_text)) > 6:
        raise problem_error_at("shape_too_large", "this shape is too large", source, span)
    shape = Shape(int(rows_text), int(cols_text))
    limits = MATRIX_LIMITS
    if min(shape.rows, shape.cols) < 1:
        raise problem_error_at(
            "bad_shape", f"a shape needs at least one row and one column ({shape})", source, span
        )
    if max(shape.rows, shape.cols) > limits.max_dimension or shape.size > limits.max_entries:
        raise problem_error_at(
            "shape_too_large",
            f"{match.group('name')} is {shape}; the limits are {limits.max_dimension} rows "
            f"or columns and {limits.max_entries} entries",
            source,
            span,
            "every entry becomes a symbol of the check: try smaller sizes",
        )
    return Declaration(match.group("name"), shape, span)


def parse_shapes(text: str) -> tuple[Declaration, ...]:
    """The declarations of a ``--shapes`` option: ``"x: 2, W1: 3x2"`` (``;`` separates too)."""
    check_length(text)
    found: list[Declaration] = []
    for start, end in statement_bounds(text):
        found.extend(_declarations(text, start, end))
    return tuple(found)


class _Parser:
    """One statement's expression: ``+ -`` < ``* / .*`` < unary ``-`` < ``^`` < ``'``."""

    def __init__(self, source: str, tokens: list[Token], budget: list[int]) -> None:
        self.source = source
        self.tokens = tokens
        self.position = 0
        # Shared by every statement of the problem: one node bound for the whole text.
        self.budget = budget

    def peek(self) -> Token:
        return self.tokens[self.position]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise error_at(
                "too_complex",
                f"the problem has more than {LIMITS.max_nodes} operators, numbers and names",
                self.source,
                token.span,
                "split it into smaller problems",
            )
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text == text

    def expect(self, text: str, opened: Token | None = None) -> Token:
        if not self.at(text):
            if opened is not None and self.peek().kind == "end":
                raise error_at(
                    "unbalanced",
                    f"'{opened.text}' is never closed",
                    self.source,
                    opened.span,
                    f"add '{text}'",
                )
            raise self.unexpected(f"expected '{text}'")
        return self.advance()

    def unexpected(self, what: str = "") -> ParseError:
        token = self.peek()
        found = "the end of the statement" if token.kind == "end" else f"'{token.text}'"
        detail = f"{what}, found {found}" if what else f"unexpected {found}"
        return error_at("unexpected_token", detail, self.source, token.span)

    def descend(self, depth: int, token: Token) -> int:
        if depth >= LIMITS.max_depth:
            raise error_at(
                "too_deep",
                f"nesting deeper than {LIMITS.max_depth} levels",
                self.source,
                token.span,
                "define intermediate names",
            )
        return depth + 1

    def whole(self) -> Node:
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.unexpected()
        return node

    def expression(self, depth: int) -> Node:
        depth = self.descend(depth, self.peek())
        node = self.term(depth)
        while self.at("+") or self.at("-"):
            op = self.advance()
            right = self.term(depth)
            span = Span(_span(node).start, _span(right).end)
            node = (Add if op.text == "+" else Sub)(node, right, span, op.span)
        return node

    def term(self, depth: int) -> Node:
        node = self.unary(depth)
        while self.at("*") or self.at("/") or self.at(".*") or self.at("./"):
            op = self.advance()
            right = self.unary(depth)
            node = self.product(node, op, right)
        return node

    def product(self, left: Node, op: Token, right: Node) -> Node:
        span = Span(_span(left).start, _span(right).end)
        if isinstance(left, Constant) and isinstance(right, Constant) and op.text != ".*":
            return Constant(self.fold(left, op, right), span)
        if op.text == "*":
            return MatMul(left, right, span, op.span)
        if op.text == ".*":
            return Hadamard(left, right, span, op.span)
        if isinstance(right, Constant) and right.value == 0:
            raise problem_error_at("division_by_zero", "division by 0", self.source, op.span)
        if op.text == "./":
            return ElementDivide(left, right, span, op.span)
        return Divide(left, right, span, op.span)

    def fold(self, left: Constant, op: Token, right: Constant) -> sympy.Rational:
        if op.text == "*":
            return left.value * right.value
        if right.value == 0:
            raise problem_error_at("division_by_zero", "division by 0", self.source, op.span)
        return left.value / right.value

    def unary(self, depth: int) -> Node:
        if self.at("-") or self.at("+"):
            op = self.advance()
            depth = self.descend(depth, op)
            operand = self.unary(depth)
            if op.text == "+":
                return operand
            span = Span(op.span.start, _span(operand).end)
            if isinstance(operand, Constant):
                return Constant(-operand.value, span)
            return ScalarMul(Constant(sympy.Integer(-1), op.span), operand, span, op.span)
        return self.power(depth)

    def power(self, depth: int) -> Node:
        node = self.postfix(depth)
        if not self.at("^"):
            return node
        op = self.advance()
        token = self.peek()
        if token.kind == "name" and token.text == "T":
            self.advance()
            node = Transpose(node, Span(_span(node).start, token.span.end))
        else:
            exponent = self.exponent()
            node = Power(
                node,
                exponent,
                Span(_span(node).start, self.tokens[self.position - 1].span.end),
                op.span,
            )
        if self.at("^"):
            raise self.unexpected("write parentheses around a power of a power")
        return self.transposes(node)

    def exponent(self) -> sympy.Rational:
        """A number, ``-number`` or ``(p/q)``: the exponent of a power of a scalar."""
        opened = self.advance() if self.at("(") else None
        token = self.peek()
        value = self.number("the exponent of a power is a number (or T for a transpose)")
        if opened is not None:
            if self.at("/"):
                self.advance()
                divisor = self.number("a nonzero number")
                if divisor == 0:
                    raise error_at("division_by_zero", "division by 0", self.source, token.span)
                value = value / divisor
            self.expect(")", opened)
        if abs(value) > LIMITS.max_symbolic_exponent:
            raise error_at(
                "exponent_too_large", "this exponent is too large", self.source, token.span
            )
        return sympy.Rational(value)

    def number(self, wanted: str) -> sympy.Rational:
        """A number literal, with an optional minus sign."""
        negative = self.at("-")
        if negative:
            self.advance()
        token = self.peek()
        if token.kind != "num" or token.value is None:
            raise self.unexpected(wanted)
        self.advance()
        return -token.value if negative else token.value

    def postfix(self, depth: int) -> Node:
        return self.transposes(self.primary(depth))

    def transposes(self, node: Node) -> Node:
        while self.at("'"):
            mark = self.advance()
            node = Transpose(node, Span(_span(node).start, mark.span.end))
        return node

    def primary(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "num":
            self.advance()
            assert token.value is not None
            return Constant(token.value, token.span)
        if token.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(token, depth)
            return self.symbol(token)
        if self.at("("):
            opened = self.advance()
            node = self.expression(self.descend(depth, opened))
            close = self.expect(")", opened)
            return _respan(node, Span(opened.span.start, close.span.end))
        raise self.unexpected()

    def symbol(self, token: Token) -> Symbol:
        if token.text in MATRIX_FUNCTIONS or token.text in FUNCTION_ARITIES:
            raise error_at(
                "function_without_argument",
                f"'{token.text}' is a function; it needs an argument in parentheses",
                self.source,
                token.span,
                f"write {token.text}(…)",
            )
        return Symbol(token.text, token.span)

    def call(self, name: Token, depth: int) -> Node:
        opened = self.advance()
        depth = self.descend(depth, opened)
        arguments = [self.expression(depth)]
        while self.at(","):
            self.advance()
            arguments.append(self.expression(depth))
        close = self.expect(")", opened)
        span = Span(name.span.start, close.span.end)
        wanted = MATRIX_FUNCTIONS.get(name.text, 1 if name.text in FUNCTION_ARITIES else None)
        if wanted is None:
            raise problem_error_at(
                "unknown_function",
                f"unknown function '{name.text}'",
                self.source,
                name.span,
                "matrix problems know sum, dot, norm2, trace, softmax, cross_entropy, "
                "binary_cross_entropy "
                "and the functions of the language applied to each entry (sigmoid, relu, exp, …)",
            )
        if len(arguments) != wanted:
            raise error_at(
                "wrong_arity",
                f"{name.text} takes {wanted} argument{'s' if wanted > 1 else ''}, "
                f"not {len(arguments)}",
                self.source,
                span,
            )
        if name.text in _UNARY:
            return _UNARY[name.text](arguments[0], span)
        if name.text in _BINARY:
            return _BINARY[name.text](arguments[0], arguments[1], span)
        spec = BY_NAME.get(name.text)
        return Apply(spec.name if spec is not None else name.text, arguments[0], span)


def _span(node: Node) -> Span:
    return node.span


def _respan(node: Node, span: Span) -> Node:
    """``node`` with the span of its parentheses, so an error under it underlines them too."""
    return dataclasses.replace(node, span=span)


@record
class _Statements:
    """A matrix problem's statements: its shape declarations and its definitions, in order."""

    declarations: list[Declaration]
    definitions: list[tuple[Token, Node]]


def _read(source: str) -> _Statements:
    """Every statement of ``source``: declarations and definitions, in order."""
    declarations: list[Declaration] = []
    definitions: list[tuple[Token, Node]] = []
    budget = [LIMITS.max_nodes]
    bounds = statement_bounds(source)
    for index, (start, end) in enumerate(bounds):
        if DECLARATION_START.match(source, start, end):
            declarations.extend(_declarations(source, start, end))
            continue
        match = _DEFINITION_START.match(source, start, end)
        if match is not None:
            name = Token("name", match.group("name"), Span(match.start("name"), match.end("name")))
            expression_start = match.end()
        elif index == len(bounds) - 1:
            name = Token("name", BARE_TARGET, Span(start, start))
            expression_start = start
        else:
            raise error_at(
                "not_a_definition",
                "each statement before the last is a definition (a = W*x) or a shape (x: 2)",
                source,
                Span(start + len(source[start:end]) - len(source[start:end].lstrip()), end),
            )
        tokens = tokenize(source, expression_start, end)
        definitions.append((name, _Parser(source, tokens, budget).whole()))
    return _Statements(declarations, definitions)


def parse_matrix_problem(
    text: str, shapes: str | Sequence[Declaration] = (), wrt: Sequence[str] | None = None
) -> MatrixProblem:
    """Parse a matrix problem: its own declarations plus those of ``shapes`` (``--shapes``).

    ``wrt`` names the inputs to differentiate by (default: every input, in order of use).
    Raises :class:`ParseError` or :class:`ProblemError` with a caret position.
    """
    check_length(text)
    statements = _read(text)
    option = _option_shapes(shapes) if isinstance(shapes, str) else tuple(shapes)
    declared = _declared([*option, *statements.declarations], text)
    definitions = _definitions(text, statements.definitions)
    if not definitions:
        raise ProblemError("empty_problem", "the problem defines nothing", hint="write L = …")
    inputs = _inputs(definitions)
    if not inputs:
        raise ProblemError(
            "no_inputs",
            "the problem uses no input to differentiate by",
            hint="use a declared name in the definitions (x: 2; L = sum(x))",
        )
    _check_total(declared, inputs)
    return MatrixProblem(
        source=text,
        definitions=tuple(definitions),
        shapes=declared,
        inputs=inputs,
        target=definitions[-1][0],
        wrt=_wrt(wrt, inputs, definitions),
    )


def _option_shapes(text: str) -> tuple[Declaration, ...]:
    """The declarations of ``--shapes``; an error in them says it is in the option."""
    try:
        return parse_shapes(text)
    except ChainsolveError as error:
        raise type(error)(
            error.code,
            f"--shapes: {error.message}",
            source=error.source,
            span=error.span,
            hint=error.hint,
        ) from None


def _declared(declarations: Sequence[Declaration], source: str) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for declaration in declarations:
        known = shapes.get(declaration.name)
        if known is not None and known != declaration.shape:
            raise ProblemError(
                "conflicting_shapes",
                f"{declaration.name} is declared both {known} and {declaration.shape}",
                hint="declare each name once",
            )
        shapes[declaration.name] = declaration.shape
    return shapes


def _definitions(source: str, read: list[tuple[Token, Node]]) -> list[tuple[str, Node]]:
    seen: set[str] = set()
    definitions = []
    for name, node in read:
        if name.text in seen:
            raise problem_error_at(
                "redefined",
                f"{name.text} is defined twice",
                source,
                name.span,
                "give each intermediate its own name",
            )
        if name.text in MATRIX_FUNCTIONS or name.text in FUNCTION_ARITIES:
            raise problem_error_at(
                "reserved_name", f"'{name.text}' is a function name", source, name.span
            )
        seen.add(name.text)
        definitions.append((name.text, node))
    return definitions


def _symbols(node: Node) -> list[Symbol]:
    found: list[Symbol] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Symbol):
            found.append(current)
        stack.extend(reversed(children(current)))
    return found


def _inputs(definitions: list[tuple[str, Node]]) -> tuple[str, ...]:
    defined = {name for name, _ in definitions}
    inputs: dict[str, None] = {}
    for _, node in definitions:
        for symbol in _symbols(node):
            if symbol.name not in defined:
                inputs[symbol.name] = None
    return tuple(inputs)


def _check_total(declared: dict[str, Shape], inputs: tuple[str, ...]) -> None:
    total = sum(declared[name].size for name in inputs if name in declared)
    if total > MATRIX_LIMITS.max_total_entries:
        raise ProblemError(
            "shape_too_large",
            f"the inputs have {total} entries together; the limit is "
            f"{MATRIX_LIMITS.max_total_entries}",
            hint="every entry becomes a symbol of the check: try smaller sizes",
        )


def _wrt(
    wrt: Sequence[str] | None, inputs: tuple[str, ...], definitions: list[tuple[str, Node]]
) -> tuple[str, ...]:
    if wrt is None or not wrt:
        return inputs
    defined = {name for name, _ in definitions}
    for name in wrt:
        if name not in inputs:
            what = "is defined, not an input" if name in defined else "is not in the problem"
            raise ProblemError(
                "unknown_wrt",
                f"--wrt {name}: {name} {what}",
                hint=f"differentiate by one of the inputs: {', '.join(inputs)}",
            )
    return tuple(dict.fromkeys(wrt))
