"""Independent NumPy references for the matrix problems of issue 17: forward pass, central differences."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Point = Mapping[str, Array]

#: Step of the central differences: the truncation error (h²·f‴) and the rounding error
#: (ε/h) are both near 1e-10 for these smooth, order-one losses.
STEP = 1e-6


def sigmoid(a: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-a))


def relu(a: Array) -> Array:
    return np.maximum(a, 0.0)


def softmax(z: Array) -> Array:
    shifted = np.exp(z - np.max(z))
    return shifted / np.sum(shifted)


@dataclass(frozen=True)
class Network:
    """One problem: its chainsolve text and shapes, a point, its loss in NumPy, its gradients by hand."""

    name: str
    problem: str
    shapes: str
    wrt: tuple[str, ...]
    point: Mapping[str, object]
    loss: Callable[[Point], float]
    analytic: Callable[[Point], dict[str, Array]]

    def arrays(self) -> dict[str, Array]:
        """The point as float arrays: a vector is a column n×1, a number 1×1 (the model's shapes)."""
        return {name: as_column(value) for name, value in self.point.items()}


def as_column(value: object) -> Array:
    array = np.array(value, dtype=np.float64)
    if array.ndim == 0:
        return array.reshape(1, 1)
    if array.ndim == 1:
        return array.reshape(-1, 1)
    return array


def central_differences(loss: Callable[[Point], float], point: Point, name: str) -> Array:
    """∂loss/∂name at ``point``, entry by entry: (loss(θ + h) − loss(θ − h)) / 2h."""
    gradient = np.zeros_like(point[name])
    for index in np.ndindex(point[name].shape):
        values = []
        for sign in (1.0, -1.0):
            moved = {key: value.copy() for key, value in point.items()}
            moved[name][index] += sign * STEP
            values.append(loss(moved))
        gradient[index] = (values[0] - values[1]) / (2 * STEP)
    return gradient


def _two_layer_sigmoid_loss(p: Point) -> float:
    z = p["W2"] @ sigmoid(p["W1"] @ p["x"] + p["b1"]) + p["b2"]
    return float(0.5 * np.sum((z - p["y"]) ** 2))


def _two_layer_sigmoid_gradients(p: Point) -> dict[str, Array]:
    a = p["W1"] @ p["x"] + p["b1"]
    h = sigmoid(a)
    delta2 = p["W2"] @ h + p["b2"] - p["y"]
    delta1 = (p["W2"].T @ delta2) * h * (1 - h)
    return {"W1": delta1 @ p["x"].T, "b1": delta1, "W2": delta2 @ h.T, "b2": delta2}


def _relu_loss(p: Point) -> float:
    z = p["W2"] @ relu(p["W1"] @ p["x"] + p["b1"]) + p["b2"]
    # nn.MSELoss of one output: the mean of one squared error.
    return float(np.mean((z - p["y"]) ** 2))


def _relu_gradients(p: Point) -> dict[str, Array]:
    a = p["W1"] @ p["x"] + p["b1"]
    h = relu(a)
    delta2 = 2 * (p["W2"] @ h + p["b2"] - p["y"])
    delta1 = (p["W2"].T @ delta2) * (a > 0)
    return {"W1": delta1 @ p["x"].T, "b1": delta1, "W2": delta2 @ h.T, "b2": delta2}


def _dot_neuron_loss(p: Point) -> float:
    # z = torch.dot(w, x) + b; loss = z.sum()
    return float(np.sum(p["w"].T @ p["x"] + p["b"]))


def _dot_neuron_gradients(p: Point) -> dict[str, Array]:
    return {"w": p["x"].copy(), "x": p["w"].copy(), "b": np.ones_like(p["b"])}


def _softmax_loss(p: Point) -> float:
    probabilities = softmax(p["W"] @ p["x"] + p["b"])
    return float(-np.sum(p["y"] * np.log(probabilities)))


def _softmax_gradients(p: Point) -> dict[str, Array]:
    delta = softmax(p["W"] @ p["x"] + p["b"]) - p["y"]
    return {"W": delta @ p["x"].T, "b": delta, "x": p["W"].T @ delta}


def _logistic_loss(p: Point) -> float:
    probability = sigmoid(p["w"].T @ p["x"] + p["b"])
    y = p["y"]
    return float(np.sum(-(y * np.log(probability) + (1 - y) * np.log(1 - probability))))


def _logistic_gradients(p: Point) -> dict[str, Array]:
    delta = sigmoid(p["w"].T @ p["x"] + p["b"]) - p["y"]
    return {"w": p["x"] @ delta, "b": delta}


def _least_squares_loss(p: Point) -> float:
    return float(np.sum((p["A"] @ p["x"] - p["y"]) ** 2))


def _least_squares_gradients(p: Point) -> dict[str, Array]:
    residual = p["A"] @ p["x"] - p["y"]
    return {"x": 2 * p["A"].T @ residual, "A": 2 * residual @ p["x"].T}


def _broadcast_bias_loss(p: Point) -> float:
    # b is 1×1: NumPy broadcasts it over the 3 entries of W @ x, as chainsolve does.
    return float(np.sum((p["W"] @ p["x"] + p["b"] - p["y"]) ** 2))


def _broadcast_bias_gradients(p: Point) -> dict[str, Array]:
    residual = p["W"] @ p["x"] + p["b"] - p["y"]
    return {"W": 2 * residual @ p["x"].T, "b": np.array([[2 * np.sum(residual)]])}


def _shifted_sigmoid_loss(p: Point) -> float:
    return float(np.sum(sigmoid(p["x"] + p["c"])))


def _shifted_sigmoid_gradients(p: Point) -> dict[str, Array]:
    h = sigmoid(p["x"] + p["c"])
    slope = h * (1 - h)
    return {"x": slope, "c": np.array([[np.sum(slope)]])}


TWO_LAYER_SIGMOID = Network(
    name="two_layer_sigmoid",
    problem="a = W1*x + b1; h = sigmoid(a); z = W2*h + b2; L = 1/2*norm2(z - y)^2",
    shapes="x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1",
    wrt=("W1", "b1", "W2", "b2"),
    point={
        "x": [1.0, 2.0],
        "W1": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
        "b1": [0.1, -0.2, 0.3],
        "W2": [[0.7, -0.8, 0.9]],
        "b2": [0.1],
        "y": [0.5],
    },
    loss=_two_layer_sigmoid_loss,
    analytic=_two_layer_sigmoid_gradients,
)

#: The seed's PyTorch network, nn.Linear(2, 3) → relu → nn.Linear(3, 1), nn.MSELoss, with the
#: weights stated (PyTorch draws them at random): the second hidden unit is switched off.
RELU_2_3_1 = Network(
    name="relu_2_3_1",
    problem="a = W1*x + b1; h = relu(a); z = W2*h + b2; L = norm2(z - y)^2",
    shapes="x: 2, W1: 3x2, b1: 3, W2: 1x3, b2: 1, y: 1",
    wrt=("W1", "b1", "W2", "b2"),
    point={
        "x": [1.0, 2.0],
        "W1": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]],
        "b1": [0.1, 0.2, -0.3],
        "W2": [[0.7, -0.8, 0.9]],
        "b2": [0.1],
        "y": [0.5],
    },
    loss=_relu_loss,
    analytic=_relu_gradients,
)

