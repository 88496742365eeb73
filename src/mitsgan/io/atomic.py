"""Atomic output: write into a temporary sibling, then rename into place.

A crash or a refused input never leaves a half-written scan where a PACS or a
pipeline would pick it up, and an existing output is only replaced when the
caller asked for it (``overwrite=True``).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from mitsgan.errors import InputError


def refuse_existing(path: str | Path, overwrite: bool) -> None:
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise InputError(p, "output already exists (pass --overwrite to replace it)")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


@contextlib.contextmanager
def atomic_path(final: str | Path, overwrite: bool = False, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success rename it to ``final``.

    For a file the temporary path keeps ``final``'s suffixes (writers choose the
    format by extension). On any exception the temporary path is removed and
    ``final`` is left as it was.
    """
    final = Path(final)
    refuse_existing(final, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    tmp = tmp_dir / final.name
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        # Move sidecars (MHD's .raw) first and the primary file last, so the header
        # never points at data that is not there yet.
        extras = [e for e in tmp_dir.iterdir() if e.name != final.name]
        for extra in extras:
            target = final.parent / extra.name
            if not overwrite and (target.exists() or target.is_symlink()):
                raise InputError(target, "output already exists (pass --overwrite to replace it)")
        for extra in extras:
            target = final.parent / extra.name
            if target.exists() or target.is_symlink():
                _remove(target)
            os.replace(extra, target)
        if overwrite and (final.exists() or final.is_symlink()):
            _remove(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
