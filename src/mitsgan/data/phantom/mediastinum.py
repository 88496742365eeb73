"""The mediastinal outline as seen from the lungs: a wedge with curved, varying edges.

Why a module of its own: the mediastinum's lung-facing edges are among the first
things a reader looks at in lung window. Drawn as a straight-sided wedge, or as
straight bands joining the great vessels to the midline, they look ruled; real ones
are soft curves that bulge over the vessels and the oesophagus, dip in between and
drift from slice to slice. The wobble here is a few smooth harmonics along Y whose
phases drift with depth ``t`` (no extra random draws: the phases come from the
patient's existing outline parameters, so every other number stays as it was).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

f32 = np.float32


def _phases(p) -> tuple[float, float, float]:
    """Three phases (rad) fixed per patient, from parameters it already has."""
    h = np.asarray(p.body_harmonics, dtype=np.float64).ravel()
    return float(h[0] * 120.0), float(h[1] * 120.0 + 1.0), float(h[2] * 120.0 + 2.0)


def wedge(p, X: np.ndarray, Y: np.ndarray, t: float, y_vert: float) -> np.ndarray:
    """Mask of the central mediastinal wedge (before it is cut to the thoracic cavity).

    A retrosternal fat triangle narrowing to the anterior junction, ~5 cm wide in front of
    the spine, so each lung curves around it; its midline sways a few mm (the anterior
    junction line is rarely straight) and each edge wobbles independently by ~15-25% of
    the local half-width.
    """
    ph1, ph2, ph3 = _phases(p)
    span = f32(y_vert - p.y_sternum_mm)
    taper = np.clip((Y - f32(p.y_sternum_mm)) / span, 0.0, 1.0)
    # Behind the sternum a triangle of fat that narrows to the anterior junction line (where
    # the lungs nearly touch), then widens over the great vessels: a parallel-sided pillar
    # from the sternum back reads as drawn.
    half = f32(p.med_band_mm) * (0.22 + 0.75 * np.exp(-((taper / f32(0.13)) ** 2)) + 0.3 * taper
                                 + 1.8 * taper ** 2.5)
    # Above the aortic arch the front of the mediastinum is broad (thymic fat round the
    # brachiocephalic veins); the narrow anterior junction starts at the arch. Round 10: the
    # same narrow front at every level read as "a spike of fat from the trachea to the sternum".
    above = float(np.clip((p.t_arch_mm - t) / 20.0, 0.0, 1.0))
    if above > 0:
        half = half + f32(above * SUPRA_AORTIC_FRONT_MM) * np.exp(-((taper / f32(0.45)) ** 2))
    s = taper * f32(np.pi)
    centre = f32(4.0) + f32(4.0) * np.sin(s + f32(ph1 + 0.011 * t)) * np.sin(s)
    wob_r = (f32(0.20) * np.sin(f32(2.0) * s + f32(ph2 + 0.017 * t))
             + f32(0.10) * np.sin(f32(5.0) * s + f32(ph3 - 0.023 * t)))
    wob_l = (f32(0.20) * np.sin(f32(2.0) * s + f32(ph3 + 0.013 * t))
             + f32(0.10) * np.sin(f32(4.0) * s + f32(ph1 - 0.019 * t)))
    # Behind the heart the lungs reach in front of the spine (the azygo-oesophageal
    # recess on the right, the aorta's own margin on the left): the wedge narrows again
    # there, so its edges are concave curves instead of one straight column to the spine.
    recess = f32(1.0) - f32(0.45) * taper ** 4
    dx = X - centre
    inside = np.where(dx < 0, -dx < half * (1.0 + wob_r) * recess, dx < half * (1.0 + wob_l) * recess)
    return inside & (Y > p.y_sternum_mm) & (Y < y_vert)


SUPRA_AORTIC_FRONT_MM = 6.0  # extra half-width of the front of the mediastinum above the arch


def bridge(X: np.ndarray, Y: np.ndarray, cx: float, cy: float, half_mm: float) -> np.ndarray:
    """A band from (cx, cy) to the midline (X = 4 mm), ``half_mm`` thick at (cx, cy).

    Why: the aorta, SVC, pulmonary arteries and hila sit in one mediastinum; drawn as
    tubes or caps with a thin fat margin they read as balls floating in the lung. The
    band's edges are concave (a waist between the vessel and the midline, where the
    lung tucks in) rather than straight.
    """
    length = f32(max(abs(cx - 4.0), 1e-3))
    u = (X - f32(4.0)) * f32(1.0 if cx >= 4.0 else -1.0)
    s = np.clip(u / length, 0.0, 1.0)
    # Flared where it meets the midline (a fillet, not a T-junction), waisted in between.
    waist = f32(1.0) - f32(0.3) * np.sin(s * f32(np.pi)) ** 2 + f32(0.8) * (f32(1.0) - s) ** 3
    dy = Y - f32(cy) - f32(0.12 * half_mm) * np.sin(s * f32(2.0 * np.pi))
    return (np.abs(dy) < f32(half_mm) * waist) & (u > 0) & (u < length)


def axis_point(tube, t: float) -> tuple[float, float]:
    """(X, Y) of the tube's axis at slice ``t`` (its middle for an in-plane tube)."""
    (ax, ay, at), (bx, by, bt) = tube.a, tube.b
    s = 0.5 if abs(bt - at) < 1e-6 else min(max((t - at) / (bt - at), 0.0), 1.0)
    return ax + s * (bx - ax), ay + s * (by - ay)


