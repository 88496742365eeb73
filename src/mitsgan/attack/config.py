"""Attacker configuration: one dataclass, two presets (``paper`` and ``tiny``), saved as JSON."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CUBE = 32  # CT-GAN's cube side (voxels at 1 mm)
CUT_MM = 40.0  # training cubes are cut at 32 + 8 mm, augmented, then centre-cropped
MASK = (6, 26)  # condition: normalised cube with [6:26]^3 set to 0


@dataclass
class AugmentConfig:
    """CT-GAN's augmentation: original + 3 flips + 4 shifts + rotations = 67 per location."""

    flips: bool = True  # axis 1, axis 2, both
    shift_vox: int = 4  # four in-plane shifts of +-shift_vox (0 = none)
    rotation_step_deg: float = 6.0  # rotations step, step*2, ... < 360 (0 = none)

    def count(self) -> int:
        rot = 0 if self.rotation_step_deg <= 0 else len(rotation_angles(self.rotation_step_deg))
        return 1 + (3 if self.flips else 0) + (4 if self.shift_vox else 0) + rot


def rotation_angles(step: float) -> list[float]:
    n = int(round(360.0 / step))
    return [step * i for i in range(1, n) if step * i < 360.0 - 1e-9]


@dataclass
class AttackerConfig:
    """Everything that defines an attacker model and how it was trained."""

    action: str = "inject"  # inject | remove
    preset: str = "paper"
    gf: int = 100  # generator base filters
    df: int = 100  # discriminator base filters
    dropout: float = 0.5  # every decoder layer, as CT-GAN (off at tamper time: eval mode)
    batch_size: int = 32
    epochs: int = 200
    g_lr: float = 2e-4
    d_lr: float = 2e-4  # CT-GAN's code effectively used 1e-6 (swapped optimizer names)
    beta1: float = 0.5
    beta2: float = 0.999
    l1_weight: float = 100.0
    adv_weight: float = 1.0
    inverted_labels: bool = True  # CT-GAN: valid = 0, fake = 1
    eq_bins: int = 10000
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    inject_min_diameter_mm: float = 10.0  # injector learns from nodules >= this
    inject_max_diameter_mm: float = 0.0  # ... and <= this (0 = no cap); 20 = fits the masked centre
    inject_textures: tuple[str, ...] = ()  # only these annotation 'texture' values (empty = any)
    remove_max_diameter_mm: float = 3.0  # remover learns from nodules < this and healthy tissue
    max_locations: int = 0  # 0 = all; cap per split for quick runs
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AttackerConfig":
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if isinstance(d.get("augment"), dict):
            d["augment"] = AugmentConfig(**d["augment"])
        if "inject_textures" in d:
            d["inject_textures"] = tuple(d["inject_textures"])
        return cls(**d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "AttackerConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


PRESETS: dict[str, AttackerConfig] = {
    # CT-GAN as published: 162.6M + 26.9M parameters, batch 32, 200 epochs.
    "paper": AttackerConfig(preset="paper"),
    # 2.3M + 0.4M parameters; about 40 cubes/s for G + D steps on 2 CPU cores, so 20 epochs of
    # ~30 locations x 19 instances (30 degree rotations) take about 10 min.
    "tiny": AttackerConfig(preset="tiny", gf=12, df=12, batch_size=16, epochs=20,
                           augment=AugmentConfig(rotation_step_deg=30.0)),
}


def preset(name: str, **overrides: Any) -> AttackerConfig:
    """A copy of a named preset with fields overridden; unknown names raise."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    return replace(PRESETS[name], **overrides)
