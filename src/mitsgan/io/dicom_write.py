"""Write a :class:`Scan` as a DICOM CT series that a PACS accepts as a derived series.

From a DICOM source every patient, study, equipment and frame-of-reference
attribute is kept (so the series files under the same patient and study and
registers with the original), while the series and every instance get new UIDs,
ImageType becomes DERIVED\\SECONDARY, a DerivationDescription says what we did
and SourceImageSequence points at the original slice. Pixels are written
uncompressed (Explicit VR Little Endian) as signed 16-bit with a
RescaleSlope/Intercept that represents the HU values exactly (fractional HU get
a power-of-two slope). A non-DICOM source gets a minimal valid CT header.
"""
from __future__ import annotations

import copy
import datetime as _dt
import math
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from mitsgan.io.itk_formats import storage_array
from mitsgan.io.scan import Scan

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
# Attributes of the source that no longer describe the written pixels.
STALE_KEYWORDS = (
    "SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue",
    "PixelPaddingRangeLimit", "SmallestPixelValueInSeries", "LargestPixelValueInSeries",
    "DataSetTrailingPadding", "FloatPixelData", "DoubleFloatPixelData", "PixelData",
    "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
)
# Type 2 attributes of the CT Image IOD: must be present, may be empty. A source
# that lacks one (LIDC lacks AcquisitionNumber) gets it written empty.
TYPE2_KEYWORDS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber", "PositionReferenceIndicator",
    "Manufacturer", "KVP", "AcquisitionNumber", "SliceThickness",
)
# BodyPartExamined values of unpaired regions: with these, Laterality must be absent.
UNPAIRED_BODY_PARTS = frozenset({
    "CHEST", "ABDOMEN", "PELVIS", "HEAD", "NECK", "SKULL", "BRAIN", "HEART", "SPINE",
    "CSPINE", "TSPINE", "LSPINE", "WHOLEBODY", "CHESTABDOMEN", "CHESTABDPELVIS",
    "ABDOMENPELVIS", "HEADNECK", "THORAX",
})


def encode_hu(hu: np.ndarray) -> tuple[np.ndarray, float, float]:
    """HU -> (int16 stored values, RescaleSlope, RescaleIntercept), exact where possible.

    Whole HU that fit int16 are stored as they are (slope 1, intercept 0). Otherwise
    the slope is the smallest power of two that fits the range, so stored * slope
    reproduces the HU to within slope / 2 and the slope prints exactly as a DS.
    """
    stored = storage_array(hu)
    if stored.dtype == np.int16:
        return stored, 1.0, 0.0
    lo, hi = float(hu.min()), float(hu.max())
    intercept = float(round((lo + hi) / 2))
    half = max(abs(lo - intercept), abs(hi - intercept), 1e-6)
    slope = 2.0 ** math.ceil(math.log2(half / 32767))
    stored = np.clip(np.round((hu - intercept) / slope), -32768, 32767).astype(np.int16)
    return stored, slope, intercept


def _ds_str(value: float) -> str:
    """A DS value (at most 16 characters)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.8e}"


def minimal_ct_header(scan: Scan) -> Dataset:
    """The Type 1 and Type 2 attributes of the CT Image IOD for a scan with no DICOM past."""
    now = _dt.datetime.now()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.PatientID = str(scan.source.meta.get("patient_id") or "MITSGAN")[:64]
    ds.StudyInstanceUID = generate_uid()
    ds.StudyDate = now.strftime("%Y%m%d")
    ds.StudyTime = now.strftime("%H%M%S")
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.SliceThickness = _ds_str(scan.spacing_zyx[0])
    # Type 2C, empty: nothing is known about the patient's position.
    ds.PatientPosition = ""
    ds.PatientOrientation = ""
    ds.ContentDate = ds.StudyDate
    ds.ContentTime = ds.StudyTime
    return ds


def _slice_dataset(template: Dataset, scan: Scan, z: int, stored: np.ndarray, slope: float,
                   intercept: float, series_uid: str, derivation: str,
                   source_sop: tuple[str, str] | None, study_uids: dict[str, str]) -> Dataset:
    ds = copy.deepcopy(template)
    for keyword in STALE_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    for keyword in TYPE2_KEYWORDS:
        if keyword not in ds:
            setattr(ds, keyword, "")
    body_part = str(ds.get("BodyPartExamined", "") or "").strip().upper()
    if body_part not in UNPAIRED_BODY_PARTS and "Laterality" not in ds:
        ds.Laterality = ""  # Type 2C: needed unless the body part is known to be unpaired
    sop_uid = generate_uid()
    direction = scan.direction_xyz
    position = np.asarray(scan.origin_xyz) + direction[:, 2] * scan.spacing_zyx[0] * z
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.SeriesInstanceUID = series_uid
    for keyword, uid in study_uids.items():  # fill Type 1 UIDs an anonymiser emptied
        if not str(ds.get(keyword, "") or ""):
            setattr(ds, keyword, uid)
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.DerivationDescription = derivation[:1024]
    description = str(template.get("SeriesDescription", "") or "")
    ds.SeriesDescription = (f"{description} " if description else "")[:40] + "(mitsgan derived)"
    ds.InstanceNumber = z + 1
    ds.ImagePositionPatient = [_ds_str(v) for v in position]
    ds.ImageOrientationPatient = [_ds_str(v) for v in np.concatenate([direction[:, 0], direction[:, 1]])]
    ds.PixelSpacing = [_ds_str(scan.spacing_zyx[1]), _ds_str(scan.spacing_zyx[2])]
    ds.SliceLocation = _ds_str(float(position @ direction[:, 2]))
    ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = _ds_str(slope)
    ds.RescaleIntercept = _ds_str(intercept)
    if source_sop is not None:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = source_sop
        ds.SourceImageSequence = [ref]
    ds.PixelData = stored[z].astype("<i2").tobytes()
    ds["PixelData"].VR = "OW"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def _source_reference(ds: Dataset) -> tuple[str, str] | None:
    """(SOP class, SOP instance) of a source slice, from its header or its file meta."""
    meta = getattr(ds, "file_meta", None) or Dataset()
    cls = str(ds.get("SOPClassUID", "") or meta.get("MediaStorageSOPClassUID", "") or "")
    inst = str(ds.get("SOPInstanceUID", "") or meta.get("MediaStorageSOPInstanceUID", "") or "")
    return (cls, inst) if cls and inst else None


def write_dicom_series(scan: Scan, folder: str | Path, derivation: str = "mitsgan export") -> list[Path]:
    """Write one file per slice into ``folder`` (which must exist). Returns the paths in z order."""
    folder = Path(folder)
    stored, slope, intercept = encode_hu(scan.hu)
    headers = scan.source.dicom_headers if scan.source.format == "dicom" else None
    per_slice = bool(headers) and len(headers) == scan.shape[0]
    template = headers[0] if headers else minimal_ct_header(scan)
    series_uid = generate_uid()
    source_number = template.get("SeriesNumber")
    series_number = (int(source_number) + 1000) % 2**31 if source_number not in (None, "") else 1
    # One replacement per series for study/frame UIDs the source left empty.
    study_uids = {"StudyInstanceUID": generate_uid(), "FrameOfReferenceUID": generate_uid()}
    paths = []
    for z in range(scan.shape[0]):
        source = headers[z] if per_slice else template
        source_sop = _source_reference(source) if per_slice else None
        ds = _slice_dataset(source, scan, z, stored, slope, intercept, series_uid, derivation,
                            source_sop, study_uids)
        ds.SeriesNumber = series_number
        path = folder / f"CT{z + 1:05d}.dcm"
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        paths.append(path)
    return paths
