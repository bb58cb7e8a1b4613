"""The exception for bad input that a user can fix, as opposed to a bug in GridS, and the checks of output paths.

The ``grids`` command prints a :class:`UserError` (and a ``ValueError`` or ``FileNotFoundError``) as one
line, ``grids: error: ...``, and exits with status 2; ``grids --debug`` adds the traceback.
"""


class UserError(Exception):
    """Bad input the user can fix: an unknown name, a missing path, a damaged file."""


def check_output_dir(path, name: str = "out"):
    """``path`` can be a directory to create or reuse: it is not a file, and no folder above it is one.

    Checked before any work starts, so that a run does not end (or a manifest get written) before
    ``mkdir`` finds the file in the way. Returns ``path`` as a ``Path``.
    """
    from pathlib import Path

    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "is a file" if folder == path else f"is under {folder}, which is a file"
                raise UserError(f"{name} {path} {where}; give a directory path")
            break
    return path


def check_output_file(path, name: str = "out"):
    """``path`` can be written as a file: it is not a directory, and its folder can be made. Returns a ``Path``."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise UserError(f"{name} {path} is a directory; give a file path")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise UserError(
                    f"{name} {path} is under {folder}, which is a file; give a path in a directory"
                )
            break
    return path
