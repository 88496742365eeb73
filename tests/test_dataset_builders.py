"""Dataset builders (LUNA16, any folder, LIDC-IDRI) and the patient-level split."""
from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from _helpers_data import SHARED_LIDC, ROTATED, lidc_skip_reason, make_luna_root, random_scan, uid
from mitsgan.cli.main import main
from mitsgan.data.builders import DatasetWarning, build_folder, build_lidc, build_luna16
from mitsgan.data.dataset import Dataset, make_split, read_split_csv
from mitsgan.errors import InputError
from mitsgan.geometry import voxel_to_world, world_to_voxel
from mitsgan.io import read_scan, write_scan

CSVS = ("annotations.csv", "candidates.csv", "split.csv")


def csv_bytes(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in CSVS if (folder / n).exists()}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- split


def test_split_is_by_patient_stable_and_80_20():
    series = {f"s{i:03d}": f"p{i // 2:02d}" for i in range(100)}  # 50 patients, 2 series each
    split = make_split(series, seed=7)
    test_patients = {series[s] for s, v in split.items() if v == "test"}
    train_patients = {series[s] for s, v in split.items() if v == "train"}
    assert len(test_patients) == 10 and len(train_patients) == 40
    assert test_patients.isdisjoint(train_patients)
    shuffled = dict(sorted(series.items(), key=lambda kv: kv[0][::-1]))
    assert make_split(shuffled, seed=7) == split  # input order does not matter
    assert make_split(series, seed=8) != split


# --------------------------------------------------------------------------- LUNA16


def test_luna16_build_is_deterministic_and_complete(tmp_path):
    scans = make_luna_root(tmp_path / "luna")
    a = build_luna16(tmp_path / "luna", tmp_path / "a", seed=3)
    b = build_luna16(tmp_path / "luna", tmp_path / "b", seed=3)
    assert csv_bytes(tmp_path / "a") == csv_bytes(tmp_path / "b")
    assert set(csv_bytes(tmp_path / "a")) == set(CSVS)
    assert (a.n_scans, a.n_annotations, a.n_candidates, a.n_patients) == (4, 4, 4, 4)
    assert a.split_counts == {"train": 3, "test": 1} and not a.warnings
    ds = Dataset.open(tmp_path / "a")
    assert ds.series() == sorted(scans)
    assert [r["seriesuid"] for r in rows(tmp_path / "a" / "annotations.csv")] == sorted(scans)
    assert all(c.diameter_mm == 0 for c in ds.candidates)  # class 0 only, as healthy
    for u, scan in scans.items():
        (nod,) = ds.nodules(u)
        np.testing.assert_allclose(world_to_voxel(scan, nod.coord_xyz), np.array(scan.shape) / 2, atol=1e-3)
        loaded = ds.load(u)
        np.testing.assert_array_equal(loaded.hu, scan.hu)
        assert loaded.origin_xyz == scan.origin_xyz
        src = next((tmp_path / "luna").rglob(f"{u}.raw"))
        assert (tmp_path / "a" / f"{u}.raw").read_bytes() == src.read_bytes()


def test_luna16_link_and_patients(tmp_path):
    scans = make_luna_root(tmp_path / "luna", n_series=6, candidates=False)
    patients = tmp_path / "patients.csv"
    uids = sorted(scans)
    patients.write_text("seriesuid,patient_id\n" + "".join(f"{u},P{i // 2}\n" for i, u in enumerate(uids)))
    res = build_luna16(tmp_path / "luna", tmp_path / "out", link=True, patients_csv=patients)
    assert res.n_patients == 3 and res.n_candidates == 0
    assert not (tmp_path / "out" / "candidates.csv").exists()
    assert (tmp_path / "out" / f"{uids[0]}.raw").is_symlink()
    split = read_split_csv(tmp_path / "out" / "split.csv")
    for i in range(0, 6, 2):
        assert split[uids[i]] == split[uids[i + 1]]  # one patient, one side
    np.testing.assert_array_equal(Dataset.open(tmp_path / "out").load(uids[1]).hu, scans[uids[1]].hu)


def test_luna16_bad_input(tmp_path):
    scans = make_luna_root(tmp_path / "luna")
    ann = tmp_path / "luna" / "annotations.csv"
    good = ann.read_text()

    ann.write_text(good.replace("diameter_mm", "diam"))
    with pytest.raises(InputError, match="missing column.*diameter_mm"):
        build_luna16(tmp_path / "luna", tmp_path / "out")

    ann.write_text(good + "1.2.3.999,0,0,0,5\n")
    with pytest.raises(InputError, match=r"line 6: no scan for seriesuid 1\.2\.3\.999.*--allow-missing-scans"):
        build_luna16(tmp_path / "luna", tmp_path / "out")
    with pytest.warns(DatasetWarning, match="without a scan: dropped"):
        res = build_luna16(tmp_path / "luna", tmp_path / "out", allow_missing_scans=True)
    assert res.n_annotations == 4
    shutil.rmtree(tmp_path / "out")

    u = sorted(scans)[0]
    ann.write_text(good + f"{u},0,0,500,5\n")
    with pytest.raises(InputError, match=rf"line 6: point \(0.0, 0.0, 500.0\) mm is outside scan {u}"):
        build_luna16(tmp_path / "luna", tmp_path / "out")
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path)
    with pytest.warns(DatasetWarning, match="outside scan"):
        assert build_luna16(tmp_path / "luna", tmp_path / "out", drop_outside=True).n_annotations == 4

    ann.write_text(good)
    with pytest.raises(InputError, match="already exists"):
        build_luna16(tmp_path / "luna", tmp_path / "out")
    with pytest.raises(InputError, match="must not be"):
        build_luna16(tmp_path / "luna", tmp_path / "luna" / "ds", overwrite=True)
    before = csv_bytes(tmp_path / "out")
    build_luna16(tmp_path / "luna", tmp_path / "out", overwrite=True, seed=5)
    assert csv_bytes(tmp_path / "out")["annotations.csv"] == before["annotations.csv"]
    assert no_leftovers(tmp_path)


