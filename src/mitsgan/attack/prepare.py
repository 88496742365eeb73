"""Training cubes as CT-GAN prepares them (docs/reference.md 1.4).

For each location: cut a 40 mm cube resampled to 1 mm, augment (original, 3 flips,
4 shifts of +-4 voxels, in-plane rotations), centre-crop to 32^3. Then equalise and
normalise with a fit on all training instances; the condition is the normalised cube
with its centre [6:26]^3 set to 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mitsgan.attack.config import CUBE, CUT_MM, MASK, AttackerConfig, AugmentConfig, rotation_angles
from mitsgan.data.dataset import Dataset, Location
from mitsgan.geometry import cut_cube_mm, world_to_voxel


def select_locations(ds: Dataset, cfg: AttackerConfig, split: str = "train") -> list[Location]:
    """Injector: nodules >= ``inject_min_diameter_mm`` (and <= ``inject_max_diameter_mm`` if set); remover: nodules < ``remove_max_diameter_mm``
    plus healthy candidates (what the remover should paint into the hole)."""
    series = set(ds.series(split))
    if cfg.action == "inject":
        cap = cfg.inject_max_diameter_mm or float("inf")
        locs = [a for a in ds.annotations if cfg.inject_min_diameter_mm <= a.diameter_mm <= cap]
        if cfg.inject_textures:
            locs = [a for a in locs if a.extra.get("texture") in cfg.inject_textures]
    elif cfg.action == "remove":
        locs = [a for a in ds.annotations if 0 < a.diameter_mm < cfg.remove_max_diameter_mm]
        locs += ds.candidates
    else:
        raise ValueError(f"unknown action {cfg.action!r} (inject, remove)")
    locs = [loc for loc in locs if loc.seriesuid in series]
    if cfg.max_locations and len(locs) > cfg.max_locations:
        rng = np.random.default_rng(cfg.seed)
        keep = sorted(rng.choice(len(locs), cfg.max_locations, replace=False))
        locs = [locs[i] for i in keep]
    return locs


def center_crop(cube: np.ndarray, size: int = CUBE) -> np.ndarray:
    lo = [(n - size) // 2 for n in cube.shape]
    return cube[lo[0]:lo[0] + size, lo[1]:lo[1] + size, lo[2]:lo[2] + size]


def augment(cube40: np.ndarray, aug: AugmentConfig) -> np.ndarray:
    """(n_instances, 32, 32, 32) HU: original, flips, shifts, rotations (CT-GAN's order)."""
    out = [cube40]
    if aug.flips:
        out += [np.flip(cube40, 1), np.flip(cube40, 2), np.flip(np.flip(cube40, 1), 2)]
    if aug.shift_vox:
        s = aug.shift_vox
        for shift in ((0, s, 0), (0, -s, 0), (0, 0, s), (0, 0, -s)):
            out.append(ndimage.shift(cube40, shift, order=0, mode="constant", cval=-1000.0))
    if aug.rotation_step_deg > 0:
        for angle in rotation_angles(aug.rotation_step_deg):
            out.append(ndimage.rotate(cube40, angle, axes=(1, 2), reshape=False, mode="reflect"))
    return np.stack([center_crop(np.ascontiguousarray(c)) for c in out]).astype(np.float32)


def condition_of(x_norm: np.ndarray) -> np.ndarray:
    """The generator's input: the normalised cube(s) with the centre [6:26]^3 zeroed."""
    c = np.array(x_norm, dtype=np.float32, copy=True)
    a, b = MASK
    c[..., a:b, a:b, a:b] = 0.0
    return c


@dataclass
class CubeSet:
    hu: np.ndarray  # (N, 32, 32, 32) augmented HU cubes
    location_index: np.ndarray  # (N,) which location each instance comes from
    locations: list[Location]


def build_cubes(ds: Dataset, cfg: AttackerConfig, split: str = "train", progress=None) -> CubeSet:
    locs = select_locations(ds, cfg, split)
    if not locs:
        raise ValueError(f"no {cfg.action} training locations in the {split} split")
    cubes, index = [], []
    by_series: dict[str, list[int]] = {}
    for i, loc in enumerate(locs):
        by_series.setdefault(loc.seriesuid, []).append(i)
    for uid in sorted(by_series):
        scan = ds.load(uid)
        for i in by_series[uid]:
            zyx = world_to_voxel(scan, locs[i].coord_xyz)
            inst = augment(cut_cube_mm(scan, zyx, size_mm=CUT_MM), cfg.augment)
            cubes.append(inst)
            index += [i] * len(inst)
            if progress:
                progress(1)
    return CubeSet(np.concatenate(cubes), np.asarray(index), locs)
