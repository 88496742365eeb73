"""Build CT-GAN's generator and discriminator from an :class:`AttackerConfig`."""
from __future__ import annotations

from torch import nn

from mitsgan.attack.config import AttackerConfig
from mitsgan.networks.unet import define_D, define_G


def build_generator(cfg: AttackerConfig) -> nn.Module:
    return define_G("ctgan_unet", dims=3, in_ch=1, out_ch=1, gf=cfg.gf, dropout=cfg.dropout)


def build_discriminator(cfg: AttackerConfig) -> nn.Module:
    return define_D("ctgan_patch", dims=3, in_ch=2, df=cfg.df)
