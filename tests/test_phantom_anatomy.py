"""The phantom's anatomy in proportion: lungs that fill an adult chest like the LIDC slabs', main
bronchi that a slice cuts as two round holes, fissures that are not one line across both lungs,
cloth folds only in the air, vessel trees with tapering lobar trunks whose smallest branches end in
single fading twigs, bronchi beside their arteries, a heart that reaches back to the oesophagus
with a broad pad of fat (not a pillar) in front of it, a descending aorta beside the spine with
lung against it, an aortic arch that is a curve, an azygos arch against the trachea, fat planes
between vessels that meet, a narrower rib cage above the carina, only the heart's top 4 cm below
the carina with a left atrium the veins drain into, segmental vessels thick at their origin, great
vessels that meet the lung without a rim of fat, vessel targets that reach the mediastinum, hila
that send thick forking branches out near the axial plane, thymic tissue in front of a younger
patient's great vessels, small vessels in the chest wall, chest-wall muscle fat streaked round the
chest, a spinal canal against its vertebral body with an arch behind it in every slice, upper lungs
that fill their rib cage, scapulae thick at their lateral border with a spine above the carina,
superficial chest-wall muscles on the deep ones, lobar trunks that leave the hilum thick with their
bronchi, a left pulmonary artery that runs back over the left main bronchus and on down as an
interlobar artery joined to the mediastinum, a right main bronchus
that runs out toward its hilum, facet joints that close the spinal canal at the discs, a pulmonary
trunk that runs back to its bifurcation nearly in the axial plane, a chest whose front comes back
toward the trachea above the carina, enhanced great vessels as bright as the real slabs', main
bronchi narrower than the descending aorta, a trachea as deep as it is wide, a brachiocephalic trunk in
front of the trachea behind the left brachiocephalic vein, a left subclavian artery against the
trachea's left side above the arch, a left atrium behind the great vessels below the carina with fat,
not lung, between it and the oesophagus, an oesophagus against the trachea's back above it, discs only
where a thick slice lies wholly in one, faint small veins in the chest wall's fat, lymph nodes in the
mediastinal fat, an upper mediastinum whose filled outline drapes between the vessels, and a right
pulmonary artery that passes behind the SVC. Noise-free
single slices (anatomy.render_slice), one tree or one field, so these run in seconds."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from mitsgan.data.phantom import anatomy as A
from mitsgan.data.phantom import mediastinum as M
from mitsgan.data.phantom.generate import _oblique_t, chest_params, phantom_grid

SEEDS = range(6)


def _patient(seed: int) -> tuple[A.ChestParams, np.ndarray, np.ndarray, float]:
    """Scan (seed, 0)'s anatomy and its default grid: params, X row, Y column (mm), pixel (mm)."""
    p, g = chest_params(seed), phantom_grid(seed)
    return p, g.x_mm()[None, :], g.y_mm()[:, None], g.pixel_mm


def _slice(seed: int, dt_mm: float) -> tuple[A.ChestParams, np.ndarray, float]:
    """Labels of the default grid's slice ``dt_mm`` below the carina of scan (seed, 0)."""
    p, X, Y, px = _patient(seed)
    _, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt_mm)
    return p, lab, px


def _one_lung_targets(n: int) -> np.ndarray:
    """``n`` random points filling a box the size of one lung (X, Y, t mm), as trees get them."""
    rng = np.random.default_rng(0)
    return np.stack([rng.uniform(-140, -20, n), rng.uniform(-80, 80, n), rng.uniform(20, 240, n)], 1)


def _distance_to_segments(q: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (mm) from point(s) ``q`` to the segments a[i]-b[i] (broadcast over i)."""
    ab = b - a
    f = np.clip(((q - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(a + f[..., None] * ab - q, axis=-1)


def _lung_geometry(lab: np.ndarray) -> dict[str, float]:
    body = (lab != A.AIR) & (lab != A.TABLE) & (lab != A.OUTSIDE_FOV)
    lung = lab == A.LUNG
    ys, xs = np.nonzero(body)
    yl, xl = np.nonzero(lung)
    depth, width = ys.max() - ys.min(), xs.max() - xs.min()
    return {"area": lung.sum() / body.sum(), "width": (xl.max() - xl.min()) / width,
            "bottom": (yl.max() - ys.min()) / depth}


@pytest.mark.parametrize("seed", SEEDS)
def test_lungs_fill_the_chest_like_real_ones_at_the_carina(seed):
    """LIDC slabs at the carina: lung/body area 0.29-0.35, lungs span 0.62-0.64 of the body's
    width and end at 0.80-0.85 of its depth. Before round 7 the phantom's lungs were wide
    flat letterboxes (span up to 0.80, bottom up to 0.92) inside a thick wall.

    Labels, not HU: the area counts the lung's vessels as lung, ~0.04 above what the realism
    benchmark measures on the same slice. Round 15 thinned the side walls (blinded readers
    preferred it 20 of 20): over seeds 0-19 the area is 0.30-0.44 (median 0.34) and the span
    0.63-0.76 (median 0.69), the top of both from slim, wide patients."""
    _, lab, _ = _slice(seed, 0.0)
    g = _lung_geometry(lab)
    assert 0.22 <= g["area"] <= 0.46, g
    assert 0.5 <= g["width"] <= 0.78, g
    assert g["bottom"] <= 0.9, g


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("below_mm", [7.0, 10.0])
def test_main_bronchi_cut_as_two_compact_holes(seed, below_mm):
    """7-10 mm below the carina each main bronchus is its own round-to-oval hole (real ones
    descend steeply); run out flat to the hila they were dark bars 2-3 times longer than wide,
    and leaving the carina along their whole course's slope they (and the trachea's round
    end) made one "dumbbell" or three holes side by side there."""
    p, lab, px = _slice(seed, below_mm)
    comp, n = ndimage.label(lab == A.AIRWAY_LUMEN)
    sizes = ndimage.sum_labels(np.ones_like(comp), comp, np.arange(1, n + 1)) * px * px
    big = np.arange(1, n + 1)[sizes > 40.0]  # mm2: the main bronchi, not peripheral airways
    assert len(big) == 2, (seed, sizes)
    for k in big:
        yy, xx = np.nonzero(comp == k)
        ev = np.linalg.eigvalsh(np.cov(np.stack([xx, yy]).astype(float)))
        assert np.sqrt(ev[1] / ev[0]) < 1.8, (seed, ev)


@pytest.mark.parametrize("below_mm", [12.0, 20.0])
def test_main_bronchi_are_narrower_than_the_descending_aorta(below_mm):
    """Round 25: 10-25 mm below the carina the real slabs' main bronchi (and bronchus intermedius)
    hold 44-85 mm2 of air (one 183), and a reader judges their width against the descending
    aorta's; the phantoms' held ~190-275 mm2 (noise-free labels), "over-inflated, close to the
    width of the descending aorta". Round 37 measured the first 5-12 mm below the carina too:
    real right main bronchi hold up to 200 mm2 there (lung1; LIDC-IDRI-0001 130-152), and the
    right bronchus was widened to match (see anatomy.MAIN_BRONCHUS_RADIUS_MM). Each lumen is
    under 210 mm2 (was 170) and under 0.9 of the aorta's diameter across (was 0.8)."""
    for seed in SEEDS:
        p, lab, px = _slice(seed, below_mm)
        comp, n = ndimage.label(lab == A.AIRWAY_LUMEN)
        sizes = ndimage.sum_labels(np.ones_like(comp), comp, np.arange(1, n + 1)) * px * px
        big = np.arange(1, n + 1)[sizes > 40.0]
        assert len(big) == 2, (seed, sizes)
        descending = next(tb for tb in p.tubes if tb.group == "aorta" and tb.b[2] > p.t_carina_mm + 100.0)
        aorta_mm = 2.0 * descending.radius_mm
        for k in big:
            across_mm = np.ptp(np.nonzero(comp == k)[1]) * px
            assert sizes[k - 1] < 210.0 and across_mm < 0.9 * aorta_mm, (seed, sizes[k - 1], across_mm)


