"""Training-data preparation: augmentation count, equalisation, normalisation, condition mask."""
import numpy as np
import pytest

from mitsgan.attack.config import AugmentConfig, preset
from mitsgan.attack.equalize import Equalizer
from mitsgan.attack.prepare import augment, build_cubes, condition_of, select_locations
from mitsgan.attack.synthetic import make_dataset
from mitsgan.data.dataset import Dataset


def _cube40(seed=0):
    rng = np.random.default_rng(seed)
    c = (-850 + 40 * rng.standard_normal((40, 40, 40))).astype(np.float32)
    zz, yy, xx = np.mgrid[:40, :40, :40]
    c[(zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 < 36] = 40.0
    return c


def test_augmentation_gives_67_instances_of_32():
    assert AugmentConfig().count() == 67
    out = augment(_cube40(), AugmentConfig())
    assert out.shape == (67, 32, 32, 32) and out.dtype == np.float32
    assert np.array_equal(out[0], _cube40()[4:36, 4:36, 4:36])
    assert np.array_equal(out[1], np.flip(_cube40(), 1)[4:36, 4:36, 4:36])
    assert AugmentConfig(rotation_step_deg=30).count() == 19


def test_equalisation_round_trip_and_range(tmp_path):
    cubes = augment(_cube40(), AugmentConfig(rotation_step_deg=90))
    eq = Equalizer.fit(cubes, 10000)
    e = eq.equalize(cubes)
    assert e.min() >= 0 and e.max() <= 32768 + 1
    back = eq.dequalize(e)
    assert np.abs(back - cubes).max() < 0.5  # HU, within a bin
    x = eq.normalize(cubes)
    assert -0.51 <= x.min() and x.max() <= 0.51 and abs(x.mean()) < 1e-3
    assert np.abs(eq.denormalize(x) - cubes).max() < 0.5
    eq.save(tmp_path / "eq.json")
    eq2 = Equalizer.load(tmp_path / "eq.json")
    assert np.array_equal(eq2.normalize(cubes), x)


def test_condition_zeroes_only_the_centre():
    x = np.random.default_rng(0).uniform(0.1, 0.5, (2, 32, 32, 32)).astype(np.float32)
    c = condition_of(x)
    assert np.all(c[:, 6:26, 6:26, 6:26] == 0)
    keep = np.ones((32, 32, 32), bool)
    keep[6:26, 6:26, 6:26] = False
    assert np.array_equal(c[:, keep], x[:, keep])
    assert keep.mean() == pytest.approx(0.756, abs=1e-3)


def test_locations_and_cubes_from_dataset(tmp_path):
    root = make_dataset(tmp_path / "ds", n_scans=2, shape=(40, 80, 80))
    ds = Dataset.open(root)
    inj = select_locations(ds, preset("tiny", action="inject"), "train")
    rem = select_locations(ds, preset("tiny", action="remove"), "train")
    assert inj and all(loc.diameter_mm >= 10 for loc in inj)
    assert rem and all(loc.diameter_mm < 3 for loc in rem)
    capped = select_locations(ds, preset("tiny", action="inject", inject_max_diameter_mm=14.0), "train")
    assert all(10 <= loc.diameter_mm <= 14 for loc in capped) and len(capped) <= len(inj)
    assert not select_locations(ds, preset("tiny", action="inject", inject_textures=("solid",)), "train")
    cfg = preset("tiny", action="inject", augment=AugmentConfig(flips=True, shift_vox=0, rotation_step_deg=0))
    cubes = build_cubes(ds, cfg)
    assert cubes.hu.shape == (4 * len(inj), 32, 32, 32)
    centre = cubes.hu[:, 12:20, 12:20, 12:20].mean()
    assert centre > -300  # nodules sit at the centre
