"""The backward pass as people teach it, as data: δ for each layer from the output back, then ∂L/∂W.

Denominator layout throughout: ∂L/∂W has the shape of W. Each gate passes the upstream
gradient G (the δ of what it computes) to its operands:

============================  ==========================================  =========================
gate                          operand gets                                rule id
============================  ==========================================  =========================
A + B, A − B                  G, ±G                                       ``add_gate``, ``subtract_gate``
A·B                           G·Bᵀ to A, Aᵀ·G to B                        ``matrix_multiply_gate``
c·M (c a 1×1)                 c·G to M, dot(G, M) to c                    ``scalar_multiple_gate``
M/c                           G/c to M, −dot(G, M)/c² to c                ``divide_gate``
A ⊙ B                         G ⊙ B to A, G ⊙ A to B                      ``elementwise_gate``
A ⊘ B                         G ⊘ B to A, −(G ⊙ A) ⊘ (B ⊙ B) to B         ``elementwise_divide_gate``
F(A) entry by entry           G ⊙ F′(A)                                   ``elementwise_gate`` + F's rule
Aᵀ                            Gᵀ                                          ``transpose_gate``
sum(A)                        G·𝟙                                         ``sum_gate``
c broadcast (x + c, c ⊙ x)    sum(G) = 𝟙ᵀ·G to the 1×1 c                  ``broadcast``
dot(u, v)                     G·v to u, G·u to v                          ``dot_gate``
‖v‖, ‖v‖²                     G·v/‖v‖, 2G·v                               ``norm2``, ``norm2_squared``
tr(A)                         G·I                                         ``trace_gate``
b^n (b a 1×1)                 G·n·b^(n−1)                                 ``power``
softmax(z)                    p ⊙ (G − dot(p, G)·𝟙), p = softmax(z)       ``softmax_gate``
cross_entropy(p, y)           −G·(y ⊘ p) to p, −G·ln(p) to y              ``cross_entropy_gate``
cross_entropy(softmax(z), y)  G·(p − y) to z, when the entries of y sum   ``softmax_cross_entropy``
                              to 1
binary_cross_entropy(p, y)    G·(p − y) ⊘ (p ⊙ (𝟙 − p)) to p              ``binary_cross_entropy_gate``
binary_cross_entropy(σ(z), y) G·(p − y) to z                              ``sigmoid_binary_cross_entropy``
============================  ==========================================  =========================

A name used in several places collects the sum of what each use passes back
(``multivariable_chain``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import sympy

from chainsolve.functions import BY_NAME
from chainsolve.matrix.model import (
    NO_SPAN,
    SCALAR,
    Add,
    Adjoint,
    Apply,
    BinaryCrossEntropy,
    Broadcast,
    Constant,
    CrossEntropy,
    Divide,
    Dot,
    ElementDivide,
    Hadamard,
    Identity,
    MatMul,
    Node,
    Norm2,
    Ones,
    Power,
    Prime,
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
from chainsolve.matrix.shapes import ShapedProblem

__all__ = ["Backprop", "Contribution", "MatrixStep", "backprop", "summed", "term_shape"]

#: The condition of ∂L/∂z = p − y: the target's entries sum to 1 (one-hot or a distribution).
SUMS_TO_ONE = "sums_to_one"


@dataclass(frozen=True)
class Contribution:
    """What one use of ``name`` passes back: ``term``, through the gates ``rules``."""

    name: str
    term: Node
    rules: tuple[str, ...]
    condition: tuple[str, str] | None = None


@dataclass(frozen=True)
class MatrixStep:
    """One claimed matrix equality of the backward pass.

    ``kind`` is ``delta`` (δ of an intermediate, from the output back) or ``gradient`` (∂L/∂
    an input). ``claim`` is the right-hand side, in the problem's names and earlier δs;
    ``factors`` the operands of its products with their shapes; ``condition`` a
    ``(rule, name)`` the equality needs (``("sums_to_one", "y")``).
    """

    kind: Literal["delta", "gradient"]
    name: str
    shape: Shape
    claim: Node
    rules: tuple[str, ...]
    factors: tuple[tuple[Node, Shape], ...]
    condition: tuple[str, str] | None = None


@dataclass(frozen=True)
class Backprop:
    """The worked backward pass: the forward definitions with their shapes, then the steps."""

    shaped: ShapedProblem
    forward: tuple[tuple[str, Node, Shape], ...]
    steps: tuple[MatrixStep, ...]
    layout: Literal["denominator"] = "denominator"
    skipped: tuple[str, ...] = field(default=())

    @property
    def gradients(self) -> dict[str, MatrixStep]:
        """The gradient step of each ``wrt`` name."""
        return {step.name: step for step in self.steps if step.kind == "gradient"}


def _constant(value: int | sympy.Rational) -> Constant:
    return Constant(sympy.Rational(value), NO_SPAN)


def _is_constant(node: Node, value: int) -> bool:
    return isinstance(node, Constant) and node.value == value


def scale(factor: Node, term: Node) -> Node:
    """``factor·term`` with a 1×1 ``factor``: 1·T = T, and numbers folded together."""
    if _is_constant(factor, 1):
        return term
    if isinstance(factor, Constant) and isinstance(term, Constant):
        return Constant(factor.value * term.value, NO_SPAN)
    if (
        isinstance(factor, Constant)
        and isinstance(term, ScalarMul)
        and isinstance(term.scalar, Constant)
    ):
        return scale(_constant(factor.value * term.scalar.value), term.operand)
    if isinstance(term, Constant) and not isinstance(factor, Constant):
        return scale(term, factor)
    return ScalarMul(factor, term, NO_SPAN, NO_SPAN)


def _matmul(left: Node, right: Node) -> Node:
    """``left·right``, a number factor of either side taken to the front (2·Aᵀ·v), I·A = A."""
    if _is_constant(left, 1) or isinstance(left, Identity):
        return right
    if _is_constant(right, 1) or isinstance(right, Identity):
        return left
    for side in (left, right):
        if isinstance(side, ScalarMul) and isinstance(side.scalar, Constant):
            rest = (side.operand, right) if side is left else (left, side.operand)
            return scale(side.scalar, _matmul(*rest))
    return MatMul(left, right, NO_SPAN, NO_SPAN)


def _hadamard(upstream: Node, local: Node, shape: Shape) -> Node:
    """``G ⊙ local``; a 1×1 is a plain product, and 𝟙 ⊙ F = F; G ⊙ c for a broadcast c is c·G."""
    if isinstance(local, Broadcast):
        return scale(local.operand, upstream)
    if _is_constant(upstream, 1) or isinstance(upstream, Ones):
        return local
    if shape.is_scalar:
        return scale(upstream, local)
    return Hadamard(upstream, local, NO_SPAN, NO_SPAN)


def summed(upstream: Node) -> Node:
    """sum(G), what a broadcast 1×1 gets: numbers taken out (sum(−δ) = −sum(δ)), sum(𝟙) = n."""
    if isinstance(upstream, ScalarMul) and isinstance(upstream.scalar, Constant):
        return scale(upstream.scalar, summed(upstream.operand))
    if isinstance(upstream, Ones):
        return _constant(upstream.shape.size)
    return SumAll(upstream, NO_SPAN)


def _transpose(node: Node, shaped: ShapedProblem) -> Node:
    """``nodeᵀ``, taken inside where it reads better: (A·B)ᵀ = Bᵀ·Aᵀ, (c·M)ᵀ = c·Mᵀ, Aᵀᵀ = A,
    𝟙ᵀ = 𝟙, Iᵀ = I; a 1×1 is its own transpose."""
    if term_shape(node, shaped).is_scalar or isinstance(node, Identity):
        return node
    if isinstance(node, Transpose):
        return node.operand
    if isinstance(node, Ones):
        return Ones(node.shape.transposed())
    if isinstance(node, MatMul):
        return _matmul(_transpose(node.right, shaped), _transpose(node.left, shaped))
    if isinstance(node, ScalarMul):
        return scale(node.scalar, _transpose(node.operand, shaped))
    return Transpose(node, NO_SPAN)


def _sub(left: Node, right: Node) -> Node:
    return Sub(left, right, NO_SPAN, NO_SPAN)


def term_shape(node: Node, shaped: ShapedProblem) -> Shape:
    """The shape of a term of the backward pass (its nodes may be new: δ, 𝟙, F′)."""
    if node in shaped.node_shapes:
        return shaped.node_shapes[node]
    if isinstance(node, Symbol | Adjoint):
        return shaped.shapes[node.name]
    if isinstance(node, Constant):
        return SCALAR
    if isinstance(node, Ones | Broadcast):
        return node.shape
    if isinstance(node, Identity):
        return Shape(node.size, node.size)
    if isinstance(node, MatMul):
        left, right = term_shape(node.left, shaped), term_shape(node.right, shaped)
        return Shape(left.rows, right.cols)
    if isinstance(node, Transpose):
        return term_shape(node.operand, shaped).transposed()
    if isinstance(node, ScalarMul):
        return term_shape(node.operand, shaped)
    if isinstance(node, Divide):
        return term_shape(node.operand, shaped)
    if isinstance(node, SumAll | Dot | Norm2 | Trace | CrossEntropy | BinaryCrossEntropy | Power):
        return SCALAR
    return term_shape(children(node)[0], shaped)


class _Walker:
    """Walks each definition's expression from its δ to the names it uses."""

    def __init__(self, shaped: ShapedProblem, relevant: frozenset[str]) -> None:
        self.shaped = shaped
        self.relevant = relevant
        self.uses = _use_counts(shaped)
        self.fused: set[str] = set()

    def shape(self, node: Node) -> Shape:
        return term_shape(node, self.shaped)

    def matters(self, node: Node) -> bool:
        """Does any name ``node`` uses depend on a ``wrt`` input?"""
        if isinstance(node, Symbol):
            return node.name in self.relevant
        return any(self.matters(child) for child in children(node))

    def walk(self, node: Node, upstream: Node, rules: tuple[str, ...]) -> Iterator[Contribution]:
        """What ``node`` passes back to each name in it, given its upstream gradient."""
        if not self.matters(node):
            return
        if isinstance(node, Symbol):
            yield Contribution(node.name, upstream, rules)
            return
        for operand, term, rule, condition in self.gates(node, upstream):
            for found in self.walk(operand, term, (*rules, *rule)):
                yield found if condition is None else _with(found, condition)

    def gates(
        self, node: Node, upstream: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        """Each operand of ``node`` with what it gets and the gate's rule ids."""
        g = upstream
        if isinstance(node, Add):
            yield node.left, g, ("add_gate",), None
            yield node.right, g, ("add_gate",), None
        elif isinstance(node, Sub):
            yield node.left, g, ("subtract_gate",), None
            yield node.right, scale(_constant(-1), g), ("subtract_gate",), None
        elif isinstance(node, MatMul):
            left_t = _transpose(node.left, self.shaped)
            right_t = _transpose(node.right, self.shaped)
            yield node.left, _matmul(g, right_t), ("matrix_multiply_gate",), None
            yield node.right, _matmul(left_t, g), ("matrix_multiply_gate",), None
        elif isinstance(node, ScalarMul):
            yield node.operand, scale(node.scalar, g), ("scalar_multiple_gate",), None
            yield node.scalar, self.dot(g, node.operand), ("scalar_multiple_gate",), None
        elif isinstance(node, Divide):
            over = Divide(g, node.scalar, NO_SPAN, NO_SPAN)
            yield node.operand, over, ("divide_gate",), None
            square = Power(node.scalar, sympy.Integer(2), NO_SPAN, NO_SPAN)
            minus = scale(_constant(-1), self.dot(g, node.operand))
            yield node.scalar, Divide(minus, square, NO_SPAN, NO_SPAN), ("divide_gate",), None
        elif isinstance(node, Hadamard):
            shape = self.shape(node)
            yield node.left, _hadamard(g, node.right, shape), ("elementwise_gate",), None
            yield node.right, _hadamard(g, node.left, shape), ("elementwise_gate",), None
        elif isinstance(node, ElementDivide):
            yield from self.element_divide(node, g)
        elif isinstance(node, Transpose):
            yield node.operand, _transpose(g, self.shaped), ("transpose_gate",), None
        elif isinstance(node, Broadcast):
            yield node.operand, summed(g), ("broadcast",), None
        elif isinstance(node, Apply):
            local = Prime(node.function, node.operand)
            spec = BY_NAME.get(node.function)
            rule = ("elementwise_gate", spec.rule_id if spec is not None else "square_root")
            yield node.operand, _hadamard(g, local, self.shape(node)), rule, None
        else:
            yield from self.reductions(node, g)

    def element_divide(
        self, node: ElementDivide, g: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        """A ⊘ B passes G ⊘ B to A and −(G ⊙ A) ⊘ (B ⊙ B) to B; a 1×1 B (broadcast or not)
        divides as a scalar c: G/c and −(G ⊙ A)/c²."""
        top, bottom = node.left, node.right
        rule = ("elementwise_divide_gate",)
        upstream_times_top = _hadamard(g, top, self.shape(node))
        scalar = bottom.operand if isinstance(bottom, Broadcast) else bottom
        if self.shape(scalar).is_scalar:
            yield top, Divide(g, scalar, NO_SPAN, NO_SPAN), rule, None
            square = Power(scalar, sympy.Integer(2), NO_SPAN, NO_SPAN)
            over: Node = Divide(upstream_times_top, square, NO_SPAN, NO_SPAN)
        else:
            yield top, ElementDivide(g, bottom), rule, None
            over = ElementDivide(upstream_times_top, Hadamard(bottom, bottom, NO_SPAN, NO_SPAN))
        yield bottom, scale(_constant(-1), over), rule, None

    def reductions(
        self, node: Node, g: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        if isinstance(node, SumAll):
            shape = self.shape(node.operand)
            term = g if shape.is_scalar else scale(g, Ones(shape))
            yield node.operand, term, ("sum_gate",), None
        elif isinstance(node, Dot):
            yield node.left, scale(g, node.right), ("dot_gate",), None
            yield node.right, scale(g, node.left), ("dot_gate",), None
        elif isinstance(node, Norm2):
            over = Divide(g, node, NO_SPAN, NO_SPAN)
            yield node.operand, scale(over, node.operand), ("norm2",), None
        elif isinstance(node, Trace):
            size = self.shape(node.operand).rows
            yield node.operand, scale(g, Identity(size)), ("trace_gate",), None
        elif isinstance(node, Power):
            yield from self.power(node, g)
        elif isinstance(node, Softmax):
            p = node
            shape = self.shape(node)
            centred = _sub(g, scale(self.dot(p, g), Ones(shape)))
            yield node.operand, Hadamard(p, centred, NO_SPAN, NO_SPAN), ("softmax_gate",), None
        elif isinstance(node, BinaryCrossEntropy):
            yield from self.binary_cross_entropy(node, g)
        else:
            assert isinstance(node, CrossEntropy), node
            yield from self.cross_entropy(node, g)

    def power(
        self, node: Power, g: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        if isinstance(node.base, Norm2) and node.exponent == 2:
            inner = node.base.operand
            yield inner, scale(_constant(2), scale(g, inner)), ("norm2_squared",), None
            return
        exponent = node.exponent
        lowered: Node = node.base
        if exponent - 1 == 0:
            lowered = _constant(1)
        elif exponent - 1 != 1:
            lowered = Power(node.base, exponent - 1, NO_SPAN, NO_SPAN)
        local = scale(Constant(exponent, NO_SPAN), lowered)
        yield node.base, scale(g, local), ("power",), None

    def cross_entropy(
        self, node: CrossEntropy, g: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        target = node.target
        softmax = self.softmax_of(node.predicted)
        if (
            softmax is not None
            and isinstance(target, Symbol)
            and target.name in self.shaped.problem.inputs
        ):
            p = node.predicted
            if isinstance(p, Symbol):
                self.fused.add(p.name)
            condition = (SUMS_TO_ONE, target.name)
            term = scale(g, _sub(p, target))
            yield softmax.operand, term, ("softmax_cross_entropy",), condition
        else:
            ratio = ElementDivide(target, node.predicted)
            yield (
                node.predicted,
                scale(_constant(-1), scale(g, ratio)),
                ("cross_entropy_gate",),
                None,
            )
        logs = Apply("log", node.predicted, NO_SPAN)
        yield target, scale(_constant(-1), scale(g, logs)), ("cross_entropy_gate",), None

    def binary_cross_entropy(
        self, node: BinaryCrossEntropy, g: Node
    ) -> Iterator[tuple[Node, Node, tuple[str, ...], tuple[str, str] | None]]:
        p, y = node.predicted, node.target
        sigmoid = self.sigmoid_of(p)
        if sigmoid is not None:
            if isinstance(p, Symbol):
                self.fused.add(p.name)
            term = scale(g, _sub(p, y))
            yield sigmoid.operand, term, ("sigmoid_binary_cross_entropy",), None
        else:
            spread = Hadamard(p, self.one_minus(p), NO_SPAN, NO_SPAN)
            ratio = ElementDivide(_sub(p, y), spread)
            yield p, scale(g, ratio), ("binary_cross_entropy_gate",), None
        logs = _sub(Apply("log", self.one_minus(p), NO_SPAN), Apply("log", p, NO_SPAN))
        yield y, scale(g, logs), ("binary_cross_entropy_gate",), None

    def one_minus(self, node: Node) -> Node:
        """1 − node, entry by entry (𝟙 − p; a plain 1 − p for a 1×1)."""
        shape = self.shape(node)
        one: Node = _constant(1) if shape.is_scalar else Ones(shape)
        return _sub(one, node)

    def sigmoid_of(self, node: Node) -> Apply | None:
        """The σ(z) ``node`` is: inline, or a name used once whose definition is σ(z)."""
        if isinstance(node, Apply) and node.function == "sigmoid":
            return node
        if isinstance(node, Symbol) and self.uses.get(node.name) == 1:
            definition = self.shaped.problem.definition(node.name)
            if isinstance(definition, Apply) and definition.function == "sigmoid":
                return definition
        return None

    def softmax_of(self, node: Node) -> Softmax | None:
        """The softmax ``node`` is: inline, or a name used once whose definition is a softmax."""
        if isinstance(node, Softmax):
            return node
        if isinstance(node, Symbol) and self.uses.get(node.name) == 1:
            definition = self.shaped.problem.definition(node.name)
            if isinstance(definition, Softmax):
                return definition
        return None

    def dot(self, left: Node, right: Node) -> Node:
        """dot(A, B) of two equal shapes; a plain product of two 1×1s."""
        if self.shape(left).is_scalar:
            return scale(left, right)
        return Dot(left, right, NO_SPAN)


def _with(found: Contribution, condition: tuple[str, str]) -> Contribution:
    return Contribution(found.name, found.term, found.rules, condition)


def _use_counts(shaped: ShapedProblem) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, node in shaped.problem.definitions:
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, Symbol):
                counts[current.name] = counts.get(current.name, 0) + 1
            stack.extend(children(current))
    return counts


def _names_in(node: Node) -> set[str]:
    return {current.name for current in _nodes(node) if isinstance(current, Symbol)}


def _relevant(shaped: ShapedProblem) -> frozenset[str]:
    """The wrt inputs and every definition on a path from one of them to the target."""
    problem = shaped.problem
    depends = set(problem.wrt)
    for name, node in problem.definitions:
        if _names_in(node) & depends:
            depends.add(name)
    used = {problem.target}
    for name, node in reversed(problem.definitions):
        if name in used:
            used |= _names_in(node)
    return frozenset(depends & used)


_PRODUCTS = (MatMul, Hadamard, ScalarMul, ElementDivide)


def _factors(node: Node, shaped: ShapedProblem) -> tuple[tuple[Node, Shape], ...]:
    """The factors of the products ``node`` is (or sums), each with its shape: δ_a (3×1),
    xᵀ (1×2). A factor that is itself a product is split into its factors; numbers are left out."""
    found: list[tuple[Node, Shape]] = []

    def visit(current: Node, in_product: bool) -> None:
        if isinstance(current, _PRODUCTS):
            for operand in children(current):
                visit(operand, True)
        elif isinstance(current, Add | Sub) and not in_product:
            for operand in children(current):
                visit(operand, False)
        elif isinstance(current, SumAll) and not in_product:
            # sum(δ_a) of a broadcast 1×1: the shape of δ_a says how many copies are summed.
            visit(current.operand, True)
        elif in_product and not isinstance(current, Constant):
            found.append((current, term_shape(current, shaped)))

    visit(node, False)
    return tuple(dict.fromkeys(found))


def _total(terms: list[Node]) -> Node:
    total = terms[0]
    for term in terms[1:]:
        total = Add(total, term, NO_SPAN, NO_SPAN)
    return total


def _step(
    kind: Literal["delta", "gradient"],
    name: str,
    found: list[Contribution],
    shaped: ShapedProblem,
) -> MatrixStep:
    rules = tuple(dict.fromkeys(rule for item in found for rule in item.rules))
    if len(found) > 1:
        rules = ("multivariable_chain", *rules)
    claim = _total([item.term for item in found])
    condition = next((item.condition for item in found if item.condition), None)
    return MatrixStep(
        kind, name, shaped.shapes[name], claim, rules, _factors(claim, shaped), condition
    )


def _zero(name: str, shaped: ShapedProblem) -> MatrixStep:
    """∂L/∂name = 0 for an input the target does not depend on."""
    shape = shaped.shapes[name]
    claim = ScalarMul(_constant(0), Ones(shape), NO_SPAN, NO_SPAN)
    return MatrixStep("gradient", name, shape, claim, ("no_dependence",), ())


def _inherit(step: MatrixStep, earlier: list[MatrixStep]) -> MatrixStep:
    """``step`` with the condition of any δ its claim uses (p − y holds when y sums to 1, and
    so does every gradient built from it)."""
    if step.condition is not None:
        return step
    used = {node.name for node in _nodes(step.claim) if isinstance(node, Adjoint)}
    for before in earlier:
        if before.name in used and before.condition is not None:
            return replace(step, condition=before.condition)
    return step


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from _nodes(child)


def backprop(shaped: ShapedProblem) -> Backprop:
    """The backward pass of ``shaped``: δ of each intermediate on a path from a ``wrt`` input
    to the target, from the output back, then ∂L/∂(each wrt input)."""
    problem = shaped.problem
    walker = _Walker(shaped, _relevant(shaped))
    found: dict[str, list[Contribution]] = {}
    for name, node in reversed(problem.definitions):
        if name in walker.fused or name not in walker.relevant:
            continue
        upstream: Node = _constant(1) if name == problem.target else Adjoint(name)
        for contribution in walker.walk(node, upstream, ()):
            found.setdefault(contribution.name, []).append(contribution)
    steps: list[MatrixStep] = []
    for kind, names in (("delta", reversed(problem.defined)), ("gradient", problem.wrt)):
        for name in names:
            if name in found and name not in walker.fused:
                steps.append(_inherit(_step(kind, name, found[name], shaped), steps))  # type: ignore[arg-type]
            elif kind == "gradient":
                steps.append(_zero(name, shaped))
    forward = tuple((name, node, shaped.shapes[name]) for name, node in problem.definitions)
    return Backprop(shaped, forward, tuple(steps), skipped=tuple(sorted(walker.fused)))
