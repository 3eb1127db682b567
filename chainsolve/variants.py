"""Per-student variants: a problem template's parameters drawn from ranges, seeded per student."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainsolve.grade import Submission
    from chainsolve.sheet import Sheet, SheetProblem

#: A template's parameters: (name, lowest, highest), both ends drawn.
Vary = tuple[tuple[str, int, int], ...]

#: Most parameters one template may have, and the widest range one may span.
MAX_PARAMETERS = 8
MAX_SPAN = 10**6

_NAME = re.compile(r"[A-Za-z]\w*\Z")


def vary_from_dict(value: Any) -> Vary:
    """Validate a TOML ``vary`` table such as ``{a = [2, 9], n = [2, 5]}``; raises ValueError."""
    if not isinstance(value, dict) or not value:
        raise ValueError("'vary' must be a table such as {a = [2, 9], n = [2, 5]}")
    if len(value) > MAX_PARAMETERS:
        raise ValueError(f"'vary' has {len(value)} parameters; at most {MAX_PARAMETERS}")
    ranges = []
    for name, bounds in value.items():
        ok = (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        )
        if not _NAME.match(name) or not ok or bounds[0] > bounds[1]:
            raise ValueError(f"'vary': {name} must be a name with a range [lowest, highest]")
        if bounds[1] - bounds[0] > MAX_SPAN:
            raise ValueError(f"'vary': the range of {name} spans more than {MAX_SPAN}")
        ranges.append((name, bounds[0], bounds[1]))
    return tuple(ranges)


def draw(vary: Vary, seed: int, student: str, problem_id: str) -> dict[str, int]:
    """The parameters of one student's variant: the same (seed, student, problem) gives the same.

    The generator is seeded from a SHA-256 of the three (not Python's ``hash``, which changes
    from run to run), so a variant can be regenerated on any machine.
    """
    key = f"{seed}\0{student}\0{problem_id}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    return {name: rng.randint(low, high) for name, low, high in vary}


def instantiate(template: str, values: Mapping[str, int]) -> str:
    """``template`` with each parameter, as a whole name, replaced by its value.

    >>> instantiate("sin(a*x^n) + asin(x)", {"a": -3, "n": 2})
    'sin((-3)*x^2) + asin(x)'
    """
    if not values:
        return template
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, values)) + r")(?![\w(])")

    def value(match: re.Match[str]) -> str:
        number = values[match.group(1)]
        return f"({number})" if number < 0 else str(number)

    return pattern.sub(value, template)


def variant(spec: SheetProblem, seed: int, student: str) -> SheetProblem:
    """One student's version of ``spec``: problem, point and anticipated answers instantiated."""
    if not spec.vary:
        return spec
    values = draw(spec.vary, seed, student, spec.id)
    rubric = spec.rubric
    if rubric is not None:
        feedback = tuple(
            dataclasses.replace(f, answer=instantiate(f.answer, values)) for f in rubric.feedback
        )
        rubric = dataclasses.replace(rubric, feedback=feedback)
    return dataclasses.replace(
        spec,
        problem=instantiate(spec.problem, values),
        at=None if spec.at is None else instantiate(spec.at, values),
        vary=(),
        rubric=rubric,
    )


def student_sheet(sheet: Sheet, student: str) -> Sheet:
    """The sheet as ``student`` gets it: every template replaced by the student's variant."""
    problems = tuple(variant(spec, sheet.seed, student) for spec in sheet.problems)
    return dataclasses.replace(sheet, problems=problems)


def sheet_submissions(submissions: Iterable[Submission], sheet: Sheet) -> Iterator[Submission]:
    """Rows naming a student and a problem id, turned into that student's variant to grade.

    The student is the row's id; the new id is ``student/problem`` so that one student's
    answers to several problems stay apart (in the report and for ``--resume``).
    """
    from chainsolve.rubric import Rubric

    by_id = {spec.id: spec for spec in sheet.problems}
    for submission in submissions:
        problem_id = submission.problem.strip()
        spec = by_id.get(problem_id)
        if submission.error is not None:
            yield submission
            continue
        if spec is None:
            error = f"the sheet has no problem {problem_id!r} (its ids: {', '.join(by_id)})"
            yield dataclasses.replace(submission, id=f"{submission.id}/{problem_id}", error=error)
            continue
        mine = variant(spec, sheet.seed, submission.id)
        rubric = dataclasses.replace(
            mine.rubric or Rubric(), problem_id=spec.id, student=submission.id
        )
        yield dataclasses.replace(
            submission,
            id=f"{submission.id}/{spec.id}",
            problem=mine.problem,
            wrt=mine.wrt or "",
            rubric=rubric,
            implicit=mine.implicit or "",
            order=mine.order,
        )
