"""The input CSV files: nodule/candidate tables (LUNA16 world or pixel layout), patients, LUNA16 candidates."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from mitsgan.data.builders.common import Warn
from mitsgan.data.dataset import LOCATION_COLUMNS
from mitsgan.errors import InputError

# The nodule list layout of ../shared/data/ct/lidc/nodules.csv (pixel row/col + z in mm).
PIXEL_COLUMNS = ["series_uid", "row", "col", "z_mm", "diameter_mm"]
WORLD_XYZ = ("coordX", "coordY", "coordZ")


@dataclass
class NoduleRow:
    """A nodule row before it is placed in world mm (pixel rows need the scan)."""

    seriesuid: str
    line: str
    diameter_mm: float
    world_xyz: tuple[float, float, float] | None = None
    pixel: tuple[float, float, float] | None = None  # (row, col, z_mm)
    extra: dict[str, str] = field(default_factory=dict)
    patient_id: str | None = None


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


def _floats(path: Path, line_no: int, row: Mapping[str, str], cols) -> tuple[float, ...]:
    return tuple(_float(path, line_no, row, c) for c in cols)


def read_nodule_table(path: str | Path, healthy: bool = False) -> tuple[str, list[NoduleRow]]:
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
    out: list[NoduleRow] = []
    for i, r in enumerate(rows, start=2):
        line = f"line {i}"
        diameter = 0.0 if healthy else _float(path, i, r, "diameter_mm")
        if diameter < 0:
            raise InputError(path, f"{line}: negative diameter {diameter}")
        if kind == "world":
            uid = r.get("seriesuid", "")
            xyz = _floats(path, i, r, WORLD_XYZ)
            extra = {k: v for k, v in r.items()
                     if k and k not in LOCATION_COLUMNS and not (healthy and k == "class")}
            row = NoduleRow(uid, line, diameter, world_xyz=xyz, extra=extra)  # type: ignore[arg-type]
        else:
            uid = r.get("series_uid", "")
            pix = _floats(path, i, r, ("row", "col", "z_mm"))
            extra = {}
            if not healthy:
                if r.get("malignancy_median", r.get("malignancy", "")):
                    extra["malignancy"] = r.get("malignancy_median") or r.get("malignancy", "")
                if r.get("readers"):
                    extra["readers"] = r["readers"]
            row = NoduleRow(uid, line, diameter, pixel=pix, extra=extra,  # type: ignore[arg-type]
                            patient_id=r.get("patient_id") or None)
        if not uid:
            raise InputError(path, f"{line}: empty series id")
        out.append(row)
    return kind, out


def read_patients_csv(path: str | Path) -> dict[str, str]:
    """``seriesuid`` (or ``series_uid``) -> ``patient_id``."""
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


def read_luna_candidates(path: Path) -> list[NoduleRow]:
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
        xyz = _floats(path, i, r, WORLD_XYZ)
        out.append(NoduleRow(r["seriesuid"], f"line {i}", 0.0, world_xyz=xyz))  # type: ignore[arg-type]
    return out


def resolve_rows(rows: list[NoduleRow], scans: Mapping[str, object], where: Path,
                 allow_missing: bool, warn: Warn) -> list[NoduleRow]:
    """The rows whose series has a scan; others raise InputError or (allow_missing) warn."""
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


def group_by_series(rows: list[NoduleRow]) -> dict[str, list[NoduleRow]]:
    """Rows grouped by seriesuid, each group in input order."""
    out: dict[str, list[NoduleRow]] = {}
    for r in rows:
        out.setdefault(r.seriesuid, []).append(r)
    return out
