"""Shared test helpers: tools that must exist in CI, golden-file comparison."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """The path of an external tool; skip (or, in CI, fail) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CHAINSOLVE_REQUIRE_TOOLS"):
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path
