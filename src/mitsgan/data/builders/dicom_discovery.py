"""Find every DICOM series below a folder by reading headers only (any folder layout)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mitsgan.data.builders.common import Warn, default_warn, progress as _progress

DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")


@dataclass
class DicomSeries:
    series_uid: str
    folder: Path
    patient_id: str
    modality: str
    n_files: int


def _looks_dicom(p: Path) -> bool:
    """A DICOM suffix, or no suffix and the 'DICM' magic (other suffixes are never DICOM here)."""
    if p.suffix and p.suffix.lower() not in DICOM_SUFFIXES:
        return False
    from mitsgan.io.dicom_read import _is_dicom_candidate

    return _is_dicom_candidate(p)


def discover_dicom_series(root: str | Path, warn: Warn | None = None,
                          progress: bool = False) -> dict[str, DicomSeries]:
    """SeriesInstanceUID -> folder for every DICOM series below ``root`` (headers only)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    warn = warn or default_warn
    root = Path(root)
    folders: dict[Path, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files = [Path(dirpath) / n for n in sorted(filenames) if not n.startswith(".")]
        files = [f for f in files if _looks_dicom(f)]
        if files:
            folders[Path(dirpath)] = files
    found: dict[str, DicomSeries] = {}
    tags = ["SeriesInstanceUID", "PatientID", "Modality"]
    for folder, files in _progress(sorted(folders.items()), progress, "reading DICOM headers"):
        per_series: dict[str, DicomSeries] = {}
        for f in files:
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=tags)
            except (InvalidDicomError, OSError, ValueError):
                continue
            uid = str(getattr(ds, "SeriesInstanceUID", "") or "")
            if not uid:
                continue
            s = per_series.get(uid)
            if s is None:
                per_series[uid] = DicomSeries(uid, folder, str(getattr(ds, "PatientID", "") or ""),
                                              str(getattr(ds, "Modality", "") or ""), 1)
            else:
                s.n_files += 1
        for uid, s in per_series.items():
            if uid in found:
                warn(f"{folder}: series {uid} also found in {found[uid].folder}: using the first")
                continue
            found[uid] = s
    return found
