"""Atomic file output: a failed or interrupted run never leaves a partial file.

Everything the toolkit writes goes through :func:`atomic_path` (or the helpers built on it):
the content is written to a temporary file in the destination folder and renamed over the
target only when complete; ``os.replace`` is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import SetupError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target : str or PathLike
        Final file name.
    overwrite : bool
        If False and ``target`` exists, raise :class:`SetupError` before anything is written.

    Yields
    ------
    Path
        Temporary file to write (same folder and suffix as ``target``, so format detection
        by extension keeps working).
    """
    target = Path(target)
    if not overwrite and target.exists():
        raise SetupError(f"{target} exists; refusing to overwrite a finished result")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same suffix as the target so ASE format detection by extension still works.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; results are meant to be shared like any other file.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_json_atomic(target: str | os.PathLike, data: Any, overwrite: bool = True) -> Path:
    """Write ``data`` as indented JSON to ``target`` atomically and return the path."""
    return write_text_atomic(target, json.dumps(data, indent=2, sort_keys=False) + "\n", overwrite)


def write_atoms_atomic(
    target: str | os.PathLike,
    frames: Sequence[Any],
    format: str | None = None,
    overwrite: bool = True,
    **kwargs: Any,
) -> Path:
    """Write ASE Atoms frames with :func:`ase.io.write`, atomically.

    Parameters
    ----------
    target : str or PathLike
        Output file; the format is guessed from its name unless ``format`` is given.
    frames : sequence of ase.Atoms
        Frames to write (one or many).
    format : str, optional
        Any format ASE writes (``extxyz``, ``vasp``, ``lammps-data``, ``cif`` ...).
    overwrite : bool
        Refuse to replace an existing file when False.
    **kwargs
        Passed on to :func:`ase.io.write`.
    """
    import ase.io

    target = Path(target)
    if format is None:
        format = _guess_format(target)
    with atomic_path(target, overwrite=overwrite) as tmp:
        ase.io.write(tmp, list(frames) if format != "vasp" else frames[0], format=format, **kwargs)
    return target


def _guess_format(path: Path) -> str:
    """ASE format name from a file name, accepting POSCAR/CONTCAR without an extension."""
    from ase.io.formats import ioformats

    name = path.name
    if name.upper().startswith(("POSCAR", "CONTCAR")) or name.endswith(".vasp"):
        return "vasp"
    suffix = path.suffix.lstrip(".").lower()
    aliases = {
        "xyz": "extxyz",
        "extxyz": "extxyz",
        "data": "lammps-data",
        "lmp": "lammps-data",
        "json": "json",
        "poscar": "vasp",
    }
    if suffix in aliases:
        return aliases[suffix]
    for fmt in ioformats.values():
        if suffix and suffix in fmt.extensions and fmt.can_write:
            return fmt.name
    raise SetupError(
        f"cannot tell the file format of {path} from its name; pass a format "
        "(e.g. extxyz, vasp, lammps-data, cif)"
    )
