"""Structure inside the heart's outline on a non-contrast CT.

Kept apart from :mod:`anatomy` (which places the heart as an ellipsoid) so each
module stays small. ``xr, yr`` are the slice's coordinates in the heart's rotated
frame (mm), ``eh`` the ellipse function (< 1 inside) and ``sq`` the slice's scale
of the ellipsoid (1 at its equator).
"""
from __future__ import annotations

import numpy as np

f32 = np.float32
MED_FAT, HEART = 8, 9  # anatomy's labels


def epicardial_fat(axes_mm: tuple[float, float, float], phase: float, xr: np.ndarray, yr: np.ndarray,
                   eh: np.ndarray, sq: float, lab: np.ndarray, heart: np.ndarray) -> None:
    """Pericardium, epicardial fat and the cardiac grooves inside the heart outline.

    Without contrast, blood and myocardium differ by only a few HU; what shows the
    heart's structure on a plain CT is fat: a thin pericardial line with fat on both
    sides, fat filling the atrioventricular and interventricular grooves (where the
    coronary arteries run) and a thicker pad at the apex. A uniform blob is a giveaway.
    """
    ha, hb, _ = axes_mm
    u, v = xr / f32(ha * sq), yr / f32(hb * sq)
    depth = (1.0 - np.sqrt(eh)) * f32(min(ha, hb) * sq)  # ~ mm below the heart's surface
    ang = np.arctan2(v, u)
    ph = phase * 20.0
    # Patchy: absent over much of the surface, a few mm where it collects.
    thick = (f32(3.0) * np.maximum(np.sin(2.0 * ang + f32(ph)), 0.0) - f32(0.5)
             + f32(5.0) * np.exp(-(((u - 0.75) / 0.25) ** 2)))
    av = np.exp(-(((u + 0.15 + 0.15 * v) / 0.07) ** 2))  # atrioventricular groove
    iv = np.exp(-(((v - 0.25 * u - 0.05) / 0.06) ** 2)) * (u > -0.15)  # interventricular groove
    thick = (thick + f32(9.0) * np.maximum(av, iv)) * f32(min(1.0, 0.3 + sq))  # thin at the ends
    peri = f32(1.3)
    fat = heart & (depth >= peri) & (depth < peri + thick)
    lab[fat] = MED_FAT
    lab[heart & (depth < peri) & (eh > 0.0)] = HEART


def outline_scale(xr: np.ndarray, yr: np.ndarray, axes_mm: tuple[float, float, float], t_rel_mm: float,
                  phases: tuple[float, float, float]) -> np.ndarray:
    """Relative radius (~0.9-1.1) of the cardiac outline in each pixel's direction.

    Why: an ellipse is the giveaway on a plain CT. A real heart in axial section is a
    rounded triangle: flattened where it lies on the sternum and the diaphragm, bulging
    at the apex (left ventricle) and on the right (right atrium), dented at the
    atrioventricular groove, and its outline shifts from slice to slice. Low harmonics
    of the angle with phases drifting along ``t_rel_mm`` (mm from the heart's centre).
    """
    ha, hb, _ = axes_mm
    ang = np.arctan2(yr / f32(hb), xr / f32(ha))  # 0 = toward the apex (the long axis)
    p1, p2, p3 = phases
    s = t_rel_mm
    scale = (f32(1.0)
             + f32(0.07) * np.cos(f32(2.0) * ang + f32(p1 + 0.020 * s))
             + f32(0.05) * np.cos(f32(3.0) * ang + f32(p2 - 0.030 * s))
             + f32(0.03) * np.cos(f32(5.0) * ang + f32(p3 + 0.045 * s))
             # apex bulge (left ventricle) and right-atrial bulge opposite it
             + f32(0.06) * np.exp(-((ang / f32(0.5)) ** 2))
             + f32(0.05) * np.exp(-(((np.abs(ang) - f32(2.6)) / f32(0.45)) ** 2))
             # the anterior (sternal) face is flattened
             - f32(0.06) * np.exp(-(((ang + f32(1.3)) / f32(0.6)) ** 2)))
    return scale.astype(f32)
