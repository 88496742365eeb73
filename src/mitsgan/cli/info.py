"""``mitsgan info PATH``: what a scan is, as its header and voxels say."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a scan (format, shape, spacing, HU range, ids)")
    p.add_argument("path", help="DICOM folder, .mhd, .nrrd, .nii or .nii.gz")
    p.add_argument("--series", default=None, help="SeriesInstanceUID when the folder holds several")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mitsgan.io import read_scan

    info = read_scan(args.path, series_uid=args.series).describe()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(len(k) for k in info)
        for key, value in info.items():
            if isinstance(value, float):
                value = f"{value:.2f}"
            print(f"{key:<{width}}  {value}")
    return 0
