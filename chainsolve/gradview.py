"""Show a gradient study: tables through the templates, the |δ| plot as SVG and, with matplotlib, PDF/PNG."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import field
from html import escape
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import mpmath
import sympy

from chainsolve import wording
from chainsolve.record import record
from chainsolve.vanishing import ACTIVATIONS, DEFAULT_POINT, GradientStudy, Profile, Real, Value

Format = Literal["text", "markdown", "latex", "html", "json"]
PlotFormat = Literal["pdf", "png"]

#: The main template of each format (in templates/<format>/).
TEMPLATE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "text": "gradients.txt.jinja",
        "markdown": "gradients.md.jinja",
        "latex": "gradients.tex.jinja",
        "html": "gradients.html.jinja",
    }
)
#: Significant digits in the tables, and in the JSON's decimals.
TABLE_DIGITS = 4
JSON_DIGITS = 15
#: One stroke per activation, told apart by dashes as well as colour (and by the legend).
STROKES: tuple[tuple[str, str], ...] = (
    ("#1f5fa8", ""),
    ("#b8431b", "8 4"),
    ("#2e7d32", "2 3"),
    ("#6a3d9a", "10 3 2 3"),
)
#: The SVG plot's size and the margins around its axes, in pixels.
SVG_WIDTH, SVG_HEIGHT = 640, 360
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 120, 20, 48
#: At most this many labelled ticks on an axis.
MAX_TICKS = 10


@record
class Rendered:
    """A rendered study and the files that go beside it (the LaTeX document's plot)."""

    text: str
    files: Mapping[str, bytes] = field(default_factory=dict)


@record
class Series:
    """One activation's line: (layer, log₁₀|δ|) for each layer where δ is not 0."""

    activation: str
    points: tuple[tuple[int, float], ...]
    has_zero: bool


def _split(value: Any, digits: int = TABLE_DIGITS) -> tuple[str, int | None]:
    """A number as a short mantissa and a power of ten (None when it is written in full)."""
    text = mpmath.nstr(value, digits, min_fixed=-3, max_fixed=5)
    mantissa, _, exponent = text.partition("e")
    mantissa = mantissa.removesuffix(".0")
    return mantissa, int(exponent) if exponent else None


def number_text(value: Value | Real | None) -> str:
    """A table's number as plain text: ``0.2247``, ``1.143e-13``; empty for no value."""
    if value is None:
        return ""
    mantissa, exponent = _split(value.decimal if isinstance(value, Value) else value)
    return mantissa if exponent is None else f"{mantissa}e{exponent}"


def number_latex(value: Value | Real | None) -> str:
    """A table's number for LaTeX maths: ``1.143 \\cdot 10^{-13}``."""
    if value is None:
        return ""
    mantissa, exponent = _split(value.decimal if isinstance(value, Value) else value)
    return mantissa if exponent is None else rf"{mantissa} \cdot 10^{{{exponent}}}"


def number_html(value: Value | Real | None) -> str:
    """A table's number for HTML: ``1.143 × 10<sup>−13</sup>``."""
    if value is None:
        return ""
    mantissa, exponent = _split(value.decimal if isinstance(value, Value) else value)
    mantissa = mantissa.replace("-", "−")
    if exponent is None:
        return mantissa
    return f"{mantissa} × 10<sup>{str(exponent).replace('-', '−')}</sup>"


def delta_series(profile: Profile) -> Series:
    """The points of one activation's line: log₁₀|δₖ| by layer k, zeros left out."""
    points = []
    with mpmath.workdps(30):
        for layer in profile.layers:
            size = abs(layer.delta.decimal)
            if size != 0:
                points.append((layer.index, float(mpmath.log10(size))))
    return Series(profile.activation, tuple(points), len(points) < len(profile.layers))


def _ticks(low: float, high: float) -> tuple[int, ...]:
    """Whole powers of ten from ``low`` to ``high``, at most :data:`MAX_TICKS` of them."""
    step = max(1, -(-(high - low) // MAX_TICKS))
    start = int(low // step * step)
    return tuple(range(start, int(high) + 1, int(step)))


def _y_range(series: Sequence[Series]) -> tuple[int, int]:
    """Whole decades around every point, at least one each side of a flat line."""
    values = [y for line in series for _, y in line.points] or [0.0]
    low, high = int(mpmath.floor(min(values))), int(mpmath.ceil(max(values)))
    if low == high:
        low, high = low - 1, high + 1
    return low, high


def plot_svg(study: GradientStudy) -> str:
    """The plot of log₁₀|δ| by layer as hand-written SVG, one polyline per activation, with a legend."""
    series = [delta_series(profile) for profile in study.profiles]
    low, high = _y_range(series)
    inner_w = SVG_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    inner_h = SVG_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(layer: float) -> float:
        return MARGIN_LEFT + inner_w * layer / study.depth

    def py(log: float) -> float:
        return MARGIN_TOP + inner_h * (high - log) / (high - low)

    title = wording.gradients_plot_title(study.depth, study.width)
    description = wording.gradients_plot_description(
        [
            (line.activation, number_text(p.input_delta))
            for line, p in zip(series, study.profiles, strict=True)
        ]
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" '
        f'width="{SVG_WIDTH}" height="{SVG_HEIGHT}" role="img" fill="currentColor" '
        'font-family="sans-serif" aria-labelledby="gradients-title gradients-desc" class="gradients-plot">',
        f'<title id="gradients-title">{escape(title)}</title>',
        f'<desc id="gradients-desc">{escape(description)}</desc>',
        f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{inner_w}" height="{inner_h}" '
        'fill="none" stroke="#888"/>',
    ]
    for tick in _ticks(low, high):
        y = py(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{MARGIN_LEFT + inner_w}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12">'
            f'10<tspan baseline-shift="super" font-size="9">{tick}</tspan></text>'
        )
    for tick in _ticks(0, study.depth):
        x = px(tick)
        parts.append(
            f'<text x="{x:.1f}" y="{MARGIN_TOP + inner_h + 16}" text-anchor="middle" '
            f'font-size="12">{tick}</text>'
        )
    parts.append(
        f'<text x="{MARGIN_LEFT + inner_w / 2:.1f}" y="{SVG_HEIGHT - 8}" text-anchor="middle" '
        f'font-size="13">{escape(wording.GRADIENT_PLOT_X_LABEL)}</text>'
    )
    parts.append(
        f'<text x="16" y="{MARGIN_TOP + inner_h / 2:.1f}" text-anchor="middle" font-size="13" '
        f'transform="rotate(-90 16 {MARGIN_TOP + inner_h / 2:.1f})">'
        f"{escape(wording.gradients_plot_y_label(study.width is not None))}</text>"
    )
    for number, line in enumerate(series):
        colour, dashes = STROKES[number % len(STROKES)]
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        coordinates = " ".join(f"{px(k):.1f},{py(y):.1f}" for k, y in line.points)
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2"'
            f"{dash}><title>{escape(line.activation)}</title></polyline>"
        )
        legend_y = MARGIN_TOP + 16 + 20 * number
        legend_x = MARGIN_LEFT + inner_w + 12
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 28}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts.append(
            f'<text x="{legend_x + 34}" y="{legend_y}" font-size="12">'
            f"{escape(line.activation)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def plot_matplotlib(study: GradientStudy, fmt: PlotFormat) -> bytes:
    """The same plot drawn by matplotlib (PDF or PNG); raises ImportError without matplotlib.

    Metadata that would change from run to run (the creation date) is left out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series = [delta_series(profile) for profile in study.profiles]
    figure = Figure(figsize=(6.4, 3.6))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for number, line in enumerate(series):
        colour, dashes = STROKES[number % len(STROKES)]
        style = tuple(float(d) for d in dashes.split()) if dashes else ()
        drawn = axes.plot(
            [k for k, _ in line.points],
            [y for _, y in line.points],
            color=colour,
            label=line.activation,
        )
        if style:
            drawn[0].set_dashes(style)
    low, high = _y_range(series)
    axes.set_ylim(low, high)
    axes.set_xlim(0, study.depth)
    axes.set_xticks(list(_ticks(0, study.depth)))
    axes.set_yticks(list(_ticks(low, high)))
    axes.set_yticklabels([f"$10^{{{tick}}}$" for tick in _ticks(low, high)])
    axes.set_xlabel(wording.GRADIENT_PLOT_X_LABEL)
    axes.set_ylabel(wording.gradients_plot_y_label(study.width is not None))
    axes.set_title(wording.gradients_plot_title(study.depth, study.width))
    axes.grid(True, color="#dddddd")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    metadata: dict[str, Any] = (
        {"CreationDate": None, "Creator": None, "Producer": None}
        if fmt == "pdf"
        else {"Software": None}
    )
    figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def plot_file_name(output: str) -> str:
    """The plot's file beside a LaTeX document: ``notes.tex`` → ``notes-plot.pdf``."""
    return Path(output).with_suffix("").name + "-plot.pdf"


def _latex_plot(study: GradientStudy, plot_name: str | None) -> tuple[dict[str, bytes], str | None]:
    """The plot file for a LaTeX document and None, or no file and the reason it is absent."""
    if plot_name is None:
        return {}, "no_file"
    try:
        drawn = plot_matplotlib(study, "pdf")
    except ImportError:
        return {}, "no_matplotlib"
    return {plot_name: drawn}, None


def _setting(study: GradientStudy) -> list[tuple[str, sympy.Expr, bool]]:
    """x, w and b with their values, each marked when it is the default."""
    return [(name, value, value == DEFAULT_POINT[name]) for name, value in study.point.items()]


def _bounds(study: GradientStudy, fmt: str) -> Mapping[str, str]:
    """Each activation's bound in words: with its consequence (scalar), or the slope's alone."""
    if study.width is None:
        return wording.GRADIENT_BOUNDS_LATEX if fmt == "latex" else wording.GRADIENT_BOUNDS
    return wording.GRADIENT_SLOPE_BOUNDS_LATEX if fmt == "latex" else wording.GRADIENT_SLOPE_BOUNDS


def _factor_bounds(study: GradientStudy) -> dict[str, Real]:
    """Matrix form: no layer's factor exceeds ‖W‖₂ times the largest slope of its activation."""
    if study.weight_norm is None:
        return {}
    with mpmath.workdps(30):
        return {
            name: study.weight_norm
            * mpmath.mpf(ACTIVATIONS[name].slope_bound.p)
            / ACTIVATIONS[name].slope_bound.q
            for name in study.activations
        }


#: The widest W the text formats print (wider ones are in the JSON only).
SHOWN_WIDTH = 6


def _weight_rows(study: GradientStudy) -> list[list[Value]] | None:
    """W's entries as decimals, row by row, when W is small enough to print."""
    if study.weights is None or study.weights.cols > SHOWN_WIDTH:
        return None
    with mpmath.workdps(30):
        return [
            [Value(mpmath.mpf(entry.p) / entry.q, entry) for entry in study.weights.row(i)]
            for i in range(study.weights.rows)
        ]


def template_context(study: GradientStudy, fmt: str, *, fragment: bool) -> dict[str, Any]:
    """Everything a gradients template receives: the study, its rows and notes, and the plot."""
    zero_lines = [s.activation for s in map(delta_series, study.profiles) if s.has_zero]
    return {
        "study": study,
        "depth": study.depth,
        "profiles": study.profiles,
        "rows": tuple(zip(*(profile.layers for profile in study.profiles), strict=True)),
        "setting": _setting(study),
        "bounds": _bounds(study, fmt),
        "factor_bounds": _factor_bounds(study),
        "slope_bounds": {name: ACTIVATIONS[name].slope_bound for name in study.activations},
        "weight_rows": _weight_rows(study),
        "trends": wording.GRADIENT_TRENDS,
        "kink_notes": {p.activation: ACTIVATIONS[p.activation].spec.kink for p in study.profiles},
        "all_defaults": all(default for _, _, default in _setting(study)),
        "zero_note": (
            wording.gradients_zero_note(zero_lines, study.width is not None) if zero_lines else None
        ),
        "layer_names": study.activations,
        "width": study.width,
        "weights": None if study.weights is None else study.weights.tolist(),
        "weight_norm": study.weight_norm,
        "size": "‖δ‖" if study.width is not None else "|δ|",
        "matrix_note": (
            wording.GRADIENT_MATRIX_NOTE_LATEX if fmt == "latex" else wording.GRADIENT_MATRIX_NOTE
        ),
        "fragment": fragment,
    }


def _environment(fmt: str, template_dir: str | Path | None) -> Any:
    from chainsolve.render import make_environment

    env = make_environment(fmt, template_dir)
    env.filters["num"] = number_latex if fmt == "latex" else number_text
    if fmt == "html":
        from markupsafe import Markup

        # Our own markup from a number's digits: marked safe once, here.
        env.filters["num"] = lambda value: Markup(number_html(value))
    return env


def render_gradients(
    study: GradientStudy,
    fmt: Format,
    *,
    template_dir: str | Path | None = None,
    fragment: bool = False,
    plot_name: str | None = None,
) -> Rendered:
    """A study in one format; LaTeX includes the plot ``plot_name`` (returned in ``files``).

    Without ``plot_name`` (the document goes to standard output) or without matplotlib the
    LaTeX says that the plot is absent and why.
    """
    if fmt == "json":
        data = gradients_to_dict(study)
        return Rendered(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    context = template_context(study, fmt, fragment=fragment)
    files: dict[str, bytes] = {}
    if fmt == "latex":
        files, absent = _latex_plot(study, plot_name)
        context["plot_file"] = plot_name if files else None
        context["plot_absent"] = None if absent is None else wording.GRADIENT_PLOT_ABSENT[absent]
    if fmt == "html":
        from markupsafe import Markup

        context["plot_svg"] = Markup(plot_svg(study))
    env = _environment(fmt, template_dir)
    return Rendered(env.get_template(TEMPLATE_NAMES[fmt]).render(context), files)


def _value_dict(value: Value | None) -> dict[str, str | None] | None:
    from chainsolve.jsonout import expression_text

    if value is None:
        return None
    return {
        "decimal": mpmath.nstr(value.decimal, JSON_DIGITS),
        "exact": None if value.exact is None else expression_text(value.exact),
    }


def gradients_to_dict(study: GradientStudy) -> dict[str, Any]:
    """The documented JSON of a study (``chainsolve/schema/gradients.json``)."""
    from chainsolve.jsonout import SCHEMA_VERSION, expression_text, validated

    data = {
        "schema_version": SCHEMA_VERSION,
        "kind": "gradients",
        "depth": study.depth,
        "point": {name: expression_text(value) for name, value in study.point.items()},
        "chain": (
            "h_0 = x*ones; h_k = act(W*h_(k-1) + b*ones) for k = 1..depth; L = sum(h_depth)"
            if study.width is not None
            else "h_0 = x; h_k = act(w*h_(k-1) + b) for k = 1..depth; L = h_depth"
        ),
        "width": study.width,
        "weights": None
        if study.weights is None
        else [[expression_text(entry) for entry in row] for row in study.weights.tolist()],
        "weight_norm": None
        if study.weight_norm is None
        else mpmath.nstr(study.weight_norm, JSON_DIGITS),
        "activations": [
            {
                "name": profile.activation,
                "bound": _bounds(study, "json")[profile.activation],
                "trend": profile.trend,
                "input_gradient": _value_dict(profile.input_delta),
                "mean_factor": mpmath.nstr(profile.mean_factor, JSON_DIGITS),
                "kinks": list(profile.kinks),
                "steps": list(profile.steps),
                "layers": [
                    {
                        "layer": layer.index,
                        "preactivation": _value_dict(layer.preactivation),
                        "output": _value_dict(layer.output),
                        "slope": _value_dict(layer.slope),
                        "factor": _value_dict(layer.factor),
                        "delta": _value_dict(layer.delta),
                    }
                    for layer in profile.layers
                ],
            }
            for profile in study.profiles
        ],
    }
    return validated(data, "gradients")


__all__ = [
    "Rendered",
    "delta_series",
    "gradients_to_dict",
    "number_html",
    "number_latex",
    "number_text",
    "plot_file_name",
    "plot_matplotlib",
    "plot_svg",
    "render_gradients",
]
