"""LUNA16 (``subset*/<seriesuid>.mhd`` + ``annotations.csv`` [+ candidates]) -> dataset folder."""
from __future__ import annotations

from pathlib import Path

from mitsgan.data.builders.common import (
    BuildResult, Warn, check_out, collecting, finish, keep_inside, place_itk_file,
    progress as _progress,
)
from mitsgan.data.builders.tables import (
    group_by_series, read_luna_candidates, read_nodule_table, read_patients_csv, resolve_rows,
)
from mitsgan.data.dataset import LOCATION_COLUMNS, Location, find_scans
from mitsgan.errors import InputError
from mitsgan.io.atomic import atomic_path
from mitsgan.io.itk_formats import read_itk_geometry


def build_luna16(root: str | Path, out: str | Path, seed: int = 0, overwrite: bool = False,
                 link: bool = False, patients_csv: str | Path | None = None,
                 candidates_csv: str | Path | None = None, allow_missing_scans: bool = False,
                 drop_outside: bool = False, test_fraction: float = 0.2, progress: bool = False,
                 warn: Warn | None = None) -> BuildResult:
    """LUNA16 (``subset*/<seriesuid>.mhd`` + ``annotations.csv``) -> dataset folder.

    ``candidates.csv`` (or ``candidates_V2.csv``, preferred when both exist, or
    ``candidates_csv``) is optional; its ``class == 0`` rows become healthy
    locations (diameter 0). Every annotated or candidate series must have a scan
    (``allow_missing_scans`` drops those rows with a warning instead, e.g. when
    only some subsets were downloaded) and every point must lie inside its scan
    (``drop_outside`` drops instead). Scans are copied (``link``: symlinked);
    each series is its own patient unless ``patients_csv`` maps them.
    """
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise InputError(root, "LUNA16 root folder does not exist")
    check_out(out, [root], overwrite)
    warned, w = collecting(warn)
    ann_path = root / "annotations.csv"
    kind, rows = read_nodule_table(ann_path)
    if kind != "world":
        raise InputError(ann_path, "LUNA16 annotations need columns " + ", ".join(LOCATION_COLUMNS))
    if candidates_csv is None:
        for name in ("candidates_V2.csv", "candidates.csv"):
            if (root / name).exists():
                candidates_csv = root / name
                break
    cand_rows = read_luna_candidates(Path(candidates_csv)) if candidates_csv else None
    scans = find_scans(root)
    if not scans:
        raise InputError(root, "no scans found (expected subset*/<seriesuid>.mhd)")
    patients = read_patients_csv(patients_csv) if patients_csv else {}
    ann = resolve_rows(rows, scans, ann_path, allow_missing_scans, w)
    cand = (resolve_rows(cand_rows, scans, Path(candidates_csv), allow_missing_scans, w)  # type: ignore[arg-type]
            if cand_rows is not None else None)
    ann_of = {uid: [(Location(r.seriesuid, r.world_xyz, r.diameter_mm, r.extra), r.line)  # type: ignore[arg-type]
                    for r in group] for uid, group in group_by_series(ann).items()}
    cand_of = {uid: [(Location(r.seriesuid, r.world_xyz, 0.0), r.line)  # type: ignore[arg-type]
                     for r in group] for uid, group in group_by_series(cand or []).items()}
    annotations: list[Location] = []
    candidates: list[Location] = []
    patient_of: dict[str, str] = {}
    unmapped = 0
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        for uid in _progress(sorted(scans), progress, "checking and copying LUNA16 scans"):
            geom = read_itk_geometry(scans[uid])
            annotations += keep_inside(geom, ann_of.get(uid, []), ann_path, drop_outside, w)
            candidates += keep_inside(geom, cand_of.get(uid, []), Path(candidates_csv or ""),
                                      drop_outside, w)
            place_itk_file(scans[uid], uid, tmp, link)
            if uid not in patients:
                unmapped += 1
            patient_of[uid] = patients.get(uid, uid)
        if patients and unmapped:
            w(f"{patients_csv}: {unmapped} scan(s) not listed: each is its own patient")
        result = finish(tmp, out, annotations, candidates if cand is not None else None,
                        patient_of, seed, test_fraction, warned)
    return result
