"""Which modules a script loads, run in a fresh interpreter (shared by tests of lazy imports)."""

from __future__ import annotations

import subprocess
import sys


def loads_module(script: str, module: str) -> bool:
    """Whether running ``script`` in a fresh Python process leaves ``module`` in sys.modules."""
    probe = f"{script}\nimport sys\nprint({module!r} in sys.modules)\n"
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return ran.stdout.strip() == "True"
