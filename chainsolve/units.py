"""Units of related rates: a small grammar of our own (cm, m/s, cm^3/s) and their propagation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import sympy

from chainsolve import wording
from chainsolve.errors import ProblemError
from chainsolve.record import record
from chainsolve.steps import Product

#: The units chainsolve reads, by dimension; no conversion between them is attempted.
LENGTHS = ("mm", "cm", "m", "km", "in", "ft", "yd", "mi")
TIMES = ("ms", "s", "min", "h", "hr", "day")
OTHERS = ("L", "mL", "g", "kg", "N", "J", "W", "K", "rad", "deg")
KNOWN = frozenset(LENGTHS + TIMES + OTHERS)

#: One unit with an optional power: cm, cm^3, cm³, s^-1.
_ONE = r"[A-Za-z]+(?:\^-?\d|[²³])?"
#: A product or quotient of units (at most a few: the grammar is bounded).
_UNITS = rf"{_ONE}(?:\s*[*/·]\s*{_ONE}){{0,4}}"
_WITH_UNIT = re.compile(rf"^(?P<value>.*?)\s*(?P<unit>{_UNITS})\s*$")
_PIECE = re.compile(rf"([*/·]?)\s*({_ONE})")
_SUPERSCRIPT_POWERS = {"²": 2, "³": 3}


class Unit(sympy.Symbol):
    """A unit written after a value (200π · cm³/s), as one symbol that no printer splits.

    Each printer of chainsolve asks it for its own form (the ``printmethod`` hooks); it is
    shown, never computed with.
    """

    unit: sympy.Expr

    def __new__(cls, unit: sympy.Expr) -> Unit:
        made: Unit = super().__new__(cls, f"unit[{unit}]", positive=True)
        made.unit = unit
        return made

    def _parts(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        top, bottom = sympy.fraction(self.unit)
        return _powers(top), _powers(bottom)

    def _chainsolve_unicode(self, printer: object) -> str:
        top, bottom = self._parts()
        text = "·".join(f"{n}{_superscript(k)}" for n, k in top) or "1"
        return text + "".join(f"/{n}{_superscript(k)}" for n, k in bottom)

    def _sympystr(self, printer: object) -> str:
        return str(self.unit)

    def _latex(self, printer: object) -> str:
        top, bottom = self._parts()

        def one(name: str, power: int) -> str:
            return rf"\mathrm{{{name}}}" + (f"^{{{power}}}" if power != 1 else "")

        text = r"\,".join(one(n, k) for n, k in top) or "1"
        return r"\," + text + "".join("/" + one(n, k) for n, k in bottom)

    def _mathml_presentation(self, printer: object) -> object:
        dom = printer.dom  # type: ignore[attr-defined]
        element = dom.createElement("mtext")
        element.appendChild(dom.createTextNode(" " + self._chainsolve_unicode(printer)))
        return element


def _powers(expr: sympy.Expr) -> list[tuple[str, int]]:
    return [
        (str(base), int(power))
        for base, power in sorted(expr.as_powers_dict().items(), key=lambda bp: str(bp[0]))
        if base != 1
    ]


def _superscript(power: int) -> str:
    return "" if power == 1 else str(power).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def unit_text(unit: sympy.Expr) -> str:
    """A unit as text: cm³/s."""
    return Unit(unit)._chainsolve_unicode(None)


def with_unit(value: sympy.Expr, unit: sympy.Expr) -> Product:
    """``value`` followed by its unit, a product shown as written (200π · cm³/s)."""
    return Product((value, Unit(unit)))


def symbol(name: str) -> sympy.Symbol:
    """The unit ``name`` as a positive symbol (so powers simplify: (cm³)^(1/3) = cm)."""
    return sympy.Symbol(name, positive=True)


def split_unit(text: str) -> tuple[str, sympy.Expr | None]:
    """``"2 cm/s"`` as ``("2", cm/s)``; text without a trailing known unit as ``(text, None)``.

    Only names of :data:`KNOWN` count as units, so ``2pi`` and ``3x`` keep their letters.
    """
    match = _WITH_UNIT.match(text)
    if match is None or not match.group("value").strip():
        return text, None
    unit_text = match.group("unit")
    pieces = _PIECE.findall(unit_text)
    names = [re.match(r"[A-Za-z]+", piece).group(0) for _, piece in pieces]  # type: ignore[union-attr]
    if not names or any(name not in KNOWN for name in names):
        return text, None
    unit: sympy.Expr = sympy.Integer(1)
    for (operator, piece), name in zip(pieces, names, strict=True):
        power = _power(piece[len(name) :])
        factor = symbol(name) ** power
        unit = unit / factor if operator == "/" else unit * factor
    return match.group("value"), unit


def _power(suffix: str) -> int:
    if not suffix:
        return 1
    if suffix in _SUPERSCRIPT_POWERS:
        return _SUPERSCRIPT_POWERS[suffix]
    return int(suffix[1:])


def time_part(rate_unit: sympy.Expr) -> sympy.Expr | None:
    """The time unit a rate's unit divides by (s in cm/s), or None when it has none."""
    _, denominator = sympy.fraction(rate_unit)
    times = [f for f in sympy.Mul.make_args(denominator) if str(f) in TIMES]
    return times[0] if len(times) == 1 else None


