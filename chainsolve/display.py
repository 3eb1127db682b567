"""The renderings and notebook display a verify result shares with a Solution: to_*, HTML, a short repr."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ReportDisplay:
    """Mixin for ``AnswerVerdict`` and ``DerivationReport``: the same ``to_*`` methods as a Solution.

    Relies on the report's ``verdict_label``, ``message``, ``wrt`` and ``problem`` fields.
    """

    __slots__ = ()

    def render(
        self, fmt: str, *, template_dir: str | Path | None = None, fragment: bool = False
    ) -> str:
        """This verdict as ``text``, ``markdown``, ``latex``, ``html`` or ``json``.

        LaTeX and HTML are whole documents unless ``fragment`` (the body only).
        """
        from chainsolve.verification import render_verdict

        report: Any = self
        return render_verdict(report, fmt, template_dir, fragment=fragment)

    def to_text(self, *, template_dir: str | Path | None = None) -> str:
        """The terminal rendering."""
        return self.render("text", template_dir=template_dir)

    def to_markdown(self, *, template_dir: str | Path | None = None) -> str:
        """Markdown with ``$…$`` maths."""
        return self.render("markdown", template_dir=template_dir)

    def to_latex(self, *, template_dir: str | Path | None = None, fragment: bool = False) -> str:
        """A LaTeX document (its body only with ``fragment``)."""
        return self.render("latex", template_dir=template_dir, fragment=fragment)

    def to_html(self, *, template_dir: str | Path | None = None, fragment: bool = False) -> str:
        """An HTML page with MathML maths (its body only with ``fragment``)."""
        return self.render("html", template_dir=template_dir, fragment=fragment)

    def to_json(self) -> str:
        """The verdict as JSON (the fields ``chainsolve verify --format json`` writes)."""
        return self.render("json")

    def _repr_html_(self) -> str:
        """Jupyter: the verdict's HTML body (MathML), displayed offline inside the notebook."""
        return self.to_html(fragment=True)

    def __str__(self) -> str:
        """The verdict and its message, one line each."""
        report: Any = self
        return f"Verdict: {report.verdict_label}\n{report.message}"

    def __repr__(self) -> str:
        report: Any = self
        kind = type(self).__name__
        return f"<{kind} of {report.problem.source!r}, wrt {report.wrt}: {report.verdict_label}>"
