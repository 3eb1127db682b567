"""`chainsolve gradients`: each factor and δ against sympy.diff of the flattened chain; outputs; plot."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import mpmath
import pytest
import sympy
from click.testing import CliRunner

from chainsolve import api
from chainsolve.cli import main
from chainsolve.errors import ChainsolveError
from chainsolve.gradview import delta_series, plot_matplotlib, plot_svg, render_gradients
from chainsolve.vanishing import MAX_DEPTH, GradientStudy, gradient_study
from tests.conftest import compile_latex

#: The activations written with sympy's own functions only: the oracle knows nothing of chainsolve's.
ORACLE: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sigmoid": lambda u: 1 / (1 + sympy.exp(-u)),
    "tanh": sympy.tanh,
    "relu": lambda u: sympy.Max(0, u),
    "softplus": lambda u: sympy.log(1 + sympy.exp(u)),
}
#: Points (x, w, b) away from relu's kink, shrinking and growing.
POINTS = [
    {"x": sympy.Rational(1, 2), "w": sympy.Integer(1), "b": sympy.Integer(0)},
    {"x": sympy.Rational(-3, 4), "w": sympy.Rational(3, 2), "b": sympy.Rational(1, 3)},
    {"x": sympy.Integer(2), "w": sympy.Integer(3), "b": sympy.Rational(-1, 5)},
]
t = sympy.Symbol("t", real=True)


def chain(
    activation: str, layers: int, start: sympy.Expr, point: dict[str, sympy.Expr]
) -> sympy.Expr:
    """``layers`` layers of act(w·h + b) applied to ``start``, written out as one expression."""
    h = start
    for _ in range(layers):
        h = ORACLE[activation](point["w"] * h + point["b"])
    return h


def oracle_delta(activation: str, depth: int, k: int, point: dict[str, sympy.Expr]) -> sympy.Float:
    """∂L/∂hₖ by sympy.diff of the flattened rest of the chain, at the exact hₖ, to 40 digits."""
    h_k = sympy.N(chain(activation, k, point["x"], point), 50)
    derivative = sympy.diff(chain(activation, depth - k, t, point), t)
    return sympy.Float(derivative.evalf(40, subs={t: h_k}), 40)


def close(value: object, expected: sympy.Expr, digits: int = 30) -> bool:
    """The mpmath value agrees with the sympy number to ``digits`` significant digits."""
    computed = sympy.Float(mpmath.nstr(value, 45), 45)
    if expected == 0:
        return bool(computed.is_zero)
    return bool(abs(computed - expected) <= abs(expected) * sympy.Float(10) ** -digits)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus"])
@pytest.mark.parametrize("point", POINTS, ids=["defaults", "shifted", "growing"])
def test_every_delta_equals_sympy_diff_of_the_flattened_chain(
    activation: str, point: dict[str, sympy.Expr]
) -> None:
    """δₖ = ∂L/∂hₖ of every layer equals sympy.diff of the rest of the chain at hₖ (30 digits)."""
    depth = 6
    profile = gradient_study(depth, activation, point).profiles[0]
    for layer in profile.layers:
        assert close(layer.delta.decimal, oracle_delta(activation, depth, layer.index, point))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus"])
def test_every_factor_equals_the_derivative_of_its_layer(activation: str) -> None:
    """Each layer's factor act′(aₖ)·w equals sympy.diff of act(w·t + b) at t = hₖ₋₁."""
    point = POINTS[1]
    depth = 6
    layers = gradient_study(depth, activation, point).profiles[0].layers
    for layer in layers[1:]:
        before = chain(activation, layer.index - 1, point["x"], point)
        local = sympy.diff(chain(activation, 1, t, point), t).subs(t, before)
        assert layer.factor is not None
        assert close(layer.factor.decimal, sympy.N(local, 40))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus"])
def test_input_gradient_of_a_deep_chain_matches_finite_differences(activation: str) -> None:
    """∂L/∂x of a 40-layer chain agrees with mpmath's finite difference of the forward pass."""
    point = {"x": sympy.Rational(1, 3), "w": sympy.Rational(5, 4), "b": sympy.Rational(-1, 10)}
    profile = gradient_study(40, activation, point).profiles[0]
    function = {"sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)), "tanh": mpmath.tanh}.get(
        activation, lambda u: mpmath.log(1 + mpmath.exp(u))
    )

    def forward(x: object) -> object:
        h = x
        for _ in range(40):
            h = function(mpmath.mpf(5) / 4 * h - mpmath.mpf(1) / 10)
        return h

    with mpmath.workdps(60):
        reference = mpmath.diff(forward, mpmath.mpf(1) / 3)
    assert close(profile.input_delta.decimal, sympy.Float(mpmath.nstr(reference, 50), 50), 25)


