"""CT-GAN architecture: parameter counts, shapes, TF 'same' padding, fast up-conv equivalence."""
import pytest
import torch

from mitsgan.attack.config import PRESETS, AttackerConfig, preset
from mitsgan.attack.models import build_discriminator, build_generator
from mitsgan.networks.blocks import UpConv, conv_nd, count_parameters, tf_same_padding

torch.set_num_threads(2)


def test_paper_parameter_counts_match_ctgan():
    cfg = PRESETS["paper"]
    assert count_parameters(build_generator(cfg)) == 162_590_401  # CT-GAN G ~ 162.6 M
    assert count_parameters(build_discriminator(cfg)) == 26_948_301  # CT-GAN D ~ 26.9 M


def test_tiny_shapes_and_patch():
    cfg = preset("tiny")
    g, d = build_generator(cfg), build_discriminator(cfg)
    x = torch.randn(2, 1, 32, 32, 32)
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert d(y, x).shape == (2, 1, 2, 2, 2)  # 32 / 2^4 patch


def test_tf_same_padding():
    assert tf_same_padding(32, 4, 2) == (1, 1)
    assert tf_same_padding(32, 4, 1) == (1, 2)
    assert tf_same_padding(7, 3, 1) == (1, 1)
    conv = conv_nd(3, 1, 1, 4, stride=1)
    assert conv(torch.zeros(1, 1, 5, 6, 7)).shape == (1, 1, 5, 6, 7)


@pytest.mark.parametrize("dims", [2, 3])
def test_fast_upconv_equals_upsample_then_conv(dims):
    torch.manual_seed(0)
    up = UpConv(dims, 3, 5)
    x = torch.randn(2, 3, *([6] * dims))
    fast = up(x)
    up.fast = False
    assert torch.allclose(fast, up(x), atol=1e-5)
    assert fast.shape == (2, 5, *([12] * dims))


def test_bn_is_keras_like_and_after_activation():
    g = build_generator(preset("tiny"))
    bns = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(m.momentum == pytest.approx(0.2) and m.eps == pytest.approx(1e-3) for m in bns)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in g.down[0].modules())  # none on d1
    drops = [m for m in g.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 4 and all(m.p == 0.5 for m in drops)


def test_config_json_round_trip(tmp_path):
    cfg = preset("tiny", action="remove", seed=3, inject_textures=("solid",))
    cfg.save(tmp_path / "c.json")
    assert AttackerConfig.load(tmp_path / "c.json") == cfg
    with pytest.raises(ValueError):
        preset("huge")
