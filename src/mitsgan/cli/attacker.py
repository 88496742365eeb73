"""``mitsgan attacker train``: train a CT-GAN injector or remover on a dataset folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attacker", help="train the CT-GAN attacker (injector / remover)")
    asub = p.add_subparsers(dest="attacker_command", metavar="ACTION")
    asub.required = True
    t = asub.add_parser("train", help="train an injector or a remover (run folder with checkpoints)")
    t.add_argument("--data", required=True, help="dataset folder (annotations.csv, candidates.csv, split.csv)")
    t.add_argument("--action", required=True, choices=["inject", "remove"])
    t.add_argument("--preset", default="tiny", choices=["tiny", "paper"], help="default: tiny")
    t.add_argument("--out", required=True, help="run folder (config, log.csv, samples, checkpoint, model/)")
    t.add_argument("--epochs", type=_positive_int, default=None, help="override the preset's epochs")
    t.add_argument("--seed", type=int, default=0, help="default: 0")
    t.add_argument("--batch-size", type=_positive_int, default=None, help="override the preset's batch")
    t.add_argument("--max-locations", type=int, default=None, help="use at most N locations (0 = all)")
    t.add_argument("--rotation-step", type=float, default=None,
                   help="augmentation rotation step in degrees (0 = none; paper 6, tiny 30)")
    t.add_argument("--inject-max-diameter", type=float, default=None,
                   help="injector: only nodules up to this diameter in mm (0 = no cap; 20 = nodules "
                        "that fit inside the masked 20 mm centre)")
    t.add_argument("--inject-textures", default=None,
                   help="injector: only nodules whose annotation 'texture' is one of these "
                        "(comma-separated, e.g. solid)")
    t.add_argument("--d-lr", type=float, default=None,
                   help="discriminator learning rate (default 2e-4 as the paper; CT-GAN's code effectively used 1e-6)")
    t.add_argument("--keep-epochs", action="store_true",
                   help="also keep the generator of every epoch (run/epochs/), to pick one by validation")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    t.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    t.add_argument("--amp", default=None, choices=["bf16"], help="bfloat16 autocast")
    t.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads")
    t.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    t.set_defaults(func=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace

    from mitsgan.attack.config import preset
    from mitsgan.errors import InputError

    overrides = {"action": args.action, "seed": args.seed}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.max_locations is not None:
        overrides["max_locations"] = args.max_locations
    if args.inject_textures:
        overrides["inject_textures"] = tuple(t for t in args.inject_textures.split(",") if t)
    if args.d_lr is not None:
        if not args.d_lr > 0:
            raise InputError(None, f"--d-lr must be > 0, got {args.d_lr}")
        overrides["d_lr"] = args.d_lr
    if args.inject_max_diameter is not None:
        overrides["inject_max_diameter_mm"] = args.inject_max_diameter
    cfg = preset(args.preset, **overrides)
    if args.rotation_step is not None:
        cfg = replace(cfg, augment=replace(cfg.augment, rotation_step_deg=args.rotation_step))
    if args.dry_run:
        print(json.dumps({**cfg.to_dict(), "data": args.data, "device": args.device, "amp": args.amp}, indent=2))
        return 0
    if not Path(args.data).is_dir():
        raise InputError(args.data, "dataset folder does not exist")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise InputError(None, "--device cuda: no CUDA device available")
    from mitsgan.attack.train import train

    try:
        result = train(cfg, args.data, args.out, device=args.device, amp=args.amp,
                       resume=args.resume, threads=args.threads, keep_epochs=args.keep_epochs)
    except FileExistsError as exc:
        raise InputError(args.out, str(exc).split(": ", 1)[-1]) from exc
    except ValueError as exc:
        raise InputError(args.data, str(exc)) from exc
    print(f"trained {cfg.action} attacker in {result.seconds:.0f} s -> {result.model_dir}", file=sys.stderr)
    print(json.dumps(result.final))
    return 0