def test_relu_input_gradient_is_exactly_w_to_the_depth_as_sympy_says() -> None:
    """relu with every unit active: ∂L/∂x = w²⁰ exactly, equal to sympy.diff of the flattened chain."""
    point = {"x": sympy.Rational(1, 2), "w": sympy.Integer(2), "b": sympy.Integer(0)}
    profile = gradient_study(20, "relu", point).profiles[0]
    expected = sympy.diff(chain("relu", 20, t, point), t).subs(t, point["x"])
    assert profile.input_delta.exact == expected == 2**20
    assert profile.trend == "grows"


def test_exact_values_equal_their_decimals() -> None:
    """Every exact value shown (where short) has the decimal value given beside it."""
    study = gradient_study(5, "sigmoid,tanh,relu,softplus", POINTS[1])
    shown = 0
    for profile in study.profiles:
        for layer in profile.layers:
            for value in (layer.output, layer.slope, layer.factor, layer.delta):
                if value is not None and value.exact is not None:
                    shown += 1
                    assert close(value.decimal, sympy.N(value.exact, 40))
    assert shown > 10


def test_slopes_keep_to_the_bounds_the_notes_state() -> None:
    """σ′ ≤ ¼, tanh′ ≤ 1, relu′ ∈ {0, 1}, softplus′ in (0, 1) at every layer, as the notes say."""
    study = gradient_study(30, "sigmoid,tanh,relu,softplus", POINTS[1])
    bounds = {"sigmoid": 0.25, "tanh": 1, "relu": 1, "softplus": 1}
    for profile in study.profiles:
        for layer in profile.layers[1:]:
            assert layer.slope is not None
            assert 0 <= layer.slope.decimal <= bounds[profile.activation]
            if profile.activation == "relu":
                assert layer.slope.decimal in (0, 1)


def test_sigmoid_vanishes_and_relu_keeps_its_size_at_the_defaults() -> None:
    """At x = 1/2, w = 1, b = 0 over 20 layers: sigmoid's gradient vanishes (< ¼²⁰ ·4), relu's stays 1."""
    sigmoid, tanh, relu = gradient_study().profiles
    assert sigmoid.trend == "shrinks" and abs(sigmoid.input_delta.decimal) < mpmath.mpf(0.25) ** 19
    assert tanh.trend == "shrinks"
    assert relu.trend == "stays" and relu.input_delta.exact == 1


def test_relu_at_its_kink_takes_the_convention_and_dies() -> None:
    """relu with aₖ = 0 exactly: the layers are listed, relu′(0) = 0, and ∂L/∂x = 0."""
    point = {"x": sympy.Integer(2), "w": sympy.Integer(-1)}
    profile = gradient_study(5, "relu", point).profiles[0]
    assert profile.kinks == (2, 3, 4, 5)
    assert profile.trend == "dies" and profile.input_delta.exact == 0
    text = render_gradients(gradient_study(5, "relu", point), "text").text
    assert "aₖ = 0 exactly at layers 2, 3, 4, 5: relu′(0) = 0" in text
    html = render_gradients(gradient_study(5, "relu", point), "html").text
    assert "|δ| = 0 has no place on a log scale" in html


