"""Pieces shared by the vasprun.xml and OUTCAR readers: one ionic step, its frame, the report.

Labels written on a frame (names from :mod:`lizrcl_tools.keys`):

``REF_energy`` (``atoms.info``), eV
    The free energy of the ionic step, VASP's ``TOTEN`` (vasprun ``e_fr_energy``): the energy
    whose derivatives are the printed forces and stress.
``REF_forces`` (``atoms.arrays``), eV/Å, shape (N, 3)
``REF_stress`` (``atoms.info``), eV/Å³, Voigt xx yy zz yz xz xy, ASE sign
    VASP prints −σ in kB; stored is −0.1 GPa × value in eV/Å³, as ``ase.io.read`` gives it.
``config_type``, ``source`` ("file:step"), ``source_step`` (0-based ionic step)
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import ParseError

KBAR_TO_EV_A3 = 0.1 * GPa
"""1 kB = 0.1 GPa, expressed in eV/Å³ (from ase.units)."""

NELM_DEFAULT = 60
"""VASP's default NELM, used when a file does not state it."""

_ELEMENTS = frozenset(chemical_symbols[1:])  # "X" (index 0) is ASE's dummy atom, not an element


@dataclass(frozen=True)
class SourceReport:
    """What one VASP output file gave.

    Attributes
    ----------
    path : str
        The file read.
    kind : str
        ``"vasprun"`` or ``"outcar"``.
    n_steps : int
        Ionic steps found in the file.
    n_frames : int
        Frames kept from it.
    n_skipped_unconverged : int
        Considered steps skipped because their ground-state SCF loop reached NELM.
    nelm : int
        NELM used for the convergence test.
    note : str
        Anything else worth knowing (run stopped inside an SCF loop, linear-response part
        present, machine-learned steps skipped, species taken from POTCAR titles).
    n_skipped_other : int
        Steps skipped for another reason named in ``note`` (e.g. machine-learned force-field
        steps that carry no DFT labels).
    """

    path: str
    kind: str
    n_steps: int
    n_frames: int
    n_skipped_unconverged: int
    nelm: int
    note: str = ""
    n_skipped_other: int = 0


@dataclass
class Step:
    """One ionic step as read, before the convergence decision.

    ``n_scf`` counts the ground-state electronic iterations only (linear-response and NMR
    iterations that follow the forces are not part of the NELM test). ``n_scf = -1`` marks a
    step with no electronic loop at all (a machine-learned force-field step).
    """

    symbols: list[str]
    cell: np.ndarray  # Å, rows are lattice vectors
    positions: np.ndarray  # Cartesian, Å
    forces: np.ndarray  # eV/Å
    energy: float  # eV
    stress_kbar: np.ndarray | None  # 3x3, VASP sign
    n_scf: int


@dataclass
class RunInfo:
    """Per-file facts a reader returns beside its steps."""

    nelm: int = NELM_DEFAULT
    ibrion: int = -1
    nsw: int = 0
    ml_lmlff: bool = False
    notes: list[str] | None = None


def open_text(path: Path) -> io.TextIOBase:
    """Open a plain or gzipped text file (gzip recognised by its magic bytes, not its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def element_of(label: str, potcar_title: str | None, path: Path, where: str) -> str:
    """Element of an atom from VASP's species label, else from its POTCAR title.

    vasprun.xml writes the species label VASP read from POSCAR/POTCAR, cut to two characters;
    Xe appears as ``X`` (ASE's dummy atom). Where the label is not an element, the POTCAR
    title (``PAW_PBE Xe 07Sep2000``, ``Zr_sv``) names it; where neither does, the file is
    refused with a :class:`ParseError` naming it.
    """
    label = label.strip()
    if label in _ELEMENTS:
        return label
    if potcar_title:
        tokens = potcar_title.split()
        token = tokens[1] if len(tokens) > 1 and tokens[0].upper().startswith(("PAW", "US")) else tokens[0]
        sym = re.split(r"[_.]", token)[0]
        if sym in _ELEMENTS:
            return sym
    raise ParseError(
        path,
        f"{where}: species label {label!r} is not an element"
        + (f" and neither is POTCAR {potcar_title.strip()!r}" if potcar_title else ""),
    )


def make_frame(step: Step, source: str, index: int, config_type: str) -> Atoms:
    """The training frame of one ionic step (labels as in the module docstring)."""
    atoms = Atoms(symbols=step.symbols, positions=step.positions, cell=step.cell, pbc=True)
    atoms.info[keys.REF_ENERGY] = float(step.energy)
    atoms.arrays[keys.REF_FORCES] = np.asarray(step.forces, dtype=float)
    if step.stress_kbar is not None:
        s = -KBAR_TO_EV_A3 * np.asarray(step.stress_kbar, dtype=float)
        atoms.info[keys.REF_STRESS] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    atoms.info[keys.CONFIG_TYPE] = config_type
    atoms.info[keys.SOURCE] = f"{source}:{index}"
    atoms.info[keys.SOURCE_STEP] = int(index)
    return atoms


def config_type_of(ibrion: int, nsw: int) -> str:
    """Class of a run from its INCAR: md, relax, static (else ``ibrion<N>``)."""
    if nsw <= 0 or ibrion == -1:
        return "static"
    if ibrion == 0:
        return "md"
    if ibrion in (1, 2, 3):
        return "relax"
    return f"ibrion{ibrion}"


def is_element(symbol: str) -> bool:
    """Whether ``symbol`` is a chemical element (ASE's dummy ``X`` is not)."""
    return symbol in _ELEMENTS and symbol in atomic_numbers
