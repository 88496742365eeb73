"""Training samples cut from a dataset: 1 mm cubes (CT-GAN, 3-D) and stacks of whole slices (2-D).

Coordinates: ``center`` is a voxel point ``(z, y, x)`` into ``scan.hu`` by default,
or a world point ``(x, y, z)`` mm (LUNA16 order) with ``world=True``.

Cubes follow :func:`mitsgan.geometry.cut_cube_mm`: axis-aligned with the voxel
grid, ``n = round(size_mm / spacing_mm)`` samples per axis, and the requested
centre lies at cube index ``(n - 1) / 2`` on every axis (15.5 for the usual 32
voxels, i.e. between voxels 15 and 16; exactly voxel 15 for an odd n = 31).
:func:`cube_grid` gives the sampling grid so a modified cube can be written back.

Problems with a coordinate raise :class:`SampleError` (a ``ValueError``) naming
the coordinate and the scan.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from mitsgan.data.dataset import Dataset, Location
from mitsgan.geometry import sample_grid, world_to_voxel
from mitsgan.io.scan import Scan

__all__ = [
    "SampleError",
    "CubeGrid",
    "to_voxel",
    "cube_grid",
    "cube_at",
    "slice_stack_at",
    "Sample",
    "CubeSamples",
    "SliceSamples",
    "collate_samples",
]


class SampleError(ValueError):
    """A sample cannot be cut at this coordinate (outside the scan, too close to its edge)."""

    def __init__(self, message: str, scan: str | None = None,
                 center: Sequence[float] | None = None):
        self.scan = scan
        self.center = None if center is None else tuple(float(c) for c in center)
        super().__init__(message)


def scan_name(scan: Scan) -> str:
    """How error messages name a scan: its series UID, else its file name."""
    meta = scan.source.meta
    if meta.get("series_uid"):
        return str(meta["series_uid"])
    if scan.source.path:
        return Path(scan.source.path).name
    return f"<{scan.source.format} scan {'x'.join(map(str, scan.shape))}>"


def _fmt(p: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):.2f}" for v in p) + ")"


def _describe(center: Sequence[float], world: bool) -> str:
    return f"world (x, y, z) {_fmt(center)} mm" if world else f"voxel (z, y, x) {_fmt(center)}"


def to_voxel(scan: Scan, center: Sequence[float], world: bool = False) -> np.ndarray:
    """``center`` as a voxel point (z, y, x); SampleError when it lies outside the scan.

    "Inside" means within the volume's outer voxel faces: ``-0.5 <= p <= n - 0.5``.
    """
    c = np.asarray(center, dtype=np.float64).reshape(-1)
    if c.shape != (3,) or not np.all(np.isfinite(c)):
        raise SampleError(f"a location needs three finite numbers, got {center!r}", scan_name(scan), None)
    zyx = world_to_voxel(scan, c) if world else c
    n = np.asarray(scan.shape, dtype=np.float64)
    if np.any(zyx < -0.5) or np.any(zyx > n - 0.5):
        where = f" = voxel (z, y, x) {_fmt(zyx)}" if world else ""
        raise SampleError(f"{_describe(c, world)}{where} is outside scan {scan_name(scan)} "
                          f"(shape z, y, x = {scan.shape})", scan_name(scan), c)
    return zyx


@dataclass(frozen=True)
class CubeGrid:
    """Where a cube's samples sit in the scan: voxel ``start + i * step`` (z, y, x) for i < shape."""

    start_zyx: tuple[float, float, float]
    step_zyx: tuple[float, float, float]
    shape: tuple[int, int, int]
    center_zyx: tuple[float, float, float]

    @property
    def end_zyx(self) -> tuple[float, float, float]:
        return tuple(s + st * (n - 1) for s, st, n in zip(self.start_zyx, self.step_zyx, self.shape))  # type: ignore[return-value]


def cube_grid(scan: Scan, center: Sequence[float], size_mm: float = 32.0, spacing_mm: float = 1.0,
              world: bool = False) -> CubeGrid:
    """The sampling grid :func:`cube_at` uses (same arithmetic as ``geometry.cut_cube_mm``)."""
    zyx = to_voxel(scan, center, world)
    n = max(1, int(round(float(size_mm) / float(spacing_mm))))
    step = float(spacing_mm) / np.asarray(scan.spacing_zyx)
    start = zyx - step * (n - 1) / 2.0
    return CubeGrid(tuple(float(v) for v in start), tuple(float(v) for v in step),  # type: ignore[arg-type]
                    (n, n, n), tuple(float(v) for v in zyx))  # type: ignore[arg-type]


