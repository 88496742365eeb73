"""Read and write CT scans: DICOM series, MHD/RAW, NRRD, NIfTI, all as :class:`Scan` in HU.

``read_scan(path)`` picks the reader from the path (a folder is a DICOM series);
``write_scan(scan, path)`` picks the writer the same way and writes atomically.
"""
from __future__ import annotations

from pathlib import Path

from mitsgan.errors import InputError
from mitsgan.io.atomic import atomic_path
from mitsgan.io.itk_formats import itk_format_of, read_itk, write_itk
from mitsgan.io.scan import Scan, ScanSource

__all__ = ["Scan", "ScanSource", "read_scan", "write_scan", "InputError", "output_format_of"]


def read_scan(path: str | Path, series_uid: str | None = None) -> Scan:
    """Load a scan in HU. A folder (or a single .dcm file's folder) is read as a DICOM series."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or folder")
    if path.is_dir():
        from mitsgan.io.dicom_read import read_dicom_series

        return read_dicom_series(path, series_uid=series_uid)
    if itk_format_of(path):
        return read_itk(path)
    if path.suffix.lower() in (".dcm", ".ima", "") or _has_dicom_magic(path):
        from mitsgan.io.dicom_read import read_dicom_series

        return read_dicom_series(path.parent, series_uid=series_uid, only_file=path)
    raise InputError(path, "unknown scan format (expected a DICOM folder, .mhd, .nrrd, .nii or .nii.gz)")


def _has_dicom_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def output_format_of(path: str | Path) -> str:
    """'dicom' for a folder-like path (no known extension), else the ITK format."""
    fmt = itk_format_of(path)
    if fmt:
        return fmt
    if Path(path).suffix == "" or Path(path).is_dir():
        return "dicom"
    raise InputError(path, "unknown output format (use .mhd, .nrrd, .nii, .nii.gz, or a folder for DICOM)")


def write_scan(scan: Scan, path: str | Path, overwrite: bool = False,
               derivation: str = "mitsgan export") -> Path:
    """Write atomically; a folder path means a DICOM series (a derived series of the source)."""
    path = Path(path)
    fmt = output_format_of(path)
    if fmt == "dicom":
        from mitsgan.io.dicom_write import write_dicom_series

        with atomic_path(path, overwrite=overwrite, is_dir=True) as tmp:
            write_dicom_series(scan, tmp, derivation=derivation)
    else:
        with atomic_path(path, overwrite=overwrite) as tmp:
            write_itk(scan, tmp)
    return path
