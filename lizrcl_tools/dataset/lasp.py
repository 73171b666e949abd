"""The study's LASP training set (TrainStr.txt + TrainFor.txt) as MACE training frames.

The paper's 34,648 DFT structures of (LiCl)1−x(ZrCl4)x are published as a LASP archive
(``Trainfile_LiZrCl.tar.gz``) holding two text files read in parallel: structure *i* of
TrainStr.txt (energy, lattice, ``ele Z x y z charge`` lines) pairs with structure *i* of
TrainFor.txt (one ``stress`` line, ``force Z fx fy fz`` lines). :func:`read_lasp` streams both
files once, checks that they pair up (same number of structures, same Z atom by atom) and yields
one ``Atoms`` per structure with ``REF_energy`` (eV), ``REF_forces`` (eV/Å) and ``REF_stress``
(eV/Å³, ASE sign, Voigt xx yy zz yz xz xy), ``config_type`` and ``source`` = ``TrainStr.txt:i``.

The stress line: units, order and sign
--------------------------------------
LASP's own documentation of TrainFor.txt was not available; the convention is taken from public
code that *writes* these files from VASP results, and is the default here:

* ``vasp2lasptrain.py`` (the SSW-NN data workflow scripts, JamesBourbon, 2022) reads the OUTCAR
  ``in kB`` line (XX YY ZZ XY YZ ZX, VASP sign), multiplies it by −1, reorders it to
  **XX XY ZX YY YZ ZZ** (the upper triangle row by row) and divides by 1602.18 kB per eV/Å³,
  i.e. writes **eV/Å³ with ASE's sign** (tension positive) in LASP order;
* LASP 2.0's ``shiftformat.py`` (SD Huang, 2019) copies the allfor.arc stress line to
  TrainFor.txt unchanged, and GDPy's LASP reader labels allfor.arc stresses "eV/Ang^3".

Hence the defaults ``stress_unit="eV/A3"``, ``stress_order="lasp"`` (options: ``kbar``, ``GPa``,
``none``; ``voigt``). A converted stress above :data:`STRESS_SUSPICIOUS_EV_A3` (≈ 80 GPa) warns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import LizrclWarning, ParseError, SetupError
from lizrcl_tools.structures.checks import check_input_structure

STRESS_UNITS: dict[str, float | None] = {"eV/A3": 1.0, "kbar": 0.1 * GPa, "GPa": GPa, "none": None}
"""Factor from the file's stress unit to eV/Å³ (``none``: do not store stress)."""

STRESS_ORDERS: dict[str, tuple[tuple[int, int], ...]] = {
    "lasp": ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)),
    "voigt": ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)),
}
"""Tensor index of each of the six numbers on a ``stress`` line."""

STRESS_SUSPICIOUS_EV_A3 = 0.5
"""|stress| above this (eV/Å³, ≈ 80 GPa) suggests a wrong ``stress_unit``."""

MAX_METADATA_LINES = 50
"""Lines allowed between the atom-count line and the first ``lat`` line of a structure."""


class _Lines:
    """A text file read line by line, remembering the line number for error messages."""

    def __init__(self, fh, path: Path) -> None:
        self.fh, self.path, self.lineno, self.nbytes = fh, path, 0, 0

    def next(self, what: str) -> str:
        line = self.fh.readline()
        if not line:
            raise ParseError(self.path, f"file ends after this line, where {what} was expected", self.lineno)
        self.lineno += 1
        self.nbytes += len(line)
        return line

    def next_start(self) -> int | None:
        """Skip blank lines to the next ``Start one structure``; its line number, or None at EOF."""
        while line := self.fh.readline():
            self.lineno += 1
            self.nbytes += len(line)
            if line.strip():
                if not line.lstrip().startswith("Start one structure"):
                    raise self.error(f"expected 'Start one structure', found {line.strip()[:60]!r}")
                return self.lineno
        return None

    def error(self, message: str) -> ParseError:
        return ParseError(self.path, message, self.lineno)


def _floats(lines: _Lines, tokens: list[str], what: str) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError as exc:
        raise lines.error(f"bad number in {what}: {exc}") from exc
    if not all(np.isfinite(values)):
        # float() accepts "nan" and "inf"; a NaN label poisons every loss it enters.
        raise lines.error(f"non-finite number in {what} ({' '.join(tokens)}); expected finite numbers")
    return values