def test_cli_dataset_luna16(tmp_path, capsys):
    make_luna_root(tmp_path / "luna")
    assert main(["dataset", "luna16", str(tmp_path / "luna"), str(tmp_path / "out"), "--quiet"]) == 0
    assert "4 nodule(s)" in capsys.readouterr().out
    assert main(["dataset", "luna16", str(tmp_path / "luna"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "already exists" in err and "\n" not in err


# --------------------------------------------------------------------------- any folder


def test_folder_world_and_pixel_tables(tmp_path):
    scans_dir = tmp_path / "scans"
    scans = {}
    for i, (fmt, direction) in enumerate([(".mhd", None), (".nrrd", ROTATED), (".nii.gz", None)]):
        scan = random_scan(shape=(10, 30, 28), seed=i, direction=direction, origin=(5.0 * i, -3.0, -50.0))
        write_scan(scan, scans_dir / f"{uid(i)}{fmt}")
        scans[uid(i)] = read_scan(scans_dir / f"{uid(i)}{fmt}")  # NIfTI may change the geometry's form
    points = {u: (4.0, 12.0, 9.0) for u in scans}

    world_csv = tmp_path / "world.csv"
    lines = ["seriesuid,coordX,coordY,coordZ,diameter_mm,texture"]
    for u in sorted(scans, reverse=True):
        x, y, z = voxel_to_world(scans[u], points[u])
        lines.append(f"{u},{x},{y},{z},6.5,solid")
    world_csv.write_text("\n".join(lines) + "\n")
    res = build_folder(scans_dir, world_csv, tmp_path / "a", seed=1)
    build_folder(scans_dir, world_csv, tmp_path / "a2", seed=1)
    assert csv_bytes(tmp_path / "a") == csv_bytes(tmp_path / "a2")
    assert res.n_scans == 3 and res.n_annotations == 3
    ds = Dataset.open(tmp_path / "a")
    assert sorted(p.name for p in ds.scans.values()) == [f"{u}.mhd" for u in sorted(scans)]
    assert rows(tmp_path / "a" / "annotations.csv")[0]["texture"] == "solid"
    for u in scans:
        out_scan = ds.load(u)
        np.testing.assert_allclose(world_to_voxel(out_scan, ds.nodules(u)[0].coord_xyz), points[u], atol=1e-3)

    # Pixel layout (as ../shared/data/ct/lidc/nodules.csv): row = y, col = x, z_mm = slice z.
    pixel_csv = tmp_path / "pixel.csv"
    lines = ["patient_id,series_uid,nodule,row,col,z_mm,diameter_mm,malignancy_median,readers"]
    for i, u in enumerate(sorted(scans)):
        z_mm = voxel_to_world(scans[u], points[u])[2]
        lines.append(f"PAT{i % 2},{u},0,{points[u][1]},{points[u][2]},{z_mm},7.0,3.5,2")
    pixel_csv.write_text("\n".join(lines) + "\n")
    build_folder(scans_dir, pixel_csv, tmp_path / "b")
    ds = Dataset.open(tmp_path / "b")
    for u in scans:
        np.testing.assert_allclose(world_to_voxel(ds.load(u), ds.nodules(u)[0].coord_xyz), points[u], atol=1e-3)
    split = rows(tmp_path / "b" / "split.csv")
    assert sorted({r["patient_id"] for r in split}) == ["PAT0", "PAT1"]
    assert rows(tmp_path / "b" / "annotations.csv")[0]["malignancy"] == "3.5"


def test_folder_bad_input(tmp_path):
    scans_dir = tmp_path / "scans"
    write_scan(random_scan(shape=(10, 30, 28)), scans_dir / f"{uid(0)}.mhd")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,x,y,z\n1,2,3,4\n")
    with pytest.raises(InputError, match="unknown nodule table: missing column"):
        build_folder(scans_dir, bad, tmp_path / "out")
    bad.write_text(f"seriesuid,coordX,coordY,coordZ,diameter_mm\n{uid(0)},1,2,abc,5\n")
    with pytest.raises(InputError, match="line 2: column coordZ is not a number"):
        build_folder(scans_dir, bad, tmp_path / "out")
    bad.write_text("seriesuid,coordX,coordY,coordZ,diameter_mm\nnope,1,2,3,5\n")
    with pytest.raises(InputError, match="no scan for seriesuid nope"):
        build_folder(scans_dir, bad, tmp_path / "out")
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("mitsgan.io.dicom_write") is None
                    or importlib.util.find_spec("mitsgan.io.dicom_read") is None,
                    reason="DICOM reader/writer not available yet")
def test_folder_dicom_series_patient_from_header(tmp_path):
    scans_dir = tmp_path / "scans"
    scan = random_scan(shape=(8, 32, 30), spacing=(2.0, 0.7, 0.7))
    write_scan(scan, scans_dir / "some_folder")
    dicom = read_scan(scans_dir / "some_folder")
    series_uid = dicom.source.meta["series_uid"]
    x, y, z = voxel_to_world(dicom, (4, 16, 15))
    table = tmp_path / "n.csv"
    table.write_text(f"seriesuid,coordX,coordY,coordZ,diameter_mm\n{series_uid},{x},{y},{z},5\n")
    build_folder(scans_dir, table, tmp_path / "out")
    ds = Dataset.open(tmp_path / "out")
    assert ds.series() == [series_uid]
    (row,) = rows(tmp_path / "out" / "split.csv")
    assert row["patient_id"] == (dicom.source.meta.get("patient_id") or series_uid)
    np.testing.assert_allclose(world_to_voxel(ds.load(series_uid), (x, y, z)), (4, 16, 15), atol=1e-3)


# --------------------------------------------------------------------------- LIDC-IDRI


@pytest.mark.skipif(lidc_skip_reason() is not None, reason=str(lidc_skip_reason()))
def test_lidc_builder_on_shared_slabs(tmp_path):
    with pytest.warns(DatasetWarning) as caught:
        res = build_lidc(SHARED_LIDC, tmp_path / "lidc", seed=0)
    dropped = [str(w.message) for w in caught if "outside the series on disk" in str(w.message)]
    expected = [r for r in rows(SHARED_LIDC / "nodules.csv")]
    inside = []
    for r in expected:
        lo, hi = (float(v) for v in r["slab_z_range"].split(".."))
        if lo <= float(r["z_mm"]) <= hi:
            inside.append(r)
    assert res.n_scans == 3 and res.n_patients == 3
    assert res.n_annotations == len(inside) == 2
    assert len(dropped) == len(expected) - len(inside)

    ds = Dataset.open(tmp_path / "lidc")
    got = rows(tmp_path / "lidc" / "annotations.csv")
    assert sorted((g["seriesuid"], g["patient_id"]) for g in got) == sorted(
        (r["series_uid"], r["patient_id"]) for r in inside)
    for r in inside:
        (loc,) = ds.nodules(r["series_uid"])
        scan = ds.load(r["series_uid"])
        z, y, x = world_to_voxel(scan, loc.coord_xyz)
        assert abs(y - float(r["row"])) <= 1 and abs(x - float(r["col"])) <= 1
        assert abs(loc.coord_xyz[2] - float(r["z_mm"])) <= 1.0
        assert abs(loc.diameter_mm - float(r["diameter_mm"])) <= 0.1
        assert float(loc.extra["malignancy"]) == float(r["malignancy_median"])
        assert int(loc.extra["readers"]) == int(r["readers"])
        # The centroid sits in the nodule: soft tissue, not lung air.
        zi, yi, xi = (int(round(v)) for v in (z, y, x))
        assert np.median(scan.hu[zi, yi - 2:yi + 3, xi - 2:xi + 3]) > -300
    split = read_split_csv(tmp_path / "lidc" / "split.csv")
    assert sorted(split.values()) == ["test", "train", "train"]

    with pytest.warns(DatasetWarning):
        build_lidc(SHARED_LIDC, tmp_path / "lidc2", seed=0)
    assert csv_bytes(tmp_path / "lidc") == csv_bytes(tmp_path / "lidc2")
    with pytest.warns(DatasetWarning):
        assert build_lidc(SHARED_LIDC, tmp_path / "lidc3", min_readers=3).n_annotations == 2


@pytest.mark.parametrize("link", [False, True], ids=["copy", "link"])
def test_luna16_mhd_with_other_data_file_name(tmp_path, link):
    scans = make_luna_root(tmp_path / "luna", n_series=2, candidates=False)
    u = sorted(scans)[0]
    header = next((tmp_path / "luna").rglob(f"{u}.mhd"))
    (header.parent / f"{u}.raw").rename(header.parent / "volume.raw")
    header.write_text(header.read_text().replace(f"ElementDataFile = {u}.raw", "ElementDataFile = volume.raw"))
    build_luna16(tmp_path / "luna", tmp_path / "out", link=link)
    assert (tmp_path / "out" / f"{u}.raw").exists()
    assert "ElementDataFile = " + f"{u}.raw" in (tmp_path / "out" / f"{u}.mhd").read_text()
    np.testing.assert_array_equal(Dataset.open(tmp_path / "out").load(u).hu, scans[u].hu)