def _overhang_mm(scan: Scan, lo_zyx: np.ndarray, hi_zyx: np.ndarray) -> tuple[float, str]:
    """How far (mm) samples at voxel points lo..hi reach beyond the outermost voxel centres."""
    n = np.asarray(scan.shape, dtype=np.float64)
    sp = np.asarray(scan.spacing_zyx)
    below = np.maximum(0.0, -lo_zyx) * sp
    above = np.maximum(0.0, hi_zyx - (n - 1)) * sp
    worst, axis, side = 0.0, "", ""
    for i, name in enumerate("zyx"):
        for amount, s in ((below[i], "low"), (above[i], "high")):
            if amount > worst + 1e-9:
                worst, axis, side = float(amount), name, s
    return worst, f"{axis} ({side} side)" if axis else ""


def cube_at(scan: Scan, center: Sequence[float], size_mm: float = 32.0, spacing_mm: float = 1.0,
            world: bool = False, require_inside: bool = True, order: int = 1,
            fill_hu: float = -1000.0) -> np.ndarray:
    """A cube of HU around ``center``, resampled to ``spacing_mm`` voxels: float32 (n, n, n).

    ``n = round(size_mm / spacing_mm)`` (32 by default); the centre sits at index
    ``(n - 1) / 2``. With ``require_inside`` (default) a cube that would reach
    beyond the scan's outermost voxel centres raises :class:`SampleError`
    ("too close to the edge", by how many mm); otherwise the outside is
    ``fill_hu`` (air). Linear interpolation (``order=1``) by default.
    """
    grid = cube_grid(scan, center, size_mm, spacing_mm, world)
    if require_inside:
        over, axis = _overhang_mm(scan, np.asarray(grid.start_zyx), np.asarray(grid.end_zyx))
        if over > 1e-6:
            raise SampleError(
                f"{_describe(center, world)} is too close to the edge of scan {scan_name(scan)}: "
                f"a {size_mm:g} mm cube sticks out by {over:.2f} mm along {axis} "
                f"(pass require_inside=False to pad with {fill_hu:g} HU)", scan_name(scan), center)
    return sample_grid(scan.hu, grid.start_zyx, grid.step_zyx, grid.shape, order=order, fill_hu=fill_hu)


def slice_stack_at(scan: Scan, center: Sequence[float], n_slices: int, world: bool = False,
                   require_inside: bool = True, fill_hu: float = -1000.0) -> tuple[np.ndarray, int]:
    """``n_slices`` whole axial slices around ``center``: (float32 (n, y, x) HU, z_start).

    The stack is ``scan.hu[z_start : z_start + n_slices]`` with the centre's
    slice ``round(z)`` at stack index ``n_slices // 2``. With ``require_inside``
    (default) a stack reaching past the first or last slice raises
    :class:`SampleError`; otherwise missing slices are ``fill_hu`` (and
    ``z_start`` may be negative). The array is a copy.
    """
    n_slices = int(n_slices)
    z_start = _stack_start(scan, center, n_slices, world, require_inside, fill_hu)
    z_stop = z_start + n_slices
    nz = scan.shape[0]
    out = np.full((n_slices,) + scan.shape[1:], fill_hu, dtype=np.float32)
    lo, hi = max(z_start, 0), min(z_stop, nz)
    if hi > lo:
        out[lo - z_start: hi - z_start] = scan.hu[lo:hi]
    return out, z_start


def _stack_start(scan: Scan, center: Sequence[float], n_slices: int, world: bool,
                 require_inside: bool, fill_hu: float = -1000.0) -> int:
    """First slice of the stack :func:`slice_stack_at` cuts; raises its errors (no voxels read)."""
    if int(n_slices) < 1:
        raise SampleError(f"n_slices must be at least 1, got {n_slices}", scan_name(scan), center)
    zyx = to_voxel(scan, center, world)
    nz = scan.shape[0]
    kc = min(max(int(np.floor(zyx[0] + 0.5)), 0), nz - 1)
    z_start = kc - int(n_slices) // 2
    z_stop = z_start + int(n_slices)
    if require_inside and (z_start < 0 or z_stop > nz):
        missing = max(-z_start, z_stop - nz)
        side = "first" if z_start < 0 else "last"
        raise SampleError(
            f"{_describe(center, world)} is too close to the edge of scan {scan_name(scan)}: a stack "
            f"of {n_slices} slices around slice {kc} needs {missing} slice(s) "
            f"({missing * scan.spacing_zyx[0]:.2f} mm) beyond the {side} slice (scan has {nz}) "
            f"(pass require_inside=False to pad with {fill_hu:g} HU)", scan_name(scan), center)
    return z_start


# --------------------------------------------------------------------------- torch datasets