# Round 11: 5 and 3 mm gave every great vessel a grey rim of fat in lung window (summed over
# neighbours, ~5 mm), where real ones touch the lung (see render_slice's GREAT_VESSEL_FAT_MM).
BLEND_MM = 2.5  # reach of the smooth union around the great vessels
BLEND_MARGIN_MM = 1.0  # fat around a lone great vessel


def blend_add(field: np.ndarray | None, d: np.ndarray, radius_mm: float) -> np.ndarray:
    """Add one great vessel to a soft-union field (sum of exponentials of the gap).

    Why: each vessel wrapped in its own circle of fat leaves the lung bulging into the
    notches between them, so the aorta, SVC and pulmonary trunk read as balls. Summed
    exponentials are a smooth union: a lone vessel keeps a ~1 mm margin, two nearby
    ones merge into one rounded contour, as the real mediastinal outline does.
    """
    term = np.exp(-np.maximum(d - f32(radius_mm), f32(0.0)) / f32(BLEND_MM)).astype(f32)
    return term if field is None else field + term


def blend_mask(field: np.ndarray) -> np.ndarray:
    """Inside the smooth union: the level a lone vessel reaches ``BLEND_MARGIN_MM`` out."""
    return field > f32(np.exp(-BLEND_MARGIN_MM / BLEND_MM))


def hull_inset_mm(p, t: float) -> float | None:
    """How far inside its convex hull the upper mediastinum is filled at depth ``t`` (None: not).

    Why: above the carina the mediastinum is one block of fat holding the aortic arch, the
    SVC, the trachea and the oesophagus; the lungs touch only its outer faces. Drawn as tubes
    with thin fat margins, the lung reached in between them and the arch read as a sausage
    floating in the lung (a blinded reader's first cue in 10 of 12 pairs). The hull, inset a
    few mm so the vessels still bulge out of it, is that block. Below the carina it is kept
    to a narrow band (see hull_band_mm) and stops at the heart's top: lower down, the
    right lung's edge runs from the right atrium back into the azygo-oesophageal recess,
    a concave curve that a hull drew as one straight line.
    """
    if t >= p.heart_center[2] - p.heart_axes_mm[2]:
        return None
    return HULL_INSET_MM


def hull_band_mm(p, t: float) -> float:
    """Half-width of the band round the midline whose hull is filled: narrower below the
    carina, so the hila keep their lobulated outline and only the space between the
    pulmonary trunk, the aorta and the bronchi fills."""
    return 70.0 if t < p.t_carina_mm else 38.0


# Round 12: at 8 mm the lung dipped in between the SVC, the aorta and the arch as concave notches;
# in a blinded A/B on the same patients (benchmarks/phantom_ab.py) 4 mm, fat filling the spaces
# round the vessels, was preferred in 8 of the 8 pairs with a visible difference, on both sides.
HULL_INSET_MM = 4.0
# A hull face's inward sag in its middle, over its length (see _sag_mm). Round 30: a regional
# first-glance reader named "ruler-straight" mediastinal borders (from the sternum to the aorta,
# straight down beside the pulmonary trunk, a near-perfect triangle above the arch); blinded A/Bs
# both ways round: 11 of 11 comparisons with a parabola's sag ("a curved border that follows the
# vessels"), then 0 of 14 on new patients ("a lobulated bump that kinks back into the line"); with
# the sag flat at both ends 15 of 15 (p < 0.001; "a real pleural edge is never straight like
# that"), then 14 of 14 on new patients with a fresh reader (p < 0.001).
HULL_SAG = 0.15


