"""``mitsgan`` entry point.

Each command lives in its own module exposing ``register(subparsers)``, which
adds the sub-parser and sets ``func``. Heavy imports (torch, pydicom) happen
inside the commands so ``mitsgan --help`` starts fast.

Bad input raises :class:`mitsgan.errors.InputError`; it is printed as one line
``error: PATH: reason`` with exit code 2. Anything else is a bug and keeps its
traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from mitsgan import __version__
from mitsgan.errors import InputError

# Order = order in --help. A module missing here is a command not built yet.
COMMAND_MODULES = [
    "mitsgan.cli.info",
    "mitsgan.cli.convert",
    "mitsgan.cli.phantom",
    "mitsgan.cli.dataset",
    "mitsgan.cli.attacker",
    "mitsgan.cli.tamper",
    "mitsgan.cli.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mitsgan",
        description="Protect CT scans against GAN-based tampering (MITS-GAN) and test them with CT-GAN.",
    )
    parser.add_argument("--version", action="version", version=f"mitsgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
