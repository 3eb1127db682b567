"""The small exception hierarchy every stage raises, each error a value with a code and a position."""

from __future__ import annotations

from chainsolve.record import record


@record
class Span:
    """A half-open character range ``[start, end)`` in the text the user typed."""

    start: int
    end: int


class ChainsolveError(Exception):
    """Base class: a problem the user can fix, reported in one line (CLI exit code 2).

    ``code`` is a stable machine-readable id (``unknown_character``, ``cycle``, ...),
    ``span`` points into ``source`` when the error has a position, ``hint`` says what to do.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        source: str | None = None,
        span: Span | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.source = source
        self.span = span
        self.hint = hint

    def caret_lines(self) -> tuple[str, str] | None:
        """The offending line of ``source`` and a caret line under the error, or ``None``."""
        if self.source is None or self.span is None:
            return None
        start = min(self.span.start, len(self.source))
        line_start = self.source.rfind("\n", 0, start) + 1
        line_end = self.source.find("\n", start)
        if line_end == -1:
            line_end = len(self.source)
        line = self.source[line_start:line_end]
        width = max(1, min(self.span.end, line_end) - start)
        # Very long lines are cut around the error so the caret stays on screen.
        column = start - line_start
        if len(line) > 100:
            left = max(0, column - 40)
            prefix = "…" if left else ""
            suffix = "…" if left + 80 < len(line) else ""
            line = prefix + line[left : left + 80] + suffix
            column = column - left + len(prefix)
            width = min(width, 80)
        return _printable(line), " " * column + "^" * width

    def message_with_hint(self) -> str:
        """The message and, in parentheses, the hint: for one-line reports (a grade row)."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __str__(self) -> str:
        return self.message


class ParseError(ChainsolveError):
    """The text is not a valid expression or problem in the input language."""


class ProblemError(ChainsolveError):
    """The problem is well formed text but not a valid problem (cycle, unknown ``wrt``, ...)."""


class BudgetExceeded(ChainsolveError):
    """A stage ran past its time budget; ``stage`` names it."""

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(
            "timeout",
            f"the {stage} stage ran out of its time budget ({seconds:g} s)",
            hint="raise --timeout, or split the problem into smaller definitions",
        )
        self.stage = stage
        self.seconds = seconds


class OptionError(ChainsolveError, ValueError):
    """An argument of the Python API outside its allowed values: ``option`` names it, ``allowed`` lists them.

    A :class:`ValueError` as well, so ``except ValueError`` catches it as for any bad argument.
    """

    def __init__(self, option: str, value: object, allowed: tuple[object, ...]) -> None:
        choices = ", ".join(repr(choice) for choice in allowed)
        super().__init__(
            "invalid_option",
            f"{option}={value!r} is not one of the allowed values: {choices}",
            hint=f"{option} must be one of {choices}",
        )
        self.option = option
        self.value = value
        self.allowed = allowed


def _printable(line: str) -> str:
    """``line`` as a terminal shows it in one row, column for column: a tab as a space and any
    other control character (a carriage return would overwrite the row) as U+FFFD."""
    return "".join(
        " " if char == "\t" else "\ufffd" if ord(char) < 32 or ord(char) == 127 else char
        for char in line
    )
