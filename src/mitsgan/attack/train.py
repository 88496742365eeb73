"""Train a CT-GAN injector or remover (pix2pix-style cGAN on 32^3 cubes).

A run folder holds::

    config.json          resolved AttackerConfig (+ data path, device, amp)
    equalization.json    histogram equalisation + normalisation fitted on the training cubes
    cubes.safetensors    the prepared training cubes (normalised), reused by --resume
    log.csv              one row per step: epoch, step, d_loss, g_loss, g_adv, g_l1, seconds
    stats.jsonl          one line per epoch (mean losses, wall time)
    samples/epoch_NNN.png  condition / real / fake mid-slices
    checkpoint/          G, D (safetensors), optimisers + RNG (torch.save of plain tensors,
                         loaded with weights_only=True), state.json (last finished epoch)
    model/               the exported attacker (what ``mitsgan tamper --attacker`` reads)
"""
from __future__ import annotations

import csv
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from mitsgan.attack.config import AttackerConfig
from mitsgan.attack.equalize import Equalizer
from mitsgan.attack.models import build_discriminator, build_generator
from mitsgan.attack.prepare import build_cubes, condition_of
from mitsgan.attack.weights import save_attacker
from mitsgan.data.dataset import Dataset

N_SAMPLES = 4


@dataclass
class TrainResult:
    run_dir: Path
    model_dir: Path
    epochs_done: int
    final: dict  # mean losses of the last epoch
    seconds: float


# ---------------------------------------------------------------- data

