"""Fingerprints of what a run starts from: its structure and its potential (sha256 hex).

A run folder records both in run.json (``structure_sha256``, ``potential_sha256``), and
:func:`lizrcl_tools.md.runner.run_md` refuses to resume or reuse a folder whose fingerprints
differ from the ones asked for, so a finished result is never silently returned for another
cell or another model.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import PurePath

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential import PotentialSpec

POSITION_DECIMALS = 6
"""Positions and cell are rounded to 1e-6 Å before hashing (round-off from file formats)."""


def structure_sha256(atoms: Atoms) -> str:
    """sha256 of atomic numbers, positions and cell (Å, rounded to 1e-6 Å) and periodicity."""
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, dtype="<i8").tobytes())
    for array in (atoms.positions, atoms.cell.array):
        # + 0.0 turns -0.0 into 0.0, so a coordinate rounded to zero hashes one way.
        h.update((np.round(np.asarray(array, dtype=float), POSITION_DECIMALS) + 0.0).astype("<f8").tobytes())
    h.update(np.asarray(atoms.pbc, dtype="<i1").tobytes())
    return h.hexdigest()


def _without_folders(line: str) -> str:
    # Paths (plugin library, exported model) depend on the machine and cache location; the
    # model's content enters through its own sha256 instead.
    return " ".join(PurePath(w).name if "/" in w else w for w in line.split())


def _without_device(line: str) -> str:
    # Where the model runs (``device cpu|cuda|auto`` of mace/lizrcl) is not what it computes:
    # a run started on the CPU may be resumed on a GPU and the other way round.
    words = line.split()
    if not words or words[0] != "pair_style":
        return line
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "device":
            skip = True
        else:
            kept.append(word)
    return " ".join(kept)


def potential_sha256(spec: PotentialSpec) -> str:
    """sha256 of everything LAMMPS is told about the interaction plus the model file's sha256.

    Covers element → type order, atom style, Newton setting, ``pre_commands`` and
    ``all_commands()`` (pair styles, coefficients, dispersion overlays, charges), with folder
    names stripped from paths and the MACE pair style's ``device`` keyword left out (where a
    model runs is not a different potential), and ``spec.metadata["sha256"]`` (the model file)
    when present.
    """
    payload = {
        "elements": list(spec.elements),
        "atom_style": spec.atom_style,
        "newton": spec.newton,
        "pre_commands": [_without_folders(c) for c in spec.pre_commands],
        "commands": [_without_folders(_without_device(c)) for c in spec.all_commands()],
        "model_sha256": spec.metadata.get("sha256"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def check_run_inputs(atoms: Atoms, temperature_K: float) -> None:
    """Refuse inputs no MD run can use, before any run folder exists.

    Raises
    ------
    SetupError
        Temperature not a finite positive number (K); a cell or positions with NaN or inf;
        a cell that is not 3D periodic.
    """
    try:
        t = float(temperature_K)
    except (TypeError, ValueError):
        raise SetupError(f"temperature must be a number in K, got {temperature_K!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise SetupError(f"temperature must be a finite number above 0 K, got {temperature_K!r}")
    if not np.isfinite(atoms.positions).all():
        raise SetupError("the structure has NaN or infinite positions")
    if not np.isfinite(atoms.cell.array).all():
        raise SetupError("the structure's cell has NaN or infinite lengths")
    if not all(atoms.pbc) or atoms.cell.rank != 3:
        raise SetupError("MD needs a 3D periodic cell (pbc = True along a, b and c)")
    if atoms.get_volume() <= 1e-6:
        raise SetupError(f"the structure's cell has no volume ({atoms.get_volume():g} Å³)")
