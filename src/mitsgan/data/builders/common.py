"""What every builder shares: its result, warnings, progress, output checks and the final write."""
from __future__ import annotations

import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from mitsgan.data.dataset import (
    Location,
    make_split,
    scan_id_of,
    write_locations_csv,
    write_split_csv,
)
from mitsgan.errors import InputError
from mitsgan.geometry import contains_voxel, world_to_voxel
from mitsgan.io.atomic import refuse_existing
from mitsgan.io.itk_formats import read_itk, write_itk
from mitsgan.io.scan import Scan

Warn = Callable[[str], None]

#: ``contains_voxel`` margin that accepts points up to the voxels' outer edges
#: (half a voxel beyond the first and last centres), not only between centres.
VOXEL_EDGES = (-0.5, -0.5, -0.5)


class DatasetWarning(UserWarning):
    """Something a builder dropped or guessed on purpose (nodule outside a slab, ...)."""


def default_warn(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)


def collecting(warn: Warn | None) -> tuple[list[str], Warn]:
    """A warn function that also records every message (for :attr:`BuildResult.warnings`)."""
    warned: list[str] = []
    sink = warn or default_warn

    def w(msg: str) -> None:
        warned.append(msg)
        sink(msg)

    return warned, w


@dataclass
class BuildResult:
    """What a builder wrote."""

    out: Path
    n_scans: int
    n_annotations: int
    n_candidates: int
    n_patients: int
    split_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.split_counts.items()))
        return (f"wrote {self.out}: {self.n_scans} scan(s) of {self.n_patients} patient(s) "
                f"({counts} scans), {self.n_annotations} nodule(s), {self.n_candidates} healthy "
                f"candidate(s), {len(self.warnings)} warning(s)")


def progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (batch logs stay clean)
    return tqdm(items, desc=desc, unit="scan" if "scan" in desc else "folder", leave=False, disable=None)


def check_out(out: Path, inputs: Iterable[Path], overwrite: bool) -> None:
    refuse_existing(out, overwrite)
    o = out.resolve()
    for src in inputs:
        s = Path(src).resolve()
        if o == s or o in s.parents or s in o.parents:
            raise InputError(out, f"output folder must not be, contain or lie inside the input {src}")


def keep_inside(scan: Scan, items: list[tuple[Location, str]], where: str | Path,
                drop_outside: bool, warn: Warn) -> list[Location]:
    """The locations lying inside ``scan``; others raise InputError or (drop_outside) warn."""
    if not items:
        return []
    zyx = world_to_voxel(scan, [loc.coord_xyz for loc, _ in items])
    kept = []
    for (loc, line), p in zip(items, zyx):
        if contains_voxel(scan, p, VOXEL_EDGES):
            kept.append(loc)
            continue
        x, y, z = loc.coord_xyz
        msg = (f"{line}: point ({x:.1f}, {y:.1f}, {z:.1f}) mm is outside scan {loc.seriesuid} "
               f"(voxel z,y,x = {p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f}; shape {scan.shape})")
        if not drop_outside:
            raise InputError(where, msg + " (pass --drop-outside to drop such rows)")
        warn(f"{where}: {msg}: dropped")
    return kept


def _sorted_locations(locs: Iterable[Location]) -> list[Location]:
    return sorted(locs, key=lambda a: (a.seriesuid, a.coord_xyz[2], a.coord_xyz[1],
                                       a.coord_xyz[0], a.diameter_mm))


def finish(tmp: Path, out: Path, annotations: list[Location], candidates: list[Location] | None,
           patient_of: dict[str, str], seed: int, test_fraction: float,
           warned: list[str]) -> BuildResult:
    """Write the three CSV files into the staging folder and describe the result."""
    annotations = _sorted_locations(annotations)
    write_locations_csv(tmp / "annotations.csv", annotations)
    if candidates is not None:
        candidates = _sorted_locations(candidates)
        write_locations_csv(tmp / "candidates.csv", candidates)
    split = make_split(patient_of, test_fraction=test_fraction, seed=seed)
    write_split_csv(tmp / "split.csv", patient_of, split)
    counts: dict[str, int] = {}
    for v in split.values():
        counts[v] = counts.get(v, 0) + 1
    return BuildResult(out=out, n_scans=len(patient_of), n_annotations=len(annotations),
                       n_candidates=len(candidates or []), n_patients=len(set(patient_of.values())),
                       split_counts=counts, warnings=warned)


_DATA_FILE = re.compile(r"^(\s*ElementDataFile\s*=\s*)(.+?)\s*$", flags=re.MULTILINE)


def place_itk_file(src: Path, uid: str, dest_dir: Path, link: bool) -> None:
    """Copy (or symlink) an ITK scan as ``<uid><suffix>``; an MHD's data file follows it."""
    suffix = src.name[len(scan_id_of(src)):]
    dest = dest_dir / f"{uid}{suffix}"

    def put(a: Path, b: Path) -> None:
        if link:
            os.symlink(a.resolve(), b)
        else:
            shutil.copyfile(a, b)

    if suffix.lower() != ".mhd":
        put(src, dest)
        return
    header = src.read_text(errors="replace")
    m = _DATA_FILE.search(header)
    if not m:
        raise InputError(src, "MHD header has no ElementDataFile entry")
    data_name = m.group(2)
    if data_name.upper() == "LOCAL":
        put(src, dest)
        return
    if data_name.upper().startswith("LIST") or "%" in data_name or " " in data_name.strip():
        write_itk(read_itk(src), dest)  # multi-file data: convert instead of copying
        return
    data = src.parent / data_name
    if not data.exists():
        raise InputError(src, f"MHD data file {data_name!r} is missing")
    new_name = f"{uid}{Path(data_name).suffix or '.raw'}"  # .raw or .zraw
    put(data, dest_dir / new_name)
    if Path(data_name).name == new_name:
        put(src, dest)  # the header already names the data file as it is now called
    else:
        dest.write_text(_DATA_FILE.sub(lambda mm: mm.group(1) + new_name, header, count=1))
