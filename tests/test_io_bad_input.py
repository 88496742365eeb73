"""Bad input: one-line error naming the file and the reason, exit code 2, nothing written,
input untouched."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _helpers_io import synthetic_dicom, synthetic_scan, tree_digest
from mitsgan.cli.main import main
from mitsgan.io import write_scan


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def assert_refused(capsys, tmp_path, source: Path, expect: list[str], named: Path | None = None,
                   extra: tuple = ()):
    before = tree_digest(source)
    out = tmp_path / "out"
    code, err = run_cli(capsys, "convert", source, out, *extra)
    assert code == 2, err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert str(named or source) in err, err
    for word in expect:
        assert word in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")], "temporary left behind"
    assert tree_digest(source) == before
    code, err = run_cli(capsys, "info", source, *extra)
    assert code == 2 and str(named or source) in err


def dicom_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dcm"))


def test_folder_without_dicom(tmp_path, capsys):
    src = tmp_path / "empty"
    src.mkdir()
    (src / "notes.txt").write_text("not an image")
    assert_refused(capsys, tmp_path, src, ["no DICOM files found"])


def test_truncated_dicom(tmp_path, capsys):
    src = synthetic_dicom(tmp_path / "src")
    victim = dicom_files(src)[2]
    victim.write_bytes(victim.read_bytes()[:1500])
    assert_refused(capsys, tmp_path, src, ["truncated"], named=victim)


def test_corrupt_dicom(tmp_path, capsys):
    src = synthetic_dicom(tmp_path / "src")
    victim = dicom_files(src)[1]
    victim.write_bytes(b"\0" * 128 + b"DICM" + np.random.default_rng(0).bytes(400))
    assert_refused(capsys, tmp_path, src, ["corrupt"], named=victim)


def test_non_ct_modality(tmp_path, capsys):
    src = synthetic_dicom(tmp_path / "src")
    for f in dicom_files(src):
        ds = pydicom.dcmread(f)
        ds.Modality = "MR"
        ds.save_as(f)
    assert_refused(capsys, tmp_path, src, ["MR", "not CT"])


def test_several_series_without_choice(tmp_path, capsys):
    src = tmp_path / "src"
    synthetic_dicom(src / "a", seed=1)
    synthetic_dicom(src / "b", seed=2)
    assert_refused(capsys, tmp_path, src, ["2 CT series", "--series"])
    uid = pydicom.dcmread(dicom_files(src / "b")[0]).SeriesInstanceUID
    code, err = run_cli(capsys, "convert", src, tmp_path / "chosen.nrrd", "--series", uid)
    assert code == 0, err
    assert (tmp_path / "chosen.nrrd").exists()


def test_missing_pixel_data(tmp_path, capsys):
    src = synthetic_dicom(tmp_path / "src")
    victim = dicom_files(src)[3]
    ds = pydicom.dcmread(victim)
    del ds.PixelData
    ds.save_as(victim)
    assert_refused(capsys, tmp_path, src, ["no pixel data"], named=victim)


@pytest.mark.parametrize("problem,expect", [
    ("missing", ["1 missing slice"]),
    ("uneven", ["non-uniform slice spacing"]),
    ("tilt", ["gantry tilt"]),
    ("duplicate", ["duplicate slice"]),
])
def test_bad_slice_geometry(tmp_path, capsys, problem, expect):
    src = synthetic_dicom(tmp_path / "src", shape=(8, 32, 32))
    files = dicom_files(src)
    if problem == "missing":
        files[4].unlink()
    else:
        for i, f in enumerate(files):
            ds = pydicom.dcmread(f)
            x, y, z = (float(v) for v in ds.ImagePositionPatient)
            if problem == "uneven" and i >= 5:
                z += 0.7
            if problem == "tilt":
                y += 0.5 * i
            if problem == "duplicate" and i == 5:
                z -= 2.0
            ds.ImagePositionPatient = [x, y, z]
            ds.save_as(f)
    before = tree_digest(src)
    code, err = run_cli(capsys, "convert", src, tmp_path / "out")
    assert code == 2 and all(e in err for e in expect), err
    assert not (tmp_path / "out").exists() and tree_digest(src) == before


def test_mhd_without_raw(tmp_path, capsys):
    path = write_scan(synthetic_scan(), tmp_path / "src" / "scan.mhd")
    for raw in path.parent.glob("scan.*raw"):
        raw.unlink()
    assert_refused(capsys, tmp_path, path, ["data file", "missing"])


def test_non_finite_values(tmp_path, capsys):
    arr = synthetic_scan().hu.copy()
    arr[2, 5, 5] = np.nan
    arr[3, 6, 6] = np.inf
    path = tmp_path / "src" / "nan.nrrd"
    path.parent.mkdir()
    sitk.WriteImage(sitk.GetImageFromArray(arr), str(path))
    assert_refused(capsys, tmp_path, path, ["2 voxel(s) are NaN or infinite"])


def test_output_exists_needs_overwrite(tmp_path, capsys):
    src = write_scan(synthetic_scan(), tmp_path / "in.nrrd")
    out = tmp_path / "out.nii.gz"
    out.write_bytes(b"precious")
    code, err = run_cli(capsys, "convert", src, out)
    assert code == 2 and str(out) in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    code, err = run_cli(capsys, "convert", src, out, "--overwrite")
    assert code == 0 and out.read_bytes() != b"precious"


def test_existing_dicom_output_folder_needs_overwrite(tmp_path, capsys):
    src = write_scan(synthetic_scan(), tmp_path / "in.nrrd")
    (tmp_path / "dcm").mkdir()
    (tmp_path / "dcm" / "keep.txt").write_text("x")
    code, err = run_cli(capsys, "convert", src, tmp_path / "dcm")
    assert code == 2 and (tmp_path / "dcm" / "keep.txt").exists()


def test_unknown_format(tmp_path, capsys):
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG")
    code, err = run_cli(capsys, "info", path)
    assert code == 2 and "unknown scan format" in err


def test_real_process_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mitsgan.cli.main", "info", str(tmp_path / "nope")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'nope'}: no such file or folder"
