"""Read a CT DICOM series from a folder into a :class:`Scan` in Hounsfield units.

What goes wrong with real archives, and what we do about it:

* several series in one folder (scout, contrast phases, reformats): keep the CT
  series, or the one the user names; refuse to guess between several CT series;
* slices in arbitrary file order: sort by ImagePositionPatient projected on the
  slice normal (file names and InstanceNumber lie);
* raw stored values: apply RescaleSlope/RescaleIntercept per slice (CT-GAN's
  loader forgot this), and turn PixelPaddingValue (outside the reconstruction
  circle) into air;
* compressed pixel data: pydicom with the pylibjpeg plugins decodes JPEG, JPEG-LS,
  JPEG 2000 and RLE;
* missing slices, non-uniform spacing, gantry tilt: refused with a clear message,
  because a silently wrong z spacing puts a 32 mm cube in the wrong place.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from mitsgan.errors import InputError
from mitsgan.io.scan import Scan, ScanSource, check_finite

#: HU assigned to padding voxels (outside the field of view).
PADDING_HU = -1024.0
#: Below this nothing is physical (air is -1000 HU, noise reaches ~-1100): it is
#: padding, whatever PixelPaddingValue says (LIDC-IDRI-0001 pads with -2048 HU
#: while declaring a padding value of -2000 raw).
PADDING_BELOW_HU = -1500.0
#: Relative tolerance on slice spacing before a series counts as non-uniform.
SPACING_TOLERANCE = 0.02
#: Max angle (degrees) between the slice normal and the slice-to-slice direction.
TILT_TOLERANCE_DEG = 0.5
NON_IMAGE_SOP_CLASSES = {"1.2.840.10008.1.3.10"}  # Media Storage Directory (DICOMDIR)


def _is_dicom_candidate(path: Path) -> bool:
    """A file that claims to be DICOM: the 'DICM' magic, or a .dcm/.ima suffix."""
    if path.suffix.lower() in (".dcm", ".ima", ".dicom"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def _read_header(path: Path) -> pydicom.Dataset:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=False, defer_size="1 KB")
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"corrupt or truncated DICOM file ({type(exc).__name__}: {exc})") from exc
    if "SOPClassUID" not in ds and "SeriesInstanceUID" not in ds:
        raise InputError(path, "not a DICOM image (no SOPClassUID or SeriesInstanceUID)")
    return ds


def _collect(folder: Path, only_file: Path | None) -> list[tuple[Path, pydicom.Dataset]]:
    files = [only_file] if only_file else sorted(p for p in folder.rglob("*") if p.is_file())
    out = []
    for p in files:
        if not _is_dicom_candidate(p):
            continue
        ds = _read_header(p)
        if str(ds.get("SOPClassUID", "")) in NON_IMAGE_SOP_CLASSES:
            continue
        out.append((p, ds))
    return out


def _pick_series(folder: Path, files: list[tuple[Path, pydicom.Dataset]],
                 series_uid: str | None) -> list[tuple[Path, pydicom.Dataset]]:
    by_series: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    for p, ds in files:
        by_series[str(ds.get("SeriesInstanceUID", ""))].append((p, ds))
    if series_uid is not None:
        if series_uid not in by_series:
            raise InputError(folder, f"no series with SeriesInstanceUID {series_uid}; "
                                     f"found {', '.join(sorted(by_series)) or 'none'}")
        chosen = by_series[series_uid]
        modality = str(chosen[0][1].get("Modality", ""))
        if modality != "CT":
            raise InputError(chosen[0][0], f"modality is {modality or 'missing'}, not CT")
        return chosen
    ct = {uid: fs for uid, fs in by_series.items()
          if str(fs[0][1].get("Modality", "")) == "CT"}
    if not ct:
        modalities = sorted({str(ds.get("Modality", "missing")) for _, ds in files})
        raise InputError(files[0][0] if len(files) == 1 else folder,
                         f"no CT series (modality {', '.join(modalities)}, not CT)")
    if len(ct) > 1:
        listing = "; ".join(f"{uid} ({len(fs)} files)" for uid, fs in sorted(ct.items()))
        raise InputError(folder, f"{len(ct)} CT series found, choose one with --series: {listing}")
    return next(iter(ct.values()))


def _float_list(ds: pydicom.Dataset, keyword: str, n: int, path: Path) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != n:
        raise InputError(path, f"missing or malformed {keyword}")
    return np.asarray([float(v) for v in value], dtype=np.float64)


def _geometry(series: list[tuple[Path, pydicom.Dataset]]):
    """Sort slices along the normal; return (sorted series, spacing_zyx, origin, direction)."""
    p0, ds0 = series[0]
    iop = _float_list(ds0, "ImageOrientationPatient", 6, p0)
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    for p, ds in series:
        if not np.allclose(_float_list(ds, "ImageOrientationPatient", 6, p), iop, atol=1e-4):
            raise InputError(p, "slices have different ImageOrientationPatient")
    positions = np.array([_float_list(ds, "ImagePositionPatient", 3, p) for p, ds in series])
    order = np.argsort(positions @ normal, kind="stable")
    series = [series[i] for i in order]
    positions = positions[order]
    along = positions @ normal
    pixel = _float_list(ds0, "PixelSpacing", 2, p0)  # (row spacing = y, column spacing = x)
    if len(series) == 1:
        dz = float(ds0.get("SpacingBetweenSlices", ds0.get("SliceThickness", 1.0)) or 1.0)
    else:
        steps = np.diff(along)
        if np.any(steps < 1e-3):
            dup = series[int(np.argmin(steps)) + 1][0]
            raise InputError(dup, "two slices share the same position (duplicate slice)")
        dz = float(np.median(steps))
        off = np.abs(steps - dz) / dz
        if np.any(off > SPACING_TOLERANCE):
            i = int(np.argmax(off))
            ratio = steps[i] / dz
            what = (f"{int(round(ratio)) - 1} missing slice(s)" if abs(ratio - round(ratio)) < 0.1
                    and ratio > 1.5 else "non-uniform slice spacing")
            raise InputError(series[i + 1][0],
                             f"{what}: gap of {steps[i]:.3f} mm after z={along[i]:.3f} where the "
                             f"series spacing is {dz:.3f} mm")
        stack_dir = positions[-1] - positions[0]
        stack_dir /= np.linalg.norm(stack_dir)
        angle = np.degrees(np.arccos(np.clip(abs(stack_dir @ normal), -1, 1)))
        if angle > TILT_TOLERANCE_DEG:
            raise InputError(series[0][0], f"gantry tilt of {angle:.2f} degrees is not supported "
                                           "(slices are not stacked along their normal)")
    direction = np.stack([row_dir, col_dir, normal], axis=1)
    return series, (dz, float(pixel[0]), float(pixel[1])), tuple(positions[0]), direction


def _slice_hu(path: Path, ds: pydicom.Dataset) -> np.ndarray:
    if "PixelData" not in ds:
        raise InputError(path, "no pixel data")
    try:
        raw = ds.pixel_array
    except Exception as exc:  # decoders raise many types; all mean "cannot decode this file"
        raise InputError(path, f"cannot decode pixel data, truncated or corrupt ({type(exc).__name__}: {exc})") from exc
    if raw.ndim != 2:
        raise InputError(path, f"expected one 2-D frame per file, got pixel array {raw.shape}")
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    hu = raw.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    pad = ds.get("PixelPaddingValue")
    if pad is not None:
        pad_raw = int(pad)
        if ds.get("PixelRepresentation", 0) == 1 and pad_raw >= 2 ** (int(ds.BitsStored) - 1):
            pad_raw -= 2 ** int(ds.BitsStored)  # stored as US though the pixels are signed
        hu[raw == pad_raw] = PADDING_HU
    hu[hu < PADDING_BELOW_HU] = PADDING_HU
    return hu


def _header_only(ds: pydicom.Dataset) -> pydicom.Dataset:
    header = copy.deepcopy(ds)
    for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
        if tag in header:
            del header[tag]
    return header


def read_dicom_series(folder: str | Path, series_uid: str | None = None,
                      only_file: Path | None = None) -> Scan:
    """Load the CT series in ``folder`` (or the one named) as a Scan in HU, sorted along z."""
    folder = Path(folder)
    files = _collect(folder, only_file)
    if not files:
        raise InputError(folder, "no DICOM files found")
    series = _pick_series(folder, files, series_uid)
    series, spacing, origin, direction = _geometry(series)
    rows_cols = {(int(ds.Rows), int(ds.Columns)) for _, ds in series if "Rows" in ds}
    if len(rows_cols) > 1:
        raise InputError(folder, f"slices have different sizes {sorted(rows_cols)}")
    hu = np.stack([_slice_hu(p, ds) for p, ds in series])
    check_finite(hu, folder)
    first = series[0][1]
    meta = {
        "modality": str(first.get("Modality", "")),
        "series_uid": str(first.get("SeriesInstanceUID", "")),
        "study_uid": str(first.get("StudyInstanceUID", "")),
        "patient_id": str(first.get("PatientID", "")),
        "transfer_syntax": str(first.file_meta.get("TransferSyntaxUID", "")) if first.file_meta else "",
        "files": [str(p) for p, _ in series],
    }
    return Scan(hu=hu, spacing_zyx=spacing, origin_xyz=origin, direction_xyz=direction,
                source=ScanSource(format="dicom", path=str(folder),
                                  dicom_headers=[_header_only(ds) for _, ds in series], meta=meta))