@record
class Units:
    """Each quantity's unit as given (by its rate or its value), and the time unit."""

    of: Mapping[str, sympy.Expr]
    time: sympy.Expr | None

    def __bool__(self) -> bool:
        return bool(self.of) or self.time is not None


def merged(
    rate_units: Mapping[str, sympy.Expr], value_units: Mapping[str, sympy.Expr], source: str
) -> Units:
    """The quantities' units from their rates (cm/s: cm per s) and values, one clear error on a clash."""
    times = {time_part(unit) for unit in rate_units.values()}
    if None in times or len(times) > 1:
        raise ProblemError(
            "units_mismatch",
            wording.units_error_time(sorted(map(str, rate_units.values()))),
            source=source,
        )
    time = times.pop() if times else None
    of: dict[str, sympy.Expr] = {name: unit * time for name, unit in rate_units.items()}
    for name, unit in value_units.items():
        if name in of and of[name] != unit:
            raise ProblemError(
                "units_mismatch", wording.units_error_clash(name, [of[name], unit]), source=source
            )
        of[name] = unit
    return Units(of, time)


def infer(
    terms: Sequence[sympy.Expr], units: Units, unknown: sympy.Symbol, source: str
) -> sympy.Expr | None:
    """The unknown quantity's unit from an equation's terms; None when the units do not decide it.

    Every term that is not a bare number must carry the same unit (a bare number, such as
    the 25 of x² + y² = 25, takes whatever unit the equation needs).
    """
    placeholder = sympy.Symbol("unknown_unit", positive=True)
    given = {symbol_of(name): unit for name, unit in units.of.items()}
    given.setdefault(unknown, placeholder)
    known: list[sympy.Expr] = []
    with_unknown: list[sympy.Expr] = []
    for term in terms:
        if term.free_symbols - set(given):
            return None  # a quantity without a unit: nothing to say
        unit = _unit_of(term.xreplace(given))
        if unit is None:
            return None
        if unit.is_number:
            continue
        (with_unknown if unit.has(placeholder) else known).append(unit)
    if any(unit != known[0] for unit in known):
        raise ProblemError(
            "units_mismatch", wording.units_error_terms(sorted(set(map(str, known)))), source=source
        )
    if unknown.name in units.of:
        return units.of[unknown.name]
    if not known or not with_unknown:
        return None
    return _solve_unit(with_unknown[0], known[0], placeholder)


def _solve_unit(
    with_unknown: sympy.Expr, known: sympy.Expr, placeholder: sympy.Symbol
) -> sympy.Expr | None:
    """The unit u with c·u^k = ``known``: (known/c)^(1/k), the one positive solution (units
    are positive symbols); None when u is not in such a power (sympy.solve costs 20× more)."""
    rest, power = with_unknown.as_independent(placeholder, as_Add=False)
    base, exponent = power.as_base_exp()
    if base != placeholder or not exponent.is_Rational or exponent == 0:
        return None
    return sympy.powsimp((known / rest) ** (1 / exponent))


def symbol_of(name: str) -> sympy.Symbol:
    from chainsolve.problem import make_symbol

    return make_symbol(name)


def _unit_of(expr: sympy.Expr) -> sympy.Expr | None:
    """The unit part of a term once its quantities are units (π·cm³/12 → cm³); None for a sum."""
    expanded = sympy.expand(expr)
    if expanded.is_Add:
        return None
    _, unit = expanded.as_independent(*(s for s in expanded.free_symbols), as_Add=False)
    return sympy.powsimp(unit)
