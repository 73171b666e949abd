"""Atomic file output: a failed or interrupted run never leaves a partial file.

Everything the toolkit writes goes through :func:`atomic_path` (or the helpers built on it):
the content is written to a temporary file in the destination folder and renamed over the
target only when complete; ``os.replace`` is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lizrcl_tools._deprecated import renamed
from lizrcl_tools.errors import ParseError, SetupError


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


def jsonable(value: Any, nan_to_null: bool = True) -> Any:
    """Copy of ``value`` that :func:`json.dumps` writes as standard JSON.

    Dicts, lists and tuples are copied recursively (tuples become lists); numpy scalars and
    arrays become Python numbers and lists; with ``nan_to_null`` NaN and ±inf become None
    (standard JSON has no NaN), otherwise they are kept (Python's json writes ``NaN``).
    """
    if isinstance(value, dict):
        return {k: jsonable(v, nan_to_null) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, nan_to_null) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        # numpy scalar (tolist gives the Python number) or array (nested lists)
        return jsonable(value.tolist(), nan_to_null)
    if nan_to_null and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; malformed JSON raises :class:`ParseError` with the file and line."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ParseError(path, f"not valid JSON: {exc.msg}", exc.lineno) from exc


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


def iter_structures(path: str | os.PathLike, format: str | None = None) -> Iterator[Any]:
    """Yield every structure (ASE ``Atoms``) in a file, lazily, whatever ASE format it is in.

    Unlike :func:`ase.io.iread`, this also reads single-frame formats (POSCAR, CIF, LAMMPS
    data), reads LAMMPS data files with the toolkit's type order (type 1 = Li, 2 = Zr,
    3 = Cl, ``atom_style atomic``, ``units metal``) and never yields nothing silently.

    Parameters
    ----------
    path : str or PathLike
        Structure file.
    format : str, optional
        ASE format name; default guessed from the file name, then from its content.

    Raises
    ------
    ParseError
        The file cannot be read, or holds no structure.
    """
    import ase.io
    from ase.data import atomic_numbers
    from ase.io.formats import ioformats

    from lizrcl_tools.errors import ParseError
    from lizrcl_tools.keys import ELEMENTS

    path = Path(path)
    if not path.is_file():
        raise SetupError(f"structure file {path} does not exist")
    if format is None:
        try:
            format = _guess_format(path)
        except SetupError:
            format = None  # let ASE look at the content
    kwargs: dict[str, Any] = {}
    if format == "lammps-data":
        kwargs = {
            "atom_style": "atomic",
            "units": "metal",
            "Z_of_type": {k + 1: atomic_numbers[s] for k, s in enumerate(ELEMENTS)},
        }
    n = 0
    try:
        if format is not None and ioformats[format].single:
            frames: Iterator[Any] = iter([ase.io.read(path, format=format, **kwargs)])
        else:
            frames = ase.io.iread(path, index=":", format=format, **kwargs)
        for atoms in frames:
            n += 1
            yield atoms
    except ParseError:
        raise
    except Exception as exc:  # ASE readers raise many types; all mean "cannot read this file"
        raise ParseError(path, f"cannot read structures as {format or 'any ASE format'} "
                               f"({type(exc).__name__}: {exc})") from exc
    if n == 0:
        raise ParseError(path, f"no structure found (read as {format or 'any ASE format'})")


def read_structure(path: str | os.PathLike, index: int = 0, format: str | None = None) -> Any:
    """Return one structure (frame ``index``, default the first) of a file; see :func:`iter_structures`."""
    from lizrcl_tools.errors import ParseError

    frames = list(iter_structures(path, format=format))
    try:
        return frames[index]
    except IndexError:
        raise ParseError(path, f"frame {index} requested but the file holds {len(frames)}") from None


read_frames = renamed(iter_structures, "lizrcl_tools.fileio.read_frames")
