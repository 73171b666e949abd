"""Atomic file output and the overwrite policy: one place for both.

Everything the toolkit writes goes through :func:`atomic_path` (or the helpers built on it):
the content is written to a temporary file in the destination folder and renamed over the
target only when complete; ``os.replace`` is atomic on POSIX file systems.

Overwrite policy
----------------
A command never replaces a finished result or a dataset in place. Writers of such files pass
``force=`` (the command's ``--force``) instead of ``overwrite``:

- ``force=False`` and the target exists: :class:`SetupError` before anything is written,
  saying how to proceed (another name, or ``--force``);
- ``force=True`` and the target exists: the old file is kept as a numbered backup
  (``train.extxyz`` → ``train.bak1.extxyz``, then ``bak2`` …; :func:`backup_path`) and the
  new file takes its name atomically.

Commands call :func:`check_output` first, so a refusal comes before hours of work, not after.
``overwrite=True`` (the default, without ``force``) is for files a run owns and rewrites as it
goes: checkpoints, side files, run records. Every writer refuses an output path whose parent is
a file, or which is itself a folder, with a message naming the path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lizrcl_tools._deprecated import renamed
from lizrcl_tools.errors import ParseError, SetupError


def backup_path(target: str | os.PathLike) -> Path:
    """First free numbered backup name for ``target``: ``name.bakN.ext`` (N = 1, 2, …).

    The extension stays last so the backup is read like the original (format by extension).
    """
    target = Path(target)
    suffix = target.suffix if re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{0,9}", target.suffix) else ""
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    n = 1
    while (candidate := target.with_name(f"{stem}.bak{n}{suffix}")).exists():
        n += 1
    return candidate


def _check_destination(target: Path) -> None:
    """Refuse a target that is a folder, or whose parent chain holds a file."""
    if target.is_dir():
        raise SetupError(f"cannot write {target}: it is a folder; give a file name")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SetupError(
                    f"cannot write {target}: {parent} is a file, not a folder; choose an "
                    "output path inside a folder"
                )
            break


def check_output(target: str | os.PathLike, force: bool = False, what: str = "result") -> Path:
    """Refuse, before any work starts, to replace an existing finished result or dataset.

    Parameters
    ----------
    target : str or PathLike
        The file a command is about to write.
    force : bool
        The command's ``--force``: allow replacing (the old file is then kept as
        :func:`backup_path` by the writer).
    what : str
        What the file is ("dataset", "result" ...), for the message.

    Returns
    -------
    Path
        ``target`` as a Path.

    Raises
    ------
    SetupError
        ``target`` exists and ``force`` is False; or ``target`` is a folder, or its parent is a
        file.
    """
    target = Path(target)
    _check_destination(target)
    if target.exists() and not force:
        raise SetupError(
            f"{target} already exists; refusing to overwrite a finished {what}. Choose another "
            f"output name, or pass --force to replace it (the old file is then kept as "
            f"{backup_path(target).name})"
        )
    return target


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike, overwrite: bool = True, force: bool | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Parameters
    ----------
    target : str or PathLike
        Final file name.
    overwrite : bool
        If False and ``target`` exists, raise :class:`SetupError` before anything is written.
        Ignored when ``force`` is given.
    force : bool, optional
        ``target`` is a finished result or dataset (see the module's overwrite policy): False
        refuses an existing ``target``; True replaces it and keeps the old file as a numbered
        backup (:func:`backup_path`).

    Yields
    ------
    Path
        Temporary file to write (same folder and suffix as ``target``, so format detection
        by extension keeps working).
    """
    target = Path(target)
    if force is not None:
        check_output(target, force)
    else:
        _check_destination(target)
        if not overwrite and target.exists():
            raise SetupError(
                f"{target} exists; refusing to overwrite a finished result; choose another name"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Same suffix as the target so ASE format detection by extension still works.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    except OSError as exc:
        raise SetupError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600 files; results are meant to be shared like any other file.
    umask = os.umask(0)
    os.umask(umask)
    tmp_path.chmod(0o666 & ~umask)
    try:
        yield tmp_path
        if force and target.exists():
            _keep_backup(target)
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _keep_backup(target: Path) -> Path:
    """Keep the current ``target`` as its numbered backup; ``target`` itself stays in place
    (hard link, or a copy where links are not possible) until the new file replaces it."""
    backup = backup_path(target)
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup


def write_text_atomic(
    target: str | os.PathLike, text: str, overwrite: bool = True, force: bool | None = None
) -> Path:
    """Write ``text`` to ``target`` atomically and return the path (``force``: see :func:`atomic_path`)."""
    with atomic_path(target, overwrite=overwrite, force=force) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_json_atomic(
    target: str | os.PathLike, data: Any, overwrite: bool = True, force: bool | None = None
) -> Path:
    """Write ``data`` as indented JSON to ``target`` atomically and return the path."""
    return write_text_atomic(
        target, json.dumps(data, indent=2, sort_keys=False) + "\n", overwrite, force=force
    )


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


def save_figure(fig: Any, target: str | os.PathLike, dpi: float | None = None,
                force: bool | None = None) -> Path:
    """Lay out a matplotlib figure, write it as PNG to ``target`` atomically, close it.

    ``dpi`` None keeps matplotlib's default; ``force``: see :func:`atomic_path`. Closing the
    figure frees it (pyplot keeps every open figure alive).
    """
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(target, force=force) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(target)


def write_atoms_atomic(
    target: str | os.PathLike,
    frames: Sequence[Any],
    format: str | None = None,
    overwrite: bool = True,
    force: bool | None = None,
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
    force : bool, optional
        The frames are a finished dataset: see :func:`atomic_path`.
    **kwargs
        Passed on to :func:`ase.io.write`.
    """
    import ase.io

    target = Path(target)
    if format is None:
        format = _guess_format(target)
    with atomic_path(target, overwrite=overwrite, force=force) as tmp:
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


def iter_structures(
    path: str | os.PathLike,
    format: str | None = None,
    validate: bool = True,
    min_distance: Any = None,
) -> Iterator[Any]:
    """Yield every structure (ASE ``Atoms``) in a file, lazily, whatever ASE format it is in, checked.

    Unlike :func:`ase.io.iread`, this also reads single-frame formats (POSCAR, CIF, LAMMPS
    data), reads LAMMPS data files with the toolkit's type order (type 1 = Li, 2 = Zr,
    3 = Cl, ``atom_style atomic``, ``units metal``) and never yields nothing silently.

    Every frame is checked at this boundary (unless ``validate`` is False): finite positions
    and cell, a cell of non-zero volume, no two atoms closer than the per-pair minimum
    (:func:`lizrcl_tools.structures.checks.check_input_structure`), and for CIF files every
    site fully occupied (a partially occupied or shared site is refused, naming it).

    Parameters
    ----------
    path : str or PathLike
        Structure file.
    format : str, optional
        ASE format name; default guessed from the file name, then from its content.
    validate : bool
        Run the checks above (default True).
    min_distance : float or mapping, optional
        Per-pair minimum distance, Å (see
        :func:`lizrcl_tools.structures.checks.input_min_distances`; default 0.5 × the sum of
        covalent radii; 0 turns the check off). The ``--min-distance`` option.

    Raises
    ------
    ParseError
        The file is empty, cannot be read (for POSCARs, the first bad line is named), holds
        no structure, or a frame fails a check (file, frame and atoms named).
    """
    import ase.io
    from ase.data import atomic_numbers
    from ase.io.formats import ioformats

    from lizrcl_tools.errors import ParseError
    from lizrcl_tools.keys import ELEMENTS

    path = Path(path)
    if path.is_dir():
        raise SetupError(f"{path} is a folder; give a structure file")
    if not path.is_file():
        raise SetupError(f"structure file {path} does not exist")
    if path.stat().st_size == 0 or not path.read_bytes()[:65536].strip():
        raise ParseError(path, "the file is empty; expected a structure (POSCAR, CIF, extxyz, LAMMPS data ...)")
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
    if validate and (format == "cif" or (format is None and path.suffix.lower() == ".cif")):
        from lizrcl_tools.structures.filechecks import check_cif_occupancy

        check_cif_occupancy(path)
    n = 0
    try:
        single = format is not None and ioformats[format].single
        if single:
            frames: Iterator[Any] = iter([ase.io.read(path, format=format, **kwargs)])
        else:
            frames = ase.io.iread(path, index=":", format=format, **kwargs)
        for atoms in frames:
            n += 1
            if validate:
                from lizrcl_tools.structures.checks import check_input_structure

                check_input_structure(
                    atoms, "" if single else f"frame {n} (1-based)", min_distance, path
                )
            yield atoms
    except ParseError:
        raise
    except Exception as exc:  # ASE readers raise many types; all mean "cannot read this file"
        if format == "vasp":
            from lizrcl_tools.structures.filechecks import explain_poscar

            explain_poscar(path)  # raises with the first bad line when it can find one
        raise ParseError(path, f"cannot read structures as {format or 'any ASE format'} "
                               f"({type(exc).__name__}: {exc})") from exc
    if n == 0:
        raise ParseError(path, f"no structure found (read as {format or 'any ASE format'})")


def read_structure(
    path: str | os.PathLike,
    index: int = 0,
    format: str | None = None,
    validate: bool = True,
    min_distance: Any = None,
) -> Any:
    """Return one structure (frame ``index``, default the first) of a file, checked; see
    :func:`iter_structures` (``min_distance`` is the ``--min-distance`` option)."""
    from lizrcl_tools.errors import ParseError

    frames = list(iter_structures(path, format=format, validate=validate, min_distance=min_distance))
    try:
        return frames[index]
    except IndexError:
        raise ParseError(path, f"frame {index} requested but the file holds {len(frames)}") from None


read_frames = renamed(iter_structures, "lizrcl_tools.fileio.read_frames")
