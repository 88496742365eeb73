#!/usr/bin/env python
"""A blinded A/B test of one phantom change: the same patients drawn with and without it.

The first-glance test (``blinded_pairs.py``) picks the phantom out 12/12 in every round, so it
cannot say whether a change helps. This one can: a reader sees the current phantom and a
variant of the *same* patient side by side, in random order, and says which looks more like
a real chest CT:

    python benchmarks/phantom_ab.py make OUT --variant anatomy.FAT_PLANE_MM=1.5 \\
        [--variant trees.VESSEL_FLOOR_MM=0.8 ...] [--seeds 0 1 2 3 4] [--levels 0 20 | --at-nodules 2]
        [--seed 0] [--window lung | mediastinal] [--region lung | mediastinum | spine | wall]
    # a reader opens OUT/set_XX.png (A left, B right) and OUT/reference_real.png (real slices at
    # the same levels where the real scans reach them) and writes
    # OUT/preference.json: {"set_00": {"more_real": "A", "confidence": 0.6}, ...}
    python benchmarks/phantom_ab.py prompt READER_COPY --key OUT/.key.json  # the fixed reader text
    python benchmarks/phantom_ab.py score OUT
    # the objective side, no reader: the realism benchmark's lung-vessel counts, both versions
    python benchmarks/phantom_ab.py measure OUT --variant trees.VESSEL_FLOOR_MM=0.8 [--seeds 0 1 2]

``--variant MODULE.NAME=VALUE`` sets a constant of ``mitsgan.data.phantom.MODULE`` for the
variant only (repeatable). Why the vessel trees are pinned: the trees grow toward targets
sampled in the lungs, so any change to the mediastinum's outline moves a few targets, shifts
every later random draw and grows different trees. Readers then judged the (random) lung
vessels rather than the change: in session 12 an A/B of the superior pulmonary veins went 3-7
on reasons such as "a straight rod crossing the hilum" in code the change did not touch. Here
the variant replays the baseline's targets and random state, so only the change itself differs.
The nodules are pinned the same way (round 17: a narrower vertebral body moved the lung's edge by
a pixel, the nodules went elsewhere, and a reader judged them instead). A change to the targets
or to where nodules go (e.g. ``trees.PLEURAL_MARGIN_MM``) needs ``--unpinned``.

``make`` shows each comparison twice, once each way round, under unrelated set numbers
(``--one-way``: once, the variant left in half the sets). ``score`` prints how many comparisons
each version won (one shown both ways counts only if both answers name the same version; sets
judged at 0.5 confidence count as no difference), the summed confidence, a one-sided sign-test
p-value for the variant, and how many comparisons were answered inconsistently (a side bias).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from blinded_pairs import (REAL_CARINA_INDEX, REGION_PLACES, REGIONS, SHARED, WINDOWS, overridden,  # noqa: E402
                           parse_variant, region_centre, region_crop, require_files, save_panels,
                           save_side_by_side, sign_test_p)


@contextlib.contextmanager
def replayed(module, name: str, rng_arg: int, record: dict) -> Iterator[None]:
    """Inside the block, ``module.name`` returns its first call's result every time, and leaves
    the random generator (positional argument ``rng_arg``) in the state that first call left it.

    So a variant drawn after the baseline gets the baseline's result and every later random
    draw: only the change itself differs (see the module docstring).
    """
    original = getattr(module, name)

    def replay(*args, **kwargs):
        rng = args[rng_arg]
        if "result" not in record:
            record["result"] = original(*args, **kwargs)
            record["state"] = rng.bit_generator.state
        else:
            rng.bit_generator.state = record["state"]
        return record["result"]

    setattr(module, name, replay)
    try:
        yield
    finally:
        setattr(module, name, original)


def pinned_targets(record: dict):
    """The vessel trees' targets replayed (:func:`replayed`): the trees grow as the baseline's."""
    from mitsgan.data.phantom import trees

    return replayed(trees, "lung_targets", 1, record)


def pinned_nodules(record: dict):
    """Nodule placement replayed (:func:`replayed`). Why: placement searches the lung for room,
    so a change that moves the lung's outline by a pixel (round 17: a narrower vertebral body)
    put the nodules elsewhere, and the readers judged the nodules instead of the change."""
    from mitsgan.data.phantom import generate

    return replayed(generate, "_place_nodules", 5, record)


def slices_at(scan, seed: int, levels: list[float]) -> list[np.ndarray]:
    """The scan's slices nearest each level (mm below the carina; negative: above it)."""
    from phantom_realism import level_slices

    return [scan.hu[k] for k in level_slices(scan, seed, levels)]