def prepare_data(cfg: AttackerConfig, data: Path, run_dir: Path, log: Callable[[str], None]
                 ) -> tuple[torch.Tensor, Equalizer]:
    """Normalised training cubes (N, 1, 32, 32, 32) and the fitted equaliser (cached in the run)."""
    cache, eq_path = run_dir / "cubes.safetensors", run_dir / "equalization.json"
    if cache.exists() and eq_path.exists():
        return load_file(str(cache))["cubes"], Equalizer.load(eq_path)
    from tqdm import tqdm

    ds = Dataset.open(data)
    t0 = time.time()
    with tqdm(desc="cutting cubes", unit="loc", leave=False) as bar:
        cubes = build_cubes(ds, cfg, "train", progress=bar.update)
    eq = Equalizer.fit(cubes.hu, cfg.eq_bins)
    x = torch.from_numpy(eq.normalize(cubes.hu)).unsqueeze(1).contiguous()
    log(f"{len(cubes.locations)} locations x {cfg.augment.count()} = {len(x)} training cubes "
        f"({time.time() - t0:.1f} s)")
    save_file({"cubes": x, "location_index": torch.from_numpy(cubes.location_index)}, str(cache))
    eq.save(eq_path)
    return x, eq


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(ckpt: Path, epoch: int, G, D, opt_g, opt_d) -> None:
    tmp = ckpt.with_name(ckpt.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, str(tmp / "G.safetensors"))
    save_file({k: v.contiguous() for k, v in D.state_dict().items()}, str(tmp / "D.safetensors"))
    torch.save({"opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "state.pt")
    (tmp / "state.json").write_text(json.dumps({"epoch": epoch}) + "\n")
    if ckpt.exists():
        old = ckpt.with_name(ckpt.name + ".old")
        ckpt.rename(old)
        tmp.rename(ckpt)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(ckpt)


def load_checkpoint(ckpt: Path, G, D, opt_g, opt_d) -> int:
    G.load_state_dict(load_file(str(ckpt / "G.safetensors")))
    D.load_state_dict(load_file(str(ckpt / "D.safetensors")))
    state = torch.load(ckpt / "state.pt", weights_only=True)
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    torch.set_rng_state(state["torch_rng"])
    return int(json.loads((ckpt / "state.json").read_text())["epoch"])


# ---------------------------------------------------------------- samples

def save_samples(path: Path, G, cond: torch.Tensor, real: torch.Tensor, eq: Equalizer) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    was_training = G.training
    G.eval()
    with torch.no_grad():
        fake = G(cond).clamp(-0.5, 0.5)
    G.train(was_training)
    mid = cond.shape[2] // 2
    rows = [("condition", cond), ("real", real), ("fake", fake)]
    fig, axes = plt.subplots(len(rows), len(cond), figsize=(2 * len(cond), 6), squeeze=False)
    for r, (name, t) in enumerate(rows):
        for c in range(len(cond)):
            img = eq.denormalize(t[c, 0, mid].float().cpu().numpy())
            if name == "condition":
                img[6:26, 6:26] = np.nan
            axes[r, c].imshow(img, cmap="gray", vmin=-1350, vmax=150)
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def export_epoch(run_dir: str | Path, epoch: int, dest: str | Path) -> Path:
    """Export the generator kept after ``epoch`` (``keep_epochs=True``) as an attacker folder."""
    run_dir = Path(run_dir)
    cfg = AttackerConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    G = build_generator(cfg)
    G.load_state_dict(load_file(str(run_dir / "epochs" / f"G_{epoch:03d}.safetensors")))
    return save_attacker(dest, cfg, G, Equalizer.load(run_dir / "equalization.json"))


# ---------------------------------------------------------------- training

def train(
    cfg: AttackerConfig,            # model, optimiser and data settings (a preset, overridden)
    data: str | Path,               # dataset folder (mitsgan.data.dataset format)
    out: str | Path,                # run folder
    *,
    device: str = "cpu",            # cpu | cuda
    amp: str | None = None,         # None | "bf16" (autocast)
    resume: bool = False,           # continue from out/checkpoint
    threads: int | None = None,     # torch CPU threads
    keep_epochs: bool = False,      # also save G after every epoch (run/epochs/G_NNN.safetensors)
    log: Callable[[str], None] = print,
) -> TrainResult:
    # Set up the run folder and config.
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / "checkpoint"
    if not resume and ckpt.exists():
        raise FileExistsError(f"{run_dir} already holds a checkpoint: pass --resume or a new --out")
    if threads:
        torch.set_num_threads(threads)
    resolved = {**cfg.to_dict(), "data": str(data), "device": device, "amp": amp}
    log(json.dumps(resolved, indent=2))
    (run_dir / "config.json").write_text(json.dumps(resolved, indent=2) + "\n")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)

    # Load dataset.
    x, eq = prepare_data(cfg, Path(data), run_dir, log)
    n_batches = len(x) // cfg.batch_size
    if n_batches < 1:
        raise ValueError(f"{len(x)} training cubes: fewer than one batch of {cfg.batch_size}")

    # Construct networks and optimisers.
    dev = torch.device(device)
    G, D = build_generator(cfg).to(dev), build_discriminator(cfg).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=(cfg.beta1, cfg.beta2))
    start = 0
    if resume and ckpt.exists():
        start = load_checkpoint(ckpt, G, D, opt_g, opt_d)
        log(f"resumed after epoch {start}")
    autocast = (torch.autocast(dev.type, dtype=torch.bfloat16) if amp == "bf16" else nullcontext())
    real_label, fake_label = (0.0, 1.0) if cfg.inverted_labels else (1.0, 0.0)
    sample_idx = torch.linspace(0, len(x) - 1, N_SAMPLES).long()
    sample_real = x[sample_idx].to(dev)
    sample_cond = torch.from_numpy(condition_of(sample_real.cpu().numpy())).to(dev)
    (run_dir / "samples").mkdir(exist_ok=True)

    # Train.
    from tqdm import tqdm

    t_start = time.time()
    final: dict = {}
    log_file = run_dir / "log.csv"
    if start == 0 or not log_file.exists():
        log_file.write_text("epoch,step,d_loss,g_loss,g_adv,g_l1,seconds\n")
    for epoch in range(start + 1, cfg.epochs + 1):
        G.train(), D.train()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(cfg.seed * 100003 + epoch))
        sums = np.zeros(4)
        t_epoch = time.time()
        rows = []
        bar = tqdm(range(n_batches), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", leave=False)
        for b in bar:
            real = x[order[b * cfg.batch_size:(b + 1) * cfg.batch_size]].to(dev)
            cond = real.clone()
            cond[..., 6:26, 6:26, 6:26] = 0.0
            with autocast:
                fake = G(cond)
                # Discriminator: real pairs -> real_label, fake pairs -> fake_label (LSGAN).
                d_real = D(real, cond).float()
                d_fake = D(fake.detach(), cond).float()
                d_loss = 0.5 * (F.mse_loss(d_real, torch.full_like(d_real, real_label))
                                + F.mse_loss(d_fake, torch.full_like(d_fake, fake_label)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            with autocast:
                d_gen = D(fake, cond).float()
                g_adv = F.mse_loss(d_gen, torch.full_like(d_gen, real_label))
                g_l1 = (fake.float() - real).abs().mean()  # L1 over the whole cube
                g_loss = cfg.adv_weight * g_adv + cfg.l1_weight * g_l1
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            vals = [d_loss.item(), g_loss.item(), g_adv.item(), g_l1.item()]
            sums += vals
            rows.append([epoch, (epoch - 1) * n_batches + b + 1, *[f"{v:.6g}" for v in vals],
                         f"{time.time() - t_start:.2f}"])
            bar.set_postfix(d=f"{vals[0]:.3f}", g=f"{vals[1]:.3f}", l1=f"{vals[3]:.4f}")
        bar.close()
        with open(log_file, "a", newline="") as f:
            csv.writer(f).writerows(rows)
        final = dict(zip(["d_loss", "g_loss", "g_adv", "g_l1"], (sums / n_batches).tolist()))
        final.update(epoch=epoch, epoch_seconds=round(time.time() - t_epoch, 2))
        with open(run_dir / "stats.jsonl", "a") as f:
            f.write(json.dumps(final) + "\n")
        log(f"epoch {epoch}: " + ", ".join(f"{k} {v:.4g}" for k, v in final.items()))
        save_samples(run_dir / "samples" / f"epoch_{epoch:03d}.png", G, sample_cond, sample_real, eq)
        save_checkpoint(ckpt, epoch, G, D, opt_g, opt_d)
        if keep_epochs:
            (run_dir / "epochs").mkdir(exist_ok=True)
            save_file({k: v.detach().cpu().contiguous() for k, v in G.state_dict().items()},
                      str(run_dir / "epochs" / f"G_{epoch:03d}.safetensors"))

    # Export the attacker.
    model_dir = save_attacker(run_dir / "model", cfg, G.cpu(), eq)
    return TrainResult(run_dir, model_dir, cfg.epochs, final, time.time() - t_start)
