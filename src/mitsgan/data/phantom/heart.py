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
