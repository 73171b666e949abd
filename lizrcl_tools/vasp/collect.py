"""VASP results in, MACE training frames out: ``lizrcl vasp collect``.

Every ionic step of a vasprun.xml or OUTCAR (plain or gzipped) becomes one ASE ``Atoms`` frame
carrying only reference labels, under the names in :mod:`lizrcl_tools.keys`:

``REF_energy`` (``atoms.info``), eV
    The **free energy** of the ionic step, VASP's ``TOTEN`` (vasprun ``e_fr_energy``). It is
    the energy whose derivatives are the printed forces and stress ("force consistent"), so it
    is the one to fit together with forces; ``energy(sigma->0)`` is not. This matches what
    ``ase.io.read`` gives for a vasprun.xml.
``REF_forces`` (``atoms.arrays``), eV/Å, shape (N, 3)
``REF_stress`` (``atoms.info``), eV/Å³, Voigt xx yy zz yz xz xy, ASE sign
    VASP prints −σ in kB (positive = compressed); stored is −0.1 GPa × value in eV/Å³, as
    ``ase.io.read`` gives it and as mace expects. Absent when VASP computed no stress.
``config_type``, ``source`` ("file:step"), ``source_step`` (0-based ionic step)

No ``SinglePointCalculator`` is attached, so the labels are not duplicated as ``energy``/
``forces`` in the written extxyz; mace reads ``REF_*`` by default.

Unconverged SCF: an ionic step whose electronic loop reached NELM iterations is not a
self-consistent solution; it is skipped, counted in :attr:`CollectResult.n_skipped_unconverged`
and announced with a :class:`~lizrcl_tools.errors.SkippedDataWarning`.

Example
-------
>>> result = collect(["runs/"], last_only=False)          # doctest: +SKIP
>>> write_atoms_atomic("train.extxyz", result.frames)     # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import io
import os
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import LizrclError, ParseError, SetupError, SkippedDataWarning

KBAR_TO_EV_A3 = 0.1 * GPa
"""1 kB = 0.1 GPa, expressed in eV/Å³ (from ase.units)."""

NELM_DEFAULT = 60
"""VASP's default NELM, used when a file does not state it."""


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
        Considered steps skipped because their SCF loop reached NELM.
    nelm : int
        NELM used for the convergence test.
    note : str
        Anything else worth knowing (e.g. the run stopped inside an SCF loop).
    """

    path: str
    kind: str
    n_steps: int
    n_frames: int
    n_skipped_unconverged: int
    nelm: int
    note: str = ""


@dataclass
class CollectResult:
    """Frames collected from VASP outputs, with an account of everything left out.

    Attributes
    ----------
    frames : list of ase.Atoms
        One frame per kept ionic step, labels as described in the module docstring.
    n_skipped_unconverged : int
        Ionic steps skipped because the SCF loop reached NELM (all files together).
    sources : list of SourceReport
        One entry per file read, in reading order.
    bad_files : list of (str, str)
        ``(path, error message)`` of files skipped with ``skip_bad=True``.
    notes : list of str
        Choices made while discovering files (e.g. vasprun.xml used, OUTCAR ignored).
    """

    frames: list[Atoms] = field(default_factory=list)
    n_skipped_unconverged: int = 0
    sources: list[SourceReport] = field(default_factory=list)
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable multi-line account of the collection."""
        lines = [
            f"{len(self.frames)} frames from {len(self.sources)} file(s); "
            f"{self.n_skipped_unconverged} ionic step(s) skipped as SCF-unconverged (NELM reached); "
            f"{len(self.bad_files)} unreadable file(s) skipped"
        ]
        for src in self.sources:
            line = (
                f"  {src.path} [{src.kind}]: {src.n_steps} steps, {src.n_frames} frames, "
                f"{src.n_skipped_unconverged} unconverged (NELM={src.nelm})"
            )
            lines.append(line + (f"; {src.note}" if src.note else ""))
        lines += [f"  skipped bad file {p}: {msg}" for p, msg in self.bad_files]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- discovery


