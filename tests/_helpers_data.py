"""Small seeded scans and dataset folders for the dataset-builder and sample tests."""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np

from mitsgan.data.dataset import Location, make_split, write_locations_csv, write_split_csv
from mitsgan.geometry import voxel_to_world
from mitsgan.io import Scan, write_scan

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_LIDC = REPO_ROOT.parent / "shared" / "data" / "ct" / "lidc"

# A proper rotation that swaps and flips axes: world x <- -index y, world y <- index x.
ROTATED = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def random_scan(shape=(20, 48, 44), spacing=(2.5, 0.8, 0.7), origin=(-20.0, 15.0, -100.0),
                direction=None, seed=0) -> Scan:
    """Whole-HU noise around -800 (lung-like), so MHD stores it losslessly as int16."""
    rng = np.random.default_rng(seed)
    hu = (-800 + rng.integers(-60, 60, shape)).astype(np.float32)
    return Scan(hu=hu, spacing_zyx=spacing, origin_xyz=origin,
                direction_xyz=np.eye(3) if direction is None else direction)


def uid(i: int) -> str:
    return f"1.2.826.0.1.3680043.8.498.{1000 + i}"


def make_luna_root(root: Path, n_series: int = 4, seed: int = 0, candidates: bool = True) -> dict:
    """A fake LUNA16 tree: subset0/1 <uid>.mhd, annotations.csv, candidates.csv (classes 0 and 1).

    Returns {uid: Scan}. Each scan gets one nodule at its centre voxel and two
    candidates (one class 0, one class 1).
    """
    root.mkdir(parents=True, exist_ok=True)
    scans = {}
    ann_rows, cand_rows = [], []
    for i in range(n_series):
        u = uid(i)
        scan = random_scan(shape=(12 + i, 40, 36), seed=seed + i,
                           origin=(-20.0 + i, 15.0, -100.0 - 3 * i))
        write_scan(scan, root / f"subset{i % 2}" / f"{u}.mhd")
        scans[u] = scan
        c = np.array(scan.shape, dtype=float) / 2
        x, y, z = voxel_to_world(scan, c)
        ann_rows.append([u, x, y, z, 5.0 + i])
        for k, cls in ((0.25, 0), (0.75, 1)):
            x, y, z = voxel_to_world(scan, np.array(scan.shape) * k)
            cand_rows.append([u, x, y, z, cls])
    # Written in an order that is not the sorted one, to prove the output is canonical.
    with open(root / "annotations.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seriesuid", "coordX", "coordY", "coordZ", "diameter_mm"])
        w.writerows(reversed(ann_rows))
    if candidates:
        with open(root / "candidates.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seriesuid", "coordX", "coordY", "coordZ", "class"])
            w.writerows(cand_rows)
    return scans


def write_dataset(root: Path, scans: dict[str, Scan], nodules: list[Location],
                  candidates: list[Location] | None = None,
                  patients: dict[str, str] | None = None, seed: int = 0) -> Path:
    """A dataset folder written directly with the dataset-format writers."""
    root.mkdir(parents=True, exist_ok=True)
    for u, scan in scans.items():
        write_scan(scan, root / f"{u}.mhd")
    write_locations_csv(root / "annotations.csv", nodules)
    if candidates is not None:
        write_locations_csv(root / "candidates.csv", candidates)
    patients = patients or {u: u for u in scans}
    write_split_csv(root / "split.csv", patients, make_split(patients, seed=seed))
    return root


def lidc_skip_reason() -> str | None:
    """Why the LIDC builder test cannot run here, or None."""
    if not SHARED_LIDC.is_dir():
        return f"LIDC slabs not available: {SHARED_LIDC} is absent (../shared is not checked out)"
    if importlib.util.find_spec("pylidc") is None:
        return "pylidc is not installed (pip install 'mitsgan[lidc]')"
    if importlib.util.find_spec("mitsgan.io.dicom_read") is None:
        return "the DICOM reader (mitsgan.io.dicom_read) is not available yet"
    return None
