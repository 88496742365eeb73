"""Did a tamper work? Measurements in HU and mm around the tampered location.

The one place that defines the issue's acceptance ("injection at a healthy lung location
raises the mean HU of the central 10 mm sphere by at least 500 HU and yields a compact,
nodule-like blob, not noise; removal at a nodule brings that sphere to within 100 HU of the
surrounding lung"). Used by the attacker's acceptance benchmark
(``benchmarks/attacker_acceptance.py``, whose numbers are in the ``ctgan_*`` model cards), the
demo and, later, to show that a protected scan breaks the attack.

All arrays are (z, y, x) HU; spacing is (z, y, x) mm; centres are (z, y, x) voxels (integers
as the tamper returns them; fractional centres are measured from the exact point).

Defaults, and why (they are the ones the model cards' numbers were computed with):

* Central sphere: 10 mm diameter, as the issue says.
* Surrounding lung (:func:`surrounding_lung_hu`): the **mean** of the voxels below -500 HU
  (lung, not vessels, walls or nodule) in the shell 16-26 mm **radius** around the centre,
  measured on the **original** scan. 16 mm clears the largest nodules the remover is asked to
  erase (>= 10 mm; up to ~30 mm, radius 15 mm) and the partial-volume rim around them; 26 mm
  keeps it local (lung density drifts from front to back and top to bottom), and a 10 mm thick
  shell holds tens of thousands of voxels, so the mean is stable (the -500 HU cut already
  removes the dense outliers a median would guard against).
* Blob (:func:`measure_blob`): voxels above -400 HU (halfway between aerated lung, about
  -850 HU, and soft tissue, about 0 HU) in a 48 mm cube (half side 24 mm: the whole 32 mm
  CT-GAN cube fits, so an injected blob is never clipped), 26-connected; the blob is the
  component with the most voxels within 5 mm of the centre, i.e. inside the central 10 mm
  sphere itself (so a blob beside the location does not count). With ``before`` (the
  original scan) only voxels that were not already dense count, so an injection touching a
  vessel or the chest wall is measured alone.
* Nodule-like: equivalent-sphere diameter 5-40 mm and at least half of the blob within 10 mm
  of the centre (compact, not noise or a smear along a vessel).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage

SPHERE_DIAMETER_MM = 10.0
LUNG_SHELL_MM = (16.0, 26.0)  # inner and outer radius
LUNG_BELOW_HU = -500.0
BLOB_THRESHOLD_HU = -400.0
BLOB_SEARCH_MM = 5.0  # radius: the central 10 mm sphere
BLOB_HALF_BOX_MM = 24.0
# The acceptance thresholds.
INJECT_RISE_HU = 500.0
REMOVE_GAP_HU = 100.0
NODULE_DIAMETER_MM = (5.0, 40.0)
NODULE_WITHIN_10MM = 0.5


def _box(shape: Sequence[int], center_zyx: Sequence[float], spacing_zyx: Sequence[float],
         half_mm: float, pad: int = 0) -> tuple[tuple[slice, ...], np.ndarray]:
    """The box of half side ``half_mm`` (+ ``pad`` voxels) around the centre, and the centre in it."""
    c = np.asarray(center_zyx, dtype=np.float64)
    base = np.floor(c).astype(int)
    half = np.ceil(half_mm / np.asarray(spacing_zyx, dtype=np.float64)).astype(int) + pad
    lo = np.maximum(base - half, 0)
    hi = np.minimum(base + half + 1, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi)), c - lo


def _distance_mm(shape: Sequence[int], center_zyx: np.ndarray,
                 spacing_zyx: Sequence[float]) -> np.ndarray:
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(shape, center_zyx, spacing_zyx)],
                        indexing="ij")
    return np.sqrt(sum(g * g for g in grids))


def _near(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float],
          radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """The voxels around the centre that reach ``radius_mm`` and their distance to it (mm)."""
    box, c = _box(hu.shape, center_zyx, spacing_zyx, radius_mm, pad=1)
    sub = hu[box]
    return sub, _distance_mm(sub.shape, c, spacing_zyx)


def sphere_mean_hu(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float], *,
                   diameter_mm: float = SPHERE_DIAMETER_MM) -> float:
    """Mean HU inside the sphere of ``diameter_mm`` (the issue's 'central 10 mm sphere')."""
    sub, d = _near(hu, spacing_zyx, center_zyx, diameter_mm / 2)
    return float(sub[d <= diameter_mm / 2].mean())


def surrounding_lung_hu(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float],
                        *, shell_mm: tuple[float, float] = LUNG_SHELL_MM,
                        lung_below_hu: float = LUNG_BELOW_HU) -> float:
    """Mean HU of the lung voxels (< ``lung_below_hu``) in the shell of radii ``shell_mm``.

    Measure it on the original scan. NaN when the shell holds no lung.
    """
    r_in, r_out = shell_mm
    sub, d = _near(hu, spacing_zyx, center_zyx, r_out)
    sel = (d >= r_in) & (d <= r_out) & (sub < lung_below_hu)
    return float(sub[sel].mean()) if sel.any() else float("nan")


