"""``mitsgan convert IN OUT``: change format (OUT's extension; a folder = DICOM series)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a scan between DICOM, MHD, NRRD and NIfTI")
    p.add_argument("input", help="DICOM folder, .mhd, .nrrd, .nii or .nii.gz")
    p.add_argument("output", help="output path: .mhd, .nrrd, .nii, .nii.gz, or a folder for DICOM")
    p.add_argument("--series", default=None, help="SeriesInstanceUID when the input holds several")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mitsgan.io import output_format_of, read_scan, write_scan
    from mitsgan.io.atomic import refuse_existing

    output_format_of(args.output)  # refuse an unknown format before reading anything
    refuse_existing(args.output, args.overwrite)
    scan = read_scan(args.input, series_uid=args.series)
    out = write_scan(scan, args.output, overwrite=args.overwrite, derivation="format conversion by mitsgan")
    print(f"wrote {out} ({' x '.join(map(str, scan.shape))} voxels, z y x)")
    return 0
