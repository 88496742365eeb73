"""CT-GAN's tamper pipeline on a scan (numpy), docs/reference.md 1.5.

1. Cut ``round(32 / spacing)`` voxels around the (integer) voxel centre, resample to 32^3 at 1 mm.
2. Equalise, normalise, zero the centre [6:26]^3, run G (eval mode: dropout off, BN running stats).
3. Clip to +-0.5, de-normalise, de-equalise; voxels > 2000 HU take the mean of their 5^3
   neighbourhood, values < -1000 become -1000.
4. Resample back to ``round(32 / spacing)`` voxels and paste.
5. Touch-ups over a region 1.3x the cube: add noise copied from lung parenchyma of the same
   scan, then blend. Inject: ``f = sigmoid((mal + 700) / 70) * kern01(nsig=3)`` per slice,
   ``final = max(mal f + ben (1 - f), ben)`` (never darker than the original). Remove:
   ``k = kern01(nsig=0.1)``, ``final = mal k + ben (1 - k)`` (CT-GAN adds and subtracts
   ``minv`` around this; it cancels).

Deviations from CT-GAN's code, all documented in the model cards:

* resampling is linear with corners aligned (scipy ``zoom(order=1, grid_mode=False)``, the
  same as torch ``interpolate(trilinear, align_corners=True)``) instead of cubic splines, so
  the differentiable version in :mod:`mitsgan.attack.tamper_torch` computes the same thing;
* the > 2000 HU fix uses neighbourhood means of the uncorrected cube (CT-GAN updates voxels
  one after another);
* the touch-up region is ``int(1.3 n)`` voxels per axis (CT-GAN: a cube of
  ``int(1.3 max(n))`` voxels, which spans 150 mm in z on 2.5 mm slices) and the per-slice
  Gaussian is built on its (y, x) size;
* the noise is copied from a lung region drawn with a seeded generator (CT-GAN: a fixed
  location at the middle slice, y = 0.43 H, x = 0.27 W, used as the fallback here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy import ndimage, special

from mitsgan.attack.config import CUBE, MASK
from mitsgan.attack.weights import Attacker
from mitsgan.errors import InputError
from mitsgan.geometry import contains_voxel, world_to_voxel
from mitsgan.io.scan import Scan

EXT_FACTOR = 1.3
AIR = -1000.0
LUNG_NOISE_HU = -800.0


# ---------------------------------------------------------------- geometry helpers

def cube_voxels(spacing_zyx: Sequence[float], size_mm: float = CUBE) -> np.ndarray:
    """Voxels per axis of a ``size_mm`` cube: CT-GAN's ``round(32 / spacing)``."""
    return np.maximum(1, np.round(size_mm / np.asarray(spacing_zyx, dtype=np.float64))).astype(int)


def ext_voxels(n: np.ndarray) -> np.ndarray:
    return (np.asarray(n) * EXT_FACTOR).astype(int)


def box_start(center: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """CT-GAN's cutCube/pasteCube corner: ``center - round(shape / 2)``."""
    return np.asarray(center, dtype=int) - np.round(np.asarray(shape) / 2).astype(int)


def cut(hu: np.ndarray, center, shape, fill: float = AIR) -> np.ndarray:
    """A box of ``shape`` around ``center`` (CT-GAN's corner rule), ``fill`` outside the volume."""
    start = box_start(center, shape)
    out = np.full(tuple(shape), fill, dtype=hu.dtype)
    src, dst = _overlap(hu.shape, start, shape)
    if src is not None:
        out[dst] = hu[src]
    return out


def paste(hu: np.ndarray, box: np.ndarray, center) -> None:
    """In place: write ``box`` at ``center`` (parts outside the volume are dropped)."""
    src, dst = _overlap(hu.shape, box_start(center, box.shape), box.shape)
    if src is not None:
        hu[src] = box[dst]


def _overlap(vol_shape, start, shape):
    lo = np.maximum(start, 0)
    hi = np.minimum(start + np.asarray(shape), vol_shape)
    if np.any(hi <= lo):
        return None, None
    src = tuple(slice(a, b) for a, b in zip(lo, hi))
    dst = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))
    return src, dst


def tamper_box(shape_zyx, center_zyx, spacing_zyx) -> tuple[slice, slice, slice]:
    """The voxels a tamper at ``center`` may change (the touch-up region, clipped to the scan)."""
    m = ext_voxels(cube_voxels(spacing_zyx))
    src, _ = _overlap(shape_zyx, box_start(center_zyx, m), m)
    return src


def kern01(shape_yx: Sequence[int], nsig: float) -> np.ndarray:
    """CT-GAN's per-slice Gaussian in [0, 1] (gkern: sqrt of the outer product of binned
    normal densities, min-max scaled), generalised to a non-square (y, x) size."""
    def k1(n):
        interval = (2 * nsig + 1.0) / n
        x = np.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, n + 1)
        return np.diff(special.ndtr(x))  # the normal cdf, without importing scipy.stats (slow)

    k = np.sqrt(np.outer(k1(shape_yx[0]), k1(shape_yx[1])))
    k = k / k.sum()
    return (k - k.min()) / (k.max() - k.min())


