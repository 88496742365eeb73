"""The lungs' vessel and airway trees for one phantom: territory, growth parameters, rendering.

Why apart from :mod:`generate`: the calibre law and the tree sizes are what decide
whether the lung reads as a fine web of tapering lines (real) or a cloud of bright
dots (a phantom), so they are tuned here, next to each other, with the reasons.
The growth and rendering mechanics are in :mod:`vessels`.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from mitsgan.data.phantom import anatomy as A
from mitsgan.data.phantom.vessels import Grid, Tree, grow_tree, render_tree

f32 = np.float32
# Vessel trees grow in a space stretched this much along t (see vessels.grow_tree): more
# branches in the axial plane, the web of fine lines of a real lung rather than dots.
VESSEL_Z_STRETCH = 1.8
VESSEL_UNIT_MM = 0.36  # radius of a branch feeding one target (Murray's law scales it)
VESSEL_LENGTH_PER_RADIUS = 12.0
# Terminal branches per tree (artery or vein, each lung): with fewer, the periphery
# looks empty next to the even web of fine lines of a real lung.
VESSEL_TARGETS = 5000
VESSEL_FLOOR_MM = 0.65  # radius of the thinnest branches drawn: ~1.3 mm, the finest lines CT shows


def lung_targets(p: A.ChestParams, rng: np.random.Generator, step_mm: float = 4.0) -> np.ndarray:
    """Points filling both lungs (whole chest, not just the slab): the trees' territory."""
    half = p.body_half_width_mm + 10.0
    xs = np.arange(-half, half, step_mm, dtype=f32)[None, :]
    ys = np.arange(-p.body_half_ant_mm - 10.0, p.body_half_post_mm + 10.0, step_mm, dtype=f32)[:, None]
    ts = np.arange(12.0, p.lung_length_mm + 60.0, step_mm)
    lung = np.pad(np.stack([A.render_slice(p, xs, ys, float(t))[1] == A.LUNG for t in ts]), 1)
    # No terminal targets in the outer ~4 mm under the pleura: real vessels thin out to
    # nothing visible there, and tips ending on the pleura read as dots along the wall.
    # Measured in-plane only: vessels do run down onto the diaphragm and up to the apex;
    # a 3-D margin left every slice just above a dome with a vessel-free hole in its centre.
    sampling = (1e6, step_mm, step_mm)  # slices far apart: a 2-D distance per slice
    deep = ndimage.distance_transform_edt(lung, sampling=sampling)[1:-1, 1:-1, 1:-1] > 4.5
    kk, jj, ii = np.nonzero(deep)
    allp = np.stack([xs[0, ii], ys[jj, 0], ts[kk].astype(f32)], axis=1).astype(np.float64)
    return allp + rng.uniform(-step_mm / 2, step_mm / 2, size=allp.shape)


def vessel_trees(p: A.ChestParams, grid: Grid, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occupancy of the vessels, airway lumens and airway walls (lumen + wall) on ``grid``.

    Arteries and veins from each hilum, plus a coarse bronchial tree (airways stop where
    CT stops seeing them); the whole lung is grown so branches entering the slab from
    above or below are there, then only those near the slab are rendered.
    """
    pts = lung_targets(p, rng)
    t_lo = grid.t0_mm - (grid.shape_zyx[0] - 1) * grid.slice_mm
    t_hi = grid.t0_mm
    vessel_list, airway_list = [], []
    for side, sel in (("right", pts[:, 0] < 0), ("left", pts[:, 0] >= 0)):
        P = pts[sel]
        # Murray's law (exponent 1/3) from ~5.5 mm lobar trunks: the mid-size (2-4 mm)
        # vessels, which show as round dots wherever they cross the slice, stay few and
        # near the hila; a floor of ~1 mm calibre keeps the terminal branches visible as
        # the fine web of a real lung. Branch length is capped at 12 radii: a tighter cap
        # (real L/D ~3) leaves the tree short of its territory, and its last branches then
        # fan out from a few points as long starbursts.
        for kind, n, unit, expo, min_r, floor, lpr in (
                ("artery", VESSEL_TARGETS, VESSEL_UNIT_MM, 1.0 / 3.0, 0.0, VESSEL_FLOOR_MM, VESSEL_LENGTH_PER_RADIUS),
                ("vein", VESSEL_TARGETS, VESSEL_UNIT_MM, 1.0 / 3.0, 0.0, VESSEL_FLOOR_MM, VESSEL_LENGTH_PER_RADIUS),
                ("bronchus", 300, 0.55, 1.0 / 3.0, 1.4, 0.0, 10.0)):
            idx = np.sort(rng.choice(len(P), size=min(n, len(P)), replace=False))
            root = np.asarray(p.hila[f"{side}_{kind}"])
            tree = grow_tree(root, P[idx], unit, rng, min_radius_mm=min_r, murray_exponent=expo,
                             z_stretch=VESSEL_Z_STRETCH if kind != "bronchus" else 1.0,
                             terminal_radius_mm=floor, length_per_radius=lpr)
            (airway_list if kind == "bronchus" else vessel_list).append(tree)
    vt = clip_tree(Tree.concat(vessel_list), t_lo, t_hi)
    at = clip_tree(Tree.concat(airway_list), t_lo, t_hi)
    vessels, _ = render_tree(vt, grid)
    aw_lumen, aw_outer = render_tree(at, grid, wall_fraction=0.2, wall_mm=0.35)
    assert aw_outer is not None
    return vessels, aw_lumen, aw_outer


def clip_tree(tree: Tree, t_lo: float, t_hi: float) -> Tree:
    """Only the branches that reach within a few mm of the slab [t_lo, t_hi]: rendering cost."""
    lo = np.minimum(tree.start[:, 2], tree.end[:, 2]) - tree.radius_mm - 3.0
    hi = np.maximum(tree.start[:, 2], tree.end[:, 2]) + tree.radius_mm + 3.0
    keep = (hi >= t_lo) & (lo <= t_hi)
    return tree.subset(keep)
