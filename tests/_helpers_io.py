"""Small synthetic scans for I/O tests: seeded, written by our own writers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mitsgan.io import Scan, write_scan


def synthetic_scan(shape=(6, 32, 40), spacing=(2.0, 0.7, 0.7), seed=0,
                   origin=(-10.0, 20.0, -30.0), direction=None) -> Scan:
    """Whole-HU voxels: air background, a soft-tissue block, a bone bar."""
    rng = np.random.default_rng(seed)
    hu = np.full(shape, -1000.0, dtype=np.float32) + rng.integers(-20, 20, shape)
    hu[:, 8:-8, 8:-8] = 40 + rng.integers(-15, 15, (shape[0], shape[1] - 16, shape[2] - 16))
    hu[:, 14:18, 10:30] = 700
    return Scan(hu=hu, spacing_zyx=spacing, origin_xyz=origin,
                direction_xyz=np.eye(3) if direction is None else direction)


def synthetic_dicom(folder: Path, **kw) -> Path:
    write_scan(synthetic_scan(**kw), folder)
    return folder


def tree_digest(path: Path) -> dict[str, bytes]:
    """Bytes of every file below ``path`` (or of ``path`` itself), to prove inputs are untouched."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
