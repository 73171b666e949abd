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

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import LizrclError, LizrclWarning, ParseError, SetupError, SkippedDataWarning
from lizrcl_tools.vasp.outcar import read_outcar
from lizrcl_tools.vasp.outputs import (
    KBAR_TO_EV_A3,
    NELM_DEFAULT,
    RunInfo,
    SourceReport,
    Step,
    config_type_of,
    make_frame,
    open_text,
)
from lizrcl_tools.vasp.vasprun import read_vasprun

__all__ = [
    "KBAR_TO_EV_A3", "NELM_DEFAULT", "CollectResult", "SourceReport", "collect",
    "find_vasp_outputs", "read_vasp_output",
]


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
    with open_text(path) as fh:
        head = fh.read(200)
    return "vasprun" if head.lstrip().startswith("<?xml") or "<modeling" in head else "outcar"


def _find_runs(paths: Iterable[str | os.PathLike]) -> list[tuple[Path, str, Path | None]]:
    """``(file, kind, companion OUTCAR or None)`` per run, in sorted order."""
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
    out: list[tuple[Path, str, Path | None]] = []
    for _, by_kind in sorted(runs.items(), key=lambda kv: str(kv[0])):
        if "vasprun" in by_kind:
            out.append((by_kind["vasprun"], "vasprun", by_kind.get("outcar")))
        else:
            out.append((by_kind["outcar"], "outcar", None))
    return out


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
        ``(path, kind)`` in sorted order; where one folder has both a vasprun.xml and an
        OUTCAR (same prefix), only the vasprun.xml (it carries NELM and per-step SCF counts
        unambiguously). :func:`collect` checks that the OUTCAR really is the same run.
    notes : list of str
        One line per OUTCAR set aside in favour of its vasprun.xml.
    """
    files, notes = [], []
    for path, kind, companion in _find_runs(paths):
        files.append((path, kind))
        if companion is not None:
            notes.append(f"{path} and {companion} share a folder: using the vasprun.xml, ignoring the OUTCAR")
    return files, notes


# --------------------------------------------------------------------------- API


def _check_elements(frames: Sequence[Atoms], elements: Sequence[str] | None, path: Path) -> None:
    if elements is None or not frames:
        return
    extra = sorted(set(frames[0].get_chemical_symbols()) - set(elements))
    if extra:
        raise ParseError(path, f"element(s) {extra} not in the allowed list {list(elements)}")


def _read_steps(path: Path, kind: str) -> tuple[list[Step], RunInfo]:
    """Steps of one file; unexpected content becomes a :class:`ParseError` naming the file."""
    reader = {"vasprun": read_vasprun, "outcar": read_outcar}.get(kind)
    if reader is None:
        raise SetupError(f"unknown VASP output kind {kind!r} for {path}")
    try:
        return reader(path)
    except LizrclError:
        raise
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        # A layout this reader does not know: name the file instead of a bare traceback.
        raise ParseError(path, f"unsupported: unexpected content ({type(exc).__name__}: {exc})") from exc


def same_run(vasprun: Path, outcar: Path, steps: Sequence[Step] | None = None) -> str | None:
    """None when ``outcar`` is the OUTCAR of the run in ``vasprun``, else what differs.

    An OUTCAR that cannot be read gives ``"unreadable: <reason>"`` (nothing to compare).

    Compared: number of ions, species in order, number of ionic steps, final free energy
    (1e-5 eV; both files print 8 decimals) and final Cartesian positions (1e-4 Å).
    """
    if steps is None:
        steps, _ = _read_steps(vasprun, "vasprun")
    try:
        other, _ = _read_steps(outcar, "outcar")
    except LizrclError as exc:
        return f"unreadable: {exc}"
    if not steps or not other:
        return None if len(steps) == len(other) else f"{len(steps)} vs {len(other)} ionic steps"
    a, b = steps[-1], other[-1]
    if len(a.symbols) != len(b.symbols):
        return f"{len(a.symbols)} vs {len(b.symbols)} ions"
    if a.symbols != b.symbols:
        return "different species or order"
    if len(steps) != len(other):
        return f"{len(steps)} vs {len(other)} ionic steps"
    if abs(a.energy - b.energy) > 1e-5:
        return f"final energy {a.energy:.8f} vs {b.energy:.8f} eV"
    if np.abs(a.positions - b.positions).max() > 1e-4:
        return "final positions differ by more than 1e-4 Å"
    return None


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
        Corrupt, truncated, damaged or unsupported file (the message names the file, and the
        line if known; unsupported layouts start with ``unsupported:``).
    """
    frames, report, _ = _read_one(Path(path), kind, last_only, config_type)
    return frames, report


