"""Entry point of the ``grids`` command.

Each command group lives in its own module with a ``register(subparsers)`` function that adds its
sub-parser and sets ``func`` to the callable that runs it. Modules are imported lazily-enough: only
argparse wiring happens at import, heavy imports (torch, mujoco) happen inside the command functions.

Errors: bad input the user can fix (``grids.errors.UserError``, which includes the dataset's
``ShardError`` and a damaged checkpoint's ``CheckpointError``; ``ValueError``, which the library raises for
bad names and values; and the ``OSError``s of a path that cannot be used: missing, a file where a folder is
needed or the reverse, not permitted) print one line, ``grids: error: ...``, and exit with status 2, as
argparse does for a bad flag (bad numbers are refused by argparse itself, ``grids.cli.argtypes``);
``grids --debug COMMAND ...`` prints the traceback too. Anything else is a bug: its traceback is printed
and the status is 1. Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from grids.errors import UserError

COMMAND_MODULES = [
    "grids.cli.data",
    "grids.cli.bench",
    "grids.cli.efficiency",
]
PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)
EXPECTED_ERRORS = (UserError, ValueError, *PATH_ERRORS)
EXIT_USER_ERROR = 2  # argparse's status for a usage error: one status for every "fix your input"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grids", description="GridS: differentiable grid-sample token reduction for VLA models."
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of expected errors (bad input) too"
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
    except EXPECTED_ERRORS as err:
        if args.debug:
            traceback.print_exc()
        print(f"grids: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        _leave_process_group()


def _leave_process_group() -> None:
    """Under ``accelerate launch``: destroy the process group before exit.

    A process that exits with its gloo group alive can abort in the group's C++ destructor ("terminate called
    without an active exception"), which fails the whole launch although training finished. Here rather than in
    ``train`` (accelerate's ``end_training``): a command may train several runs in one group, and an error must
    leave it too. A failure to leave is printed, never raised over the command's own outcome.
    """
    dist = sys.modules.get("torch.distributed")  # never imported by a single-process command that did not need it
    if dist is not None and dist.is_available() and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception as err:  # the command's own result or error comes first
            print(f"grids: warning: could not leave the process group: {err}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
