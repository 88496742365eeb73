"""One dataset format for LUNA16, LIDC-IDRI, the built-in phantoms and the user's own scans.

A dataset is a folder holding:

* scans, any supported format, anywhere below the folder; a scan's id
  (``seriesuid``) is its file stem (``1.3.6...mhd`` -> ``1.3.6...``) or, for a
  DICOM series folder, the folder name;
* ``annotations.csv``: nodules, LUNA16 columns ``seriesuid, coordX, coordY,
  coordZ, diameter_mm`` (world mm, LPS), optional extra columns after them;
* ``candidates.csv`` (optional): healthy locations, same columns;
* ``split.csv``: ``seriesuid, patient_id, split`` with split ``train``/``test``,
  made per patient so no patient is on both sides (the paper's 80/20 split).
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from mitsgan.errors import InputError
from mitsgan.io.atomic import atomic_path

LOCATION_COLUMNS = ["seriesuid", "coordX", "coordY", "coordZ", "diameter_mm"]
SPLIT_COLUMNS = ["seriesuid", "patient_id", "split"]
SCAN_SUFFIXES = (".mhd", ".mha", ".nrrd", ".nhdr", ".nii", ".nii.gz")


@dataclass
class Location:
    """A point of interest in one scan: world (x, y, z) mm, diameter in mm (0 = healthy)."""

    seriesuid: str
    coord_xyz: tuple[float, float, float]
    diameter_mm: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        x, y, z = self.coord_xyz
        base = {"seriesuid": self.seriesuid, "coordX": f"{x:.4f}", "coordY": f"{y:.4f}",
                "coordZ": f"{z:.4f}", "diameter_mm": f"{self.diameter_mm:.3f}"}
        return {**base, **{k: str(v) for k, v in self.extra.items()}}


def locations_csv_text(locations: Iterable[Location]) -> str:
    """The CSV text for a list of locations (deterministic: same input, same bytes)."""
    locs = list(locations)
    extras: list[str] = []
    for loc in locs:
        extras += [k for k in loc.extra if k not in extras and k not in LOCATION_COLUMNS]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOCATION_COLUMNS + extras, lineterminator="\n")
    writer.writeheader()
    for loc in locs:
        writer.writerow(loc.row())
    return buf.getvalue()


def write_text_atomic(path: str | Path, text: str, overwrite: bool = True) -> Path:
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_locations_csv(path: str | Path, locations: Iterable[Location]) -> Path:
    return write_text_atomic(path, locations_csv_text(locations))


def read_locations_csv(path: str | Path) -> list[Location]:
    path = Path(path)
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in LOCATION_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, f"missing column(s) {', '.join(missing)}")
            out = []
            for line_no, row in enumerate(reader, start=2):
                try:
                    xyz = (float(row["coordX"]), float(row["coordY"]), float(row["coordZ"]))
                    diameter = float(row["diameter_mm"] or 0.0)
                except (TypeError, ValueError) as exc:
                    raise InputError(path, f"line {line_no}: not a number ({exc})") from exc
                extra = {k: v for k, v in row.items() if k not in LOCATION_COLUMNS and k is not None}
                out.append(Location(row["seriesuid"], xyz, diameter, extra))
            return out
    except FileNotFoundError as exc:
        raise InputError(path, "no such file") from exc


def make_split(patient_of_series: Mapping[str, str], test_fraction: float = 0.2,
               seed: int = 0) -> dict[str, str]:
    """Patient-level train/test split, stable for a seed and independent of input order.

    Each patient is ranked by a hash of (seed, patient_id); the first
    ``round(test_fraction * n_patients)`` patients (at least one when there are
    two or more) go to test. Adding a patient never moves another one's scans
    between sides except at the boundary.
    """
    patients = sorted(set(patient_of_series.values()))
    ranked = sorted(patients, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    n_test = int(round(test_fraction * len(patients)))
    if len(patients) >= 2:
        n_test = min(max(n_test, 1), len(patients) - 1)
    test = set(ranked[:n_test])
    return {s: ("test" if p in test else "train") for s, p in sorted(patient_of_series.items())}


def write_split_csv(path: str | Path, patient_of_series: Mapping[str, str],
                    split: Mapping[str, str]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SPLIT_COLUMNS)
    for s in sorted(split):
        writer.writerow([s, patient_of_series[s], split[s]])
    return write_text_atomic(path, buf.getvalue())


def read_split_csv(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if [c for c in SPLIT_COLUMNS if c not in (reader.fieldnames or [])]:
            raise InputError(path, f"split file needs columns {', '.join(SPLIT_COLUMNS)}")
        split = {row["seriesuid"]: row["split"] for row in reader}
    bad = {v for v in split.values() if v not in ("train", "test")}
    if bad:
        raise InputError(path, f"unknown split value(s) {sorted(bad)} (expected train/test)")
    return split


def scan_id_of(path: Path) -> str:
    name = path.name
    for suffix in sorted(SCAN_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_scans(root: str | Path) -> dict[str, Path]:
    """seriesuid -> scan path for every scan file below ``root`` (DICOM folders: see Dataset)."""
    root = Path(root)
    found: dict[str, Path] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name.lower().endswith(SCAN_SUFFIXES):
            found.setdefault(scan_id_of(p), p)
    return found


@dataclass
class Dataset:
    """A dataset folder opened for reading (see the module docstring for the layout)."""

    root: Path
    scans: dict[str, Path]
    annotations: list[Location]
    candidates: list[Location]
    split: dict[str, str]

    @classmethod
    def open(cls, root: str | Path) -> "Dataset":
        root = Path(root)
        if not root.is_dir():
            raise InputError(root, "dataset folder does not exist")
        ann = root / "annotations.csv"
        if not ann.exists():
            raise InputError(root, "not a dataset: annotations.csv is missing")
        scans = find_scans(root)
        for dicom_dir in sorted({p.parent for p in root.rglob("*.dcm")}):
            scans.setdefault(dicom_dir.name, dicom_dir)
        cand = root / "candidates.csv"
        split_path = root / "split.csv"
        return cls(
            root=root,
            scans=scans,
            annotations=read_locations_csv(ann),
            candidates=read_locations_csv(cand) if cand.exists() else [],
            split=read_split_csv(split_path) if split_path.exists() else {s: "train" for s in scans},
        )

    def series(self, split: str | None = None) -> list[str]:
        """Series ids present on disk, optionally only those of ``split`` ('train'/'test')."""
        return [s for s in sorted(self.scans) if split is None or self.split.get(s) == split]

    def load(self, seriesuid: str):
        from mitsgan.io import read_scan

        if seriesuid not in self.scans:
            raise InputError(self.root, f"no scan with seriesuid {seriesuid!r}")
        return read_scan(self.scans[seriesuid])

    def nodules(self, seriesuid: str) -> list[Location]:
        return [a for a in self.annotations if a.seriesuid == seriesuid]

    def healthy(self, seriesuid: str) -> list[Location]:
        return [c for c in self.candidates if c.seriesuid == seriesuid]
