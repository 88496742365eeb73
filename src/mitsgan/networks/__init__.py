"""Network building blocks (dimension-generic) and the CT-GAN networks."""
from mitsgan.networks.blocks import conv_nd, count_parameters, norm_nd, tf_same_padding
from mitsgan.networks.unet import PatchDiscriminator, UNetGenerator, define_D, define_G

__all__ = ["conv_nd", "norm_nd", "tf_same_padding", "count_parameters", "UNetGenerator",
           "PatchDiscriminator", "define_G", "define_D"]
