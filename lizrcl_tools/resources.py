"""Locate the project's top-level data folders (``vasp_inputs/``, ``lammps_plugin/``).

A source checkout (editable install) uses the repository folders directly; an installed wheel
carries the same files as data files under ``<prefix>/share/lizrcl/<name>`` (pyproject
``[tool.setuptools.data-files]``), found through the distribution's file list so ``--user``
and virtual-environment installs both work.
"""

from __future__ import annotations

import os
from pathlib import Path

DIST_NAME = "lizrcl-tools"


def resource_dirs(name: str) -> list[Path]:
    """Folders that hold the top-level data folder ``name``, repository copy first.

    Parameters
    ----------
    name : str
        ``"vasp_inputs"`` or ``"lammps_plugin"``.

    Returns
    -------
    list of Path
        Existing folders, most specific first (possibly empty).
    """
    dirs: list[Path] = []
    repo_dir = Path(__file__).resolve().parents[1] / name
    if repo_dir.is_dir():
        dirs.append(repo_dir)
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        files = distribution(DIST_NAME).files or []
    except PackageNotFoundError:
        files = []
    share = ("share", "lizrcl", name)
    for entry in files:
        parts = Path(str(entry)).parts
        if len(parts) > 3 and parts[-4:-1] == share:
            located = Path(str(entry.locate())).resolve().parent
            if located.is_dir() and located not in dirs:
                dirs.append(located)
            break
    return dirs


def user_cache_dir(name: str, override_env: str) -> Path:
    """Per-user cache folder ``$XDG_CACHE_HOME/lizrcl/<name>`` (default ``~/.cache``).

    Parameters
    ----------
    name : str
        Sub-folder (``"plugin"``, ``"models"``).
    override_env : str
        Environment variable that, when set, names the folder directly (for shared caches on
        clusters).
    """
    env = os.environ.get(override_env)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lizrcl" / name