def _read_one(
    path: Path, kind: str | None, last_only: bool, config_type: str | None
) -> tuple[list[Atoms], SourceReport, list[Step]]:
    if kind is None:
        guessed = _kind_of(path)
        kind = guessed[0] if guessed else _sniff_kind(path)
    steps, info = _read_steps(path, kind)
    ctype = config_type or config_type_of(info.ibrion, info.nsw)
    indices = range(len(steps))
    if last_only and steps:
        indices = range(len(steps) - 1, len(steps))
    frames, n_bad, n_ml = [], 0, 0
    for i in indices:
        if info.ml_lmlff and steps[i].n_scf == 0:
            n_ml += 1  # predicted by the on-the-fly force field: no DFT labels
            continue
        if steps[i].n_scf >= info.nelm:
            n_bad += 1
            continue
        frames.append(make_frame(steps[i], str(path), i, ctype))
    notes = list(info.notes or [])
    if n_ml:
        notes.append(f"{n_ml} machine-learned force-field step(s) (ML_LMLFF, no SCF loop) skipped")
    report = SourceReport(str(path), kind, len(steps), len(frames), n_bad, info.nelm, "; ".join(notes), n_ml)
    return frames, report, steps


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
        (see :func:`find_vasp_outputs`). A run with both files is read from its vasprun.xml,
        after checking that the OUTCAR is the same run (:func:`same_run`); a foreign OUTCAR
        is an error for that OUTCAR (under ``skip_bad``, a bad-file entry; the vasprun.xml
        frames are kept).
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
    from lizrcl_tools.vasp.neb_folders import NEB_FORCES_NOTE, NEB_IMAGE_CONFIG_TYPE, neb_image_of

    result = CollectResult()
    bands: list[str] = []
    for path, kind, companion in _find_runs(paths):
        image = neb_image_of(path)
        try:
            frames, report, steps = _read_one(path, kind, last_only,
                                              config_type or (NEB_IMAGE_CONFIG_TYPE if image is not None else None))
            _check_elements(frames, elements, path)
        except LizrclError as exc:
            if not skip_bad:
                raise
            result.bad_files.append((str(path), str(exc)))
            continue
        if image is not None:
            for frame in frames:
                frame.info["neb_image"] = image
            band = str(path.resolve().parent.parent)
            if band not in bands:
                bands.append(band)
                result.notes.append(f"{band}: NEB band; frames of every ionic step of its moving images "
                                    f"(config_type {config_type or NEB_IMAGE_CONFIG_TYPE}, info neb_image = "
                                    "image number); VASP computes nothing for the endpoints")
        result.frames.extend(frames)
        result.sources.append(report)
        result.n_skipped_unconverged += report.n_skipped_unconverged
        if companion is None:
            continue
        difference = same_run(path, companion, steps)
        if difference is None:
            result.notes.append(f"{path} and {companion} are the same run (checked): OUTCAR not read again")
            continue
        if difference.startswith("unreadable: "):
            result.notes.append(
                f"{companion} could not be compared with {path} ({difference[12:]}); frames from the vasprun.xml"
            )
            continue
        message = (
            f"{companion} is not the OUTCAR of {path} ({difference}); frames were taken from the "
            "vasprun.xml only; move the foreign OUTCAR away or give it a prefix (X.OUTCAR)"
        )
        if not skip_bad:
            raise ParseError(companion, message)
        result.bad_files.append((str(companion), message))
    if bands:
        result.notes.append(NEB_FORCES_NOTE)
        warnings.warn(f"{len(bands)} NEB band(s) collected; {NEB_FORCES_NOTE}", LizrclWarning, stacklevel=2)
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
