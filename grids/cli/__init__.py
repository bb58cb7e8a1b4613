"""Command-line interface: ``grids <command> ...``."""
