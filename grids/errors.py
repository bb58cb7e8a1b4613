"""The exception for bad input that a user can fix, as opposed to a bug in GridS.

The ``grids`` command prints a :class:`UserError` (and a ``ValueError`` or ``FileNotFoundError``) as one
line, ``grids: error: ...``, and exits with status 2; ``grids --debug`` adds the traceback.
"""


class UserError(Exception):
    """Bad input the user can fix: an unknown name, a missing path, a damaged file."""
