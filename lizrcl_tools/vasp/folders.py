"""Write one VASP run folder per structure frame, from a preset (see :mod:`lizrcl_tools.vasp.presets`).

Each folder ``<stem>_<frame:05d>`` (``stem`` = input file name without extension, frame =
0-based index in that file) holds INCAR, KPOINTS, POSCAR, NOTES.txt and either POTCAR (when
pymatgen's ``PMG_VASP_PSP_DIR`` points at PAW files) or POTCAR.spec (one POTCAR title per line,
the file pymatgen's ``write_input(potcar_spec=True)`` writes). ``manifest.json`` and
``manifest.csv`` in the output folder list every folder with its source file, frame, formula
and atom count.

Speed: INCAR, KPOINTS, NOTES.txt and each distinct POTCAR are built once per call, so the
per-frame cost is reading the frame, the POSCAR text and the folder write. POSCAR is written
with ASE's ``write_vasp``, which is linear in the atom count; pymatgen's ``Poscar.get_str``
re-derives site properties once per site (quadratic: 0.5 s for one 864-atom frame here,
against 25 ms for ASE).

Atomicity: a folder is written into a hidden temporary folder beside it and renamed into
place, so a folder that exists is complete. Existing folders are refused (default), replaced
(``existing="overwrite"``) or kept when their files are identical to what would be written
(``existing="skip"``, which makes an interrupted run restartable; a folder that differs is an
error rather than silently stale).

What the writer changes in a structure, it reports (:attr:`WriteReport.structure_changes`,
per-folder flags in the manifest): atoms are stably sorted into Li, Zr, Cl order (other
elements after, in order of appearance) so each element appears once in POSCAR and POTCAR;
a left-handed cell has its first two vectors swapped (VASP needs a positive triple product;
Cartesian positions are unchanged); velocities are not written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lizrcl_tools.errors import PresetError, SetupError
from lizrcl_tools.fileio import read_frames, write_json_atomic, write_text_atomic
from lizrcl_tools.keys import ELEMENTS
from lizrcl_tools.vasp.presets import (
    IncarChange,
    Preset,
    check_incar_value,
    known_incar_tags,
    load_preset,
    merge_incar,
    render_incar,
    render_kpoints,
)

MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"
NOTES_FILE = "NOTES.txt"
_CSV_FIELDS = ("folder", "source", "frame", "formula", "natoms", "status", "reordered", "cell_swapped")
_MEMORY_STEM = "structure"

Existing = Literal["error", "overwrite", "skip"]


@dataclass(frozen=True)
class FolderEntry:
    """One run folder in the manifest.

    Attributes
    ----------
    folder : str
        Folder name inside the output folder.
    source : str
        Input file (or ``<memory>`` for Atoms passed directly).
    frame : int
        0-based frame index in ``source``.
    formula : str
        Formula in POSCAR order (``Li12Zr6Cl36``).
    natoms : int
    status : str
        ``written`` or ``skipped`` (identical folder already there).
    reordered : bool
        Atoms were sorted by element; POSCAR atom k is source atom ``order[k]`` of a stable
        sort by element rank (Li, Zr, Cl, then others by first appearance).
    cell_swapped : bool
        Cell vectors a and b were swapped to make the cell right-handed.
    """

    folder: str
    source: str
    frame: int
    formula: str
    natoms: int
    status: str
    reordered: bool = False
    cell_swapped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON/CSV-ready form."""
        return {k: getattr(self, k) for k in _CSV_FIELDS}


