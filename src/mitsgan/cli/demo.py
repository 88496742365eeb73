"""``mitsgan demo OUT``: the main job on built-in data, end to end, on a CPU in about a minute."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="phantom chest CT -> CT-GAN inject/remove -> report and figure",
                       description="Make a synthetic chest CT with real LIDC nodule shapes, inject a "
                                   "nodule at a healthy spot and remove a real one with the shipped "
                                   "CT-GAN, and write the scans, report.md/json and demo.png to OUT.")
    p.add_argument("out", metavar="OUT", help="folder to create")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--slices", type=int, default=64, help="phantom slices (default 64)")
    p.add_argument("--size", type=int, default=512, help="phantom in-plane pixels (default 512)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mitsgan.evaluation.demo import run_demo
    from mitsgan.io.atomic import refuse_existing

    refuse_existing(args.out, args.overwrite)
    report = run_demo(args.out, seed=args.seed, slices=args.slices, size=args.size,
                      overwrite=args.overwrite, progress=not args.quiet)
    print(f"phantom {report['seriesuid']} (seed {report['seed']})")
    for case in report["cases"]:
        print(f"  {case['action']:<6}  10 mm sphere {case['sphere_hu_before']:7.0f} -> "
              f"{case['sphere_hu_after']:7.0f} HU  (surrounding lung {case['lung_hu']:.0f} HU), "
              f"blob {case['blob_before']['eq_diameter_mm']:.1f} -> "
              f"{case['blob_after']['eq_diameter_mm']:.1f} mm "
              f"(new tissue {case['blob_new']['eq_diameter_mm']:.1f} mm)  "
              f"{'pass' if case['success'] else 'FAIL'}")
    print(f"wrote {args.out}/: phantom/, injected.mhd, removed.mhd, report.md, report.json, demo.png")
    return 0
