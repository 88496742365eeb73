"""Acceptance measurements for a tamper: sphere means, surrounding lung, the injected blob."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage


def _box(shape, center, spacing, half_mm):
    half = np.ceil(half_mm / np.asarray(spacing)).astype(int)
    c = np.asarray(center, dtype=int)
    lo, hi = np.maximum(c - half, 0), np.minimum(c + half + 1, shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi)), c - lo


def _dist_mm(box_shape, c_local, spacing):
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(box_shape, c_local, spacing)],
                        indexing="ij")
    return np.sqrt(sum(g ** 2 for g in grids))


def sphere_mean(hu: np.ndarray, center_zyx: Sequence[int], spacing_zyx, radius_mm: float = 5.0) -> float:
    """Mean HU of the sphere of ``radius_mm`` (the 'central 10 mm sphere' for 5 mm)."""
    box, c = _box(hu.shape, center_zyx, spacing_zyx, radius_mm)
    sub = hu[box]
    return float(sub[_dist_mm(sub.shape, c, spacing_zyx) <= radius_mm].mean())


def surrounding_lung(hu: np.ndarray, center_zyx, spacing_zyx, r_in: float = 16.0,
                     r_out: float = 26.0, lung_below: float = -500.0) -> float:
    """Mean HU of lung voxels (< ``lung_below``) in a shell around the location (original scan)."""
    box, c = _box(hu.shape, center_zyx, spacing_zyx, r_out)
    sub = hu[box]
    d = _dist_mm(sub.shape, c, spacing_zyx)
    sel = (d >= r_in) & (d <= r_out) & (sub < lung_below)
    return float(sub[sel].mean()) if sel.any() else float("nan")


def blob(hu: np.ndarray, center_zyx, spacing_zyx, threshold: float = -400.0, half_mm: float = 24.0,
         search_mm: float = 5.0, before: np.ndarray | None = None) -> dict:
    """The connected component (> ``threshold``) at the centre (or nearest within ``search_mm``).

    With ``before`` (the untampered scan) only new dense voxels count (> threshold after,
    not before), so an injected blob touching a vessel or the chest wall is measured alone.

    Returns equivalent diameter (mm, of a sphere of the same volume), its extent along
    each axis (mm), the fraction of its voxels within 10 mm of the centre, and the number of
    components in the box.
    """
    box, c = _box(hu.shape, center_zyx, spacing_zyx, half_mm)
    sub = hu[box] > threshold
    if before is not None:
        sub &= before[box] <= threshold
    labels, n = ndimage.label(sub, structure=np.ones((3, 3, 3)))
    d = _dist_mm(sub.shape, c, spacing_zyx)
    near = labels[(d <= search_mm) & sub]
    out = {"components": int(n), "eq_diameter_mm": 0.0, "extent_mm": [0.0, 0.0, 0.0],
           "within_10mm": 0.0}
    if near.size == 0:
        return out
    ids, counts = np.unique(near, return_counts=True)
    lab = ids[np.argmax(counts)]
    comp = labels == lab
    vox_vol = float(np.prod(spacing_zyx))
    vol = comp.sum() * vox_vol
    idx = np.argwhere(comp)
    extent = ((idx.max(0) - idx.min(0) + 1) * np.asarray(spacing_zyx)).tolist()
    out.update(eq_diameter_mm=float((6 * vol / np.pi) ** (1 / 3)), extent_mm=[round(e, 1) for e in extent],
               within_10mm=float((d[comp] <= 10.0).mean()))
    return out


def lung_points(hu: np.ndarray, spacing_zyx, n: int, seed: int = 0, avoid_zyx=(), avoid_mm: float = 30.0,
                margin_mm: float = 8.0) -> list[tuple[int, int, int]]:
    """``n`` random voxels deep inside lung parenchyma (for injections on scans without candidates)."""
    lung = hu < -600
    lung = ndimage.binary_opening(lung, iterations=2)
    # keep lung inside the body: drop components touching the in-plane border (outside air)
    labels, _ = ndimage.label(lung)
    border = np.unique(np.concatenate([labels[:, 0].ravel(), labels[:, -1].ravel(),
                                       labels[:, :, 0].ravel(), labels[:, :, -1].ravel()]))
    lung &= ~np.isin(labels, border[border > 0])
    it = max(1, int(round(margin_mm / min(spacing_zyx[1:]))))
    inner = ndimage.binary_erosion(lung, structure=np.ones((1, 3, 3)), iterations=it)
    pts = np.argwhere(inner)
    rng = np.random.default_rng(seed)
    rng.shuffle(pts)
    chosen: list[tuple[int, int, int]] = []
    sp = np.asarray(spacing_zyx)
    for p in pts:
        if all(np.linalg.norm((p - np.asarray(a)) * sp) > avoid_mm for a in list(avoid_zyx) + chosen):
            chosen.append(tuple(int(v) for v in p))
            if len(chosen) == n:
                break
    return chosen