def _atomic_number(lines: _Lines, token: str, elements: Sequence[str] | None) -> int:
    try:
        z = int(token)
    except ValueError as exc:
        raise lines.error(f"atomic number {token!r} is not an integer") from exc
    if not 1 <= z < len(chemical_symbols):
        raise lines.error(f"atomic number {z} is not an element")
    if elements is not None and chemical_symbols[z] not in elements:
        raise lines.error(f"element {chemical_symbols[z]} (Z={z}) is not in the allowed list {list(elements)}")
    return z


def _read_structure(lines: _Lines, elements: Sequence[str] | None):
    """Next TrainStr.txt structure: (start line, energy eV, cell, Z, positions) or None at EOF."""
    start = lines.next_start()
    if start is None:
        return None
    tokens = lines.next("the energy line").split()
    if tokens[:1] in (["stress"], ["force"]):
        raise lines.error(
            f"found a '{tokens[0]}' line where TrainStr.txt has 'Energy is ... eV': this is a "
            "TrainFor.txt. Give TrainStr.txt first, then TrainFor.txt"
        )
    if len(tokens) < 2:
        raise lines.error("energy line has no '<energy> eV' at its end")
    (energy,) = _floats(lines, tokens[-2:-1], "the energy line (second-to-last token)")
    tokens = lines.next("the atom-count line").split()
    try:
        natoms = int(tokens[-1])
    except (ValueError, IndexError) as exc:
        raise lines.error("atom-count line does not end with an integer") from exc
    cell = []
    for _ in range(MAX_METADATA_LINES + 3):
        line = lines.next("a 'lat' line")
        head = line.split()[:1]
        if head == ["lat"]:
            cell.append(_floats(lines, line.split()[1:4], "a lattice vector"))
            if len(cell) == 3:
                break
        elif head in (["ele"], ["End"]) or cell:
            raise lines.error(f"expected 3 'lat' lines, found {line.strip()[:60]!r}")
    else:
        raise lines.error(f"no 'lat' lines within {MAX_METADATA_LINES} lines of the header")
    numbers = np.empty(natoms, dtype=int)
    positions = np.empty((natoms, 3))
    for i in range(natoms):
        tokens = lines.next(f"atom {i + 1} of {natoms}").split()
        if tokens[:1] != ["ele"] or len(tokens) < 5:
            raise lines.error(f"expected atom {i + 1} of {natoms} as 'ele Z x y z', found {' '.join(tokens)[:60]!r}")
        numbers[i] = _atomic_number(lines, tokens[1], elements)
        positions[i] = _floats(lines, tokens[2:5], "atom coordinates")
    end = lines.next("'End one structure'")
    if not end.lstrip().startswith("End one structure"):
        raise lines.error(f"structure has more than the {natoms} atoms its header states")
    return start, energy, np.array(cell), numbers, positions


def _read_forces(lines: _Lines, numbers: np.ndarray, ref: str):
    """Next TrainFor.txt block, checked atom by atom against ``numbers``: (stress6, forces)."""
    if lines.next_start() is None:
        raise lines.error(f"file ends after this line, but {ref} still has a structure: the files do not pair up")
    tokens = lines.next("the stress line").split()
    if tokens[:1] == ["Energy"]:
        raise lines.error(
            "found an 'Energy is ...' line where TrainFor.txt has 'stress ...': this is a "
            "TrainStr.txt. Give TrainStr.txt first, then TrainFor.txt"
        )
    if tokens[:1] != ["stress"] or len(tokens) < 7:
        raise lines.error("expected 'stress s1 s2 s3 s4 s5 s6'")
    stress = _floats(lines, tokens[1:7], "the stress line")
    n = len(numbers)
    forces = np.empty((n, 3))
    for i in range(n):
        tokens = lines.next(f"force {i + 1} of {n}").split()
        if tokens[:1] != ["force"]:
            raise lines.error(f"{i} force lines, but {ref} has {n} atoms: the files do not pair up")
        if len(tokens) < 5 or tokens[1] != str(numbers[i]):
            raise lines.error(
                f"atom {i + 1}: Z={tokens[1] if len(tokens) > 1 else '?'} here but Z={numbers[i]} in {ref}"
            )
        forces[i] = _floats(lines, tokens[2:5], "a force")
    end = lines.next("'End one structure'")
    if not end.lstrip().startswith("End one structure"):
        raise lines.error(f"more force lines than the {n} atoms of {ref}: the files do not pair up")
    return stress, forces


def _stress_voigt(six: list[float], factor: float, order: str) -> np.ndarray:
    full = np.zeros((3, 3))
    for value, (i, j) in zip(six, STRESS_ORDERS[order]):
        full[i, j] = full[j, i] = value * factor
    return np.array([full[0, 0], full[1, 1], full[2, 2], full[1, 2], full[0, 2], full[0, 1]])