class Sample(NamedTuple):
    """One item of :class:`CubeSamples` / :class:`SliceSamples`.

    ``image``: float32 tensor in HU, (1, n, n, n) for cubes, (n_slices, y, x) for stacks.
    ``location``: the nodule / healthy location it was cut around.
    ``center_zyx``: float64 tensor (3,), where the location lies in ``image``'s (z, y, x)
    index space (cube: ((n-1)/2,)*3; stack: (z - z_start, y, x), continuous).
    """

    image: Any
    location: Location
    center_zyx: Any


def collate_samples(batch: Sequence[Sample]) -> Sample:
    """``DataLoader(..., collate_fn=collate_samples)``: stacked images and centres, list of locations.

    Slice stacks of different in-plane sizes cannot be stacked: use batch_size=1 then.
    """
    import torch

    return Sample(torch.stack([b.image for b in batch]), [b.location for b in batch],  # type: ignore[arg-type]
                  torch.stack([b.center_zyx for b in batch]))


class _LocationSamples:
    """Shared machinery: pick locations of a split and kind, load scans through a small cache."""

    def __init__(self, dataset: Dataset, split: str | None = "train", kind: str = "nodules",
                 min_diameter_mm: float | None = None, max_diameter_mm: float | None = None,
                 cache_scans: int = 2, transform: Callable[[Any], Any] | None = None):
        if kind not in ("nodules", "healthy"):
            raise ValueError(f"kind must be 'nodules' or 'healthy', got {kind!r}")
        if split not in ("train", "test", None):
            raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
        self.dataset = dataset
        self.split = split
        self.kind = kind
        self.transform = transform
        series = set(dataset.series(split))
        pool = dataset.annotations if kind == "nodules" else dataset.candidates
        locs = [loc for loc in pool if loc.seriesuid in series]
        if min_diameter_mm is not None:
            locs = [loc for loc in locs if loc.diameter_mm >= min_diameter_mm]
        if max_diameter_mm is not None:
            locs = [loc for loc in locs if loc.diameter_mm <= max_diameter_mm]
        # Grouped by scan so a sequential pass reads each scan once.
        self.locations: list[Location] = sorted(
            locs, key=lambda a: (a.seriesuid, a.coord_xyz[2], a.coord_xyz[1], a.coord_xyz[0]))
        self.skipped: list[tuple[Location, str]] = []
        self._cache: OrderedDict[str, Scan] = OrderedDict()
        self._cache_size = max(1, int(cache_scans))

    def __len__(self) -> int:
        return len(self.locations)

    def _item_index(self, index: int) -> int:
        """``index`` made non-negative (Python's negative indexing); IndexError when out of range."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return index

    def scan(self, seriesuid: str) -> Scan:
        """The scan, read at most once while it stays among the ``cache_scans`` most recent."""
        if seriesuid in self._cache:
            self._cache.move_to_end(seriesuid)
            return self._cache[seriesuid]
        scan = self.dataset.load(seriesuid)
        if not scan.source.meta.get("series_uid"):
            scan.source.meta["series_uid"] = seriesuid
        self._cache[seriesuid] = scan
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return scan

    def geometry(self, seriesuid: str) -> Scan:
        """The scan's geometry: header only for ITK files (voxels all 0), else the full scan."""
        from mitsgan.io.itk_formats import itk_format_of

        path = self.dataset.scans.get(seriesuid)
        if seriesuid not in self._cache and path is not None and path.is_file() and itk_format_of(path):
            from mitsgan.io.itk_formats import read_itk_geometry

            return read_itk_geometry(path)
        return self.scan(seriesuid)

    def _drop_unusable(self, check: Callable[[Scan, Location], None]) -> None:
        """Cut nothing, but drop (into ``self.skipped``) locations ``check`` refuses."""
        keep = []
        geom: dict[str, Scan] = {}
        for loc in self.locations:
            try:
                if loc.seriesuid not in geom:
                    geom = {loc.seriesuid: self.geometry(loc.seriesuid)}
                check(geom[loc.seriesuid], loc)
                keep.append(loc)
            except SampleError as exc:
                self.skipped.append((loc, str(exc)))
        self.locations = keep


