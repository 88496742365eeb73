"""Coordinates and resampling: the one place where world mm and voxel indices meet.

* World coordinates are LUNA16's ``(x, y, z)`` in mm (patient LPS, as ITK and
  DICOM's ImagePositionPatient).
* Voxel coordinates are ``(z, y, x)`` indices into ``Scan.hu`` (float, so a
  point can sit between voxel centres; integer = voxel centre).

``world = origin + direction @ (spacing_xyz * index_xyz)``, the ITK convention.
CT-GAN works on 1 mm isotropic cubes, so this module also resamples a region or a
whole scan to a target spacing and back.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from mitsgan.errors import InputError
from mitsgan.io.scan import Scan

ArrayLike = Sequence[float] | np.ndarray


def voxel_to_world(scan: Scan, zyx: ArrayLike) -> np.ndarray:
    """Voxel indices (z, y, x) -> world (x, y, z) mm. Accepts one point or an (N, 3) array."""
    pts = np.atleast_2d(np.asarray(zyx, dtype=np.float64))
    idx_xyz = pts[:, ::-1] * np.asarray(scan.spacing_xyz)
    world = idx_xyz @ scan.direction_xyz.T + np.asarray(scan.origin_xyz)
    return world[0] if np.ndim(zyx) == 1 else world


def world_to_voxel(scan: Scan, xyz: ArrayLike) -> np.ndarray:
    """World (x, y, z) mm -> voxel indices (z, y, x), continuous. One point or (N, 3)."""
    pts = np.atleast_2d(np.asarray(xyz, dtype=np.float64))
    rel = pts - np.asarray(scan.origin_xyz)
    idx_xyz = np.linalg.solve(scan.direction_xyz, rel.T).T / np.asarray(scan.spacing_xyz)
    zyx = idx_xyz[:, ::-1]
    return zyx[0] if np.ndim(xyz) == 1 else zyx


def pixel_to_world(scan: Scan, row: float, col: float, z_mm: float) -> np.ndarray:
    """World (x, y, z) mm of pixel (row, col) on the plane whose patient z is ``z_mm``.

    ``row``/``col`` index the DICOM image (row = y, col = x, as pylidc and
    nodules.csv give them); the slice index is solved from the z coordinate so
    a slab that starts anywhere in the original series still maps correctly.

    Annotation lists such as LIDC's nodules.csv name a point by its pixel
    row/col and the DICOM z position (ImagePositionPatient z) of its slice, not
    by a slice index, because the series on disk may be a slab of the original.
    """
    d = scan.direction_xyz
    sx, sy, sz = scan.spacing_xyz
    ox, oy, oz = scan.origin_xyz
    if abs(d[2, 2]) < 1e-3:
        raise InputError(scan.source.path, "scan is not axial: a z position cannot pick a slice")
    k = (z_mm - oz - d[2, 0] * sx * col - d[2, 1] * sy * row) / (d[2, 2] * sz)
    return voxel_to_world(scan, (k, row, col))


def contains_voxel(scan: Scan, zyx: ArrayLike, margin_vox: ArrayLike = (0, 0, 0)) -> bool:
    """True when voxel point ``zyx`` lies inside the grid, at least ``margin_vox`` from each edge."""
    p = np.asarray(zyx, dtype=np.float64)
    m = np.asarray(margin_vox, dtype=np.float64)
    hi = np.asarray(scan.shape, dtype=np.float64) - 1 - m
    return bool(np.all(p >= m) and np.all(p <= hi))


def resampled_shape(shape_zyx: Sequence[int], spacing_zyx: Sequence[float],
                    new_spacing_zyx: Sequence[float]) -> tuple[int, int, int]:
    """Voxel count covering the same extent at the new spacing (at least 1 per axis)."""
    return tuple(max(1, int(round(n * s / t)))  # type: ignore[return-value]
                 for n, s, t in zip(shape_zyx, spacing_zyx, new_spacing_zyx))


def sample_grid(hu: np.ndarray, start_zyx: ArrayLike, step_zyx: ArrayLike,
                shape_zyx: Sequence[int], order: int = 1, fill_hu: float = -1000.0) -> np.ndarray:
    """Sample ``hu`` on a regular grid: ``start + i * step`` (voxel units), interpolated.

    Points outside the volume take ``fill_hu`` (air by default), as CT-GAN pads with -1000.
    """
    axes = [s + st * np.arange(n) for s, st, n in zip(start_zyx, step_zyx, shape_zyx)]
    coords = np.stack(np.meshgrid(*axes, indexing="ij"))
    out = ndimage.map_coordinates(hu, coords, order=order, mode="constant", cval=fill_hu,
                                  prefilter=order > 1)
    return out.astype(np.float32)


def resample_scan(scan: Scan, new_spacing_zyx: ArrayLike = (1.0, 1.0, 1.0), order: int = 1) -> Scan:
    """Resample a whole scan to a new spacing, keeping origin, direction and extent.

    Voxel centres of the new grid start at the old voxel (0, 0, 0) so ``origin`` is
    unchanged and world coordinates stay valid on the result.
    """
    new = tuple(float(s) for s in new_spacing_zyx)
    shape = resampled_shape(scan.shape, scan.spacing_zyx, new)
    step = [t / s for t, s in zip(new, scan.spacing_zyx)]
    hu = sample_grid(scan.hu, (0, 0, 0), step, shape, order=order, fill_hu=float(scan.hu.min()))
    return Scan(hu=hu, spacing_zyx=new, origin_xyz=scan.origin_xyz,
                direction_xyz=scan.direction_xyz, source=scan.source)


def resample_like(hu: np.ndarray, spacing_zyx: ArrayLike, like: Scan, order: int = 1) -> np.ndarray:
    """Bring voxels sampled at ``spacing_zyx`` from ``like``'s origin back onto ``like``'s grid."""
    step = [s / t for s, t in zip(like.spacing_zyx, spacing_zyx)]
    return sample_grid(hu, (0, 0, 0), step, like.shape, order=order, fill_hu=float(hu.min()))


def cut_cube_mm(scan: Scan, center_zyx: ArrayLike, size_mm: float | Sequence[float] = 32.0,
                out_spacing_mm: float = 1.0, order: int = 1, fill_hu: float = -1000.0) -> np.ndarray:
    """An axis-aligned cube of ``size_mm`` around voxel point ``center_zyx``, at ``out_spacing_mm``.

    The cube is in voxel-axis orientation (as CT-GAN cuts it), resampled so each
    output voxel is ``out_spacing_mm`` wide. Outside the scan it is ``fill_hu``.
    """
    size = np.broadcast_to(np.asarray(size_mm, dtype=np.float64), (3,))
    n = np.maximum(1, np.round(size / out_spacing_mm)).astype(int)
    step = out_spacing_mm / np.asarray(scan.spacing_zyx)
    start = np.asarray(center_zyx, dtype=np.float64) - step * (n - 1) / 2.0
    return sample_grid(scan.hu, start, step, n, order=order, fill_hu=fill_hu)
