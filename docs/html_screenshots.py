"""Regenerate the README's screenshots of the HTML output: real Chromium at 1200 px and 375 px, light and dark.

Run from the repository root: ``python docs/html_screenshots.py`` (needs ``chromium``; uses
Graphviz's ``dot`` for the graph when installed). ``regenerate(folder)`` does the same for a
documentation build script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: The page shown: the issue's two-path example with unknown functions, every step checked.
PROBLEM = "z = f(x, y); x = g(t); y = h(t)"

#: Each picture: file name, viewport width (CSS px), dark colour scheme, height shown (CSS px).
SHOTS = (
    ("html_1200_light.png", 1200, False, 1500),
    ("html_375_light.png", 375, False, 1400),
    ("html_375_dark.png", 375, True, 1400),
)


def page_html() -> str:
    """The HTML page of :data:`PROBLEM` as the command line writes it."""
    completed = subprocess.run(
        [sys.executable, "-m", "chainsolve", "solve", PROBLEM, "--format", "html"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return completed.stdout


def regenerate(folder: Path = DOCS) -> list[Path]:
    """Write every picture of :data:`SHOTS` into ``folder`` and return their paths."""
    sys.path.insert(0, str(ROOT))
    from tests.chromium import browser

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: no screenshots")
    written = []
    with tempfile.TemporaryDirectory() as scratch, browser(chromium) as page:
        source = Path(scratch) / "solution.html"
        source.write_text(page_html(), encoding="utf-8")
        for name, width, dark, height in SHOTS:
            page.open(source.as_uri(), width=width, dark=dark)
            page.screenshot(folder / name, height=height)
            written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in regenerate():
        print(path.relative_to(ROOT))