def read_lasp(
    trainstr: str | os.PathLike,
    trainfor: str | os.PathLike,
    stress_unit: str = "eV/A3",
    stress_order: str = "lasp",
    elements: Sequence[str] | None = None,
    config_type: str = "lasp",
    progress: bool = False,
    source_name: str | None = None,
    min_distance: Any = None,
) -> Iterator[Atoms]:
    """Stream a LASP TrainStr.txt/TrainFor.txt pair as labelled frames.

    Parameters
    ----------
    trainstr, trainfor : str or PathLike
        The two files; read once, line by line, in parallel.
    stress_unit : {"eV/A3", "kbar", "GPa", "none"}
        Unit of the ``stress`` numbers (default eV/Å³, see the module docstring); ``none``
        stores no stress.
    stress_order : {"lasp", "voigt"}
        Component order on the ``stress`` line: ``lasp`` = xx xy xz yy yz zz (default),
        ``voigt`` = xx yy zz yz xz xy. Output is always Voigt.
    elements : sequence of str, optional
        Allowed element symbols; any other is a :class:`ParseError` at its line.
    config_type : str
        ``config_type`` of every frame.
    progress : bool
        Show a tqdm bar (bytes of TrainStr.txt read).
    source_name : str, optional
        Name used in ``source`` (default: the TrainStr.txt path).
    min_distance : float or mapping, optional
        Per-pair minimum interatomic distance, Å (default 0.5 × sum of covalent radii; 0: off);
        see :func:`lizrcl_tools.structures.checks.input_min_distances`.

    Yields
    ------
    ase.Atoms
        ``info``: REF_energy (eV), REF_stress (eV/Å³, ASE sign, Voigt), config_type,
        source ``"<source_name>:<i>"``, source_step ``i`` (0-based structure index);
        ``arrays``: REF_forces (eV/Å).

    Raises
    ------
    ParseError
        At the first malformed line, non-finite number (NaN, inf), structure with atoms closer
        than the minimum distance, or place where the files stop pairing up (different counts,
        different Z, files in swapped order); the message names the file and line.

    Warns
    -----
    LizrclWarning
        After the last structure, if converted stresses looked too large for the unit.
    """
    if stress_unit not in STRESS_UNITS:
        raise SetupError(f"unknown stress unit {stress_unit!r}; choose from {list(STRESS_UNITS)}")
    if stress_order not in STRESS_ORDERS:
        raise SetupError(f"unknown stress order {stress_order!r}; choose from {list(STRESS_ORDERS)}")
    factor = STRESS_UNITS[stress_unit]
    trainstr, trainfor = Path(trainstr), Path(trainfor)
    n_suspicious = 0
    with contextlib.ExitStack() as stack:
        s_lines = _Lines(stack.enter_context(open(trainstr, encoding="ascii", errors="replace")), trainstr)
        f_lines = _Lines(stack.enter_context(open(trainfor, encoding="ascii", errors="replace")), trainfor)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = stack.enter_context(
                tqdm(total=trainstr.stat().st_size, unit="B", unit_scale=True, desc="LASP import")
            )
        index = 0
        while (item := _read_structure(s_lines, elements)) is not None:
            start, energy, cell, numbers, positions = item
            stress6, forces = _read_forces(f_lines, numbers, f"{trainstr}:{start}")
            atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
            check_input_structure(atoms, f"structure {index + 1}", min_distance, trainstr, start)
            atoms.info[keys.REF_ENERGY] = energy
            atoms.arrays[keys.REF_FORCES] = forces
            if factor is not None:
                voigt = _stress_voigt(stress6, factor, stress_order)
                atoms.info[keys.REF_STRESS] = voigt
                n_suspicious += bool(np.abs(voigt).max() > STRESS_SUSPICIOUS_EV_A3)
            atoms.info[keys.CONFIG_TYPE] = config_type
            atoms.info[keys.SOURCE] = f"{source_name or trainstr}:{index}"
            atoms.info[keys.SOURCE_STEP] = index
            index += 1
            if bar is not None:
                bar.update(s_lines.nbytes - bar.n)
            yield atoms
        if bar is not None:
            bar.update(bar.total - bar.n)
        if f_lines.next_start() is not None:
            raise f_lines.error(f"structure {index + 1} here, but {trainstr} has only {index}: the files do not pair up")
    if n_suspicious:
        warnings.warn(
            f"{n_suspicious} of {index} structures have |stress| > {STRESS_SUSPICIOUS_EV_A3} eV/Å³ "
            f"with stress_unit={stress_unit!r}: check the unit",
            LizrclWarning,
            stacklevel=2,
        )


