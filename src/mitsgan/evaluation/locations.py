"""Where to tamper when a scan has no annotated candidates: points deep in its lungs."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage


def lung_points(hu: np.ndarray, spacing_zyx: Sequence[float], n: int, seed: int = 0,
                avoid_zyx: Sequence[Sequence[float]] = (), avoid_mm: float = 30.0,
                margin_mm: float = 8.0) -> list[tuple[int, int, int]]:
    """``n`` random voxels (z, y, x) deep inside lung parenchyma, for injections.

    Lung is below -600 HU, opened twice, without the components that touch the in-plane
    border (the air outside the body), eroded in-plane by ``margin_mm``. Points are more than
    ``avoid_mm`` from each other and from ``avoid_zyx`` (e.g. the nodules). Fewer than ``n``
    when the lung has no more room.
    """
    lung = hu < -600
    lung = ndimage.binary_opening(lung, iterations=2)
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
            chosen.append(tuple(int(v) for v in p))  # type: ignore[arg-type]
            if len(chosen) == n:
                break
    return chosen