@pytest.mark.parametrize("below_mm", [8.0, 11.0])
def test_the_right_main_bronchus_is_wider_than_the_left(below_mm):
    """Round 37: 5-12 mm below the carina a real right main bronchus holds 1.5-2.5 times the left's
    air (LIDC-IDRI-0001 130-152 / 73-85 mm2, -0003 89-112 / 44-73, lung1 200 / 81); the phantoms'
    two were nearly equal (81-124 / 68-93 mm2, seeds 0-5), "two identical oval main bronchi" to a
    first-glance reader. Measured as the real ones were: air under -900 HU after a 0.4 mm blur."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        hu, _ = A.render_slice(p, X, Y, p.t_carina_mm + below_mm)
        comp, n = ndimage.label(ndimage.gaussian_filter(hu, 0.4 / px) < -900.0)
        sizes = ndimage.sum_labels(np.ones_like(comp), comp, np.arange(1, n + 1)) * px * px
        xs = ndimage.center_of_mass(np.ones_like(comp), comp, np.arange(1, n + 1))
        x_mm = np.array([float(X[0, int(round(c[1]))]) for c in xs])
        right = sizes[(x_mm > -30.0) & (x_mm < -3.0) & (sizes > 20.0) & (sizes < 250.0)]
        left = sizes[(x_mm > 3.0) & (x_mm < 35.0) & (sizes > 20.0) & (sizes < 250.0)]
        assert right.size and left.size, (seed, sizes, x_mm)
        assert right.max() > 1.4 * left.max(), (seed, right, left)


def test_oblique_fissures_are_not_mirror_images():
    """Mirrored sheets drew one horizontal line across both lungs in every slice."""
    p, _, _ = _slice(0, 0.0)
    X = np.array([[-80.0, 80.0]], dtype=np.float32)
    Y = np.array([[10.0]], dtype=np.float32)
    t = _oblique_t(p, X, Y)[0]
    assert abs(float(t[0] - t[1])) > 5.0
    # Twisted: at one depth t the fissure sits further back medially than laterally.
    medial = _oblique_t(p, np.array([[30.0]], np.float32), Y)[0, 0]
    lateral = _oblique_t(p, np.array([[110.0]], np.float32), Y)[0, 0]
    assert medial > lateral


def test_cloth_folds_are_thin_sheets_in_the_air_over_the_body():
    """Gown/blanket folds (every LIDC slab has them; a bare outline read as drawn) lie in the
    air only, within a few cm of the skin, and are thin: a 2-pixel opening removes them but for
    specks where two folds cross, so body masks (and the realism histograms, which keep the largest
    piece) do not see them."""
    found = 0
    for seed in SEEDS:
        p, lab, px = _slice(seed, 0.0)
        cloth = lab == A.CLOTH
        if not cloth.any():
            continue
        found += 1
        body = ndimage.binary_fill_holes(~np.isin(lab, (A.AIR, A.CLOTH, A.TABLE, A.OUTSIDE_FOV)))
        assert not (cloth & body).any()
        gap_mm = ndimage.distance_transform_edt(~body)[cloth] * px
        assert gap_mm.max() < 50.0
        # Round 14's finer pixels (a field of view fitted closer to the body) let a speck of ~20
        # pixels (~3 mm across) survive where two folds cross; round 19's unbroken folds, where
        # two lie together for a few cm, a band of up to ~100 (seeds 0-11): tiny beside the body.
        specks, n = ndimage.label(ndimage.binary_opening(cloth, iterations=2))
        assert n == 0 or np.bincount(specks.ravel())[1:].max() < min(150, 0.001 * body.sum())
    assert found >= 2


def test_each_cloth_fold_is_one_unbroken_gently_waving_sheet():
    """One fold over a round body (drawn on a 0.25 mm grid): present at every angle of its span,
    and its distance from the skin changes smoothly along it. Round 19: crumpled (a ~1 cm wave)
    and broken, the folds covered 70% of the span and their distance's second difference over
    0.05 rad reached 3 mm; blinded readers called them "zigzag bits", "wiggly squiggles"."""
    from mitsgan.data.phantom import chest_wall as CW

    c = (np.arange(1600) - 800) * 0.25
    X, Y = c[None, :].astype(np.float32), c[:, None].astype(np.float32)
    rho, theta = np.hypot(X, Y), np.arctan2(X, -Y)
    lab = np.where(rho < 150.0, A.FAT, A.AIR).astype(np.uint8)
    gap_mm, amp_mm, waves, phase, span = 6.0, 2.0, 5.0, 0.3, 1.5
    CW.render_cloth(np.array([[gap_mm, amp_mm, waves, phase, span]]), theta, 150.0 - rho, 40.0, lab)
    assert not (lab[rho < 150.0] == A.CLOTH).any()
    bins = np.linspace(-1.4, 1.4, 57)  # 0.05 rad
    dist = []
    for a, b in zip(bins[:-1], bins[1:]):
        sheet = (lab == A.CLOTH) & (theta >= a) & (theta < b)
        assert sheet.any(), f"a gap in the fold at {a:.2f} rad"
        dist.append(float(np.median(rho[sheet])) - 150.0)
    assert 0.0 < min(dist) and max(dist) < gap_mm + 1.5 * amp_mm + 1.0
    assert np.abs(np.diff(dist, 2)).max() < 1.0


def test_vessel_tree_has_tapering_lobar_trunks_and_radiating_segmental_vessels():
    """The thickest vessel leaves the hilum and tapers as the segmental vessels leave it in
    turn (a lobar trunk); 2-4 mm vessels reach several cm into the lung; one connected tree."""
    from mitsgan.data.phantom import trees as T

    root = np.array([-50.0, 0.0, 100.0])
    tree = T.segmental_tree(root, _one_lung_targets(T.VESSEL_TARGETS), np.random.default_rng(1))
    from_root = np.flatnonzero(np.all(np.isclose(tree.start, root), axis=1))
    assert 1 <= len(from_root) <= T.SEGMENTS_PER_TREE
    thickest = int(np.argmax(tree.radius_mm))
    assert thickest in from_root and tree.radius_mm[thickest] > 2.5  # mm: a 5+ mm lobar vessel
    # Follow the thickest child from the root: the calibre never grows along the trunk.
    k, chain = thickest, [tree.radius_mm[thickest]]
    while True:
        kids = np.flatnonzero(np.all(np.isclose(tree.start, tree.end[k]), axis=1))
        if not len(kids):
            break
        k = int(kids[np.argmax(tree.radius_mm[kids])])
        chain.append(tree.radius_mm[k])
    assert len(chain) >= 3 and np.all(np.diff(chain) <= 1e-9), chain
    mid = tree.radius_mm >= 1.0
    assert np.linalg.norm(tree.end[mid] - root, axis=1).max() > 60.0  # mm into the lung
    # Connected: every branch starts at the root, at another's end or (side twigs) on another's axis.
    ends = {tuple(np.round(e, 6)) for e in tree.end} | {tuple(np.round(root, 6))}
    loose = [i for i, s in enumerate(tree.start) if tuple(np.round(s, 6)) not in ends]
    for i in loose:
        gap = _distance_to_segments(tree.start[i], tree.start, tree.end)
        gap[i] = np.inf  # not on itself
        assert gap.min() < 1e-6
    assert len(loose) <= 2 * T.SEGMENTS_PER_TREE  # only the segmental trunks' side twigs


def test_thinnest_vessels_thin_out_with_distance_from_the_hilum(monkeypatch):
    """Round 14's knob, on by default since round 48: branches on the calibre floor keep it near the
    hilum and fall to PERIPHERAL_FLOOR_SCALE of it far out (a linear ramp between PERIPHERAL_FADE_MM);
    thicker branches keep their calibre. In a grown tree the floor branches far out are that thin.
    Set to 1, every branch stays on or above the floor."""
    from mitsgan.data.phantom import trees as T
    from mitsgan.data.phantom.vessels import Tree

    assert T.PERIPHERAL_FLOOR_SCALE < 0.5 and T.VESSEL_FLOOR_MM >= 0.85  # the defaults: thinner far out
    with monkeypatch.context() as m:
        m.setattr(T, "PERIPHERAL_FLOOR_SCALE", 1.0)
        off = T.segmental_tree(np.array([-50.0, 0.0, 100.0]), _one_lung_targets(500), np.random.default_rng(1))
        assert np.all(off.radius_mm >= T.VESSEL_FLOOR_MM - 1e-9)  # off: every branch on or above the floor
    d0, d1 = T.PERIPHERAL_FADE_MM
    root = np.array([-50.0, 0.0, 100.0])
    dist = np.array([0.5 * d0, 0.5 * (d0 + d1), 2.0 * d1, 2.0 * d1])
    start = root + np.stack([dist - 1.0, np.zeros(4), np.zeros(4)], axis=1)
    end = start + np.array([2.0, 0.0, 0.0])  # midpoints at ``dist`` from the root
    floor = T.VESSEL_FLOOR_MM
    r = np.array([floor, floor, floor, 3.0])
    out = T._thinner_far_out(Tree(start, end, r, 0.5 * r), root)
    expect = np.array([1.0, 0.5 * (1.0 + T.PERIPHERAL_FLOOR_SCALE), T.PERIPHERAL_FLOOR_SCALE, 1.0])
    assert np.allclose(out.radius_mm, r * expect) and np.allclose(out.r_end, 0.5 * r * expect)
    tree = T.segmental_tree(root, _one_lung_targets(T.VESSEL_TARGETS), np.random.default_rng(1))
    mid = 0.5 * (tree.start + tree.end)
    far = np.linalg.norm(mid - root, axis=1) > d1
    near = np.linalg.norm(mid - root, axis=1) < d0
    far_r = tree.radius_mm[far]
    scaled = np.isclose(far_r, T.PERIPHERAL_FLOOR_SCALE * floor)
    assert far.sum() > 100 and scaled.mean() > 0.5 and np.all(scaled | (far_r >= floor - 1e-9))
    assert np.all(tree.radius_mm[near] >= floor - 1e-9)


def test_small_territories_end_in_one_fading_twig_not_a_fan():
    """Round 9: with a branch to every target, floor-calibre branches met three or four at a
    point (a star of short spokes in a slice); with leaf twigs almost none do, and the twigs
    fade toward their tips."""
    from collections import Counter

    from mitsgan.data.phantom import trees as T
    from mitsgan.data.phantom.vessels import LEAF_FADE, grow_tree

    rng = np.random.default_rng(0)
    targets = np.stack([rng.uniform(-60, 60, 3000), rng.uniform(-60, 60, 3000), rng.uniform(0, 120, 3000)], 1)
    root = np.array([-70.0, 0.0, 60.0])

    def fan_fraction(leaf_targets: int):
        tree = grow_tree(root, targets, T.VESSEL_UNIT_MM, np.random.default_rng(1),
                         murray_exponent=T.VESSEL_EXPONENT, terminal_radius_mm=T.VESSEL_FLOOR_MM,
                         leaf_targets=leaf_targets)
        keys = [tuple(np.round(s, 6)) for s in tree.start]
        count = Counter(keys)
        return np.mean([count[k] >= 3 for k in keys]), tree

    fans_before, _ = fan_fraction(2)
    fans_now, tree = fan_fraction(T.VESSEL_LEAF_TARGETS)
    assert fans_before > 0.5 and fans_now < 0.05
    twigs = np.isclose(tree.r_end, LEAF_FADE * T.VESSEL_FLOOR_MM)
    assert twigs.sum() > 0.3 * len(twigs)
    assert np.all(tree.radius_mm[twigs] == T.VESSEL_FLOOR_MM)


def test_heart_reaches_back_to_the_oesophagus_in_deep_and_shallow_chests():
    """Round 9: with its depth capped regardless of the chest, the heart of a deep chest
    stopped 3-5 cm in front of the oesophagus, joined to it by a stalk of fat (a blinded
    reader's surest call). Now the gap at the heart's equator stays within ~2.5 cm for every
    patient and within a few mm for most, and neither gap (front or back) is a long pillar."""
    behind, front = [], []
    for seed in range(40):
        p = chest_params(seed)
        _, hy, _ = p.heart_center
        reach = A.heart_front_mm(p.heart_axes_mm, p.heart_angle_rad)
        oesophagus = next(t for t in p.tubes if t.label == A.ESOPHAGUS)
        behind.append(oesophagus.a[1] - oesophagus.radius_mm - (hy + reach))
        front.append(hy - reach - (p.y_sternum_mm + 6.0))
    assert np.median(behind) < 6.0 and max(behind) < 25.0
    assert max(front) < 20.0


def test_oesophagus_is_a_flat_oval_behind_the_trachea():
    """A collapsed oesophagus is ~2 x 1 cm, wider than deep. Round 19: drawn as a round 14-18 mm
    ball of muscle it made one of the "stacked balls" between the trachea and the spine; blinded
    A/Bs both ways round preferred the flat oval in 10 of 10 comparisons, then on new patients."""
    for seed in SEEDS:
        p, lab, px = _slice(seed, -10.0)
        ys, xs = np.nonzero(lab == A.ESOPHAGUS)
        assert ys.size, f"seed {seed}: no oesophagus 10 mm above the carina"
        wide, deep = (np.ptp(xs) + 1) * px, (np.ptp(ys) + 1) * px
        assert 15.0 < wide < 26.0 and 7.0 < deep < 13.0 and wide > 1.6 * deep, (seed, wide, deep)


def test_the_oesophagus_rests_against_the_back_of_the_trachea_above_the_carina():
    """Above the carina the oesophagus lies right behind the trachea (real slabs: its middle
    11-15 mm behind the trachea's axis), not as a separate oval on the spine with fat between
    (round 28: 18-24 mm behind, "stacked ovals"). Below the carina it returns to its own line
    behind the left atrium."""
    for seed in SEEDS:
        for dt in (-30.0, -15.0):
            p, lab, px = _slice(seed, dt)
            _, X, Y, _ = _patient(seed)
            oes = lab == A.ESOPHAGUS
            airway = np.isin(lab, (A.AIRWAY_LUMEN, A.AIRWAY_WALL)) & ~ndimage.binary_fill_holes(oes)  # not its air
            gap_mm = ndimage.distance_transform_edt(~airway, sampling=px)[oes].min()
            behind = float(np.nonzero(oes)[0].mean()) * px + float(Y[0, 0]) - p.y_trachea_mm
            assert gap_mm <= 3.0 and 10.0 <= behind <= 15.0, (seed, dt, gap_mm, behind)  # was 2.9-10.4, 16.7-22.3
        oes_tube = next(tb for tb in p.tubes if tb.label == A.ESOPHAGUS)
        t = p.t_carina_mm + 20.0
        assert A.oesophagus_axis(p, oes_tube, t) == A.M.axis_point(oes_tube, t)


def test_some_oesophagi_hold_a_slit_of_air_in_their_middle():
    """Swallowed air: in some patients, over part of the oesophagus's length, a slit of air
    (airway-lumen label, -1000 HU) at its centre, inside its outline; none in others."""
    with_air, slices = set(), 0
    for seed in range(12):
        p, X, Y, _ = _patient(seed)
        oes = next(tb for tb in p.tubes if tb.label == A.ESOPHAGUS)
        for dt in range(-30, 31, 6):
            t = p.t_carina_mm + dt
            hu, lab = A.render_slice(p, X, Y, t)
            ax, ay = A.oesophagus_axis(p, oes, t)
            near = (np.abs(X - ax) < 8.0) & (np.abs(Y - ay) < 5.0)
            # Its own air (a hole in it), not the edge of a bronchus passing within the box.
            air = near & (lab == A.AIRWAY_LUMEN) & ndimage.binary_fill_holes(lab == A.ESOPHAGUS)
            if air.any():
                with_air.add(seed)
                slices += 1
                assert (hu[air] == -1000.0).all()
                ys, xs = np.nonzero(air)
                assert np.ptp(X[0, xs]) <= 8.0 and np.ptp(Y[ys, 0]) <= 4.0
    assert 3 <= len(with_air) <= 10 and slices >= 6, (with_air, slices)


def test_chest_wall_streaks_run_round_the_chest():
    """The fat between the wall's muscle bundles follows the muscles round the chest: the
    field behind it varies slowly along circles round the axis and fast across them."""
    from mitsgan.data.phantom.noise import circumferential_field

    x = (np.arange(256) - 127.5) * 1.5
    where = np.ones((4, 256, 256), dtype=bool)
    f = circumferential_field(where, 2.0, x, x, np.random.default_rng(0))
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    r = 150.0

    def sample(rr, th):
        i = np.clip(np.rint(rr * np.cos(th) / 1.5 + 127.5).astype(int), 0, 255)
        j = np.clip(np.rint(rr * np.sin(th) / 1.5 + 127.5).astype(int), 0, 255)
        return f[1, j, i]
    ring = sample(r, theta)  # 1.3 mm between neighbours along the circle
    along = np.corrcoef(ring, np.roll(ring, 3))[0, 1]  # ~4 mm apart along the circle
    across = np.corrcoef(sample(r, theta), sample(r + 4.0, theta))[0, 1]  # 4 mm apart across
    assert along > 0.8 and across < 0.5


def test_fat_in_front_of_a_set_back_heart_is_a_broad_pad_not_a_pillar():
    """In a deep chest the heart is set back from the sternum (see the test above); below its
    equator, the fat between them spans the heart's front. Without the pad, one such patient
    (seed 42) had a 34-36 mm pillar there: "a tube from the heart to the sternum" (round 9)."""
    seeds = [s for s in range(50) if chest_params(s).heart_pad_mm > 8.0]
    assert 42 in seeds
    for seed in seeds:
        p, X, Y, px = _patient(seed)
        _, lab = A.render_slice(p, X, Y, p.heart_center[2] + 0.5 * p.heart_axes_mm[2])
        front = Y[np.flatnonzero((lab == A.HEART).any(axis=1))[0], 0]
        row = int(np.argmin(np.abs(Y[:, 0] - 0.5 * (front + p.y_sternum_mm + 6.0))))  # mid-pad
        runs, n = ndimage.label((lab[row] != A.LUNG) & (np.abs(X[0]) < 90.0))
        widest = max(np.sum(runs == k) for k in range(1, n + 1)) * px
        assert widest > 60.0, (seed, widest)


def test_bronchi_beside_their_arteries_touch_but_do_not_overlap():
    """Round 9: smaller bronchi run with their arteries (a ring with a dot of the same size
    beside it), not as a tree of their own ("ring bronchi floating with no matching artery")."""
    from mitsgan.data.phantom import trees as T

    targets = _one_lung_targets(T.VESSEL_TARGETS)
    arteries = T.segmental_tree(np.array([-50.0, 0.0, 100.0]), targets, np.random.default_rng(1))
    airways = T.paired_airways(arteries, -1.0)
    paired = arteries.radius_mm >= T.PAIRED_ARTERY_MIN_RADIUS_MM
    assert len(airways.radius_mm) == paired.sum() >= 10
    a, b, r = arteries.start[paired], arteries.end[paired], arteries.radius_mm[paired]
    mid = 0.5 * (airways.start + airways.end)
    gap = _distance_to_segments(mid, a, b) - 0.5 * (r + arteries.r_end[paired])
    outer = 0.5 * (airways.radius_mm + airways.r_end) * (1 + T.AIRWAY_WALL_FRACTION) + T.AIRWAY_WALL_MM
    assert np.all(gap >= outer - 0.05) and np.all(gap <= outer + 1.0)
    assert np.allclose(airways.radius_mm, T.PAIRED_AIRWAY_RATIO * r)


@pytest.mark.parametrize("seed", SEEDS)
def test_descending_aorta_sits_beside_the_spine_with_lung_against_its_left_side(seed):
    """Round 9: in front of the vertebral body it sat in one stack with the heart and the
    spine ("no separate descending aorta"); beside the body's front half, the left lung
    touches its lateral side at the heart's level."""
    p, X, Y, _ = _patient(seed)
    t = p.heart_center[2]
    # The descending aorta: the thickest vessel that runs down to the lung bases.
    aorta = max((tb for tb in p.tubes if tb.label == A.VESSEL),
                key=lambda tb: (max(tb.a[2], tb.b[2]), tb.radius_mm))
    x, y = M.axis_point(aorta, t)
    assert p.y_vert_mm - p.vert_radius_mm < y < p.y_vert_mm
    _, lab = A.render_slice(p, X, Y, t)
    j = int(np.argmin(np.abs(Y[:, 0] - y)))
    i = int(np.argmin(np.abs(X[0] - (x + aorta.radius_mm + 5.0))))
    assert lab[j, i] == A.LUNG, (seed, lab[j, i])


def test_descending_aorta_lies_against_the_vertebral_body_not_in_it(monkeypatch):
    """Round 32: the descending aorta's disc overlapped the vertebral body's ellipse in 5 of 8
    patients (11-63 pixels 20 mm below the carina), one white shape with the bone in lung window
    ("a descending aorta fused to the vertebral body", a first cue in two first-glance rounds).
    Now it keeps DA_SPINE_GAP_MM clear of it from the carina down; without the rule the same
    patients' discs reach into the bone (so the check can fail)."""
    def closest_mm(seed: int) -> float:
        p, X, Y, px = _patient(seed)
        vb, _ = A._vertebral_body(X, Y, p.y_vert_mm, p.vert_radius_mm)
        to_bone = ndimage.distance_transform_edt(~vb) * px
        aorta = max((tb for tb in p.tubes if tb.label == A.VESSEL),
                    key=lambda tb: (max(tb.a[2], tb.b[2]), tb.radius_mm))
        gaps = []
        for below_mm in (0.0, 20.0, 60.0):
            x, y = M.axis_point(aorta, p.t_carina_mm + below_mm)
            gaps.append(float(to_bone[(X - x) ** 2 + (Y - y) ** 2 < aorta.radius_mm ** 2].min()))
        return min(gaps) - px  # pixel centres to pixel centres: within a pixel of the gap

    now = [closest_mm(seed) for seed in range(8)]
    assert min(now) > 0.0, np.round(now, 1)  # clear of the bone in every patient
    monkeypatch.setattr(A, "DA_SPINE_GAP_MM", None)
    before = [closest_mm(seed) for seed in range(8)]
    assert sum(g < 0.0 for g in before) >= 3, np.round(before, 1)  # in the bone


def _component_at(mask: np.ndarray, X: np.ndarray, Y: np.ndarray, xy: tuple[float, float]) -> np.ndarray:
    """The connected component of ``mask`` holding the pixel nearest ``xy`` (mm); empty if none."""
    lab, _ = ndimage.label(mask)
    k = lab[int(np.argmin(np.abs(Y[:, 0] - xy[1]))), int(np.argmin(np.abs(X[0] - xy[0])))]
    return (lab == k) if k else np.zeros_like(mask)


@pytest.mark.parametrize("seed", SEEDS)
def test_aortic_arch_is_a_curve_whole_at_its_apex_and_two_ovals_at_the_carina(seed):
    """Round 10: one level tube from the ascending to the descending aorta showed the same long
    sausage on every slice over ~27 mm. Real slices show it whole only near its apex; at the
    carina the ascending and descending aorta are two separate ovals."""
    p, X, Y, px = _patient(seed)
    vessels = [tb for tb in p.tubes if tb.label == A.VESSEL]
    ascending = max((tb for tb in vessels if np.hypot(tb.a[0] - tb.b[0], tb.a[1] - tb.b[1]) < 1.0
                     and min(tb.a[2], tb.b[2]) < p.t_carina_mm < max(tb.a[2], tb.b[2])),
                    key=lambda tb: tb.radius_mm)
    descending = max(vessels, key=lambda tb: (max(tb.a[2], tb.b[2]), tb.radius_mm))
    _, lab = A.render_slice(p, X, Y, p.t_carina_mm - 2.0)
    front = _component_at(lab == A.VESSEL, X, Y, ascending.a[:2])
    back = _component_at(lab == A.VESSEL, X, Y, descending.a[:2])
    assert front.any() and back.any()
    assert not (front & back).any(), seed
    _, lab = A.render_slice(p, X, Y, p.t_arch_mm + 2.0)
    apex_xy = (A.ARCH_APEX_X_MM + 4.0, 0.5 * (ascending.a[1] + descending.a[1]))
    apex = _component_at(lab == A.VESSEL, X, Y, apex_xy)
    ys, xs = np.nonzero(apex)
    assert np.hypot(np.ptp(xs), np.ptp(ys)) * px > 50.0, seed


@pytest.mark.parametrize("seed", SEEDS)
def test_azygos_arch_runs_against_the_trachea_into_an_svc_beside_it(seed):
    """Round 10: with the SVC level with the aorta's centre, ~5 cm in front of the trachea,
    the azygos arch crossed ~8 cm of lung as a rod. Right of the trachea, just above the
    carina, the first thing past the airway wall is the azygos, not lung."""
    p, X, Y, _ = _patient(seed)
    svc = next(tb for tb in p.tubes if tb.label == A.VESSEL and tb.a[2] < 0 and tb.a[:2] == tb.b[:2])
    assert np.hypot(svc.a[0], svc.a[1] - p.y_trachea_mm) < 50.0
    _, lab = A.render_slice(p, X, Y, p.t_carina_mm - 9.0)
    row = lab[int(np.argmin(np.abs(Y[:, 0] - (p.y_trachea_mm + 4.0))))]
    right = row[::-1][np.asarray(X[0] < 0)[::-1]]  # from the midline out to the patient's right
    first = right[(right != A.AIRWAY_LUMEN) & (right != A.AIRWAY_WALL) & (right != A.MED_FAT)][0]
    assert first == A.VESSEL, (seed, first)


def test_the_brachiocephalic_trunk_stands_in_front_of_the_trachea_behind_the_vein():
    """Above the arch the brachiocephalic trunk rises in front of the trachea's right half, the left
    brachiocephalic vein crossing in front of it (lung1, ~40 mm above the carina: ~6 mm right of
    the trachea's axis, ~23 mm in front). Round 27: it ran straight up from where it left the arch,
    4-8 mm left of the trachea and 17-42 mm in front, and through the vein: split by their fat
    plane into slivers, or one lobulated blob (blinded readers: "the brachiocephalic trunk is
    missing"). 42 mm above the carina it is now its own round vessel 5-7 mm right of the trachea's
    axis and 18-26 mm in front of it (seeds 0-5)."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        t = p.t_carina_mm - 42.0
        trunk = next(tb for tb in p.tubes if tb.group == "aorta" and 5.5 <= tb.radius_mm <= 7.0
                     and min(tb.a[2], tb.b[2]) <= t <= max(tb.a[2], tb.b[2]))
        ax, ay = M.axis_point(next(tb for tb in p.tubes if A._is_trachea(tb)), t)
        x, y = M.axis_point(trunk, t)
        assert -10.0 <= x - ax <= -2.0 and 15.0 <= ay - y <= 30.0, (seed, x - ax, ay - y)
        _, lab = A.render_slice(p, X, Y, t)
        vessel = _component_at(lab == A.VESSEL, X, Y, (x, y))
        wide = (np.ptp(np.broadcast_to(X, lab.shape)[vessel]) + px) / (2.0 * trunk.radius_mm)
        deep = (np.ptp(np.broadcast_to(Y, lab.shape)[vessel]) + px) / (2.0 * trunk.radius_mm)
        assert 0.6 <= min(wide, deep) and max(wide, deep) <= 1.3, (seed, wide, deep)


def test_the_left_subclavian_rises_against_the_trachea_with_no_lung_behind_it():
    """Above the arch the left subclavian artery climbs beside the trachea's left side, so the
    left lung meets the mediastinum 17-23 mm left of the trachea's axis on its row (LIDC-IDRI-0002
    and lung1, 33-48 mm above the carina). Round 38: run straight from the arch toward the lung's
    apex, it stood 25-30 mm out, the lung 28.8-33.8 mm out on the trachea's row 45 mm above the
    carina (seeds 0-5, default grids), and in three patients reached in behind it to within
    12.7-16.4 mm of the trachea's axis ("a keyhole of lung between the subclavian and the
    oesophagus against the trachea's left back wall", blinded readers). With its knee: 24.1-25.4
    mm, and never within 23.5 mm behind the trachea's left half."""
    for seed in SEEDS:
        p, X, Y, _ = _patient(seed)
        t = p.t_carina_mm - 45.0
        _, lab = A.render_slice(p, X, Y, t)
        ax, ay = M.axis_point(next(tb for tb in p.tubes if A._is_trachea(tb)), t)
        lung = lab == A.LUNG
        row = lung[int(np.argmin(np.abs(Y[:, 0] - ay)))] & (X[0] > ax)
        assert row.any() and X[0][row].min() - ax < 27.0, (seed, X[0][row].min() - ax)
        behind_left = lung & (X > ax) & (Y > ay)
        assert np.hypot(X - ax, Y - ay)[behind_left].min() > 20.0, seed


def test_no_lung_reaches_in_between_the_left_atrium_and_the_oesophagus():
    """Below the carina the left atrium lies against the oesophagus and the descending aorta, fat filling
    the corners between them. Round 38: the mediastinum's closing stopped at the trachea's axis, so the
    lungs reached in behind the atrium to the oesophagus, a waist of 22.8-42.9 mm on the rows from the
    trachea's axis back to the oesophagus's, 33 and 40 mm below the carina (seeds 0-5; "a heart on a
    stalk" to blinded readers); real slices stay 44-120 mm wide across the middle of the lungs' depth.
    Now 35.5-61.4 mm."""
    for seed in SEEDS:
        p, X, Y, _ = _patient(seed)
        oes = next(tb for tb in p.tubes if tb.label == A.ESOPHAGUS)
        for dt in (33.0, 40.0):
            t = p.t_carina_mm + dt
            _, lab = A.render_slice(p, X, Y, t)
            lung = lab == A.LUNG
            y_es = A.oesophagus_axis(p, oes, t)[1]
            for r in np.flatnonzero((Y[:, 0] > p.y_trachea_mm) & (Y[:, 0] < y_es)):
                right, left = X[0][lung[r] & (X[0] < 0)], X[0][lung[r] & (X[0] > 0)]
                if right.size and left.size:
                    assert left.min() - right.max() > 33.0, (seed, dt, left.min() - right.max())

def test_the_azygos_is_a_small_vein_beside_the_spine():
    """The azygos beside the vertebral body is ~6-8 mm across (a third of the descending aorta's
    calibre or less). Round 20: at ~10 mm, in a 2 mm coat of fat, it was one of the "round blobs
    beside the spine"; blinded A/Bs both ways round preferred the smaller vein in 13 of 15
    comparisons, then 15 of 15 on new patients with a fresh reader."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        bottom = max(tb.b[2] for tb in p.tubes)
        azygos = next(tb for tb in p.tubes if tb.group == "svc" and tb.a[2] == bottom)
        aorta = next(tb for tb in p.tubes if tb.group == "aorta" and tb.b[2] == bottom)
        t = p.t_carina_mm + 40.0
        _, lab = A.render_slice(p, X, Y, t)
        vein = _component_at(lab == A.VESSEL, X, Y, M.axis_point(azygos, t))
        ys, xs = np.nonzero(vein)
        assert ys.size, f"seed {seed}: no azygos 40 mm below the carina"
        wide, deep = (np.ptp(xs) + 1) * px, (np.ptp(ys) + 1) * px
        assert 5.0 < wide < 9.0 and 5.0 < deep < 9.0, (seed, wide, deep)
        assert max(wide, deep) < 0.4 * 2.0 * aorta.radius_mm, seed


def test_no_slivers_of_lung_between_the_mediastinum_and_the_spine():
    """Beside the spine the lung's edge is smooth: no lung narrower than ~3 mm (what an opening
    by a 1.5 mm disc removes) wedged between the mediastinum and the vertebral body. Round 20:
    with the mediastinum smoothed on its own, 2-11 mm2 of such slivers per slice (cusps beside
    the azygos and between the aorta and the spine); smoothed with the spine, 0-3."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        r = int(round(1.5 / px))
        disc = np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) <= r
        near = (np.abs(X) < 45.0) & (np.abs(Y - p.y_vert_mm) < 30.0)
        for dt in (-10.0, 20.0, 50.0):
            _, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt)
            lung = lab == A.LUNG
            sliver = lung & ~ndimage.binary_opening(lung, structure=disc) & near
            assert sliver.sum() * px * px <= 4.0, (seed, dt, sliver.sum() * px * px)


