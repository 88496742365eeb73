"""``mitsgan tamper IN OUT --action inject|remove --at Z,Y,X``: CT-GAN one location of a scan."""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tamper", help="inject or remove a nodule with the CT-GAN attacker")
    p.add_argument("input", help="scan: DICOM folder, .mhd, .nrrd, .nii or .nii.gz")
    p.add_argument("output", help="output path; a folder path writes a DICOM series")
    p.add_argument("--action", required=True, choices=["inject", "remove"])
    p.add_argument("--at", required=True, type=_triple, metavar="Z,Y,X",
                   help="voxel (z, y, x) indices, or with --world LPS (x, y, z) mm")
    p.add_argument("--world", action="store_true", help="--at is world x,y,z in mm")
    p.add_argument("--attacker", default=None,
                   help="attacker folder (default: the shipped mitsgan/weights/ctgan_ACTION)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise touch-up (default 0)")
    p.add_argument("--no-noise", action="store_true", help="skip the copied-noise touch-up")
    p.add_argument("--series", default=None, help="SeriesInstanceUID when the folder holds several")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=run)


def _triple(text: str) -> tuple[float, float, float]:
    parts = [s for s in text.replace(" ", "").split(",") if s]
    try:
        values = tuple(float(s) for s in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers Z,Y,X, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers Z,Y,X, got {text!r}")
    return values  # type: ignore[return-value]


def whole_hu_box(scan, result) -> None:
    """Round the tampered box to whole HU when the source stores whole HU (every CT does).

    A tampered file must look like the original: same integer storage (int16), and
    no tell-tale fractional HU. Only the box CT-GAN may change is touched, so the
    rest of the scan stays bit-identical; an all-float source is left as it is.
    """
    import numpy as np

    box = result.box
    if np.array_equal(scan.hu[box], np.round(scan.hu[box])):
        result.scan.hu[box] = np.round(result.scan.hu[box])


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from mitsgan.errors import InputError
    from mitsgan.io import output_format_of, read_scan, write_scan

    output_format_of(args.output)  # refuse a bad output path before any work
    if Path(args.output).exists() and not args.overwrite:
        raise InputError(args.output, "already exists (pass --overwrite)")
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    from mitsgan.attack.tamper import resolve_center, tamper_scan
    from mitsgan.attack.weights import load_attacker

    attacker = load_attacker(args.attacker, action=args.action)
    scan = read_scan(args.input, series_uid=args.series)
    resolve_center(scan, args.at, args.world)  # validates before any work
    t0 = time.time()
    result = tamper_scan(scan, args.at, attacker, world=args.world, noise=not args.no_noise, seed=args.seed)
    seconds = time.time() - t0
    whole_hu_box(scan, result)
    derivation = f"tampered: CT-GAN {args.action} at voxel (z,y,x) {result.center_zyx} (mitsgan)"
    write_scan(result.scan, args.output, overwrite=args.overwrite, derivation=derivation)
    print(f"{args.action} at voxel (z, y, x) {result.center_zyx} in {seconds:.2f} s -> {args.output}",
          file=sys.stderr)
    return 0
