"""MHD/RAW (LUNA16), NRRD and NIfTI through SimpleITK.

SimpleITK already handles each format's orientation conventions (NIfTI's RAS
sform/qform is converted to ITK's LPS), so these readers only translate its
image into a :class:`Scan` and check what can go wrong with user files.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from mitsgan.errors import InputError
from mitsgan.io.scan import Scan, ScanSource, check_finite

SUFFIX_FORMATS = {
    ".mhd": "mhd",
    ".mha": "mhd",
    ".nrrd": "nrrd",
    ".nhdr": "nrrd",
    ".nii": "nifti",
    ".nii.gz": "nifti",
}


def itk_format_of(path: str | Path) -> str | None:
    """The format named by the file's extension, or None when it is not an ITK format."""
    name = Path(path).name.lower()
    for suffix, fmt in sorted(SUFFIX_FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def _check_mhd_data_file(path: Path) -> None:
    """Name a missing RAW file ourselves: ITK's own message is a stack of C++ text."""
    if path.suffix.lower() != ".mhd":
        return
    try:
        header = path.read_text(errors="replace")
    except OSError as exc:
        raise InputError(path, f"cannot read header: {exc.strerror}") from exc
    m = re.search(r"^\s*ElementDataFile\s*=\s*(.+?)\s*$", header, flags=re.MULTILINE)
    if not m:
        raise InputError(path, "MHD header has no ElementDataFile entry")
    data = m.group(1)
    if data.upper() != "LOCAL" and not (path.parent / data).exists():
        raise InputError(path, f"MHD data file {data!r} is missing")


def read_itk(path: str | Path) -> Scan:
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    _check_mhd_data_file(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((ln for ln in first if "ERROR" in ln or "error" in ln), first[-1] if first else "")
        raise InputError(path, f"cannot read image ({detail.strip()[:200]})") from exc
    if image.GetDimension() != 3:
        raise InputError(path, f"expected a 3-D volume, got {image.GetDimension()}-D")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(path, "expected one value per voxel (grey-level CT), got a vector image")
    hu = sitk.GetArrayFromImage(image).astype(np.float32)  # (z, y, x)
    check_finite(hu, path)
    sx, sy, sz = image.GetSpacing()
    meta = {"modality": "CT", "pixel_type": image.GetPixelIDTypeAsString()}
    for key in image.GetMetaDataKeys():
        if key.lower() in ("modality", "patient_id", "series_uid"):
            meta[key.lower()] = image.GetMetaData(key)
    return Scan(
        hu=hu,
        spacing_zyx=(sz, sy, sx),
        origin_xyz=image.GetOrigin(),
        direction_xyz=np.asarray(image.GetDirection()).reshape(3, 3),
        source=ScanSource(format=itk_format_of(path) or "itk", path=str(path), meta=meta),
    )


def read_itk_geometry(path: str | Path) -> Scan:
    """A Scan carrying only the geometry of an ITK file (header read, no voxels).

    ``hu`` is a read-only broadcast of 0 with the volume's shape (no memory), so
    coordinate code can use it like any scan.
    """
    path = Path(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(path, "cannot read the image header") from exc
    if reader.GetDimension() != 3:
        raise InputError(path, f"expected a 3-D volume, got {reader.GetDimension()}-D")
    nx, ny, nz = reader.GetSize()
    sx, sy, sz = reader.GetSpacing()
    hu = np.broadcast_to(np.zeros((), np.float32), (nz, ny, nx))  # geometry only, no memory
    return Scan(hu=hu, spacing_zyx=(sz, sy, sx), origin_xyz=reader.GetOrigin(),
                direction_xyz=np.asarray(reader.GetDirection()).reshape(3, 3),
                source=ScanSource(format=itk_format_of(path) or "itk", path=str(path)))


def storage_array(hu: np.ndarray) -> np.ndarray:
    """int16 when every voxel is a whole HU that fits (lossless), else float32."""
    if hu.min() >= -32768 and hu.max() <= 32767:
        as_int = hu.astype(np.int16)
        if np.array_equal(as_int, hu):
            return as_int
    return hu.astype(np.float32)


def write_itk(scan: Scan, path: str | Path) -> None:
    """Write ``scan`` to ``path`` (format from the extension). Not atomic: see io.write_scan."""
    image = sitk.GetImageFromArray(storage_array(scan.hu))
    image.SetSpacing(scan.spacing_xyz)
    image.SetOrigin(scan.origin_xyz)
    image.SetDirection(tuple(float(v) for v in scan.direction_xyz.ravel()))
    compress = str(path).lower().endswith((".nii.gz", ".nrrd", ".mha"))
    sitk.WriteImage(image, str(path), useCompression=compress)
