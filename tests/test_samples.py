"""Cubes and slice stacks cut around locations: centring, edge errors, torch datasets."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from _helpers_data import ROTATED, random_scan, uid, write_dataset
from mitsgan.data.dataset import Dataset, Location
from mitsgan.data.samples import (
    CubeSamples,
    SampleError,
    SliceSamples,
    collate_samples,
    cube_at,
    cube_grid,
    slice_stack_at,
)
from mitsgan.geometry import voxel_to_world

BRIGHT = 3000.0

GEOMETRIES = [
    pytest.param((1.0, 1.0, 1.0), None, id="1mm-identity"),
    pytest.param((2.5, 0.8, 0.7), None, id="anisotropic"),
    pytest.param((1.25, 0.6, 0.9), ROTATED, id="anisotropic-rotated"),
    pytest.param((2.0, 0.7, 0.7), np.diag([-1.0, -1.0, 1.0]), id="flipped-xy"),
]


def bright_scan(spacing, direction, shape=(40, 80, 80), at=(20, 37, 41)):
    scan = random_scan(shape=shape, spacing=spacing, direction=direction, seed=3)
    scan.hu[at] = BRIGHT
    return scan, np.array(at, dtype=float)


@pytest.mark.parametrize("spacing,direction", GEOMETRIES)
def test_bright_voxel_lands_on_odd_cube_centre(spacing, direction):
    scan, at = bright_scan(spacing, direction)
    world = voxel_to_world(scan, at)
    cube = cube_at(scan, world, size_mm=31, world=True)
    assert cube.shape == (31, 31, 31) and cube.dtype == np.float32
    assert np.unravel_index(np.argmax(cube), cube.shape) == (15, 15, 15)
    assert cube[15, 15, 15] == pytest.approx(BRIGHT, abs=1e-2)
    # Same cube from the voxel coordinate.
    np.testing.assert_allclose(cube_at(scan, at, size_mm=31), cube, atol=1e-3)


@pytest.mark.parametrize("spacing,direction", GEOMETRIES)
def test_bright_voxel_centre_of_mass_in_32mm_cube(spacing, direction):
    scan, at = bright_scan(spacing, direction)
    plain = scan.with_hu(scan.hu.copy())
    plain.hu[tuple(at.astype(int))] = scan.hu[0, 0, 0]
    world = voxel_to_world(scan, at)
    cube = cube_at(scan, world, world=True)  # 32 mm at 1 mm
    assert cube.shape == (32, 32, 32)
    footprint = cube - cube_at(plain, world, world=True)  # the bright voxel alone
    assert footprint.min() > -1e-3 and footprint.max() > 100
    mask = footprint > 1e-3
    com = np.array(np.nonzero(mask)) @ footprint[mask] / footprint[mask].sum()
    np.testing.assert_allclose(com, [15.5, 15.5, 15.5], atol=1e-3)
    grid = cube_grid(scan, at)
    np.testing.assert_allclose(grid.center_zyx, at)
    np.testing.assert_allclose(np.asarray(grid.start_zyx) + 15.5 * np.asarray(grid.step_zyx), at)


def test_world_point_between_voxels_is_resampled():
    scan = random_scan(shape=(30, 40, 40), spacing=(1.0, 1.0, 1.0), seed=1)
    scan.hu[:] = np.arange(30, dtype=np.float32)[:, None, None]  # HU = z index
    c = np.array([14.5, 20.0, 20.0])
    cube = cube_at(scan, voxel_to_world(scan, c), size_mm=11, world=True)
    assert cube[5, 5, 5] == pytest.approx(14.5)


def test_cube_too_close_to_the_edge_says_by_how_much():
    scan = random_scan(shape=(40, 60, 60), spacing=(1.0, 1.0, 1.0))
    with pytest.raises(SampleError, match=r"too close to the edge.*5\.50 mm along z \(low side\)") as err:
        cube_at(scan, (10.0, 30.0, 30.0))
    assert isinstance(err.value, ValueError)
    assert "voxel (z, y, x) (10.00, 30.00, 30.00)" in str(err.value)
    # 2.5 mm slices: the cube needs 15.5 mm below the centre, 3 slices give 7.5 mm.
    thick = random_scan(shape=(10, 60, 60), spacing=(2.5, 1.0, 1.0))
    with pytest.raises(SampleError, match=r"8\.00 mm along z"):
        cube_at(thick, (3.0, 30.0, 30.0))
    padded = cube_at(scan, (10.0, 30.0, 30.0), require_inside=False)
    assert (padded[:5] == -1000).all() and (padded[6:] > -1000).all()


def test_point_outside_the_scan_is_named():
    scan = random_scan(shape=(40, 60, 60), spacing=(1.0, 1.0, 1.0))
    scan.source.meta["series_uid"] = "1.2.3.4"
    world = voxel_to_world(scan, (45.0, 30.0, 30.0))
    with pytest.raises(SampleError, match=r"world \(x, y, z\) .* outside scan 1\.2\.3\.4") as err:
        cube_at(scan, world, world=True, require_inside=False)
    assert err.value.scan == "1.2.3.4"
    with pytest.raises(SampleError, match="outside"):
        slice_stack_at(scan, (-1.0, 3.0, 3.0), 3)


def test_slice_stack_at():
    scan = random_scan(shape=(20, 30, 32), spacing=(2.0, 0.7, 0.7))
    stack, z0 = slice_stack_at(scan, (7.4, 10.0, 12.0), 5)
    assert stack.shape == (5, 30, 32) and z0 == 5
    np.testing.assert_array_equal(stack, scan.hu[5:10])
    stack[:] = 0  # a copy, not a view
    assert scan.hu[5:10].min() < 0
    world = voxel_to_world(scan, (7.6, 10.0, 12.0))
    stack, z0 = slice_stack_at(scan, world, 4, world=True)
    assert z0 == 6  # round(7.6) = 8 sits at index 4 // 2 = 2
    with pytest.raises(SampleError, match=r"needs 2 slice\(s\) \(4\.00 mm\) beyond the first"):
        slice_stack_at(scan, (1.0, 10.0, 10.0), 7)
    with pytest.raises(SampleError, match="beyond the last"):
        slice_stack_at(scan, (19.0, 10.0, 10.0), 3)
    stack, z0 = slice_stack_at(scan, (1.0, 10.0, 10.0), 7, require_inside=False)
    assert z0 == -2 and (stack[:2] == -1000).all()
    np.testing.assert_array_equal(stack[2:], scan.hu[0:5])


@pytest.fixture
def small_dataset(tmp_path):
    scans, nodules, healthy = {}, [], []
    for i in range(3):
        scan = random_scan(shape=(24, 50, 48), spacing=(2.0, 0.8, 0.75), seed=10 + i,
                           direction=ROTATED if i == 1 else None, origin=(-30.0 + i, 12.0, -80.0))
        at = (12, 25, 24)
        scan.hu[at] = BRIGHT
        scans[uid(i)] = scan
        x, y, z = voxel_to_world(scan, at)
        nodules.append(Location(uid(i), (x, y, z), 4.0 + 4 * i))
        x, y, z = voxel_to_world(scan, (12, 10, 10))
        healthy.append(Location(uid(i), (x, y, z), 0.0))
    # Near the first slice: a 32 mm cube (and a 9-slice stack) sticks out.
    x, y, z = voxel_to_world(scans[uid(0)], (1, 25, 24))
    nodules.append(Location(uid(0), (x, y, z), 20.0))
    root = write_dataset(tmp_path / "ds", scans, nodules, healthy)
    return Dataset.open(root)


def test_cube_samples(small_dataset, monkeypatch):
    loads = []
    real_load = Dataset.load
    monkeypatch.setattr(Dataset, "load", lambda self, s: loads.append(s) or real_load(self, s))
    ds = CubeSamples(small_dataset, split=None, kind="nodules")
    assert len(ds) == 3 and len(ds.skipped) == 1
    assert "sticks out" in ds.skipped[0][1]
    assert loads == []  # skipping edge cubes read MHD headers only
    items = [ds[i] for i in range(len(ds))]
    assert sorted(loads) == sorted(set(loads)) and len(loads) == 3  # each scan read once
    for item in items:
        assert item.image.shape == (1, 32, 32, 32) and item.image.dtype == torch.float32
        assert isinstance(item.location, Location)
        peak = np.unravel_index(int(item.image.argmax()), (32, 32, 32))
        assert item.image.max() > -600  # the bright voxel, spread by resampling
        assert all(abs(p - 15.5) <= 1.5 for p in peak)
    assert items[0].center_zyx.tolist() == [15.5] * 3

    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_samples)
    batch = next(iter(loader))
    assert batch.image.shape == (2, 1, 32, 32, 32) and len(batch.location) == 2

    assert len(CubeSamples(small_dataset, split=None, min_diameter_mm=7.0)) == 2  # 8 and 12 mm
    assert len(CubeSamples(small_dataset, split=None, max_diameter_mm=7.0)) == 1
    assert len(CubeSamples(small_dataset, split=None, kind="healthy", size_mm=16)) == 3
    padded = CubeSamples(small_dataset, split=None, edge="pad")
    assert len(padded) == 4
    with pytest.raises(SampleError, match="too close to the edge"):
        CubeSamples(small_dataset, split=None, edge="error").cube(0)
    pre = CubeSamples(small_dataset, split=None).preload()
    assert torch.equal(pre[1].image, items[1].image)
    train = CubeSamples(small_dataset, split="train")
    test = CubeSamples(small_dataset, split="test")
    assert len(train) + len(test) == 3
    assert {loc.seriesuid for loc in train.locations}.isdisjoint({loc.seriesuid for loc in test.locations})


def test_slice_samples(small_dataset):
    ds = SliceSamples(small_dataset, split=None, n_slices=9)
    assert len(ds) == 3 and len(ds.skipped) == 1
    item = ds[0]
    assert item.image.shape == (9, 50, 48) and item.image.dtype == torch.float32
    z, y, x = item.center_zyx.round().long().tolist()
    assert (z, y, x) == (4, 25, 24)
    assert item.image[z, y, x] == BRIGHT
    healthy = SliceSamples(small_dataset, split=None, kind="healthy", n_slices=3, edge="pad")
    assert len(healthy) == 3
    with pytest.raises(ValueError):
        SliceSamples(small_dataset, kind="tumours")
