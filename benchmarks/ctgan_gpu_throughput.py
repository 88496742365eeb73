"""CT-GAN paper preset training throughput on a GPU: cubes/s for full G + D steps.

    python benchmarks/ctgan_gpu_throughput.py [--batch 32] [--steps 30] [--amp bf16|none]

Paper preset (gf = df = 100, 162.6 M + 26.9 M parameters), batch 32, bf16 autocast,
random cubes (the data pipeline is not timed). Target: about 700 cubes/s on one H200.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

import torch
from torch.nn import functional as F


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--amp", default="bf16", choices=["bf16", "none"])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--channels-last", action="store_true")
    args = ap.parse_args()
    from mitsgan.attack.config import preset
    from mitsgan.attack.models import build_discriminator, build_generator

    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs a GPU", file=sys.stderr)
        return 1
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    dev = torch.device("cuda")
    cfg = preset(args.preset)
    G, D = build_generator(cfg).to(dev), build_discriminator(cfg).to(dev)
    if args.channels_last:
        G = G.to(memory_format=torch.channels_last_3d)
        D = D.to(memory_format=torch.channels_last_3d)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=(cfg.beta1, cfg.beta2))
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if args.amp == "bf16" else contextlib.nullcontext()
    real = torch.rand(args.batch, 1, 32, 32, 32, device=dev) - 0.5
    cond = real.clone()
    cond[..., 6:26, 6:26, 6:26] = 0

    def step():
        with amp:
            fake = G(cond)
            d_real, d_fake = D(real, cond).float(), D(fake.detach(), cond).float()
            d_loss = 0.5 * (F.mse_loss(d_real, torch.zeros_like(d_real))
                            + F.mse_loss(d_fake, torch.ones_like(d_fake)))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with amp:
            d_gen = D(fake, cond).float()
            g_loss = F.mse_loss(d_gen, torch.zeros_like(d_gen)) + 100 * (fake.float() - real).abs().mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(f"{torch.cuda.get_device_name()}: preset {args.preset}, batch {args.batch}, amp {args.amp}: "
          f"{args.steps * args.batch / dt:.0f} cubes/s ({dt / args.steps * 1000:.0f} ms/step), "
          f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
