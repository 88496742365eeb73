"""World (LUNA16 x, y, z mm) <-> voxel (z, y, x) conversions and resampling."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import SimpleITK as sitk

from _helpers_io import synthetic_scan
from conftest import shared_path
from mitsgan.geometry import (contains_voxel, cut_cube_mm, resample_like, resample_scan,
                              voxel_to_world, world_to_voxel)
from mitsgan.io import read_scan, write_scan


def rotation(deg_z=25.0, deg_x=10.0):
    a, b = np.radians(deg_z), np.radians(deg_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


def test_lidc_centroids_round_trip():
    with open(shared_path("lidc", "nodules.csv")) as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        scan = read_scan(shared_path("lidc", row["patient_id"]))
        z_index = (float(row["z_mm"]) - scan.origin_xyz[2]) / scan.spacing_zyx[0]
        zyx = np.array([z_index, float(row["row"]), float(row["col"])])
        world = voxel_to_world(scan, zyx)
        assert world[2] == pytest.approx(float(row["z_mm"]), abs=1e-6)
        np.testing.assert_allclose(world_to_voxel(scan, world), zyx, atol=1e-9)


def test_mhd_with_non_identity_direction_matches_itk(tmp_path):
    scan = synthetic_scan(direction=rotation(), spacing=(2.5, 0.8, 0.6))
    path = write_scan(scan, tmp_path / "rot.mhd")
    image = sitk.ReadImage(str(path))
    loaded = read_scan(path)
    rng = np.random.default_rng(1)
    pts = rng.uniform([0, 0, 0], np.array(scan.shape) - 1, size=(20, 3))
    for p in pts:
        expected = image.TransformContinuousIndexToPhysicalPoint(tuple(float(v) for v in p[::-1]))
        np.testing.assert_allclose(voxel_to_world(loaded, p), expected, atol=1e-6)
    world = voxel_to_world(loaded, pts)
    np.testing.assert_allclose(world_to_voxel(loaded, world), pts, atol=1e-9)


def test_contains_voxel_margins():
    scan = synthetic_scan(shape=(10, 20, 30))
    assert contains_voxel(scan, (0, 0, 0)) and not contains_voxel(scan, (-0.1, 0, 0))
    assert not contains_voxel(scan, (5, 10, 15), margin_vox=(6, 0, 0))


def test_resample_to_1mm_and_back_keeps_world_positions():
    scan = synthetic_scan(shape=(12, 40, 40), spacing=(2.0, 0.5, 0.5))
    iso = resample_scan(scan, (1.0, 1.0, 1.0))
    assert iso.shape == (24, 20, 20) and iso.origin_xyz == scan.origin_xyz
    # The same world point reads the same structure on both grids.
    for zyx in [(3.0, 15.0, 20.0), (7.0, 9.0, 30.0)]:
        world = voxel_to_world(scan, zyx)
        assert np.allclose(voxel_to_world(iso, world_to_voxel(iso, world)), world)
    back = resample_like(iso.hu, iso.spacing_zyx, scan)
    assert back.shape == scan.shape
    inner = (slice(2, -2), slice(4, -4), slice(4, -4))
    assert np.median(np.abs(back[inner] - scan.hu[inner])) < 40  # smooth regions survive


def test_cut_cube_is_centred():
    hu = np.full((40, 80, 80), -1000, np.float32)
    hu[20, 40, 40] = 1000.0
    from mitsgan.io import Scan

    scan = Scan(hu=hu, spacing_zyx=(1.0, 1.0, 1.0))
    cube = cut_cube_mm(scan, (20, 40, 40), size_mm=33, out_spacing_mm=1.0, order=0)
    assert cube.shape == (33, 33, 33)
    assert np.unravel_index(np.argmax(cube), cube.shape) == (16, 16, 16)