def _slices_round_the_trachea(levels_mm: tuple[float, ...]):
    """For seeds 0-5 and each level (mm below the carina): seed, level, X, Y, pixel (mm), the
    trachea's tube, the slice's labels and the trachea's axis (X, Y) there."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        trachea = next(tb for tb in p.tubes if A._is_trachea(tb))
        for dt in levels_mm:
            t = p.t_carina_mm + dt
            _, lab = A.render_slice(p, X, Y, t)
            yield seed, dt, X, Y, px, trachea, lab, M.axis_point(trachea, t)


def test_the_right_lung_reaches_the_trachea_above_the_azygos_arch():
    """Above the azygos arch the right upper lobe lies against the trachea's right wall (the right
    paratracheal stripe): in the sector to the trachea's right, from a little in front of it to
    well behind it, about half of the ring within 10 mm of its wall is lung. Round 20: with the
    trachea in the middle of 10-20 mm of fat all round, 0.28-0.43 (seeds 0-5); now 0.48-0.56."""
    for seed, dt, X, Y, _, trachea, lab, (ax, ay) in _slices_round_the_trachea((-45.0, -35.0, -25.0)):
        gap = np.hypot(X - ax, Y - ay) - trachea.radius_mm
        phi = np.arctan2(Y - ay, ax - X)  # 0: straight to the patient's right
        ring = (gap < 10.0) & (phi > -0.45) & (phi < 1.2)
        share = float((ring & (lab == A.LUNG)).sum() / ring.sum())
        assert share >= 0.45, (seed, dt, share)


def test_the_trachea_is_one_d_shaped_lumen_down_to_the_carina():
    """Above the carina the airway is the trachea alone: the main bronchi begin at the carina,
    their round ends do not bulge out of it. Round 21: each bronchus's spherical cap rose ~7 mm
    above the carina, beside the trachea's end, so the last slices above it showed a bilobed,
    "cloverleaf" lumen up to ~12 mm either side of the midline (the first cue of a first-glance
    reader); now one D no wider than the trachea, within 4 mm of the carina too."""
    for seed, dt, X, Y, px, trachea, lab, (ax, ay) in _slices_round_the_trachea((-4.0, -2.0, -0.5)):
        lumen = _component_at(lab == A.AIRWAY_LUMEN, X, Y, (ax, ay))
        xs = np.broadcast_to(X, lab.shape)[lumen]
        assert np.abs(xs - ax).max() <= trachea.radius_mm + px, (seed, dt, np.abs(xs - ax).max())


def test_the_trachea_is_as_deep_as_it_is_wide():
    """Round 25: 10-40 mm above the carina the real slices' tracheas are round to a little taller
    than wide (width over depth 0.83-1.0); cut 0.62 radii behind its axis the phantom's was
    1.21-1.33 ("squashed front to back, like expiration" to a blinded reader). Now 0.9-1.1."""
    for seed, dt, X, Y, px, trachea, lab, (ax, ay) in _slices_round_the_trachea((-35.0, -20.0, -10.0)):
        lumen = _component_at(lab == A.AIRWAY_LUMEN, X, Y, (ax, ay))
        xs, ys = np.broadcast_to(X, lab.shape)[lumen], np.broadcast_to(Y, lab.shape)[lumen]
        ratio = (np.ptp(xs) + px) / (np.ptp(ys) + px)
        assert 0.9 <= ratio <= 1.1, (seed, dt, ratio)


def _main_bronchus(p: A.ChestParams, side: str) -> A.Tube:
    """The ``side`` ("left"/"right") main bronchus's hilar part: the airway tube ending at its hilum."""
    return next(tb for tb in p.tubes if tb.label == A.AIRWAY_LUMEN and tb.b == p.hila[f"{side}_bronchus"])


def test_the_left_pulmonary_artery_runs_back_over_the_left_main_bronchus():
    """The trunk carries on back and to the left into the left PA, which arches over the left main
    bronchus to the back of the hilum; the right PA runs out in front of the right bronchi. Round
    22: the left PA ended level with the left main bronchus and 12 mm behind the right PA's end, so
    trunk and branches crossed the slice as one bar ("a symmetric pulmonary artery T"); blinded
    readers preferred it run back in 23 of 29 comparisons. Seeds 0-5: its hilar end now lies 6-13
    mm behind the bronchus's axis at its depth (1-8 mm in front before) and 26 mm behind the right
    PA's end (12 before)."""
    for seed in SEEDS:
        p = chest_params(seed)
        lx, ly, lt = p.hila["left_artery"]
        left_main = _main_bronchus(p, "left")
        assert ly - M.axis_point(left_main, lt)[1] > 4.0, seed
        assert ly - p.hila["right_artery"][1] >= 20.0, seed


def test_the_left_hilum_keeps_its_interlobar_artery_below_the_left_pa(monkeypatch):
    """Round 33: the left PA ended at the hilum 12-18 mm below the carina, and 10-20 mm further
    down the left hilum was a ring bronchus and thin vessels "floating in the lung, detached from
    the mediastinum" (blinded readers preferred the interlobar artery in 11 of 11 comparisons).
    14 mm below the left PA's hilar end, a pulmonary artery at least 10 mm across runs down within
    22 mm of the left main bronchus's axis, drawn as vessel and joined to the mediastinum; without
    the interlobar artery there is none (so the check can fail), and without the hilar tissue
    carried down along it (INTERLOBAR_CAP) one patient's is a ball cut off in the lung (round 38's
    closing behind the left atrium also joins that one to the mediastinum, so the control turns it
    off too)."""
    def interlobar_found(seed: int) -> bool:
        p, X, Y, px = _patient(seed)
        t = p.hila["left_artery"][2] + 14.0
        _, lab = A.render_slice(p, X, Y, t)
        bx, by = M.axis_point(_main_bronchus(p, "left"), min(t, p.hila["left_bronchus"][2]))
        solid, _ = ndimage.label(~np.isin(lab, (A.LUNG, A.AIR)))
        mediastinum = solid[int(np.argmin(np.abs(Y[:, 0] - p.y_trachea_mm))), int(np.argmin(np.abs(X[0])))]
        for tube in p.tubes:
            if tube.group != "pa" or tube.radius_mm < 5.0 or not min(tube.a[2], tube.b[2]) <= t <= max(tube.a[2], tube.b[2]):
                continue
            x, y = M.axis_point(tube, t)
            j, i = int(np.argmin(np.abs(Y[:, 0] - y))), int(np.argmin(np.abs(X[0] - x)))
            if x > 0 and np.hypot(x - bx, y - by) < 22.0 and lab[j, i] == A.VESSEL and solid[j, i] == mediastinum:
                return True
        return False

    assert all(interlobar_found(seed) for seed in SEEDS)
    monkeypatch.setattr(A, "INTERLOBAR_CAP", False)  # no hilar tissue along it: cut off in one patient
    monkeypatch.setattr(A, "RETRO_ATRIAL_CLOSING_MM", 0.0)  # ... which the atrium's closing would join
    assert not all(interlobar_found(seed) for seed in SEEDS)
    monkeypatch.setattr(A, "LEFT_INTERLOBAR_MM", None)
    assert not any(interlobar_found(seed) for seed in SEEDS)