class CubeSamples(_LocationSamples):
    """Cubes around the nodules (``kind='nodules'``) or healthy candidates (``'healthy'``) of a split.

    Items are :class:`Sample` ``(image (1, n, n, n) float32 HU tensor, Location,
    center_zyx)``; ``n = round(size_mm / spacing_mm)``. ``split=None`` takes
    every scan. ``edge`` decides what happens to a cube that would stick out of
    its scan: ``'skip'`` (default) drops the location when the dataset is
    created (reads each scan once, in order; dropped ones are listed in
    ``self.skipped``), ``'pad'`` fills with -1000 HU, ``'error'`` raises
    :class:`SampleError` when the item is read. Scans are read lazily, in
    seriesuid order, through an LRU cache of ``cache_scans``; ``preload()`` cuts
    every cube once so later epochs never touch the disk. Use
    ``collate_fn=collate_samples`` in a DataLoader.
    """

    def __init__(self, dataset: Dataset, split: str | None = "train", kind: str = "nodules",
                 min_diameter_mm: float | None = None, max_diameter_mm: float | None = None,
                 size_mm: float = 32.0, spacing_mm: float = 1.0, edge: str = "skip",
                 cache_scans: int = 2, transform: Callable[[Any], Any] | None = None):
        super().__init__(dataset, split, kind, min_diameter_mm, max_diameter_mm, cache_scans, transform)
        if edge not in ("skip", "pad", "error"):
            raise ValueError(f"edge must be 'skip', 'pad' or 'error', got {edge!r}")
        self.size_mm = float(size_mm)
        self.spacing_mm = float(spacing_mm)
        self.edge = edge
        self._cubes: dict[int, np.ndarray] = {}
        if edge == "skip":
            self._drop_unusable(self._check)

    def _check(self, scan: Scan, loc: Location) -> None:
        grid = cube_grid(scan, loc.coord_xyz, self.size_mm, self.spacing_mm, world=True)
        over, axis = _overhang_mm(scan, np.asarray(grid.start_zyx), np.asarray(grid.end_zyx))
        if over > 1e-6:
            raise SampleError(f"cube sticks out of scan {loc.seriesuid} by {over:.2f} mm along {axis}",
                              loc.seriesuid, loc.coord_xyz)

    def cube(self, index: int) -> np.ndarray:
        """The HU cube of item ``index`` as a numpy array (n, n, n)."""
        if index in self._cubes:
            return self._cubes[index]
        loc = self.locations[index]
        return cube_at(self.scan(loc.seriesuid), loc.coord_xyz, self.size_mm, self.spacing_mm,
                       world=True, require_inside=self.edge != "pad")

    def preload(self, progress: bool = False) -> "CubeSamples":
        """Cut every cube now (each scan read once) and keep them in memory."""
        items = range(len(self))
        if progress:
            from tqdm import tqdm

            items = tqdm(items, desc="cutting cubes", unit="cube", leave=False)
        for i in items:
            self._cubes[i] = self.cube(i)
        self._cache.clear()
        return self

    def __getitem__(self, index: int) -> Sample:
        import torch

        index = self._item_index(index)
        image = torch.from_numpy(np.ascontiguousarray(self.cube(index), dtype=np.float32))[None]
        if self.transform is not None:
            image = self.transform(image)
        n = image.shape[-1]
        center = torch.full((3,), (n - 1) / 2.0, dtype=torch.float64)
        return Sample(image, self.locations[index], center)


class SliceSamples(_LocationSamples):
    """Stacks of ``n_slices`` whole axial slices around each nodule / healthy candidate (2-D protector).

    Items are :class:`Sample` ``(image (n_slices, y, x) float32 HU tensor,
    Location, center_zyx)`` where ``center_zyx`` is the location in the stack's
    index space (z relative to the first slice of the stack, continuous).
    Slices keep the scan's native in-plane size and spacing. ``edge`` as in
    :class:`CubeSamples` (``'pad'`` fills missing slices with -1000 HU).
    """

    def __init__(self, dataset: Dataset, split: str | None = "train", kind: str = "nodules",
                 n_slices: int = 1, min_diameter_mm: float | None = None,
                 max_diameter_mm: float | None = None, edge: str = "skip", cache_scans: int = 2,
                 transform: Callable[[Any], Any] | None = None):
        super().__init__(dataset, split, kind, min_diameter_mm, max_diameter_mm, cache_scans, transform)
        if edge not in ("skip", "pad", "error"):
            raise ValueError(f"edge must be 'skip', 'pad' or 'error', got {edge!r}")
        if int(n_slices) < 1:
            raise ValueError(f"n_slices must be at least 1, got {n_slices}")
        self.n_slices = int(n_slices)
        self.edge = edge
        if edge == "skip":
            self._drop_unusable(lambda scan, loc: _stack_start(scan, loc.coord_xyz, self.n_slices,
                                                               world=True, require_inside=True))

    def stack(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(HU stack (n_slices, y, x), location (z, y, x) in the stack) of item ``index``."""
        loc = self.locations[index]
        scan = self.scan(loc.seriesuid)
        stack, z_start = slice_stack_at(scan, loc.coord_xyz, self.n_slices, world=True,
                                        require_inside=self.edge != "pad")
        zyx = world_to_voxel(scan, loc.coord_xyz)
        return stack, np.array([zyx[0] - z_start, zyx[1], zyx[2]])

    def __getitem__(self, index: int) -> Sample:
        import torch

        index = self._item_index(index)
        stack, center = self.stack(index)
        image = torch.from_numpy(stack)
        if self.transform is not None:
            image = self.transform(image)
        return Sample(image, self.locations[index], torch.from_numpy(center))
