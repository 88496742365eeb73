"""Small synthetic chest-like CT volumes in the dataset format, for tests and quick training.

Not the project's phantom generator (``mitsgan phantom``): a minimal stand-in with two
lung ellipsoids (-850 HU with smoothed texture) in soft tissue, a few vessels, nodules
of 10-18 mm (annotations), a few < 3 mm, and healthy candidates.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from mitsgan.data.dataset import Location, make_split, write_locations_csv, write_split_csv
from mitsgan.geometry import voxel_to_world
from mitsgan.io import write_scan
from mitsgan.io.scan import Scan


def lung_volume(shape=(48, 96, 96), spacing=(1.5, 0.8, 0.8), rng=None) -> tuple[np.ndarray, np.ndarray]:
    """(hu, lung_mask): soft tissue body with two lungs of textured parenchyma and vessels."""
    rng = np.random.default_rng(0) if rng is None else rng
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    Z, Y, X = shape
    hu = np.full(shape, -1000.0, dtype=np.float32)
    body = ((y - Y / 2) / (0.48 * Y)) ** 2 + ((x - X / 2) / (0.49 * X)) ** 2 < 1
    hu[body] = 40.0
    lung = np.zeros(shape, bool)
    for cx in (0.28 * X, 0.72 * X):
        lung |= (((y - Y / 2) / (0.36 * Y)) ** 2 + ((x - cx) / (0.2 * X)) ** 2
                 + ((z - Z / 2) / (0.6 * Z)) ** 2) < 1
    texture = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.0) * 60
    hu[lung] = -850.0 + texture[lung]
    for _ in range(6):  # vessels: short straight tubes
        p0 = np.array([rng.uniform(0, Z), rng.uniform(0.2, 0.8) * Y, rng.uniform(0.1, 0.9) * X])
        d = rng.standard_normal(3)
        d /= np.linalg.norm(d)
        t = np.clip(((np.stack([z, y, x], -1) - p0) @ d), -20, 20)
        dist = np.linalg.norm(np.stack([z, y, x], -1) - (p0 + t[..., None] * d), axis=-1)
        vessel = (dist < rng.uniform(0.8, 1.6)) & lung
        hu[vessel] = 0.0
    hu += rng.normal(0, 15, shape).astype(np.float32)
    return hu.astype(np.float32), lung


def add_nodule(hu: np.ndarray, center_zyx, diameter_mm: float, spacing, hu_value: float = 40.0,
               rng=None) -> None:
    """In place: a soft-edged, slightly lobulated sphere."""
    rng = np.random.default_rng(0) if rng is None else rng
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(hu.shape, center_zyx, spacing)],
                        indexing="ij")
    r = np.sqrt(sum(g ** 2 for g in grids))
    theta = np.arctan2(grids[1], grids[2])
    radius = diameter_mm / 2 * (1 + 0.08 * np.sin(3 * theta + rng.uniform(0, 6)))
    w = 1.0 / (1.0 + np.exp((r - radius) / 0.6))
    hu[...] = hu * (1 - w) + (hu_value + rng.normal(0, 20, hu.shape)) * w


def make_dataset(root: str | Path, n_scans: int = 4, seed: int = 0, shape=(48, 96, 96),
                 spacing=(1.5, 0.8, 0.8), nodules_per_scan: int = 2, healthy_per_scan: int = 3) -> Path:
    """Write ``n_scans`` .mhd volumes with annotations.csv, candidates.csv and split.csv."""
    root = Path(root)
    (root / "scans").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    nodules, healthy, patients = [], [], {}
    for i in range(n_scans):
        uid = f"synthetic.{seed}.{i:03d}"
        hu, lung = lung_volume(shape, spacing, rng)
        scan = Scan(hu, spacing_zyx=spacing, origin_xyz=(-40.0, -40.0, -100.0 + 10 * i))
        inner = ndimage.binary_erosion(lung, iterations=6)
        pts = np.argwhere(inner)
        picks = pts[rng.choice(len(pts), nodules_per_scan * 2 + healthy_per_scan, replace=False)]
        for j, p in enumerate(picks):
            if j < nodules_per_scan:
                d = float(rng.uniform(10, 18))
            elif j < 2 * nodules_per_scan:
                d = float(rng.uniform(1.5, 2.8))
            else:
                d = 0.0
            if d:
                add_nodule(scan.hu, p, d, spacing, rng=rng)
            loc = Location(uid, tuple(float(v) for v in voxel_to_world(scan, p.astype(float))), d)
            (nodules if d else healthy).append(loc)
        write_scan(scan, root / "scans" / f"{uid}.mhd", overwrite=True)
        patients[uid] = f"P{i:03d}"
    write_locations_csv(root / "annotations.csv", nodules)
    write_locations_csv(root / "candidates.csv", healthy)
    write_split_csv(root / "split.csv", patients, make_split(patients, 0.25, seed))
    return root