def extract_lasp_pair(archive: str | os.PathLike, workdir: str | os.PathLike) -> tuple[Path, Path]:
    """Copy TrainStr.txt and TrainFor.txt out of a LASP tar archive (e.g. Trainfile_LiZrCl.tar.gz).

    The members are found by file name (case-insensitive) anywhere in the archive and written
    to ``workdir`` by content only, so archive paths cannot escape it. Extracting first lets the
    two files be read in parallel without seeking back and forth in the compressed stream.

    Returns
    -------
    (Path, Path)
        The extracted TrainStr.txt and TrainFor.txt.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise SetupError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ParseError(
            archive,
            "not a tar archive (plain, .gz, .bz2 or .xz); give TrainStr.txt and TrainFor.txt, "
            "an archive holding both (Trainfile_LiZrCl.tar.gz) or a folder holding both",
        ) from exc
    found: dict[str, list[tarfile.TarInfo]] = {"trainstr.txt": [], "trainfor.txt": []}
    with tar:
        for member in tar:
            name = Path(member.name).name.lower()
            if member.isfile() and name in found:
                found[name].append(member)
        out = []
        for name, members in found.items():
            if len(members) != 1:
                names = [m.name for m in members] or ["none"]
                raise ParseError(archive, f"need exactly one {name} (by name) in the archive, found: {names}")
            dest = Path(workdir) / ("TrainStr.txt" if name == "trainstr.txt" else "TrainFor.txt")
            try:
                with tar.extractfile(members[0]) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ParseError(archive, f"cannot extract {members[0].name} ({exc})") from exc
            out.append(dest)
    return out[0], out[1]


@dataclass(frozen=True)
class LaspImportSummary:
    """What :func:`import_lasp` wrote: ``n_structures`` frames, ``n_atoms`` atoms, to ``output``."""

    output: str
    n_structures: int
    n_atoms: int
    stress_unit: str
    stress_order: str


def import_lasp(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    stress_unit: str = "eV/A3",
    stress_order: str = "lasp",
    elements: Sequence[str] | None = None,
    progress: bool = False,
    force: bool = False,
    min_distance: Any = None,
) -> LaspImportSummary:
    """Convert a LASP training set to one extxyz, atomically (nothing is left on any error).

    Parameters
    ----------
    inputs : sequence of str or PathLike
        ``[TrainStr.txt, TrainFor.txt]``, ``[archive.tar.gz]`` holding both (found by name),
        or ``[folder]`` holding both.
    output : str or PathLike
        extxyz file, written frame by frame into a temporary file renamed on success.
    stress_unit, stress_order, elements, progress, min_distance
        As in :func:`read_lasp`.
    force : bool
        Replace an existing ``output`` (kept as a numbered backup); without it an existing
        output is refused before anything is read.
    """
    import tempfile

    import ase.io

    from lizrcl_tools.fileio import atomic_path

    from lizrcl_tools.fileio import check_output

    output = check_output(output, force=force, what="dataset")
    tmp_dir = None
    with contextlib.ExitStack() as stack:
        if len(inputs) == 1 and Path(inputs[0]).is_dir():
            trainstr, trainfor = Path(inputs[0]) / "TrainStr.txt", Path(inputs[0]) / "TrainFor.txt"
        elif len(inputs) == 1:
            tmp_dir = stack.enter_context(
                tempfile.TemporaryDirectory(dir=output.parent if output.parent.exists() else None)
            )
            trainstr, trainfor = extract_lasp_pair(inputs[0], tmp_dir)
        elif len(inputs) == 2:
            trainstr, trainfor = (Path(p) for p in inputs)
        else:
            raise SetupError("give TrainStr.txt and TrainFor.txt, or one archive holding both")
        for p in (trainstr, trainfor):
            if not Path(p).is_file():
                raise SetupError(f"{p}: no such file")
        # An extracted file's temporary path means nothing later: name the archive member.
        source = f"{inputs[0]}!TrainStr.txt" if tmp_dir is not None else str(trainstr)
        frames = read_lasp(
            trainstr, trainfor, stress_unit, stress_order, elements, progress=progress,
            source_name=source, min_distance=min_distance,
        )
        n = n_atoms = 0
        with atomic_path(output, force=force) as tmp_out, open(tmp_out, "w") as fh:
            for atoms in frames:
                ase.io.write(fh, atoms, format="extxyz")
                n += 1
                n_atoms += len(atoms)
            if n == 0:
                raise ParseError(trainstr, "no structures found")
    return LaspImportSummary(str(output), n, n_atoms, stress_unit, stress_order)