def _kind_of(path: Path) -> tuple[str, str] | None:
    """(kind, run prefix) from a file name, or None if it is not a VASP output we read.

    The prefix pairs ``X.vasprun.xml`` with ``X.OUTCAR`` (and ``vasprun.xml`` with ``OUTCAR``)
    in one folder, so one run is never collected twice.
    """
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    if name == "vasprun.xml" or name.endswith(".vasprun.xml"):
        return "vasprun", name[: -len("vasprun.xml")]
    if name == "OUTCAR" or name.endswith(".OUTCAR"):
        return "outcar", name[: -len("OUTCAR")]
    return None


def _sniff_kind(path: Path) -> str:
    """Kind of an explicitly named file whose name says nothing: XML or not."""
    with _open_text(path) as fh:
        head = fh.read(200)
    return "vasprun" if head.lstrip().startswith("<?xml") or "<modeling" in head else "outcar"


def find_vasp_outputs(paths: Iterable[str | os.PathLike]) -> tuple[list[tuple[Path, str]], list[str]]:
    """List the VASP output files under ``paths``, one per run.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files (any name; the kind is sniffed if the name does not say) or folders, searched
        recursively for ``vasprun.xml[.gz]``, ``*.vasprun.xml[.gz]``, ``OUTCAR[.gz]`` and
        ``*.OUTCAR[.gz]``.

    Returns
    -------
    files : list of (Path, str)
        ``(path, kind)`` in sorted order; where one run has both a vasprun.xml and an OUTCAR,
        only the vasprun.xml (it carries NELM and per-step SCF counts unambiguously).
    notes : list of str
        One line per OUTCAR left out in favour of its vasprun.xml.
    """
    runs: dict[tuple[Path, str], dict[str, Path]] = {}
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise SetupError(f"{p}: no such file or folder")
        if p.is_dir():
            candidates = [(f, _kind_of(f)) for f in sorted(p.rglob("*")) if f.is_file()]
            found = [(f, k) for f, k in candidates if k is not None]
            if not found:
                raise SetupError(f"{p}: no vasprun.xml[.gz] or OUTCAR[.gz] found in this folder tree")
        else:
            k = _kind_of(p)
            found = [(p, k if k is not None else (_sniff_kind(p), p.name))]
        for f, (kind, prefix) in found:
            runs.setdefault((f.parent.resolve(), prefix), {}).setdefault(kind, f)
    files: list[tuple[Path, str]] = []
    notes: list[str] = []
    for _, by_kind in sorted(runs.items(), key=lambda kv: str(kv[0])):
        if "vasprun" in by_kind:
            files.append((by_kind["vasprun"], "vasprun"))
            if "outcar" in by_kind:
                notes.append(
                    f"{by_kind['vasprun']} and {by_kind['outcar']} are the same run: "
                    "using the vasprun.xml, ignoring the OUTCAR"
                )
        else:
            files.append((by_kind["outcar"], "outcar"))
    return files, notes


