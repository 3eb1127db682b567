"""Markdown output read by a CommonMark renderer with raw HTML on: user text never becomes markup."""

from __future__ import annotations

import re

import pytest

from chainsolve.api import solve, verify
from chainsolve.filters import markdown_code, markdown_text
from chainsolve.render import render_solution
from chainsolve.sheet import parse_sheet, render_sheet
from chainsolve.verification import render_verdict

markdown_it = pytest.importorskip("markdown_it")

#: A student's line that closes a naive code span and leaves a live tag behind it.
HOSTILE_LINE = "dy/dx = 2x*cos(x^2)` <img src=x onerror=alert(1)>"


def to_html(markdown: str) -> str:
    """Markdown as HTML the way Jupyter or an LMS page shows it: CommonMark, tables, raw HTML on."""
    return str(
        markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    )


def live_tags(html: str) -> set[str]:
    """The names of the HTML elements in ``html`` (escaped text such as ``&lt;img`` is not one)."""
    return {name.lower() for name in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", html)}


#: Elements chainsolve's own Markdown produces once rendered; anything else came from user text.
OWN_TAGS = {
    "h1", "h2", "h3", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr",
    "th", "td", "br", "ul", "ol", "li", "blockquote", "hr",
}  # fmt: skip


def test_backtick_in_a_derivation_line_does_not_open_raw_html() -> None:
    """A backtick in a student's line stays inside its code span: no live <img> in the verdict."""
    report = verify("sin(x^2)", derivation=HOSTILE_LINE + "\ndy/dx = 2x*cos(x^2)")
    html = to_html(render_verdict(report, "markdown"))
    assert "img" not in live_tags(html)
    assert live_tags(html) <= OWN_TAGS
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_pipe_in_a_derivation_line_keeps_the_verdict_table_whole() -> None:
    """A `|` in a student's line is one cell's text: every table row has exactly three cells."""
    report = verify("sin(x^2)", derivation="dy/dx = 2x|cos(x^2)\ndy/dx = 2x*cos(x^2)")
    html = to_html(render_verdict(report, "markdown"))
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    assert len(rows) == 3
    assert all(len(re.findall(r"<t[hd][ >]", row)) == 3 for row in rows)
    assert "2x|cos(x^2)" in html


def test_sheet_title_with_tags_newlines_and_carriage_returns_stays_one_heading() -> None:
    """A sheet title with <script>, CR and LF is escaped text on one heading line."""
    title = "HW <script>alert(1)</script>\r\n# injected\rline"
    sheet = parse_sheet(f'title = {title!r}\n[[problems]]\nproblem = "sin(x^2)"'.replace("'", '"'))
    html = to_html(render_sheet(sheet, "markdown", mode="problems"))
    assert live_tags(html) <= OWN_TAGS
    assert html.count("<h1>") == 1
    assert "&lt;script&gt;" in html


def test_results_with_several_derivatives_are_separate_display_blocks() -> None:
    """Back-to-back $$ blocks of the Result are separated by a blank line (GitHub renders them)."""
    markdown = render_solution(solve("z = x*y; x = t^2; y = sin(s*t)", wrt="t,s"), "markdown")
    result = markdown.split("## Result", 1)[1]
    assert result.count("$$") == 4
    assert "$$\n$$" not in markdown


@pytest.mark.parametrize(
    "text", ["a`b", "``", "`x`", "a | b", "x\r\ny", "<img src=x>", "a ``` b ` c"]
)
def test_markdown_code_is_one_code_span_with_the_text_inside(text: str) -> None:
    """markdown_code gives one <code> element holding the text (each line break as a space)."""
    html = to_html(markdown_code(text))
    assert live_tags(html) == {"p", "code"}
    code = re.findall(r"<code>(.*?)</code>", html, flags=re.S)
    expected = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    expected = expected.replace("&", "&amp;")
    expected = expected.replace("<", "&lt;").replace(">", "&gt;")
    assert code == [expected.strip() if expected.startswith("`") else expected]


@pytest.mark.parametrize(
    "text", ["- item", "1. first", "# title", "<b>x</b>", "*a* _b_ [l](u)", "a\n\n<img src=x>"]
)
def test_markdown_text_is_plain_text_in_one_paragraph(text: str) -> None:
    """markdown_text keeps every character as text: one paragraph, no list, heading or tag."""
    html = to_html(markdown_text(text))
    assert live_tags(html) == {"p"}


def test_problem_written_on_several_lines_stays_one_code_span() -> None:
    """Definitions separated by new lines (and a CR) show as one inline code span, one paragraph."""
    markdown = render_solution(solve("z = x*y\r\ny = x^2", wrt="x"), "markdown")
    problem_line = next(line for line in markdown.splitlines() if line.startswith("**Problem:**"))
    assert problem_line == "**Problem:** `z = x*y y = x^2`"
    html = to_html(markdown)
    assert "<code>z = x*y y = x^2</code>" in html
