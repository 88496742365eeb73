#!/usr/bin/env python
"""A first-glance test of the phantom: pairs of (phantom, real) slices for a blinded reader.

Issue 3 asks that "a person shown both in lung window does not spot the phantom at first
glance". This writes the test material and scores it:

    python benchmarks/blinded_pairs.py make OUT [--seeds 3 4 5 6] [--pairs 12] [--seed 0]
        [--per-phantom 3 | --match-levels [--match-thickness]] [--regions lung mediastinum spine wall]
        [--variant trees.PAIRED_ARTERY_MIN_RADIUS_MM=1.8 ...]
    # copy OUT's PNGs (not its .key.json) to a fresh folder per reader, and give each reader
    python benchmarks/blinded_pairs.py prompt FOLDER [--region lung]
    # the reader opens FOLDER/pair_XX.png (A left, B right; one is a phantom) and writes
    # FOLDER/answers.json: {"pair_00": {"synthetic": "A", "confidence": 0.7, ...}, ...}
    python benchmarks/blinded_pairs.py score OUT [FOLDER1/answers.json FOLDER2/answers.json ...]

``make`` takes three slices (``--per-phantom``) with at least half the most lung from each
phantom (with one per phantom and 12 seeds, no phantom body is seen twice) and three
slices from each real scan in ``../shared`` (LIDC slabs: near both ends and the middle;
lung1: 3 levels), pairs them at random, puts the phantom left or right at random (seeded)
and keeps the answer key in ``OUT/.key.json`` (the reader must not open it). ``score``
prints how many phantoms each reader picked out (50% is chance), their mean confidence and, for
several readers, the pooled count and its sign test, and how many pairs they told apart either way
round (:func:`told_apart_p`); for three or more readers also each pair's count and the first cues
of the pairs every reader found (:func:`print_per_pair`). ``prompt`` prints the reader's instructions:
one fixed text, because a reader's confidence moves more with the wording than with most changes to
the phantom (see :func:`reader_prompt`); compare conditions under it with three or more fresh
readers each. Skips (exit 0) when ``../shared`` is absent.

``--match-levels`` makes the test like for like: each real slice is paired with one slice of
its own phantom at the same height relative to the carina (``REAL_CARINA_INDEX``) and with
the same contrast state (``REAL_CONTRAST``), taking the phantoms in seed order from the first
of ``--seeds`` and skipping those whose 64-slice slab does not reach that height or whose
contrast differs. Without it the phantom slices come from where the lungs
are largest (mostly the heart), while 11 of the 12 real slices lie within 40 mm of the
carina: a reader could tell them apart by level alone.

``--match-thickness`` (with ``--match-levels``) also takes only phantoms whose slices are as
thick as the real slice's (nearest of the phantom's 1-2.5 mm: the LIDC slabs are 2.5, 1.25 and
2.5 mm, lung1 5 mm). Unmatched, most phantom slices were 1-1.5 mm: thin slices cut the lung
vessels as short oblique pieces where a 2.5-5 mm slice shows them as longer lines, and are
noisier, cues about the acquisition rather than the anatomy.

``--variant MODULE.NAME=VALUE`` (repeatable) draws the phantoms with a constant of
``mitsgan.data.phantom.MODULE`` set, leaving the real slices, the pairing and the sides as they are
without it. Why (round 44): blinded A/Bs of two phantom versions kept preferring what first-glance
readers name as the giveaway (the marrow, the bronchi, the posterior elements); this tests a change
against the issue's target itself, the same pairs with and without it, a fresh reader each.

``--regions lung mediastinum spine wall`` also writes, from the same pairs, one folder per region
(``OUT/lung/pair_XX.png`` ...; each with its own left/right draw and key, for a fresh reader
each; the draws follow the order of the regions asked for) showing only a square of that region,
both slices resampled to the same mm scale (:func:`region_crop`). Why: every whole-slice round ends
12/12 and its readers name several cues at once; how often a reader still picks the phantom out of
the lungs alone, the mediastinum alone, the spine and back alone or the side of the chest wall alone
says which part still gives it away.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
from scipy import ndimage

from mitsgan.geometry import sample_grid
from phantom_realism import LUNG_WINDOW, MEDIASTINAL_WINDOW, two_lungs  # the benchmarks' folder is on the path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "ct"
WINDOWS = {"lung": LUNG_WINDOW, "mediastinal": MEDIASTINAL_WINDOW}  # (lowest, highest) HU shown
REAL_NAMES = ("LIDC-IDRI-0001", "LIDC-IDRI-0002", "LIDC-IDRI-0003", "lung1")
# Where each real scan's carina lies, as a (fractional) slice index, read off the images
# (lowest slice where the trachea is one lumen; about +-5 mm). In all four scans the index
# runs from feet to head. LIDC-IDRI-0002 lies wholly above it (its first slice cuts the top
# of the aortic arch, ~28 mm above the carina) and LIDC-IDRI-0003 wholly below it (the left
# pulmonary artery arches over the left main bronchus in its top slice).
REAL_CARINA_INDEX = {"LIDC-IDRI-0001": 7.0, "LIDC-IDRI-0002": -22.4, "LIDC-IDRI-0003": 13.0,
                     "lung1": 23.5}
# Intravenous contrast, read off the images (great vessels ~250-450 HU with, ~40 HU without). Half the
# phantoms have it: paired at random, an enhanced phantom beside a plain real slice showed
# its vessels white where the real ones were grey, a cue that is not about realism.
REAL_CONTRAST = {"LIDC-IDRI-0001": True, "LIDC-IDRI-0002": False, "LIDC-IDRI-0003": True,
                 "lung1": False}


def real_slices() -> list[tuple[np.ndarray, float, bool, float, float]]:
    """Three slices per real scan (read by the realism benchmark's loader, same folder), each
    with its height below the carina in mm (negative: above it), its contrast state, its
    slice thickness (mm) and its pixel size (mm)."""
    from phantom_realism import real_scans

    scans = real_scans()
    out = []
    for name in REAL_NAMES:
        scan = scans[name]
        n = scan.shape[0]
        ks = (8, 16, 24) if name == "lung1" else (2, n // 2, n - 3)
        out += [(scan.hu[k], (REAL_CARINA_INDEX[name] - k) * scan.spacing_zyx[0], REAL_CONTRAST[name],
                 scan.spacing_zyx[0], scan.spacing_zyx[2]) for k in ks]
    return out


def phantom_slices(seeds: list[int], rng: np.random.Generator,
                   per_phantom: int = 3) -> list[tuple[np.ndarray, float]]:
    """(slice, pixel mm): ``per_phantom`` slices of each seed's phantom, where its lungs are large."""
    from mitsgan.data.phantom import generate_phantom

    out = []
    for s in seeds:
        scan = generate_phantom(seed=s).scan
        hu = scan.hu
        lung = (hu < -600).reshape(hu.shape[0], -1).sum(axis=1)
        ks = np.flatnonzero(lung > 0.5 * lung.max())
        out += [(hu[k], scan.spacing_zyx[2]) for k in rng.choice(ks, size=min(per_phantom, len(ks)), replace=False)]
    return out


def nearest_phantom_slice_mm(slice_mm: float) -> float:
    """The phantom's slice thickness closest to a real scan's (the phantom's thickest is 2.5 mm)."""
    from mitsgan.data.phantom.generate import SLICE_CHOICES_MM

    return min(SLICE_CHOICES_MM, key=lambda s: abs(s - slice_mm))


def slab_matches(seed: int, below_carina_mm: float, contrast: bool, slices: int = 64,
                 slice_mm: float | None = None) -> bool:
    """Whether the default phantom of ``seed`` has a slice within 2 mm of that height and that
    contrast state, and (if given) slices ``slice_mm`` thick (anatomy and slab position are
    drawn before anything is rendered: cheap)."""
    from mitsgan.data.phantom.generate import chest_params, phantom_grid

    p = chest_params(seed)
    grid = phantom_grid(seed, slices=slices)
    t = grid.t_mm()
    return (t.min() - 2.0 <= p.t_carina_mm + below_carina_mm <= t.max() + 2.0
            and (p.contrast_hu > 0) == contrast
            and (slice_mm is None or abs(grid.slice_mm - slice_mm) < 1e-6))


def level_matched_slices(levels: list[tuple[float, bool, float | None]],
                         first_seed: int) -> list[tuple[np.ndarray, float]]:
    """One phantom slice (with its pixel mm) per (mm below the carina, contrast, slice thickness
    or None) in ``levels``, each from its own phantom, the next seed from ``first_seed`` that
    matches."""
    from mitsgan.data.phantom import generate_phantom
    from phantom_realism import carina_slice

    out, s = [], first_seed
    for level, contrast, slice_mm in levels:
        while not slab_matches(s, level, contrast, slice_mm=slice_mm):
            s += 1
        scan = generate_phantom(seed=s).scan
        k_car = carina_slice(scan, s)  # world z = -t: the index grows toward the head
        k = int(np.clip(round(k_car - level / scan.spacing_zyx[0]), 0, scan.shape[0] - 1))
        print(f"seed {s}: slice {k}, {level:+.0f} mm from the carina, contrast {contrast}")
        out.append((scan.hu[k], scan.spacing_zyx[2]))
        s += 1
    return out


REGIONS = ("lung", "mediastinum", "spine", "wall")
REGION_MM = {"lung": 70.0, "mediastinum": 110.0, "spine": 110.0, "wall": 90.0}  # side of each region's square
SPINE_ABOVE_LUNG_BACK_MM = 25.0  # the vertebral body lies about this far in front of it
WALL_OUTSIDE_LUNG_MM = 20.0  # the wall square's centre: this far out from the lung's side edge
REGION_PX_PER_MM = 4.0  # both slices resampled to this scale: no pixel-size cue, room to look


def region_crop(hu: np.ndarray, pixel_mm: float, region: str,
                centre: tuple[float, float] | None = None) -> np.ndarray | None:
    """A square of one region of an axial slice (HU), resampled to REGION_PX_PER_MM; None where
    the slice shows no two lungs to place it by. ``centre``: (row, column) in pixels, from
    :func:`region_centre` of another slice (an A/B cuts both versions of a patient at the same
    place, found on the baseline).
    """
    if centre is None:
        centre = region_centre(hu, pixel_mm, region)
    if centre is None:
        return None
    cy, cx = centre
    out_px = int(round(REGION_MM[region] * REGION_PX_PER_MM))
    step = 1.0 / (REGION_PX_PER_MM * pixel_mm)  # input pixels per output pixel
    first = -REGION_MM[region] / 2 / pixel_mm + step / 2  # the square's first pixel centre, from (cy, cx)
    # Bilinear, air outside the slice.
    return sample_grid(hu[None].astype(np.float32), (0.0, cy + first, cx + first), (1.0, step, step),
                       (1, out_px, out_px), order=1, fill_hu=-1024.0)[0]


def region_centre(hu: np.ndarray, pixel_mm: float, region: str) -> tuple[float, float] | None:
    """Where :func:`region_crop` centres ``region`` on an axial slice (HU): (row, column) in pixels;
    None where the slice shows no two lungs to place it by.

    ``lung``: centred where the larger lung lies deepest inside its own outline (as far as it
    gets from the mediastinum, the wall and the diaphragm); ``mediastinum``: on the midpoint of
    the two lungs' centroids (between them, the vessels and airways); ``spine``: on that
    midline SPINE_ABOVE_LUNG_BACK_MM in front of the lungs' back edge (the vertebra, the
    paravertebral lung, the back muscles); ``wall``: on the larger lung's centroid row,
    WALL_OUTSIDE_LUNG_MM out from its side edge (the ribs, the chest wall's muscles and fat, the skin;
    round 45's whole-slice readers named a "waxy" wall "with no muscle or fat layers" in most
    answers)."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")
    found = two_lungs(hu)
    if found is None:
        return None
    _, lungs = found
    lab, n = ndimage.label(lungs)
    if n < 2:
        return None
    sizes = ndimage.sum_labels(lungs, lab, [1, 2])
    cents = ndimage.center_of_mass(lungs, lab, [1, 2])
    mid_y, mid_x = (cents[0][0] + cents[1][0]) / 2, (cents[0][1] + cents[1][1]) / 2
    if region == "lung":
        # Vessels are holes in the < -400 HU mask: filled, they do not push the centre aside.
        depth = ndimage.distance_transform_edt(ndimage.binary_fill_holes(lab == 1 + int(np.argmax(sizes))))
        cy, cx = np.unravel_index(int(np.argmax(depth)), depth.shape)
    elif region == "mediastinum":
        cy, cx = mid_y, mid_x
    elif region == "spine":
        cy, cx = float(np.flatnonzero(lungs.any(axis=1))[-1]) - SPINE_ABOVE_LUNG_BACK_MM / pixel_mm, mid_x
    else:  # the wall, beside the larger lung, away from the midline
        big = 1 + int(np.argmax(sizes))
        cy = cents[big - 1][0]
        cols = np.flatnonzero(lab[int(round(cy))] == big)
        outward = 1.0 if cents[big - 1][1] > mid_x else -1.0
        edge = float(cols.max() if outward > 0 else cols.min()) if len(cols) else cents[big - 1][1]
        cx = edge + outward * WALL_OUTSIDE_LUNG_MM / pixel_mm
    return float(cy), float(cx)


def parse_variant(items: list[str]) -> dict[tuple[str, str], object]:
    """``["anatomy.FAT_PLANE_MM=1.5"]`` -> {("anatomy", "FAT_PLANE_MM"): 1.5}; checks that each exists."""
    out: dict[tuple[str, str], object] = {}
    for item in items:
        name, sep, value = item.partition("=")
        module, dot, const = name.partition(".")
        if not sep or not dot:
            raise SystemExit(f"--variant {item!r}: expected MODULE.NAME=VALUE")
        try:
            mod = importlib.import_module(f"mitsgan.data.phantom.{module}")
        except ModuleNotFoundError:
            raise SystemExit(f"--variant {item!r}: no module mitsgan.data.phantom.{module}") from None
        if not hasattr(mod, const):
            raise SystemExit(f"--variant {item!r}: mitsgan.data.phantom.{module} has no {const}")
        try:
            out[(module, const)] = json.loads(value)
        except json.JSONDecodeError:
            raise SystemExit(f"--variant {item!r}: the value must be JSON (a number, true/false, a list)") from None
    return out


@contextlib.contextmanager
def overridden(variant: dict[tuple[str, str], object]) -> Iterator[None]:
    """The phantom modules' constants set to ``variant`` inside the block, restored after."""
    saved = {}
    for (module, const), value in variant.items():
        mod = importlib.import_module(f"mitsgan.data.phantom.{module}")
        saved[(mod, const)] = getattr(mod, const)
        setattr(mod, const, value)
    try:
        yield
    finally:
        for (mod, const), value in saved.items():
            setattr(mod, const, value)


def make(out: Path, seeds: list[int], pairs: int, seed: int, per_phantom: int = 3,
         match_levels: bool = False, match_thickness: bool = False,
         regions: tuple[str, ...] = ()) -> None:
    rng = np.random.default_rng(seed)
    reals_with_level = real_slices()
    rng.shuffle(reals_with_level)
    reals = [(hu, px) for hu, _, _, _, px in reals_with_level][:pairs]
    if match_levels:
        phantoms = level_matched_slices([(lv, c, nearest_phantom_slice_mm(mm) if match_thickness else None)
                                         for _, lv, c, mm, _ in reals_with_level][:pairs], seeds[0])
    else:
        phantoms = phantom_slices(seeds, rng, per_phantom)
        rng.shuffle(phantoms)
    n = min(pairs, len(reals), len(phantoms))
    _write_pairs(out, [(phantoms[i][0], reals[i][0]) for i in range(n)], rng)
    for region in regions:
        crops = [(region_crop(*phantoms[i], region), region_crop(*reals[i], region)) for i in range(n)]
        _write_pairs(out / region, [c for c in crops if c[0] is not None and c[1] is not None], rng)


def _write_pairs(out: Path, pairs: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator) -> None:
    """(phantom, real) slices as OUT/pair_XX.png, the phantom left or right at random, and the key."""
    out.mkdir(parents=True, exist_ok=True)
    key = {}
    for i, (phantom, real) in enumerate(pairs):
        left = bool(rng.integers(2))
        save_side_by_side((phantom, real) if left else (real, phantom), out / f"pair_{i:02d}.png")
        key[f"pair_{i:02d}"] = "A" if left else "B"
    (out / ".key.json").write_text(json.dumps(key, indent=1))
    print(f"wrote {len(pairs)} pairs to {out}; the reader writes {out / 'answers.json'}")


def save_panels(images: list[np.ndarray], labels: list[str], path: Path, gap_px: int = 16,
                title_px: int = 30, window: tuple[float, float] = LUNG_WINDOW) -> None:
    """HU slices side by side in ``window`` (lung by default), pixel for pixel, each titled, as one PNG.

    Why pixel for pixel: drawn with ``imshow`` at 60 dpi, each 512-pixel slice was resampled to
    ~330 pixels, and the two panels at different sub-pixel phases, so the same thin vessel came
    out brighter on one side than on the other: readers reported the left panel's small vessels
    as "slightly brighter" (round 16, in 4 of 10 sets whose vessels were identical), a position
    effect, and the finest lines, the first thing a reader judges, were lost.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = max(im.shape[0] for im in images) + title_px
    width = sum(im.shape[1] for im in images) + gap_px * (len(images) - 1)
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    x = 0
    for im, label in zip(images, labels):
        fig.figimage(np.asarray(im, dtype=np.float32), xo=x, yo=0, cmap="gray", origin="upper",
                     vmin=window[0], vmax=window[1])
        fig.text((x + im.shape[1] / 2) / width, 1.0 - 0.5 * title_px / height, label,
                 ha="center", va="center", fontsize=14)
        x += im.shape[1] + gap_px
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def save_side_by_side(images: tuple[np.ndarray, np.ndarray], path: Path,
                      window: tuple[float, float] = LUNG_WINDOW) -> None:
    """Two HU slices as one PNG in ``window``, titled A (left) and B (right), pixel for pixel."""
    save_panels(list(images), ["A", "B"], path, window=window)


# Each region's square as the readers' instructions name it (here and in phantom_ab.reader_prompt).
REGION_PLACES = {"lung": "lung parenchyma", "mediastinum": "the mediastinum",
                 "spine": "the spine and the back", "wall": "the side of the chest wall"}
WHAT_IS_SHOWN = {None: "two axial chest CT slices side by side",
                 **{region: f"two square crops of axial chest CT side by side, both cut from {place}"
                    for region, place in REGION_PLACES.items()}}


def reader_prompt(folder: Path, region: str | None = None) -> str:
    """The instructions a blinded reader of ``folder`` gets (``region``: a region folder's crops).

    Why fixed wording: a reader's confidence moves with how it is asked far more than with most
    changes to the phantom (round 45: the same 12 lung crops drew a mean confidence of 0.81 from
    round 44's reader and 0.60-0.61 from three readers given this text, whose first version differed
    only in naming the 12 files), so rounds are compared only under one text, with several fresh
    readers per condition (:func:`score` pools them): three readers' pooled counts moved by up to 8
    of 36 between reader sets on near-identical images.
    """
    shown = WHAT_IS_SHOWN[region]
    return f"""You are a radiologist taking part in a blinded perception test of chest CT images. Work only \
inside the folder {folder}; do not open, list or search anything outside it.

The folder holds files pair_00.png, pair_01.png, ... Each shows {shown}, labelled A (left) and \
B (right), in lung window. In every pair exactly one of the two is from a synthetic \
(computer-generated) CT and the other from a real patient's CT. Which side is synthetic is random \
for each pair.

Task: for each pair, look at it once with the image viewer tool (view the PNG), and say which side \
is synthetic, how confident you are (0.5 = pure guess, 1.0 = certain), the first thing that gave it \
away (the first cue), and any other cues. Judge by what you see, as a radiologist glancing at the \
images would. Rules: view the images only with the file viewer; no pixel statistics, histograms, \
differences, hashes, file sizes, metadata, cropping scripts or other computation on the files. \
Judge each pair on its own.

Write your answers as {folder}/answers.json, a JSON object:
{{"pair_00": {{"synthetic": "A" or "B", "confidence": 0.5-1.0, "first_cue": "one sentence", \
"other_cues": ["...", "..."]}}, ... for every pair}}
Then reply with a one-line summary.
"""


def require_files(*paths: Path) -> None:
    """Stop with a message naming the first of ``paths`` that is missing: a ``.key.json`` comes from
    ``make``, anything else from the reader."""
    for path in map(Path, paths):
        if not path.is_file():
            raise SystemExit(f"{path}: not found ({'run make first' if path.name[0] == '.' else 'the reader writes it'})")


def sign_test_p(hits: int, n: int) -> float:
    """One-sided binomial p of at least ``hits`` of ``n`` by chance (a reader guessing)."""
    return sum(math.comb(n, k) for k in range(hits, n + 1)) / 2 ** n if n else 1.0


def told_apart_p(told_apart: list[int], n: int) -> float:
    """P of readers who only guess separating the two kinds at least this well, summed over readers.

    A reader's "told apart" is max(k, n - k) for k phantoms picked out of n pairs: how consistently
    they put the two kinds on opposite sides, whichever they took for real. Under guessing each
    k is Binomial(n, 1/2); the sum's null distribution is the readers' distributions convolved.
    """
    one = np.zeros(n + 1)
    for k in range(n + 1):
        one[max(k, n - k)] += math.comb(n, k) / 2 ** n
    dist = np.array([1.0])
    for _ in told_apart:
        dist = np.convolve(dist, one)
    return float(min(1.0, dist[sum(told_apart):].sum()))


def score(out: Path, answer_files: list[Path] | None = None) -> dict:
    """Score one or more readers against ``out``'s key: per reader, the phantoms picked out, the
    mean confidence and the mean probability put on the right side (confidence if right, 1 minus
    it if wrong); pooled, the hits and the sign test against guessing. Prints and returns them.

    Why also "told apart" (see :func:`told_apart_p`): a reader who took the phantom's look for the
    real one picks out 1 of 12, which the one-sided count reads as "fooled", yet they saw the two
    kinds differ in 11 of 12 pairs (round 50: two of three readers of one set did this, calling the
    phantom's lung grain "a real low-dose scan's streaks"). The phantom passes only when readers
    can neither pick it out nor tell the two kinds apart.
    """
    files = answer_files or [out / "answers.json"]
    require_files(out / ".key.json", *files)
    key = json.loads((out / ".key.json").read_text())
    readers, pooled_hits, pooled_n = [], 0, 0
    per_pair: dict[str, list[str]] = {p: [] for p in key}  # first cues of the readers who picked it out
    for f in files:
        answers = json.loads(Path(f).read_text())
        right = [str(answers.get(p, {}).get("synthetic", "")).upper() == key[p] for p in key]
        for p, r in zip(key, right):
            if r:
                per_pair[p].append(str(answers[p].get("first_cue", "")))
        conf = [float(answers.get(p, {}).get("confidence", 0.5)) for p in key]
        on_right = [c if r else 1.0 - c for c, r in zip(conf, right)]
        row = {"answers": str(f), "picked_out": sum(right), "pairs": len(key),
               "told_apart": max(sum(right), len(key) - sum(right)),
               "mean_confidence": round(float(np.mean(conf)), 3),
               "mean_p_right": round(float(np.mean(on_right)), 3)}
        readers.append(row)
        pooled_hits += sum(right)
        pooled_n += len(key)
        print(f"{f}: phantom picked out in {row['picked_out']} / {len(key)} pairs (chance: {len(key) / 2:.0f}); "
              f"mean confidence {row['mean_confidence']:.2f}, on the right side {row['mean_p_right']:.2f}")
    p = sign_test_p(pooled_hits, pooled_n)
    apart = [r["told_apart"] for r in readers]
    p_apart = told_apart_p(apart, len(key))
    if len(files) > 1:
        print(f"pooled: {pooled_hits} / {pooled_n} ({pooled_hits / pooled_n:.0%}); one-sided sign test p = {p:.3g}")
    print(f"told apart (either way round): {sum(apart)} / {len(apart) * len(key)}; by guessing p = {p_apart:.3g}")
    hits = {p: len(cues) for p, cues in per_pair.items()}
    if len(files) > 2:
        print_per_pair(per_pair, len(files))
    return {"readers": readers, "picked_out": pooled_hits, "pairs": pooled_n, "sign_test_p": p,
            "told_apart": sum(apart), "told_apart_p": p_apart, "per_pair": hits}


def print_per_pair(per_pair: dict[str, list[str]], n_readers: int) -> None:
    """Each pair's count of readers who picked the phantom out, and, for the pairs every reader found,
    the cues they named first.

    Why (round 51): over nine readers of one set, five pairs were picked out by all nine, each for one
    named cue ("a chain of three fused rings", "long curved lines crossing like brush strokes"), and one
    pair by none. A change aimed at one such cue touches one to three of twelve pairs, which the pooled
    count cannot show (three readers: 3-4 of 36 apart on the same images); the same pair's count can.
    """
    print("per pair, readers who picked out the phantom: "
          + ", ".join(f"{p[-2:]} {len(c)}/{n_readers}" for p, c in per_pair.items()))
    for p, cues in per_pair.items():
        if len(cues) == n_readers:
            print(f"  {p}, picked out by every reader; first cues: " + " | ".join(c for c in cues if c))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out", type=Path)
    m.add_argument("--seeds", type=int, nargs="+", default=[3, 4, 5, 6])
    m.add_argument("--pairs", type=int, default=12)
    m.add_argument("--seed", type=int, default=0, help="pairing and left/right draw")
    m.add_argument("--per-phantom", type=int, default=3,
                   help="slices per phantom (1 with 12 seeds: no body seen twice; slower)")
    m.add_argument("--match-levels", action="store_true",
                   help="one phantom per real slice, cut at the real slice's height relative "
                        "to the carina, with its contrast state (phantoms from the first of --seeds on)")
    m.add_argument("--match-thickness", action="store_true",
                   help="with --match-levels: only phantoms whose slices are as thick as the real "
                        "slice's (the nearest of the phantom's 1-2.5 mm; lung1's 5 mm gets 2.5)")
    m.add_argument("--regions", nargs="+", choices=REGIONS, default=[],
                   help="also one folder per region, showing only a square of it (see region_crop)")
    m.add_argument("--variant", action="append", default=[], metavar="MODULE.NAME=VALUE",
                   help="draw the phantoms with this constant of mitsgan.data.phantom.MODULE set "
                        "(repeatable): the same real slices, pairing and sides as without it")
    s = sub.add_parser("score")
    s.add_argument("out", type=Path)
    s.add_argument("answers", type=Path, nargs="*",
                   help="readers' answer files (default OUT/answers.json); several are pooled")
    pr = sub.add_parser("prompt", help="print the blinded reader's instructions for a folder")
    pr.add_argument("folder", type=Path, help="where the reader finds the PNGs (a copy of OUT's, without the key)")
    pr.add_argument("--region", choices=REGIONS, default=None, help="the folder holds this region's crops")
    args = ap.parse_args(argv)
    if args.cmd == "make":
        if not SHARED.is_dir():
            print(f"SKIP: real scans not found at {SHARED}")
            return 0
        if args.match_thickness and not args.match_levels:
            ap.error("--match-thickness needs --match-levels")
        with overridden(parse_variant(args.variant)):
            make(args.out, args.seeds, args.pairs, args.seed, args.per_phantom, args.match_levels,
                 args.match_thickness, tuple(args.regions))
    elif args.cmd == "prompt":
        print(reader_prompt(args.folder, args.region), end="")
    else:
        score(args.out, args.answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