@dataclass(frozen=True)
class Blob:
    """The dense blob at a location (all zero when there is none)."""

    eq_diameter_mm: float  # of the sphere with the blob's volume
    extent_mm: tuple[float, float, float]  # bounding box along z, y, x
    within_10mm: float  # fraction of its voxels within 10 mm of the centre
    components: int  # dense components in the search box (the blob's and others)

    @property
    def nodule_like(self) -> bool:
        """Compact and nodule-sized: the acceptance's 'not noise'."""
        lo, hi = NODULE_DIAMETER_MM
        return lo <= self.eq_diameter_mm <= hi and self.within_10mm >= NODULE_WITHIN_10MM


def measure_blob(hu: np.ndarray, spacing_zyx: Sequence[float], center_zyx: Sequence[float], *,
                 before: np.ndarray | None = None, threshold_hu: float = BLOB_THRESHOLD_HU,
                 search_mm: float = BLOB_SEARCH_MM, half_box_mm: float = BLOB_HALF_BOX_MM) -> Blob:
    """The connected component above ``threshold_hu`` at the centre (see the module's notes).

    Of the components in the cube of half side ``half_box_mm``, the one with the most voxels
    within ``search_mm`` of the centre. With ``before`` (the untampered scan), only voxels
    that were not above ``threshold_hu`` before count: the new tissue alone.
    """
    box, c = _box(hu.shape, center_zyx, spacing_zyx, half_box_mm)
    dense = hu[box] > threshold_hu
    if before is not None:
        dense &= before[box] <= threshold_hu
    labels, n = ndimage.label(dense, structure=np.ones((3, 3, 3)))
    d = _distance_mm(dense.shape, c, spacing_zyx)
    near = labels[(d <= search_mm) & dense]
    if near.size == 0:
        return Blob(0.0, (0.0, 0.0, 0.0), 0.0, int(n))
    ids, counts = np.unique(near, return_counts=True)
    comp = labels == ids[np.argmax(counts)]
    volume_mm3 = float(comp.sum() * np.prod(spacing_zyx))
    idx = np.argwhere(comp)
    extent = (idx.max(0) - idx.min(0) + 1) * np.asarray(spacing_zyx, dtype=np.float64)
    return Blob(eq_diameter_mm=float((6 * volume_mm3 / np.pi) ** (1 / 3)),
                extent_mm=tuple(float(e) for e in extent),  # type: ignore[arg-type]
                within_10mm=float((d[comp] <= 10.0).mean()), components=int(n))


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
    lung_hu: float  # surrounding lung of the original scan
    blob_before: Blob  # in the original scan (the nodule, for a removal)
    blob_after: Blob  # in the tampered scan, with whatever dense tissue it touches
    blob_new: Blob  # in the tampered scan, only tissue that was not dense before (the injection)

    @property
    def sphere_change_hu(self) -> float:
        return self.sphere_hu_after - self.sphere_hu_before

    @property
    def lung_gap_hu(self) -> float:
        """Central sphere after the tamper minus the surrounding lung."""
        return self.sphere_hu_after - self.lung_hu

    @property
    def success(self) -> bool:
        """The issue's acceptance.

        Injection: the sphere rises >= 500 HU and the new tissue is a nodule-like blob.
        Removal: the sphere ends within 100 HU of the surrounding lung.
        """
        if self.action == "inject":
            return self.sphere_change_hu >= INJECT_RISE_HU and self.blob_new.nodule_like
        return abs(self.lung_gap_hu) <= REMOVE_GAP_HU

    def as_dict(self) -> dict:
        return {**asdict(self), "sphere_change_hu": self.sphere_change_hu,
                "lung_gap_hu": self.lung_gap_hu, "success": self.success}


def measure_tamper(original: np.ndarray, tampered: np.ndarray, spacing_zyx: Sequence[float],
                   center_zyx: Sequence[float], action: str) -> TamperMeasure:
    """All the acceptance numbers for one tamper at ``center_zyx`` (voxels)."""
    return TamperMeasure(
        action=action,
        center_zyx=tuple(float(v) for v in center_zyx),  # type: ignore[arg-type]
        sphere_hu_before=sphere_mean_hu(original, spacing_zyx, center_zyx),
        sphere_hu_after=sphere_mean_hu(tampered, spacing_zyx, center_zyx),
        lung_hu=surrounding_lung_hu(original, spacing_zyx, center_zyx),
        blob_before=measure_blob(original, spacing_zyx, center_zyx),
        blob_after=measure_blob(tampered, spacing_zyx, center_zyx),
        blob_new=measure_blob(tampered, spacing_zyx, center_zyx, before=original),
    )
