"""The tamper measurements give known values on synthetic volumes."""
from __future__ import annotations

import numpy as np
import pytest

from mitsgan.evaluation.tamper_metrics import (blob_diameter_mm, changed_box, measure_tamper,
                                               sphere_mean_hu, surrounding_lung_hu)

SPACING = (1.25, 0.7, 0.7)


def lung_with_ball(diameter_mm=12.0, center=(24, 50, 50), shape=(48, 100, 100)):
    hu = np.full(shape, -850.0, np.float32)
    grids = np.meshgrid(*[(np.arange(n) - c) * s for n, c, s in zip(shape, center, SPACING)],
                        indexing="ij")
    d = np.sqrt(sum(g * g for g in grids))
    hu[d < diameter_mm / 2] = 40.0
    return hu, center


def test_sphere_mean_inside_a_ball():
    hu, c = lung_with_ball(20.0)
    assert sphere_mean_hu(hu, SPACING, c, 10.0) == pytest.approx(40.0)
    assert sphere_mean_hu(np.full_like(hu, -850), SPACING, c) == pytest.approx(-850.0)


@pytest.mark.parametrize("diameter", [6.0, 12.0, 20.0])
def test_blob_diameter_matches_ball(diameter):
    hu, c = lung_with_ball(diameter)
    assert blob_diameter_mm(hu, SPACING, c) == pytest.approx(diameter, abs=1.0)


def test_no_blob_in_plain_lung():
    hu, c = lung_with_ball(0.0)
    assert blob_diameter_mm(hu, SPACING, c) == 0.0
    assert surrounding_lung_hu(hu, SPACING, c) == pytest.approx(-850.0)


def test_measure_injection_and_removal():
    before, c = lung_with_ball(0.0)
    after, _ = lung_with_ball(14.0)
    inj = measure_tamper(before, after, SPACING, c, "inject")
    assert inj.success and inj.sphere_change_hu == pytest.approx(890.0)
    rem = measure_tamper(after, before, SPACING, c, "remove")
    assert rem.success and rem.blob_mm_after == 0.0
    assert not measure_tamper(after, after, SPACING, c, "remove").success


def test_changed_box():
    a = np.zeros((5, 6, 7))
    assert changed_box(a, a) is None
    b = a.copy()
    b[1, 2, 3] = b[3, 4, 3] = 1
    assert changed_box(a, b) == (slice(1, 4), slice(2, 5), slice(3, 4))