def test_the_right_main_bronchus_runs_out_toward_its_hilum():
    """Below the carina the right main bronchus heads out to the hilum, where the bronchus
    intermedius carries on, so a slice 1.5-2 cm down cuts it as a wide oval away from the midline.
    Round 22: ending ~13 mm from the midline it ran straight down beside the left one as a round
    hole ("a row of four round air lumens"); readers preferred it reaching out in 17 of 20
    comparisons. Seeds 0-5, 16 and 22 mm below the carina: its lumen's centre 13-15 mm from the
    midline and as wide as deep before; now 17-25 mm out and ~1.5 times as wide as deep (18-25 before
    round 25's narrower main bronchi, whose knee lies 1.3 radii from the midline)."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        right_main = _main_bronchus(p, "right")
        for dt in (16.0, 22.0):
            t = p.t_carina_mm + dt
            _, lab = A.render_slice(p, X, Y, t)
            lumen = _component_at(lab == A.AIRWAY_LUMEN, X, Y, M.axis_point(right_main, t))
            xs, ys = np.broadcast_to(X, lab.shape)[lumen], np.broadcast_to(Y, lab.shape)[lumen]
            assert xs.mean() < -16.5, (seed, dt, xs.mean())
            assert np.ptp(xs) > 1.25 * np.ptp(ys), (seed, dt)


def test_facet_joints_close_the_canal_at_the_discs():
    """At a disc's level the canal is closed at its sides by the facet joints (the articular
    processes of the vertebrae above and below), which run back into the laminae. Round 22: only
    the laminae and the spinous process were drawn there, "a Y-shaped posterior element with no
    vertebral body" to a first-glance reader; blinded readers preferred the facets in every
    comparison that showed a disc. Bone beside the canal's back half (7.5-14 mm from its centre)
    at a disc, seeds 0-5: 2-22 mm2 a side before, 28-36 now."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        k = round((p.t_carina_mm - p.vert_phase_mm) / p.vert_pitch_mm)
        _, lab = A.render_slice(p, X, Y, p.vert_phase_mm + (k + 0.08) * p.vert_pitch_mm)
        bone = np.isin(lab, (A.CORTICAL, A.TRABECULAR))
        rcn = np.sqrt(X * X + (Y - p.y_canal_mm) ** 2)
        beside = (rcn > 7.5) & (rcn < 14.0) & (Y > p.y_canal_mm - 3.0) & (Y < p.y_canal_mm + 2.0)
        for side in (X < 0, X > 0):
            assert (bone & beside & side).sum() * px * px >= 25.0, seed


def test_the_pulmonary_trunk_runs_back_to_its_bifurcation_nearly_in_the_axial_plane():
    """A real pulmonary trunk leaves the right ventricle in front, left of the aortic root, and runs
    up and back to divide below the aortic arch, so the slice of its bifurcation shows it running
    back from the front of the mediastinum into the left PA. Round 22: one straight tube climbing
    ~45 mm from the heart, it showed there only as a bulge on one smooth tube from hilum to hilum
    ("no main trunk off the heart", a first-glance reader's first cue). Seeds 0-5: the piece that
    ends at the bifurcation now runs 1.3-2.1 times as far back as up (0.4-0.6 times before)."""
    for seed in SEEDS:
        p = chest_params(seed)
        pa = [tb for tb in p.tubes if tb.group == "pa"]
        starts = [tb.a for tb in pa]
        bif = next(a for a in starts if starts.count(a) == 2)  # where the two arteries leave the trunk
        last = next(tb for tb in pa if tb.b == bif)
        dx, dy, dt = np.asarray(last.b) - np.asarray(last.a)
        assert np.hypot(dx, dy) > 1.2 * abs(dt), seed


def test_rib_heads_flank_the_spine_at_the_discs_too():
    """A rib's head articulates with the disc and the two vertebrae beside it, so a slice through
    a disc shows the rib heads as bony bars either side of it. Round 21: drawn only over the
    middle of each vertebra (phase 0.3-0.8), a slice through a disc showed the vertebra "alone
    in soft tissue"; a blinded reader preferred them there in every comparison with a difference.
    Bone beside the vertebral body (within 26 mm of the midline) at a disc, seeds 0-5: 0-30 mm2 a
    side before, 75-90 now."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        k = round((p.t_carina_mm - p.vert_phase_mm) / p.vert_pitch_mm)
        t = p.vert_phase_mm + (k + 0.08) * p.vert_pitch_mm  # a disc's level near the carina
        _, lab = A.render_slice(p, X, Y, t)
        bone = np.isin(lab, (A.CORTICAL, A.TRABECULAR))
        near = (Y > p.y_vert_mm - 5.0) & (Y < p.y_canal_mm + 10.0)
        for side in (-1.0, 1.0):
            beside = near & (side * X > p.vert_radius_mm + 2.0) & (side * X < 26.0)
            assert (bone & beside).sum() * px * px >= 50.0, (seed, side, (bone & beside).sum() * px * px)


def _vessel_pieces(p: A.ChestParams, X: np.ndarray, Y: np.ndarray, t: float) -> dict[str, np.ndarray]:
    """Per vessel group, the connected pieces of vessel on slice ``t`` that hold its tubes' axes."""
    _, lab = A.render_slice(p, X, Y, t)
    pieces: dict[str, np.ndarray] = {}
    for tb in p.tubes:
        if tb.label != A.VESSEL or not min(tb.a[2], tb.b[2]) < t < max(tb.a[2], tb.b[2]):
            continue
        piece = _component_at(lab == A.VESSEL, X, Y, M.axis_point(tb, t))
        pieces[tb.group] = pieces.get(tb.group, np.zeros_like(piece)) | piece
    return pieces


@pytest.mark.parametrize("seed", SEEDS)
def test_vessels_that_meet_are_separated_by_a_plane_of_fat(seed):
    """Round 10: the aorta, SVC, pulmonary arteries and azygos drawn as one union read as
    "fused blobs", "one melted mass". Each vessel group's axis lies in its own connected
    piece of vessel, from 30 mm above the carina to 20 mm below it."""
    p, X, Y, _ = _patient(seed)
    for dt in (-30.0, -12.0, 0.0, 10.0, 20.0):
        pieces = _vessel_pieces(p, X, Y, p.t_carina_mm + dt)
        groups = sorted(pieces)
        for i, g in enumerate(groups):
            for h in groups[i + 1:]:
                assert not (pieces[g] & pieces[h]).any(), (seed, dt, g, h)


@pytest.mark.parametrize("seed", SEEDS)
def test_vessels_that_meet_touch_along_a_hairline_of_fat(seed):
    """Round 12: a ~3 mm plane of fat round every vessel read as "tiled soap bubbles"; real
    great vessels that meet (SVC and aorta, aorta and pulmonary trunk) lie against each
    other with a hairline between them: the closest two groups come within ~2 mm (measured
    between pixel centres; 3.1 mm or more with the old plane). 15 mm below the carina since round
    39: the SVC now lies in front of the right PA, against it where the PA passes (it ran through it
    before), and in some patients that is the closest pair."""
    p, X, Y, px = _patient(seed)
    closest = []
    for dt in (0.0, 10.0, 15.0, 20.0, 30.0):
        pieces = _vessel_pieces(p, X, Y, p.t_carina_mm + dt)
        groups = sorted(g for g in pieces if pieces[g].any())
        for i, g in enumerate(groups):
            away = ndimage.distance_transform_edt(~pieces[g]) * px
            for h in groups[i + 1:]:
                closest.append(float(away[pieces[h]].min()))
    assert min(closest) <= 2.3, (seed, sorted(closest)[:5])
    assert min(closest) > 0.0, (seed, sorted(closest)[:5])  # still apart (see the test above)


def test_every_great_vessel_tube_belongs_to_a_group():
    p, *_ = _patient(0)
    assert all(tb.group for tb in p.tubes if tb.label in (A.VESSEL, A.ESOPHAGUS))
    assert not any(tb.group for tb in p.tubes if tb.label == A.AIRWAY_LUMEN)


