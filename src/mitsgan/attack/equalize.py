"""CT-GAN's histogram equalisation and normalisation, fitted on training cubes, saved as JSON.

``equalize(x) = interp(x, bins, cdf)`` maps HU to 0..32768 (the cdf counts voxels per
cube: the cumulative histogram divided by the number of cubes); ``dequalize`` is the
inverse interpolation. Normalisation is ``(e - mean) / (max - min)``, about [-0.5, 0.5].

Deviation (documented): the knots are all bin edges (cdf 0 at the lowest edge),
and the cdf is made strictly increasing (a ramp of 1e-6 per bin) so the inverse is a function and the
torch version (:mod:`mitsgan.attack.tamper_torch`) interpolates the same knots.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Equalizer:
    bins: np.ndarray  # (K+1,) HU knots (the histogram's bin edges), increasing
    cdf: np.ndarray  # (K+1,) equalised value at each knot, strictly increasing
    mean: float  # normalisation of the equalised training cubes
    min: float
    max: float

    @classmethod
    def fit(cls, cubes: np.ndarray, n_bins: int = 10000) -> "Equalizer":
        cubes = np.asarray(cubes, dtype=np.float32)
        n = cubes.shape[0] if cubes.ndim == 4 else 1
        hist, edges = np.histogram(cubes.ravel(), bins=n_bins)
        cdf = np.concatenate([[0.0], np.cumsum(hist, dtype=np.float64) / n])
        cdf = cdf + 1e-6 * np.arange(n_bins + 1)
        eq = cls(bins=edges.astype(np.float64), cdf=cdf, mean=0.0, min=0.0, max=1.0)
        e = eq.equalize(cubes)
        eq.mean, eq.min, eq.max = float(e.mean(dtype=np.float64)), float(e.min()), float(e.max())
        return eq

    def equalize(self, hu: np.ndarray) -> np.ndarray:
        return np.interp(hu, self.bins, self.cdf).astype(np.float32)

    def dequalize(self, e: np.ndarray) -> np.ndarray:
        return np.interp(e, self.cdf, self.bins).astype(np.float32)

    @property
    def scale(self) -> float:
        return self.max - self.min

    def normalize(self, hu: np.ndarray) -> np.ndarray:
        """HU -> the generator's space (about [-0.5, 0.5])."""
        return ((self.equalize(hu) - self.mean) / self.scale).astype(np.float32)

    def denormalize(self, x: np.ndarray) -> np.ndarray:
        """The generator's space -> HU."""
        return self.dequalize(np.asarray(x, dtype=np.float64) * self.scale + self.mean)

    def to_dict(self) -> dict:
        return {"bins": self.bins.tolist(), "cdf": self.cdf.tolist(),
                "normalization": {"mean": self.mean, "min": self.min, "max": self.max}}

    @classmethod
    def from_dict(cls, d: dict) -> "Equalizer":
        n = d["normalization"]
        return cls(np.asarray(d["bins"], dtype=np.float64), np.asarray(d["cdf"], dtype=np.float64),
                   float(n["mean"]), float(n["min"]), float(n["max"]))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> "Equalizer":
        return cls.from_dict(json.loads(Path(path).read_text()))
