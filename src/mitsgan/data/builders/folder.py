"""Any scans (MHD/NRRD/NIfTI files, DICOM series folders) + a nodule CSV -> dataset folder."""
from __future__ import annotations

from pathlib import Path

from mitsgan.data.builders.common import (
    BuildResult, Warn, check_out, collecting, finish, keep_inside, progress as _progress,
)
from mitsgan.data.builders.dicom_discovery import discover_dicom_series
from mitsgan.data.builders.tables import (
    NoduleRow, group_by_series, read_nodule_table, read_patients_csv, resolve_rows,
)
from mitsgan.data.dataset import Location, find_scans
from mitsgan.errors import InputError
from mitsgan.geometry import pixel_to_world
from mitsgan.io.atomic import atomic_path
from mitsgan.io.itk_formats import write_itk
from mitsgan.io.scan import Scan


def build_folder(scans_dir: str | Path, nodules_csv: str | Path, out: str | Path, seed: int = 0,
                 overwrite: bool = False, candidates_csv: str | Path | None = None,
                 patients_csv: str | Path | None = None, allow_missing_scans: bool = False,
                 drop_outside: bool = False, test_fraction: float = 0.2, progress: bool = False,
                 warn: Warn | None = None) -> BuildResult:
    """Any scans (MHD/NRRD/NIfTI files, DICOM series folders) + a nodule CSV -> dataset folder.

    A file's seriesuid is its stem; a DICOM series' is its SeriesInstanceUID
    (its folder name is accepted too in the CSV). The nodule CSV is in LUNA16
    columns (world mm) or in the pixel layout ``series_uid, row, col, z_mm,
    diameter_mm`` (``patient_id`` optional), converted to world mm through each
    scan's geometry. Patient ids: ``patients_csv``, else the DICOM PatientID,
    else the CSV's ``patient_id``, else the seriesuid. Scans are converted to
    ``<seriesuid>.mhd``.
    """
    from mitsgan.io import read_scan

    scans_dir, out, nodules_csv = Path(scans_dir), Path(out), Path(nodules_csv)
    if not scans_dir.is_dir():
        raise InputError(scans_dir, "scans folder does not exist")
    check_out(out, [scans_dir], overwrite)
    warned, w = collecting(warn)
    _, rows = read_nodule_table(nodules_csv)
    cand_rows = read_nodule_table(candidates_csv, healthy=True)[1] if candidates_csv else None

    sources: dict[str, tuple[Path, str | None]] = {}  # uid -> (path, DICOM series uid or None)
    for uid, p in find_scans(scans_dir).items():
        sources[uid] = (p, None)
    dicom = discover_dicom_series(scans_dir, warn=w, progress=progress)
    aliases: dict[str, str] = {}
    for uid, s in sorted(dicom.items()):
        if s.modality and s.modality != "CT":
            continue
        if uid in sources:
            raise InputError(s.folder, f"series {uid} is also the scan {sources[uid][0]}")
        sources[uid] = (s.folder, uid)
        if s.folder.name != uid and s.folder.name not in sources:
            aliases[s.folder.name] = uid
    if not sources:
        raise InputError(scans_dir, "no scans found (.mhd, .nrrd, .nii(.gz) files or DICOM series)")
    for r in rows + (cand_rows or []):
        r.seriesuid = aliases.get(r.seriesuid, r.seriesuid)
    rows = resolve_rows(rows, sources, nodules_csv, allow_missing_scans, w)
    if cand_rows is not None:
        cand_rows = resolve_rows(cand_rows, sources, Path(candidates_csv), allow_missing_scans, w)  # type: ignore[arg-type]
    patients = read_patients_csv(patients_csv) if patients_csv else {}
    csv_patient = {r.seriesuid: r.patient_id for r in rows if r.patient_id}
    nodules_of = group_by_series(rows)
    healthy_of = group_by_series(cand_rows or [])

    annotations: list[Location] = []
    candidates: list[Location] = []
    patient_of: dict[str, str] = {}
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        for uid in _progress(sorted(sources), progress, "converting scans"):
            path, series_uid = sources[uid]
            scan = read_scan(path, series_uid=series_uid)
            annotations += keep_inside(
                scan, [(_place_row(scan, r, uid), r.line) for r in nodules_of.get(uid, [])],
                nodules_csv, drop_outside, w)
            healthy = [(_place_row(scan, r, uid), r.line) for r in healthy_of.get(uid, [])]
            for loc, _ in healthy:
                loc.diameter_mm = 0.0
            candidates += keep_inside(scan, healthy, Path(candidates_csv or ""), drop_outside, w)
            header_pid = dicom[series_uid].patient_id if series_uid else scan.source.meta.get("patient_id")
            patient_of[uid] = str(patients.get(uid) or header_pid or csv_patient.get(uid) or uid)
            write_itk(scan, tmp / f"{uid}.mhd")
        result = finish(tmp, out, annotations, candidates if cand_rows is not None else None,
                        patient_of, seed, test_fraction, warned)
    return result


def _place_row(scan: Scan, r: NoduleRow, uid: str) -> Location:
    if r.world_xyz is not None:
        xyz = r.world_xyz
    else:
        row, col, z_mm = r.pixel  # type: ignore[misc]
        xyz = tuple(float(v) for v in pixel_to_world(scan, row, col, z_mm))  # type: ignore[assignment]
    return Location(uid, xyz, r.diameter_mm, dict(r.extra))
