"""The CT-GAN tamper pipeline as a differentiable torch module, batched over locations.

Same steps and constants as :mod:`mitsgan.attack.tamper` (cut, linear resampling to 1 mm,
equalisation as a piecewise-linear lookup on the saved knots, normalisation, centre mask,
frozen generator in eval mode, clip, inverse lookup, > 2000 HU fix, clamp at -1000,
resampling back, paste, blend). Gradients flow from the tampered voxels back to the input
voxels (through the shell the generator sees and through the blend), so a protector can be
trained against it. The noise touch-up is not drawn here: pass ``noise`` (e.g. from
:func:`mitsgan.attack.tamper.lung_noise`) or leave it out (``None`` = no noise).

Usage::

    attacker = load_attacker(action="inject")
    tamper = DifferentiableTamper(attacker)
    out = tamper(hu, centers_zyx, spacing_zyx)       # hu: (B, Z, Y, X) HU, requires_grad ok

``hu`` may be whole scans or regions cut from them; each item is tampered at its own
integer voxel centre; all items share one voxel spacing (so one cube size).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mitsgan.attack.config import CUBE, MASK
from mitsgan.attack.tamper import AIR, _overlap, box_start, cube_voxels, ext_voxels, kern01
from mitsgan.attack.weights import Attacker


def interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """``np.interp`` in torch (xp increasing), differentiable in ``x``; constant outside."""
    idx = torch.searchsorted(xp, x.detach().contiguous().reshape(-1), right=True).reshape(x.shape)
    idx = idx.clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[idx - 1], xp[idx], fp[idx - 1], fp[idx]
    t = ((x - x0) / (x1 - x0)).clamp(0.0, 1.0)
    return f0 + t * (f1 - f0)


def _cut(vol: torch.Tensor, center, shape, fill: float = AIR) -> torch.Tensor:
    """torch version of :func:`mitsgan.attack.tamper.cut` for one (Z, Y, X) volume."""
    start = box_start(center, shape)
    src, dst = _overlap(vol.shape, start, shape)
    if src is None:
        return vol.new_full(tuple(int(s) for s in shape), fill)
    pads = []
    for d in reversed(range(3)):
        pads += [dst[d].start, int(shape[d]) - dst[d].stop]
    return F.pad(vol[src], pads, value=fill)


def _resize(cubes: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    if tuple(cubes.shape[1:]) == tuple(shape):
        return cubes
    return F.interpolate(cubes[:, None], size=tuple(int(s) for s in shape), mode="trilinear",
                         align_corners=True)[:, 0]


class DifferentiableTamper(nn.Module):
    """``forward(hu, centers_zyx, spacing_zyx, noise=None) -> tampered hu`` (same shape)."""

    def __init__(self, attacker: Attacker):
        super().__init__()
        self.action = attacker.action
        self.generator = attacker.generator.eval()
        for p in self.generator.parameters():
            p.requires_grad_(False)
        eq = attacker.equalizer
        self.register_buffer("bins", torch.as_tensor(eq.bins, dtype=torch.float64))
        self.register_buffer("cdf", torch.as_tensor(eq.cdf, dtype=torch.float64))
        self.norm = (eq.mean, eq.scale)

    def train(self, mode: bool = True) -> "DifferentiableTamper":
        super().train(mode)
        self.generator.eval()  # CT-GAN's predict: dropout off, BN running statistics
        return self

    # -- steps --------------------------------------------------------------------------
    def normalize(self, hu: torch.Tensor) -> torch.Tensor:
        e = interp(hu.double(), self.bins, self.cdf)
        return (e - self.norm[0]) / self.norm[1]

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return interp(x.double() * self.norm[1] + self.norm[0], self.cdf, self.bins)

    def generate(self, clean32: torch.Tensor) -> torch.Tensor:
        """(B, 32, 32, 32) HU -> generator output in HU, range-fixed (steps 2-3)."""
        x = self.normalize(clean32).float()
        a, b = MASK
        mask = torch.ones_like(x)
        mask[:, a:b, a:b, a:b] = 0.0
        y = self.generator((x * mask)[:, None])[:, 0].float().clamp(-0.5, 0.5)
        mal = self.denormalize(y).float()
        local = F.avg_pool3d(F.pad(mal[:, None], [2] * 6, value=AIR), 5, stride=1)[:, 0]
        mal = torch.where(mal > 2000, local, mal)
        return mal.clamp(min=AIR)

    def blend(self, mal_ext: torch.Tensor, ben_ext: torch.Tensor) -> torch.Tensor:
        mal, ben = mal_ext.double(), ben_ext.double()
        if self.action == "inject":
            k = torch.as_tensor(kern01(mal.shape[2:], 3.0), dtype=mal.dtype, device=mal.device)
            f = torch.sigmoid((mal + 700.0) / 70.0) * k
            out = torch.maximum(mal * f + ben * (1.0 - f), ben)
        else:
            k = torch.as_tensor(kern01(mal.shape[2:], 0.1), dtype=mal.dtype, device=mal.device)
            out = mal * k + ben * (1.0 - k)
        return out.to(mal_ext.dtype)

    def tamper_cubes(self, hu: torch.Tensor, centers_zyx, spacing_zyx,
                     noise: torch.Tensor | None = None) -> torch.Tensor:
        """The blended touch-up boxes (B, mz, my, mx) for each item's centre."""
        centers = np.asarray(torch.as_tensor(centers_zyx).detach().cpu(), dtype=np.int64).reshape(-1, 3)
        n = cube_voxels(spacing_zyx)
        m = ext_voxels(n)
        clean = torch.stack([_cut(hu[i], c, n) for i, c in enumerate(centers)])
        mal = _resize(self.generate(_resize(clean, (CUBE,) * 3)), n)
        ben_ext = torch.stack([_cut(hu[i], c, m) for i, c in enumerate(centers)])
        off = np.round(m / 2).astype(int) - np.round(n / 2).astype(int)
        pads = []
        for d in reversed(range(3)):
            pads += [int(off[d]), int(m[d] - n[d] - off[d])]
        inside = F.pad(torch.ones_like(mal, dtype=torch.bool), pads, value=False)
        mal_ext = torch.where(inside, F.pad(mal, pads), ben_ext)
        if noise is not None:
            mal_ext = mal_ext + noise.to(mal_ext)
        return self.blend(mal_ext, ben_ext)

    def forward(self, hu: torch.Tensor, centers_zyx, spacing_zyx,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """Tamper item ``i`` of ``hu`` (B, Z, Y, X) at voxel ``centers_zyx[i]``; returns (B, Z, Y, X)."""
        if hu.dim() == 3:
            return self.forward(hu[None], centers_zyx, spacing_zyx, noise)[0]
        finals = self.tamper_cubes(hu, centers_zyx, spacing_zyx, noise)
        centers = np.asarray(torch.as_tensor(centers_zyx).detach().cpu(), dtype=np.int64).reshape(-1, 3)
        out = hu.clone()
        for i, c in enumerate(centers):
            src, dst = _overlap(hu.shape[1:], box_start(c, finals.shape[1:]), finals.shape[1:])
            if src is not None:
                out[(i, *src)] = finals[(i, *dst)].to(out.dtype)
        return out