@dataclass
class WriteReport:
    """What :func:`write_vasp_inputs` wrote.

    Attributes
    ----------
    outdir : Path
    preset : str
    preset_path : Path
    incar : dict
        The INCAR written to every folder (preset + overrides).
    applied_changes : list of IncarChange
        Every INCAR tag added, changed or removed relative to the preset, with its source.
    structure_changes : list of str
        Counted, human-readable changes made to structures (sorting, cell handedness, velocities).
    folders : list of FolderEntry
        One per frame, in input order.
    potcar_file : str
        ``POTCAR`` or ``POTCAR.spec``.
    notices : list of str
        Things the user must act on (e.g. no PAW files configured), each said once.
    manifest_json, manifest_csv : Path
    seconds : float
        Wall time of the call, s.
    """

    outdir: Path
    preset: str
    preset_path: Path
    incar: dict[str, Any]
    applied_changes: list[IncarChange]
    structure_changes: list[str]
    folders: list[FolderEntry]
    potcar_file: str
    notices: list[str] = field(default_factory=list)
    manifest_json: Path | None = None
    manifest_csv: Path | None = None
    seconds: float = 0.0

    @property
    def n_written(self) -> int:
        """Folders written by this call."""
        return sum(e.status == "written" for e in self.folders)

    @property
    def n_skipped(self) -> int:
        """Folders left as they were (identical content already present)."""
        return sum(e.status == "skipped" for e in self.folders)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (this is the content of ``manifest.json``)."""
        return {
            "preset": self.preset,
            "preset_path": str(self.preset_path),
            "incar": self.incar,
            "applied_changes": [c.to_dict() for c in self.applied_changes],
            "structure_changes": self.structure_changes,
            "potcar_file": self.potcar_file,
            "notices": self.notices,
            "seconds": round(self.seconds, 3),
            "n_folders": len(self.folders),
            "folders": [e.to_dict() for e in self.folders],
        }


# --------------------------------------------------------------------------- inputs


def _stem(path: Path) -> str:
    # Folder names must survive shells and job schedulers: keep only portable characters.
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.stem if path.suffix else path.name) or "structure"


def _sources(structures: Any) -> list[tuple[str, str, Any]]:
    """Normalise inputs to ``(stem, source label, path or list of Atoms)``, checking names."""
    from ase import Atoms

    if isinstance(structures, (str, PathLike, Atoms)):
        structures = [structures]
    sources: list[tuple[str, str, Any]] = []
    in_memory: list[Atoms] = []
    for item in structures:
        if isinstance(item, Atoms):
            in_memory.append(item)
        elif isinstance(item, (str, PathLike)):
            path = Path(item)
            if not path.is_file():
                raise SetupError(f"structure file {path} does not exist")
            sources.append((_stem(path), str(path), path))
        else:
            raise SetupError(f"expected structure files or ase.Atoms, got {type(item).__name__}")
    if in_memory:
        sources.append((_MEMORY_STEM, "<memory>", in_memory))
    seen: dict[str, str] = {}
    for stem, label, _ in sources:
        if stem in seen:
            raise SetupError(
                f"{seen[stem]} and {label} would both write folders {stem}_NNNNN; rename one"
            )
        seen[stem] = label
    return sources


def _frames(label: str, payload: Any, fmt: str | None) -> Iterator[Any]:
    """Frames of one source, read lazily so thousands of frames never sit in memory at once."""
    if isinstance(payload, list):
        yield from payload
        return
    yield from read_frames(payload, format=fmt)


# --------------------------------------------------------------------------- per frame


def _element_rank(symbols: Sequence[str]) -> np.ndarray:
    extra: dict[str, int] = {}
    ranks = []
    for sym in symbols:
        if sym in ELEMENTS:
            ranks.append(ELEMENTS.index(sym))
        else:
            ranks.append(extra.setdefault(sym, len(ELEMENTS) + len(extra)))
    return np.asarray(ranks)


def prepare_atoms(atoms: Any, where: str) -> tuple[Any, bool, bool, bool]:
    """Return a copy of ``atoms`` ready for POSCAR, and what was changed.

    Returns
    -------
    atoms : ase.Atoms
        Stably sorted by element rank (Li, Zr, Cl, others by first appearance), right-handed
        cell, no momenta.
    reordered, cell_swapped, dropped_velocities : bool
    """
    if atoms.cell.rank < 3:
        raise SetupError(f"{where}: no 3-D cell (VASP needs a periodic cell)")
    ranks = _element_rank(atoms.get_chemical_symbols())
    reordered = bool(np.any(np.diff(ranks) < 0))
    out = atoms[np.argsort(ranks, kind="stable")] if reordered else atoms.copy()
    cell_swapped = bool(np.linalg.det(out.cell.array) < 0)
    if cell_swapped:
        # Swapping two vectors flips the handedness and keeps every Cartesian position; pymatgen
        # instead negates the lattice, which inverts the structure.
        out.set_cell(out.cell.array[[1, 0, 2]], scale_atoms=False)
    dropped = "momenta" in out.arrays
    if dropped:
        del out.arrays["momenta"]
    out.calc = None
    return out, reordered, cell_swapped, dropped


def poscar_text(atoms: Any, where: str) -> str:
    """POSCAR (VASP 5, direct coordinates, 16 decimals, selective dynamics from FixAtoms)."""
    from ase.io.vasp import write_vasp

    buffer = io.StringIO()
    try:
        write_vasp(buffer, atoms, direct=True, vasp5=True)
    except (RuntimeError, ValueError, NotImplementedError) as exc:
        raise SetupError(f"{where}: cannot write POSCAR: {exc}") from exc
    return buffer.getvalue()


def _check_overlap(atoms: Any, where: str, fraction: float) -> None:
    """Refuse atoms closer than ``fraction`` × (sum of covalent radii), naming the pair."""
    from lizrcl_tools.structures.checks import closest_pair_below

    hit = closest_pair_below(atoms, fraction)
    if hit is not None:
        i, j, d, limit = hit
        sym = atoms.get_chemical_symbols()
        raise SetupError(
            f"{where}: atoms {i} ({sym[i]}) and {j} ({sym[j]}) are {d:.3f} Å apart, below the "
            f"minimum {limit:.3f} Å ({fraction} × sum of covalent radii; atom indices in Li, Zr, "
            "Cl order); fix the structure or change --min-distance-fraction"
        )


def _runs(symbols: Sequence[str]) -> tuple[str, ...]:
    """Element blocks in POSCAR order (one per element after sorting)."""
    out: list[str] = []
    for sym in symbols:
        if not out or out[-1] != sym:
            out.append(sym)
    return tuple(out)


# --------------------------------------------------------------------------- folder I/O


def _same_files(folder: Path, files: Mapping[str, str]) -> str | None:
    """None when ``folder`` holds exactly ``files`` with that content, else what differs."""
    present = {p.name for p in folder.iterdir()}
    if present != set(files):
        return f"files {sorted(present)} instead of {sorted(files)}"
    for name, text in files.items():
        if (folder / name).read_text() != text:
            return f"{name} differs"
    return None


INPUT_FILES = frozenset({"INCAR", "KPOINTS", "POSCAR", "POTCAR", "POTCAR.spec", NOTES_FILE})
"""Names this writer writes; anything else in a run folder (OUTCAR, vasprun.xml, ...) is kept."""


def _refuse_outputs(target: Path) -> None:
    """Never replace a folder holding files the writer did not write (VASP outputs, logs)."""
    foreign = sorted(p.name for p in target.iterdir() if p.name not in INPUT_FILES)
    if foreign:
        shown = ", ".join(foreign[:4]) + (" ..." if len(foreign) > 4 else "")
        raise SetupError(
            f"{target} holds files vasp write did not write ({shown}): VASP outputs are never "
            "deleted or replaced; write the inputs into a new output folder (-o)"
        )


def _write_folder(target: Path, files: Mapping[str, str], existing: Existing) -> str:
    """Write ``files`` into ``target`` atomically (temp folder + rename); return the status.

    ``overwrite`` replaces only folders holding nothing but input files; a folder with any
    other file (a finished or running job's outputs) is refused, never deleted.
    """
    if target.exists():
        if existing == "skip":
            difference = _same_files(target, files)
            if difference is None:
                return "skipped"
            raise SetupError(
                f"{target} exists but is not what this preset/override/structure writes "
                f"({difference}); --overwrite replaces a folder that holds only inputs, a folder "
                "with VASP outputs never: write those into a new output folder (-o)"
            )
        if existing == "error":
            raise SetupError(f"{target} exists; use --overwrite or --skip-existing")
        _refuse_outputs(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; run folders are shared with the queue user
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return "written"


def _run_folders(outdir: Path, stems: Iterable[str]) -> list[str]:
    """Names of folders in ``outdir`` that this writer would name ``<stem>_NNNNN``."""
    if not outdir.is_dir():
        return []
    pattern = re.compile(rf"^(?:{'|'.join(re.escape(s) for s in stems)})_\d{{5,}}$")
    return sorted(p.name for p in outdir.iterdir() if p.is_dir() and pattern.match(p.name))


def _stale_folders(outdir: Path, stems: Iterable[str], written: set[str]) -> list[str]:
    return [name for name in _run_folders(outdir, stems) if name not in written]


def _refuse_existing(outdir: Path, stems: Iterable[str]) -> None:
    if not outdir.is_dir():
        return
    clashes = _run_folders(outdir, stems)
    if clashes or (outdir / MANIFEST_JSON).exists():
        shown = ", ".join(clashes[:3]) + (" ..." if len(clashes) > 3 else "")
        raise SetupError(
            f"{outdir} already holds run folders ({shown or MANIFEST_JSON}); pass --overwrite to "
            "replace them or --skip-existing to keep complete identical folders"
        )


# --------------------------------------------------------------------------- main entry


def _override_layers(incar_overrides: Any) -> list[tuple[str, Mapping[str, Any]]]:
    if incar_overrides is None:
        return []
    if isinstance(incar_overrides, Mapping):
        layers = [("incar_overrides", incar_overrides)]
    else:
        layers = [(str(src), dict(layer)) for src, layer in incar_overrides]
    known = known_incar_tags()
    for source, layer in layers:
        for tag, value in layer.items():
            tag = str(tag).strip().upper()
            if value is None:
                if tag not in known:
                    raise PresetError(source, tag, "unknown INCAR tag (VASP would ignore it silently)")
            else:
                check_incar_value(tag, value, known, source)
    return layers


def _notes_text(preset: Preset, changes: Sequence[IncarChange], potcar_file: str) -> str:
    lines = [f"Written by lizrcl vasp write from preset {preset.name} ({preset.path}).", ""]
    if preset.description:
        lines += [preset.description, ""]
    lines += [f"- {note}" for note in preset.notes]
    lines += ["", "INCAR differences from the preset:"]
    lines += [f"- {c}" for c in changes] or ["- none: INCAR is exactly the preset"]
    titles = " ".join(f"{el}={t}" for el, t in preset.potcar_symbols.items())
    lines += ["", f"POTCAR set {preset.potcar_functional}: {titles} ({potcar_file} in this folder)."]
    if potcar_file == "POTCAR.spec":
        lines.append("POTCAR.spec lists the titles in POSCAR order; concatenate those PAW files into POTCAR.")
    lines.append("Atoms are in Li, Zr, Cl order; see manifest.json for the source file and frame.")
    return "\n".join(lines) + "\n"


def _potcar_texts(preset: Preset, mode: str) -> tuple[str, Any, list[str]]:
    """Decide POTCAR vs POTCAR.spec; return the file name, a text builder and notices."""
    from pymatgen.core import SETTINGS

    psp_dir = SETTINGS.get("PMG_VASP_PSP_DIR")
    if mode == "potcar" and not psp_dir:
        raise SetupError("POTCAR requested but pymatgen's PMG_VASP_PSP_DIR is not set")
    if mode == "spec" or not psp_dir:
        notices = [] if mode == "spec" else [
            "PMG_VASP_PSP_DIR is not set (pymatgen cannot find PAW files): each folder has "
            f"POTCAR.spec (titles of the {preset.potcar_functional} set) instead of POTCAR. Set it "
            "in ~/.config/.pmgrc.yaml or the environment and write the folders again into a new "
            "output folder (-o) to get POTCARs."
        ]
        return "POTCAR.spec", lambda titles: "\n".join(titles) + "\n", notices

    def build(titles: Sequence[str]) -> str:
        from pymatgen.io.vasp.inputs import Potcar

        try:
            return str(Potcar(symbols=list(titles), functional=preset.potcar_functional))
        except (OSError, ValueError, RuntimeError) as exc:
            raise SetupError(
                f"cannot build POTCAR {list(titles)} ({preset.potcar_functional}) from "
                f"PMG_VASP_PSP_DIR={psp_dir}: {exc}"
            ) from exc

    return "POTCAR", build, []


def write_vasp_inputs(
    structures: Any,
    preset: str | PathLike | Preset,
    outdir: str | PathLike,
    incar_overrides: Mapping[str, Any] | Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    *,
    existing: Existing = "error",
    potcar: Literal["auto", "spec", "potcar"] = "auto",
    format: str | None = None,
    progress: bool = True,
    min_distance_fraction: float = 0.5,
) -> WriteReport:
    """Write one VASP run folder per structure frame.

    Parameters
    ----------
    structures : path, ase.Atoms, or a sequence of them
        Any file ASE reads (every frame is used: a multi-frame extxyz gives one folder per
        frame) or Atoms objects (named ``structure_NNNNN`` in the order given).
    preset : str, PathLike or Preset
        Preset name (``pbe-static``), a YAML file, or a loaded :class:`Preset`.
    outdir : str or PathLike
        Output folder; created if needed.
    incar_overrides : mapping or sequence of (source, mapping), optional
        Absolute INCAR values (``{"ENCUT": 520}``; ``None`` removes a tag). Several layers
        apply in order, later winning; the source names them in the report.
    existing : {"error", "overwrite", "skip"}
        What to do with run folders already present: refuse (before writing anything),
        replace, or keep those whose files are identical (others are an error).
    potcar : {"auto", "spec", "potcar"}
        ``auto`` writes POTCAR when ``PMG_VASP_PSP_DIR`` is set, else POTCAR.spec.
    format : str, optional
        ASE format name for the input files (default: guessed from each name).
    progress : bool
        Show a tqdm progress bar.
    min_distance_fraction : float
        Refuse a frame with two atoms closer than this fraction of the sum of their covalent
        radii (ASE's, Å): 0.5 by default (e.g. 1.15 Å for Li–Cl, 1.02 Å for Cl–Cl); 0 turns
        the check off. Overlapping atoms make VASP diverge or, worse, converge to nonsense.

    Returns
    -------
    WriteReport
        Also saved as ``manifest.json`` (and ``manifest.csv``) in ``outdir``.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    if existing not in ("error", "overwrite", "skip"):
        raise SetupError(f"existing must be 'error', 'overwrite' or 'skip', not {existing!r}")
    preset = preset if isinstance(preset, Preset) else load_preset(preset)
    incar, changes = merge_incar(preset, _override_layers(incar_overrides))
    incar_text = render_incar(incar)
    kpoints_text = render_kpoints(
        preset.kpoints_length, f"Fully automatic mesh, length {preset.kpoints_length} A (lizrcl {preset.name})"
    )
    potcar_file, potcar_builder, notices = _potcar_texts(preset, potcar)
    notes_text = _notes_text(preset, changes, potcar_file)
    sources = _sources(structures)
    outdir = Path(outdir)
    if existing == "error":
        _refuse_existing(outdir, [stem for stem, _, _ in sources])
    outdir.mkdir(parents=True, exist_ok=True)

    potcar_cache: dict[tuple[str, ...], str] = {}
    entries: list[FolderEntry] = []
    counts = {"reordered": 0, "cell_swapped": 0, "velocities": 0}
    bar = tqdm(desc=f"vasp write ({preset.name})", unit="folder", disable=not progress)
    try:
        for stem, label, payload in sources:
            for index, raw in enumerate(_frames(label, payload, format)):
                where = f"{label} frame {index}"
                atoms, reordered, swapped, dropped = prepare_atoms(raw, where)
                _check_overlap(atoms, where, min_distance_fraction)
                counts["reordered"] += reordered
                counts["cell_swapped"] += swapped
                counts["velocities"] += dropped
                symbols = atoms.get_chemical_symbols()
                blocks = _runs(symbols)
                if blocks not in potcar_cache:
                    missing = [el for el in blocks if el not in preset.potcar_symbols]
                    if missing:
                        raise PresetError(
                            preset.path, "potcar.symbols",
                            f"no POTCAR for {', '.join(missing)} (needed by {where}); add it to a copy of the preset",
                        )
                    potcar_cache[blocks] = potcar_builder([preset.potcar_symbols[el] for el in blocks])
                files = {
                    "INCAR": incar_text,
                    "KPOINTS": kpoints_text,
                    "POSCAR": poscar_text(atoms, where),
                    potcar_file: potcar_cache[blocks],
                    NOTES_FILE: notes_text,
                }
                name = f"{stem}_{index:05d}"
                status = _write_folder(outdir / name, files, existing)
                entries.append(FolderEntry(
                    folder=name, source=label, frame=index,
                    formula=atoms.get_chemical_formula(mode="reduce"), natoms=len(atoms),
                    status=status, reordered=reordered, cell_swapped=swapped,
                ))
                bar.update()
    finally:
        bar.close()

    structure_changes = []
    if counts["reordered"]:
        structure_changes.append(
            f"{counts['reordered']} frame(s) had atoms stably sorted into Li, Zr, Cl order "
            "(manifest column 'reordered')"
        )
    if counts["cell_swapped"]:
        structure_changes.append(
            f"{counts['cell_swapped']} frame(s) had a left-handed cell: vectors a and b swapped, "
            "positions unchanged (manifest column 'cell_swapped')"
        )
    if counts["velocities"]:
        structure_changes.append(f"{counts['velocities']} frame(s) carried velocities, not written to POSCAR")

    stale = _stale_folders(outdir, [stem for stem, _, _ in sources], {e.folder for e in entries})
    if stale:
        notices.append(
            f"{len(stale)} older run folder(s) in {outdir} are not part of this run and not in the "
            f"manifest (e.g. {stale[0]}); remove them if they are stale"
        )
    report = WriteReport(
        outdir=outdir, preset=preset.name, preset_path=preset.path, incar=dict(incar),
        applied_changes=changes, structure_changes=structure_changes, folders=entries,
        potcar_file=potcar_file, notices=notices,
    )
    report.seconds = time.perf_counter() - start
    report.manifest_json = write_json_atomic(outdir / MANIFEST_JSON, report.to_dict())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(e.to_dict() for e in entries)
    report.manifest_csv = write_text_atomic(outdir / MANIFEST_CSV, buffer.getvalue())
    return report
