"""Shared test fixtures: the read-only ../shared folder (skipped cleanly when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
SHARED_CT = SHARED / "data" / "ct"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data/ct, or skip the test saying what is missing."""
    p = SHARED_CT.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real CT data not available: {p} is absent (../shared is not checked out)")
    return p


@pytest.fixture
def shared_ct() -> Path:
    return shared_path()
