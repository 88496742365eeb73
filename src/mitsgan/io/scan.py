"""The scan type: CT voxels in Hounsfield units plus the geometry that places them.

Conventions (used everywhere in mitsgan):

* ``hu`` is a float32 array indexed **(z, y, x)**, values in Hounsfield units.
* ``spacing_zyx`` is the voxel size in mm in the same (z, y, x) order.
* ``origin_xyz`` is the world position (mm) of voxel (0, 0, 0), in the patient
  LPS frame used by DICOM, ITK and LUNA16 (``coordX, coordY, coordZ``).
* ``direction_xyz`` is ITK's 3x3 direction matrix: column ``i`` is the world
  unit vector of index axis ``i`` with axes ordered (x, y, z). We keep ITK's
  order for the matrix because every file format stores it that way; the
  conversions in :mod:`mitsgan.geometry` are the only place that mixes orders.

``source`` keeps what is needed to write the source format back (for DICOM the
per-slice headers without pixel data), so a protected scan can be archived as a
derived series of the same study.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ScanSource:
    """Where a scan came from and what its writer needs to echo it back."""

    format: str  # "dicom", "mhd", "nrrd", "nifti" or "array"
    path: str | None = None
    # DICOM only: one header per slice (pydicom Datasets without PixelData), in z order.
    dicom_headers: list[Any] | None = None
    # Free-form facts read from the header (modality, series UID, patient ID...).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scan:
    """A CT volume in HU with its geometry; see the module docstring for conventions."""

    hu: np.ndarray
    spacing_zyx: tuple[float, float, float]
    origin_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction_xyz: np.ndarray = field(default_factory=lambda: np.eye(3))
    source: ScanSource = field(default_factory=lambda: ScanSource(format="array"))

    def __post_init__(self) -> None:
        self.hu = np.asarray(self.hu)
        if self.hu.ndim != 3:
            raise ValueError(f"scan voxels must be 3-D (z, y, x), got shape {self.hu.shape}")
        if self.hu.dtype != np.float32:
            self.hu = self.hu.astype(np.float32)
        self.spacing_zyx = tuple(float(s) for s in self.spacing_zyx)  # type: ignore[assignment]
        self.origin_xyz = tuple(float(o) for o in self.origin_xyz)  # type: ignore[assignment]
        self.direction_xyz = np.asarray(self.direction_xyz, dtype=np.float64).reshape(3, 3)
        if len(self.spacing_zyx) != 3 or min(self.spacing_zyx) <= 0:
            raise ValueError(f"spacing must be three positive numbers, got {self.spacing_zyx}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.hu.shape)  # type: ignore[return-value]

    @property
    def spacing_xyz(self) -> tuple[float, float, float]:
        z, y, x = self.spacing_zyx
        return (x, y, z)

    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous voxel (x, y, z, 1) indices to world mm."""
        a = np.eye(4)
        a[:3, :3] = self.direction_xyz @ np.diag(self.spacing_xyz)
        a[:3, 3] = self.origin_xyz
        return a

    @property
    def extent_mm_zyx(self) -> tuple[float, float, float]:
        return tuple(n * s for n, s in zip(self.shape, self.spacing_zyx))  # type: ignore[return-value]

    @property
    def modality(self) -> str:
        return str(self.source.meta.get("modality", "CT"))

    def with_hu(self, hu: np.ndarray, **source_meta: Any) -> "Scan":
        """A copy carrying new voxels on the same grid (e.g. a protected or tampered scan)."""
        if hu.shape != self.hu.shape:
            raise ValueError(f"new voxels {hu.shape} do not match the grid {self.hu.shape}")
        src = replace(self.source, meta={**self.source.meta, **source_meta})
        return replace(self, hu=np.asarray(hu, dtype=np.float32), source=src)

    def describe(self) -> dict[str, Any]:
        """Summary used by ``mitsgan info``: format, shape, spacing, HU statistics, ids."""
        hu = self.hu
        return {
            "path": self.source.path,
            "format": self.source.format,
            "shape_zyx": list(self.shape),
            "spacing_zyx_mm": [round(s, 6) for s in self.spacing_zyx],
            "origin_xyz_mm": [round(o, 6) for o in self.origin_xyz],
            "direction_xyz": [round(float(v), 6) for v in self.direction_xyz.ravel()],
            "hu_min": float(hu.min()),
            "hu_max": float(hu.max()),
            "hu_mean": float(hu.mean(dtype=np.float64)),
            "modality": self.source.meta.get("modality"),
            "series_uid": self.source.meta.get("series_uid"),
            "patient_id": self.source.meta.get("patient_id"),
        }


def check_finite(hu: np.ndarray, path: str | Path | None) -> None:
    """Refuse NaN/inf voxels: they would silently poison every model downstream."""
    from mitsgan.errors import InputError

    if not np.isfinite(hu).all():
        bad = int((~np.isfinite(hu)).sum())
        raise InputError(path, f"{bad} voxel(s) are NaN or infinite")
