"""The one exception type users see for bad input.

Every reader, writer and builder raises :class:`InputError` for a problem with a
file the user gave us (corrupt, wrong modality, missing tags, NaN, ...). The CLI
turns it into a one-line message ``error: PATH: reason`` and exit code 2, so a
batch job can tell bad input from a bug (which keeps its traceback).
"""
from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with a user-supplied path: names the path and the reason."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)
