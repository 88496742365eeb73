"""Chest wall soft tissue outside the rib ring: skin, fat, muscle groups, scapulae, breasts, arms.

Why a separate layer model: the rib ring and the thoracic cavity are rigid and stay
where :mod:`anatomy` puts them (so the lungs, and everything grown into them, do not
move); what makes a real chest outline look real is the soft tissue around it:

* the back lies flat on the couch (the outline follows the couch's curve there);
* the subcutaneous fat is uneven (several bumps per circumference, drifting with z),
  and breasts add a large anterolateral mound at mid-chest in about half the patients;
* muscles come in groups with fat planes between them: pectoralis major over minor in
  front, latissimus dorsi over serratus laterally, trapezius over the erector spinae
  behind; the axillary fat separates pectoralis from latissimus at the upper chest;
* the scapulae are flat blades in the posterolateral muscles, resting on the ribs medially and
  standing off them laterally, with their spine running back from the blade above the carina;
* arms lie beside the chest in some scans; in most, they are raised out of the field;
* a gown and blankets lie over most patients: thin wavy sheets in the air over the front
  and sides (every LIDC slab shows them; a bare, clean outline read as drawn).

Depths are measured along the ray from the body centre in the anatomy frame's
``depth0`` (mm below the *reference* outline of :mod:`anatomy`; negative outside it):
the superficial muscles and the extra fat are laid outside that reference, so the
skin moves outward by ``delta(theta, t)`` and the inner layers stay put.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

f32 = np.float32
AIR, SKIN, FAT, MUSCLE, CORTICAL, TRABECULAR = 0, 1, 2, 3, 4, 5
BREAST = 19  # fibroglandular breast tissue (a fat/soft-tissue mix)
TABLE = 15  # anatomy's label of the couch
CLOTH = 20  # gown and blanket folds in the air over the body


@dataclass
class WallParams:
    """Per-patient chest wall; drawn by :func:`sample_wall_params`."""

    pect_major_mm: float
    lat_mm: float
    trap_mm: float
    plane_mm: float
    fat_bumps: np.ndarray  # (K, 3): amplitude (relative to fat), harmonic order, phase
    flat_frac: float  # how much of the posterior fat the couch squashes
    breast_mm: float  # 0: no breasts
    breast_theta: float
    breast_t_frac: float
    arms: bool
    arm_gap_mm: float
    arm_a_mm: float  # half-width (lateral)
    arm_b_mm: float  # half-height (AP)
    arm_dy_mm: float
    arm_fat_mm: float
    humerus_mm: float
    scap_thick_mm: float


def sample_wall_params(p, rng: np.random.Generator) -> WallParams:
    """Draw the chest wall of patient ``p`` (drawn after all of ``p``'s own numbers)."""
    u = rng.uniform
    k = 5
    bumps = np.stack([u(0.05, 0.14, k), rng.integers(2, 8, k).astype(float), u(0.0, 2 * np.pi, k)], axis=1)
    female = u() < 0.45
    # Arms down in ~15% of scans: most chest CTs are taken arms up, and with 0.6-0.8 mm
    # pixels the FOV cuts arms at the image edge into stubs (at 35% a reader's cue).
    return WallParams(
        pect_major_mm=u(4.0, 11.0), lat_mm=u(3.0, 8.0), trap_mm=u(2.0, 5.0), plane_mm=u(1.2, 2.2),
        fat_bumps=bumps, flat_frac=u(0.35, 0.75),
        breast_mm=u(10.0, 28.0) if female else 0.0, breast_theta=u(0.55, 0.8), breast_t_frac=u(0.55, 0.72),
        arms=bool(u() < 0.15), arm_gap_mm=u(3.0, 14.0), arm_a_mm=u(34.0, 46.0), arm_b_mm=u(40.0, 55.0),
        arm_dy_mm=u(-5.0, 25.0), arm_fat_mm=u(4.0, 12.0), humerus_mm=u(10.0, 13.0), scap_thick_mm=u(2.2, 3.2),
    )


def _bump(x: np.ndarray, c: float, w: float) -> np.ndarray:
    return np.exp(-(((x - f32(c)) / f32(w)) ** 2))


def y_back_mm(p, w: WallParams) -> float:
    """Y of the flattened back at the midline (the couch's contact line).

    Chosen so the back touches the couch at every level: the unflattened skin at the
    midline lies at the reference outline (``anatomy``'s superellipse at theta = pi)
    plus what :func:`soft_tissue` adds there (muscle, and fat wobble that takes away at
    most 5% of the fat); the couch squashes ``0.7 * flat_frac`` of the fat.
    """
    k = np.arange(p.body_harmonics.shape[0]) + 2
    ref = p.body_half_post_mm * (1.0 + float(np.sum(p.body_harmonics[:, 0] * np.cos(k * np.pi))))
    kf = np.arange(p.fat_harmonics.shape[0]) + 1
    fat_pi = max(p.fat_mm * (1.0 + float(np.sum(p.fat_harmonics[:, 0] * np.cos(kf * np.pi)))), 1.0)
    sup = 0.6 * w.trap_mm + w.plane_mm
    return ref + max(0.0, sup - 0.15 * fat_pi) - 0.05 * fat_pi - w.flat_frac * 0.7 * fat_pi


def soft_tissue(p, w: WallParams, X: np.ndarray, Y: np.ndarray, t: float, depth0: np.ndarray,
                theta: np.ndarray, d_fat0: np.ndarray, d_mus: np.ndarray, mus: np.ndarray,
                shoulder: np.ndarray, upper: float, lab: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label skin, fat, muscle groups, fat planes, breasts and scapulae outside the rib ring.

    Returns ``(body, depth_skin, belly)``: the body mask, the depth (mm) below the actual skin
    (for the anti-aliased outline) and the deep muscle's thickness (mm) outward from the rib
    ring (where it is thin, fat comes down between the ribs). Everything deeper than ``d_mus``
    is left to the caller.
    """
    ath = np.abs(theta)
    # Superficial muscles outside the reference fat: pectoralis major (front, bigger
    # at the upper chest), latissimus dorsi (posterolateral), trapezius (back).
    # Wide bumps: narrow ones leave a flat facet between them and the outline reads as
    # a polygon; real flanks are convex, latissimus wrapping forward over serratus.
    pect = f32(w.pect_major_mm * (0.3 + 0.7 * upper)) * _bump(ath, 0.9, 0.55)
    lat = f32(w.lat_mm) * _bump(ath, 1.95, 0.6)
    trap = f32(w.trap_mm * (0.6 + 0.4 * upper)) * np.exp(-(((np.pi - ath) / 0.75) ** 2))
    sup = pect + lat + trap
    plane = f32(w.plane_mm) * np.clip(sup / f32(3.0), 0.0, 1.0)
    fat = d_fat0 - f32(p.skin_mm)
    var = np.zeros_like(theta)
    for amp, order, ph in w.fat_bumps:
        var += f32(amp) * np.cos(f32(order) * theta + f32(ph + 0.012 * order * t))
    var = fat * (np.maximum(var, f32(-0.3)) + f32(0.25))  # and a little more fat than the reference
    # Round 46 (not kept; the code is not in the tree): 20 mm more fat over each flank (a Gaussian
    # 0.55 rad wide round 1.65 rad from the front, laid outside the reference outline, the field of view
    # grown to fit it up to 0.8 mm pixels). Measured on the wall crops' centre row (seeds 25400-25407,
    # -30 / 0 / +30 mm), the lung's side edge to the skin went 45 mm (median; 36-62) -> 63 (36-77), real
    # 67 (23-75; LIDC-IDRI-0001..0003 56-75), and the lungs' span over the body's width 0.74 (0.66-0.79)
    # -> 0.66, real 0.60-0.66 (LIDC; lung1 0.69-0.82): the phantom's lungs are too wide for its body. Yet
    # blinded A/Bs of wall crops, both ways round, three fresh readers (seeds 26205-26209, -20 / +20 mm;
    # 26207, a large patient, had no room and drew identical images): the baseline 6 of 6, 7 of 8 and
    # 6 of 6 comparisons with a difference, at 0.55-0.7 ("skin and air visible, as in the references"
    # against "soft tissue running off the crop's edge", "one thick featureless wall").
    if w.breast_mm > 0:
        tb = w.breast_t_frac * p.lung_length_mm
        zf = float(np.exp(-(((t - tb) / 55.0) ** 2)))
        if zf > 0.02:
            # Ptotic: the mound hangs laterally, flattening toward the sternum.
            var += f32(w.breast_mm * zf) * _bump(ath, w.breast_theta, 0.42)
    # The superficial muscles take the inner part of the reference fat (at most 15% of
    # it: real chest walls hold as much fat as muscle) and push the skin out by the rest.
    delta = sup + plane - np.minimum(sup + plane, f32(0.15) * fat) + var
    depth = depth0 + delta  # below the uneven skin, before the couch flattens it
    y_back = y_back_mm(p, w)
    flat = f32(y_back) - X * X / f32(1400.0) - Y  # the couch's curve (render_table)
    depth_skin = np.minimum(depth, flat)
    body = depth_skin > 0

    # Muscle bellies, not a ring: the deep layer is muscle in full only under the pectorals,
    # the latissimus, the scapular muscles and the erector spinae; between them (the axilla,
    # the flank behind the latissimus) little more than serratus and intercostals lies on the
    # ribs and the rest is fat, continuous with the subcutaneous fat. As an even ring of
    # muscle the wall read as "one uniform grey band" to every blinded reader.
    g = np.maximum.reduce([_bump(ath, 0.8, 0.45), _bump(ath, 1.95, 0.38), _bump(ath, 2.45, 0.3),
                           _bump(ath, np.pi, 0.45)])
    # Each belly is a lens that swells and thins around the chest and from slice to slice
    # (bundles, tendons, insertions): at one smooth thickness all round the layers read as
    # evenly spaced concentric bands, a blinded reader's first cue for the chest wall.
    lens = (f32(1.0) + f32(0.45) * np.sin(f32(6.0) * theta + f32(w.fat_bumps[0, 2] + 0.021 * t))
            + f32(0.25) * np.sin(f32(11.0) * theta + f32(w.fat_bumps[3, 2] - 0.033 * t)))
    # The scapular muscles (subscapularis, infraspinatus, teres) and the erector spinae are
    # muscle through and through: thinned like the rest, the upper posterolateral wall was
    # mostly fat, where real ones show 3-5 cm of muscle round the scapula.
    back = np.clip((ath - f32(2.5)) / f32(0.4), 0.0, 1.0)
    lens = np.clip(lens, f32(0.35) + f32(0.45) * back, f32(1.6))
    # Round 46 (not kept; the code is not in the tree): over the side wall (0.95-2.55 rad from the
    # front), the deep layer as 5 separate rounded bellies (the highest of 5 bumps 0.07-0.18 rad
    # wide, 0.6-1.5 of the layer thick, drifting and swelling with t; 0.2 of it between them), the
    # latissimus ending at 1.75 rad, and 20 mm more fat over the flanks (see above), after the
    # chest-wall readers' "even layers parallel to the skin". Blinded A/Bs of wall crops, both ways
    # round, three fresh readers (seeds 26200-26204, -20 / +20 mm): 0 of 10 comparisons each (p = 1;
    # "lumpy, blob-like soft tissue bulging around the ribs", "a step in the skin line" where the
    # latissimus ended; the real references show smooth, continuous layers on the ribs). Those sets
    # cut the variant's square at the baseline's pixels on its grown grid, so its strip of lung showed
    # another place (phantom_ab.cut_region now cuts both round the same world position); the readers'
    # first reason was the wall in every set.
    # Round 47 (not kept; the code is not in the tree): beside the spine (fading in from 2.6 rad, in full
    # beyond 2.9) the deep layer kept muscle through and through (belly >= mus), so no fat lay between the
    # erector spinae and the trapezius (a chevron over the back in the spine crops). Blinded A/Bs of spine
    # crops, both ways round, three fresh readers (seeds 26310-26314, -20 / +20 mm): 0 of 8, 0 of 7 and 2
    # of 8 comparisons with a difference (0.5-0.65): "a continuous fat layer behind the back muscles, as in
    # the real reference" against "small separate fat patches to the sides".
    belly = (mus - shoulder) * (f32(0.22) + f32(0.6) * g) * lens + shoulder
    # The superficial muscles lie on the deep ones (SUPERFICIAL_ON_DEEP of the fat between them
    # moved outside them): fat | muscle | fat | muscle stacked round the ribs read as onion skin.
    # Not at the back: there the trapezius stays a band over the erector spinae (sunk, the fat
    # between showed as straight-edged wedges under the skin beside the spine).
    front_side = np.clip((f32(SINK_BACK_RAD[1]) - ath) / f32(SINK_BACK_RAD[1] - SINK_BACK_RAD[0]),
                         0.0, 1.0)
    sink = f32(SUPERFICIAL_ON_DEEP) * front_side * np.maximum(d_mus - belly - d_fat0, f32(0.0))
    deep_fat = d_fat0 + sink  # where the superficial muscle ends (its fat moved outside it)
    lab[body] = MUSCLE
    lab[body & (depth0 < deep_fat - sup - plane)] = FAT
    lab[body & (depth0 >= deep_fat) & (depth0 < d_mus - belly)] = FAT
    # The plane under the superficial muscles: broken where they insert or thin out.
    brk = np.sin(4.0 * theta + f32(w.fat_bumps[2, 2]) + f32(0.015 * t)) > -0.45
    lab[body & (depth0 >= deep_fat - plane) & (depth0 < deep_fat) & (sup > 3.5) & brk] = FAT
    if w.breast_mm > 0:
        # Fibroglandular cone: the deeper middle of the mound, wispy at its edges.
        # An ellipse in the mound's (angle, depth) frame, centred in the mound: the
        # fibroglandular disc sits in the fat, clear of skin and pectoralis.
        size = w.breast_mm * zf
        half = f32(0.5) * (d_fat0 - sup - plane + delta)  # half the fat's depth below the skin
        e = ((ath - f32(w.breast_theta)) / f32(0.16)) ** 2 + ((depth - half) / np.maximum(f32(0.55) * half, f32(1.0))) ** 2
        glands = body & (e < 1.0) & (size > 10.0) & (half > 8.0)
        lab[glands] = BREAST
    # No fat planes parallel to the ribs inside the deep layer: as lines at a constant depth
    # (even in short pieces) they drew concentric rings round the lungs, the first cue a
    # blinded reader named for the chest wall ("evenly spaced bands"). Groups are separated
    # by the radial planes below and by the fat between the bellies above.
    inner = body & (depth0 > deep_fat) & (depth0 < d_mus) & (mus > 8.0)
    # Radial planes between groups: pectoralis | axilla | latissimus | trapezius | erector.
    # Thin and wavy: 2 mm straight strips through a ~1 cm layer read as little boxes.
    for c in (1.45, 2.55):
        off = (ath - f32(c)) * np.maximum(depth0, f32(20.0)) - f32(1.5) * np.sin(depth0 / f32(4.0) + f32(c * t * 0.01))
        lab[inner & (np.abs(off) < f32(0.5))] = FAT
    lab[body & (depth_skin < p.skin_mm)] = SKIN
    if upper > 0.2:
        draw_scapulae(p, w, X, Y, t, theta, depth0, d_mus, depth_skin, upper, body, lab)
    return body, depth_skin, belly


@dataclass
class Blade:
    """One scapula in one slice: a polyline from its medial end through the spine's junction (the
    middle point) to its lateral end (mm, the slice's X, Y), its thickness, and its side."""

    side: float  # +1 patient left
    points: np.ndarray  # (SCAPULA_CURVE_POINTS, 2)
    half_mm: float  # the plate's half-thickness
    border_mm: float  # the lateral border's extra half-thickness
    lateral_rad: float  # the lateral end's angle from the front (rad)


def _along_ray_mm(theta: np.ndarray, values: np.ndarray, angle: float) -> float:
    """The median of ``values`` (a quantity constant along each ray) on the ray ``angle``."""
    near = np.abs(theta - f32(angle)) < f32(0.012)
    if not near.any():
        near = np.abs(theta - f32(angle)) < f32(0.05)
    return float(np.median(values[near]))


def scapula_blades(w: WallParams, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, depth0: np.ndarray,
                   d_mus: np.ndarray, depth_skin: np.ndarray, upper: float) -> list[Blade]:
    """Where each scapula lies in the slice: a gently curved blade resting on the curved cage.

    Why: the blade is a nearly flat plate, so an axial slice cuts it as a bar that touches the
    cage (over a thin subscapularis) at its medial border and leaves it laterally, where the thick
    lateral border stands 1-3 cm off the ribs with the subscapularis filling the wedge between
    (LIDC-IDRI-0001, -0002, -0003). Drawn at a depth in the wall that followed the ribs, it
    curved with them as one more arc round the lungs. The lateral end stays SCAPULA_COVER_MM
    under the skin: the body's outline is not changed for it.
    """
    span = 0.12 + 0.45 * (upper - 0.2)  # half its angular extent (rad), widest at the spine
    rho = np.hypot(X, Y)
    cage = rho + depth0 - d_mus  # the cage's outer surface, mm from the centre (constant per ray)
    wall = depth_skin - depth0 + d_mus  # cage -> skin (mm; constant per ray)
    c, (medial, junction, lateral) = SCAPULA_BLADE_CENTRE_RAD, SCAPULA_ANGLE_SHARES
    angles = (c + medial * span, c + junction * span, c - lateral * span)
    half = 0.5 * w.scap_thick_mm
    border = SCAPULA_BORDER_MM[0] * upper
    out = []
    for side in (-1.0, 1.0):
        room = _along_ray_mm(theta, wall, side * angles[2]) - half - border - SCAPULA_COVER_MM
        lift = max(min(SCAPULA_GAP_MM[2] + SCAPULA_GAP_MM[3] * upper, room), SCAPULA_GAP_MM[0])
        pts = []
        for ang, gap in zip(angles, (SCAPULA_GAP_MM[0], SCAPULA_GAP_MM[1], lift)):
            r = _along_ray_mm(theta, cage, side * ang) + gap
            pts.append((side * r * np.sin(ang), -r * np.cos(ang)))
        m, j, l = np.asarray(pts, dtype=np.float64)
        ctrl = 2.0 * j - 0.5 * (m + l)  # the quadratic through m, j (at its middle) and l
        s = np.linspace(0.0, 1.0, SCAPULA_CURVE_POINTS)[:, None]
        curve = (1 - s) ** 2 * m + 2 * s * (1 - s) * ctrl + s ** 2 * l
        out.append(Blade(side, curve, half, border, angles[2]))
    return out


def _polyline_distance(X: np.ndarray, Y: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (mm) to the polyline ``pts``, the arc length (mm from its first point) of the
    nearest point on it, and the side: > 0 toward the body centre from the nearest segment."""
    best = along = inward = None
    start = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        seg = b - a
        length = float(np.hypot(*seg))
        ux, uy = seg / length
        s = np.clip(((X - f32(a[0])) * f32(ux) + (Y - f32(a[1])) * f32(uy)) / f32(length), 0.0, 1.0)
        d = np.hypot(X - f32(a[0]) - s * f32(seg[0]), Y - f32(a[1]) - s * f32(seg[1]))
        nx, ny = -uy, ux  # the segment's normal toward the centre: the way -a points
        if nx * -a[0] + ny * -a[1] < 0:
            nx, ny = -nx, -ny
        side = (X - f32(a[0])) * f32(nx) + (Y - f32(a[1])) * f32(ny)
        arc = f32(start) + s * f32(length)
        if best is None:
            best, along, inward = d, arc, side
        else:
            closer = d < best
            best, along, inward = np.where(closer, d, best), np.where(closer, arc, along), np.where(closer, side, inward)
        start += length
    return best, along, inward


def draw_scapulae(p, w: WallParams, X: np.ndarray, Y: np.ndarray, t: float, theta: np.ndarray,
                  depth0: np.ndarray, d_mus: np.ndarray, depth_skin: np.ndarray, upper: float,
                  body: np.ndarray, lab: np.ndarray) -> None:
    """Label each blade (cortex, fatty marrow), the muscle round it, and its spine above the carina.

    The subscapularis fills the wedge between blade and cage and the infraspinatus lies behind
    the blade (SCAPULA_MUSCLE_MM), both muscle through, up to SCAPULA_FAT_OVER_MM under the skin:
    over the scapulae real backs show thick muscle under a thin layer of fat (LIDC-IDRI-0001, -0002).
    The lateral SCAPULA_BORDER_MM[1] mm thicken evenly into the lateral border (a club, not a knob).
    Each blade is drawn in a window round it (the full slice costs ~10x more).
    """
    xs, ys = X[0], Y[:, 0]
    for blade in scapula_blades(w, X, Y, theta, depth0, d_mus, depth_skin, upper):
        reach = blade.half_mm + blade.border_mm + SCAPULA_MUSCLE_MM + 2.0
        lo, hi = blade.points.min(axis=0) - reach, blade.points.max(axis=0) + reach
        win = (slice(int(np.searchsorted(ys, lo[1])), int(np.searchsorted(ys, hi[1]))),
               slice(int(np.searchsorted(xs, lo[0])), int(np.searchsorted(xs, hi[0]))))
        Xw, Yw = np.broadcast_to(X, lab.shape)[win], np.broadcast_to(Y, lab.shape)[win]
        dist, along, inward = _polyline_distance(Xw, Yw, blade.points)
        total = float(np.sum(np.hypot(*np.diff(blade.points, axis=0).T)))
        ramp = np.clip((along - f32(total - SCAPULA_BORDER_MM[1])) / f32(SCAPULA_BORDER_MM[1]), 0.0, 1.0)
        half = f32(blade.half_mm) + f32(blade.border_mm) * ramp
        mine = body[win] & (theta[win] * f32(blade.side) > 0)
        soft = mine & (depth0[win] < d_mus[win]) & (depth_skin[win] > f32(p.skin_mm + SCAPULA_FAT_OVER_MM))
        on_blade = (along > 0.0) & (along < f32(total))
        wedge = soft & on_blade & (inward > 0) & (np.abs(theta[win]) > f32(blade.lateral_rad))
        behind = soft & (inward <= 0) & (dist < half + f32(SCAPULA_MUSCLE_MM))
        sub = lab[win]  # a view: labels written through it
        sub[(wedge | behind) & (sub == FAT)] = MUSCLE
        bone = mine & (dist < half)
        sub[bone] = CORTICAL
        sub[bone & (dist < half - f32(SCAPULA_CORTEX_MM))] = TRABECULAR
        j = blade.points[len(blade.points) // 2]
        middle = np.zeros(lab.shape, dtype=bool)
        middle[win] = bone & (np.hypot(Xw - f32(j[0]), Yw - f32(j[1])) < half + f32(1.0))
        scapular_spines(p, w, X, Y, t, theta, middle, depth_skin, lab)


def scapular_spines(p, w: WallParams, X: np.ndarray, Y: np.ndarray, t: float, theta: np.ndarray,
                    junction: np.ndarray, depth_skin: np.ndarray, lab: np.ndarray) -> None:
    """The spine of each scapula: a bony bar from the middle of the blade back toward the skin,
    ending in a knob, in slices more than SCAPULA_SPINE_MM[0] above the carina.

    Why: from about 25 mm above the carina real slices cut the scapula as a Y (lateral border
    and neck, medial blade, and the spine running back under the trapezius); a single plate
    there read as "a plain, featureless blade" (round 26: blinded A/Bs preferred the spine in 10
    of 10 comparisons, then 10 of 10 on new patients with a fresh reader). ``junction``: the
    blade's pixels at its middle.
    """
    rise = (p.t_carina_mm - t - SCAPULA_SPINE_MM[0]) / SCAPULA_SPINE_MM[1]
    if rise <= 0.0:
        return
    full = SCAPULA_SPINE_MM[2] + 8.0 * (w.scap_thick_mm - 2.2)  # 12-20 mm; no new draw
    length = full * min(rise, 1.0)
    xs, ys = X[0], Y[:, 0]
    for side in (-1.0, 1.0):
        at = junction & (theta * side > 0)
        if not at.any():
            continue
        iy, ix = np.nonzero(at)
        jx, jy = float(xs[ix].mean()), float(ys[iy].mean())
        phi = SCAPULA_CENTRE_RAD + SCAPULA_SPINE_TILT
        ux, uy = side * np.sin(phi), -np.cos(phi)
        # Keep the knob SCAPULA_SPINE_MM[3] under the skin (it lies under the trapezius, never
        # in the subcutaneous fat): shorten the spine, and where the blade itself lies shallow,
        # shrink the knob (down to 2.5 mm).
        ell, knob = length, SCAPULA_SPINE_KNOB_MM
        while True:
            qx, qy = jx + ux * ell, jy + uy * ell
            kx, ky = int(np.abs(xs - qx).argmin()), int(np.abs(ys - qy).argmin())
            room = float(depth_skin[ky, kx]) - SCAPULA_SPINE_MM[3]
            if room >= knob or ell <= 4.0:
                break
            ell -= 1.0
        knob = min(knob, room)
        if knob < 2.5:
            continue
        # Distance (mm) to the segment junction -> tip, and how far along it (0..1).
        proj = ((X - f32(jx)) * f32(ux) + (Y - f32(jy)) * f32(uy)) / f32(ell)
        s = np.clip(proj, 0.0, 1.0)
        d = np.hypot(X - f32(jx) - s * f32(ux * ell), Y - f32(jy) - s * f32(uy * ell))
        tip = np.hypot(X - f32(jx + ux * ell), Y - f32(jy + uy * ell))
        muscle = (np.minimum(d, tip) < f32(knob + 4.0)) & (lab == FAT) & (depth_skin > f32(p.skin_mm + 2.0))
        lab[muscle] = MUSCLE  # supra-/infraspinatus round the spine, not fat
        bone = ((d < f32(SCAPULA_SPINE_HALF_MM)) & (proj > 0)) | (tip < f32(knob))  # none on the rib side
        lab[bone & (lab != TRABECULAR)] = CORTICAL
        lab[tip < f32(knob - SCAPULA_KNOB_CORTEX_MM)] = TRABECULAR  # a solid bar; a knob with a core


SCAPULA_CENTRE_RAD = 2.25  # the spine's direction: this (rad from the front) + SCAPULA_SPINE_TILT
# The scapular spine (scapular_spines): it starts [0] mm above the carina and reaches its full
# length [1] mm higher; full length [2] + 0..8 mm; its knob stays [3] mm under the skin at least.
# Direction: the blade's outward normal turned SCAPULA_SPINE_TILT rad toward the back (LIDC-IDRI-
# 0002, 22-40 mm above the carina: a Y whose spine runs back and a little outward, ~14 mm long,
# a ~3.5 mm bar ending in a ~11 mm knob).
SCAPULA_SPINE_MM = (20.0, 10.0, 12.0, 3.0)
SCAPULA_SPINE_TILT = 0.45
SCAPULA_SPINE_HALF_MM = 1.8  # the bar's half-width
SCAPULA_SPINE_KNOB_MM = 4.5
# The knob's cortex (mm); its marrow core is the rest. At 3.5 (a nearly solid knob) blinded A/Bs
# preferred this in 10 of 10 comparisons ("the ribs and vertebrae show marrow, so a fully solid
# scapula is the inconsistent one").
SCAPULA_KNOB_CORTEX_MM = 2.5


# Share of the fat between the superficial and the deep muscles moved outside the superficial ones
# (soft_tissue). Round 26: laid in the reference fat, the pectoralis and latissimus made fat |
# muscle | fat | muscle round the ribs (35-56% of lateral rays crossed four or more layers, real
# slabs 17-31%; "onion-skin bands"); resting on the deep muscles, 5-16%. Blinded A/Bs: 10 of 10
# comparisons ("no thin muscle strip floating in fat"), then, on new patients with a fresh reader,
# 0 of 10 ("a thick block with Y-shaped fat clefts, straight-edged wedges of fat beside the
# spine"); with the back left as it was and no radial planes through the sunk muscle, 10 of 10,
# then 10 of 10 on new patients with a fresh reader.
SUPERFICIAL_ON_DEEP = 1.0
SINK_BACK_RAD = (2.2, 2.6)  # ... fully up to this angle from the front, not at all beyond this one


# The scapula (scapula_blades, draw_scapulae). Round 18: at one depth in the shoulder muscles the
# blade ran parallel to the ribs as one more concentric arc ("no scapulae", said every first-glance
# reader) and its thick end lay at the spine, where the real scapula is thin; the thickest part in
# an axial slice is the lateral (axillary) border and neck. Tilted through the muscles (0.85 of
# their depth medially, 0.1 laterally) with a 4 mm thick lateral border, it was preferred in 15 of
# 15 comparisons, then 15 of 15 on new patients. Round 36: that blade still followed the ribs'
# curve, and its lateral end came up under the skin ("a long thin line running just under the skin
# of the back"); first-glance readers still named "no scapula or shoulder muscles" and "straight
# bars with circular ends". Now a gently curved blade resting on the cage at its medial end and
# standing off it laterally, the subscapularis filling the wedge, the lateral end kept
# SCAPULA_COVER_MM under the skin. A first version that also pushed the skin out round the lateral
# end (the shoulder girdle's bulk, up to ~2.5 cm) lost 0 of 15 ("a boxy chest wall: nearly vertical
# sides, sharp corners at the table"); this one, with the outline unchanged, won 15 of 15 (seeds
# 18860-19009, 35 mm above to 20 mm below the carina: "the blade sits against the ribs with
# believable muscle round it"), then 15 of 15 on new patients with a fresh reader (seeds
# 19044-19173, 40 mm above to 15 mm below: "a straight, thick, slanted bone with its spine, in a
# clearly outlined layer of muscle", against "a long thin band wrapping round the back like an
# extra rib").
SCAPULA_BORDER_MM = (4.0, 28.0)  # the lateral border's extra half-thickness (x upper) and its length
SCAPULA_BLADE_CENTRE_RAD = 2.22  # the blade's middle, rad from the front
SCAPULA_ANGLE_SHARES = (0.7, 0.25, 0.85)  # medial end, junction, lateral end: shares of the half-span
# Off the cage (mm) at the medial end, the junction and the lateral end ([2] + [3] x upper, as
# far as the wall's room allows).
SCAPULA_GAP_MM = (5.0, 11.0, 6.0, 16.0)
SCAPULA_COVER_MM = 10.0  # tissue kept over the lateral end
SCAPULA_FAT_OVER_MM = 3.0  # fat left under the skin over the scapular muscles
SCAPULA_CURVE_POINTS = 13  # the blade's polyline
SCAPULA_MUSCLE_MM = 14.0  # infraspinatus behind the blade
SCAPULA_CORTEX_MM = 1.4  # the blade's cortex; its marrow is the rest


def render_arms(p, w: WallParams, X: np.ndarray, Y: np.ndarray, t: float, widen: float,
                lab: np.ndarray) -> None:
    """Arms beside the chest (only in the scans where they are down): labels in air pixels."""
    if not w.arms:
        return
    for side in (-1.0, 1.0):
        xc = side * (p.body_half_width_mm * widen + w.arm_gap_mm + w.arm_a_mm)
        yc = w.arm_dy_mm
        # Not a clean ellipse: a lumpy outline (muscle groups under the skin) and fat planes
        # between deltoid/biceps/triceps; phases from the arm's own numbers (no new draws).
        phi = np.arctan2(Y - f32(yc), X - f32(xc))
        ph = w.arm_dy_mm * 0.37 + side
        lump = (f32(1.0) + f32(0.06) * np.sin(f32(3.0) * phi + f32(ph))
                + f32(0.035) * np.sin(f32(5.0) * phi - f32(2 * ph))
                + f32(0.02) * np.sin(f32(9.0) * phi + f32(0.02 * t)))
        e = (((X - f32(xc)) / f32(w.arm_a_mm)) ** 2 + ((Y - f32(yc)) / f32(w.arm_b_mm)) ** 2) / lump ** 2
        r = np.sqrt(e) * f32(min(w.arm_a_mm, w.arm_b_mm))  # ~ mm from the centre
        arm = (e < 1.0) & (lab == AIR)
        rin = min(w.arm_a_mm, w.arm_b_mm)
        lab[arm] = FAT
        wave = f32(0.5) + f32(0.5) * np.sin(f32(2.0) * phi + f32(3 * ph))
        fat_here = f32(w.arm_fat_mm) * (f32(0.7) + f32(0.6) * wave)
        lab[arm & (r < rin - fat_here)] = MUSCLE
        planes = np.abs(np.sin(f32(1.5) * (phi - f32(ph)))) < f32(0.04) * f32(rin) / np.maximum(r, f32(4.0))
        lab[arm & (r < rin - fat_here) & planes & (r > f32(w.humerus_mm + 2.0))] = FAT
        lab[arm & (r > rin - 1.8)] = SKIN
        hx, hy = xc - side * 4.0, yc + 4.0
        rh = np.sqrt((X - f32(hx)) ** 2 + (Y - f32(hy)) ** 2)
        lab[arm & (rh < w.humerus_mm)] = CORTICAL
        lab[arm & (rh < w.humerus_mm - 3.0)] = TRABECULAR


def sample_cloth(rng: np.random.Generator) -> np.ndarray:
    """0-4 folds of gown or blanket: (K, 5) gap above the skin (mm), wave amplitude (mm),
    waves per turn, phase, angular half-span (rad, from the front midline)."""
    k = int(rng.integers(0, 5))
    folds = np.stack([rng.uniform(0.5, 28.0, k), rng.uniform(1.0, 6.0, k), rng.integers(3, 10, k).astype(float),
                      rng.uniform(0.0, 2 * np.pi, k), rng.uniform(0.6, 1.7, k)], axis=1).reshape(-1, 5)
    # Round 9: up to 28 mm off the skin, the folds were "thin wavy lines floating in the air,
    # parallel to the skin" (a blinded reader's cue in half the pairs); a gown lies on the
    # body and lifts off it in folds: gaps of 0.5-12 mm, so the waves touch the skin in places
    # (same draws, rescaled: the other numbers stay as they were).
    folds[:, 0] = 0.5 + (folds[:, 0] - 0.5) * (11.5 / 27.5)
    return folds


def render_cloth(cloth: np.ndarray, theta: np.ndarray, depth_skin: np.ndarray, t: float,
                 lab: np.ndarray) -> None:
    """Folds as ~1 mm sheets at a wavy distance outside the skin (labels air pixels only).

    Each fold is one unbroken sheet along its span, waving gently (two scales, the shorter
    ~4-13 cm long): real gowns and blankets drape over the body in long smooth layers. Round 19:
    drawn crumpled (a third, ~1 cm wave of 1.2 mm) and broken into pieces, they read as "short,
    kinked, zigzag bits", "wiggly squiggles"; blinded A/Bs both ways round preferred the smooth,
    unbroken sheets in 10 of 10 comparisons, then 10 of 10 on new patients with a fresh reader.
    """
    if cloth is None or len(cloth) == 0:
        return
    out = -depth_skin  # mm outside the skin, along the ray from the body centre
    air = (lab == AIR) & (out > 0.3) & (out < 45.0)
    if not air.any():
        return
    for gap, amp, order, phase, span in cloth:
        d = (f32(gap) + f32(amp) * np.sin(f32(order) * theta + f32(phase + 0.02 * t))
             + f32(0.5 * amp) * np.sin(f32(2.3 * order) * theta - f32(phase - 0.035 * t)))
        d = np.maximum(d, f32(0.3))
        # 0.5-1.7 mm thick (a gown's fabric, a blanket's fold), thinning where it stretches.
        half = f32(0.55) + f32(0.3) * np.sin(f32(3.7 * order) * theta + f32(phase - 0.04 * t))
        lab[air & (np.abs(out - d) < half) & (np.abs(theta) < f32(span))] = CLOTH


COUCH_RADIUS_MM = 330.0  # the couch shell's curvature radius for the smallest gap


def render_table(p, X: np.ndarray, Y: np.ndarray, hu: np.ndarray, lab: np.ndarray) -> None:
    """The scanner couch: a foam pad the patient lies on, over a curved carbon shell.

    Real couches show one bright curved line (the shell) with a faint pad above it whose
    edge shows only beside the body, and nothing below the shell: the LIDC slabs' couches end
    there. Round 25: a faint, flatter support layer 2-3 cm under the shell (drawn for patients
    with a couch gap over 6 mm) was "a detached line floating below the table, matching nothing in
    the references" to blinded readers, who preferred the couch without it in 10 of 10
    comparisons both ways round, then 10 of 10 on new patients (p = 0.001 each); two first-glance
    readers had named it ("a second parallel table line only in the synthetic images").
    """
    # The back rests on the pad (soft_tissue flattens it along this curve).
    # A concave shell: radius ~350-450 mm (the LIDC slabs' rise 14-25 mm over +-11-13 cm;
    # round 10: at 700 mm it was nearly flat, "a clean, evenly curved table line").
    radius = COUCH_RADIUS_MM + 10.0 * p.table_gap_mm
    y_top = f32(y_back_mm(p, p.wall) + 0.25 * p.table_gap_mm) - (X ** 2) / f32(2.0 * radius)
    dy = Y - y_top
    half_w = 0.78 * p.body_half_width_mm + 45.0
    in_w = np.abs(X) < half_w
    pad_mm = 5.0 + 0.6 * p.table_gap_mm
    pad = in_w & (dy >= 0) & (dy < pad_mm)
    # Couches differ: shell 2.6-4.6 mm thick and 200-330 HU.
    shell_mm = 2.2 + 0.2 * p.table_gap_mm
    shell = (np.abs(X) < half_w + 15.0) & (dy >= pad_mm) & (dy < pad_mm + shell_mm)
    layers = [(pad, -925.0), (shell, 200.0 + 13.0 * p.table_gap_mm)]
    for m, value in layers:
        m = m & (lab == AIR)
        hu[m] = value
        lab[m] = TABLE