def fill_hull(med: np.ndarray, X: np.ndarray, Y: np.ndarray, inset_mm: float, mid_mm: float = 70.0,
              back_mm: float | None = None) -> np.ndarray:
    """``med`` plus its convex hull near the midline, shrunk by ``inset_mm``.

    ``back_mm``: the hull is filled only in front of this Y (the trachea's axis): behind the
    trachea the lungs reach in toward the oesophagus, the azygos and the descending aorta
    (the retrotracheal and azygo-oesophageal recesses). Filled, the mediastinum was one
    straight band from sternum to spine with the trachea in its middle (a blinded reader's
    first cue); only the right side left open, still "a vertical band".
    """
    cols = np.flatnonzero(np.abs(X[0]) < mid_mm)
    if cols.size < 3:
        return med
    sub = med[:, cols]
    jj, ii = np.nonzero(sub)
    if jj.size < 10:
        return med
    pts = np.stack([X[0, cols][ii], Y[jj, 0]], axis=1).astype(np.float64)
    try:
        hull = ConvexHull(pts)
    except QhullError:
        return med
    rows = np.arange(jj.min(), jj.max() + 1)
    qx = X[0, cols].astype(np.float64)[None, :]
    qy = Y[rows, 0].astype(np.float64)[:, None]
    inside = np.ones((rows.size, cols.size), dtype=bool)
    for (a, b, c), ends in zip(hull.equations, hull.simplices):  # a x + b y + c <= 0 inside
        inside &= a * qx + b * qy + c <= -inset_mm - _sag_mm(pts[ends[0]], pts[ends[1]], qx, qy, mid_mm)
    if back_mm is not None:
        inside &= qy < back_mm
    out = med.copy()
    out[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] |= inside
    return out


def _sag_mm(p0: np.ndarray, p1: np.ndarray, qx: np.ndarray, qy: np.ndarray,
            mid_mm: float) -> np.ndarray | float:
    """How far inside the hull face p0-p1 its fill stops, beyond the inset, at (qx, qy): HULL_SAG
    of the face's length at its middle, nothing at its ends, flat there (a parabola's sag met the
    next face at a kink: "a lobulated bump that kinks back into the line", 0 of 14 comparisons).
    Why: the pleura drapes between the structures that hold it out, where a hull's face is a
    ruled line. A face along the band's edge (|X| = mid_mm) is no outline at all, only where the
    band cut the mask off: it sags three times as far."""
    length = float(np.hypot(*(p1 - p0)))
    if HULL_SAG <= 0 or length < 1e-6:
        return 0.0
    s = np.clip(((qx - p0[0]) * (p1[0] - p0[0]) + (qy - p0[1]) * (p1[1] - p0[1])) / length ** 2, 0.0, 1.0)
    on_cut = min(abs(p0[0]), abs(p1[0])) > mid_mm - 1.0
    return HULL_SAG * (3.0 if on_cut else 1.0) * length * 16.0 * (s * (1.0 - s)) ** 2


def closing_radius_mm(p, t: float) -> float:
    """Radius of the closing that fills the notches between the great vessels at depth ``t``.

    The hull (see hull_inset_mm) fills the block in front of the trachea; the closing rounds
    the notches it leaves (behind the trachea, at the hila). Full (CLOSING_MM) down to just
    below the carina, fading to nothing where the heart takes over (its own outline is one
    block already).
    """
    t_top_heart = p.heart_center[2] - p.heart_axes_mm[2]
    t_full = p.t_carina_mm + 10.0
    if t <= t_full:
        return CLOSING_MM
    if t >= t_top_heart + 15.0:
        return 0.0
    return CLOSING_MM * (t_top_heart + 15.0 - t) / max(t_top_heart + 15.0 - t_full, 1.0)


CLOSING_MM = 12.0


def close_gaps(med: np.ndarray, X: np.ndarray, Y: np.ndarray, radius_mm: float,
               mid_mm: float = 85.0, back_mm: float | None = None) -> np.ndarray:
    """Morphological closing of the mediastinal mask by a disc of ``radius_mm``, near the midline.

    ``back_mm``: nothing is added behind this Y (the airways' axis). Round 9: closed all the
    way back, the notches where the lungs touch the back of the trachea and the main bronchi
    (the retrotracheal and azygo-oesophageal recesses) filled in, and the airways read as
    "two round black holes punched into one merged blob" to a blinded reader.

    Distance transforms instead of a structuring element: the radius is in mm and the same
    code runs on the full grid and on the coarse grid that shapes the vessel trees.
    """
    cols = np.flatnonzero(np.abs(X[0]) < mid_mm)
    rows = np.flatnonzero(med[:, cols].any(axis=1)) if cols.size else cols
    if radius_mm <= 0 or cols.size < 2 or rows.size < 2:
        return med
    pad = int(np.ceil(radius_mm / float(abs(Y[1, 0] - Y[0, 0])))) + 1
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, med.shape[0])
    box = (slice(r0, r1), slice(cols[0], cols[-1] + 1))
    sampling = (float(abs(Y[1, 0] - Y[0, 0])), float(abs(X[0, 1] - X[0, 0])))
    sub = np.pad(med[box], pad)  # room to grow: the box's edge must not stop the erosion
    grown = ndimage.distance_transform_edt(~sub, sampling=sampling) <= radius_mm
    closed = ndimage.distance_transform_edt(grown, sampling=sampling) > radius_mm
    add = closed[pad:-pad, pad:-pad]
    if back_mm is not None:
        add &= Y[box[0]] < f32(back_mm)
    out = med.copy()
    out[box] |= add
    return out