def test_upper_lungs_fill_their_cage_without_a_band_of_wall_inside_the_ribs():
    """Round 15: 30 mm above the carina the lungs covered 0.20-0.31 of the body's section
    (labels; median 0.23 over seeds 0-5), where the real slices there show 0.26-0.34 by HU
    (labels read ~0.04 higher). Blinded readers saw "a thick band of soft tissue between the
    lung and the ribs, like pleural thickening or an effusion" and preferred thinner side walls
    in 20 of 20 pairs. Now 0.27-0.39 (median 0.30)."""
    areas = [_lung_geometry(_slice(seed, -30.0)[1])["area"] for seed in SEEDS]
    assert np.median(areas) >= 0.28, np.round(areas, 3)
    assert min(areas) >= 0.25, np.round(areas, 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_upper_lungs_are_narrower_in_a_broader_wall(seed):
    """Round 10: the cage was as wide 40 mm above the carina as below it (lungs 0.67 of the
    body's width there; LIDC-IDRI-0002, at the arch, 0.60-0.63): the upper slices read as
    "no shoulders". Round 15 thinned the upper side walls again (UPPER_CAGE_MM 14 -> 5; the
    readers preferred the fuller lungs 20 of 20): the span 40 mm above the carina is now
    0.015-0.08 (median 0.06, seeds 0-19) below the span 20 mm under it, where it was 0.06-0.14.
    The real slices narrow by ~0.03 (0.60-0.63 at the arch, 0.63-0.65 under the carina)."""
    widths = {}
    for dt in (-40.0, 20.0):
        _, lab, _ = _slice(seed, dt)
        widths[dt] = _lung_geometry(lab)["width"]
    assert widths[-40.0] < widths[20.0] - 0.01, widths


def _back_over_front(lab: np.ndarray) -> list[float]:
    """Each lung's width (pixels in its rows) 80% of the way from its front to its back over its
    width 20% of the way: under 1 the lung narrows toward the back."""
    cl, n = ndimage.label(lab == A.LUNG)
    sizes = ndimage.sum(cl > 0, cl, range(1, n + 1))
    out = []
    for i in 1 + np.argsort(sizes)[-2:]:
        rows = (cl == i).sum(1)
        rows = rows[np.flatnonzero(rows)[0]:np.flatnonzero(rows)[-1] + 1]
        out.append(rows[int(0.8 * (len(rows) - 1))] / rows[int(0.2 * (len(rows) - 1))])
    return out


def test_upper_lungs_are_full_at_the_back_not_wedges():
    """Round 32: 30-40 mm above the carina the lungs were inverted triangles, widest at the front
    and running to a point beside the spine (the cage's extra thickness at the side, the scapular
    muscles all inside the cage): each lung's width 80% of the way back over its width 20% back
    was 0.83 (median, seeds 0-7, 0.41-1.68; 8 of 32 under 0.7), where the real slabs show
    0.85-1.3. With the cage narrowing at its front corners and half the scapular muscles on the
    cage (blinded A/Bs 13 of 13, then 14 of 14 on new patients): 1.10 (0.60-2.36; 2 under 0.7)."""
    ratios = []
    for seed in range(8):
        for dt in (-40.0, -30.0):
            ratios += _back_over_front(_slice(seed, dt)[1])
    assert np.median(ratios) >= 1.0, np.round(ratios, 2)
    assert np.sum(np.array(ratios) < 0.7) <= 3, np.round(ratios, 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_four_cm_below_the_carina_the_heart_is_only_its_top(seed):
    """Round 10: 30 mm below the carina plus 0.8 of its height, the heart's section 4 cm under
    the carina was ~80% of its widest (a full heart blob beside real slices that show the
    aortic root, the pulmonary trunk and the top of the left atrium there)."""
    p, *_ = _patient(seed)
    section = A.heart_section(p, p.t_carina_mm + 40.0)
    assert section is None or section[1] < 0.6, section


@pytest.mark.parametrize("seed", SEEDS)
def test_pulmonary_veins_drain_into_a_left_atrium_in_front_of_the_oesophagus(seed):
    p, *_ = _patient(seed)
    atrium = [tb for tb in p.tubes if tb.group == "atrium"]
    la = max(atrium, key=lambda tb: tb.radius_mm)
    veins = [tb for tb in atrium if tb.radius_mm < A.LA_RADIUS_MM]
    assert len(veins) == 2
    ends = np.array([v.b for v in veins])
    a, b = np.array([la.a]), np.array([la.b])
    assert (_distance_to_segments(ends, a, b) < la.radius_mm).all()
    oes = next(tb for tb in p.tubes if tb.label == A.ESOPHAGUS)
    t = la.a[2]
    y_oes_front = M.axis_point(oes, t)[1] - oes.radius_mm
    gap = y_oes_front - (la.a[1] + la.radius_mm)
    assert 0.0 <= gap < 3.0, gap


def test_the_left_atrium_fills_the_mediastinum_behind_the_great_vessels_below_the_carina():
    """Round 27: with the left atrium's axis 50 mm below the carina (its top 34 mm below), slices
    28-36 mm below showed fat or scattered small blobs behind the aorta and the pulmonary trunk (the
    first-glance "'snowman' of vessels on a thin grey stalk"); blinded A/Bs both ways round
    preferred the chamber 8 mm higher ("a single smooth, continuous shape" there) in 8 of 8
    comparisons with a difference, then 9 of 10 on new patients with a fresh reader. 30 mm below the
    carina the slice now cuts the chamber across 46-61 mm (seeds 0-7; not at all before)."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        la = max((tb for tb in p.tubes if tb.group == "atrium"), key=lambda tb: tb.radius_mm)
        _, lab = A.render_slice(p, X, Y, p.t_carina_mm + 30.0)
        chamber = _component_at(lab == A.VESSEL, X, Y, (0.5 * (la.a[0] + la.b[0]), la.a[1]))
        assert chamber.any(), seed
        wide = np.ptp(np.broadcast_to(X, lab.shape)[chamber]) + px
        assert wide >= 40.0, (seed, wide)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_left_atrium_reaches_down_to_the_hearts_back(seed):
    """Round 37: the atrium ended 58 mm below the carina, above the heart's widest part (80-88 mm
    below), and in between the heart stood in front of the oesophagus on a narrow column of fat
    (the first-glance "heart joined to the spine by a soft-tissue bridge"). 66 mm below the
    carina the chamber now lies across the mediastinum in front of the oesophagus."""
    p, X, Y, px = _patient(seed)
    la = max((tb for tb in p.tubes if tb.group == "atrium"), key=lambda tb: tb.radius_mm)
    _, lab = A.render_slice(p, X, Y, p.t_carina_mm + 66.0)
    chamber = _component_at(lab == A.VESSEL, X, Y, (0.5 * (la.a[0] + la.b[0]), la.a[1]))
    assert chamber.any(), seed
    xs = np.broadcast_to(X, lab.shape)[chamber]
    assert np.ptp(xs) + px >= 40.0, (seed, np.ptp(xs))
    assert A.LA_LOW_MM < 2.0 * A.LA_RADIUS_MM  # one chamber: its halves overlap


def test_vessels_leave_the_hilum_at_hilar_calibre():
    """Segmental arteries are ~5 mm across where they leave the hilum or their lobar trunk and
    taper along their course. Round 10: at their territory's calibre (~3.5 mm) all the way,
    no vessel thicker than the lung's mid-size dots ran out of the hilum in the slice."""
    from mitsgan.data.phantom import trees as T

    start = np.array([-50.0, 0.0, 100.0])
    territory = _one_lung_targets(T.VESSEL_TARGETS // T.SEGMENTS_PER_TREE)  # one segment's share
    trunk = T._segment(start, territory, np.random.default_rng(1))[0]
    assert trunk.radius_mm[0] > 2.2  # mm, ~5 mm across
    assert trunk.r_end[0] < 0.6 * trunk.radius_mm[0]  # tapering along its straight run


def test_hilar_branches_leave_the_hilum_close_to_the_axial_plane():
    """Each hilar branch's first piece runs within HILAR_ELEVATION_MAX_RAD (0.25 rad, 14 degrees) of
    the axial plane, up or down, the lot spread over that range. Round 41: within 0.45 rad, a slice
    cut the steeper ones short, "blunt stubs with loose spindles, petal clusters round the hilum";
    flatter, they run out of the hilum, branch and taper (blinded A/Bs: 14 of 15, then 13 of 14 on new
    patients). It fails with HILAR_ELEVATION_MAX_RAD = 0.45 (all ten within 0.25: ~0.3% per draw)."""
    from mitsgan.data.phantom import trees as T

    for seed in range(6):
        tree = T.hilar_branches(np.array([-50.0, 0.0, 100.0]), -1.0, np.random.default_rng(seed))
        first = np.arange(0, len(tree.start), 3)  # each branch: its first piece, then two daughters
        d = tree.end[first] - tree.start[first]
        elevation = np.arcsin(np.abs(d[:, 2]) / np.linalg.norm(d, axis=1))
        assert len(first) == T.HILAR_BRANCHES
        assert elevation.max() <= 0.25 + 1e-9, (seed, elevation.max())
        assert elevation.max() >= 0.15, (seed, elevation.max())  # still spread, not all flat


@pytest.mark.parametrize("seed", range(4))
def test_great_vessels_touch_the_lung_without_a_rim_of_fat(seed):
    """Near the carina part of the lungs' medial edge is a great vessel's wall, not fat.
    Round 11: each vessel wore a 3-5 mm margin of fat (its own and a soft union's), a grey rim
    round every white vessel in lung window where real ones meet the lung: 0% of that edge lay
    within 2 mm of a vessel at any level (now 7-24%)."""
    for below_mm in (-20.0, -10.0, 0.0, 10.0, 20.0):
        _, lab, px = _slice(seed, below_mm)
        lung = lab == A.LUNG
        inner = np.isin(lab, (A.MED_FAT, A.VESSEL, A.HEART, A.AIRWAY_WALL, A.ESOPHAGUS))
        medial_edge = lung & ndimage.binary_dilation(inner)
        to_vessel_mm = ndimage.distance_transform_edt(lab != A.VESSEL) * px
        assert np.mean(to_vessel_mm[medial_edge] < 2.0) > 0.05, below_mm


def test_vessel_targets_reach_the_mediastinum_but_not_the_costal_pleura():
    """The trees' terminal targets keep 8 mm from the chest wall but come within a few mm of the
    mediastinum, where the hila's vessels crowd. Round 11: the margin was measured from the
    mediastinum too, a vessel-free band round it (3-5% of the targets near the carina lay
    within 8 mm of it; now ~20%)."""
    from mitsgan.data.phantom import trees as T

    p = chest_params(0)
    pts = T.lung_targets(p, np.random.default_rng(0))
    t0 = p.t_carina_mm + 10.0
    near = pts[np.abs(pts[:, 2] - t0) < 2.0]
    axis = np.arange(-200.0, 200.0, 1.0, dtype=np.float32)
    _, lab = A.render_slice(p, axis[None, :], axis[:, None], t0)
    cols, rows = (near[:, 0] + 200).astype(int), (near[:, 1] + 200).astype(int)
    inner = np.isin(lab, T.MEDIASTINAL_LABELS)
    to_mediastinum = ndimage.distance_transform_edt(~inner)[rows, cols]
    cavity = inner | (lab == A.LUNG)
    to_wall = ndimage.distance_transform_edt(cavity)[rows, cols]
    assert np.mean(to_mediastinum < 8.0) > 0.12
    assert np.mean(to_wall < T.PLEURAL_MARGIN_MM - 3.0) < 0.02  # the 4 mm grid's jitter aside


def test_thymic_tissue_fills_the_front_of_a_younger_mediastinum_only():
    """In about a third of patients the fat in front of the great vessels holds thymic soft
    tissue (tens of HU above fat), so a plain scan shows one smooth block there rather than
    round vessels in fat; behind the trachea, and in the others, it stays fat."""
    thymic = [s for s in range(30) if chest_params(s).thymus_hu > 0]
    assert 5 <= len(thymic) <= 15
    for seed in (thymic[0], next(s for s in range(30) if s not in thymic)):
        p, X, Y, _ = _patient(seed)
        hu, lab = A.render_slice(p, X, Y, p.t_carina_mm - 30.0)
        fat = lab == A.MED_FAT
        in_front = fat & (Y < p.y_trachea_mm - 25.0) & (np.abs(X) < 25.0)
        behind = fat & (Y > p.y_trachea_mm + 12.0)
        assert in_front.sum() > 50 and behind.sum() > 20
        rise = float(np.median(hu[in_front])) - p.fat_hu
        assert abs(float(np.median(hu[behind])) - p.fat_hu) < 15.0
        if p.thymus_hu > 0:
            assert rise > 0.6 * p.thymus_hu
        else:
            assert rise < 15.0


@pytest.mark.parametrize("seed", range(4))
def test_chest_wall_carries_small_vessels(seed):
    """An internal thoracic artery and vein on each side of the sternum at every level (small
    round vessels within ~2.5 cm of its edge, in the wall just in front of the cavity), and
    subcutaneous veins cut as dots in the fat: without them the wall was one clean grey ("waxy")."""
    p, X, Y, px = _patient(seed)
    subcutaneous = 0
    for below_mm in (-30.0, 0.0, 30.0):
        _, lab = A.render_slice(p, X, Y, p.t_carina_mm + below_mm)
        comps, n = ndimage.label(lab == A.VESSEL)
        y_sternum = A.sternum_y_mm(p, p.t_carina_mm + below_mm)  # where it lies at this level
        for side in (-1.0, 1.0):
            near_sternum = ((Y < y_sternum + 25.0) & (side * X > 8.0) & (side * X < 45.0))
            ids = np.unique(comps[(comps > 0) & near_sternum])
            areas = ndimage.sum_labels(np.ones_like(comps), comps, ids) * px * px
            assert np.sum((areas > 1.5) & (areas < 15.0)) >= 1, (below_mm, side)  # mm2: a 1-2 mm radius
        for i in range(1, n + 1):  # away from the sternum, wholly in fat, no lung or mediastinum beside it
            one = comps == i
            if np.any(one & (np.abs(X) < 50.0) & (Y < y_sternum + 25.0)):
                continue
            ring = ndimage.binary_dilation(one, iterations=2) & ~one
            subcutaneous += int(np.all(np.isin(lab[ring], (A.FAT, A.SKIN, A.VESSEL))))
    assert subcutaneous >= 1


@pytest.mark.parametrize("seed", range(3))
def test_internal_thoracic_vessels_lie_in_the_wall_not_in_the_lung(seed):
    """Round 35: drawn just inside the cavity's front they were bright dots inside the black lung
    ("paired parasternal dots", 8 of 12 first-glance answers); blinded A/Bs preferred them in the
    wall, 15 of 15 then 13 of 13 on new patients. Little of the soft tissue round each is lung."""
    p, X, Y, px = _patient(seed)
    shares = []
    for below_mm in (-30.0, 0.0, 30.0):
        _, lab = A.render_slice(p, X, Y, p.t_carina_mm + below_mm)
        comps, n = ndimage.label(lab == A.VESSEL)
        y_sternum = A.sternum_y_mm(p, p.t_carina_mm + below_mm)
        near = (Y < y_sternum + 25.0) & (np.abs(X) > 8.0) & (np.abs(X) < 45.0)
        for i in np.unique(comps[(comps > 0) & near]):
            one = comps == i
            if not 1.5 < one.sum() * px * px < 15.0:
                continue
            ring = ndimage.binary_dilation(one, iterations=2) & ~one
            shares.append(float(np.mean(lab[ring] == A.LUNG)))
    assert len(shares) >= 6 and max(shares) < 0.25, shares


def test_subcutaneous_veins_enhance_little_the_internal_thoracic_vessels_fully(monkeypatch):
    """With contrast the internal thoracic vessels beside the sternum are as bright as the blood
    pool, the small veins in the subcutaneous fat only a little brighter than plain blood (real
    enhanced slabs: small blobs in that fat peak at a median 12-22 HU, 90th percentile ~66).
    Round 28: at the blood pool's 250-450 HU they were "stray bright dots in the fat under the
    skin" (a first-glance cue); blinded A/Bs preferred the fainter veins 10 of 10, then 10 of 10
    on new patients."""
    from mitsgan.data.phantom import wall_vessels as WV

    monkeypatch.setattr(A, "EDGE_ANTI_ALIAS", False)  # each vessel's own HU, edges not blended
    seed = next(s for s in range(20) if chest_params(s).contrast_hu > 0)
    p, X, Y, _ = _patient(seed)
    plain = p.blood_hu - p.contrast_hu
    veins = arteries = 0
    for below_mm in (-30.0, 0.0, 30.0):
        hu, lab = A.render_slice(p, X, Y, p.t_carina_mm + below_mm)
        comps, n = ndimage.label(lab == A.VESSEL)
        y_sternum = A.sternum_y_mm(p, p.t_carina_mm + below_mm)
        for i in range(1, n + 1):
            one = comps == i
            if np.any(one & (np.abs(X) < 45.0) & (np.abs(X) > 8.0) & (Y > y_sternum) & (Y < y_sternum + 25.0)):
                arteries += 1  # the internal thoracic pair, behind the cartilages
                assert np.allclose(hu[one], p.blood_hu)
                continue
            ring = ndimage.binary_dilation(one, iterations=2) & ~one
            if np.all(np.isin(lab[ring], (A.FAT, A.SKIN, A.VESSEL))):
                veins += 1
                assert np.allclose(hu[one], plain + WV.VEIN_CONTRAST_SHARE * p.contrast_hu)
                assert hu[one].max() < plain + 0.25 * p.contrast_hu
    assert veins >= 1 and arteries >= 2


def test_hila_send_thick_forking_branches_out_near_the_axial_plane():
    """Each hilum sends several 4-7 mm branches outward (none toward the midline), within ~25
    degrees of the axial plane, each forking into two thinner daughters: in a slice near the
    carina they are the lines radiating from the hilum that the grown trees (leaving it
    steeply) did not give."""
    from mitsgan.data.phantom import trees as T

    p = chest_params(0)
    for side, key in ((-1.0, "right_artery"), (1.0, "left_artery")):
        root = np.asarray(p.hila[key])
        tree = T.hilar_branches(root, side, np.random.default_rng(3))
        assert len(tree.radius_mm) == 3 * T.HILAR_BRANCHES
        d = tree.end - tree.start
        elevation = np.degrees(np.arcsin(np.abs(d[:, 2]) / np.linalg.norm(d, axis=1)))
        assert elevation.max() < 26.0
        assert np.all(side * d[:, 0] > 0)  # outward, into the lung
        trunks = slice(0, None, 3)
        assert np.all(2.2 <= tree.radius_mm[trunks]) and np.all(tree.radius_mm[trunks] <= 3.2)
        for k in range(T.HILAR_BRANCHES):  # two daughters leave each trunk's end, thinner
            assert np.allclose(tree.start[3 * k + 1], tree.end[3 * k])
            assert np.allclose(tree.start[3 * k + 2], tree.end[3 * k])
            assert tree.radius_mm[3 * k + 1] < tree.r_end[3 * k]
        # Round 13: they reach well into the lung (6 of 22-40 mm left the hila blunt): the
        # farthest tip of each branch lies ~38-64 mm from the hilar point (25-45 before), 10 a side.
        reach = np.linalg.norm(tree.end - root, axis=1).reshape(T.HILAR_BRANCHES, 3).max(axis=1)
        assert T.HILAR_BRANCHES >= 10 and np.median(reach) > 40.0 and reach.min() > 30.0


def test_mediastinal_outline_is_smoothed_round_its_corners(monkeypatch):
    """Round 12: where the wedge, bands, caps and hull met, the lung saw right-angled steps,
    rectangular notches and ruler-straight edges; smooth_outline rounds them (a blinded A/B
    on the same patients preferred the smoothed outline in 9 of 10 pairs)."""
    px = 0.7
    X = (np.arange(-150, 150) * px).astype(np.float32)[None, :]
    Y = (np.arange(-150, 150) * px).astype(np.float32)[:, None]
    block = (np.abs(X) < 20) & (np.abs(Y) < 30)
    notch = block & ~((X > 15) & (np.abs(Y) < 1.5))  # a 3 mm wide, 5 mm deep slot cut in its side
    strip = block | ((X > 20) & (X < 50) & (np.abs(Y) < 0.5))  # a 1 mm hairline sticking out
    out = M.smooth_outline(notch | strip, X, Y, 3.0)
    j = lambda y: int(np.argmin(np.abs(Y[:, 0] - y)))  # noqa: E731
    i = lambda x: int(np.argmin(np.abs(X[0] - x)))  # noqa: E731
    assert out[j(0), i(18)]  # the slot is filled
    assert not out[j(0), i(35)]  # the hairline is gone
    assert not out[j(29.5), i(19.5)]  # the corner is rounded off
    assert out[j(0), i(0)] and out[j(29.0), i(0)] and out[j(0), i(19.0)]  # the sides stay
    assert abs(int(out.sum()) - int(block.sum())) < 0.03 * block.sum()
    far = (np.abs(X - 100) < 5) & (np.abs(Y) < 5)  # beyond mid_mm: left as it is
    assert (M.smooth_outline(far, X, Y, 3.0) == far).all()
    # render_slice uses it: switched off, the lung outline near the midline changes
    p, Xp, Yp, _ = _patient(0)
    lung = A.render_slice(p, Xp, Yp, p.t_carina_mm)[1] == A.LUNG
    monkeypatch.setattr(M, "SMOOTH_OUTLINE_MM", 0.0)
    rough = A.render_slice(p, Xp, Yp, p.t_carina_mm)[1] == A.LUNG
    assert (lung != rough).sum() > 50


@pytest.mark.parametrize("seed", SEEDS)
def test_hilar_arteries_meet_the_lung_without_a_sleeve_of_fat(seed):
    """Round 12: a 12 mm cap of soft tissue round each hilar artery's end wore it a smooth grey
    sleeve in lung window; a blinded A/B preferred the 9 mm cap in 10 of 10 pairs. Near its end
    (within 12 mm, on its own slice) the artery now touches the lung: some of the pixels within
    ~2 mm of it are lung (none with the old cap; 1.7-9% with this one on seeds 0-5)."""
    p, X, Y, _ = _patient(seed)
    for key in ("right_artery", "left_artery"):
        x0, y0, t0 = p.hila[key]
        _, lab = A.render_slice(p, X, Y, t0)
        near = np.hypot(X - x0, Y - y0) < 12.0
        artery = (lab == A.VESSEL) & near
        ring = ndimage.binary_dilation(artery, iterations=3) & (lab != A.VESSEL) & near
        assert ring.any(), (seed, key)
        assert (lab[ring] == A.LUNG).mean() > 0.01, (seed, key)


@pytest.mark.parametrize("seed", SEEDS)
def test_spinal_canal_lies_against_the_vertebral_body_with_an_arch_behind_it(seed):
    """Round 14: the canal sat 12-13 mm behind the vertebral body inside its own ring of bone
    (a first-glance reader's "bullseye"), and in 3 slices of 10 no arch closed it behind. A real
    canal's front is the body's back; laminae (or those of the vertebra above) close it behind."""
    p, X, Y, px = _patient(seed)
    mid = int(np.argmin(np.abs(X[0])))
    y = Y[:, 0]
    bone = (A.CORTICAL, A.TRABECULAR, A.DISC)
    for k in range(10):  # slices through one vertebra's height, from its disc down
        t = p.vert_phase_mm + (np.floor(p.t_carina_mm / p.vert_pitch_mm) + (k + 0.5) / 10) * p.vert_pitch_mm
        _, lab = A.render_slice(p, X, Y, t)
        col = lab[:, mid]
        canal = np.flatnonzero(col == A.CANAL)
        front, back = canal.min(), canal.max()
        ahead = (y > p.y_vert_mm) & (np.arange(len(y)) < front)
        gap_mm = np.sum(ahead & ~np.isin(col, bone)) * px  # soft tissue between body and canal
        assert gap_mm < 5.0, (seed, k, gap_mm)
        behind = np.isin(col[back + 1: back + 1 + int(10.0 / px)], (A.CORTICAL, A.TRABECULAR))
        assert behind.any(), (seed, k)  # an arch behind the canal


@pytest.mark.parametrize("seed", SEEDS)
def test_trachea_is_a_rounded_d(seed):
    """The trachea's membranous back wall is flat-ish, but it meets the cartilage's curve in
    rounded corners: cut straight across with square corners it read as "a D cut by software"
    (round 17: rounded corners won 6 of 6 blinded comparisons, then 10 of 10). The lumen's
    back-most row spans well under the 0.8 of its widest row that a sharp D gives."""
    p, X, Y, px = _patient(seed)
    _, lab = A.render_slice(p, X, Y, p.t_carina_mm - 25.0)
    lumen = (lab == A.AIRWAY_LUMEN) & (np.abs(X) < 20.0) & (np.abs(Y - p.y_trachea_mm) < 20.0)
    widths = lumen.sum(axis=1)[np.flatnonzero(lumen.any(axis=1))]
    assert widths[-1] <= 0.65 * widths.max(), (seed, widths[-1], widths.max())


@pytest.mark.parametrize("seed", SEEDS)
def test_vertebral_bodies_are_thoracic_sized(seed):
    """Mid-thoracic vertebral bodies are ~28-35 mm wide (the real slices' 24-35 mm): at 34-43 mm
    (an ellipse 1.12 x the radius) they read as "oversized", lumpy where they met the aorta and
    the azygos; narrower (VB_WIDE 0.95, VB_DEEP 0.77) they won 9 of 10 blinded comparisons, then
    7 of 8."""
    p, X, Y, px = _patient(seed)
    # A slice a quarter into a vertebra below the carina's: bone, not disc, no rib heads.
    t = p.vert_phase_mm + (np.floor((p.t_carina_mm - p.vert_phase_mm) / p.vert_pitch_mm) + 0.24) * p.vert_pitch_mm
    _, lab = A.render_slice(p, X, Y, t)
    run = np.isin(lab[int(np.argmin(np.abs(Y[:, 0] - p.y_vert_mm)))], (A.CORTICAL, A.TRABECULAR))
    mid = int(np.argmin(np.abs(X[0])))
    width_mm = (np.argmax(~run[mid:]) + np.argmax(~run[mid::-1]) - 1) * px
    assert 27.0 <= width_mm <= 37.0, (seed, width_mm)


@pytest.mark.parametrize("seed", [0, 3])
def test_spinous_processes_are_cut_in_short_pieces(seed):
    """Thoracic spinous processes slope steeply down, so a slice cuts a short piece of one: a
    stub on the laminae and/or a separate piece further back (that of the vertebra above). Round
    17: drawn whole in every other slice (a 29-36 mm rod to the skin, and nothing in the rest),
    it read as "a long thin straight stick"; cut in pieces it won 10/10 blinded comparisons. Its
    tip stays inside the back muscles, its centre SPINOUS_SKIN_GAP_MM (8) under the skin ("bone
    right up to the skin", 10/10 the other way)."""
    p, X, Y, px = _patient(seed)
    mid = int(np.argmin(np.abs(X[0])))
    runs_mm, detached, beyond, under_skin_mm = [], 0, 0, []
    for k in range(20):  # slices through one vertebra's height
        t = p.vert_phase_mm + (np.floor(p.t_carina_mm / p.vert_pitch_mm) + (k + 0.5) / 20) * p.vert_pitch_mm
        _, lab = A.render_slice(p, X, Y, t)
        col = np.isin(lab[:, mid], (A.CORTICAL, A.TRABECULAR))
        canal_back = np.flatnonzero(lab[:, mid] == A.CANAL).max()
        col[: canal_back + 1] = False  # bone behind the canal, along the midline
        edges = np.diff(np.r_[0, col.astype(int), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs_mm += list((ends - starts) * px)
        detached += len(starts) > 1
        beyond += bool(ends.size) and (ends.max() - canal_back) * px > 14.0
        skin = np.flatnonzero(~np.isin(lab[:, mid], (A.AIR, A.CLOTH, A.TABLE, A.OUTSIDE_FOV))).max()
        under_skin_mm.append((skin - ends.max()) * px)
    assert max(runs_mm) < 25.0  # no rod from the laminae to the skin
    assert min(under_skin_mm) >= 4.5  # the tip's centre 8 mm under the skin, less its half-width
    assert detached >= 10  # a separate piece behind the arch in at least half the slices
    assert beyond >= 18  # and some process beyond the laminae in nearly every slice


@pytest.mark.parametrize("seed", [0, 3])
def test_lung_is_denser_just_in_front_of_its_back_edge(seed):
    """Supine, the lung's back centimetre is less aerated: in the 12 real slices the parenchyma
    within 5 mm of the lung's back edge is 5-68 HU (median ~30) denser than 4-8 cm in front of
    it. With only the front-to-back gradient the phantoms' slices read 14-24 HU (9-13 after
    noise and blur); with DEPENDENT_HU, 40-50 (33-39)."""
    p, X, Y, px = _patient(seed)
    for dt in (-20.0, 30.0):
        hu, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt)
        lung = lab == A.LUNG
        rows = np.arange(lung.shape[0])[:, None]
        depth_mm = (np.where(lung, rows, -1).max(axis=0)[None, :] - rows) * px  # in front of the back edge
        inner = ndimage.binary_erosion(lung, iterations=3)
        near = np.median(hu[inner & (depth_mm < 5.0)])
        far = np.median(hu[inner & (depth_mm >= 40.0) & (depth_mm < 80.0)])
        assert 30.0 <= near - far <= 65.0, (seed, dt, near - far)


@pytest.mark.parametrize("seed", [0, 2])
def test_rib_marrow_is_fattier_than_the_vertebrae(seed):
    """Inside its cortex a rib's marrow lies ~110 HU below the vertebral body's (real rib marrow:
    a median of 93-127 HU over 12 slices; the phantoms' vertebrae draw 170-280), so a rib shows a
    white shell round grey marrow in lung window rather than a solid white oval; the vertebrae
    keep their own value (where the slice cuts a vertebral body: at a disc's level the spine has no
    marrow, its posterior elements being solid since round 47)."""
    p, X, Y, px = _patient(seed)
    vertebrae = 0
    for dt in (-25.0, -12.0, 0.0, 12.0, 30.0):
        hu, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt)
        XX, YY = np.broadcast_arrays(X, Y)
        trab = lab == A.TRABECULAR
        spine = trab & (np.abs(XX) < 20.0) & (YY > p.y_vert_mm - p.vert_radius_mm)
        if spine.any():
            assert np.median(hu[spine]) == pytest.approx(p.trabecular_hu, abs=0.5)
            vertebrae += 1
        values, counts = np.unique(np.round(hu[trab & (np.abs(XX) > 60.0)]), return_counts=True)
        assert counts.sum() > 300
        assert 90.0 <= p.trabecular_hu - values[np.argmax(counts)] <= 130.0
        assert counts.max() > 0.8 * counts.sum()  # nearly all the lateral marrow is rib marrow
    assert vertebrae >= 2


def _rays_skin_inward(lab: np.ndarray, px: float, degrees, step_mm: float):
    """(angle, labels) along rays from the body's centre at ``degrees`` off the front (+ = patient
    left), sampled every ``step_mm`` and read from the skin inward."""
    body = ~np.isin(lab, (A.AIR, A.CLOTH, A.TABLE, A.OUTSIDE_FOV))
    ys, xs = np.nonzero(body)
    cy, cx = 0.5 * (ys.min() + ys.max()), 0.5 * (xs.min() + xs.max())
    r = np.arange(0.0, 260.0, step_mm) / px
    for deg in degrees:
        a = np.radians(deg)
        yy = np.clip(np.round(cy - r * np.cos(a)).astype(int), 0, lab.shape[0] - 1)
        xx = np.clip(np.round(cx + r * np.sin(a)).astype(int), 0, lab.shape[1] - 1)
        yield deg, lab[yy, xx][: np.flatnonzero(body[yy, xx]).max() + 1][::-1]


def _fat_under_skin_mm(lab: np.ndarray, px: float) -> dict[int, float]:
    """Fat from the skin to the first muscle along rays from the body's centre, by angle (deg)."""
    out = {}
    for deg, ray in _rays_skin_inward(lab, px, list(range(30, 151, 6)) + list(range(-150, -29, 6)), 0.5):
        mus = np.flatnonzero(np.isin(ray, (A.MUSCLE, A.CORTICAL, A.TRABECULAR)))
        out[deg] = float((ray[: mus[0]] == A.FAT).sum() * 0.5) if mus.size else float("nan")
    return out


def test_fat_and_muscle_trade_thickness_round_the_chest_inside_a_fixed_skin(monkeypatch):
    """FAT_SWAP moves the fat/muscle boundary: the lungs stay put to the pixel and the skin within
    about a pixel (the chest wall's fat bumps scale with the fat: under 1% of the body's pixels
    change side); the fat under the skin varies more round the chest (real subcutaneous fat
    varies about twice as much as it did), and the same on both sides. With the superficial
    muscles in the reference fat (SUPERFICIAL_ON_DEEP 0, as when FAT_SWAP was tested): resting on
    the deep muscles they move the first muscle along a ray inward by the fat between, which
    varies on its own. The spread is measured from the front round to the side (30-96 degrees):
    FAT_SWAP leaves the scapulae's sector alone, and since round 36 their muscles reach up to
    SCAPULA_FAT_OVER_MM under the skin there whatever the fat."""
    from mitsgan.data.phantom import chest_wall as CW

    monkeypatch.setattr(CW, "SUPERFICIAL_ON_DEEP", 0.0)
    runs = {}
    for swap in (0.0, A.FAT_SWAP):
        monkeypatch.setattr(A, "FAT_SWAP", swap)
        runs[swap] = []
        for seed in (0, 1, 2):
            p, X, Y, px = _patient(seed)
            _, lab = A.render_slice(p, X, Y, p.t_carina_mm)
            runs[swap].append((~np.isin(lab, (A.AIR, A.CLOTH)), lab == A.LUNG, _fat_under_skin_mm(lab, px)))
    spread = {}
    for swap, rows in runs.items():
        spread[swap] = []
        for _, _, fat in rows:
            v = np.array([x for d, x in fat.items() if abs(d) <= 96 and np.isfinite(x)])
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            spread[swap].append((q3 - q1) / med)
    for (body0, lung0, fat0), (body1, lung1, fat1) in zip(runs[0.0], runs[A.FAT_SWAP]):
        assert (lung0 == lung1).all() and (body0 != body1).sum() < 0.01 * body0.sum()
        lopsided = [np.nanmedian([abs(f[d] - f[-d]) for d in range(30, 151, 6)]) for f in (fat0, fat1)]
        assert lopsided[1] <= lopsided[0] + 1.0  # mm: no more left-right difference than before
    assert np.median(spread[A.FAT_SWAP]) > 1.3 * np.median(spread[0.0]), spread


def _wall_layers(lab: np.ndarray, px: float) -> list[int]:
    """Fat and muscle layers (runs of at least 2 mm, the skin's excluded) from the skin in to
    the rib ring or lung, along rays from the body's centre every 10 degrees from 40 to 160
    degrees off the front, both sides."""
    out = []
    for _, ray in _rays_skin_inward(lab, px, list(range(40, 161, 10)) + list(range(-160, -39, 10)), 0.25):
        stop = np.flatnonzero(~np.isin(ray, (A.SKIN, A.FAT, A.MUSCLE)))
        ray = ray[: stop[0] if stop.size else ray.size]
        layers: list[int] = []
        for value, run in ((v, len(list(g))) for v, g in itertools.groupby(ray[ray != A.SKIN])):
            if run * 0.25 >= 2.0 and (not layers or layers[-1] != value):
                layers.append(int(value))
        out.append(len(layers))
    return out


def test_superficial_muscles_lie_on_the_deep_ones(monkeypatch):
    """Round 26: the superficial muscles (pectoralis major, latissimus) lie on the deep ones with a
    thin plane between, the subcutaneous fat outside both. Laid out in the reference fat they
    made fat | muscle | fat | muscle round the ribs: a blinded reader's "onion-skin bands", and in
    the HU images 35-56% of lateral rays crossed four or more layers (real slabs 17-31%). A/Bs
    (the back left as it was): 10 of 10, then 10 of 10 on new patients, for muscles on muscles.
    Against SUPERFICIAL_ON_DEEP 0, at the carina and 20 mm below (labels, layers of 2 mm or more):
    rays crossing four or more layers 53% -> 23% (45% -> 22% since round 36, whose scapular
    muscles fill the wall round the blades in both); the lungs do not move."""
    from mitsgan.data.phantom import chest_wall as CW

    share, lungs = {}, {}
    for sink in (0.0, CW.SUPERFICIAL_ON_DEEP):
        monkeypatch.setattr(CW, "SUPERFICIAL_ON_DEEP", sink)
        layers, lungs[sink] = [], []
        for seed in (0, 1, 2, 3):
            p, X, Y, px = _patient(seed)
            for dt in (0.0, 20.0):
                _, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt)
                layers += _wall_layers(lab, px)
                lungs[sink].append(lab == A.LUNG)
        share[sink] = float(np.mean(np.asarray(layers) >= 4))
    assert share[CW.SUPERFICIAL_ON_DEEP] < 0.3 < 0.4 < share[0.0], share
    assert all((a == b).all() for a, b in zip(lungs[0.0], lungs[CW.SUPERFICIAL_ON_DEEP]))


def _scapula_blades(monkeypatch, seed: int, dt_mm: float
                    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, float]:
    """Masks of the two scapular blades (the bone chest_wall.soft_tissue draws, seen right after
    it returns), the slice's HU and labels and its pixel size (mm), ``dt_mm`` below the carina."""
    from mitsgan.data.phantom import chest_wall as CW

    seen: dict[str, np.ndarray] = {}
    draw = CW.soft_tissue

    def spy(*args):
        out = draw(*args)
        seen["bone"] = np.isin(args[-1], (A.CORTICAL, A.TRABECULAR))  # args[-1]: the labels
        return out

    monkeypatch.setattr(CW, "soft_tissue", spy)
    p, X, Y, px = _patient(seed)
    hu, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt_mm)
    blades = []
    for side in (-1.0, 1.0):
        cl, n = ndimage.label(seen["bone"] & (X * side > 0))
        assert n >= 1
        blades.append(cl == 1 + int(np.argmax(ndimage.sum(cl > 0, cl, range(1, n + 1)))))
    return blades, hu, lab, px