def phantom_pair(seed: int, variant: dict, pinned: bool = True, generate=None) -> tuple:
    """The phantom of patient ``seed`` as it is and with ``variant`` (trees and nodules pinned
    unless told)."""
    if generate is None:
        from mitsgan.data.phantom import generate_phantom as generate
    trees: dict = {}
    nodules: dict = {}
    with pinned_targets(trees) if pinned else contextlib.nullcontext(), \
            pinned_nodules(nodules) if pinned else contextlib.nullcontext():
        base = generate(seed=seed)
        with overridden(variant):
            changed = generate(seed=seed)
    return base, changed


def scan_pair(seed: int, variant: dict, pinned: bool = True, generate=None) -> tuple:
    """The scans of :func:`phantom_pair`."""
    base, changed = phantom_pair(seed, variant, pinned, generate)
    return base.scan, changed.scan


def nodule_slices(phantom, count: int) -> list[int]:
    """The slices through the centres of the phantom's ``count`` largest nodules.

    For changes to how nodules are drawn: at the carina levels a slice seldom cuts one.
    """
    placed = sorted(phantom.placed, key=lambda pn: -pn.diameter_mm)[:count]
    return [int(round(float(pn.centroid_zyx[0]))) for pn in placed]


def make(out: Path, variant: dict, seeds: list[int], levels: list[float], seed: int,
         pinned: bool = True, generate=None, both_ways: bool = True, at_nodules: int = 0,
         window: str = "lung", region: str | None = None) -> None:
    """Write the reader's sets: each (seed, level) comparison shown twice, once each way round.

    Why both ways (round 16): three of this round's readers answered "A" in every set whenever
    the change was subtle, whichever side the variant was on. With each comparison shown as two
    sets under unrelated numbers, in a shuffled order, ``score`` counts a preference only when
    the reader picks the same version both times; a side bias then reads as no preference.
    ``both_ways=False``: one set per comparison, the variant left in exactly half of them.
    ``at_nodules=K``: instead of ``levels``, the slices through each patient's K largest nodules
    (their levels are then given as -1, -2, ...).
    ``window``: "lung" (the issue's target) or "mediastinal", for changes inside the mediastinum
    or the chest wall, which lung window shows as flat white (the sets and the real references alike).
    ``region``: each set shows that region's square (blinded_pairs.region_crop) of both versions,
    cut round the world position found on the baseline (:func:`cut_region`), and the references are
    that region's squares of the real slices. Why (round 46): on a whole slice a chest-wall change is
    a few percent of the picture, and the first glance picked the wall's square out 72 of 72 with and
    without each change; an A/B of the square can say whether one helped. A comparison whose
    baseline shows no two lungs is left out.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    comparisons = []
    for s in seeds:
        base_ph, changed_ph = phantom_pair(s, variant, pinned, generate)
        if at_nodules:
            ks = nodule_slices(base_ph, at_nodules)
            base, changed = [base_ph.scan.hu[k] for k in ks], [changed_ph.scan.hu[k] for k in ks]
            lvs = [-1.0 - i for i in range(len(ks))]
        else:
            base, changed = slices_at(base_ph.scan, s, levels), slices_at(changed_ph.scan, s, levels)
            lvs = levels
        if region is not None:
            base, changed, lvs = cut_region(base, changed, lvs, base_ph.scan, changed_ph.scan, region)
        comparisons += [(s, lv, b, c) for lv, b, c in zip(lvs, base, changed)]
    total = len(comparisons)
    if both_ways:
        shown = [(i, left) for i in range(total) for left in (True, False)]
    else:
        # The variant on the left in exactly half the sets (drawn coin by coin, seed 45 put it
        # left in all 10, and a reader who leans to "A" then reads as preferring the variant).
        lefts = rng.permutation(np.arange(total) < (total + int(rng.integers(2))) // 2)
        shown = [(i, bool(lefts[i])) for i in range(total)]
    key = {}
    for n, j in enumerate(rng.permutation(len(shown))):
        i, variant_left = shown[j]
        s, lv, b, c = comparisons[i]
        name = f"set_{n:02d}"
        save_side_by_side((c, b) if variant_left else (b, c), out / f"{name}.png", WINDOWS[window])
        key[name] = {"variant": "A" if variant_left else "B", "seed": s, "level_mm": lv,
                     "comparison": i, "changed_pixels": int((b != c).sum())}
        where = f"nodule {-int(lv)}" if at_nodules else f"{lv:+.0f} mm"
        print(f"{name}: seed {s}, {where}, {key[name]['changed_pixels']} pixels differ")
    _reference(out, None if at_nodules else levels, window, region)
    spec = {f"{m}.{c}": v for (m, c), v in variant.items()}
    (out / ".key.json").write_text(json.dumps({"variant": spec, "window": window, "region": region, "sets": key},
                                              indent=1))
    print(f"wrote {len(key)} sets ({total} comparisons) to {out}; the reader writes {out / 'preference.json'}")


def cut_region(base: list[np.ndarray], changed: list[np.ndarray], levels: list[float], base_scan, changed_scan,
               region: str) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
    """``region``'s squares of both versions' slices, each pair cut round the world position (mm)
    where the baseline's slice places it, so the same anatomy even when the variant's grid differs
    (round 46: a variant that widened the body grew the field of view, and cut at the baseline's
    pixels its square showed another part of the lung). Levels whose baseline shows no two lungs
    are dropped."""
    from mitsgan.geometry import voxel_to_world, world_to_voxel

    base_px, changed_px = float(base_scan.spacing_zyx[2]), float(changed_scan.spacing_zyx[2])
    base_cuts, changed_cuts, kept_levels = [], [], []
    for b, c, lv in zip(base, changed, levels):
        centre = region_centre(b, base_px, region)
        if centre is None:
            print(f"level {lv:+.0f} mm: no two lungs to place the {region} square by; left out")
            continue
        _, row, col = world_to_voxel(changed_scan, voxel_to_world(base_scan, (0.0, *centre)))
        base_cuts.append(region_crop(b, base_px, region, centre))
        changed_cuts.append(region_crop(c, changed_px, region, (float(row), float(col))))
        kept_levels.append(lv)
    return base_cuts, changed_cuts, kept_levels


def reference_slices(scans: dict, levels: list[float] | None, most: int = 4) -> list[np.ndarray]:
    """The real slices of :func:`reference_picks`."""
    return [scans[name].hu[k] for name, k in reference_picks(scans, levels, most)]


def reference_picks(scans: dict, levels: list[float] | None, most: int = 4) -> list[tuple[str, int]]:
    """Which real slices the reader gets, as (scan name, slice index): at the sets' ``levels`` (mm
    below the carina) where a real scan reaches them (up to ``most``, one per scan and level, levels
    in turn), else near the carina.

    Why (round 23): the upper chest is narrower front to back than the chest at the carina. With
    carina-level references a reader preferred a phantom kept as deep at 35 mm above the carina as
    at the heart (0 of 10 for the level-correct version: "a flattened chest"); with real slices
    from those levels two fresh readers preferred the level-correct one 10 of 10 each.
    """
    names = [n for n in ("LIDC-IDRI-0001", "LIDC-IDRI-0002", "LIDC-IDRI-0003", "lung1") if n in scans]
    picked: list[tuple[str, int]] = []
    for lv in levels or []:
        for name in names:
            s = scans[name]
            k = REAL_CARINA_INDEX[name] - lv / s.spacing_zyx[0]
            if -0.5 <= k <= s.hu.shape[0] - 0.5 and len(picked) < most:
                picked.append((name, int(np.clip(round(k), 0, s.hu.shape[0] - 1))))
    if picked:
        return picked
    near = [n for n in ("LIDC-IDRI-0001", "LIDC-IDRI-0003", "lung1") if n in scans]
    return [(n, int(np.clip(round(REAL_CARINA_INDEX[n]), 0, scans[n].hu.shape[0] - 1))) for n in near]


def _reference(out: Path, levels: list[float] | None = None, window: str = "lung",
               region: str | None = None) -> None:
    """Real slices in ``window`` for the reader (see reference_slices; when ../shared is there), or
    their ``region`` squares."""
    from phantom_realism import real_scans

    if not SHARED.is_dir():
        print(f"no reference_real.png: real scans not found at {SHARED}")
        return
    scans = real_scans()
    if region is None:
        slices = reference_slices(scans, levels)
    else:
        cuts = (region_crop(scans[n].hu[k], float(scans[n].spacing_zyx[2]), region)
                for n, k in reference_picks(scans, levels))
        slices = [c for c in cuts if c is not None]
    if slices:
        save_panels(slices, ["real"] * len(slices), out / "reference_real.png", window=WINDOWS[window])


def measure(out: Path, variant: dict, seeds: list[int], pinned: bool = True, generate=None) -> dict:
    """The realism benchmark's lung-vessel counts for the same patients with and without ``variant``.

    Why: a reader's A/B says which looks more real, not why, and a null A/B leaves it open
    whether the change moved the image at all. This is the objective side of the same
    comparison (phantom_realism.vessel_pieces at PHANTOM_VESSEL_LEVELS_MM, averaged over the
    seeds), without a reader; round 14 used it to pick which vessel variants were worth a reader.
    Writes ``OUT/vessels.json`` and prints a table with the real scans' ranges for reference.
    """
    from phantom_realism import PHANTOM_VESSEL_LEVELS_MM, level_slices, mean_vessel_pieces

    rows: dict[str, list[dict]] = {"baseline": [], "variant": []}
    for s in seeds:
        for name, scan in zip(rows, scan_pair(s, variant, pinned, generate)):
            ks = level_slices(scan, s, PHANTOM_VESSEL_LEVELS_MM)
            rows[name].append(mean_vessel_pieces([(scan.hu[k], scan.spacing_zyx[1]) for k in ks]))
    found = {name: [r for r in rs if r] for name, rs in rows.items()}
    result = {name: ({k: float(np.mean([r[k] for r in rs])) for k in rs[0]} if rs else {})
              for name, rs in found.items()}
    result["variant_spec"] = {f"{m}.{c}": v for (m, c), v in variant.items()}
    result["seeds"] = list(seeds)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vessels.json").write_text(json.dumps(result, indent=1))
    saved = ROOT / "results" / "phantom_realism.json"
    real = json.loads(saved.read_text()).get("lung_vessels", {}) if saved.is_file() else {}
    real = {k: v for k, v in real.items() if not k.startswith("phantom")}
    keys = [k for k in result["baseline"] if k != "slices"]
    print(f"variant {result['variant_spec']}, seeds {list(seeds)} (per 100 cm2 of lung)")
    print("| measure | baseline | variant | real scans |\n|---|---|---|---|")
    for k in keys:
        span = ", ".join(f"{v[k]:.2f}" for v in real.values() if k in v) or "-"
        print(f"| {k} | {result['baseline'][k]:.2f} | {result['variant'].get(k, float('nan')):.2f} | {span} |")
    return result


def _side(answer: dict, variant_letter: str) -> str | None:
    """Which version one set's answer prefers: "variant", "baseline" or None (no difference seen)."""
    letter = str(answer.get("more_real", "")).upper()
    if float(answer.get("confidence", 0.5)) <= 0.5 or letter not in ("A", "B"):
        return None
    return "variant" if letter == variant_letter else "baseline"


