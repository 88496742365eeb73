"""A trained attacker on disk: ``config.json`` + ``generator.safetensors`` + ``equalization.json``.

Nothing is unpickled. The shipped attackers live in ``mitsgan/weights/ctgan_{inject,remove}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mitsgan.attack.config import AttackerConfig
from mitsgan.attack.equalize import Equalizer
from mitsgan.attack.models import build_generator
from mitsgan.errors import InputError

CONFIG, GENERATOR, EQUALIZATION = "config.json", "generator.safetensors", "equalization.json"
SHIPPED = Path(__file__).resolve().parent.parent / "weights"


def shipped_dir(action: str) -> Path:
    return SHIPPED / f"ctgan_{action}"


@dataclass
class Attacker:
    """A generator (eval mode) with its config and equalisation/normalisation."""

    config: AttackerConfig
    generator: nn.Module
    equalizer: Equalizer

    @property
    def action(self) -> str:
        return self.config.action


def save_attacker(path: str | Path, cfg: AttackerConfig, generator: nn.Module, eq: Equalizer) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg.save(path / CONFIG)
    state = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    save_file(state, str(path / GENERATOR), metadata={"format": "mitsgan-ctgan-generator"})
    eq.save(path / EQUALIZATION)
    (path / GENERATOR).chmod(0o644)  # safetensors writes 0600; these are package data
    return path


def resolve_dir(path: str | Path) -> Path:
    """An attacker folder, or a training run folder holding one in ``model/``."""
    path = Path(path)
    if (path / CONFIG).exists() and (path / GENERATOR).exists():
        return path
    if (path / "model" / GENERATOR).exists():
        return path / "model"
    if not path.exists():
        raise InputError(path, "attacker folder does not exist")
    raise InputError(path, f"not an attacker folder (needs {CONFIG}, {GENERATOR}, {EQUALIZATION})")


def load_attacker(path: str | Path | None = None, action: str | None = None,
                  device: str | torch.device = "cpu") -> Attacker:
    """Load from ``path`` (or the shipped attacker for ``action``); the generator is in eval mode."""
    if path is None:
        if action is None:
            raise ValueError("give a path or an action")
        path = shipped_dir(action)
    path = resolve_dir(path)
    try:
        cfg = AttackerConfig.load(path / CONFIG)
        eq = Equalizer.load(path / EQUALIZATION)
        g = build_generator(cfg)
        g.load_state_dict(load_file(str(path / GENERATOR)))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(path, f"cannot load attacker: {exc}") from exc
    if action is not None and cfg.action != action:
        raise InputError(path, f"this attacker was trained to {cfg.action}, not to {action}")
    return Attacker(cfg, g.to(device).eval(), eq)
