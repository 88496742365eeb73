"""Did a tamper work? Measurements in HU and mm around the tampered location.

Used by the attacker's acceptance benchmark, the demo and, later, to show that a
protected scan breaks the attack. All arrays are (z, y, x) HU; spacing in mm.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage


def _distance_mm(shape: Sequence[int], spacing_zyx: Sequence[float],
                 center_zyx: Sequence[float]) -> np.ndarray:
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(shape, center_zyx, spacing_zyx)],
                        indexing="ij")
    return np.sqrt(sum(g * g for g in grids))


def _window(hu: np.ndarray, center_zyx: Sequence[float], spacing_zyx: Sequence[float],
            radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """The sub-volume within ``radius_mm`` of the centre, and the centre in its coordinates."""
    c = np.asarray(center_zyx, dtype=np.float64)
    r = np.ceil(radius_mm / np.asarray(spacing_zyx)).astype(int) + 1
    lo = np.maximum(np.floor(c).astype(int) - r, 0)
    hi = np.minimum(np.floor(c).astype(int) + r + 1, hu.shape)
    sub = hu[tuple(slice(a, b) for a, b in zip(lo, hi))]
    return sub, c - lo


def sphere_mean_hu(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float],
                   diameter_mm: float = 10.0) -> float:
    """Mean HU inside a sphere (the issue's 'central 10 mm sphere')."""
    sub, c = _window(hu, center_zyx, spacing_zyx, diameter_mm / 2)
    inside = _distance_mm(sub.shape, spacing_zyx, c) <= diameter_mm / 2
    return float(sub[inside].mean())


def surrounding_lung_hu(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float],
                        inner_mm: float = 24.0, outer_mm: float = 40.0) -> float:
    """Median HU of lung voxels (< -500 HU) in a shell around the location.

    The shell starts outside CT-GAN's 32 mm cube so it measures untouched lung.
    """
    sub, c = _window(hu, center_zyx, spacing_zyx, outer_mm / 2)
    d = _distance_mm(sub.shape, spacing_zyx, c)
    shell = sub[(d > inner_mm / 2) & (d <= outer_mm / 2)]
    lung = shell[shell < -500]
    return float(np.median(lung)) if lung.size else float("nan")


def blob_diameter_mm(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float],
                     threshold_hu: float = -400.0, search_mm: float = 10.0,
                     max_mm: float = 40.0) -> float:
    """Equivalent-sphere diameter of the dense blob at the location (0 when there is none).

    The blob is the connected component above ``threshold_hu`` that comes closest to
    the centre (within ``search_mm``), clipped to a ``max_mm`` window so a nodule
    touching a vessel or the chest wall does not count the whole tree.
    """
    sub, c = _window(hu, center_zyx, spacing_zyx, max_mm / 2)
    dense = sub > threshold_hu
    labels, n = ndimage.label(dense)
    if n == 0:
        return 0.0
    d = _distance_mm(sub.shape, spacing_zyx, c)
    near = (d <= search_mm / 2) & dense
    if not near.any():
        return 0.0
    label = labels[near][np.argmin(d[near])]
    volume_mm3 = float((labels == label).sum() * np.prod(spacing_zyx))
    return float((6 * volume_mm3 / np.pi) ** (1 / 3))


def changed_box(original: np.ndarray, tampered: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box of the voxels that differ (None when the scans are identical)."""
    diff = np.argwhere(original != tampered)
    if diff.size == 0:
        return None
    lo, hi = diff.min(axis=0), diff.max(axis=0) + 1
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


@dataclass
class TamperMeasure:
    """Before/after numbers at one tampered location."""

    action: str
    center_zyx: tuple[float, float, float]
    sphere_hu_before: float
    sphere_hu_after: float
    lung_hu: float
    blob_mm_before: float
    blob_mm_after: float

    @property
    def sphere_change_hu(self) -> float:
        return self.sphere_hu_after - self.sphere_hu_before

    @property
    def success(self) -> bool:
        """The issue's acceptance: +500 HU for injection; within 100 HU of the lung for removal."""
        if self.action == "inject":
            return self.sphere_change_hu >= 500 and self.blob_mm_after > 0
        return abs(self.sphere_hu_after - self.lung_hu) <= 100

    def as_dict(self) -> dict:
        return {**asdict(self), "sphere_change_hu": self.sphere_change_hu, "success": self.success}


def measure_tamper(original: np.ndarray, tampered: np.ndarray, spacing_zyx: Sequence[float],
                   center_zyx: Sequence[float], action: str) -> TamperMeasure:
    return TamperMeasure(
        action=action,
        center_zyx=tuple(float(v) for v in center_zyx),  # type: ignore[arg-type]
        sphere_hu_before=sphere_mean_hu(original, spacing_zyx, center_zyx),
        sphere_hu_after=sphere_mean_hu(tampered, spacing_zyx, center_zyx),
        lung_hu=surrounding_lung_hu(original, spacing_zyx, center_zyx),
        blob_mm_before=blob_diameter_mm(original, spacing_zyx, center_zyx),
        blob_mm_after=blob_diameter_mm(tampered, spacing_zyx, center_zyx),
    )
