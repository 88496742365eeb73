"""``mitsgan phantom OUT_DIR``: synthetic chest CT scans with real LIDC nodule shapes.

Writes a dataset folder (see :mod:`mitsgan.data.dataset`): ``<seriesuid>.mhd``
scans, ``annotations.csv`` (nodules), ``candidates.csv`` (healthy lung points),
``split.csv`` (one patient per phantom). The folder appears only when complete.
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phantom", help="write synthetic chest CT scans with LIDC nodules (a dataset folder)",
                       description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("out_dir", metavar="OUT_DIR", help="dataset folder to create")
    p.add_argument("--scans", type=int, default=1, help="number of scans (default 1)")
    p.add_argument("--slices", type=int, default=64, help="slices per scan (default 64)")
    p.add_argument("--size", type=int, default=512,
                   help="in-plane pixels (default 512; smaller sizes scale the pixel up, for quick tests)")
    p.add_argument("--large-nodules", type=int, default=1, metavar="K",
                   help="try to place K nodules >= 10 mm per scan (default 1; more = injector training data)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="render N scans at once in separate processes (same files as 1; about 1.5 GB each)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, byte-identical output")
    p.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mitsgan.errors import InputError

    if args.scans < 1:
        raise InputError(args.out_dir, "--scans must be at least 1")
    if args.slices < 8:
        raise InputError(args.out_dir, "--slices must be at least 8")
    if args.workers < 1:
        raise InputError(args.out_dir, "--workers must be at least 1")
    if args.large_nodules < 1:
        raise InputError(args.out_dir, "--large-nodules must be at least 1")
    if args.size < 64:
        raise InputError(args.out_dir, "--size must be at least 64")
    from mitsgan.data.phantom import write_phantom_dataset

    out = write_phantom_dataset(args.out_dir, n_scans=args.scans, slices=args.slices, seed=args.seed,
                                overwrite=args.overwrite, size=args.size, progress=not args.quiet,
                                large_nodules=args.large_nodules, workers=args.workers)
    print(f"wrote {args.scans} phantom scan(s) to {out}")
    return 0
