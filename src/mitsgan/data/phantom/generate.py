"""Put it together: one synthetic chest CT with real LIDC nodules, and a dataset of them.

Pipeline for one scan (all float32 HU on the (z, y, x) grid):

1. draw the patient (:func:`anatomy.sample_chest_params`) and the scanner set-up
   (pixel 0.6-0.8 mm chosen to fit the body, as a technologist sets the FOV;
   slice 1.0-2.5 mm; which part of the chest the slab covers);
2. render the analytic anatomy slice by slice, then tissue texture in 3-D;
3. grow artery, vein and airway trees into the 3-D lung shape (coarse grid) and
   render the branches that cross the slab;
4. place the nodules (well inside the lung, away from big vessels) and the
   healthy candidate locations;
5. composite: fissures, vessels, airway walls and lumens, nodules; then blur
   (partial volume) and add correlated CT noise that is stronger in the body centre;
   outside the reconstruction circle is padding (-1024 HU).

Every random draw comes from ``np.random.SeedSequence([seed, index])`` children in a
fixed order, and no step sums floats across threads, so a seed gives byte-identical
files on any machine with the same numpy/scipy.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage

from mitsgan.data.dataset import Location
from mitsgan.data.phantom import anatomy as A
from mitsgan.data.phantom.library import NoduleLibrary, load_library
from mitsgan.data.phantom.noise import circumferential_field, ct_noise, partial_volume_blur, smooth_field, streak_noise
from mitsgan.data.phantom.nodules import (MAX_SMALL_NODULE_MM, PlacedNodule, box_pad_vox, choose_nodules,
                                          feret_diameter_mm, lung_ring_median, measured_diameter_mm, nodule_hu_field,
                                          resample_mask, shape_on_grid)
from mitsgan.data.phantom.trees import vessel_trees
from mitsgan.data.phantom.vessels import Grid
from mitsgan.io.scan import Scan, ScanSource

f32 = np.float32
SLICE_CHOICES_MM = (1.0, 1.25, 1.5, 2.0, 2.5)
CANDIDATE_EDGE_MM = 20.0
CUBE_HALF_MM = 16.0
FOV_COMFORT_MM = 380.0  # widest field of view chosen for comfort (air around the body)
# Threads drawing the slices (numpy releases the GIL in the array work). Measured on 2 cores: seed 1's
# 64 slices took 9.1 s one at a time and 5.6 s on two threads, byte for byte the same; whole default
# scans (seeds 0-2, with the lung-edge distance computed once) 22.4-27.3 s -> 18.1-20.1 s.
RENDER_THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                            else os.cpu_count() or 1))


@dataclass
class Phantom:
    """One generated scan with its ground truth."""

    scan: Scan
    seriesuid: str
    patient_id: str
    labels: np.ndarray  # uint8 tissue labels (anatomy.LUNG, FAT, ...) on the scan grid
    nodules: list[Location]
    candidates: list[Location]
    placed: list[PlacedNodule] = field(default_factory=list)


def series_uid(seed: int, index: int) -> str:
    """A DICOM UID under the 2.25 (UUID-derived) root, fixed by (seed, index)."""
    h = hashlib.sha256(f"mitsgan-phantom:{seed}:{index}".encode()).digest()[:16]
    return f"2.25.{int.from_bytes(h, 'big')}"


def patient_id(seed: int, index: int) -> str:
    return f"PHANTOM-{seed}-{index:04d}"


def _rngs(seed: int, index: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence([seed, index]).spawn(8)]


def chest_params(seed: int = 0, index: int = 0) -> A.ChestParams:
    """The anatomy of scan ``index`` of series ``seed`` (landmarks such as the carina level),
    without rendering it: lets a benchmark pick slices at a given anatomical level."""
    return A.sample_chest_params(_rngs(seed, index)[0])


def phantom_grid(seed: int = 0, index: int = 0, slices: int = 64, size: int = 512) -> Grid:
    """The grid (slab position, pixel and slice size) scan ``index`` of series ``seed`` gets,
    without rendering it: with :func:`chest_params`, which slices cut which anatomy."""
    return _choose_grid(chest_params(seed, index), slices, size, _rngs(seed, index)[1])


def generate_phantom(seed: int = 0, index: int = 0, slices: int = 64, size: int = 512,
                     library: NoduleLibrary | None = None, large_nodules: int = 1) -> Phantom:
    """Generate scan ``index`` of the series made with ``seed`` (see the module docstring).

    ``large_nodules``: how many >= 10 mm nodules to try to place (those that find no room
    clear of the lung edge, fissures and each other are left out; the first always fits).
    """
    if slices < 8 or size < 64:
        raise ValueError("a phantom needs at least 8 slices and 64x64 pixels")
    lib = library or load_library()
    rngs = _rngs(seed, index)
    r_anat, r_setup, r_tex, r_tree, r_nod, r_cand, r_noise, r_nodtex = rngs

    p = A.sample_chest_params(r_anat)
    grid = _choose_grid(p, slices, size, r_setup)
    X = grid.x_mm()[None, :]
    Y = grid.y_mm()[:, None]
    ts = grid.t_mm()
    nz, ny, nx = grid.shape_zyx
    hu = np.empty(grid.shape_zyx, dtype=f32)
    lab = np.empty(grid.shape_zyx, dtype=np.uint8)
    X.setflags(write=False)  # shared by the render threads below
    Y.setflags(write=False)
    A.prepare_to_render(p)

    def render(k: int) -> None:
        hu[k], lab[k] = A.render_slice(p, X, Y, float(ts[k]), grid.slice_mm)
        A.render_table(p, X, Y, hu[k], lab[k])

    # Each slice is drawn from the patient's parameters alone (no random draws, no shared writes once
    # prepare_to_render has fitted the lymph nodes), so the slices can be drawn at once and the bytes
    # do not depend on the thread count.
    with ThreadPoolExecutor(RENDER_THREADS) as pool:
        list(pool.map(render, range(nz)))

    _add_texture(hu, lab, grid, r_tex)
    _add_breast_tissue(hu, lab, p, grid, np.random.default_rng([seed, index, 104729]))
    _add_fat_strands(hu, lab, grid, np.random.default_rng([seed, index, 15485863]))
    _add_emphysema(hu, lab, p, grid, np.random.default_rng([seed, index, 7919]))
    _add_fissures(hu, lab, p, grid)

    vessels, aw_lumen, aw_outer = vessel_trees(p, grid, r_tree)
    in_chest = (lab == A.LUNG) | (lab == A.MED_FAT)
    vessels *= in_chest
    aw_lumen *= lab == A.LUNG
    aw_outer *= lab == A.LUNG

    specs = choose_nodules(lib, r_nod, large=large_nodules)
    # The lungs' edge distance, once: the candidates below need it too (only the field of view's
    # circle relabels voxels in between; it is recomputed there if that cuts into the lung).
    lung_edge = _lung_edge_distance(lab, grid)
    lung_edge[0].setflags(write=False)  # shared: neither user may change it
    placed = _place_nodules(lib, specs, lab, vessels, grid, r_nod, _fissure_distance(p, grid), lung_edge)
    nodule_boxes = []
    for pn in placed:
        occ, nhu = nodule_hu_field(pn.mask, pn.spec, grid.spacing_zyx, r_nodtex)
        pad = box_pad_vox(grid.spacing_zyx)
        lo = np.asarray(pn.corner_zyx) - pad
        sl = tuple(slice(int(a), int(a) + n) for a, n in zip(lo, occ.shape))
        # Nodules push vessels aside: no vessel within ~2-3 mm of the surface (one voxel at least),
        # so the nodule's outline (and its measured diameter) is its own.
        dist = ndimage.distance_transform_edt(np.pad(~pn.mask, [(int(q), int(q)) for q in pad],
                                                     constant_values=True), sampling=grid.spacing_zyx)
        gap = max(2.0, 1.2 * grid.slice_mm)  # at least one voxel of clear lung in every direction
        keep = np.clip((dist - gap) / 2.0, 0.0, 1.0).astype(f32)
        if not pn.spec.embedded:
            vessels[sl] *= keep
            aw_outer[sl] *= keep
            aw_lumen[sl] *= keep
        nodule_boxes.append((sl, occ, nhu))

    blood = f32(p.blood_hu)
    hu += vessels * (blood - hu)
    draw_airways(hu, aw_lumen, aw_outer)
    del vessels, aw_lumen, aw_outer
    # The benign-like nodule's surroundings before it is drawn: room to redraw it smaller.
    before = [_surroundings(hu, pn, grid) if pn.spec.target_diameter_mm else None for pn in placed]
    for sl, occ, nhu in nodule_boxes:
        box = hu[sl]
        box += occ * (nhu - box)

    hu = partial_volume_blur(hu, PARTIAL_VOLUME_SIGMA_VOX)
    # Annotate the diameter a reader would measure on the (noise-free) image: after
    # partial volume a 2 mm nodule looks smaller than its mask, a big one does not.
    lung_mask = lab == A.LUNG
    for pn, region in zip(placed, before):
        d = measured_diameter_mm(hu, lung_mask, pn.corner_zyx, pn.mask, pn.spec.texture, grid.spacing_zyx)
        if d > 0:
            pn.diameter_mm = d
        if region is not None and d >= MAX_SMALL_NODULE_MM:
            _redraw_smaller(hu, lung_mask, pn, region, lib, grid)
    del lung_mask
    _cardiac_motion(hu, lab, grid)
    sigma0 = noise_sd_hu(r_noise, grid.slice_mm)
    a = p.body_half_width_mm
    b = np.where(Y < 0, f32(p.body_half_ant_mm), f32(p.body_half_post_mm))
    rn2 = (X / f32(a)) ** 2 + (Y / b) ** 2
    sigma_map = f32(sigma0) * (f32(0.7) + f32(0.6) * np.clip(1.0 - rn2, 0.0, 1.0))
    # Outside the body the noise fades with distance from the skin (real scans: ~2-9 HU 3 cm
    # out, against 11 HU here before; round 10: "a grainy circle behind the body").
    out_mm = (np.sqrt(rn2) - f32(1.0)) * f32(a)
    fade = f32(1.0) - f32(0.5) * (out_mm - f32(10.0)) / f32(40.0)
    sigma_map *= np.clip(fade, f32(AIR_NOISE_FLOOR), f32(1.0))
    if STREAK_LEVEL > 0:
        # Water-equivalent path of each row along X (mm), before any noise (see streak_noise).
        path = np.clip(hu / f32(1000.0) + f32(1.0), 0.0, None).sum(axis=2, dtype=np.float64) * grid.pixel_mm
    noise = ct_noise(grid.shape_zyx, grid.spacing_zyx, r_noise)
    noise *= sigma_map[None]
    hu += noise
    del noise
    if STREAK_LEVEL > 0:
        streaks = streak_noise(path, nx, r_noise, STREAK_VIEWS, STREAK_HALF_ANGLE_DEG, STREAK_REF_PATH_MM)
        streaks *= f32(STREAK_LEVEL) * sigma_map[None]
        hu += streaks
        del streaks
    # Reconstruction circle: outside is padding, as scanners store it.
    cx, cy = (nx - 1) / 2.0, (ny - 1) / 2.0
    jj, ii = np.ogrid[:ny, :nx]
    outside = (ii - cx) ** 2 + (jj - cy) ** 2 > (min(nx, ny) / 2.0) ** 2
    hu[:, outside] = -1024.0
    fov_cuts_lung = bool((lab[:, outside] == A.LUNG).any())
    lab[:, outside] = A.OUTSIDE_FOV
    if fov_cuts_lung:
        lung_edge = _lung_edge_distance(lab, grid)
    np.clip(hu, -1024.0, 3071.0, out=hu)
    np.rint(hu, out=hu)

    uid = series_uid(seed, index)
    pid = patient_id(seed, index)
    origin = (grid.x0_mm, grid.y0_mm, -grid.t0_mm)
    scan = Scan(hu=hu, spacing_zyx=grid.spacing_zyx, origin_xyz=origin,
                source=ScanSource(format="array", meta={"modality": "CT", "series_uid": uid,
                                                        "patient_id": pid, "phantom_seed": seed,
                                                        "phantom_index": index}))
    nodules = [_location(uid, grid, pn.centroid_zyx, pn.diameter_mm, {
        "texture": pn.spec.texture, "lidc_annotation_id": pn.spec.annotation_id,
        "malignancy": pn.spec.malignancy, "lidc_diameter_mm": f"{pn.spec.lidc_diameter_mm:.2f}",
        "scale": f"{pn.spec.scale:.3f}", "calcified": int(pn.spec.calcified)}) for pn in placed]
    candidates = _candidates(uid, placed, grid, r_cand, lung_edge)
    return Phantom(scan=scan, seriesuid=uid, patient_id=pid, labels=lab, nodules=nodules,
                   candidates=candidates, placed=placed)


# Nominal noise SD (HU), drawn per scan for slices NOISE_REF_SLICE_MM thick (None: the same for
# every thickness); see noise_sd_hu. Round 19: 13-22 HU at every thickness made 2.5 mm slices as
# grainy as 1 mm ones; scaled, blinded A/Bs of 2.5 mm slices both ways round preferred the quieter
# image in 9 of 9, then 8 of 8 comparisons on new patients (weak calls: the air's grain), at 11-18
# HU; 10-16 kept so 1 mm slices stay within 30 HU in soft tissue (11-18: 32.4 and 29.2 on seeds 21
# and 25). Soft tissue, seeds 0-2 (2.0 / 2.5 / 2.5 mm): 18.1 / 23.8 / 21.3 HU before (real LIDC
# 15.4 and 17.5 at 2.5 mm, 21.5 at 1.25 mm); see the README for the numbers now.
NOISE_SD_HU = (10.0, 16.0)
NOISE_REF_SLICE_MM: float | None = 2.5


def noise_sd_hu(rng: np.random.Generator, slice_mm: float) -> float:
    """One scan's nominal noise SD (HU; 0.7x of it at the body's edge, 1.3x at its centre).

    Why thickness matters: at a given dose quantum noise falls as 1/sqrt(slice thickness), so
    thin slices are grainier (the real LIDC slabs: 15.4 and 17.5 HU in soft tissue at 2.5 mm,
    21.5 at 1.25 mm). One draw from ``rng`` whatever the thickness.
    """
    sd = float(rng.uniform(*NOISE_SD_HU))
    if NOISE_REF_SLICE_MM:
        sd *= float(np.sqrt(NOISE_REF_SLICE_MM / slice_mm))
    return sd


AIR_NOISE_FLOOR = 0.5  # noise far outside the body, as a fraction of that at the skin
# Round 45 (not kept; code not in the tree): the air round the body brightened near it (+65 HU at the
# skin, a Gaussian of the distance out with 70 mm width) and this floor 0.8, after a chest-wall reader's
# "a dark band in the air hugging the skin". Measured first (air pixels under -850 HU inside the field of
# view, median by distance from the body): the real slices -926 to -956 HU 5-30 mm out, -946 to -989 at
# 30-60 mm, -995 to -1001 beyond (scatter and its correction, pads and blankets; residual noise 7-23 HU),
# the phantoms -989 to -1000 at every distance (noise 4.5-16 HU); the variant -942 to -989. Three fresh
# readers each on the same pairs (seeds 25400, --seed 77): chest-wall crops 36 of 36 (0.67-0.71; the
# baseline 36 of 36 at 0.66-0.75), whole slices 36 of 36 (0.82-0.85; the baseline 0.75-0.81); a reader
# then named "an even air band outside the skin".
# Streaks from the near-lateral views (noise.streak_noise): their standard deviation, over the
# local noise level, in rows whose water-equivalent path along X is STREAK_REF_PATH_MM; 12 views
# within 12 degrees of lateral, new in every slice. Round 18: without them the noise was "an even,
# fine-grained mottle, as if painted onto the finished picture", where every real slab shows fine
# side-to-side streaks across the back muscles and shoulders. Blinded A/Bs on the same patients:
# at 3.0 preferred in 10 of 10 comparisons, then 10 of 10 on new patients (two readers found it
# "somewhat overdone" across the heart in a few); at 2.0 10 of 10 on new patients (a third reader:
# "no case implausibly strong"). 2.0 kept: the realism benchmark's soft-tissue noise, 15.6-19.8 HU
# before, became 20-28 at 3.0 (real LIDC slabs 15.4-21.5).
# Round 45 (not kept): 4.0 with NOISE_SD_HU (6, 10), so more of the same soft-tissue noise (14.3 / 19.5 ->
# 12.6 / 18.5 HU, seeds 0-1) comes as streaks, after first-glance "no noise or streaks" and "streaky
# back muscles" on the real side: three fresh readers picked the phantom in 36 of 36 whole slices
# (0.81-0.85, the baseline 0.75-0.81) and 36 of 36 spine crops (0.87-0.91, the baseline 0.83-0.88;
# seeds 25400, --seed 77), one naming "faint horizontal streaks" in the flat back muscles as synthetic.
STREAK_LEVEL = 2.0
STREAK_VIEWS = 12
STREAK_HALF_ANGLE_DEG = 12.0
STREAK_REF_PATH_MM = 350.0
MOTION_BLUR_MM = 2.0  # in-plane blur of the heart's border (a beating heart, no ECG gating)
MOTION_BAND_MM = 4.0  # how far from the border, either side, the blur reaches


def _cardiac_motion(hu: np.ndarray, lab: np.ndarray, grid: Grid) -> None:
    """Blur the heart's outline in place, as the heart's beating does in a chest CT.

    Why: a routine chest CT is not ECG-gated; the heart moves during the rotation, so its
    border with the lung is soft (often doubled) while the chest wall's is sharp. A crisp
    heart outline read as "a smooth, cleanly drawn blob" to a blinded reader. Applied after
    the nodules' diameters are measured; nodules sit >= 4 mm inside the lung (2 mm where a
    slab has no room), so at most the rim of one next to the heart is softened.
    """
    heart = lab == A.HEART
    ks = np.flatnonzero(heart.any(axis=(1, 2)))
    if ks.size == 0:
        return
    px = grid.pixel_mm
    for k in ks:
        d_out = ndimage.distance_transform_edt(~heart[k], sampling=px)
        d_in = ndimage.distance_transform_edt(heart[k], sampling=px)
        w = np.clip(1.0 - np.maximum(d_out, d_in) / MOTION_BAND_MM, 0.0, 1.0).astype(f32)
        rows = np.flatnonzero(w.any(axis=1))
        cols = np.flatnonzero(w.any(axis=0))
        if rows.size == 0:  # pixels coarser than the band (--size 64): no pixel within it
            continue
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        blurred = ndimage.gaussian_filter(hu[k][box], MOTION_BLUR_MM / px, truncate=2.5)
        hu[k][box] += w[box] * (blurred - hu[k][box])


# The field of view's width over the body outline's (mm; before the cap, see _choose_grid). Round 14:
# 60-110 mm left the body over ~80-91% of the image width (median 86%, seeds 0-19), while the real
# scans here fill 94-100% of theirs (arms cut at the edge); a first-glance reader's "small centred
# body". At 10-60 mm (median 90%) a blinded A/B on the same patients preferred the fuller frame in
# 7 of 7 sets with a difference (p = 0.008; weak calls, 0.56-0.65: "the body fills more of the frame,
# as in the real slices").
FOV_AIR_MM = (10.0, 60.0)


def _choose_grid(p: A.ChestParams, slices: int, size: int, rng: np.random.Generator) -> Grid:
    """Pixel size fits the body in the FOV; slice spacing and slab position vary per scan.

    Technologists fit the FOV to the patient, arms and breathing included: the real scans
    here show the body over 94-100% of the width, so the FOV is the body outline's width plus
    1-6 cm (FOV_AIR_MM) up to a 380 mm FOV (drawn last, so the slab's draws stay as they were).
    """
    fit = [s for s in SLICE_CHOICES_MM if slices * s >= 60.0] or [SLICE_CHOICES_MM[-1]]
    slice_mm = float(fit[int(rng.integers(len(fit)))])
    extent = (slices - 1) * slice_mm
    # Keep most of the slab above the right dome: a slab of liver and thin basal lung
    # would hold few places for nodules and healthy 32 mm cubes.
    lo, hi = 45.0, min(p.lung_length_mm - 10.0, p.dome_right_t_mm + 0.25 * extent) - extent
    t_top = float(rng.uniform(lo, hi)) if hi > lo else max(20.0, (p.lung_length_mm - extent) / 2.0)
    air_mm = float(rng.uniform(*FOV_AIR_MM))
    # ... but the FOV grows past ~380 mm only as far as a large patient needs (36 mm of air):
    # coarser pixels would blur the smallest nodules away.
    fit_mm = 2.0 * p.body_half_width_mm
    fov_mm = max(fit_mm + 36.0, min(fit_mm + air_mm, FOV_COMFORT_MM))
    pixel = float(np.clip(fov_mm / 512.0, 0.6, 0.8)) * 512.0 / size
    pixel = round(pixel, 4)
    # Centre on the body (breasts included), a little toward the couch: real scans show the
    # body near the middle with the couch below it, not the body pushed to the top.
    front = p.body_half_ant_mm + (p.wall.breast_mm if p.wall is not None else 0.0)
    y_shift = (p.body_half_post_mm + 15.0 - front) / 2.0
    # Patients lie a little off the scanner's axis (drawn last: the slab stays where it was).
    fov_used = pixel * size
    x_shift = float(rng.uniform(-1.0, 1.0)) * 0.5 * max(0.0, (fov_used - fit_mm) / 2.0 - 15.0)
    return Grid(shape_zyx=(slices, size, size), pixel_mm=pixel, slice_mm=slice_mm,
                x0_mm=-(size - 1) / 2.0 * pixel + x_shift, y0_mm=-(size - 1) / 2.0 * pixel + y_shift,
                t0_mm=t_top + extent)


# Marrow's density variation (HU per unit of the coarse, 4 mm, and the fine, 2 mm, random field).
# Round 18: at (45, 50) a vertebral body's interior spread ~90 HU between its quartiles (real slabs,
# noise and all, 100-250), so in lung window (white above +150) it was "a perfectly smooth,
# uniformly white disc" to every first-glance reader; real ones show a cortex round a mottled,
# spongy interior. Doubled: blinded A/Bs preferred it in 10 of 10 comparisons (p = 0.001), then
# 10 of 10 on new patients with a fresh reader ("a cortex round patterned spongy bone").
TRABECULAR_GRAIN_HU = (90.0, 100.0)
# Marrow spaces: a fine (0.6 mm) random field whose upper tail (above CUT of its spread, at most CAP
# above that) darkens spongy bone by up to TRABECULAR_SPECKLE_HU per unit, mean kept. Round 28: with
# only the 2-4 mm grain a vertebral body was "a featureless blob" and the sternum "a smooth hollow
# ring with an even bright rim" to the first-glance reader; real ones are a fine mottle of trabeculae
# and fatty marrow, in lung window too. Blinded A/Bs both ways round: 10 of 10 comparisons (p =
# 0.001; uncapped, "a few unnaturally dark pits"), then, capped, 10 of 10 on new patients with a
# fresh reader ("patchy marrow with small darker spots, as the real vertebrae and sterna").
# Round 45 (not kept; code not in the tree): grain and marrow spaces fading to nothing over the marrow's
# outer 3 mm in the slice (so a rib's few mm of marrow are an even grey), after chest-wall readers' "ribs
# as clean rings with dark hollow centres, darker than fat": at full strength the rib marrow (trabecular
# voxels over 70 mm from the midline, seed 26004) runs -125 to +472 HU (5th-95th percentile; 7% below
# -100), with the fade -45 to +432 (2% below -100; the median 154 -> 137, real ~110). Three fresh readers
# each: chest-wall crops 36 of 36 on two sets of patients (0.74-0.75 against the baseline's 0.66-0.75,
# seeds 25400 / --seed 77; 0.69-0.75 against 0.69-0.72, 25800 / --seed 78), spine crops 36 of 36
# (0.86-0.90 against 0.83-0.88).
TRABECULAR_SPECKLE_HU = 250.0
TRABECULAR_SPECKLE_MM = 0.6
TRABECULAR_SPECKLE_CUT = 0.5
TRABECULAR_SPECKLE_CAP = 1.5  # spots at most ~330 HU below the marrow's mean: fat, not air


# The mediastinal fat's slow density variation (HU, standard deviation of the 4 mm random field; the
# subcutaneous fat's is 14). Round 34: at 14 a first-glance reader of mediastinum crops saw "flat grey
# fat"; at 30, blinded A/Bs in mediastinal window (phantom_ab.py --window mediastinal, both ways round)
# preferred it in 13 of 15 comparisons (p = 0.004: "uneven fat, faint darker lobules and soft strands
# by the vessels" against "flat, even speckle"), then 8 of 9 with a difference on new patients with a
# fresh reader (p = 0.020: "soft, patchy variation, darker lobules" against "even salt-and-pepper grain").
MED_FAT_GRAIN_HU = 30.0


# Fibrous strands in the subcutaneous and intermuscular fat (retinacula cutis, septa, small veins): thin
# sheets from the skin in toward the muscles, in FAT_STRAND_FAMILIES families of different tilt (so
# they cross), broken into FAT_STRAND_PIECE_MM pieces, FAT_STRANDS_HU added at their middle (0: none).
# Round 46, after the chest-wall readers' fat "with no internal strands". One family (one tilt over a
# crop) drew parallel dashes: blinded A/Bs of wall crops (phantom_ab.py --region wall, both ways round,
# three fresh readers each) preferred it in 17 of 17 and 14 of 17 comparisons on two sets of patients but
# 0 of 21 on a third (seeds 26220-26224: "evenly spaced parallel lines, a generator artefact"), and
# capped at 0.8 mm there in 0 of 17 (see _add_texture's septa). Three crossing families as below, on
# that third set: 7 of 7, 7 of 7 and 7 of 7 (p = 0.008 each; "thin strands and small veins in the fat
# under the skin, as the reference shows"), then on new patients with three fresh readers (26225-26229)
# 7 of 7, 7 of 7 and 7 of 7 again ("crossing lines or a curved band in the fat"). Kept. (The judged code
# read the breaks' field at rho / tilt where a family's tilt passes 0; it now holds |tilt| >= 0.05 there,
# which moves 0.04% of one patient's voxels.)
FAT_STRANDS_HU = 150.0
FAT_STRAND_FAMILIES = 3
FAT_STRAND_WIDTH = 0.2  # a strand: where its field lies within this share of its spread of zero ...
FAT_STRAND_HALF_MM = 0.9  # ... and at most this far (mm) from the zero: no broad bands where it only grazes zero
FAT_STRAND_KEEP = 0.6  # share of each sheet kept; the rest broken away
FAT_STRAND_PIECE_MM = 4.0  # the breaks' scale along a strand
FAT_STRAND_RADIUS_MM = 150.0  # arc length round the chest measured at this radius
FAT_STRAND_PATTERN_MM = (7.0, 6.0)  # the sheets' spacing scale round the chest, and their reach along t
# Round 47 (not kept; the code is not in the tree): each family's u bent by a smooth random displacement
# (3 mm, correlation 5 mm, drawn after the rest; the half-width cap measured through |grad u|), after the
# chest-wall first glance's "thin, ruler-straight lines through the fat" (seeds 25800, --seed 78: 36 of 36).
# The pieces' off-axis extent went 1.10 -> 1.61 mm (median, a ring of fat), the half-width stayed within
# 0.9 mm. Blinded A/Bs of wall crops, both ways round, three fresh readers (seeds 26300-26304, -20 / +20
# mm): 0 of 1, 1 of 2 and 1 of 2 comparisons with a difference (6-8 of 10 answered inconsistently; every
# call 0.50-0.60, "A and B look almost identical").
# Round 48 (not kept): fainter, shorter strands (FAT_STRANDS_HU 90, FAT_STRAND_PIECE_MM 2.5), judged by chest-wall
# first glances with three fresh readers on the same pairs (seeds 25800, --seed 78): 35 of 36 (0.62, 0.62,
# 0.68) against 36 of 36 (0.66, 0.65, 0.62). The strands were no longer named; the first cues were the lung
# vessels at the crop's edge ("straight needles or rods"), the wall's "even, parallel bands" and the ribs'
# rings.


def _lerp_rows(table: np.ndarray, row: float, x: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``table`` (rows along t, columns at ``xs``) read at fractional ``row`` and positions ``x``."""
    i0 = int(np.floor(row))
    w = row - i0
    return (1 - w) * np.interp(x, xs, table[i0]) + w * np.interp(x, xs, table[i0 + 1])


def _add_fat_strands(hu: np.ndarray, lab: np.ndarray, grid: Grid, rng: np.random.Generator) -> None:
    """Fibrous strands in the fat (see FAT_STRANDS_HU), from their own random stream ``rng``.

    Each family is the zero set of a smooth random field of u = arc length round the chest + a tilt
    x the distance from the body's centre (waving a little), so its sheets run from the skin inward
    at that tilt and stay continuous along t; a second field, read across the strands, breaks them.
    """
    if FAT_STRANDS_HU <= 0:
        return
    X, Y = grid.x_mm()[None, :], grid.y_mm()[:, None]
    rho = np.sqrt(X * X + Y * Y)
    theta = np.arctan2(X, -Y)
    arc = theta * f32(FAT_STRAND_RADIUS_MM)
    du, dt = 0.5, 2.0  # the tables' steps (mm of u, mm of t)
    span = np.pi * FAT_STRAND_RADIUS_MM + 1200.0  # |u| stays below this (the tilt x rho part included)
    us = np.arange(-span, span + du, du)
    ts = grid.t_mm()
    t_lo = float(ts.min()) - 2 * dt
    nt = int((float(ts.max()) - t_lo) / dt) + 4
    along_u, along_t = FAT_STRAND_PATTERN_MM
    families = []
    for f in range(FAT_STRAND_FAMILIES):
        tilt0 = -1.2 + 2.4 * (f + rng.uniform(0.2, 0.8)) / FAT_STRAND_FAMILIES
        ph = rng.uniform(0.0, 2 * np.pi, 2)
        tilt = f32(tilt0) + f32(0.3) * np.sin(f32(3.0) * theta + f32(ph[0]))
        u = arc + tilt * rho + f32(3.0) * np.sin(rho / f32(7.0) + f32(3.0) * theta + f32(ph[1]))
        # Read across the strands (pieces along each); a tilt near 0 reads the table's edge (one value).
        u_across = arc - rho / np.where(np.abs(tilt) < 0.05, np.copysign(f32(0.05), tilt), tilt)
        field = ndimage.gaussian_filter(rng.standard_normal((nt, us.size)), (along_t / dt, along_u / du),
                                        mode="wrap")
        field /= field.std()
        gate = ndimage.gaussian_filter(rng.standard_normal((nt, us.size)), (2.0, FAT_STRAND_PIECE_MM / du),
                                       mode="wrap")
        gate /= gate.std()
        families.append((u, u_across, field, np.abs(np.gradient(field, du, axis=1)), gate,
                         float(np.quantile(gate, 1 - FAT_STRAND_KEEP))))
    for k, t in enumerate(ts):
        fat = lab[k] == A.FAT
        if not fat.any():
            continue
        row = (t - t_lo) / dt
        strand = np.zeros(int(fat.sum()), np.float32)
        for u, u_across, field, slope, gate, cut in families:
            g = _lerp_rows(field, row, u[fat], us)
            off_mm = np.abs(g) / np.maximum(_lerp_rows(slope, row, u[fat], us), 1e-6)
            keep = _lerp_rows(gate, row, u_across[fat], us)
            s = (np.clip(1 - np.abs(g) / FAT_STRAND_WIDTH, 0, 1) * np.clip(1 - off_mm / FAT_STRAND_HALF_MM, 0, 1)
                 * np.clip((keep - cut) * 2.0, 0, 1))
            np.maximum(strand, s.astype(np.float32), out=strand)
        hu[k][fat] += f32(FAT_STRANDS_HU) * strand


# Round 49 (not kept; code not in the tree): an isotropic fine grain in the lung only (a smooth field of 0.7
# mm correlation length, 25 HU before the scanner's blur, its own generator), after lung readers' "a fine
# horizontal streaky texture" and a measurement: minus a 9-pixel median, the real lung background (LIDC
# 0001, 2.5 mm) has a 29-32 HU residual correlated alike along and across the rows (0.68-0.71 / 0.69-0.71),
# the phantom's 25-26 HU, elongated left to right (0.75 / 0.53) as its noise is; with the grain 30.6 HU,
# 0.75 / 0.60. Lung-only first glances, three fresh readers: 31 of 36 against the same day's baseline 21
# (seeds 25400, --seed 77), 32 against 30 (25800, --seed 78): "a coarse, grainy background with faint,
# broken vessels", read as synthetic in 10 of 12 pairs by most readers. The real residual is structure
# (small vessels), not grain. The lung's own 2 mm texture below (14 HU) is not the grain either: at 0 the
# residual moves 26.1 -> 25.5 HU (seed 26606).
def _add_texture(hu: np.ndarray, lab: np.ndarray, grid: Grid, rng: np.random.Generator) -> None:
    """Slow density variation: fat septa, muscle grain, lung density, bone marrow."""
    soft = smooth_field(grid.shape_zyx, grid.spacing_zyx, 4.0, rng)
    amp = np.zeros(256, dtype=f32)
    amp[A.FAT] = 14.0
    amp[A.MED_FAT] = MED_FAT_GRAIN_HU
    amp[A.BREAST] = 45.0  # fibroglandular strands in fat
    amp[A.CLOTH] = 80.0  # folds of cloth: uneven thickness and weave
    amp[[A.MUSCLE, A.ESOPHAGUS]] = 7.0
    amp[[A.LIVER, A.SPLEEN, A.HEART]] = 5.0
    amp[A.TRABECULAR] = TRABECULAR_GRAIN_HU[0]
    amp[A.CORTICAL] = 90.0
    hu += amp[lab] * soft
    # Fat planes between muscles and fibrous septa in fat: the zero level set of a smooth
    # random field is a set of thin sheets, which is what those planes look like.
    sheets = smooth_field(grid.shape_zyx, grid.spacing_zyx, 5.0, rng)
    np.abs(sheets, out=sheets)
    fatm = (lab == A.FAT).astype(f32)
    hu += fatm * np.clip(1.0 - sheets / f32(0.06), 0.0, 1.0) * f32(0.5) * (f32(30.0) - hu)
    # Round 46 (not kept; the code is not in the tree): more visible fibrous strands in the fat, after
    # the chest-wall readers' fat "with no internal strands": from their own random stream, sheets where
    # a smooth field of (arc length round the chest + a tilt x the radius, waving; 5 mm round the chest,
    # 6 mm along t) lies within 0.12 of its spread of zero, broken by a second field, +150 HU at their
    # middle. Blinded A/Bs of wall crops (phantom_ab.py --region wall), both ways round, three fresh
    # readers each: preferred in 6 of 6, 6 of 6 and 5 of 5 comparisons with a difference (seeds
    # 26210-26214, -20 / +20 mm; "fine strands and septa in the fat, as in the reference"), then 5 of 6,
    # 5 of 6 and 4 of 5 on new patients (26215-26219; each loss "abrupt horizontal bright bands", where
    # the field grazed zero over millimetres), then 0 of 7, 0 of 7 and 0 of 7 on new patients
    # (26220-26224; "evenly spaced parallel lines, a generator artefact"; the real fat "smooth, with only
    # fine, irregular strands"). Capped at 0.8 mm half-width (width 0.3) on those patients: 0 of 6, 0 of
    # 5, 0 of 6. Where one tilt held over the crop, the strands came out as parallel dashes; crossing
    # families of them won (FAT_STRANDS_HU).
    del fatm
    fine = smooth_field(grid.shape_zyx, grid.spacing_zyx, 2.0, rng)
    amp[:] = 0.0
    amp[A.LUNG] = 14.0
    amp[A.TRABECULAR] = TRABECULAR_GRAIN_HU[1]
    hu += amp[lab] * fine
    del fine
    # Fat between muscle bundles. Round 9: as the zero set of the isotropic field (0.24 of
    # its spread wide: at 0.16 the muscles read as flat, even slabs in lung window) it drew
    # closed loops, a wall of marbled stone; the wall's muscles run round the chest, so their
    # fat shows as short streaks along it, broken where the isotropic field is small. The
    # erector spinae runs along the spine: its bundles are cut across, so loops stay there,
    # thinner (0.12: at 0.24 they read as worms in mediastinal window).
    muscle = lab == A.MUSCLE
    streak = np.abs(circumferential_field(muscle, grid.slice_mm, grid.x_mm(), grid.y_mm(), rng))
    X, Y = grid.x_mm()[None, :], grid.y_mm()[:, None]
    along_spine = (np.clip(f32(1.0) - np.abs(X) / f32(60.0), 0.0, 1.0) * (Y > 0)).astype(f32)
    loops = np.clip(1.0 - sheets / f32(0.12), 0.0, 1.0) ** 2
    streaks = np.clip(1.0 - streak / f32(0.2), 0.0, 1.0) ** 2 * (sheets > f32(0.45))
    w = along_spine * loops + (f32(1.0) - along_spine) * streaks
    hu += muscle * w * (f32(-100.0) - hu)
    del sheets, streak, loops, streaks, w, muscle
    if TRABECULAR_SPECKLE_HU > 0:
        white = rng.standard_normal(grid.shape_zyx, dtype=f32)
        speck = ndimage.gaussian_filter(white, [TRABECULAR_SPECKLE_MM / s for s in grid.spacing_zyx])
        del white
        speck /= f32(speck.std(dtype=np.float64))
        np.clip(speck - f32(TRABECULAR_SPECKLE_CUT), 0.0, f32(TRABECULAR_SPECKLE_CAP), out=speck)
        speck -= f32(speck.mean(dtype=np.float64))
        hu -= (lab == A.TRABECULAR) * f32(TRABECULAR_SPECKLE_HU) * speck


# Round 44 (not kept; the code is not in the tree): calcified plaques (500-1100 HU) on the descending
# aorta's wall in every patient, 12-24 per patient (arcs of 0.5-1.4 rad, 3-12 mm long, on the edge of
# the aorta's section), after first-glance "no disease, no signs of age" beside real slices that
# showed calcified aortic plaque. In lung window they show only on plain scans (enhanced blood is as
# white). Preferred in 0 of 3 blinded comparisons with a difference (seeds 25322-25348, plain scans,
# -15 / 15 / 45 mm from the carina; 12 of 15 with no difference seen): "too smooth, even and neat for
# real plaque", "a thick, nearly complete bright ring". With 3-10 a patient, 2 of 15 slices showed any.


def _add_fissures(hu: np.ndarray, lab: np.ndarray, p: A.ChestParams, grid: Grid) -> None:
    """Major (oblique) fissures in both lungs and the right minor fissure: thin dense sheets.

    Each slice averages the sheet over its thickness: the profile along t is the sheet's
    own (0.7 mm across, longer along t the flatter the sheet) widened by the slice profile,
    with the area kept. Sampled at one depth, a fissure is a crisp line across the whole
    lung; in a real 1-2.5 mm slice it is a faint line where steep and a haze where flat.
    """
    X = grid.x_mm()[None, :]
    Y = grid.y_mm()[:, None]
    slope = _oblique_slope(p)
    norm = np.sqrt(1.0 + slope ** 2)
    t_obl = _oblique_t(p, X, Y)
    t_min = (p.t_carina_mm + 45.0 + 0.15 * (Y + 20.0) + 0.002 * (X + 80.0) ** 2).astype(f32)
    s_slice = 0.35 * grid.slice_mm  # ~ the slice profile's spread (mm along t)
    w_obl = 0.7 * norm  # the oblique sheet's extent along t
    w_obl_eff = float(np.hypot(w_obl, s_slice))
    w_min_eff = float(np.hypot(0.9, s_slice))
    # Round 35 (not kept): 0.4, not 0.22 (a first-glance reader: "no fissures"), was preferred in 15
    # of 15 blinded comparisons by a reader told to look at the fissures ("clearly drawn, as in the
    # references"; seeds 18665-18673), then in 0 of 15 on new patients by a fresh reader told only
    # "inside the lungs" ("too bright and thick, cutting through vessels; real ones mostly faint").
    a_obl, a_min = 0.22 * w_obl / w_obl_eff, 0.22 * 0.9 / w_min_eff
    # Seen in pieces: fissures are often incomplete, and where a slice cuts one obliquely it
    # fades; drawn at one strength end to end they were "long, perfectly straight lines"
    # to a blinded reader. Phases from the patient's numbers (no random draws).
    ph = float(p.fat_harmonics[1, 1]) * 40.0
    visible = np.clip(f32(0.45) + f32(0.75) * np.sin(X / f32(19.0) + Y / f32(27.0) + f32(ph))
                      + f32(0.3) * np.sin(Y / f32(11.0) - X / f32(37.0)), 0.0, 1.0).astype(f32)
    for k, t in enumerate(grid.t_mm()):
        lung = lab[k] == A.LUNG
        if not lung.any():
            continue
        d = np.abs(f32(t) - t_obl)
        occ = np.exp(-((d / f32(w_obl_eff)) ** 2)) * f32(a_obl)
        dm = np.abs(f32(t) - t_min)
        occ_m = np.where((X < -20) & (Y < 20.0) & (t_obl > t), np.exp(-((dm / f32(w_min_eff)) ** 2)) * f32(a_min), 0)
        occ = np.maximum(occ, occ_m) * lung * visible
        hu[k] += occ * (f32(-100.0) - hu[k])


def _fissure_distance(p: A.ChestParams, grid: Grid, sub: int = 2) -> np.ndarray:
    """Distance (mm, approximate) to the oblique fissures on the 2x subsampled grid."""
    X = grid.x_mm()[None, None, ::sub]
    Y = grid.y_mm()[None, ::sub, None]
    t = grid.t_mm().astype(f32)[:, None, None]
    return (np.abs(t - _oblique_t(p, X, Y)) / np.sqrt(1.0 + _oblique_slope(p) ** 2)).astype(f32)


def _oblique_slope(p: A.ChestParams) -> float:
    """dt/dY of the oblique fissures: they run down toward the front."""
    return 0.62 * p.lung_length_mm / 150.0


def _oblique_t(p: A.ChestParams, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Depth t (mm) of the oblique fissure sheet over (X, Y): one sheet per lung.

    Why not one formula for both sides: the same sheet mirrored puts both fissures at the
    same Y in every slice, a single line across the chest. The right one sits lower, and
    each sheet is twisted so that a slice cuts it from posteromedial (near the hilum) to
    anterolateral, as real fissures run in axial CT, with a wave and a curve along it.
    """
    L = p.lung_length_mm
    ax = np.abs(X)
    side = np.where(X < 0, f32(9.0), f32(0.0))  # the right major fissure is lower
    twist = f32(0.22) * (f32(90.0) - ax)  # medial parts deeper: posteromedial to anterolateral
    wave = f32(3.0) * np.sin(ax / f32(23.0) + f32(0.05 * L)) + f32(2.0) * np.sin(Y / f32(31.0) - X / f32(47.0))
    return (f32(0.26 * L) + (f32(75.0) - Y) * f32(_oblique_slope(p)) + twist + side + wave
            + f32(0.004) * (ax - f32(70.0)) ** 2).astype(f32)


def _lung_edge_distance(lab: np.ndarray, grid: Grid) -> tuple[np.ndarray, int]:
    """Distance (mm) to the nearest non-lung voxel on a 2x in-plane subsampled grid.

    The slab's top and bottom are not lung edges (the lung goes on), so the mask is
    extended by edge replication in z before the transform.
    """
    sub = 2
    lung = lab[:, ::sub, ::sub] == A.LUNG
    padz = int(np.ceil(30.0 / grid.slice_mm))
    lung = np.pad(lung, [(padz, padz), (0, 0), (0, 0)], mode="edge")
    d = ndimage.distance_transform_edt(lung, sampling=(grid.slice_mm, grid.pixel_mm * sub, grid.pixel_mm * sub))
    return d[padz:-padz].astype(f32), sub


def _place_nodules(lib: NoduleLibrary, specs: list, lab: np.ndarray, vessels: np.ndarray, grid: Grid,
                   rng: np.random.Generator, fissure_mm: np.ndarray,
                   lung_edge: tuple[np.ndarray, int]) -> list[PlacedNodule]:
    """Put each nodule well inside the lung, clear of fissures, other nodules and big vessels.

    The first spec is the cancer-like (>= 10 mm) one: if no spot fits it (a slab
    near the apex or the domes), smaller >= 10 mm LIDC shapes are tried instead.
    ``lung_edge``: :func:`_lung_edge_distance` of ``lab``.
    """
    dist, sub = lung_edge
    sp = np.asarray(grid.spacing_zyx)
    placed: list[PlacedNodule] = []
    big_pool = np.flatnonzero((lib.diameter_mm >= 12.0) & (lib.diameter_mm < 16.0))
    for n, spec in enumerate(specs):
        tries = [spec] + ([replace(spec, library_index=int(i), annotation_id=int(lib.annotation_id[i]),
                                   lidc_diameter_mm=float(lib.diameter_mm[i]),
                                   malignancy=int(lib.malignancy[i]))
                           for i in rng.choice(big_pool, size=6, replace=False)] if n == 0 else [])
        for attempt in tries:
            pn = _place_one(lib, attempt, dist, sub, sp, vessels, fissure_mm, placed, grid, rng)
            # LIDC's diameter runs ~1 mm above the grid measurement: check the cancer-like one.
            if pn is not None and (n > 0 or pn.diameter_mm >= 10.0):
                placed.append(pn)
                break
    return placed


# Fibroglandular breast tissue (chest_wall draws its cone as one lens of BREAST): kept as gland
# where a smooth random field (BREAST_STRAND_MM) passes a threshold that falls from
# BREAST_THRESHOLD[0] at the lens's edge to [1] BREAST_CORE_MM inside it, with wisps up to
# BREAST_WISP_MM out into the fat; the rest of the lens is fat. Gland BREAST_GLAND_SHIFT_HU above
# the lens's level. Why: as one smooth lens the breasts read as "hollow rings", "hollow ovals" to a
# first-glance reader (round 36); real fibroglandular tissue is a cloud of irregular patches and
# strands in fat, densest behind the nipple, feathering out at its edges. Blinded A/Bs (same
# patients, 45-78 mm below the carina) preferred the patches in 15 of 15 comparisons (seeds
# 19504-19591: "irregular, lobulated patches with fat through them and ragged edges" against "a
# smooth, shaded oval with a crisp outline"), then 15 of 15 on new patients with a fresh reader
# told only "a small area" (19710-19734). False: the lens as chest_wall draws it.
BREAST_PATTERN = True
BREAST_STRAND_MM = 1.2
BREAST_THRESHOLD = (0.5, -1.2)
BREAST_CORE_MM = 4.0
BREAST_WISP_MM = 5.0
BREAST_GLAND_SHIFT_HU = 30.0


def _add_breast_tissue(hu: np.ndarray, lab: np.ndarray, p: A.ChestParams, grid: Grid,
                       rng: np.random.Generator) -> None:
    """Break each breast's glandular lens into patches and strands in fat (see BREAST_PATTERN).

    Its own random stream (no draw from the others), and only round the breasts' voxels.
    """
    gland = lab == A.BREAST
    if not BREAST_PATTERN or not gland.any():
        return
    px = grid.spacing_zyx[1]
    margin = int(np.ceil(BREAST_WISP_MM / px)) + 2
    zz, yy, xx = np.nonzero(gland)
    box = (slice(zz.min(), zz.max() + 1),
           slice(max(yy.min() - margin, 0), yy.max() + 1 + margin),
           slice(max(xx.min() - margin, 0), xx.max() + 1 + margin))
    g = gland[box]
    fat = lab[box] == A.FAT
    inside = np.stack([ndimage.distance_transform_edt(s) for s in g]) * f32(px)
    outside = np.stack([ndimage.distance_transform_edt(~s) for s in g]) * f32(px)
    field = smooth_field(g.shape, grid.spacing_zyx, BREAST_STRAND_MM, rng)
    lo, hi = BREAST_THRESHOLD
    core = np.clip(inside / f32(BREAST_CORE_MM), 0.0, 1.0)
    # Outside the lens the threshold rises by 2 (the field's standard deviations) over the wisps'
    # reach: strands die out there.
    thr = np.where(g, f32(lo) + f32(hi - lo) * core, f32(lo) + f32(2.0 / BREAST_WISP_MM) * outside)
    w = np.clip((field - thr) / f32(0.4), 0.0, 1.0)
    sub = hu[box]
    fat_hu = f32(p.fat_hu)
    sub[g] = (fat_hu + w * (sub + f32(BREAST_GLAND_SHIFT_HU) - fat_hu))[g]
    wisp = fat & (outside < f32(BREAST_WISP_MM))
    gland_hu = f32(A.BREAST_HU + BREAST_GLAND_SHIFT_HU)
    sub[wisp] = (sub + w * (gland_hu - sub))[wisp]


# Share of patients with mild centrilobular emphysema in the upper lungs. Round 19: drawn as evenly
# sized near-air holes scattered at random it won 9 of 9 comparisons, then lost 0 of 8 on new
# patients ("pepper noise, not disease; real lucencies are softer, larger, lobule-shaped and
# clustered"); as soft lucencies in clusters (below), blinded A/Bs both ways round preferred it in
# 8 of 8, then 10 of 10 on new patients with a fresh reader (weak calls, confidence 0.54-0.72).
EMPHYSEMA_FRACTION = 0.35


def has_emphysema(p: A.ChestParams) -> bool:
    """Whether patient ``p`` has emphysema: from their own numbers, no draw from any stream."""
    return (float(p.body_harmonics[1, 0]) * 997.0) % 1.0 < EMPHYSEMA_FRACTION


def _add_emphysema(hu: np.ndarray, lab: np.ndarray, p: A.ChestParams, grid: Grid,
                   rng: np.random.Generator) -> None:
    """Clusters of soft, lobule-sized lucencies in the upper lungs of some patients.

    Why: LIDC-IDRI's patients are mostly older smokers; centrilobular emphysema is among the
    commonest things their lungs show: lucencies of 3-10 mm, soft-edged, in clusters, upper
    zones first. Who has it: :func:`has_emphysema`.
    """
    if not has_emphysema(p):
        return
    clusters = np.clip((smooth_field(grid.shape_zyx, grid.spacing_zyx, 8.0, rng) - f32(0.4)) / f32(0.8), 0.0, 1.0)
    lobules = np.clip((smooth_field(grid.shape_zyx, grid.spacing_zyx, 2.5, rng) - f32(1.0)) / f32(0.6), 0.0, 1.0)
    upper = np.clip((0.65 * p.lung_length_mm - grid.t_mm()) / (0.35 * p.lung_length_mm), 0.0, 1.0)
    w = clusters * lobules * upper.astype(f32)[:, None, None] * (lab == A.LUNG)
    hu += w * (f32(-975.0) - hu)


# Round 44 (not kept; the code is not in the tree): a perivascular haze, the lung's vessel occupancy
# blurred by a 5 mm Gaussian and added at 0.45 of the blood-to-lung contrast, the lung's mean kept (the
# unresolved small vessels round the resolved ones). Measured first: the lung 1.6-9 mm from a thin
# vessel piece (2-15 mm2 above -650 HU) stands +5..+37 HU over the lung far from any vessel in the real
# slabs (lung1, LIDC 0001-0003), -1..+17 in the phantoms (seeds 0-2), +1..+30 with the haze, as the real.
# No blinded reader could see it (seeds 25306-25319, -15 / 5 / 25 mm from the carina: 28 of 30 sets
# answered 0.5, no comparison with a difference): +10-15 HU is ~1% of the lung window.
AIRWAY_WALL_HU = 40.0
AIRWAY_AIR_HU = -1000.0


def draw_airways(hu: np.ndarray, lumen: np.ndarray, outer: np.ndarray) -> None:
    """Airway walls and lumens into ``hu`` (in place), each by the share of a voxel it fills.

    ``outer`` is the occupancy of lumen plus wall, ``lumen`` of the lumen alone (so lumen <= outer):
    the wall fills outer - lumen, the air lumen, and what was there keeps 1 - outer. Why: drawn one
    over the other (the wall over all of ``outer``, then the air over that), a voxel a thin-walled
    bronchus fills halfway took the wall's HU for most of that half, so a bronchus grazing the slice
    came out as a grey tube or ring with a bright outline, brighter than the lung round it (round 51:
    "a grey-filled tube with a bright outline", "grey-filled donuts rather than air-filled bronchi",
    picked out by every first-glance reader). A real one grazing the slice is darker than the lung:
    air between two thin walls. Kept as the physics of partial volume, not for a read: it changed one
    first-glance lung crop of 48 visibly, and that crop was still picked out by three readers of three,
    now for "an outlined, double-contour wall" (the four sets read 29, 31, 22 and 31 of 36 told apart,
    within the spread of the unchanged phantom's readers on the same images, 22-31).
    """
    wall = np.clip(outer - lumen, 0.0, 1.0)
    hu += wall * (f32(AIRWAY_WALL_HU) - hu) + lumen * (f32(AIRWAY_AIR_HU) - hu)


PARTIAL_VOLUME_SIGMA_VOX = (0.3, 0.75, 0.75)  # the scanner's blur (z, y, x), Gaussian sigma in voxels
BLUR_REACH_VOX = np.array([1, 3, 3])  # how far (voxels) that blur reaches


def _surroundings(hu: np.ndarray, pn: PlacedNodule, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, copy of hu[lo:hi]) round a nodule: its box, the lung ring its measurement reads
    and the blur's reach."""
    margin = box_pad_vox(grid.spacing_zyx) + np.array([2, 12, 12])
    lo = np.maximum(np.asarray(pn.corner_zyx) - margin, 0)
    hi = np.minimum(np.asarray(pn.corner_zyx) + np.asarray(pn.mask.shape) + margin, grid.shape_zyx)
    return lo, hi, hu[tuple(slice(a, b) for a, b in zip(lo, hi))].copy()


SMALL_NODULE_MIN_RISE_HU = 350.0  # 300 (the issue's floor) plus ~2 noise SDs of a few voxels' mean
SMALL_NODULE_MAX_HU = 2500.0  # the densest a redrawn small nodule may be drawn before the blur (a speck of calcium)


def _redraw_smaller(hu: np.ndarray, lung: np.ndarray, pn: PlacedNodule,
                    region: tuple[np.ndarray, np.ndarray, np.ndarray], lib: NoduleLibrary, grid: Grid) -> None:
    """Redraw the benign-like nodule at the largest smaller scale that measures under 3 mm.

    Why: a mask of a few voxels measures up to ~1.5 mm longer on the blurred image than its own
    extent, by a pixel more or less depending on the lung round it, so masks chosen by their
    extent measured 3.0-3.3 mm in 3 (round 18's code) to 6 (round 19's, which moved where they
    land) of 8 scans (seeds 11-18, 32 slices), and the scan had no nodule under 3 mm. Redrawn in
    place (same centre) on the saved surroundings, blurred there (exactly as the whole volume is,
    away from the region's edge) and measured as before; if no smaller scale measures under 3 mm
    (none of seeds 11-30), it stays as it was.
    It must still stand SMALL_NODULE_MIN_RISE_HU above the lung round it: round 20 moved seed 17's
    nodule to where the scale that measured under 3 mm was a 3-voxel mask that the blur left 254 HU
    above the lung (every nodule must stand >= 300 above it); such a mask is drawn denser.
    """
    lo, hi, before = region
    sp = grid.spacing_zyx
    m0, src_sp = lib.mask_zyx(pn.spec.library_index)
    m0 = m0[:, ::-1] if pn.spec.flip_y else m0
    m0 = m0[:, :, ::-1] if pn.spec.flip_x else m0
    pad = box_pad_vox(sp)
    shape = np.asarray(grid.shape_zyx)
    keep_lo = np.where(lo > 0, BLUR_REACH_VOX, 0)  # at the volume's edge both blurs clamp alike
    keep_hi = np.where(hi < shape, BLUR_REACH_VOX, 0)
    lung_local = lung[tuple(slice(a, b) for a, b in zip(lo, hi))]

    def drawn(mask: np.ndarray, occ: np.ndarray, nodule_hu: np.ndarray, off: np.ndarray,
              at: tuple[int, ...]) -> tuple[np.ndarray, float, float, float]:
        """The surroundings with the nodule drawn and blurred: (local HU, diameter, rise, lung HU)."""
        local = before.copy()
        box = local[tuple(slice(int(a), int(a) + n) for a, n in zip(off, occ.shape))]
        box += occ * (nodule_hu - box)
        local = partial_volume_blur(local, PARTIAL_VOLUME_SIGMA_VOX)
        d = measured_diameter_mm(local, lung_local, at, mask, pn.spec.texture, sp)
        bg = lung_ring_median(local, lung_local, at, mask)
        box_at = tuple(slice(a, a + n) for a, n in zip(at, mask.shape))
        return local, d, float(local[box_at][mask].mean()) - bg, bg

    for f in np.geomspace(0.85, 0.25, 8):
        mask = resample_mask(m0, src_sp, sp, scale=pn.spec.scale * float(f))
        if not mask.any():
            continue
        corner = np.round(pn.centroid_zyx - np.argwhere(mask).mean(axis=0)).astype(int)
        occ, nhu = nodule_hu_field(mask, pn.spec, sp, np.random.default_rng(pn.spec.library_index))
        off = corner - pad - lo
        if np.any(off < 0) or np.any(off + np.asarray(occ.shape) > hi - lo):
            continue
        at = tuple(int(v) for v in corner - lo)
        local, d, rise, bg = drawn(mask, occ, nhu, off, at)
        if not 0.0 < d < MAX_SMALL_NODULE_MM:
            continue
        if rise < SMALL_NODULE_MIN_RISE_HU:
            # A few voxels lose most of their contrast to the blur. Granulomas this small are often
            # calcified: drawn denser (the blur is linear, so the rise scales with the contrast) it
            # stands out as a real one does; its half-maximum outline, and so its diameter, stay.
            # (Nearly: the lung's median round it moves a little too, so a second step settles it.)
            gain = 1.0
            for _ in range(2):
                gain *= SMALL_NODULE_MIN_RISE_HU / max(rise, 1.0)
                denser = (f32(bg) + (nhu - f32(bg)) * f32(gain)).astype(f32)
                if float(denser.max()) > SMALL_NODULE_MAX_HU:
                    break
                local, d, rise, _ = drawn(mask, occ, denser, off, at)
            if not (0.0 < d < MAX_SMALL_NODULE_MM and SMALL_NODULE_MIN_RISE_HU - 10.0 <= rise
                    and float(denser.max()) <= SMALL_NODULE_MAX_HU):
                continue
        inner = tuple(slice(int(k), int(n - j)) for k, n, j in zip(keep_lo, hi - lo, keep_hi))
        hu[tuple(slice(int(a + k), int(b - j)) for a, b, k, j in zip(lo, hi, keep_lo, keep_hi))] = local[inner]
        pn.mask, pn.corner_zyx, pn.diameter_mm = mask, tuple(int(v) for v in corner), d
        pn.centroid_zyx = np.argwhere(mask).mean(axis=0) + corner
        pn.spec.scale *= float(f)
        return


def _place_one(lib: NoduleLibrary, spec, dist: np.ndarray, sub: int, sp: np.ndarray, vessels: np.ndarray,
               fissure_mm: np.ndarray, placed: list[PlacedNodule], grid: Grid,
               rng: np.random.Generator) -> PlacedNodule | None:
    extent_z = (grid.shape_zyx[0] - 1) * sp[0]
    pad = box_pad_vox(grid.spacing_zyx)
    mask = shape_on_grid(lib, spec, grid.spacing_zyx)
    ext_mm = np.asarray(mask.shape) * sp
    r_ext = float(ext_mm.max()) / 2.0
    half_z = ext_mm[0] / 2.0
    zmargin = max(half_z + (pad[0] + 1) * sp[0], min(CUBE_HALF_MM, extent_z / 2.0 - half_z - 2.0))
    for edge in (4.0, 2.0):
        kk, jj, ii = np.nonzero((dist >= r_ext + edge) & (fissure_mm >= r_ext + 3.0))
        zc = kk * sp[0]
        ok = (zc >= zmargin) & (zc <= extent_z - zmargin)
        cand = np.stack([kk[ok], jj[ok] * sub, ii[ok] * sub], axis=1).astype(np.float64)
        for q in placed:
            far = np.linalg.norm((cand - q.centroid_zyx) * sp, axis=1) >= r_ext + q.diameter_mm / 2 + 10.0
            cand = cand[far]
        if len(cand):
            break
    if len(cand) == 0:
        return None
    if spec.embedded:  # any lung spot, vessels or not (see NoduleSpec.embedded)
        pick = cand[[int(rng.integers(len(cand)))]]
    else:  # the spot of 24 with the thinnest vessels
        pick = cand[np.sort(rng.choice(len(cand), size=min(24, len(cand)), replace=False))]
    best, best_score = None, np.inf
    for c in pick:
        lo = np.round(c - np.asarray(mask.shape) / 2.0).astype(int)
        box = vessels[tuple(slice(max(a, 0), a + n) for a, n in zip(lo, mask.shape))]
        score = float(box.max()) if box.size else 0.0
        if score < best_score - 1e-6:
            best, best_score = lo, score
    corner = best
    assert corner is not None
    corner = np.clip(corner, pad, np.asarray(grid.shape_zyx) - np.asarray(mask.shape) - pad)
    cen = np.argwhere(mask).mean(axis=0) + corner
    return PlacedNodule(spec=spec, mask=mask, corner_zyx=tuple(int(v) for v in corner),
                        centroid_zyx=cen, diameter_mm=feret_diameter_mm(mask, grid.spacing_zyx))


def _location(uid: str, grid: Grid, kji: np.ndarray, diameter: float, extra: dict) -> Location:
    X, Y, t = grid.to_xyt(np.asarray(kji, dtype=np.float64))
    return Location(uid, (float(X), float(Y), float(-t)), float(diameter), {k: str(v) for k, v in extra.items()})


def _candidates(uid: str, placed: list[PlacedNodule], grid: Grid, rng: np.random.Generator,
                lung_edge: tuple[np.ndarray, int], want: int = 12) -> list[Location]:
    """Healthy lung points: >= 20 mm from lung edges and nodules, a 32 mm cube fits in z.
    ``lung_edge``: :func:`_lung_edge_distance` of the scan's final labels."""
    dist, sub = lung_edge
    sp = np.asarray(grid.spacing_zyx)
    extent_z = (grid.shape_zyx[0] - 1) * sp[0]
    zmargin = min(CUBE_HALF_MM, extent_z / 2.0 - 1.0)
    out: list[np.ndarray] = []
    # Keep the 20 mm clearance; when a thin slab has little room, pack the points closer
    # first, and only then accept less clearance (min_edge_mm in the CSV says so).
    for edge, sep in ((CANDIDATE_EDGE_MM, 12.0), (CANDIDATE_EDGE_MM, 8.0), (CANDIDATE_EDGE_MM, 5.0),
                      (17.0, 5.0), (14.0, 5.0)):
        kk, jj, ii = np.nonzero(dist >= edge)
        zc = kk * sp[0]
        ok = (zc >= zmargin) & (zc <= extent_z - zmargin)
        cand = np.stack([kk[ok], jj[ok] * sub, ii[ok] * sub], axis=1).astype(np.float64)
        for q in placed:
            far = np.linalg.norm((cand - q.centroid_zyx) * sp, axis=1) >= CANDIDATE_EDGE_MM + q.diameter_mm / 2
            cand = cand[far]
        order = np.random.default_rng(rng.integers(2 ** 63)).permutation(len(cand))
        out = []
        for c in cand[order]:
            if all(np.linalg.norm((c - o) * sp) >= sep for o in out):
                out.append(c)
                if len(out) >= want:
                    break
        if len(out) >= 10:
            break
    return [_location(uid, grid, c, 0.0, {"min_edge_mm": f"{float(dist[int(c[0]), int(c[1]) // sub, int(c[2]) // sub]):.1f}"})
            for c in out]


def _write_one(tmp: Path, seed: int, index: int, slices: int, size: int, large_nodules: int,
               library: NoduleLibrary | None = None, on_scan: Callable[[Phantom], None] | None = None
               ) -> tuple[str, str, list[Location], list[Location]]:
    """Generate and write one scan; returns what the CSVs need (also runs in a worker process)."""
    from mitsgan.io import write_scan

    ph = generate_phantom(seed=seed, index=index, slices=slices, size=size, library=library,
                          large_nodules=large_nodules)
    write_scan(ph.scan, tmp / f"{ph.seriesuid}.mhd")
    if on_scan is not None:
        on_scan(ph)
    return ph.seriesuid, ph.patient_id, ph.nodules, ph.candidates


def write_phantom_dataset(out_dir: str | Path, n_scans: int = 1, slices: int = 64, seed: int = 0,
                          overwrite: bool = False, size: int = 512, progress: bool = True,
                          on_scan: Callable[[Phantom], None] | None = None, large_nodules: int = 1,
                          workers: int = 1) -> Path:
    """Write ``n_scans`` phantoms plus annotations.csv, candidates.csv and split.csv, atomically.

    ``workers > 1`` renders scans in that many processes (each scan is independent and
    deterministic, so the files are the same bytes as with one worker); ``on_scan`` needs
    the rendered phantom and so only works with one worker.
    """
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import ExitStack
    from functools import partial

    from tqdm import tqdm

    from mitsgan.data.dataset import make_split, write_locations_csv, write_split_csv
    from mitsgan.io.atomic import atomic_path

    if workers > 1 and on_scan is not None:
        raise ValueError("on_scan needs workers=1")
    out_dir = Path(out_dir)
    with atomic_path(out_dir, overwrite=overwrite, is_dir=True) as tmp, ExitStack() as stack:
        one = partial(_write_one, tmp, seed, slices=slices, size=size, large_nodules=large_nodules)
        if workers > 1:
            pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers))
            results = pool.map(one, range(n_scans))  # in index order, so the CSV rows are too
        else:
            lib = load_library()
            results = (one(i, library=lib, on_scan=on_scan) for i in range(n_scans))
        nodules: list[Location] = []
        candidates: list[Location] = []
        patients: dict[str, str] = {}
        for uid, pid, nods, cands in tqdm(results, total=n_scans, desc="phantoms", unit="scan",
                                          disable=not progress):
            nodules += nods
            candidates += cands
            patients[uid] = pid
        write_locations_csv(tmp / "annotations.csv", nodules)
        write_locations_csv(tmp / "candidates.csv", candidates)
        write_split_csv(tmp / "split.csv", patients, make_split(patients, seed=seed))
    return out_dir
