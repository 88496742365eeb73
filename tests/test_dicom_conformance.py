"""dciodvfy (dicom3tools), as a hospital's systems check it, finds no new error in what we write."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from _helpers_io import synthetic_scan
from conftest import shared_path
from mitsgan.io import read_scan, write_scan

DCIODVFY = shutil.which("dciodvfy")
pytestmark = pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy not installed (Debian package dicom3tools)")


def errors(path) -> set[str]:
    out = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True)
    return {ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")}


def test_series_from_non_dicom_source_has_no_error(tmp_path):
    write_scan(synthetic_scan(), tmp_path / "d")
    for f in sorted((tmp_path / "d").glob("*.dcm"))[:3]:
        assert errors(f) == set(), f


@pytest.mark.parametrize("name", ["lidc/LIDC-IDRI-0001", "totalsegmentator/dicom_jpeg2000"])
def test_derived_series_adds_no_error(tmp_path, name):
    folder = shared_path(*name.split("/"))
    scan = read_scan(folder)
    write_scan(scan, tmp_path / "d")
    written = sorted((tmp_path / "d").glob("*.dcm"))
    for z in (0, len(written) - 1):
        source_errors = errors(scan.source.meta["files"][z])
        assert errors(written[z]) <= source_errors
