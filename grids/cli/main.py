"""Entry point of the ``grids`` command.

Each command group lives in its own module with a ``register(subparsers)`` function that adds its
sub-parser and sets ``func`` to the callable that runs it. Modules are imported lazily-enough: only
argparse wiring happens at import, heavy imports (torch, mujoco) happen inside the command functions.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "grids.cli.data",
    "grids.cli.bench",
    "grids.cli.efficiency",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grids", description="GridS: differentiable grid-sample token reduction for VLA models."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
