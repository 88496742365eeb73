"""Real CT scans from ../shared load in correct Hounsfield units."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import ndimage

from conftest import shared_path
from mitsgan.geometry import world_to_voxel
from mitsgan.io import read_scan

LIDC = ["LIDC-IDRI-0001", "LIDC-IDRI-0002", "LIDC-IDRI-0003"]


def body_mask(hu: np.ndarray) -> np.ndarray:
    """Per slice: the largest object above -500 HU, holes filled (lungs included)."""
    m = hu > -500
    out = np.zeros_like(m)
    for z in range(m.shape[0]):
        lab, n = ndimage.label(ndimage.binary_opening(m[z], iterations=2))
        if n:
            sizes = ndimage.sum(np.ones_like(lab), lab, range(1, n + 1))
            out[z] = ndimage.binary_fill_holes(lab == int(np.argmax(sizes)) + 1)
    return out


def air_outside_body(hu: np.ndarray) -> np.ndarray:
    outside = ~ndimage.binary_dilation(body_mask(hu), iterations=3)
    return hu[outside & (hu > -1024)]  # -1024 = padding outside the field of view


def lung_parenchyma(hu: np.ndarray) -> np.ndarray:
    return hu[body_mask(hu) & (hu < -500)]


@pytest.mark.parametrize("name", LIDC)
def test_lidc_slabs_in_hu(name):
    scan = read_scan(shared_path("lidc", name))
    assert scan.source.format == "dicom" and scan.modality == "CT"
    assert scan.source.meta["patient_id"] == name
    assert abs(np.median(air_outside_body(scan.hu)) + 1000) < 50
    assert -900 <= np.median(lung_parenchyma(scan.hu)) <= -750
    # Without RescaleIntercept the median would sit near +100 (raw values): CT-GAN's bug.
    assert scan.hu.min() > -1500  # padding (-2048 in LIDC-IDRI-0001) became air


def _nodules():
    path = shared_path("lidc", "nodules.csv")
    with open(path) as f:
        return list(csv.DictReader(f))


def test_lidc_nodule_centroids_are_dense():
    checked = 0
    for row in _nodules():
        scan = read_scan(shared_path("lidc", row["patient_id"]))
        x_mm = scan.origin_xyz[0] + float(row["col"]) * scan.spacing_zyx[2]
        y_mm = scan.origin_xyz[1] + float(row["row"]) * scan.spacing_zyx[1]
        z, y, x = world_to_voxel(scan, (x_mm, y_mm, float(row["z_mm"])))
        if not 0 <= round(z) < scan.shape[0]:
            continue  # centroid outside this slab (the nodule is only partly inside)
        assert abs(y - float(row["row"])) < 1e-6 and abs(x - float(row["col"])) < 1e-6
        patch = scan.hu[round(z), round(y) - 1:round(y) + 2, round(x) - 1:round(x) + 2]
        assert patch.mean() > -300, (row["patient_id"], row["nodule"], patch.mean())
        checked += 1
    assert checked >= 2  # 0001 #0 and 0003 #1 have their centroid inside the slab


def test_lung1_nrrd_in_hu():
    scan = read_scan(shared_path("pyradiomics", "lung1_image.nrrd"))
    assert scan.shape == (48, 512, 512)
    assert scan.spacing_zyx == pytest.approx((5.0, 0.5703125, 0.5703125))
    assert abs(np.median(air_outside_body(scan.hu)) + 1000) < 50
    assert -900 <= np.median(lung_parenchyma(scan.hu)) <= -750
    label = read_scan(shared_path("pyradiomics", "lung1_label.nrrd")).hu > 0
    assert scan.hu[label].mean() > -300  # the tumour is soft tissue


def test_chest_cta_crop_nifti_in_hu():
    scan = read_scan(shared_path("totalsegmentator", "chest_cta_crop.nii.gz"))
    assert scan.source.format == "nifti" and scan.spacing_zyx == pytest.approx((1.5, 1.5, 1.5))
    lung = scan.hu[(scan.hu < -500) & (scan.hu > -1024)]  # a crop inside the chest: no outside air
    assert -900 <= np.median(lung) <= -750
    assert 100 < np.percentile(scan.hu, 99) < 1500  # contrast-filled vessels and bone


def test_jpeg2000_dicom_decoded_in_hu():
    folder = shared_path("totalsegmentator", "dicom_jpeg2000")
    scan = read_scan(folder)
    assert scan.source.meta["transfer_syntax"] == "1.2.840.10008.1.2.4.90"
    assert scan.shape == (20, 512, 512)
    assert abs(np.median(air_outside_body(scan.hu)) + 1000) < 50
    soft = scan.hu[(scan.hu > -200) & (scan.hu < 200)]
    assert 0 < np.median(soft) < 80  # abdominal soft tissue
