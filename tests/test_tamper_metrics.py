"""The tamper measurements give known values on synthetic volumes."""
from __future__ import annotations

import numpy as np
import pytest

from mitsgan.evaluation.locations import lung_points
from mitsgan.evaluation.tamper_metrics import (changed_box, measure_blob, measure_tamper,
                                               sphere_mean_hu, surrounding_lung_hu)

SPACING = (1.25, 0.7, 0.7)


def lung_with_ball(diameter_mm=12.0, center=(24, 50, 50), shape=(48, 100, 100), hu_ball=40.0):
    hu = np.full(shape, -850.0, np.float32)
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(shape, center, SPACING)],
                        indexing="ij")
    d = np.sqrt(sum(g * g for g in grids))
    hu[d < diameter_mm / 2] = hu_ball
    return hu, center


def test_sphere_mean_inside_a_ball():
    hu, c = lung_with_ball(20.0)
    assert sphere_mean_hu(hu, SPACING, c, diameter_mm=10.0) == pytest.approx(40.0)
    assert sphere_mean_hu(np.full_like(hu, -850), SPACING, c) == pytest.approx(-850.0)


@pytest.mark.parametrize("diameter", [6.0, 12.0, 20.0])
def test_blob_diameter_matches_ball(diameter):
    hu, c = lung_with_ball(diameter)
    b = measure_blob(hu, SPACING, c)
    assert b.eq_diameter_mm == pytest.approx(diameter, abs=1.0)
    assert b.components == 1 and b.within_10mm == 1.0
    assert all(e == pytest.approx(diameter, abs=2 * max(SPACING)) for e in b.extent_mm)
    assert b.nodule_like


def test_no_blob_in_plain_lung():
    hu, c = lung_with_ball(0.0)
    b = measure_blob(hu, SPACING, c)
    assert b.eq_diameter_mm == 0.0 and b.components == 0 and not b.nodule_like
    assert surrounding_lung_hu(hu, SPACING, c) == pytest.approx(-850.0)


def test_surrounding_lung_is_the_mean_of_lung_in_the_16_26_mm_shell():
    hu, c = lung_with_ball(0.0)
    grids = np.meshgrid(*[(np.arange(n) - k) * s for n, k, s in zip(hu.shape, c, SPACING)],
                        indexing="ij")
    d = np.sqrt(sum(g * g for g in grids))
    hu[(d >= 16) & (d <= 20)] = -800.0  # inner half of the shell (by radius)
    hu[d < 14] = -950.0  # inside the shell's hole: ignored
    hu[(d > 21) & (d < 22)] = 0.0  # dense (not lung): ignored
    ring = (d >= 16) & (d <= 26) & (hu < -500)
    assert surrounding_lung_hu(hu, SPACING, c) == pytest.approx(float(hu[ring].mean()), abs=1e-3)
    assert -850 < surrounding_lung_hu(hu, SPACING, c) < -800


def test_blob_before_masks_existing_dense_tissue():
    """An injection touching a vessel: with ``before`` only the new tissue counts."""
    before, c = lung_with_ball(0.0)
    before[:, 50 - 2:50 + 2, 50 + 12:] = 40.0  # a vessel along z, beside the location
    after = before.copy()
    ball, _ = lung_with_ball(26.0)
    after[ball > -850] = 40.0  # reaches the vessel
    touching = measure_blob(after, SPACING, c)
    new = measure_blob(after, SPACING, c, before=before)
    assert new.eq_diameter_mm < touching.eq_diameter_mm
    assert new.eq_diameter_mm == pytest.approx(26.0, abs=1.5)


def test_blob_must_reach_the_central_sphere():
    hu, _ = lung_with_ball(6.0, center=(24, 50, 70))  # 14 mm off-centre
    assert measure_blob(hu, SPACING, (24, 50, 50)).eq_diameter_mm == 0.0


def test_measure_injection_and_removal():
    before, c = lung_with_ball(0.0)
    after, _ = lung_with_ball(14.0)
    inj = measure_tamper(before, after, SPACING, c, "inject")
    assert inj.success and inj.sphere_change_hu == pytest.approx(890.0)
    assert inj.blob_new.eq_diameter_mm == pytest.approx(14.0, abs=1.0)
    rem = measure_tamper(after, before, SPACING, c, "remove")
    assert rem.success and rem.blob_after.eq_diameter_mm == 0.0
    assert rem.blob_before.eq_diameter_mm == pytest.approx(14.0, abs=1.0)
    assert not measure_tamper(after, after, SPACING, c, "remove").success
    d = inj.as_dict()
    assert d["success"] and d["blob_new"]["eq_diameter_mm"] == inj.blob_new.eq_diameter_mm


def test_injected_smear_is_not_a_nodule():
    """A big rise made by a long dense rod (a smear, not a nodule) is not a success."""
    before, c = lung_with_ball(0.0)
    after = before.copy()
    z, y = np.meshgrid((np.arange(48) - c[0]) * SPACING[0], (np.arange(100) - c[1]) * SPACING[1],
                       indexing="ij")
    after[np.sqrt(z * z + y * y) < 4.5] = 40.0  # 4.5 mm radius, along x through the centre
    m = measure_tamper(before, after, SPACING, c, "inject")
    assert m.sphere_change_hu >= 500
    assert m.blob_new.eq_diameter_mm > 5 and m.blob_new.within_10mm < 0.5
    assert not m.blob_new.nodule_like and not m.success


def test_changed_box():
    a = np.zeros((5, 6, 7))
    assert changed_box(a, a) is None
    b = a.copy()
    b[1, 2, 3] = b[3, 4, 3] = 1
    assert changed_box(a, b) == (slice(1, 4), slice(2, 5), slice(3, 4))


def test_lung_points_are_deep_in_lung_and_apart():
    hu = np.full((20, 80, 80), 40.0, np.float32)  # body
    hu[:, 10:70, 10:70] = -850.0  # one big lung inside it
    sp = (2.0, 1.0, 1.0)
    pts = lung_points(hu, sp, 3, seed=1, avoid_zyx=[(10, 40, 40)], avoid_mm=15.0)
    assert len(pts) == 3
    for p in pts:
        assert 10 + 8 <= p[1] < 70 - 8 and 10 + 8 <= p[2] < 70 - 8
        assert np.linalg.norm((np.asarray(p) - (10, 40, 40)) * sp) > 15
    assert lung_points(hu, sp, 3, seed=1, avoid_zyx=[(10, 40, 40)], avoid_mm=15.0) == pts
