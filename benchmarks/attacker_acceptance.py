"""Acceptance of the shipped CT-GAN attackers on held-out scans; numbers into the model cards.

    python benchmarks/attacker_acceptance.py --data /tmp/phantoms [--real /work/shared/data/ct]
        [--update-cards] [--figure src/mitsgan/weights/ctgan_examples.png]

Injection at healthy lung locations: the mean HU of the central 10 mm sphere must rise by
>= 500 HU, and the new tissue above -400 HU at the centre must be compact and nodule-sized
(equivalent diameter 5-40 mm, mostly within 10 mm of the centre). Removal at nodules >= 10 mm:
the central sphere must end within 100 HU of the surrounding lung (shell 16-26 mm, voxels
< -500 HU, original scan). The definitions are mitsgan.evaluation.tamper_metrics (its
defaults). Phantom: the test split. Real: LIDC slabs (nodules.csv) and pyradiomics lung1
(nodule from its label map), healthy points drawn in their lungs.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mitsgan.attack.tamper import tamper_scan
from mitsgan.attack.weights import load_attacker, shipped_dir
from mitsgan.evaluation.locations import lung_points
from mitsgan.evaluation.tamper_metrics import measure_tamper
from mitsgan.geometry import pixel_to_world, world_to_voxel

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "mitsgan" / "weights"


def measure(scan, center, attacker, name, seed):
    t0 = time.perf_counter()
    res = tamper_scan(scan, center, attacker, seed=seed)
    sec = time.perf_counter() - t0
    c = res.center_zyx
    m = measure_tamper(scan.hu, res.scan.hu, scan.spacing_zyx, c, attacker.action)
    row = {"scan": name, "action": attacker.action, "center_zyx": list(c),
           "sphere_before": round(m.sphere_hu_before, 1),
           "sphere_after": round(m.sphere_hu_after, 1), "seconds": round(sec, 2)}
    row["delta"] = round(row["sphere_after"] - row["sphere_before"], 1)
    if attacker.action == "inject":
        b = m.blob_new  # new dense tissue only; blob_after includes what it touches (vessels, wall)
        row.update(eq_diameter_mm=round(b.eq_diameter_mm, 1), extent_mm=[round(e, 1) for e in b.extent_mm],
                   within_10mm=round(b.within_10mm, 2),
                   touching_eq_diameter_mm=round(m.blob_after.eq_diameter_mm, 1))
    else:
        row["surround"] = round(m.lung_hu, 1)
        row["gap"] = round(row["sphere_after"] - row["surround"], 1)
    row["pass"] = m.success
    return row, res.scan


def phantom_cases(data: Path, per_scan: int, split: str | None = "test"):
    from mitsgan.data.dataset import Dataset

    ds = Dataset.open(data)
    for uid in ds.series(split):
        scan = ds.load(uid)
        heal = ds.healthy(uid)[:per_scan]
        nods = [a for a in ds.nodules(uid) if a.diameter_mm >= 10][:per_scan]
        yield (f"phantom:{uid}", scan,
               [world_to_voxel(scan, h.coord_xyz) for h in heal],
               [world_to_voxel(scan, n.coord_xyz) for n in nods])


def real_cases(root: Path, per_scan: int, seed: int):
    from mitsgan.io import read_scan

    lidc = root / "lidc"
    if (lidc / "nodules.csv").exists():
        rows = list(csv.DictReader(open(lidc / "nodules.csv")))
        for pdir in sorted(p for p in lidc.iterdir() if p.is_dir()):
            series = [d for d in pdir.iterdir() if d.is_dir()]
            if not series:
                continue
            try:
                scan = read_scan(series[0])
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"skip {series[0]}: {exc}", file=sys.stderr)
                continue
            nods = []
            for r in rows:
                if r["patient_id"] != pdir.name:
                    continue
                p = world_to_voxel(scan, pixel_to_world(scan, float(r["row"]), float(r["col"]),
                                                        float(r["z_mm"])))
                z = p[0]
                if 0 <= z <= scan.shape[0] - 1 and float(r["diameter_mm"]) >= 10:
                    nods.append(p)
            heal = lung_points(scan.hu, scan.spacing_zyx, per_scan, seed, avoid_zyx=nods)
            yield f"lidc:{pdir.name}", scan, heal, nods[:per_scan]
    lung1 = root / "pyradiomics" / "lung1_image.nrrd"
    if lung1.exists():
        scan = read_scan(lung1)
        label = read_scan(root / "pyradiomics" / "lung1_label.nrrd").hu > 0
        nods = [np.argwhere(label).mean(0)] if label.any() else []
        heal = lung_points(scan.hu, scan.spacing_zyx, per_scan, seed, avoid_zyx=nods)
        yield "pyradiomics:lung1", scan, heal, nods


def figure(examples, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(examples), figsize=(2.6 * len(examples), 5.6), squeeze=False)
    for j, (row, before, after) in enumerate(examples):
        z, y, x = row["center_zyx"]
        half = [int(round(32 / s)) for s in before.spacing_zyx[1:]]
        ys, xs = slice(max(0, y - half[0]), y + half[0]), slice(max(0, x - half[1]), x + half[1])
        done = {"inject": "injected", "remove": "removed"}[row["action"]]
        for i, (img, tag) in enumerate(((before.hu, "original"), (after.hu, done))):
            ax = axes[i, j]
            ax.imshow(img[z, ys, xs], cmap="gray", vmin=-1350, vmax=150)
            ax.set_xticks([]), ax.set_yticks([])
            kind, name = row["scan"].split(":", 1)
            ax.set_title(f"{tag}" if i else f"{kind}\n{name[-22:]}", fontsize=7)
    fig.suptitle("CT-GAN (mitsgan tiny) - lung window [-1350, 150] HU, 64 mm crops", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def card_table(rows, action):
    rows = [r for r in rows if r["action"] == action]
    if action == "inject":
        head = "| scan | centre (z,y,x) | sphere before | after | rise | blob eq. diam. mm | extent mm (z,y,x) | in 10 mm | pass |\n|---|---|---|---|---|---|---|---|---|\n"
        body = "".join(f"| {r['scan']} | {tuple(r['center_zyx'])} | {r['sphere_before']} | {r['sphere_after']} | "
                       f"{r['delta']} | {r['eq_diameter_mm']} | {tuple(r['extent_mm'])} | {r['within_10mm']} | "
                       f"{'yes' if r['pass'] else 'NO'} |\n" for r in rows)
    else:
        head = "| scan | centre (z,y,x) | sphere before | after | surrounding lung | after - lung | pass |\n|---|---|---|---|---|---|---|\n"
        body = "".join(f"| {r['scan']} | {tuple(r['center_zyx'])} | {r['sphere_before']} | {r['sphere_after']} | "
                       f"{r['surround']} | {r['gap']} | {'yes' if r['pass'] else 'NO'} |\n" for r in rows)
    n, ok = len(rows), sum(r["pass"] for r in rows)
    return f"{head}{body}\nPassed {ok} of {n}.\n"


def update_card(action, rows):
    card = shipped_dir(action) / "MODEL_CARD.md"
    if not card.exists():
        return
    text = card.read_text()
    start, end = "<!-- acceptance:start -->", "<!-- acceptance:end -->"
    if start not in text:
        return
    new = f"{start}\n{card_table(rows, action)}{end}"
    card.write_text(text.split(start)[0] + new + text.split(end)[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="phantom dataset folder (its test split is used)")
    ap.add_argument("--split", default="test", choices=["test", "train"],
                    help="which split of --data (train: validation points for picking an epoch; the "
                         "injector trains on train-split nodules, never on its healthy candidates)")
    ap.add_argument("--extra-data", default=None,
                    help="another phantom folder never used in training: all its scans are used")
    ap.add_argument("--real", default="/work/shared/data/ct", help="folder with lidc/ and pyradiomics/")
    ap.add_argument("--per-scan", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="write all rows here")
    ap.add_argument("--figure", default=None, help=f"e.g. {WEIGHTS / 'ctgan_examples.png'}")
    ap.add_argument("--update-cards", action="store_true")
    ap.add_argument("--inject", default=None, help="injector folder (default: shipped)")
    ap.add_argument("--remove", default=None, help="remover folder (default: shipped)")
    ap.add_argument("--only", default=None, choices=["inject", "remove"], help="run one action only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    inj = load_attacker(args.inject, action="inject")
    rem = load_attacker(args.remove, action="remove")
    cases = []
    if args.data:
        cases.append(phantom_cases(Path(args.data), args.per_scan, split=args.split))
    if args.extra_data:
        cases.append(phantom_cases(Path(args.extra_data), args.per_scan, split=None))
    if args.real and Path(args.real).exists():
        cases.append(real_cases(Path(args.real), args.per_scan, args.seed))
    rows, examples = [], {"inject": [], "remove": []}
    for gen in cases:
        for name, scan, healthy, nodules in gen:
            for attacker, points in ((inj, healthy), (rem, nodules)):
                if args.only and attacker.action != args.only:
                    continue
                for k, p in enumerate(points):
                    try:
                        row, after = measure(scan, tuple(np.round(p).astype(int)), attacker, name, args.seed + k)
                    except Exception as exc:  # noqa: BLE001
                        print(f"{name} {attacker.action} at {p}: {exc}", file=sys.stderr)
                        continue
                    rows.append(row)
                    print(json.dumps(row))
                    kind = name.split(":")[0]
                    ex = examples[attacker.action]
                    if len(ex) < 3 and (not ex or kind not in [e[0]["scan"].split(":")[0] for e in ex] or len(ex) < 2):
                        ex.append((row, scan, after))
    for action in ("inject", "remove"):
        sel = [r for r in rows if r["action"] == action]
        if sel:
            print(f"{action}: {sum(r['pass'] for r in sel)}/{len(sel)} pass")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.figure and (examples["inject"] or examples["remove"]):
        figure(examples["inject"] + examples["remove"], args.figure)
    if args.update_cards:
        for action in ("inject", "remove"):
            if any(r["action"] == action for r in rows):
                update_card(action, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
