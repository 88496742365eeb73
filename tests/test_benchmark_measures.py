"""The benchmarks' measures count what they say: on a drawn slice with a known number of dots
and lines in two lungs, ``vessel_pieces`` finds them by size and length, per 100 cm2 of lung, and
leaves out what touches only the lung's edge; ``crop_brightness`` reads the share of the first-glance
lung crop that vessels of each contrast cover; ``subcutaneous_fat`` reads a drawn fat layer's
thickness and spread; ``phantom_ab.measure`` reports each version of an A/B with its own
constants, ``make`` shows each comparison both ways round and ``score`` counts it only when both
answers agree; the reader's PNGs show each slice pixel for pixel; the regional first-glance crops
cut one region at one mm scale."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _bench_module(name: str):
    """Import ``benchmarks/NAME.py`` (not a package) with the benchmarks folder on the path."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def realism():
    return _bench_module("phantom_realism")


def _chest(px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 300 x 200 mm body (0 HU) with two 100 x 140 mm lungs (-870 HU); X, Y in mm."""
    n = int(400 / px)
    c = (np.arange(n) - n / 2) * px
    X, Y = c[None, :], c[:, None]
    hu = np.full((n, n), -1000.0, np.float32)
    hu[(X / 150) ** 2 + (Y / 100) ** 2 < 1] = 0.0
    for sx in (-1, 1):
        hu[((X - sx * 60) / 50) ** 2 + (Y / 70) ** 2 < 1] = -870.0
    return hu, X, Y


PER_PIECE = 100.0 / (2 * np.pi * 50 * 70 / 100.0)  # one piece in _chest's lungs, per 100 cm2


def test_vessel_pieces_counts_dots_and_lines_per_area(realism):
    px = 0.7
    hu, X, Y = _chest(px)
    # 6 dots of 1.6 mm diameter (2 mm2: small), 4 of 3 mm (7 mm2: mid), all well inside a lung.
    for x, y, r in [(-70, -30, 0.8), (-70, 0, 0.8), (-70, 30, 0.8), (50, -30, 0.8), (50, 0, 0.8),
                    (50, 30, 0.8), (-45, -40, 1.5), (-45, 40, 1.5), (75, -40, 1.5), (75, 40, 1.5)]:
        hu[(X - x) ** 2 + (Y - y) ** 2 < r * r] = 40.0
    # 2 lines 40 mm long, 1.4 mm wide (large and long), one per lung.
    for x0 in (-80, 40):
        hu[(np.abs(Y + 55) < 0.7) & (X > x0) & (X < x0 + 40)] = 40.0
    # A dot that touches the pleura only: left out.
    hu[(X - 10) ** 2 + (Y - 0) ** 2 < 1.0] = 40.0
    v = realism.vessel_pieces(hu, px)
    per = PER_PIECE
    assert v["small"] == pytest.approx(6 * per, rel=0.02)
    assert v["mid"] == pytest.approx(4 * per, rel=0.02)
    assert v["large"] == pytest.approx(2 * per, rel=0.02)
    assert v["long"] == pytest.approx(2 * per, rel=0.02)
    # Same picture at a finer pixel: the same counts (the measure is in mm, not pixels).
    hu2, X2, Y2 = _chest(0.5)
    hu2[(X2 + 70) ** 2 + Y2 ** 2 < 0.8 ** 2] = 40.0
    assert realism.vessel_pieces(hu2, 0.5)["small"] == pytest.approx(per, rel=0.02)


def test_crop_brightness_reads_the_share_of_the_lung_crop_each_vessel_contrast_covers(realism, monkeypatch):
    """Bright dots (+910 HU over the lung) and faint ones (+200 HU) each cover a known share of the
    lung: over +150 both count, over +300 and +500 only the bright; the same at two pixel sizes."""
    monkeypatch.syspath_prepend(str(BENCH))  # the crop comes from blinded_pairs, beside it
    for px in (0.5, 0.8):
        hu, X, Y = _chest(px)
        lung = hu == -870.0
        gx, gy = np.mod(X, 16.0), np.mod(Y, 16.0)  # 2.5 mm discs: a few pixels' edge is a small part
        bright = ((gx - 8) ** 2 + (gy - 8) ** 2 < 2.5 ** 2) & lung
        faint = (np.minimum(gx, 16.0 - gx) ** 2 + (gy - 8) ** 2 < 2.5 ** 2) & lung
        hu[bright], hu[faint] = 40.0, -670.0
        share_bright = bright.sum() / lung.sum() * 100
        share_faint = faint.sum() / lung.sum() * 100
        c = realism.crop_brightness(hu, px)
        assert c["over_500"] == pytest.approx(share_bright, rel=0.15)
        assert c["over_300"] == pytest.approx(share_bright, rel=0.15)
        assert c["over_150"] == pytest.approx(share_bright + share_faint, rel=0.15)
    hu, _, _ = _chest(0.7)
    hu[hu == -870.0] = 0.0  # no lungs: nothing to place the crop by
    assert realism.crop_brightness(hu, 0.7) is None


def test_level_groups_average_to_five_mm_runs_by_height_below_the_carina(realism):
    """2.5 mm slices go in pairs, 5 mm ones alone, 1.25 mm ones in fours; a run's band is its middle's
    height below the carina (lower indices lie further down), and runs outside every band are dropped."""
    pairs = realism.level_groups(40, 2.5, carina_index=20.0)
    assert all(len(run) == 2 for runs in pairs.values() for run in runs)
    # slices 20-21: middle 20.5, 1.25 mm above the carina; 0-1: 48.75 mm below; 38-39: 46.25 above
    assert [20, 21] in pairs[(-10.0, 15.0)]
    assert [0, 1] in pairs[(40.0, 65.0)]
    assert [38, 39] in pairs[(-60.0, -35.0)]
    fives = realism.level_groups(48, 5.0, carina_index=23.5)
    assert fives[(-85.0, -60.0)] == [[36], [37], [38], [39], [40]]  # 62.5-82.5 mm above
    fours = realism.level_groups(12, 1.25, carina_index=-22.4)
    # middles 1.5, 5.5, 9.5: 29.9, 34.9 and 39.9 mm above
    assert fours == {(-35.0, -10.0): [[0, 1, 2, 3], [4, 5, 6, 7]], (-60.0, -35.0): [[8, 9, 10, 11]]}
    assert sum(len(r) for r in realism.level_groups(200, 2.5, 100.0).values()) < 200  # beyond +-85 mm dropped


def test_lung_texture_counts_specks_over_the_local_median_away_from_vessels(realism):
    """Single-pixel specks 100 HU over a flat lung, on every 10th pixel of every 10th row: 1% of
    the lung, read as 1% (a 7x7 median ignores them); a vessel and the 2 pixels round it left out,
    and a smooth lung reads none and no spread."""
    px = 0.7
    hu, X, Y = _chest(px)
    t = realism.lung_texture(hu, px)
    assert t["speck_percent"] == 0.0 and t["fine_sd_hu"] == 0.0
    lung = hu == -870.0
    grid = np.zeros_like(lung)
    grid[::10, ::10] = True
    hu[lung & grid] += 100.0
    hu[(X + 60) ** 2 + Y ** 2 < 4.0] = 40.0  # a vessel: it and its rim are not parenchyma
    t = realism.lung_texture(hu, px)
    assert t["speck_percent"] == pytest.approx(1.0, abs=0.1)
    assert realism.mean_lung_texture(hu[None], px)["slices"] == 1


def test_lung_geometry_measures_the_side_wall_in_mm(realism):
    """_chest's body is 150 mm to each side, its lungs reach 110 mm: a 40 mm side wall, at any pixel
    size; lungs cut back to 100 mm read a 50 mm wall."""
    for px in (0.7, 0.5):
        hu, X, Y = _chest(px)
        assert realism.lung_geometry(hu, px)["side_wall_mm"] == pytest.approx(40.0, abs=1.0)
    hu, X, Y = _chest(0.7)
    hu[(hu == -870.0) & (np.abs(np.broadcast_to(X, hu.shape)) > 100)] = 0.0  # lungs end at 100 mm
    assert realism.lung_geometry(hu, 0.7)["side_wall_mm"] == pytest.approx(50.0, abs=1.0)
    assert "side_wall_mm" not in realism.lung_geometry(hu)  # only when told the pixel size


def test_vessel_pieces_needs_two_lungs(realism):
    hu, X, Y = _chest(0.7)
    hu[(hu < -400) & np.broadcast_to(X > 0, hu.shape) & (hu > -950)] = 0.0  # the left lung filled in
    assert realism.vessel_pieces(hu, 0.7) is None
    assert realism.mean_vessel_pieces([(hu, 0.7)]) == {}


def _fake_generate(px: float = 0.7):
    """A generator drawing one 1.6 mm dot per lung for each of trees.HILAR_BRANCHES (read at call
    time, so a variant of that constant changes the scan)."""
    from mitsgan.data.phantom import trees
    from mitsgan.io.scan import Scan

    def generate(seed: int):
        hu, X, Y = _chest(px)
        for k in range(trees.HILAR_BRANCHES):  # 1.6 mm dots ("small"), 8 mm apart, in both lungs
            for sx in (-1, 1):
                hu[(X - sx * 60) ** 2 + (Y - 8.0 * k + 40.0) ** 2 < 0.8 ** 2] = 40.0
        return SimpleNamespace(scan=Scan(hu=np.repeat(hu[None], 6, axis=0), spacing_zyx=(2.5, px, px),
                                         origin_xyz=(0.0, 0.0, 0.0)))

    return generate


def test_ab_make_shows_each_comparison_both_ways_and_score_needs_both(tmp_path, monkeypatch):
    """Each comparison appears twice, once with the variant on each side; ``score`` counts it only
    when both answers name the same version, so a reader answering "A" throughout wins nothing.
    One way (``both_ways=False``): the variant sits left in exactly half the sets whatever the
    seed (45 drew "left" ten times running, coin by coin)."""
    from mitsgan.data.phantom import trees

    ab = _bench_module("phantom_ab")
    monkeypatch.setattr(ab, "SHARED", tmp_path / "no-shared")  # no reference slices needed
    monkeypatch.setattr(trees, "HILAR_BRANCHES", 3)
    variant = ab.parse_variant(["trees.HILAR_BRANCHES=6"])
    out = tmp_path / "both"
    ab.make(out, variant, [0, 1, 2], [0.0, 10.0], 45, pinned=False, generate=_fake_generate())
    sets = json.loads((out / ".key.json").read_text())["sets"]
    assert len(sets) == 12 and all(v["changed_pixels"] > 0 for v in sets.values())
    by_comparison: dict = {}
    for name, v in sets.items():
        by_comparison.setdefault(v["comparison"], []).append(v["variant"])
    assert len(by_comparison) == 6 and all(sorted(v) == ["A", "B"] for v in by_comparison.values())

    def answer(pick) -> dict:
        prefs = {name: {"more_real": pick(v), "confidence": 0.8} for name, v in sets.items()}
        (out / "preference.json").write_text(json.dumps(prefs))
        return ab.score(out)

    assert answer(lambda v: "A") == {"won": 0, "lost": 0, "p": 1.0, "inconsistent": 6}
    assert answer(lambda v: v["variant"])["won"] == 6
    assert answer(lambda v: "B" if v["variant"] == "A" else "A")["lost"] == 6
    for seed in (45, 46):
        one = tmp_path / f"one{seed}"
        ab.make(one, variant, [0, 1, 2, 3, 4], [0.0, 10.0], seed, pinned=False, generate=_fake_generate(),
                both_ways=False)
        sets = json.loads((one / ".key.json").read_text())["sets"]
        assert len(sets) == 10 and sum(v["variant"] == "A" for v in sets.values()) == 5


def test_ab_make_can_show_the_sets_in_mediastinal_window(tmp_path, monkeypatch):
    """``window="mediastinal"`` draws the sets in (-160, 240) HU, for changes that lung window shows
    as flat white: soft tissue (0 HU) mid-grey and lung black, where lung window shows them near
    white and dark grey. The key records the window."""
    from PIL import Image

    from mitsgan.data.phantom import trees

    ab = _bench_module("phantom_ab")
    monkeypatch.setattr(ab, "SHARED", tmp_path / "no-shared")
    monkeypatch.setattr(trees, "HILAR_BRANCHES", 3)
    variant = ab.parse_variant(["trees.HILAR_BRANCHES=6"])
    px = 0.7
    n = int(400 / px)
    for window, (body, lung) in {"lung": (1350 / 1500, 480 / 1500), "mediastinal": (160 / 400, 0.0)}.items():
        out = tmp_path / window
        ab.make(out, variant, [0], [0.0], 45, pinned=False, generate=_fake_generate(px), window=window)
        assert json.loads((out / ".key.json").read_text())["window"] == window
        panel = np.asarray(Image.open(out / "set_00.png").convert("L")).astype(int)[-n:, :n]
        assert abs(panel[n // 2, n // 2] - 255 * body) <= 1  # X = 0: the body between the lungs
        assert abs(panel[n // 2, n // 2 - int(75 / px)] - 255 * lung) <= 1  # X = -75 mm: lung


def test_ab_make_with_a_region_cuts_both_versions_where_the_baseline_places_it(tmp_path, monkeypatch):
    """``region``: each set shows that region's square of both versions, cut at the place found on
    the baseline's slice (a change that moved the lungs must not move the square); a level whose
    baseline shows no two lungs is left out. The key records the region."""
    from PIL import Image

    from mitsgan.data.phantom import trees

    ab = _bench_module("phantom_ab")
    monkeypatch.setattr(ab, "SHARED", tmp_path / "no-shared")
    monkeypatch.setattr(trees, "HILAR_BRANCHES", 3)
    px = 0.7
    ab.make(tmp_path, ab.parse_variant(["trees.HILAR_BRANCHES=6"]), [0], [0.0], 45, pinned=False,
            generate=_fake_generate(px), region="lung")
    key = json.loads((tmp_path / ".key.json").read_text())
    assert key["region"] == "lung" and len(key["sets"]) == 2
    assert all(v["changed_pixels"] > 0 for v in key["sets"].values())  # the new dots lie in the square
    from blinded_pairs import REGION_MM, REGION_PX_PER_MM
    side = int(round(REGION_MM["lung"] * REGION_PX_PER_MM))
    assert Image.open(tmp_path / "set_00.png").size == (2 * side + 16, side + 30)

    from mitsgan.io.scan import Scan

    base, _, _ = _chest(px)
    moved = np.roll(base, 30, axis=1)  # the variant's lungs 30 pixels to the right ...
    base_scan = Scan(hu=base[None], spacing_zyx=(2.5, px, px), origin_xyz=(0.0, 0.0, 0.0))
    # ... on a grid whose origin lies 30 pixels further left: the same world place
    moved_scan = Scan(hu=moved[None], spacing_zyx=(2.5, px, px), origin_xyz=(-30 * px, 0.0, 0.0))
    cut_b, cut_c, levels = ab.cut_region([base, np.full_like(base, -1000.0)], [moved, moved], [0.0, 5.0],
                                         base_scan, moved_scan, "wall")
    assert levels == [0.0]  # the slice with no lungs is left out
    assert np.array_equal(cut_b[0], ab.region_crop(base, px, "wall"))
    assert np.allclose(cut_c[0], cut_b[0], atol=1e-3)  # the same anatomy, though 30 pixels apart
    assert not np.allclose(ab.region_crop(moved, px, "wall", ab.region_centre(base, px, "wall")), cut_b[0])
    # A coarser grid: the square still spans the same millimetres round the same place.
    coarse = Scan(hu=base[None, ::2, ::2], spacing_zyx=(2.5, 2 * px, 2 * px),
                  origin_xyz=(0.0, 0.0, 0.0))
    _, cut_coarse, _ = ab.cut_region([base], [base[::2, ::2]], [0.0], base_scan, coarse, "wall")
    assert np.mean(np.abs(cut_coarse[0] - cut_b[0]) < 1.0) > 0.95


def test_ab_reader_prompt_names_the_view_but_not_the_variant(tmp_path):
    """The fixed A/B text says what the sets show (window, region, from the key) and where the
    answers go, and never names the change under test."""
    ab = _bench_module("phantom_ab")
    key = tmp_path / ".key.json"
    key.write_text(json.dumps({"variant": {"chest_wall.SIDE_FAT_MM": 20}, "window": "mediastinal",
                               "region": "wall", "sets": {}}))
    text = ab.reader_prompt(tmp_path / "copy", key)
    assert "mediastinal window" in text and "the side of the chest wall" in text
    assert str(tmp_path / "copy" / "preference.json") in text
    assert "SIDE_FAT" not in text and "chest_wall." not in text
    assert "two axial chest CT slices" in ab.reader_prompt(tmp_path / "none")  # no key: whole slices


def test_ab_reference_slices_come_from_the_sets_levels_where_real_scans_reach_them():
    """Real slices for the A/B reader at the compared levels (round 23: carina-level references made
    a reader prefer an upper chest as deep as the heart's), one per scan that reaches a level, at
    most four; near the carina when no real scan reaches any of them."""
    ab = _bench_module("phantom_ab")
    # Each slice holds its own index, so the pick can be read back; spacings as the real scans'.
    scans = {name: SimpleNamespace(hu=np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 2, 2)),
                                   spacing_zyx=(dz, 0.7, 0.7))
             for name, n, dz in (("LIDC-IDRI-0001", 16, 2.5), ("LIDC-IDRI-0002", 12, 1.25),
                                 ("LIDC-IDRI-0003", 11, 2.5), ("lung1", 48, 5.0))}
    picked = [int(s[0, 0]) for s in ab.reference_slices(scans, [-35.0, -20.0])]
    # -35 mm: LIDC-IDRI-0002 (carina at index -22.4, 1.25 mm) slice 6 and lung1 (23.5, 5 mm) slice
    # 30 (30.5 rounds to even); -20 mm: LIDC-IDRI-0001 (7.0, 2.5 mm) slice 15 and lung1 slice 28.
    assert picked == [6, 30, 15, 28]
    assert len(ab.reference_slices(scans, [-35.0, -20.0, -10.0])) == 4
    at_carina = [int(s[0, 0]) for s in ab.reference_slices(scans, [-400.0])]
    assert at_carina == [7, 10, 24]  # LIDC-IDRI-0001, -0003 (13 clipped to its last slice), lung1


def test_ab_make_at_nodules_cuts_each_patient_through_its_largest_nodules(tmp_path, monkeypatch):
    """``at_nodules=K``: the comparisons are the slices through the centres of each patient's K
    largest nodules, the same slice in both versions."""
    from mitsgan.data.phantom import trees

    ab = _bench_module("phantom_ab")
    monkeypatch.setattr(ab, "SHARED", tmp_path / "no-shared")
    monkeypatch.setattr(trees, "HILAR_BRANCHES", 3)
    plain = _fake_generate()

    def generate(seed: int):
        ph = plain(seed)
        ph.placed = [SimpleNamespace(diameter_mm=d, centroid_zyx=np.array([z, 0.0, 0.0]))
                     for d, z in ((4.0, 1.2), (12.0, 3.8), (20.0, 4.6))]
        return ph

    variant = ab.parse_variant(["trees.HILAR_BRANCHES=6"])
    ab.make(tmp_path, variant, [0], [0.0], 3, pinned=False, generate=generate, at_nodules=2)
    sets = json.loads((tmp_path / ".key.json").read_text())["sets"]
    assert sorted((v["level_mm"], v["comparison"]) for v in sets.values()) == [(-2.0, 1), (-2.0, 1), (-1.0, 0), (-1.0, 0)]
    assert [ab.nodule_slices(generate(0), k) for k in (1, 2, 3)] == [[5], [5, 4], [5, 4, 1]]


def test_ab_measure_counts_each_version_with_its_own_constants(realism, tmp_path, monkeypatch):
    """phantom_ab.measure sets the variant's constant for the variant's scan only, restores it,
    and reports each version's own vessel counts (a fake generator draws one dot per lung for
    each of trees.HILAR_BRANCHES, so doubling the constant must double the small pieces)."""
    from mitsgan.data.phantom import trees

    ab = _bench_module("phantom_ab")
    n = 5
    variant = ab.parse_variant([f"trees.HILAR_BRANCHES={2 * n}"])
    monkeypatch.setattr(trees, "HILAR_BRANCHES", n)
    result = ab.measure(tmp_path, variant, [0, 1], generate=_fake_generate())
    assert trees.HILAR_BRANCHES == n  # restored after the variant's scans
    assert result["baseline"]["small"] == pytest.approx(2 * n * PER_PIECE, rel=0.02)
    assert result["variant"]["small"] == pytest.approx(4 * n * PER_PIECE, rel=0.02)
    assert result["variant"]["long"] == 0.0
    saved = json.loads((tmp_path / "vessels.json").read_text())
    assert saved["variant_spec"] == {"trees.HILAR_BRANCHES": 2 * n} and saved["seeds"] == [0, 1]


def test_reader_panels_show_each_slice_pixel_for_pixel(tmp_path):
    """The A/B and first-glance PNGs draw each slice unresampled: identical slices give identical
    panels (a resampled panel showed the same thin vessel brighter on one side), and a
    one-pixel-wide line keeps its full lung-window value."""
    from PIL import Image

    pairs = _bench_module("blinded_pairs")
    lo, hi = pairs.LUNG_WINDOW
    a = np.full((64, 96), -900.0, np.float32)
    a[20, 10:80] = hi  # a one-pixel vessel, white in lung window
    b = a.copy()
    b[40:44, 30:34] = lo  # the only difference
    path = tmp_path / "pair.png"
    pairs.save_side_by_side((a, b), path)
    im = np.asarray(Image.open(path).convert("L")).astype(int)
    gap = im.shape[1] - 2 * a.shape[1]
    left, right = im[-a.shape[0]:, :a.shape[1]], im[-a.shape[0]:, a.shape[1] + gap:]
    assert right.shape == a.shape and gap > 0
    differ = np.argwhere(left != right)
    assert {tuple(x) for x in differ} == {(y, x) for y in range(40, 44) for x in range(30, 34)}
    assert left[20, 10:80].min() == 255 and right[40, 30] == 0
    grey = round(255 * (-900.0 - lo) / (hi - lo))
    assert abs(int(left[5, 5]) - grey) <= 1


@pytest.mark.parametrize("px", [0.6, 0.8])
def test_subcutaneous_fat_measures_thickness_and_spread_round_the_chest(realism, px):
    """A round body (skin 2 mm, then fat, then muscle): even fat measures its thickness plus the
    skin with no spread; fat alternating 6 and 18 mm in sectors gives the interquartile range
    over the median of the same rays' true thicknesses."""
    n = int(400 / px)
    c = (np.arange(n) - n / 2) * px
    X, Y = c[None, :], c[:, None]
    rho, theta = np.hypot(X, Y), np.arctan2(X, -Y)

    def chest(fat_mm: np.ndarray) -> np.ndarray:
        hu = np.full((n, n), -1000.0, np.float32)
        hu[rho < 150.0] = 40.0  # muscle
        hu[(rho < 148.0) & (rho >= 148.0 - fat_mm)] = -100.0  # fat under the 2 mm skin
        return hu

    even = realism.subcutaneous_fat(chest(np.full_like(rho, 12.0)), px)
    assert even["fat_mm"] == pytest.approx(14.0, abs=1.0) and even["fat_spread"] < 0.1
    sectors = lambda th: np.where(np.cos(3.0 * th) > 0, 18.0, 6.0)  # noqa: E731
    uneven = realism.subcutaneous_fat(chest(sectors(theta)), px)
    angles = np.deg2rad(np.r_[np.arange(20, 161, 4), -np.arange(20, 161, 4)])
    q1, med, q3 = np.percentile(sectors(angles) + 2.0, [25, 50, 75])
    assert uneven["fat_mm"] == pytest.approx(med, abs=1.5)
    assert uneven["fat_spread"] == pytest.approx((q3 - q1) / med, abs=0.15)


def test_dependent_density_reads_a_denser_band_at_the_lungs_back(realism):
    """_chest's lungs (-870 HU, 140 mm deep) with their back 5 mm at -830: +40 HU; a vessel
    (+40 HU) crossing the back band is left out; uniform lungs read 0."""
    hu, X, Y = _chest(0.7)
    assert realism.dependent_density(hu, 0.7)["dependent_hu"] == pytest.approx(0.0)
    for sx in (-1, 1):
        lung = ((X - sx * 60) / 50) ** 2 + (Y / 70) ** 2 < 1
        back = ((X - sx * 60) / 50) ** 2 + ((Y + 6.0) / 70) ** 2 >= 1  # within ~6 mm of the back edge
        hu[lung & back & (Y > 0)] = -830.0
    hu[(np.abs(X - 60) < 1.0) & (Y > 40)] = 40.0  # a vessel running to the back edge
    assert realism.dependent_density(hu, 0.7)["dependent_hu"] == pytest.approx(40.0, abs=1.0)


def test_ab_pins_nodule_placement_to_the_baselines(monkeypatch):
    """Inside ``pinned_nodules`` the first placement is recorded and replayed, with the random
    state it left, so the variant's nodules (and every later draw) are the baseline's."""
    from mitsgan.data.phantom import generate

    ab = _bench_module("phantom_ab")
    calls = []

    def place(lib, specs, lab, vessels, grid, rng, *rest):
        calls.append(float(rng.uniform()))
        return [f"nodule at {lab}"]

    monkeypatch.setattr(generate, "_place_nodules", place)
    record: dict = {}
    with ab.pinned_nodules(record):
        rng = np.random.default_rng(7)
        first = generate._place_nodules(None, [], "base lung", None, None, rng)
        after_first = float(rng.uniform())
        rng = np.random.default_rng(7)
        second = generate._place_nodules(None, [], "moved lung", None, None, rng)
        after_second = float(rng.uniform())
    assert first == second == ["nodule at base lung"] and len(calls) == 1
    assert after_first == after_second
    assert generate._place_nodules is place  # restored


def test_first_glance_pairs_can_match_the_real_slice_thickness():
    """``--match-thickness`` picks phantoms cut as thick as the real slice (the nearest of the
    phantom's choices: lung1's 5 mm gets the thickest, 2.5 mm) and no others."""
    from mitsgan.data.phantom.generate import SLICE_CHOICES_MM, chest_params, phantom_grid

    pairs = _bench_module("blinded_pairs")
    assert pairs.nearest_phantom_slice_mm(5.0) == max(SLICE_CHOICES_MM)
    assert pairs.nearest_phantom_slice_mm(1.25) == 1.25 and pairs.nearest_phantom_slice_mm(2.4) == 2.5
    seed = 7
    p, grid = chest_params(seed), phantom_grid(seed)
    level = float(grid.t_mm().mean()) - p.t_carina_mm  # a height this slab surely cuts
    contrast = p.contrast_hu > 0
    assert pairs.slab_matches(seed, level, contrast)
    assert pairs.slab_matches(seed, level, contrast, slice_mm=grid.slice_mm)
    other = next(s for s in SLICE_CHOICES_MM if s != grid.slice_mm)
    assert not pairs.slab_matches(seed, level, contrast, slice_mm=other)
    assert not pairs.slab_matches(seed, level, not contrast, slice_mm=grid.slice_mm)


@pytest.mark.parametrize("px", [0.6, 0.8])
def test_regional_first_glance_crops_show_each_region_at_one_mm_scale(px):
    """``region_crop`` cuts the same mm square whatever the pixel size: a 10 mm marker spans the
    same output pixels at 0.6 and 0.8 mm; the lung square is centred inside the larger lung, the
    mediastinum's between the two lungs, the spine's on the midline 25 mm in front of the lungs'
    back edge, the wall's 20 mm out from the larger lung's side; a slice without two lungs gives None."""
    pairs = _bench_module("blinded_pairs")
    hu, X, Y = _chest(px)
    hu[((X + 60) / 55) ** 2 + (Y / 75) ** 2 < 1] = -870.0  # the right lung (image left) the larger
    hu[(np.abs(X) < 5) & (np.abs(Y) < 5)] = 500.0  # a 10 mm marker between the lungs
    hu[(X + 60) ** 2 + Y ** 2 < 4] = 40.0  # a vessel on the larger lung's deepest line (|Y| < 20)
    scale = pairs.REGION_PX_PER_MM
    med = pairs.region_crop(hu, px, "mediastinum")
    side = int(round(pairs.REGION_MM["mediastinum"] * scale))
    assert med.shape == (side, side)
    marked = np.argwhere(med > 250.0)
    centre = (side - 1) / 2
    assert np.allclose(marked.mean(axis=0), centre, atol=scale)  # the marker in the middle
    assert abs(np.ptp(marked[:, 1]) + 1 - 10.0 * scale) <= scale  # 10 mm wide at either pixel size
    lung = pairs.region_crop(hu, px, "lung")
    c = (lung.shape[0] - 1) / 2
    vessel = np.argwhere(lung > -400.0)
    # Centred on that line, in the larger lung (an ellipse 110 x 150 mm: the deepest points lie on
    # its long axis, within 20 mm of its middle), a hole in the mask that does not move the centre.
    assert abs(vessel[:, 1].mean() - c) <= scale and abs(vessel[:, 0].mean() - c) <= 20 * scale
    assert np.mean(lung < -800.0) > 0.98  # all lung round it
    back_mm = float(Y[np.flatnonzero((hu == -870.0).any(axis=1))[-1], 0])  # the lungs' back edge
    hu[(np.abs(X) < 2) & (np.abs(Y - (back_mm - pairs.SPINE_ABOVE_LUNG_BACK_MM)) < 2)] = 1500.0
    spine = pairs.region_crop(hu, px, "spine")
    marked = np.argwhere(spine > 1000.0)
    assert np.allclose(marked.mean(axis=0), (spine.shape[0] - 1) / 2, atol=scale)
    # The wall's square: on the larger lung's centroid row, WALL_OUTSIDE_LUNG_MM out from its side
    # edge (the ellipse's edge at X = -115 mm on that row), away from the midline.
    edge_mm = -115.0 - pairs.WALL_OUTSIDE_LUNG_MM
    hu[(np.abs(X - edge_mm) < 2) & (np.abs(Y) < 2)] = 1500.0
    wall = pairs.region_crop(hu, px, "wall")
    assert wall.shape == (int(round(pairs.REGION_MM["wall"] * scale)),) * 2
    marked = np.argwhere(wall > 1000.0)
    assert np.allclose(marked.mean(axis=0), (wall.shape[0] - 1) / 2, atol=1.5 * scale)
    assert pairs.region_crop(np.full_like(hu, -1000.0), px, "lung") is None


def test_first_glance_variant_holds_only_while_the_phantoms_are_drawn(tmp_path, monkeypatch):
    """``blinded_pairs.py make --variant MODULE.NAME=VALUE`` draws the phantoms with that constant
    set (the same real slices, pairing and sides as without it) and restores it after; a name that
    does not exist stops with a message naming it."""
    from mitsgan.data.phantom import trees

    pairs = _bench_module("blinded_pairs")
    seen = []
    monkeypatch.setattr(pairs, "SHARED", tmp_path)  # the real scans' folder only has to exist here
    monkeypatch.setattr(pairs, "make", lambda *args, **kw: seen.append(trees.HILAR_BRANCHES))
    before = trees.HILAR_BRANCHES
    assert pairs.main(["make", str(tmp_path / "out"), "--variant", f"trees.HILAR_BRANCHES={before + 3}"]) == 0
    assert seen == [before + 3] and trees.HILAR_BRANCHES == before
    with pytest.raises(SystemExit, match="has no NO_SUCH"):
        pairs.main(["make", str(tmp_path / "out"), "--variant", "trees.NO_SUCH=1"])
    assert seen == [before + 3]


def test_first_glance_score_pools_readers_and_weighs_their_confidence(tmp_path, capsys):
    """``blinded_pairs.py score OUT A.json B.json`` scores each reader against the key (a wrong call
    at confidence c puts 1 - c on the right side) and pools them for one sign test; ``prompt`` gives
    the fixed instructions for a folder, naming the region's crops and where to write."""
    pairs = _bench_module("blinded_pairs")
    (tmp_path / ".key.json").write_text(json.dumps({"pair_00": "A", "pair_01": "B"}))
    one = {"pair_00": {"synthetic": "a", "confidence": 0.8}, "pair_01": {"synthetic": "B", "confidence": 0.6}}
    two = {"pair_00": {"synthetic": "B", "confidence": 0.7}, "pair_01": {"synthetic": "B", "confidence": 0.9}}
    files = []
    for i, answers in enumerate((one, two)):
        files.append(tmp_path / f"r{i}.json")
        files[-1].write_text(json.dumps(answers))
    result = pairs.score(tmp_path, files)
    assert [r["picked_out"] for r in result["readers"]] == [2, 1]
    assert [r["mean_confidence"] for r in result["readers"]] == [0.7, 0.8]
    assert [r["mean_p_right"] for r in result["readers"]] == [0.7, 0.6]  # (0.3 + 0.9) / 2 for the second
    assert (result["picked_out"], result["pairs"]) == (3, 4)
    assert result["sign_test_p"] == pytest.approx(5 / 16)  # 3 or 4 of 4 by chance
    assert "pooled: 3 / 4" in capsys.readouterr().out
    # Told apart either way round: 2 of 2 and 1 of 2; by guessing each reader has max(k, 2 - k) = 2
    # with p 1/2 and 1 with p 1/2, so a sum of at least 3 has p 3/4.
    assert [r["told_apart"] for r in result["readers"]] == [2, 1]
    assert (result["told_apart"], result["told_apart_p"]) == (3, pytest.approx(0.75))
    text = pairs.reader_prompt(Path("/tmp/rdX"), "spine")
    assert "cut from the spine and the back" in text and "/tmp/rdX/answers.json" in text
    assert "exactly one of the two is from a synthetic" in text
    assert "crops" not in pairs.reader_prompt(Path("/tmp/rdX"))
    with pytest.raises(SystemExit, match="r9.json: not found"):
        pairs.score(tmp_path, [files[0], tmp_path / "r9.json"])


def test_told_apart_counts_a_reader_who_swaps_the_kinds_as_seeing_the_difference():
    """A reader at 1 of 12 separated the kinds as well as one at 11 of 12; guessers rarely do either."""
    pairs = _bench_module("blinded_pairs")
    p_one = pairs.told_apart_p([11], 12)
    assert p_one == pytest.approx(2 * (1 + 12) / 2 ** 12)  # k in {0, 1, 11, 12}
    assert pairs.told_apart_p([6, 6, 6], 12) == 1.0
    assert pairs.told_apart_p([12, 12, 11], 12) < 1e-6


def test_score_counts_each_pair_over_readers_and_names_the_cues_of_pairs_every_reader_found(tmp_path, capsys):
    """Per pair, how many readers picked the phantom out; for a pair all of them found, their first
    cues: what one change must remove, read on that pair's own count."""
    pairs = _bench_module("blinded_pairs")
    (tmp_path / ".key.json").write_text(json.dumps({"pair_00": "A", "pair_01": "B"}))
    files = []
    for i, (a0, a1) in enumerate((("A", "A"), ("A", "B"), ("A", "A"))):
        files.append(tmp_path / f"r{i}.json")
        files[-1].write_text(json.dumps({"pair_00": {"synthetic": a0, "first_cue": f"rings {i}"},
                                         "pair_01": {"synthetic": a1, "first_cue": "grain"}}))
    result = pairs.score(tmp_path, files)
    assert result["per_pair"] == {"pair_00": 3, "pair_01": 1}
    out = capsys.readouterr().out
    assert "00 3/3, 01 1/3" in out
    assert "pair_00, picked out by every reader; first cues: rings 0 | rings 1 | rings 2" in out
    assert "pair_01, picked out by every reader" not in out


def test_phantom_fingerprint_is_stable_and_moves_with_the_seed():
    """The same phantom gives the same 16 hex digits; another seed gives others."""
    fp = _bench_module("phantom_fingerprint")
    first = fp.fingerprint(5, 8, 64)
    assert len(first) == 16 and int(first, 16) >= 0
    assert fp.fingerprint(5, 8, 64) == first
    assert fp.fingerprint(6, 8, 64) != first
