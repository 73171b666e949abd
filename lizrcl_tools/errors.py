"""One small hierarchy of errors and warnings for the whole toolkit.

Every error that comes from a file names the file and, where it applies, the line, so a user
can open the file at the right place. The CLI catches :class:`LizrclError` and prints its
message without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from os import PathLike


class LizrclError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class ParseError(LizrclError):
    """A file could not be read as the format it claims to be.

    Parameters
    ----------
    path : str or PathLike
        The file being read.
    message : str
        What was wrong, and what was expected instead.
    line : int, optional
        1-based line number where the problem was found.
    """

    def __init__(self, path: str | PathLike, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class PresetError(LizrclError):
    """A preset file (VASP inputs, MD protocol) has a bad section or key.

    Parameters
    ----------
    path : str or PathLike
        The preset file.
    key : str
        The offending section or key.
    message : str
        What was wrong.
    """

    def __init__(self, path: str | PathLike, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        super().__init__(f"{self.path}: key {key!r}: {message}")


class SetupError(LizrclError):
    """The request cannot be carried out as given (checked before any work starts)."""


class RunFailed(LizrclError):
    """A calculation started but failed (LAMMPS error, diverging MD, non-converged relaxation)."""


class LizrclWarning(UserWarning):
    """Suspicious but legal input; its own class so tests can assert on it."""


class SkippedDataWarning(LizrclWarning):
    """Data were skipped on purpose (e.g. unconverged SCF steps); the count is in the message."""
