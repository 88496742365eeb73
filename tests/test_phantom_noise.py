"""CT-like noise fields: the streaks of the near-lateral views (noise.streak_noise)."""
from __future__ import annotations

import numpy as np

from mitsgan.data.phantom.noise import streak_noise


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_streaks_run_along_the_lateral_views_and_grow_with_the_path():
    """Rows whose lateral path is longer get stronger streaks, by exp(mu * dpath / 2); the noise
    is correlated along the rows (the views lie within STREAK_HALF_ANGLE of lateral) and not
    across them; the same generator state gives the same field."""
    path = np.full((3, 160), 200.0)
    path[:, 80:] = 400.0  # the lower half's rays cross 200 mm more water
    field = streak_noise(path, 160, np.random.default_rng(0), views=12, half_angle_deg=12.0, ref_path_mm=350.0)
    assert field.shape == (3, 160, 160) and field.dtype == np.float32
    top, bottom = field[:, 10:60, 40:120], field[:, 100:150, 40:120]
    # exp(0.01 * 50) = 1.65 at 400 mm, exp(0.01 * -150) = 0.22 at 200 mm
    assert 1.3 < bottom.std() < 2.0 and 0.15 < top.std() < 0.3
    along = _corr(bottom[:, :, :-4], bottom[:, :, 4:])
    across = _corr(bottom[:, :-4, :], bottom[:, 4:, :])
    assert along > 0.5 and abs(across) < 0.15, (along, across)
    again = streak_noise(path, 160, np.random.default_rng(0), views=12, half_angle_deg=12.0, ref_path_mm=350.0)
    assert np.array_equal(field, again)
