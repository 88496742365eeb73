"""mitsgan: protect CT scans against GAN-based tampering (MITS-GAN) and attack them (CT-GAN).

Data flows one way: scans (``mitsgan.io``) -> samples (``mitsgan.data``) ->
models (``mitsgan.attack``, ``mitsgan.protect``, ``mitsgan.baselines``) ->
reports (``mitsgan.metrics``, ``mitsgan.evaluation``).
"""
__version__ = "0.1.0"
