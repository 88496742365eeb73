"""Round trips between formats keep voxels exact and geometry within 1e-4 mm."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _helpers_io import synthetic_scan
from conftest import shared_path
from mitsgan.io import read_scan, write_scan
from mitsgan.io.dicom_write import encode_hu


def assert_same_scan(a, b, exact=True):
    assert a.shape == b.shape
    if exact:
        np.testing.assert_array_equal(a.hu, b.hu)
    np.testing.assert_allclose(a.spacing_zyx, b.spacing_zyx, atol=1e-4)
    np.testing.assert_allclose(a.origin_xyz, b.origin_xyz, atol=1e-4)
    np.testing.assert_allclose(a.direction_xyz, b.direction_xyz, atol=1e-6)


def check_derived_dicom(folder, source_headers):
    files = sorted(folder.glob("*.dcm"))
    src = source_headers[0]
    series = set()
    sops = set()
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        assert ds.DerivationDescription
        for keyword in ("PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
            assert ds.get(keyword) == src.get(keyword), keyword
        series.add(ds.SeriesInstanceUID)
        sops.add(ds.SOPInstanceUID)
    source_sops = {str(h.SOPInstanceUID) for h in source_headers}
    assert len(series) == 1 and series.isdisjoint({str(src.SeriesInstanceUID)})
    assert len(sops) == len(files) and sops.isdisjoint(source_sops)
    # SimpleITK (GDCM) reads the same geometry.
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


@pytest.mark.parametrize("name", ["LIDC-IDRI-0001", "LIDC-IDRI-0003"])
def test_dicom_to_dicom(tmp_path, name):
    scan = read_scan(shared_path("lidc", name))
    write_scan(scan, tmp_path / "out")
    back = read_scan(tmp_path / "out")
    assert_same_scan(scan, back)
    image = check_derived_dicom(tmp_path / "out", scan.source.dicom_headers)
    np.testing.assert_allclose(image.GetOrigin(), scan.origin_xyz, atol=1e-4)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), scan.hu)


def test_dicom_to_mhd_to_dicom(tmp_path):
    scan = read_scan(shared_path("lidc", "LIDC-IDRI-0002"))
    write_scan(scan, tmp_path / "scan.mhd")
    assert (tmp_path / "scan.raw").exists() or (tmp_path / "scan.zraw").exists()
    mhd = read_scan(tmp_path / "scan.mhd")
    assert_same_scan(scan, mhd)
    write_scan(mhd, tmp_path / "dicom")
    assert_same_scan(scan, read_scan(tmp_path / "dicom"))


def test_compressed_dicom_to_uncompressed(tmp_path):
    scan = read_scan(shared_path("totalsegmentator", "dicom_jpeg2000"))
    write_scan(scan, tmp_path / "out")
    assert_same_scan(scan, read_scan(tmp_path / "out"))


def test_nrrd_to_nifti(tmp_path):
    scan = read_scan(shared_path("pyradiomics", "lung1_image.nrrd"))
    for name in ("lung1.nii.gz", "lung1.nii", "lung1.nrrd"):
        assert_same_scan(scan, read_scan(write_scan(scan, tmp_path / name)))


@pytest.mark.parametrize("suffix", [".mhd", ".nrrd", ".nii.gz", ""])
def test_synthetic_roundtrip_with_rotation(tmp_path, suffix):
    angle = np.radians(20)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    scan = synthetic_scan(direction=rot)
    assert_same_scan(scan, read_scan(write_scan(scan, tmp_path / f"s{suffix}")))


def test_fractional_hu_survive_dicom(tmp_path):
    scan = synthetic_scan()
    scan = scan.with_hu(scan.hu + np.float32(0.3))
    back = read_scan(write_scan(scan, tmp_path / "frac"))
    assert np.abs(back.hu - scan.hu).max() <= 1 / 16  # power-of-two slope <= 1/8 for this range
    assert_same_scan(scan, back, exact=False)


def test_encode_hu_is_exact_for_whole_hu():
    hu = np.array([[[-1024, 0, 3071]]], dtype=np.float32)
    stored, slope, intercept = encode_hu(hu)
    assert stored.dtype == np.int16 and (slope, intercept) == (1.0, 0.0)
    np.testing.assert_array_equal(stored * slope + intercept, hu)


def test_minimal_header_from_non_dicom(tmp_path):
    scan = synthetic_scan()
    write_scan(scan, tmp_path / "d")
    ds = pydicom.dcmread(sorted((tmp_path / "d").glob("*.dcm"))[0])
    assert ds.Modality == "CT" and ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.StudyInstanceUID and ds.FrameOfReferenceUID and ds.SeriesInstanceUID