def score(out: Path) -> dict:
    """Count the comparisons the variant won and lost, with a one-sided sign test.

    A comparison shown both ways round counts only when both of its sets name the same
    version (with confidence over 0.5); ``inconsistent`` counts those that named one side
    of the image both times, or a version once and no difference once.
    """
    require_files(out / ".key.json", out / "preference.json")
    key = json.loads((out / ".key.json").read_text())
    answers = json.loads((out / "preference.json").read_text())
    groups: dict = {}
    for name, info in key["sets"].items():
        groups.setdefault(info.get("comparison", name), []).append((name, info))
    won = lost = inconsistent = 0
    conf = {"variant": 0.0, "baseline": 0.0}
    for members in groups.values():
        sides = [_side(answers.get(name, {}), info["variant"]) for name, info in members]
        if len(set(sides)) > 1:
            inconsistent += 1
            continue
        if sides[0] is None:
            continue  # no difference seen
        conf[sides[0]] += sum(float(answers[name].get("confidence", 0.5)) for name, _ in members) / len(members)
        won, lost = (won + 1, lost) if sides[0] == "variant" else (won, lost + 1)
    n = won + lost
    p = sign_test_p(won, n)
    both = any(len(m) > 1 for m in groups.values())
    print(f"variant {key['variant']}: preferred in {won} of {n} {'comparisons' if both else 'sets'} with a "
          f"difference (baseline {lost}); confidence {conf['variant']:.2f} vs {conf['baseline']:.2f}; "
          f"one-sided sign test p = {p:.3f}"
          + (f"; {inconsistent} of {len(groups)} comparisons answered inconsistently (side bias)" if both else ""))
    letters = [str(a.get("more_real", "")).upper() for a in answers.values()]
    if len(letters) >= 6 and len(set(letters)) == 1:
        # Session 12: two readers of subtle changes answered "A" in all ten sets, whichever side
        # the variant was on; the random sides keep that from favouring either, but it means
        # the reader saw no real difference.
        print(f"warning: the reader answered {letters[0]} in every set (a side bias): read this as no difference")
    return {"won": won, "lost": lost, "p": p, "inconsistent": inconsistent}