def zoom_to(cube: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Linear resampling with corners aligned (== torch trilinear, align_corners=True)."""
    if tuple(cube.shape) == tuple(shape):
        return cube.astype(np.float32, copy=True)
    factors = [t / s for t, s in zip(shape, cube.shape)]
    out = ndimage.zoom(cube, factors, order=1, mode="nearest", grid_mode=False)
    assert out.shape == tuple(shape), (out.shape, shape)
    return out.astype(np.float32)


# ---------------------------------------------------------------- noise touch-up

def lung_noise(hu: np.ndarray, shape: Sequence[int], seed: int = 0, tries: int = 64,
               min_lung_fraction: float = 0.6) -> np.ndarray:
    """Zero-mean parenchyma texture of ``shape`` copied from the scan (CT-GAN's copynoise).

    A box is drawn at random (seeded) until one is mostly lung (voxels < -800 HU); CT-GAN's
    fixed location is the fallback. Voxels above -800 (vessels, walls) take the mean of the
    lung voxels, and the mean is subtracted.
    """
    rng = np.random.default_rng(seed)
    shape = np.asarray(shape)
    half = shape // 2 + 1
    lo, hi = half, np.asarray(hu.shape) - half
    center = np.array([hu.shape[0] // 2, int(hu.shape[1] * 0.43), int(hu.shape[2] * 0.27)])
    if np.all(hi > lo):
        for _ in range(tries):
            c = rng.integers(lo, hi)
            s = box_start(c, shape)
            probe = hu[s[0]:s[0] + shape[0]:2, s[1]:s[1] + shape[1]:2, s[2]:s[2] + shape[2]:2]
            if np.mean(probe < LUNG_NOISE_HU) >= min_lung_fraction:
                center = c
                break
    x = cut(hu, center, shape).astype(np.float64)
    lung = x < LUNG_NOISE_HU
    if lung.any():
        x[~lung] = x[lung].mean()
    return (x - x.mean()).astype(np.float32)


# ---------------------------------------------------------------- the pipeline

def run_generator(attacker: Attacker, clean32: np.ndarray) -> np.ndarray:
    """1 mm cube in HU -> the generator's cube in HU (steps 2-3)."""
    eq = attacker.equalizer
    x = eq.normalize(clean32)
    a, b = MASK
    x[a:b, a:b, a:b] = 0.0
    dev = next(attacker.generator.parameters()).device
    with torch.no_grad():
        y = attacker.generator(torch.from_numpy(x)[None, None].to(dev))[0, 0].float().cpu().numpy()
    mal = eq.denormalize(np.clip(y, -0.5, 0.5))
    return fix_range(mal)


def fix_range(mal: np.ndarray) -> np.ndarray:
    bad = mal > 2000
    if bad.any():
        padded = np.pad(mal, 2, constant_values=AIR)
        local = ndimage.uniform_filter(padded.astype(np.float64), size=5, mode="constant")[2:-2, 2:-2, 2:-2]
        mal = np.where(bad, local, mal).astype(np.float32)
    return np.maximum(mal, AIR).astype(np.float32)


def blend(action: str, mal_ext: np.ndarray, ben_ext: np.ndarray) -> np.ndarray:
    """CT-GAN's final touch-up blend over the extended region (noise already added to mal)."""
    mal = mal_ext.astype(np.float64)
    ben = ben_ext.astype(np.float64)
    if action == "inject":
        f = 1.0 / (1.0 + np.exp(-(mal + 700.0) / 70.0)) * kern01(mal.shape[1:], 3.0)[None]
        out = np.maximum(mal * f + ben * (1.0 - f), ben)
    else:
        k = kern01(mal.shape[1:], 0.1)[None]
        out = mal * k + ben * (1.0 - k)
    return out.astype(np.float32)


@dataclass
class TamperResult:
    scan: Scan
    center_zyx: tuple[int, int, int]
    box: tuple[slice, slice, slice]  # the only voxels that may differ from the input


def resolve_center(scan: Scan, at: Sequence[float], world: bool = False) -> np.ndarray:
    p = world_to_voxel(scan, at) if world else np.asarray(at, dtype=np.float64)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise InputError(None, f"--at needs three numbers, got {list(at)}")
    if not contains_voxel(scan, p):
        what = f"world (x, y, z) {tuple(at)} = voxel (z, y, x) {tuple(np.round(p, 1))}" if world \
            else f"voxel (z, y, x) {tuple(at)}"
        raise InputError(scan.source.path, f"--at {what} is outside the scan of shape {scan.shape}")
    return np.round(p).astype(int)


def tamper_hu(hu: np.ndarray, spacing_zyx, center_zyx, attacker: Attacker, *,
              noise: bool = True, seed: int = 0, noise_source: np.ndarray | None = None) -> np.ndarray:
    """A tampered copy of ``hu`` (float32); only :func:`tamper_box` voxels change."""
    c = np.asarray(center_zyx, dtype=int)
    n = cube_voxels(spacing_zyx)
    m = ext_voxels(n)
    clean32 = zoom_to(cut(hu, c, n), (CUBE,) * 3)
    mal = zoom_to(run_generator(attacker, clean32), n)
    ben_ext = cut(hu, c, m)
    mal_ext = ben_ext.copy()
    paste(mal_ext, mal, np.round(np.asarray(m) / 2).astype(int))  # the cube's place in the box
    if noise:
        mal_ext = mal_ext + lung_noise(hu if noise_source is None else noise_source, m, seed)
    final = blend(attacker.action, mal_ext, ben_ext)
    out = hu.astype(np.float32, copy=True)
    paste(out, final, c)
    return out


def tamper_scan(scan: Scan, at: Sequence[float], attacker: Attacker, *, world: bool = False,
                noise: bool = True, seed: int = 0) -> TamperResult:
    """Tamper one location of ``scan`` (voxel (z, y, x) or, with ``world``, LPS (x, y, z) mm)."""
    c = resolve_center(scan, at, world)
    hu = tamper_hu(scan.hu, scan.spacing_zyx, c, attacker, noise=noise, seed=seed)
    meta = {"tampered": f"ctgan-{attacker.action}", "tamper_center_zyx": [int(v) for v in c]}
    return TamperResult(scan.with_hu(hu, **meta), tuple(int(v) for v in c),
                        tamper_box(scan.shape, c, scan.spacing_zyx))