def test_values_far_below_a_double_are_kept() -> None:
    """200 sigmoid layers with w = 1/100: |∂L/∂x| ≈ 10⁻⁵²⁰, neither 0 nor a float underflow."""
    study = gradient_study(MAX_DEPTH, "sigmoid", {"w": sympy.Rational(1, 100)})
    size = study.profiles[0].input_delta.decimal
    assert size != 0 and mpmath.log10(abs(size)) < -500
    data = json.loads(render_gradients(study, "json").text)
    assert data["activations"][0]["input_gradient"]["decimal"].endswith(
        mpmath.nstr(size, 15).split("e")[1]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--depth", "201"], "--depth 201 is out of range: a chain has 1 to 200 layers"),
        (["--depth", "0"], "0 is not in the range x>=1"),
        (["--activation", "swish"], "'swish' is not an activation chainsolve chains"),
        (["--activation", "relu,relu"], "names each activation once"),
        (["--at", "y=2"], "--at gives 'y', but the chain's values are x, w, b"),
        (["--at", "x=sqrt(-1)"], "not a real number"),
        (["--at", "w=x"], "cannot use the name 'x'"),
    ],
)
def test_bad_options_are_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    """A depth out of range, an unknown activation or a bad value: one error line, exit 2."""
    result = CliRunner().invoke(main, ["gradients", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_api_gradients_takes_the_cli_values_and_refuses_wrong_types() -> None:
    """chainsolve.api.gradients reads 'x=..,w=..' and a mapping alike; a wrong type is a TypeError."""
    by_text = api.gradients(depth=4, activations=["tanh"], at="w=2,b=1/3")
    by_mapping = api.gradients(depth=4, activations="tanh", at={"w": 2, "b": "1/3"})
    assert by_text.profiles[0].layers == by_mapping.profiles[0].layers
    with pytest.raises(TypeError, match="depth"):
        api.gradients(depth="4")  # type: ignore[arg-type]
    with pytest.raises(ChainsolveError, match="out of range"):
        api.gradients(depth=MAX_DEPTH + 1)
    assert api.gradients(depth=3, width=2).width == 2


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "html", "json"])
def test_every_format_is_deterministic_and_lists_every_layer(fmt: str) -> None:
    """Each format renders the same twice and has one table row per layer (0..n)."""
    study = gradient_study(12, "sigmoid,relu", POINTS[1])
    first = render_gradients(study, fmt, plot_name=None).text  # type: ignore[arg-type]
    assert first == render_gradients(gradient_study(12, "sigmoid,relu", POINTS[1]), fmt).text  # type: ignore[arg-type]
    if fmt == "json":
        data = json.loads(first)
        assert [len(a["layers"]) for a in data["activations"]] == [13, 13]
        return
    rows = {
        "text": r"^ (\d+) ",
        "markdown": r"^\| (\d+) \|",
        "latex": r"^(\d+) &",
        "html": r'<th scope="row">k = (\d+)</th>',
    }[fmt]
    assert [int(n) for n in re.findall(rows, first, re.MULTILINE)] == list(range(13))


def test_json_holds_each_layer_with_exact_and_decimal_values() -> None:
    """The JSON (validated against its schema in the suite) has every layer's factor and δ."""
    study = gradient_study(6, "relu,tanh", {"w": sympy.Integer(2)})
    data = json.loads(render_gradients(study, "json").text)
    relu = data["activations"][0]
    assert relu["input_gradient"] == {"decimal": "64.0", "exact": "64"}
    assert [layer["factor"] for layer in relu["layers"][:2]] == [
        None,
        {"decimal": "2.0", "exact": "2"},
    ]
    tanh = data["activations"][1]
    assert tanh["layers"][1]["slope"]["exact"] == "1 - tanh(1)**2"
    assert data["point"] == {"x": "1/2", "w": "2", "b": "0"}


def _polylines(svg: str) -> list[list[tuple[float, float]]]:
    lines = re.findall(r'<polyline points="([^"]*)"', svg)
    return [[tuple(map(float, p.split(","))) for p in line.split()] for line in lines]  # type: ignore[misc]


def test_svg_plot_has_one_line_per_activation_on_a_log_scale() -> None:
    """One polyline per activation with a title and description; heights are log₁₀|δ| mapped linearly."""
    study = gradient_study(15, "sigmoid,tanh,relu", {"w": sympy.Rational(3, 2)})
    svg = plot_svg(study)
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    lines = _polylines(svg)
    assert len(lines) == 3
    for line, profile in zip(lines, study.profiles, strict=True):
        logs = [y for _, y in delta_series(profile).points]
        assert len(line) == len(logs) == 16
        # y = a - b·log₁₀|δ| with the same a, b for every point of every line.
        slope = (line[0][1] - line[-1][1]) / (logs[0] - logs[-1])
        for (_, y), log in zip(line, logs, strict=True):
            assert y == pytest.approx(line[-1][1] + slope * (log - logs[-1]), abs=0.11)
        assert slope < 0


def test_html_embeds_the_svg_plot() -> None:
    """The HTML page holds the plot as inline SVG and the table of every layer."""
    html = render_gradients(gradient_study(5), "html").text
    assert html.count("<svg") == 1 and html.count("<polyline") == 3
    assert "<table>" in html


def test_latex_without_matplotlib_says_why_the_plot_is_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without matplotlib the LaTeX says the plot is absent because matplotlib is not installed."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    rendered = render_gradients(gradient_study(4), "latex", plot_name="g-plot.pdf")
    assert rendered.files == {}
    assert "needs matplotlib, which is not installed" in rendered.text
    assert "includegraphics" not in rendered.text


def test_latex_on_standard_output_says_the_plot_has_no_file() -> None:
    """LaTeX with no file to write the plot beside says so instead of including one."""
    text = render_gradients(gradient_study(4), "latex").text
    assert "no file beside it" in text and "includegraphics" not in text