def reader_prompt(folder: Path, key_path: Path | None = None) -> str:
    """The instructions a blinded A/B reader of ``folder`` gets, worded from the sets' key (window,
    region; ``key_path``, default the folder's own) without giving the variant away.

    Why fixed wording: as for blinded_pairs.reader_prompt, a reader's answers move with how the
    question is put, so A/Bs are compared only under one text, one fresh reader per copy.
    """
    key_path = key_path or folder / ".key.json"
    key = json.loads(key_path.read_text()) if key_path.is_file() else {}
    window = key.get("window", "lung")
    region = key.get("region")
    shown = ("two axial chest CT slices" if region is None else
             f"two square crops of axial chest CT, both cut from the same place ({REGION_PLACES[region]})")
    return f"""You are a radiologist judging the realism of synthetic chest CT images. Work only inside the \
folder {folder}; do not open, list or search anything outside it.

The folder holds files set_00.png, set_01.png, ... Each shows {shown}, labelled A (left) and B \
(right), in {window} window. Both are from the same synthetic (computer-generated) patient, drawn by \
two versions of the generator; they differ in places. reference_real.png shows real patients' CT \
(the same kind of view), for comparison.

Task: for each set, look at it with the image viewer tool (view the PNG), and say which side looks \
more like a real patient's CT, how confident you are (0.5 = no difference seen or pure guess, 1.0 = \
certain), and why in one sentence. Judge by what you see; compare with the real reference as often as \
you like. Rules: view the images only with the file viewer; no pixel statistics, histograms, \
differences, hashes, file sizes, metadata or other computation on the files. Judge each set on its own.

Write your answers as {folder}/preference.json, a JSON object:
{{"set_00": {{"more_real": "A" or "B", "confidence": 0.5-1.0, "why": "one sentence"}}, ... for every set}}
Then reply with a one-line summary.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out", type=Path)
    m.add_argument("--variant", action="append", required=True, help="MODULE.NAME=VALUE (repeatable)")
    m.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    m.add_argument("--levels", type=float, nargs="+", default=[0.0, 20.0],
                   help="mm below the carina (negative: above)")
    m.add_argument("--seed", type=int, default=0, help="left/right draw")
    m.add_argument("--unpinned", action="store_true",
                   help="grow the variant's trees from its own targets (for changes to the targets)")
    m.add_argument("--one-way", action="store_true",
                   help="show each comparison once (default: twice, once each way round)")
    m.add_argument("--at-nodules", type=int, default=0, metavar="K",
                   help="slices through each patient's K largest nodules instead of --levels")
    m.add_argument("--window", choices=sorted(WINDOWS), default="lung",
                   help="display window of the sets and the real references (default: lung)")
    m.add_argument("--region", choices=REGIONS, default=None,
                   help="show only this region's square of each slice (blinded_pairs.region_crop)")
    s = sub.add_parser("score")
    s.add_argument("out", type=Path)
    v = sub.add_parser("measure", help="lung-vessel counts of the same patients with and without the variant")
    v.add_argument("out", type=Path)
    v.add_argument("--variant", action="append", required=True, help="MODULE.NAME=VALUE (repeatable)")
    v.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    v.add_argument("--unpinned", action="store_true", help="as for make")
    pr = sub.add_parser("prompt", help="print the fixed instructions for a blinded reader of a copy of OUT")
    pr.add_argument("folder", type=Path, help="the reader's copy of OUT (its PNGs; the key stays in OUT)")
    pr.add_argument("--key", type=Path, default=None, help="OUT/.key.json (for the window and region)")
    args = ap.parse_args(argv)
    if args.cmd == "prompt":
        print(reader_prompt(args.folder, args.key))
        return 0
    if args.cmd == "make":
        make(args.out, parse_variant(args.variant), args.seeds, args.levels, args.seed, not args.unpinned,
             both_ways=not args.one_way, at_nodules=args.at_nodules, window=args.window, region=args.region)
    elif args.cmd == "measure":
        measure(args.out, parse_variant(args.variant), args.seeds, not args.unpinned)
    else:
        score(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
