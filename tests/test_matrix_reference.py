"""The matrix problems' independent references (NumPy, central differences), pinned by hand and by PyTorch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from matrix_networks import (
    BROADCAST_BIAS,
    DOT_NEURON,
    LEAST_SQUARES,
    NETWORKS,
    RELU_2_3_1,
    SOFTMAX_CLASSIFIER,
    Network,
    central_differences,
)

from chainsolve.api import solve_matrix
from chainsolve.derivation import WrongStepError
from chainsolve.matrix.check import CheckedBackprop
from chainsolve.matrix.model import NO_SPAN, Constant, ScalarMul
from chainsolve.matrix.numeric import MatrixEvaluation, evaluate_at_point
from chainsolve.matrix.point import PointValue, check_point, parse_point_text


def _differences(network: Network) -> dict[str, np.ndarray]:
    point = network.arrays()
    return {name: central_differences(network.loss, point, name) for name in network.wrt}


@pytest.mark.parametrize("network", NETWORKS, ids=lambda network: network.name)
def test_central_differences_match_the_analytic_gradients(network: Network) -> None:
    """Each reference's central differences equal its gradients written by hand (δxᵀ, ⊙σ′, p − y, 2Aᵀr)."""
    point = network.arrays()
    analytic = network.analytic(point)
    for name, gradient in _differences(network).items():
        assert gradient.shape == point[name].shape, name
        np.testing.assert_allclose(gradient, analytic[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_relu_network_worked_by_hand() -> None:
    """The 2→3→1 ReLU network: a = (0.6, −0.3, 1.4), z = 1.78, L = 1.28², the off unit gets no gradient."""
    point = RELU_2_3_1.arrays()
    assert RELU_2_3_1.loss(point) == pytest.approx(1.6384)
    gradients = _differences(RELU_2_3_1)
    np.testing.assert_allclose(gradients["W2"], [[1.536, 0.0, 3.584]], atol=1e-8)
    np.testing.assert_allclose(gradients["b2"], [[2.56]], atol=1e-8)
    np.testing.assert_allclose(gradients["W1"], [[1.792, 3.584], [0, 0], [2.304, 4.608]], atol=1e-8)
    np.testing.assert_allclose(gradients["b1"], [[1.792], [0.0], [2.304]], atol=1e-8)


def test_dot_neuron_worked_by_hand() -> None:
    """The dot-product neuron: ∂loss/∂w = x = (1, 2), ∂loss/∂x = w = (2, −1), ∂loss/∂b = 1, loss = 0.5."""
    point = DOT_NEURON.arrays()
    assert DOT_NEURON.loss(point) == pytest.approx(0.5)
    gradients = _differences(DOT_NEURON)
    np.testing.assert_allclose(gradients["w"], [[1.0], [2.0]], atol=1e-8)
    np.testing.assert_allclose(gradients["x"], [[2.0], [-1.0]], atol=1e-8)
    np.testing.assert_allclose(gradients["b"], [[1.0]], atol=1e-8)


def test_least_squares_worked_by_hand() -> None:
    """norm2(A*x − y)²: the residual is (−2.5, −2.5, −5.5), so ∂/∂x = 2Aᵀr = (−75, −96)."""
    gradients = _differences(LEAST_SQUARES)
    np.testing.assert_allclose(gradients["x"], [[-75.0], [-96.0]], atol=1e-6)


def test_broadcast_bias_worked_by_hand() -> None:
    """W·x + b with a 1×1 b: the residual is (0.25, 0.75, −0.05), so ∂L/∂b = 2·sum(r) = 1.9."""
    gradients = _differences(BROADCAST_BIAS)
    np.testing.assert_allclose(gradients["b"], [[1.9]], atol=1e-7)


def test_softmax_gradient_of_the_bias_sums_to_zero() -> None:
    """Softmax with cross-entropy and a one-hot y: ∂L/∂b = p − y sums to 0 and is negative only at the true class."""
    gradient = _differences(SOFTMAX_CLASSIFIER)["b"].ravel()
    assert gradient.sum() == pytest.approx(0.0, abs=1e-8)
    assert [entry < 0 for entry in gradient] == [False, True, False]


def _torch_gradients(network: Network) -> dict[str, np.ndarray]:
    """The same network built with torch.nn-style operations and differentiated by autograd."""
    torch = pytest.importorskip("torch")
    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in network.arrays().items()
    }
    t = tensors
    if network is RELU_2_3_1:
        hidden = torch.relu(t["W1"] @ t["x"] + t["b1"])
        loss = torch.nn.MSELoss()(t["W2"] @ hidden + t["b2"], t["y"])
    elif network is DOT_NEURON:
        loss = (torch.dot(t["w"].ravel(), t["x"].ravel()) + t["b"]).sum()
    elif network is BROADCAST_BIAS:
        # t["b"] is 1×1: PyTorch broadcasts it over the column W @ x.
        loss = ((t["W"] @ t["x"] + t["b"] - t["y"]) ** 2).sum()
    else:
        raise AssertionError(network.name)
    loss.backward()
    return {name: t[name].grad.numpy() for name in network.wrt}


@pytest.mark.parametrize(
    "network", [RELU_2_3_1, DOT_NEURON, BROADCAST_BIAS], ids=lambda network: network.name
)
def test_references_equal_what_pytorch_prints(network: Network) -> None:
    """The seeds' PyTorch programs (2→3→1 ReLU with MSELoss, the dot-product neuron) and a
    broadcast 1×1 bias give the reference gradients."""
    for name, gradient in _torch_gradients(network).items():
        np.testing.assert_allclose(gradient, _differences(network)[name], atol=1e-7, err_msg=name)


# ---------------------------------------------------------------------------- chainsolve at a point


def _point_text(network: Network) -> str:
    return ", ".join(f"{name}={json.dumps(value)}" for name, value in network.point.items())


def _chainsolve_at_point(network: Network) -> MatrixEvaluation:
    solution = solve_matrix(network.problem, shapes=network.shapes, wrt=list(network.wrt))
    point = parse_point_text(_point_text(network))
    check_point(point, solution.backprop.shaped.shapes, solution.problem.inputs)
    return evaluate_at_point(solution.checked, point)


@pytest.mark.parametrize("network", NETWORKS, ids=lambda network: network.name)
def test_chainsolve_gradients_at_a_point_equal_the_references(network: Network) -> None:
    """chainsolve's gradient at the point (its matrix steps) equals the NumPy central differences, entry by entry."""
    evaluation = _chainsolve_at_point(network)
    references = _differences(network)
    assert set(evaluation.gradient) == set(network.wrt)
    for name, value in evaluation.gradient.items():
        numbers = np.array(value.numbers.tolist(), dtype=np.float64)
        np.testing.assert_allclose(numbers, references[name], rtol=1e-6, atol=1e-8, err_msg=name)
    assert float(evaluation.loss.numbers[0, 0]) == pytest.approx(network.loss(network.arrays()))
    assert evaluation.verified and all(check.status == "passed" for check in evaluation.checks)


def test_the_seed_networks_from_the_command_line_print_the_pytorch_gradients(
    tmp_path: Path,
) -> None:
    """`solve --shapes … --at @point.json --format json` gives the ReLU network's ∂L/∂W1 as nested decimals."""
    from tests.conftest import run_timed

    point = tmp_path / "point.json"
    point.write_text(json.dumps(RELU_2_3_1.point), encoding="utf-8")
    args = ["solve", RELU_2_3_1.problem, "--shapes", RELU_2_3_1.shapes, "--wrt", "W1,W2"]
    completed, _ = run_timed([*args, "--at", f"@{point}", "--format", "json"])
    assert completed.returncode == 0, completed.stderr
    gradient = json.loads(completed.stdout)["gradient"]
    references = _differences(RELU_2_3_1)
    for name in ("W1", "W2"):
        decimal = np.array(gradient[name]["decimal"], dtype=np.float64)
        np.testing.assert_allclose(decimal, references[name], atol=1e-9, err_msg=name)


def _with_a_wrong_gradient(network: Network) -> tuple[CheckedBackprop, dict[str, PointValue]]:
    """``network`` solved, with its first gradient step's claim tripled (a planted bug)."""
    solution = solve_matrix(network.problem, shapes=network.shapes, wrt=list(network.wrt))
    backprop = solution.checked.backprop
    steps = list(backprop.steps)
    index = next(i for i, step in enumerate(steps) if step.kind == "gradient")
    tripled = ScalarMul(Constant(sympy.Integer(3), NO_SPAN), steps[index].claim, NO_SPAN, NO_SPAN)
    steps[index] = dataclasses.replace(steps[index], claim=tripled)
    wrong = dataclasses.replace(backprop, steps=tuple(steps))
    checked = dataclasses.replace(solution.checked, backprop=wrong)
    return checked, parse_point_text(_point_text(network))


def test_central_differences_catch_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gradient the differences contradict raises under strict checks, and is marked failed otherwise."""
    checked, point = _with_a_wrong_gradient(LEAST_SQUARES)
    with pytest.raises(
        WrongStepError, match=r"central differences contradict the gradient by \['x'\]"
    ):
        evaluate_at_point(checked, point)
    monkeypatch.delenv("CHAINSOLVE_STRICT_CHECKS")
    evaluation = evaluate_at_point(checked, point)
    assert [check.status for check in evaluation.checks] == ["failed", "passed"]
    assert not evaluation.verified


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html"])
def test_a_contradicted_gradient_is_said_in_every_format(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Without strict checks, a gradient the differences contradict is flagged, and no verified line is shown."""
    from chainsolve.matrix.formats import render_matrix_solution
    from chainsolve.matrix.solve import MatrixSolution

    monkeypatch.delenv("CHAINSOLVE_STRICT_CHECKS")
    checked, point = _with_a_wrong_gradient(LEAST_SQUARES)
    page = render_matrix_solution(MatrixSolution(checked), fmt, evaluate_at_point(checked, point))  # type: ignore[arg-type]
    assert "A gradient disagrees with its central differences" in page
    assert "every step agrees" not in page
