"""The --at point of a matrix problem: exact values inline and from JSON, shapes checked, hostile input refused."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import sympy

from chainsolve.errors import ChainsolveError, ParseError, ProblemError
from chainsolve.matrix.point import (
    POINT_LIMITS,
    check_point,
    parse_point_text,
    read_point,
    read_point_file,
)

R = sympy.Rational


def shape(rows: int, cols: int) -> SimpleNamespace:
    return SimpleNamespace(rows=rows, cols=cols)


SEED_SHAPES = {
    "x": shape(2, 1),
    "W1": shape(3, 2),
    "b1": shape(3, 1),
    "W2": shape(1, 3),
    "b2": shape(1, 1),
    "y": shape(1, 1),
}
SEED_POINT = "W1=[[0.1,0.2],[0.3,0.4],[0.5,0.6]], x=[1,2], b1=[0,0,0], W2=[[1,-1,1]], b2=0.5, y=[1]"


def test_inline_values_are_exact_rationals() -> None:
    """Decimal text becomes exact rationals (0.1 is 1/10), with signs, exponents and fractions."""
    point = parse_point_text("W=[[0.1, -2.5e-3], [+.5, 3/4]], x=[1, 2], b=0.5")
    assert point["W"].matrix() == sympy.Matrix([[R(1, 10), R(-1, 400)], [R(1, 2), R(3, 4)]])
    assert point["x"].matrix() == sympy.Matrix([1, 2])
    assert point["b"].entries == ((R(1, 2),),)
    assert all(isinstance(entry, sympy.Rational) for row in point["W"].entries for entry in row)


def test_forms_and_shapes() -> None:
    """A number is 1×1, a vector a column n×1, a matrix row by row; each says how it was written."""
    point = parse_point_text("n=2, v=[1,2,3], r=[[1,2,3]], c=[[1],[2]]")
    assert [(value.rows, value.cols, value.describe()) for value in point.values()] == [
        (1, 1, "a number"),
        (3, 1, "a vector of 3"),
        (1, 3, "1×3"),
        (2, 1, "2×1"),
    ]


def test_json_file_reads_as_the_inline_text(tmp_path: Path) -> None:
    """--at @point.json gives the same exact values as the same point inline."""
    path = tmp_path / "point.json"
    path.write_text(
        json.dumps(
            {
                "W1": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
                "x": [1, 2],
                "b1": [0, 0, 0],
                "W2": [[1, -1, 1]],
                "b2": 0.5,
                "y": [1],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    from_file = read_point(f"@{path}")
    inline = read_point(SEED_POINT)
    assert {name: value.entries for name, value in from_file.items()} == {
        name: value.entries for name, value in inline.items()
    }
    check_point(from_file, SEED_SHAPES, SEED_SHAPES)


def test_json_keys_may_use_escapes(tmp_path: Path) -> None:
    """A JSON key is a JSON string: "\\u0057" is the name W."""
    path = tmp_path / "point.json"
    path.write_text('{"\\u0057": [[1]]}', encoding="utf-8")
    assert list(read_point_file(str(path))) == ["W"]


def test_shape_mismatch_names_both_shapes() -> None:
    """A value of the wrong shape is refused in one line: 'W1: given 2×3, declared 3×2'."""
    point = parse_point_text(
        SEED_POINT.replace("[[0.1,0.2],[0.3,0.4],[0.5,0.6]]", "[[1,2,3],[4,5,6]]")
    )
    with pytest.raises(ProblemError, match=r"^W1: given 2×3, declared 3×2$"):
        check_point(point, SEED_SHAPES, SEED_SHAPES)


def test_a_vector_for_a_row_says_how_to_write_a_row() -> None:
    """A flat list is a column, so a 1×3 row given as [a, b, c] is refused with the row form."""
    point = parse_point_text(SEED_POINT.replace("W2=[[1,-1,1]]", "W2=[1,-1,1]"))
    with pytest.raises(ProblemError, match=r"^W2: given a vector of 3, declared 1×3 \(write a row"):
        check_point(point, SEED_SHAPES, SEED_SHAPES)


def test_one_by_one_takes_a_number_a_vector_or_a_matrix() -> None:
    """A declared 1 (1×1) accepts 0.5, [0.5] and [[0.5]] alike."""
    for text in ("b=0.5", "b=[0.5]", "b=[[0.5]]"):
        check_point(parse_point_text(text), {"b": shape(1, 1)}, ["b"])


def test_unknown_and_missing_names() -> None:
    """A name that is not an input, and an input with no value, are each refused by name."""
    with pytest.raises(ProblemError, match=r"'h' is not an input of the problem \(its inputs: x\)"):
        check_point(parse_point_text("x=[1,2], h=[1]"), {"x": shape(2, 1)}, ["x"])
    with pytest.raises(ProblemError, match=r"--at has no value for W2, y"):
        check_point(
            parse_point_text(SEED_POINT.replace("W2=[[1,-1,1]], ", "").replace(", y=[1]", "")),
            SEED_SHAPES,
            SEED_SHAPES,
        )


def test_inline_errors_point_at_the_value() -> None:
    """An inline error carries a caret under the offending text."""
    with pytest.raises(ParseError) as caught:
        parse_point_text("x=[1, 2], W=[[1, 2], [3]]")
    assert "row 2 has 1 entry, row 1 has 2" in caught.value.message
    assert caught.value.caret_lines() == ("x=[1, 2], W=[[1, 2], [3]]", " " * 12 + "^" * 13)


def _write(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "point.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return f"@{path}"


HOSTILE_FILES = {
    "NaN": ('{"x": [NaN, 1]}', "NaN is not a number"),
    "Infinity": ('{"x": [1, -Infinity]}', "unexpected '-'"),
    "positive Infinity": ('{"x": Infinity}', "Infinity is not a finite number"),
    "string": ('{"x": ["1", 2]}', "expected a number or a list"),
    "boolean": ('{"x": true}', "true is not a number"),
    "null": ('{"x": [null]}', "null is not a number"),
    "object value": ('{"x": {"y": 1}}', "expected a number or a list"),
    "top-level list": ("[[1, 2]]", "expected a JSON object"),
    "deep nesting": ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper than a matrix"),
    "vector of matrices": ('{"x": [[[1]]]}', "nested deeper than a matrix"),
    "ragged": ('{"W": [[1, 2], [3]]}', "row 2 has 1 entry, row 1 has 2"),
    "mixed": ('{"W": [1, [2]]}', "mixes numbers and lists"),
    "empty": ('{"x": []}', "an empty list has no shape"),
    "duplicate": ('{"x": 1, "x": 2}', "'x' is given twice"),
    "long number": ('{"x": 0.' + "1" * 1000 + "}", "a number has 1002 characters"),
    "huge exponent": ('{"x": 1e999999999}', "the exponent of 1e999999999 is beyond"),
    "zero denominator": ('{"x": 1/0}', "1/0 divides by zero"),
    "unterminated": ('{"x": [1, 2', "expected ',' or ']'"),
    "trailing text": ('{"x": 1} {"y": 2}', "unexpected '{'"),
    "bad name": ('{"1x": 1}', "'1x' is not a name"),
    "control character": ('{"x": \x00}', "unexpected '\\x00'"),
    "too many entries": (
        '{"x": [' + ",".join(["1"] * (POINT_LIMITS.max_entries + 1)) + "]}",
        f"the point has more than {POINT_LIMITS.max_entries} numbers",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=str)
def test_hostile_files_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    """Each hostile point file is one ParseError line with the file, line and column: no caret, no traceback."""
    text, message = HOSTILE_FILES[case]
    with pytest.raises(ParseError) as caught:
        read_point(_write(tmp_path, text))
    error = caught.value
    assert message in error.message
    assert "point.json, line 1, column" in error.message
    _assert_one_line(error)


def _assert_one_line(error: ChainsolveError) -> None:
    assert error.caret_lines() is None and error.hint is None
    assert "\n" not in error.message


def test_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    """A file over the limit is refused from its size, before a byte of it is read."""
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(10 * POINT_LIMITS.max_file_bytes)
    with pytest.raises(ParseError, match=r"has 10000000 bytes; the limit is 1000000") as caught:
        read_point(f"@{path}")
    _assert_one_line(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"x": [1, \xff]}', r"is not UTF-8 \(byte 11 cannot be decoded\)"),
        (None, "cannot read --at @"),
    ],
    ids=["invalid UTF-8", "missing file"],
)
def test_unreadable_files_are_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    """A missing file or one that is not UTF-8 is one line naming it."""
    option = _write(tmp_path, content) if content is not None else f"@{tmp_path / 'absent.json'}"
    with pytest.raises(ParseError, match=message) as caught:
        read_point(option)
    _assert_one_line(caught.value)


def test_lines_and_columns_in_a_file(tmp_path: Path) -> None:
    """An error deep in a file says where: its line and column."""
    option = _write(tmp_path, '{\n  "x": [1, 2],\n  "W": [[1, NaN]]\n}')
    with pytest.raises(ParseError, match=r"point\.json, line 3, column 13: NaN is not a number"):
        read_point(option)


def test_long_inline_point_is_refused_before_reading() -> None:
    """An inline --at beyond the input limit is refused and points to a file instead."""
    text = "x=[" + ",".join(["1"] * POINT_LIMITS.max_inline_chars) + "]"
    with pytest.raises(
        ParseError, match=r"--at has 40003 characters; the limit is 20000"
    ) as caught:
        parse_point_text(text)
    assert caught.value.hint == "give a large point in a file: --at @point.json"


def test_no_expression_is_evaluated() -> None:
    """Values are numbers only: an expression such as 2**8 or __import__ is a syntax error, never run."""
    for text in ("x=2**8", "x=__import__('os')", "x=sqrt(2)", "x=[1+1]"):
        with pytest.raises(ParseError):
            parse_point_text(text)


def test_a_scalar_problem_reads_a_point_file_as_its_inline_point(tmp_path: Path) -> None:
    """solve(at="@point.json") on a scalar problem gives what the same numbers inline give."""
    from chainsolve.api import solve

    path = tmp_path / "point.json"
    path.write_text('{"w": 2, "x": 0.5, "b": 1/2, "y": 10}', encoding="utf-8")
    problem = "L = (w*x + b - y)^2"
    from_file = solve(problem, at=f"@{path}").evaluation
    inline = solve(problem, at="w=2, x=0.5, b=1/2, y=10").evaluation
    assert from_file is not None and inline is not None
    assert [(g.name, g.value.decimal) for g in from_file.gradient] == [
        (g.name, g.value.decimal) for g in inline.gradient
    ]


def test_a_scalar_problem_refuses_a_vector_in_its_point_file(tmp_path: Path) -> None:
    """A vector in the point file of a problem without shapes is one line pointing to --shapes."""
    path = tmp_path / "point.json"
    path.write_text('{"w": [2, 1]}', encoding="utf-8")
    from chainsolve.api import solve

    with pytest.raises(
        ProblemError, match=r"^w: given a vector of 2, but the problem has no declared shapes"
    ):
        solve("L = (w*x - y)^2", at=f"@{path}")


def test_the_api_evaluates_a_solved_matrix_problem_at_a_point(tmp_path: Path) -> None:
    """api.evaluate_matrix takes --at's text or @file; a wrong shape is a ProblemError, a non-string a TypeError."""
    from chainsolve.api import evaluate_matrix, solve_matrix

    solution = solve_matrix("L = dot(w, x) + b", shapes="x: 2, w: 2, b: 1")
    path = tmp_path / "point.json"
    path.write_text('{"x": [1, 2], "w": [2, -1], "b": 0.5}', encoding="utf-8")
    evaluation = evaluate_matrix(solution, f"@{path}")
    assert evaluation.gradient["x"].nested("exact") == ["2", "-1"]
    assert evaluation.loss.nested("exact") == "1/2"
    with pytest.raises(ProblemError, match=r"^w: given a vector of 3, declared 2×1$"):
        evaluate_matrix(solution, "x=[1, 2], w=[2, -1, 0], b=0.5")
    with pytest.raises(TypeError, match="at must be"):
        evaluate_matrix(solution, {"x": [1, 2]})  # type: ignore[arg-type]
