"""Building blocks parameterised by spatial dims (2 or 3), shared by the 3D attacker and 2D protector.

Keras/TensorFlow conventions are reproduced where CT-GAN depends on them:

* ``padding='same'`` with an even kernel pads asymmetrically (TF puts the extra
  voxel *after*): kernel 4 stride 1 pads 1 before and 2 after; kernel 4 stride 2
  on an even size pads 1 and 1. :class:`SamePad` computes this from the input size.
* Keras BatchNormalization(momentum=0.8) keeps ``0.8 * old + 0.2 * new``; torch's
  ``momentum`` is the weight of the *new* value, so it is 0.2. Keras' epsilon is 1e-3.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_IN = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}
_DROP = {1: nn.Dropout, 2: nn.Dropout, 3: nn.Dropout}

KERAS_BN_MOMENTUM = 0.2  # torch momentum equal to Keras momentum=0.8
KERAS_BN_EPS = 1e-3


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding TensorFlow's 'same' uses on an axis of ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SamePad(nn.Module):
    """Pads the last ``dims`` axes as TF 'same' would for this kernel and stride."""

    def __init__(self, dims: int, kernel: int, stride: int, value: float = 0.0):
        super().__init__()
        self.dims, self.kernel, self.stride, self.value = dims, kernel, stride, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size in reversed(x.shape[-self.dims:]):  # F.pad wants last axis first
            pads += tf_same_padding(int(size), self.kernel, self.stride)
        if not any(pads):
            return x
        return F.pad(x, pads, value=self.value)

    def extra_repr(self) -> str:
        return f"dims={self.dims}, kernel={self.kernel}, stride={self.stride}"


def conv_nd(dims: int, in_ch: int, out_ch: int, kernel: int = 4, stride: int = 1,
            padding: str | int = "same", bias: bool = True) -> nn.Module:
    """A convolution; ``padding='same'`` follows TensorFlow (asymmetric for even kernels)."""
    if dims not in _CONV:
        raise ValueError(f"unsupported spatial dims {dims}")
    if padding == "same":
        return nn.Sequential(SamePad(dims, kernel, stride),
                             _CONV[dims](in_ch, out_ch, kernel, stride, padding=0, bias=bias))
    return _CONV[dims](in_ch, out_ch, kernel, stride, padding=int(padding), bias=bias)


def norm_nd(dims: int, channels: int, kind: str = "batch", momentum: float = KERAS_BN_MOMENTUM,
            eps: float = KERAS_BN_EPS) -> nn.Module:
    """'batch' (Keras-like defaults), 'instance' (affine=False, as pix2pix) or 'none'."""
    if kind == "batch":
        return _BN[dims](channels, momentum=momentum, eps=eps)
    if kind == "instance":
        return _IN[dims](channels, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (batch, instance, none)")


def upsample(scale: int = 2) -> nn.Module:
    """Nearest-neighbour upsampling (Keras UpSampling*D)."""
    return nn.Upsample(scale_factor=scale, mode="nearest")


def down_block(dims: int, in_ch: int, out_ch: int, norm: str = "batch", kernel: int = 4) -> nn.Sequential:
    """Conv(k, stride 2, same) -> LeakyReLU(0.2) -> norm (CT-GAN puts the BN after the activation)."""
    return nn.Sequential(conv_nd(dims, in_ch, out_ch, kernel, stride=2),
                         nn.LeakyReLU(0.2), norm_nd(dims, out_ch, norm))


# Nearest upsampling x2 followed by a kernel-4 'same' conv (pad 1 before, 2 after) equals, per
# output parity, a kernel-3 conv on the low-resolution input with summed taps:
#   even outputs see in[i-1], in[i], in[i], in[i+1]  -> taps [w0, w1 + w2, w3]
#   odd outputs  see in[i],   in[i], in[i+1], in[i+1] -> taps [0, w0 + w1, w2 + w3]
_PHASE_TAPS = torch.tensor([[[1., 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]],
                            [[0., 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]]])  # (parity, k3, k4)


class UpConv(nn.Module):
    """Upsample x2 (nearest) -> Conv(k4, stride 1, TF 'same'), CT-GAN's UpSampling + Conv.

    The weights have the ordinary kernel-4 layout (``self.conv``); ``forward`` computes
    the same result through the sub-pixel identity above (about 2.4x fewer multiply-adds
    and one conv with 2^dims times more output channels, much faster on CPU).
    ``fast=False`` runs the literal upsample + pad + conv.
    """

    def __init__(self, dims: int, in_ch: int, out_ch: int, fast: bool = True):
        super().__init__()
        self.dims, self.out_ch, self.fast = dims, out_ch, fast
        self.conv = _CONV[dims](in_ch, out_ch, 4, 1, padding=0)
        self.pad = SamePad(dims, 4, 1)

    def phase_kernel(self) -> torch.Tensor:
        """(out * 2^dims, in, 3, ..., 3): one kernel-3 filter per output channel and parity."""
        w = self.conv.weight  # (out, in, 4, ..., 4)
        taps = _PHASE_TAPS.to(w)
        k4, k3, par = "xyz"[: self.dims], "uvw"[: self.dims], "pqr"[: self.dims]
        spec = "oi" + k4 + "," + ",".join(f"{p}{k}{x}" for p, k, x in zip(par, k3, k4))
        out = "o" + par + "i" + k3
        eff = torch.einsum(f"{spec}->{out}", w, *([taps] * self.dims))
        return eff.reshape(self.out_ch * 2 ** self.dims, w.shape[1], *([3] * self.dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fast:
            return self.conv(self.pad(F.interpolate(x, scale_factor=2, mode="nearest")))
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.dims - 1]
        bias = self.conv.bias.repeat_interleave(2 ** self.dims)
        y = conv(x, self.phase_kernel(), bias, padding=1)  # (N, out*2^d, S...)
        n, sizes = y.shape[0], y.shape[2:]
        y = y.reshape(n, self.out_ch, *([2] * self.dims), *sizes)
        # (N, C, p_1..p_d, s_1..s_d) -> (N, C, s_1, p_1, ..., s_d, p_d)
        perm = [0, 1] + [i for d in range(self.dims) for i in (2 + self.dims + d, 2 + d)]
        y = y.permute(*perm)
        return y.reshape(n, self.out_ch, *[2 * s for s in sizes])


def up_block(dims: int, in_ch: int, out_ch: int, norm: str = "batch", dropout: float = 0.5) -> nn.Sequential:
    """Upsample x2 -> Conv(k4, stride 1, same) -> ReLU -> Dropout -> norm (CT-GAN's deconv3d)."""
    layers: list[nn.Module] = [UpConv(dims, in_ch, out_ch), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(norm_nd(dims, out_ch, norm))
    return nn.Sequential(*layers)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