#: The seed's dot-product neuron: z = torch.dot(w, x) + b, loss = z.sum().
DOT_NEURON = Network(
    name="dot_neuron",
    problem="L = dot(w, x) + b",
    shapes="x: 2, w: 2, b: 1",
    wrt=("w", "x", "b"),
    point={"x": [1.0, 2.0], "w": [2.0, -1.0], "b": [0.5]},
    loss=_dot_neuron_loss,
    analytic=_dot_neuron_gradients,
)

SOFTMAX_CLASSIFIER = Network(
    name="softmax_classifier",
    problem="z = W*x + b; p = softmax(z); L = cross_entropy(p, y)",
    shapes="x: 2, W: 3x2, b: 3, y: 3",
    wrt=("W", "b"),
    point={
        "x": [1.0, -2.0],
        "W": [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.6]],
        "b": [0.0, 0.1, -0.1],
        "y": [0.0, 1.0, 0.0],
    },
    loss=_softmax_loss,
    analytic=_softmax_gradients,
)

LOGISTIC_REGRESSION = Network(
    name="logistic_regression",
    problem="p = sigmoid(dot(w, x) + b); L = -(y*log(p) + (1 - y)*log(1 - p))",
    shapes="x: 2, w: 2, b: 1, y: 1",
    wrt=("w", "b"),
    point={"x": [1.5, -0.5], "w": [0.4, 0.8], "b": [-0.2], "y": [1.0]},
    loss=_logistic_loss,
    analytic=_logistic_gradients,
)

LEAST_SQUARES = Network(
    name="least_squares",
    problem="L = norm2(A*x - y)^2",
    shapes="A: 3x2, x: 2, y: 3",
    wrt=("x", "A"),
    point={
        "A": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        "x": [0.5, -1.0],
        "y": [1.0, 0.0, 2.0],
    },
    loss=_least_squares_loss,
    analytic=_least_squares_gradients,
)

#: A scalar bias broadcast over a layer's outputs: ∂L/∂b is the sum of δ over its copies.
BROADCAST_BIAS = Network(
    name="broadcast_bias",
    problem="a = W*x + b; L = norm2(a - y)^2",
    shapes="x: 2, W: 3x2, b: 1, y: 3",
    wrt=("W", "b"),
    point={
        "x": [1.0, 2.0],
        "W": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]],
        "b": [0.25],
        "y": [0.5, -1.0, 2.0],
    },
    loss=_broadcast_bias_loss,
    analytic=_broadcast_bias_gradients,
)

#: A declared 1×1 shift c broadcast inside an elementwise σ.
SHIFTED_SIGMOID = Network(
    name="shifted_sigmoid",
    problem="L = sum(sigmoid(x + c))",
    shapes="x: 2, c: 1",
    wrt=("x", "c"),
    point={"x": [1.0, -2.0], "c": [0.5]},
    loss=_shifted_sigmoid_loss,
    analytic=_shifted_sigmoid_gradients,
)

NETWORKS = (
    TWO_LAYER_SIGMOID,
    RELU_2_3_1,
    DOT_NEURON,
    SOFTMAX_CLASSIFIER,
    LOGISTIC_REGRESSION,
    LEAST_SQUARES,
    BROADCAST_BIAS,
    SHIFTED_SIGMOID,
)
