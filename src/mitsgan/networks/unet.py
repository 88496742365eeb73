"""CT-GAN's networks: the U-Net generator and the conditional PatchGAN discriminator.

Written for any spatial dims (3 for CT-GAN's 32^3 cubes); the layer recipe is
CT-GAN's Keras code (see docs/reference.md 1.1-1.2):

* encoder: ``depth`` x [Conv k4 s2 same -> LeakyReLU(0.2) -> BN], no BN on the first,
  filters gf, 2gf, 4gf, 8gf, 8gf;
* decoder: [Upsample x2 -> Conv k4 s1 same -> ReLU -> Dropout(0.5) -> BN] then
  concatenation with the mirrored encoder output;
* head: Upsample x2 -> Conv(1, k4 same) -> tanh.
"""
from __future__ import annotations

import torch
from torch import nn

from mitsgan.networks.blocks import UpConv, conv_nd, down_block, up_block

GEN_MULTS = (1, 2, 4, 8, 8)
DISC_MULTS = (1, 2, 4, 8)


class UNetGenerator(nn.Module):
    """CT-GAN generator: cube (N, in_ch, S...) -> (N, out_ch, S...) in [-1, 1]."""

    def __init__(self, *, dims: int = 3, in_ch: int = 1, out_ch: int = 1, gf: int = 100,
                 mults: tuple[int, ...] = GEN_MULTS, norm: str = "batch", dropout: float = 0.5):
        super().__init__()
        chans = [gf * m for m in mults]
        self.down = nn.ModuleList()
        prev = in_ch
        for i, c in enumerate(chans):
            self.down.append(down_block(dims, prev, c, norm="none" if i == 0 else norm))
            prev = c
        self.up = nn.ModuleList()
        for skip in reversed(chans[:-1]):  # u3..u6: out = skip channels, then concat -> 2*skip
            self.up.append(up_block(dims, prev, skip, norm=norm, dropout=dropout))
            prev = 2 * skip
        self.head = nn.Sequential(UpConv(dims, prev, out_ch), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck is not a skip
        for block in self.up:
            x = torch.cat([block(x), skips.pop()], dim=1)
        return self.head(x)


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN: (image, condition) -> one score per patch (2^dims patches at 32)."""

    def __init__(self, *, dims: int = 3, in_ch: int = 2, df: int = 100,
                 mults: tuple[int, ...] = DISC_MULTS, norm: str = "batch"):
        super().__init__()
        layers: list[nn.Module] = []
        prev = in_ch
        for i, m in enumerate(mults):
            layers.append(down_block(dims, prev, df * m, norm="none" if i == 0 else norm))
            prev = df * m
        layers.append(conv_nd(dims, prev, 1, 4, stride=1))
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, condition], dim=1))


def define_G(name: str = "ctgan_unet", **kwargs) -> nn.Module:
    """Generator factory; unknown names raise."""
    if name == "ctgan_unet":
        return UNetGenerator(**kwargs)
    raise ValueError(f"unknown generator {name!r}")


def define_D(name: str = "ctgan_patch", **kwargs) -> nn.Module:
    """Discriminator factory; unknown names raise."""
    if name == "ctgan_patch":
        return PatchDiscriminator(**kwargs)
    raise ValueError(f"unknown discriminator {name!r}")
