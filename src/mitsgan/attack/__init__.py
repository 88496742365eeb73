"""The attacker: CT-GAN re-implemented in PyTorch.

Modules: ``config`` (AttackerConfig, presets ``paper``/``tiny``), ``models`` (G and D from a
config), ``equalize`` (histogram equalisation + normalisation), ``prepare`` (training cubes),
``train`` (the training loop and run folder), ``weights`` (save/load an attacker, the shipped
ones), ``tamper`` (CT-GAN's numpy tamper pipeline on a Scan), ``tamper_torch`` (the same,
differentiable and batched, for training a protector), ``synthetic`` (small synthetic lungs
for tests). The acceptance measurements of a tamper are in ``mitsgan.evaluation.tamper_metrics``.

Main entry points are importable from here lazily::

    from mitsgan.attack import load_attacker, tamper_scan, DifferentiableTamper
"""
from __future__ import annotations

_LAZY = {
    "AttackerConfig": "config", "preset": "config", "PRESETS": "config",
    "Attacker": "weights", "load_attacker": "weights", "save_attacker": "weights",
    "tamper_scan": "tamper", "tamper_hu": "tamper", "tamper_box": "tamper",
    "DifferentiableTamper": "tamper_torch", "train": "train",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"mitsgan.attack.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mitsgan.attack' has no attribute {name!r}")
