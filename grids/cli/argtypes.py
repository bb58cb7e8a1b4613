"""Argument types for the ``grids`` commands: a bad number is refused by argparse, naming the flag and the value.

    parser.add_argument("--seed", type=non_negative_int, default=0)
    # grids data generate --seed -1  ->  error: argument --seed: must be an int >= 0, got -1
"""

from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """An argparse ``type``: an int >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {value}")
        return value

    parse.__name__ = f"int >= {minimum}"  # what argparse calls the type in its own messages
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)
