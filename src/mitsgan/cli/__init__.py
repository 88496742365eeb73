"""Command-line interface: one module per command, registered in :mod:`mitsgan.cli.main`."""