def _open_text(path: Path) -> io.TextIOBase:
    """Open a plain or gzipped text file (gzip recognised by its magic bytes, not its name)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


# --------------------------------------------------------------------------- frames


@dataclass
class _Step:
    """One ionic step as read, before the convergence decision."""

    symbols: list[str]
    cell: np.ndarray
    positions: np.ndarray  # Cartesian, Å
    forces: np.ndarray
    energy: float
    stress_kbar: np.ndarray | None  # 3x3, VASP sign
    n_scf: int


def _frame(step: _Step, source: str, index: int, config_type: str) -> Atoms:
    atoms = Atoms(symbols=step.symbols, positions=step.positions, cell=step.cell, pbc=True)
    atoms.info[keys.REF_ENERGY] = float(step.energy)
    atoms.arrays[keys.REF_FORCES] = np.asarray(step.forces, dtype=float)
    if step.stress_kbar is not None:
        s = -KBAR_TO_EV_A3 * np.asarray(step.stress_kbar, dtype=float)
        atoms.info[keys.REF_STRESS] = np.array(
            [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]
        )
    atoms.info[keys.CONFIG_TYPE] = config_type
    atoms.info[keys.SOURCE] = f"{source}:{index}"
    atoms.info[keys.SOURCE_STEP] = int(index)
    return atoms


def _config_type(ibrion: int, nsw: int) -> str:
    """Class of a run from its INCAR: md, relax, static (else ``ibrion<N>``)."""
    if nsw <= 0 or ibrion == -1:
        return "static"
    if ibrion == 0:
        return "md"
    if ibrion in (1, 2, 3):
        return "relax"
    return f"ibrion{ibrion}"


# --------------------------------------------------------------------------- vasprun.xml


def _varray(elem: ET.Element | None, path: Path, what: str) -> np.ndarray:
    if elem is None:
        raise ParseError(path, f"missing <varray name=\"{what}\">")
    try:
        return np.array([[float(x) for x in v.text.split()] for v in elem.findall("v")])
    except (ValueError, AttributeError) as exc:
        raise ParseError(path, f"bad number in <varray name=\"{what}\">: {exc}") from exc


def _read_vasprun(path: Path) -> tuple[list[_Step], int, int, int]:
    """All ionic steps of a vasprun.xml; returns (steps, NELM, IBRION, NSW)."""
    symbols: list[str] = []
    params: dict[str, int] = {}
    steps: list[_Step] = []
    try:
        with _open_text(path) as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                if elem.tag == "atominfo":
                    arr = next(a for a in elem.iter("array") if a.get("name") == "atoms")
                    symbols = [rc.find("c").text.strip() for rc in arr.iter("rc")]
                elif elem.tag == "parameters":
                    for i in elem.iter("i"):
                        if i.get("name") in ("NELM", "IBRION", "NSW"):
                            params[i.get("name")] = int(i.text.split()[0])
                elif elem.tag == "calculation":
                    steps.append(_vasprun_step(elem, symbols, path, len(steps)))
                    elem.clear()  # a 264-step AIMD file would otherwise stay in memory
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ParseError(path, f"corrupt or truncated XML ({exc})", line) from exc
    except (EOFError, OSError, StopIteration) as exc:
        raise ParseError(path, f"cannot read as vasprun.xml ({type(exc).__name__}: {exc})") from exc
    if not symbols:
        raise ParseError(path, "no <atominfo> atom list: not a vasprun.xml?")
    return steps, params.get("NELM", NELM_DEFAULT), params.get("IBRION", -1), params.get("NSW", 0)


def _vasprun_step(calc: ET.Element, symbols: list[str], path: Path, index: int) -> _Step:
    where = f"ionic step {index}"
    structure = calc.find("structure")
    if structure is None or not symbols:
        raise ParseError(path, f"{where}: no <structure> (or no atom list before it)")
    cell = _varray(structure.find("crystal/varray[@name='basis']"), path, "basis")
    frac = _varray(structure.find("varray[@name='positions']"), path, "positions")
    forces = _varray(calc.find("varray[@name='forces']"), path, "forces")
    stress_el = calc.find("varray[@name='stress']")
    stress = _varray(stress_el, path, "stress") if stress_el is not None else None
    energy_el = calc.find("energy/i[@name='e_fr_energy']")
    if energy_el is None:
        raise ParseError(path, f"{where}: no e_fr_energy (free energy)")
    if len(frac) != len(symbols) or forces.shape != (len(symbols), 3):
        raise ParseError(
            path, f"{where}: {len(frac)} positions / {len(forces)} forces for {len(symbols)} atoms"
        )
    return _Step(
        symbols=symbols,
        cell=cell,
        positions=frac @ cell,
        forces=forces,
        energy=float(energy_el.text),
        stress_kbar=stress,
        n_scf=len(calc.findall("scstep")),
    )


# --------------------------------------------------------------------------- OUTCAR

_ITER_RE = re.compile(r"-+\s*Iteration\s+\d+\s*\(\s*(\d+)\)")
_INT_RE = {
    name: re.compile(rf"\b{name}\s*=\s*(-?\d+)") for name in ("NELM", "IBRION", "NSW")
}


def _outcar_symbol(token: str, path: Path, lineno: int) -> str:
    """Element of a POTCAR label such as ``Li_sv``, ``Zr_sv_GW`` or ``H.75``."""
    sym = re.split(r"[_.]", token)[0]
    if sym not in atomic_numbers:
        raise ParseError(path, f"POTCAR label {token!r} is not an element", lineno)
    return sym


def _read_outcar(path: Path) -> tuple[list[_Step], int, int, int, str]:
    """All complete ionic steps of an OUTCAR; returns (steps, NELM, IBRION, NSW, note)."""
    potcars: list[str] = []
    counts: list[int] = []
    params: dict[str, int] = {}
    steps: list[_Step] = []
    cell = stress = forces = positions = None
    n_scf = 0
    lineno = 0
    try:
        with _open_text(path) as fh:
            lines = iter(fh)
            for line in lines:
                lineno += 1
                if line.startswith(" POTCAR:"):
                    potcars.append(_outcar_symbol(line.split()[2], path, lineno))
                elif "ions per type =" in line:
                    counts = [int(x) for x in line.split("=")[1].split()]
                elif "Iteration" in line and (m := _ITER_RE.search(line)):
                    n_scf = int(m.group(1))
                elif " in kB " in line:
                    stress = _outcar_stress(line, path, lineno)
                elif "direct lattice vectors" in line:
                    rows = [next(lines) for _ in range(3)]
                    lineno += 3
                    cell = np.array([[float(x) for x in r.split()[:3]] for r in rows])
                elif line.startswith(" POSITION") and "TOTAL-FORCE" in line:
                    n = sum(counts)
                    next(lines)
                    block = []
                    for _ in range(n):
                        lineno += 1
                        block.append([float(x) for x in next(lines).split()[:6]])
                    lineno += 1
                    data = np.array(block).reshape(n, 6)
                    positions, forces = data[:, :3], data[:, 3:]
                elif line.lstrip().startswith("free  energy   TOTEN"):
                    if forces is None or cell is None:
                        raise ParseError(path, "final energy before any forces/lattice", lineno)
                    symbols = _outcar_symbols(potcars, counts, path)
                    energy = float(line.split("=")[1].split()[0])
                    steps.append(_Step(symbols, cell, positions, forces, energy, stress, n_scf))
                    stress = forces = positions = None
                    n_scf = 0
                elif not params.keys() >= _INT_RE.keys():
                    for name, rx in _INT_RE.items():
                        if name not in params and (m := rx.search(line)):
                            params[name] = int(m.group(1))
    except StopIteration as exc:
        raise ParseError(path, "file ends inside a lattice or force block (truncated)", lineno) from exc
    except ValueError as exc:
        raise ParseError(path, f"bad number ({exc})", lineno) from exc
    except (EOFError, OSError) as exc:
        raise ParseError(path, f"cannot read ({type(exc).__name__}: {exc})", lineno) from exc
    if not counts:
        raise ParseError(path, "no 'ions per type' line: not an OUTCAR?")
    note = ""
    if forces is not None:
        raise ParseError(path, "file ends after the forces of an ionic step but before its energy")
    if n_scf:
        note = f"run stopped inside the SCF loop of step {len(steps)} (no forces; not a frame)"
    return steps, params.get("NELM", NELM_DEFAULT), params.get("IBRION", -1), params.get("NSW", 0), note


def _outcar_stress(line: str, path: Path, lineno: int) -> np.ndarray:
    """3x3 stress (kB, VASP sign) from an ``in kB  XX YY ZZ XY YZ ZX`` line."""
    try:
        xx, yy, zz, xy, yz, zx = (float(x) for x in line.split()[2:8])
    except ValueError as exc:
        raise ParseError(path, f"bad 'in kB' stress line ({exc})", lineno) from exc
    return np.array([[xx, xy, zx], [xy, yy, yz], [zx, yz, zz]])


def _outcar_symbols(potcars: list[str], counts: list[int], path: Path) -> list[str]:
    # OUTCAR lists each POTCAR: line twice (header and summary): the first len(counts) count.
    if len(potcars) < len(counts):
        raise ParseError(path, f"{len(potcars)} POTCAR lines for {len(counts)} species")
    return [s for s, n in zip(potcars[: len(counts)], counts) for _ in range(n)]


# --------------------------------------------------------------------------- API


def _check_elements(frames: Sequence[Atoms], elements: Sequence[str] | None, path: Path) -> None:
    if elements is None or not frames:
        return
    extra = sorted(set(frames[0].get_chemical_symbols()) - set(elements))
    if extra:
        raise ParseError(path, f"element(s) {extra} not in the allowed list {list(elements)}")


def read_vasp_output(
    path: str | os.PathLike,
    kind: str | None = None,
    last_only: bool = False,
    config_type: str | None = None,
) -> tuple[list[Atoms], SourceReport]:
    """Read one vasprun.xml or OUTCAR (plain or gzipped) into training frames.

    Parameters
    ----------
    path : str or PathLike
        The file.
    kind : {"vasprun", "outcar"}, optional
        Format; guessed from the name, else from the content.
    last_only : bool
        Keep only the last ionic step (skipped and counted if its SCF is unconverged; an
        earlier step is not substituted).
    config_type : str, optional
        Value for ``config_type``; default from IBRION/NSW: ``md``, ``relax`` or ``static``.

    Returns
    -------
    frames : list of ase.Atoms
    report : SourceReport

    Raises
    ------
    ParseError
        Corrupt, truncated or incomplete file (message names the file, and line if known).
    """
    path = Path(path)
    if kind is None:
        guessed = _kind_of(path)
        kind = guessed[0] if guessed else _sniff_kind(path)
    note = ""
    if kind == "vasprun":
        steps, nelm, ibrion, nsw = _read_vasprun(path)
    elif kind == "outcar":
        steps, nelm, ibrion, nsw, note = _read_outcar(path)
    else:
        raise SetupError(f"unknown VASP output kind {kind!r} for {path}")
    ctype = config_type or _config_type(ibrion, nsw)
    indices = range(len(steps))
    if last_only and steps:
        indices = range(len(steps) - 1, len(steps))
    frames = []
    n_bad = 0
    for i in indices:
        if steps[i].n_scf >= nelm:
            n_bad += 1
            continue
        frames.append(_frame(steps[i], str(path), i, ctype))
    report = SourceReport(str(path), kind, len(steps), len(frames), n_bad, nelm, note)
    return frames, report


def collect(
    paths: Iterable[str | os.PathLike],
    last_only: bool = False,
    skip_bad: bool = False,
    config_type: str | None = None,
    elements: Sequence[str] | None = None,
) -> CollectResult:
    """Collect training frames from VASP outputs (files or folder trees).

    Parameters
    ----------
    paths : iterable of str or PathLike
        vasprun.xml / OUTCAR files (plain or .gz) or folders searched recursively
        (see :func:`find_vasp_outputs`; a run with both files is read from its vasprun.xml).
    last_only : bool
        One frame per file: its last ionic step.
    skip_bad : bool
        If False (default) the first unreadable file raises :class:`ParseError` naming it; if
        True it is skipped, listed in :attr:`CollectResult.bad_files` and warned about. A bad
        file contributes no frames at all (never the steps before a corruption).
    config_type : str, optional
        Override the per-run ``config_type`` (default from IBRION/NSW).
    elements : sequence of str, optional
        Allowed element symbols; a file with any other element is a :class:`ParseError`.

    Returns
    -------
    CollectResult
        Frames in file order then ionic-step order, with per-file reports and counts.

    Warns
    -----
    SkippedDataWarning
        When SCF-unconverged steps or bad files were skipped (the counts are in the message).
    """
    files, notes = find_vasp_outputs(paths)
    result = CollectResult(notes=notes)
    for path, kind in files:
        try:
            frames, report = read_vasp_output(path, kind, last_only, config_type)
            _check_elements(frames, elements, path)
        except LizrclError as exc:
            if not skip_bad:
                raise
            result.bad_files.append((str(path), str(exc)))
            continue
        result.frames.extend(frames)
        result.sources.append(report)
        result.n_skipped_unconverged += report.n_skipped_unconverged
    if result.n_skipped_unconverged:
        warnings.warn(
            f"skipped {result.n_skipped_unconverged} SCF-unconverged ionic step(s) "
            "(electronic loop reached NELM)",
            SkippedDataWarning,
            stacklevel=2,
        )
    if result.bad_files:
        warnings.warn(
            f"skipped {len(result.bad_files)} unreadable file(s): "
            + "; ".join(p for p, _ in result.bad_files),
            SkippedDataWarning,
            stacklevel=2,
        )
    return result
