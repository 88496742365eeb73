"""Seconds to tamper one location of a 512x512x300 scan on CPU (target <= 5 s on 2 cores).

    python benchmarks/tamper_speed.py [--threads 2] [--cli]

Prints the in-memory ``tamper_scan`` time per action (shipped attackers) and, with
``--cli``, the end-to-end ``mitsgan tamper`` time on an .mhd file (read + tamper + write).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def synthetic_scan(shape=(300, 512, 512), seed=0):
    from mitsgan.io.scan import Scan

    rng = np.random.default_rng(seed)
    hu = np.full(shape, 40.0, dtype=np.float32)
    z, y, x = shape
    hu[:, y // 8: 7 * y // 8, x // 10: 9 * x // 20] = -850.0
    hu[:, y // 8: 7 * y // 8, 11 * x // 20: 9 * x // 10] = -850.0
    hu += rng.standard_normal(shape, dtype=np.float32) * 30.0
    return Scan(hu, spacing_zyx=(1.0, 0.7, 0.7))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cli", action="store_true", help="also time the CLI on an .mhd file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from mitsgan.attack.tamper import tamper_scan
    from mitsgan.attack.weights import load_attacker

    scan = synthetic_scan()
    at = (150, 256, 160)
    for action in ("inject", "remove"):
        attacker = load_attacker(action=action)
        times = []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            tamper_scan(scan, at, attacker, seed=r)
            times.append(time.perf_counter() - t0)
        print(f"tamper_scan {action} 512x512x300: {min(times):.2f} s (best of {args.repeats}; "
              f"all {', '.join(f'{t:.2f}' for t in times)})")
    if args.cli:
        from mitsgan.io import write_scan

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "scan.mhd"
            write_scan(scan, src)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mitsgan.cli.main", "tamper", str(src),
                            str(Path(tmp) / "out.mhd"), "--action", "inject", "--at", "150,256,160"],
                           check=True)
            print(f"mitsgan tamper CLI (read + tamper + write .mhd): {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