def _compile(directory: Path, name: str) -> None:
    """Compile the document the command wrote to ``directory/name`` (its plot beside it)."""
    document = (directory / name).read_text(encoding="utf-8")
    compile_latex(document, directory, name.removesuffix(".tex"), timeout=240)


def test_latex_with_its_plot_compiles(tmp_path: Path) -> None:
    """`--output g.tex` writes the plot beside it (matplotlib) and the document compiles with it."""
    pytest.importorskip("matplotlib")
    result = CliRunner().invoke(
        main, ["gradients", "--depth", "30", "--at", "w=2", "-o", str(tmp_path / "g.tex")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g-plot.pdf").read_bytes().startswith(b"%PDF")
    assert r"\includegraphics[width=0.9\textwidth]{g-plot.pdf}" in (tmp_path / "g.tex").read_text()
    _compile(tmp_path, "g.tex")


def test_latex_without_the_plot_compiles(tmp_path: Path) -> None:
    """The LaTeX that says its plot is absent (a relu chain at its kink) compiles too."""
    study = gradient_study(8, "relu,sigmoid", {"x": sympy.Integer(2), "w": sympy.Integer(-1)})
    (tmp_path / "g.tex").write_text(render_gradients(study, "latex").text, encoding="utf-8")
    _compile(tmp_path, "g.tex")


def test_matplotlib_plot_is_the_same_bytes_each_run() -> None:
    """The PDF and PNG plots carry no creation date: the same study gives the same bytes."""
    pytest.importorskip("matplotlib")
    study = gradient_study(10)
    for fmt in ("pdf", "png"):
        assert plot_matplotlib(study, fmt) == plot_matplotlib(gradient_study(10), fmt)  # type: ignore[arg-type]


def test_cli_writes_the_chosen_format() -> None:
    """`chainsolve gradients --format markdown` prints the Markdown table, exit 0."""
    result = CliRunner().invoke(main, ["gradients", "--depth", "3", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Vanishing and exploding gradients: a chain of 3 layers")


def test_study_type() -> None:
    """gradient_study returns a GradientStudy naming its activations in the order asked for."""
    study = gradient_study(2, "relu,sigmoid")
    assert isinstance(study, GradientStudy) and study.activations == ("relu", "sigmoid")


def test_help_shows_the_chain_and_an_example() -> None:
    """`chainsolve gradients --help` states the chain and has a `chainsolve gradients` example."""
    result = CliRunner().invoke(main, ["gradients", "--help"])
    assert result.exit_code == 0
    assert "h_k = act(w*h_(k-1) + b)" in result.output
    assert re.search(r"^\s+chainsolve gradients --depth", result.output, flags=re.MULTILINE)


def test_gradients_schema_is_a_draft_2020_12_schema() -> None:
    """The shipped gradients schema is itself a valid draft 2020-12 schema."""
    jsonschema = pytest.importorskip("jsonschema")
    from chainsolve.jsonout import json_schema

    schema = json_schema("gradients")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


# --- matrix form (--width): the matrix core's backward pass at the point -----------------


def matrix_chain(
    activation: str, width: int, point: dict[str, sympy.Expr]
) -> Callable[..., object]:
    """``layers(start, count)``: the matrix chain written out with sympy Matrices, nothing else."""
    from chainsolve.matrix.vanishing import weights

    weight = weights(width, point["w"])
    bias = sympy.ones(width, 1) * point["b"]
    act = ORACLE[activation]

    def layers(start: sympy.Matrix, count: int) -> sympy.Matrix:
        h = start
        for _ in range(count):
            h = (weight * h + bias).applyfunc(act)
        return h

    return layers


def test_matrix_form_norms_equal_sympy_diff_of_the_expanded_chain() -> None:
    """--width 2: ‖δₖ‖ of every layer equals the norm of sympy.diff of L = sum(hₙ) entry by entry."""
    point = {"x": sympy.Rational(1, 2), "w": sympy.Rational(3, 2), "b": sympy.Rational(1, 5)}
    depth, width = 3, 2
    study = gradient_study(depth, "sigmoid", point, width=width)
    layers = matrix_chain("sigmoid", width, point)
    entries = sympy.Matrix(sympy.symbols(f"t1:{width + 1}", real=True))
    for layer in study.profiles[0].layers:
        k = layer.index
        h_k = layers(sympy.ones(width, 1) * point["x"], k).evalf(50)
        loss = sum(layers(entries, depth - k))
        values = dict(zip(entries, h_k, strict=True))
        gradient = [sympy.diff(loss, entry).evalf(45, subs=values) for entry in entries]
        assert close(layer.delta.decimal, sympy.sqrt(sum(g**2 for g in gradient)).evalf(40), 25)


#: The activations for mpmath, written here (not the registry's): the finite differences' forward pass.
MPMATH_ORACLE: dict[str, Callable[[object], object]] = {
    "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)),
    "tanh": mpmath.tanh,
    "relu": lambda u: max(mpmath.mpf(0), u),
    "softplus": lambda u: mpmath.log(1 + mpmath.exp(u)),
}


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus"])
def test_matrix_form_norms_match_finite_differences(activation: str) -> None:
    """--width 3, 6 layers: ‖δₖ‖ equals the norm of the central-difference gradient of L at hₖ."""
    from chainsolve.matrix.vanishing import weights

    point = {"x": sympy.Rational(1, 2), "w": sympy.Rational(3, 2), "b": sympy.Rational(1, 5)}
    depth, width = 6, 3
    study = gradient_study(depth, activation, point, width=width)
    act = MPMATH_ORACLE[activation]
    with mpmath.workdps(90):
        weight = mpmath.matrix(weights(width, point["w"]).tolist())
        bias = mpmath.matrix([mpmath.mpf(1) / 5] * width)

        def layers(h: object, count: int) -> object:
            for _ in range(count):
                a = weight * h + bias
                h = mpmath.matrix([act(a[i]) for i in range(width)])
            return h

        step = mpmath.mpf(10) ** -25
        for layer in study.profiles[0].layers:
            k = layer.index
            h_k = layers(mpmath.matrix([mpmath.mpf(1) / 2] * width), k)
            gradient = []
            for i in range(width):
                nudge = mpmath.matrix([step if j == i else 0 for j in range(width)])
                up = mpmath.fsum(layers(h_k + nudge, depth - k))
                down = mpmath.fsum(layers(h_k - nudge, depth - k))
                # The central difference: its error is of the order of step², 1e-50.
                gradient.append((up - down) / (2 * step))
            expected = mpmath.sqrt(mpmath.fsum(g**2 for g in gradient))
            assert close(layer.delta.decimal, sympy.Float(mpmath.nstr(expected, 45), 45), 20)


def test_matrix_form_factors_keep_to_the_norm_bound() -> None:
    """Each matrix factor ‖δₖ₋₁‖/‖δₖ‖ is at most ‖W‖₂ times the activation's largest slope."""
    study = gradient_study(30, "sigmoid,tanh,softplus", {"w": sympy.Integer(2)}, width=5)
    assert study.weight_norm is not None
    for profile in study.profiles:
        bound = study.weight_norm * {"sigmoid": 0.25}.get(profile.activation, 1)
        for layer in profile.layers[1:]:
            assert layer.factor is not None and layer.factor.decimal <= bound


def test_matrix_form_shows_the_cores_backward_steps() -> None:
    """The text names the matrix core's steps of the last layer: δ_a6 = δ_h6 ⊙ σ′(a6), δ_h5 = Wᵀ·δ_a6."""
    text = render_gradients(gradient_study(6, "sigmoid", None, width=2), "text").text
    assert "(δ_a6 = δ_h6 ⊙ σ′(a6), δ_h5 = Wᵀ·δ_a6)" in text
    assert "‖W‖₂ = " in text and "each factor is at most ‖W‖₂ × 1/4" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--width", "17"], "--width 17 is out of range: a layer has 1 to 16 units"),
        (["--width", "16", "--depth", "100"], "too much work"),
    ],
)
def test_matrix_form_bounds_are_one_clear_line(args: list[str], message: str) -> None:
    """A width beyond 16, or depth × width² beyond the bound: one error line, exit 2."""
    result = CliRunner().invoke(main, ["gradients", *args])
    assert result.exit_code == 2 and message in result.output


def test_matrix_form_latex_compiles_and_json_has_the_weights(tmp_path: Path) -> None:
    """--width 4: the LaTeX (bmatrix of W) compiles; the JSON holds W, ‖W‖₂ and each ‖δ‖."""
    study = gradient_study(8, None, None, width=4)
    (tmp_path / "m.tex").write_text(render_gradients(study, "latex").text, encoding="utf-8")
    _compile(tmp_path, "m.tex")
    data = json.loads(render_gradients(study, "json").text)
    assert data["width"] == 4 and len(data["weights"]) == 4
    assert [len(a["layers"]) for a in data["activations"]] == [9, 9, 9]
