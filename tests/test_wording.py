"""Tests of chainsolve.wording: the sentences of notes, kept apart from the data they are made of."""

from __future__ import annotations

import pytest

from chainsolve.derivation import solve_problem
from chainsolve.parsing import parse_problem
from chainsolve.steps import Note
from chainsolve.wording import NOTES, note_text

#: Problems whose solutions carry notes of many kinds, with the kinds each must carry.
NOTED = [
    ("log(exp(x)) + exp(log(x))", None, {"holds_for"}),
    ("abs(x)*sin(x)", None, {"derivative_at_limit"}),
    ("relu(x)", None, {"indicator"}),
    ("z = x*y; y = x^2", None, {"partial_versus_total"}),
    ("sine(x)", None, {"misspelled"}),
    ("z = f(x, y); x = g(t); y = h(t)", ["t"], {"partial_slots"}),
    ("y = x^2", ["t"], {"constant_wrt"}),
]


@pytest.mark.parametrize(("text", "wrt", "kinds"), NOTED)
def test_notes_are_data_and_each_kind_has_its_sentence(
    text: str, wrt: list[str] | None, kinds: set[str]
) -> None:
    """A solution's notes are kinds and values (names, numbers, expressions: no sentence);
    wording.NOTES turns each into its sentence, the same in every format."""
    notes = solve_problem(parse_problem(text, wrt=wrt)).notes
    assert kinds <= {note.kind for note in notes}
    for note in notes:
        assert isinstance(note, Note)
        assert note.kind in NOTES
        assert not any(isinstance(value, str) and " " in value for value in note.values)
        assert note_text(note).endswith(".")
