"""Matrix expressions as text: W₂ᵀ·δ_z ⊙ σ′(a), with the fewest parentheses that keep the meaning."""

from __future__ import annotations

from chainsolve.functions import BY_NAME
from chainsolve.matrix.model import (
    Add,
    Adjoint,
    Apply,
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
    Softmax,
    Sub,
    SumAll,
    Symbol,
    Trace,
    Transpose,
)

__all__ = ["adjoint_text", "gradient_text", "show"]

_SUM, _PRODUCT, _NEGATION, _POWER, _ATOM = range(1, 6)
_SUPERSCRIPTS = dict(zip("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻", strict=True))


def adjoint_text(name: str) -> str:
    """How δ for an intermediate is written: ``δ_a``."""
    return f"δ_{name}"


def gradient_text(target: str, name: str) -> str:
    """How a gradient is written: ``∂L/∂W1``."""
    return f"∂{target}/∂{name}"


def _function_name(name: str) -> str:
    spec = BY_NAME.get(name)
    return spec.printed_name if spec is not None else name


def _precedence(node: Node) -> int:
    if isinstance(node, Add | Sub):
        return _SUM
    if isinstance(node, ScalarMul) and _is_minus_one(node.scalar):
        return _NEGATION
    if isinstance(node, MatMul | ScalarMul | Hadamard | Divide | ElementDivide):
        return _PRODUCT
    if isinstance(node, Constant) and (node.value < 0 or not node.value.is_integer):
        return _PRODUCT
    if isinstance(node, Power | Transpose):
        return _POWER
    return _ATOM


def _is_minus_one(node: Node) -> bool:
    return isinstance(node, Constant) and node.value == -1


def _negated(node: Node) -> Node | None:
    """``b`` when ``node`` is −b (a negative number times b), else None."""
    if isinstance(node, ScalarMul) and isinstance(node.scalar, Constant) and node.scalar.value < 0:
        if node.scalar.value == -1:
            return node.operand
        return ScalarMul(
            Constant(-node.scalar.value, node.scalar.span), node.operand, node.span, node.op
        )
    return None


def _wrapped(node: Node, at_least: int) -> str:
    text = show(node)
    return f"({text})" if _precedence(node) < at_least else text


def _exponent(value: object) -> str:
    text = str(value)
    if all(char in _SUPERSCRIPTS for char in text):
        return "".join(_SUPERSCRIPTS[char] for char in text)
    return f"^({text})"


def show(node: Node) -> str:
    """``node`` as one line of text.

    >>> from chainsolve.matrix.model import NO_SPAN as S
    >>> back = MatMul(Transpose(Symbol("W2", S), S), Adjoint("z"), S, S)
    >>> show(Hadamard(back, Prime("sigmoid", Symbol("a", S)), S, S))
    '(W2ᵀ·δ_z) ⊙ σ′(a)'
    """
    if isinstance(node, Symbol):
        return node.name
    if isinstance(node, Constant):
        return str(node.value)
    if isinstance(node, Adjoint):
        return adjoint_text(node.name)
    if isinstance(node, Ones):
        return "𝟙"
    if isinstance(node, Identity):
        return "I"
    negated = _negated(node.right) if isinstance(node, Add) else None
    if isinstance(node, Add) and negated is not None:
        # a + (−b) is written a − b, never "+ -".
        return _wrapped(node.left, _SUM) + " - " + _wrapped(negated, _SUM + 1)
    if isinstance(node, Add | Sub):
        sign = " + " if isinstance(node, Add) else " - "
        right = _SUM + 1 if isinstance(node, Sub) else _SUM
        return _wrapped(node.left, _SUM) + sign + _wrapped(node.right, right)
    if isinstance(node, ScalarMul):
        if _is_minus_one(node.scalar):
            return "-" + _wrapped(node.operand, _PRODUCT + 1)
        return _wrapped(node.scalar, _PRODUCT) + "·" + _wrapped(node.operand, _PRODUCT + 1)
    if isinstance(node, MatMul | Hadamard | Divide | ElementDivide):
        return _binary(node)
    if isinstance(node, Transpose):
        return _wrapped(node.operand, _ATOM) + "ᵀ"
    if isinstance(node, Power):
        return _wrapped(node.base, _ATOM) + _exponent(node.exponent)
    return _call(node)


def _binary(node: MatMul | Hadamard | Divide | ElementDivide) -> str:
    if isinstance(node, Divide):
        return _wrapped(node.operand, _PRODUCT) + "/" + _wrapped(node.scalar, _PRODUCT + 1)
    sign = {MatMul: "·", Hadamard: " ⊙ ", ElementDivide: " ⊘ "}[type(node)]
    # (W2ᵀ·δ) ⊙ σ′(a): a matrix product inside an elementwise one is bracketed, as taught.
    elementwise = isinstance(node, Hadamard | ElementDivide)
    left = _PRODUCT + 1 if elementwise and not isinstance(node.left, Hadamard) else _PRODUCT
    return _wrapped(node.left, left) + sign + _wrapped(node.right, _PRODUCT + 1)


def _call(node: Node) -> str:
    if isinstance(node, Apply):
        return f"{_function_name(node.function)}({show(node.operand)})"
    if isinstance(node, Prime):
        return f"{_function_name(node.function)}′({show(node.operand)})"
    if isinstance(node, Norm2):
        return f"‖{show(node.operand)}‖"
    if isinstance(node, SumAll):
        return f"sum({show(node.operand)})"
    if isinstance(node, Trace):
        return f"tr({show(node.operand)})"
    if isinstance(node, Softmax):
        return f"softmax({show(node.operand)})"
    if isinstance(node, Dot):
        return f"dot({show(node.left)}, {show(node.right)})"
    assert isinstance(node, CrossEntropy), node
    return f"cross_entropy({show(node.predicted)}, {show(node.target)})"