def thymic_weight(p, X: np.ndarray, Y: np.ndarray, t: float) -> np.ndarray | None:
    """Share (0-1) of thymic soft tissue in the mediastinal fat at depth ``t`` (None: none here).

    Why: the thymus lies in the anterior mediastinum, in front of the great vessels, from the
    neck down to the pulmonary trunk; in younger adults it is still soft tissue (~ -60 to
    +20 HU) rather than fat. Without it a plain phantom showed every vessel there as a round
    bead in fat, where LIDC-IDRI-0002 shows one smooth soft-tissue block. Smooth edges in
    X, Y and t: no seam where it starts.
    """
    top, bottom = p.t_arch_mm - THYMUS_ABOVE_ARCH_MM, p.t_carina_mm + THYMUS_BELOW_CARINA_MM
    along = min(max((t - top) / 15.0, 0.0), 1.0) * min(max((bottom - t) / 15.0, 0.0), 1.0)
    if along <= 0.0:
        return None
    # It ends in front of the trachea along an arc that follows the great vessels forward at
    # the sides (a straight, level edge read as a seam), fading over ~12 mm.
    back = f32(p.y_trachea_mm - 10.0) - f32(0.01) * (X - f32(4.0)) ** 2
    front = np.clip((back - Y) / f32(12.0), 0.0, 1.0)
    side = np.clip((f32(THYMUS_HALF_WIDTH_MM) - np.abs(X - f32(4.0))) / f32(10.0), 0.0, 1.0)
    return (f32(along) * front * side).astype(f32)


THYMUS_ABOVE_ARCH_MM = 50.0  # the thymic tissue reaches this far above the arch's apex
THYMUS_BELOW_CARINA_MM = 35.0  # ... and this far below the carina (the pulmonary trunk)
THYMUS_HALF_WIDTH_MM = 45.0  # ... and this far either side of the midline


SoftMask = tuple[tuple[slice, slice], np.ndarray]  # (box, a mask smoothed in that box)


def smooth_outline(med: np.ndarray, X: np.ndarray, Y: np.ndarray, sigma_mm: float, mid_mm: float = 90.0,
                   soft: bool = False) -> np.ndarray | tuple[np.ndarray, SoftMask | None]:
    """The mediastinal mask near the midline with its corners rounded: Gaussian, cut at one half.

    With ``soft``: (mask, (box, smoothed mask in the box) or None), the smoothed mask for a
    sub-pixel edge (anatomy.EDGE_ANTI_ALIAS).

    Why: the mask is a union of wedges, bands, caps, a hull and a closing, and where they meet
    the lung saw right-angled steps, rectangular notches and ruler-straight edges ("a
    rectangular block of soft tissue right of the trachea", "stair-step notches in the
    azygo-oesophageal contour"); the pleura drapes over the mediastinum in smooth curves.
    Measured (session 12): in a blinded A/B on the same patients (pinned vessel trees,
    ``benchmarks/phantom_ab.py``) the outline smoothed at 3 mm was preferred in 9 of 10 pairs.
    Thin features narrower than ~``sigma_mm`` (a hairline of fat) go; vessels are drawn over
    the mask afterwards and keep their own edges.
    Round 20: render_slice smooths the mediastinum together with the spine. Alone, its outline
    was smooth but the lung still reached, as sharp slivers and cusps, into the crevices
    between it and the vertebral body (beside the azygos, between the aorta and the spine);
    blinded A/Bs both ways round preferred the union smoothed in 14 of 15 comparisons, then
    12 of 15 on new patients with a fresh reader ("fat rounds off these recesses").
    """
    cols = np.flatnonzero(np.abs(X[0]) < mid_mm)
    rows = np.flatnonzero(med[:, cols].any(axis=1)) if cols.size else cols
    if sigma_mm <= 0 or cols.size < 2 or rows.size < 2:
        return (med, None) if soft else med
    px = float(abs(X[0, 1] - X[0, 0]))
    pad = int(np.ceil(3.0 * sigma_mm / px)) + 1
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, med.shape[0])
    box = (slice(r0, r1), slice(cols[0], cols[-1] + 1))
    smoothed = ndimage.gaussian_filter(med[box].astype(f32), sigma_mm / px, mode="nearest")
    out = med.copy()
    out[box] = smoothed > f32(0.5)
    return (out, (box, smoothed)) if soft else out


SMOOTH_OUTLINE_MM = 3.0  # Gaussian that rounds the mediastinal outline's corners (see smooth_outline)