def _blade_ends(blade: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fifth of a blade nearest the midline (its medial border) and the fifth farthest out."""
    ax = np.abs(np.broadcast_to(X, blade.shape))
    lo, hi = ax[blade].min(), ax[blade].max()
    return blade & (ax < lo + 0.2 * (hi - lo)), blade & (ax > hi - 0.2 * (hi - lo))


@pytest.mark.parametrize("seed", range(4))
def test_scapula_is_a_straight_blade_off_the_cage_laterally(seed, monkeypatch):
    """An axial slice cuts the scapula as a nearly straight bar: the flat blade rests on the curved
    cage at its medial border and stands off it laterally, where its thickest part, the lateral
    (axillary) border, lies in the shoulder muscles with the subscapularis filling the wedge
    between (LIDC-IDRI-0001, -0002, -0003). Round 18 tilted a blade that followed the ribs' curve
    through the muscles (15 of 15 against one drawn at one depth, "one more arc round the ribs");
    round 36 made it straight and kept its lateral end off the skin (15 of 15 against round 18's,
    whose lateral end came up under the skin). Here, 20 mm above the carina: the lateral end lies
    at least 6 mm farther from the lung than the medial one (round 18's blade: -4.6 to 4.6 mm on
    seeds 0-3; this one 6.9-9.1) and more than 12 mm under the skin (round 18's: down to 9.9);
    the lateral border is the thickest part and its end is rounded (a radial cut read as "squared
    off, like a clipping edge"); the wedge between blade and cage is muscle; the marrow is as
    fatty as the ribs'."""
    p, X, Y, _ = _patient(seed)
    blades, hu, lab, px = _scapula_blades(monkeypatch, seed, -20.0)
    to_lung = ndimage.distance_transform_edt(lab != A.LUNG) * px
    to_air = ndimage.distance_transform_edt(lab != A.AIR) * px
    ax = np.abs(np.broadcast_to(X, lab.shape))
    for blade in blades:
        medial, lateral = _blade_ends(blade, X)
        half = ndimage.distance_transform_edt(blade) * px  # ~ half-thickness where it peaks
        assert half[lateral].max() > 2.0 * half[medial].max()
        tip = blade & (ax > ax[blade].max() - 1.5)  # the last 1.5 mm out: the rounded end
        assert half[tip].max() < 0.6 * half[lateral].max()
        marrow = hu[blade & (lab == A.TRABECULAR)]
        assert marrow.size and np.allclose(marrow, p.trabecular_hu - A.RIB_MARROW_DROP_HU)
        assert to_lung[lateral].min() > to_lung[medial].min() + 6.0
        assert to_air[lateral].min() > 12.0
        # The wedge: pixels on the segment from each lateral-half blade pixel toward the body
        # centre, out of the ribs and the lung, are muscle.
        yy, xx = np.nonzero(blade & (ax > np.median(ax[blade])))
        wedge = []
        for f in np.linspace(0.75, 0.97, 12):
            ky = np.clip(np.round((Y[yy, 0] * f - Y[0, 0]) / px).astype(int), 0, lab.shape[0] - 1)
            kx = np.clip(np.round((X[0, xx] * f - X[0, 0]) / px).astype(int), 0, lab.shape[1] - 1)
            wedge.append(lab[ky, kx])
        wedge = np.concatenate(wedge)
        soft = wedge[np.isin(wedge, (A.MUSCLE, A.FAT))]
        assert np.mean(soft == A.MUSCLE) > 0.9


def test_scapula_shows_its_spine_above_the_carina(monkeypatch):
    """Round 26: from about 25 mm above the carina real slices cut the scapula as a Y: the blade,
    and its spine running back from the blade's middle under the trapezius, ending in a knob. A
    single plate there read as "a plain, featureless blade" (blinded A/Bs: 10 of 10 for the
    spine). Against the same slices without it: 35 mm above the carina a blade gains bone that
    stays under the skin and runs back, in 6 of the 8 blades of seeds 0-3 a bar and knob that
    reach at least 8 mm back from the blade (one blade lies too near the skin for a knob; since
    round 32, with half the scapular muscles on the cage, another for more than a 5 mm stub);
    10 mm above the carina nothing changes."""
    from mitsgan.data.phantom import chest_wall as CW

    drawn = full = 0
    for seed in range(4):
        with monkeypatch.context() as mp:
            p, X, Y, _ = _patient(seed)
            low, _, _, _ = _scapula_blades(mp, seed, -10.0)
            high, _, lab, px = _scapula_blades(mp, seed, -35.0)
            mp.setattr(CW, "SCAPULA_SPINE_MM", (1000.0, *CW.SCAPULA_SPINE_MM[1:]))
            low0, _, _, _ = _scapula_blades(mp, seed, -10.0)
            high0, _, _, _ = _scapula_blades(mp, seed, -35.0)
        assert all((a == b).all() for a, b in zip(low, low0))
        to_air = ndimage.distance_transform_edt(lab != A.AIR) * px
        y = np.broadcast_to(Y, lab.shape)
        for blade, plate in zip(high, high0):
            spine = blade & ~plate
            if not spine.any():
                continue
            drawn += 1
            from_plate = ndimage.distance_transform_edt(~plate) * px
            full += spine.sum() * px * px > 30.0 and from_plate[spine].max() >= 8.0  # a bar and its knob
            assert to_air[spine].min() >= p.skin_mm + 2.0 - px  # within a pixel (depth_skin is not the EDT)
            assert y[spine].mean() > y[plate].mean()  # it runs back, toward the couch
    assert drawn >= 7 and full >= 6, (drawn, full)


def test_lobar_trunks_leave_the_hilum_thick_with_their_bronchi(monkeypatch):
    """Round 18: the lobar trunks start at LOBAR_HILAR_SCALE (2x) their lobe's calibre and taper
    back to it along their course; nothing else in the tree changes. Their bronchi (paired_airways)
    follow: at the hilum the lobar bronchi are there and several mm across, where at the lobe's
    own calibre the hila showed arteries with no bronchi beside them."""
    from mitsgan.data.phantom import trees as T

    root = np.array([-50.0, 0.0, 100.0])
    targets = _one_lung_targets(T.VESSEL_TARGETS)
    thick, scale = T.segmental_tree(root, targets, np.random.default_rng(1)), T.LOBAR_HILAR_SCALE
    assert scale >= 1.5
    monkeypatch.setattr(T, "LOBAR_HILAR_SCALE", 1.0)
    plain = T.segmental_tree(root, targets, np.random.default_rng(1))
    assert np.array_equal(thick.start, plain.start) and np.array_equal(thick.end, plain.end)
    ratio = thick.radius_mm / plain.radius_mm
    from_root = np.all(np.isclose(thick.start, root), axis=1)
    scaled = ratio > 1.0 + 1e-9
    assert np.any(from_root & scaled) and np.allclose(ratio[from_root & scaled], scale)
    assert np.all(ratio <= scale + 1e-9) and np.mean(scaled) < 0.01  # only the trunks
    assert np.all(thick.r_end <= thick.radius_mm + 1e-9)  # each piece tapers
    bronchi = [T.paired_airways(t, -1.0) for t in (thick, plain)]
    big = [b.radius_mm[np.linalg.norm(b.start - root, axis=1) < 20.0].max(initial=0.0) for b in bronchi]
    assert big[0] > 4.0 and big[0] > 1.5 * big[1]


def test_the_front_of_the_chest_comes_back_toward_the_trachea_above_the_carina():
    """The thorax is a cone: above the carina the sternum and the front of the lungs come back
    toward the trachea (in the real scans the skin in front of the trachea 0.6-1.0 mm per mm up;
    LIDC-IDRI-0002's sternum lies 45-70 mm in front of it 30-40 mm above the carina). Round 23:
    as deep there as at the heart (sternum 62-83 mm in front of the trachea, seeds 0-5), the upper
    mediastinum was "a tall triangular column from sternum to spine", a first-glance reader's first
    cue. 40 mm above the carina the sternum's back now lies 32-53 mm in front of the trachea (at
    least 20 mm closer than 15 mm below it; 28-60 allowed), and the great vessels moved back with
    it: none runs into the sternum (>= 2 mm of tissue between: the left brachiocephalic vein lies right
    behind the manubrium; since round 40 it ends further in, behind the manubrium's right edge, and in
    seed 1, squeezed there by the brachiocephalic trunk, it runs 2.0 mm behind it; 4.3-20.7 mm before)."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        depth = {}
        for dt in (15.0, -40.0):
            _, lab = A.render_slice(p, X, Y, p.t_carina_mm + dt)
            sternum = np.isin(lab, (A.CORTICAL, A.TRABECULAR)) & (np.abs(X) < 8.0) & (Y < p.y_trachea_mm - 10.0)
            depth[dt] = p.y_trachea_mm - float(np.broadcast_to(Y, lab.shape)[sternum].max())
            to_sternum = ndimage.distance_transform_edt(~sternum) * px
            comps, n = ndimage.label(lab == A.VESSEL)
            areas = ndimage.sum_labels(np.ones_like(comps), comps, np.arange(1, n + 1)) * px * px
            great = np.isin(comps, 1 + np.flatnonzero(areas >= 20.0))  # not the small veins in the wall
            assert to_sternum[great].min() >= 2.0, (seed, dt)
        assert 28.0 <= depth[-40.0] <= 60.0, (seed, depth)
        assert depth[15.0] - depth[-40.0] >= 20.0, (seed, depth)


def test_enhanced_great_vessels_are_as_bright_as_the_real_slabs_and_the_organs_stay_below():
    """Round 24: the real enhanced slabs' great vessels have medians of 250-450 HU (LIDC-IDRI-0001,
    -0003); the phantoms' blood was 150-300 HU, grainy at the top of the lung window. Now an
    enhanced phantom's aorta is 240-420 HU at the carina, a plain one's ~40, and the heart's wall
    keeps its old ceiling (~151 HU: a bright blood pool is an early scan, the wall not yet full)."""
    seen = set()
    for seed in range(40):
        p, X, Y, _ = _patient(seed)
        enhanced = p.contrast_hu > 0
        hu, lab = A.render_slice(p, X, Y, p.t_carina_mm)
        aorta = np.median(hu[lab == A.VESSEL])
        if enhanced:
            assert 240.0 <= aorta <= 425.0, (seed, aorta)
        else:
            assert 30.0 <= aorta <= 50.0, (seed, aorta)
        t_heart = p.heart_center[2]
        hu, lab = A.render_slice(p, X, Y, t_heart)
        heart = hu[lab == A.HEART]  # the blood pool inside (blood - 4 HU), the wall round it
        if heart.size:
            assert heart.min() <= 47.0 + 0.4 * A.CONTRAST_ORGAN_MAX_HU + 0.5, (seed, heart.min())
        seen.add(enhanced)
        if len(seen) == 2 and seed >= 8:
            break
    assert seen == {True, False}


@pytest.mark.parametrize("seed", [0, 1])
def test_a_thick_slice_shows_a_disc_only_where_it_lies_wholly_in_it(seed):
    """A 2.5 mm slice whose middle lies within a disc but within 0.7 of its thickness of an end
    plate also holds bone, and reads as the vertebral body (real 2.5-5 mm slabs show bone at nearly every level);
    one wholly inside the disc shows the disc. Round 28: drawn from the slice's middle alone, 17%
    of slices cut a bare grey disc ("no vertebral body, only soft tissue", a first-glance cue in
    two rounds); blinded A/Bs preferred the bone 8 of 8, then 7 of 7 on new patients, and 7 of 7
    again for the wider edge (DISC_EDGE_SLICES 0.4 -> 0.7)."""
    p, X, Y, _ = _patient(seed)
    X, Y = X[:, ::4], Y[::4]  # the vertebral body is ~30 mm across: 2.8 mm pixels do
    disc_mm = A.DISC_SHARE_OF_PITCH * p.vert_pitch_mm
    t0 = p.vert_phase_mm + np.ceil((p.t_carina_mm - p.vert_phase_mm) / p.vert_pitch_mm) * p.vert_pitch_mm
    row = int(np.argmin(np.abs(Y[:, 0] - p.y_vert_mm)))
    mid = int(np.argmin(np.abs(X[0])))

    def body(into_disc_mm: float, slice_mm: float) -> int:
        return int(A.render_slice(p, X, Y, t0 + into_disc_mm, slice_mm)[1][row, mid])

    assert body(0.6, 0.0) == A.DISC  # a plane through the disc
    assert body(0.6, 2.5) == A.TRABECULAR and body(disc_mm - 0.6, 2.5) == A.TRABECULAR
    assert body(0.5 * disc_mm, 2.5) == A.DISC
    ts = t0 + np.arange(0.0, p.vert_pitch_mm, 0.25)
    share = np.mean([A.render_slice(p, X, Y, t, 2.5)[1][row, mid] == A.DISC for t in ts])
    assert 0.01 <= share <= 0.06, share  # 0.17 before


def test_lymph_nodes_lie_in_the_mediastinal_fat_at_their_stations(monkeypatch):
    """Every patient has a few mediastinal lymph nodes (round 30: a regional first-glance reader's
    first cue was "flat, featureless mediastinal fat ... no small lymph nodes"): 3-10 soft-tissue
    ovals 3-12 mm across, each near its station beside the trachea or below the carina, drawn only
    over mediastinal fat (never over a vessel, an airway or the lung), whole where the slice cuts
    it mostly in fat, and nothing else in the slice changes."""
    from mitsgan.data.phantom import lymph_nodes as LN

    monkeypatch.setattr(LN, "LYMPH_NODES", 1)
    monkeypatch.setattr(A, "EDGE_ANTI_ALIAS", False)  # else a node's edge blends into the lung beside it
    stations = {name: (xr, yr, tr) for name, xr, yr, tr, _, _ in LN.STATIONS}
    slack = LN.STATION_SLACK_MM
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        nodes = p.lymph_nodes.nodes
        assert 3 <= len(nodes) <= 10, (seed, len(nodes))
        for x, y, t, a, b, c, _ in nodes:
            assert 1.5 <= a <= b <= 9.0 and c >= a, (seed, a, b, c)
            dx, dy, dt = x, y - p.y_trachea_mm, t - p.t_carina_mm
            assert any(xr[0] - slack <= dx <= xr[1] + slack and yr[0] - slack <= dy <= yr[1] + slack
                       and tr[0] <= dt <= tr[1] for xr, yr, tr in stations.values()), (seed, dx, dy, dt)
        drawn = 0
        for x, y, t, a, b, c, _ in nodes:
            hu, lab = A.render_slice(p, X, Y, t)
            monkeypatch.setattr(LN, "LYMPH_NODES", 0)
            plain, _ = A.render_slice(p, X, Y, t)
            monkeypatch.setattr(LN, "LYMPH_NODES", 1)
            changed = hu != plain
            assert np.all(lab[changed] == A.MED_FAT), seed  # over fat only
            node_hu = LN.NODE_HU + LN.NODE_CONTRAST_SHARE * p.contrast_hu
            assert np.allclose(hu[changed], node_hu), seed
            here = changed & ((X - x) ** 2 + (Y - y) ** 2 < (b + px) ** 2)
            if here.any():
                drawn += 1
                area = here.sum() * px * px
                assert LN.MIN_FAT_SHARE * 0.8 * np.pi * a * b <= area <= 1.2 * np.pi * a * b, (seed, area, a, b)
        assert drawn >= 0.6 * len(nodes), (seed, drawn, len(nodes))


def test_a_long_hull_face_sags_between_the_structures_that_hold_it_out(monkeypatch):
    """The upper mediastinum's hull fill drapes between two structures instead of joining them with
    ruled lines (round 30: "a long, ruler-straight border from the sternum to the descending
    aorta"): between two discs 60 mm apart the fill's half-width at the middle is the discs' radius
    less the inset and HULL_SAG of the face's length, and the ends keep their full width; with no
    sag the faces are straight (the old hull)."""
    px = 0.5
    c = (np.arange(-60.0, 60.0, px) + px / 2).astype(np.float32)
    X, Y = c[None, :], c[:, None]
    r, inset = 15.0, 4.0
    discs = (X ** 2 + (Y + 30.0) ** 2 < r * r) | (X ** 2 + (Y - 30.0) ** 2 < r * r)

    def half_width(filled: np.ndarray, y: float) -> float:
        row = filled[int(np.argmin(np.abs(Y[:, 0] - y)))]
        return float(np.abs(X[0][row]).max() + px / 2) if row.any() else 0.0

    drawn = M.fill_hull(discs, X, Y, inset)  # the phantom's own sag
    monkeypatch.setattr(M, "HULL_SAG", 0.0)
    straight = M.fill_hull(discs, X, Y, inset)
    assert half_width(drawn, 0.0) < half_width(straight, 0.0) - 2.0
    assert half_width(straight, 0.0) == pytest.approx(r - inset, abs=2 * px)
    monkeypatch.setattr(M, "HULL_SAG", 0.15)
    sagged = M.fill_hull(discs, X, Y, inset)
    assert half_width(sagged, 0.0) == pytest.approx(r - inset - 0.15 * 60.0, abs=2 * px)
    assert half_width(sagged, 15.0) >= half_width(sagged, 0.0) + 1.5  # a concave curve, not a line
    assert np.all(sagged >= discs) and half_width(sagged, 30.0) == pytest.approx(r, abs=px)


def test_anti_aliased_edges_move_smoothly_and_keep_each_sides_share(monkeypatch):
    """Round 31: a point-sampled edge moves in whole pixels (the trachea's and the arteries'
    "stepped", "jagged" outlines); blended by the share of each pixel each side covers, a
    shallow straight edge is a straight line to within a few hundredths of a pixel, and the
    blend neither grows nor shrinks what it outlines."""
    n = 64
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    # A half-plane edge at a shallow slope (1 pixel of rise in 7): air below, soft tissue above.
    sd = (yy - (30.2 + xx / 7.0)) / np.float32(np.hypot(1.0, 1.0 / 7.0))  # pixels, < 0 inside
    inside = sd < 0
    hu = np.where(inside, np.float32(-1000.0), np.float32(40.0))
    out = A._edge_blend(hu, inside, sd)
    air_rows = lambda h: ((40.0 - h) / 1040.0).sum(axis=0)  # noqa: E731  air per column (pixels)
    true_rows = 30.2 + np.arange(n) / 7.0 + 0.5  # the edge crosses y = 30.2 + x/7; rows 0..k hold k+1 px
    stepped, blended = air_rows(hu) - true_rows, air_rows(out) - true_rows
    assert np.abs(stepped).max() > 0.4  # whole-pixel steps
    assert np.abs(blended[2:-2]).max() < 0.08  # a straight edge
    # A disc moved by a third of a pixel: its air content stays, its centroid follows.
    for dx in (0.0, 0.33, 0.67):
        d = np.hypot(xx - 31.0 - dx, yy - 32.0) - 9.0
        disc = d < 0
        h = A._edge_blend(np.where(disc, np.float32(-1000.0), np.float32(40.0)), disc, d)
        w = (40.0 - h) / 1040.0
        assert abs(w.sum() - np.pi * 81.0) < 0.01 * np.pi * 81.0
        assert abs((w * xx).sum() / w.sum() - (31.0 + dx)) < 0.03
    # In render_slice: the trachea's lumen edge gets partial pixels; the air it holds stays.
    p, X, Y, _ = _patient(0)
    t = p.t_carina_mm - 20.0
    monkeypatch.setattr(A, "EDGE_ANTI_ALIAS", False)
    hu0, lab0 = A.render_slice(p, X, Y, t)
    monkeypatch.setattr(A, "EDGE_ANTI_ALIAS", True)
    hu1, lab1 = A.render_slice(p, X, Y, t)
    assert (lab0 == lab1).all()  # labels are untouched
    lumen = ndimage.binary_dilation(lab0 == A.AIRWAY_LUMEN, iterations=2)
    partial = lambda h: (lumen & (h > -990.0) & (h < -200.0)).sum()  # noqa: E731
    assert partial(hu0) == 0 and partial(hu1) > 20
    air = lambda h: ((45.0 - np.clip(h, -1000.0, 45.0)) / 1045.0)[lumen].sum()  # noqa: E731
    assert abs(air(hu1) - air(hu0)) < 0.03 * air(hu0)
    # The lung against a great vessel's 1 mm of fat gets partial pixels too (round 31: with the
    # mediastinal outline left alone within 2 mm of a tube, this edge kept its staircase).
    t = p.t_carina_mm + 15.0
    for flag, share in ((False, (0.0, 0.1)), (True, (0.3, 1.0))):
        monkeypatch.setattr(A, "EDGE_ANTI_ALIAS", flag)
        hu, lab = A.render_slice(p, X, Y, t)
        lung = lab == A.LUNG
        edge = lung & ndimage.binary_dilation(lab == A.MED_FAT) & ndimage.binary_dilation(lab == A.VESSEL, iterations=3)
        partial = edge & (hu > np.median(hu[lung]) + 150.0)
        assert edge.sum() > 50 and share[0] <= partial.sum() / edge.sum() <= share[1], (flag, partial.sum(), edge.sum())


def _surface_gap_mm(a: A.Tube, b: A.Tube, n: int = 120) -> float:
    """Closest approach of two tubes' surfaces in 3-D (mm; negative: they overlap by that much)."""
    s = np.linspace(0.0, 1.0, n)[:, None]
    pa = np.asarray(a.a) + s * (np.asarray(a.b) - np.asarray(a.a))
    pb = np.asarray(b.a) + s * (np.asarray(b.b) - np.asarray(b.a))
    return float(np.linalg.norm(pa[:, None] - pb[None], axis=2).min()) - a.radius_mm - b.radius_mm


def test_the_svc_above_the_arch_lies_beside_the_trachea():
    """35 mm above the carina the SVC lies 15-24 mm right of the trachea's axis (real: 12-22 mm,
    LIDC-IDRI-0002, lung1), no thicker than 8.5 mm in radius (real 6-9), right of the brachiocephalic
    trunk with at least 1.5 mm between them, and it joins the left brachiocephalic vein there. Round
    40: it stood 31-32 mm out, 8-10.5 mm in radius, "an enlarged round knob pushing into the lung".
    Below the azygos arch it is where it was. It fails with anatomy.SVC_UPPER_GAP_MM = None."""
    for seed in SEEDS:
        p = chest_params(seed)
        t = p.t_carina_mm - 35.0
        svc = next(tb for tb in p.tubes if tb.chain == "svc" and min(tb.a[2], tb.b[2]) <= t <= max(tb.a[2], tb.b[2]))
        trachea = next(tb for tb in p.tubes if A._is_trachea(tb))
        x, y = M.axis_point(svc, t)
        assert 15.0 <= M.axis_point(trachea, t)[0] - x <= 24.0, seed
        assert svc.radius_mm <= 8.5, seed
        trunk = [tb for tb in p.tubes if tb.group == "aorta" and min(tb.a[2], tb.b[2]) <= t <= max(tb.a[2], tb.b[2])
                 and tb.b[2] < tb.a[2] and tb.radius_mm >= 5.5]
        bx, by = M.axis_point(trunk[0], t)
        assert np.hypot(bx - x, by - y) - svc.radius_mm - trunk[0].radius_mm >= 1.5, seed
        # The left brachiocephalic vein's last piece ends on it, above the level measured.
        assert any(abs(tb.b[0] - svc.a[0] - 2.0) < 1e-6 and tb.b[2] < t for tb in p.tubes
                   if tb.group == "svc" and not tb.chain), seed
        low = next(tb for tb in p.tubes if tb.chain == "svc" and min(tb.a[2], tb.b[2]) <= p.t_carina_mm - 10.0
                   <= max(tb.a[2], tb.b[2]))
        assert M.axis_point(trachea, p.t_carina_mm - 10.0)[0] - M.axis_point(low, p.t_carina_mm - 10.0)[0] >= 24.0, seed


def test_the_right_pulmonary_artery_passes_behind_the_svc():
    """Below the carina the right PA runs behind the SVC, the SVC in the crook between it and the
    ascending aorta (LIDC-IDRI-0003, 12-22 mm below the carina: SVC 12-15 mm deep, right PA 13-15 mm,
    a ~2 mm fat plane between them). Round 39: the SVC ran straight down through the right PA (their
    surfaces overlapping by 4.6-19.3 mm, seeds 0-39), and the fat planes between the two cut the
    right PA into pieces on the slices near its edges ("sausage links" to a first-glance reader). Now
    it comes forward below the carina (right, then thinner, where the aorta leaves no room), clear of
    the right PA (which is thinner too: 7-8.5 mm in radius, was 9.5-11), and where it passes the right
    PA clear of the ascending aorta. It fails with anatomy.SVC_CLEAR_OF_RIGHT_PA_MM = None."""
    for seed in SEEDS:
        p = chest_params(seed)
        svc = [tb for tb in p.tubes if tb.group == "svc" and tb.radius_mm >= 6.0
               and max(tb.a[2], tb.b[2]) > p.t_carina_mm]
        outer = next(tb for tb in p.tubes if tb.group == "pa" and tb.b == p.hila["right_artery"])
        inner = next(tb for tb in p.tubes if tb.group == "pa" and tb.b == outer.a)
        assert svc and 7.0 <= inner.radius_mm <= 8.5, seed  # 14-17 mm across (9.5-11 before)
        assert min(_surface_gap_mm(v, r) for v in svc for r in (inner, outer)) > 0.0, seed  # 0.6-3.0 mm
        low = [v for v in svc if min(v.a[2], v.b[2]) > p.t_carina_mm]  # where it passes the right PA
        assert low and min(_surface_gap_mm(v, p.tubes[0]) for v in low) > 0.0, seed


def test_leaf_twigs_run_on_past_their_farthest_target(monkeypatch):
    """Round 42: a twig ending on its territory's farthest target left the lung "pruned", bare
    zones between short twigs; it now runs LEAF_TWIG_REACH (1.4) times that far, in the same
    direction, from the same start (nothing else in the tree moves)."""
    from mitsgan.data.phantom import trees as T
    from mitsgan.data.phantom import vessels as V

    root = np.array([-50.0, 0.0, 100.0])
    targets = _one_lung_targets(3000)

    def grown(reach: float):
        monkeypatch.setattr(V, "LEAF_TWIG_REACH", reach)
        return V.grow_tree(root, targets, T.VESSEL_UNIT_MM, np.random.default_rng(1),
                           murray_exponent=T.VESSEL_EXPONENT, terminal_radius_mm=T.VESSEL_FLOOR_MM,
                           leaf_targets=T.VESSEL_LEAF_TARGETS)

    reach = V.LEAF_TWIG_REACH
    assert reach >= 1.3
    on_target, now = grown(1.0), grown(reach)
    twig = np.isclose(now.r_end, V.LEAF_FADE * T.VESSEL_FLOOR_MM)
    assert twig.sum() > 0.3 * len(twig)
    assert np.array_equal(now.start, on_target.start) and np.array_equal(now.radius_mm, on_target.radius_mm)
    assert np.array_equal(now.end[~twig], on_target.end[~twig])
    assert np.allclose(now.end[twig] - now.start[twig], reach * (on_target.end[twig] - on_target.start[twig]))
    # Without the reach every twig ends on a target (up to the t-stretch's round trip).
    gap = np.linalg.norm(on_target.end[twig][:, None, :] - targets[None, :, :], axis=2).min(axis=1)
    assert gap.max() < 1e-6


def test_the_arch_and_spinous_process_are_solid_bone_the_vertebral_body_keeps_its_marrow():
    """Round 47: the posterior elements (pedicles, laminae, spinous, transverse and articular processes)
    are cortex through and through (anatomy.POSTERIOR_CORTEX_MM None); with marrow inside the wider bars
    they showed grey cores in lung window, "hollow, ring-like" or "pitted" to blinded readers, who
    preferred them solid. Behind the canal within 8 mm of the midline (the laminae and the spinous
    process; the ribs' marrow lies further out), at every phase of a vertebra: bone, none of it marrow;
    the vertebral body still has marrow."""
    for seed in SEEDS:
        p, X, Y, px = _patient(seed)
        k = round((p.t_carina_mm - p.vert_phase_mm) / p.vert_pitch_mm)  # the vertebra at the carina
        for phase in np.linspace(0.0, 0.95, 8):
            _, lab = A.render_slice(p, X, Y, p.vert_phase_mm + (k + phase) * p.vert_pitch_mm)
            behind = (np.abs(X) < 8.0) & (Y > p.y_canal_mm + 4.0) & (Y < p.y_canal_mm + 45.0)
            assert (lab[behind] == A.CORTICAL).sum() * px * px > 15.0, (seed, phase)
            assert not (lab[behind] == A.TRABECULAR).any(), (seed, phase)
            body = (np.abs(X) < 8.0) & (np.abs(Y - p.y_vert_mm) < 6.0)
            if phase > 0.25:  # off the discs
                assert (lab[body] == A.TRABECULAR).mean() > 0.5, (seed, phase)


def test_airways_are_drawn_by_the_share_of_each_voxel_their_wall_and_air_fill():
    """A voxel a bronchus fills in part holds lung, wall and air by their volume shares: a thin-walled
    bronchus grazing the slice stays near the lung's HU instead of a grey tube brighter than the lung."""
    from mitsgan.data.phantom.generate import AIRWAY_AIR_HU, AIRWAY_WALL_HU, draw_airways

    rng = np.random.default_rng(0)
    hu = rng.uniform(-900.0, -800.0, 1000).astype(np.float32)
    outer = rng.uniform(0.0, 1.0, 1000).astype(np.float32)
    lumen = outer * rng.uniform(0.0, 1.0, 1000).astype(np.float32)
    expected = (1 - outer) * hu + (outer - lumen) * AIRWAY_WALL_HU + lumen * AIRWAY_AIR_HU
    got = hu.copy()
    draw_airways(got, lumen, outer)
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # Half the voxel is bronchus, 0.4 of it air and 0.1 wall: -425 + 4 - 400 (drawn one over the other: -643).
    one = np.array([-850.0], dtype=np.float32)
    draw_airways(one, np.array([0.4], np.float32), np.array([0.5], np.float32))
    assert one[0] == pytest.approx(-821.0)
    full = np.array([-850.0, -850.0, -850.0], dtype=np.float32)
    draw_airways(full, np.array([1.0, 0.0, 0.0], np.float32), np.array([1.0, 1.0, 0.0], np.float32))
    np.testing.assert_allclose(full, [AIRWAY_AIR_HU, AIRWAY_WALL_HU, -850.0])
