"""Label frames with a reference calculator, resumably.

Each frame gets ``REF_energy`` (eV), ``REF_forces`` (eV/Å) and, for fully periodic cells,
``REF_stress`` (eV/Å³, ASE sign, Voigt xx yy zz yz xz xy), plus the name and version of the
reference in ``atoms.info`` (:data:`REFERENCE_KEY`, :data:`REFERENCE_VERSION_KEY`).

Resuming
--------
Labelling a few hundred frames with a machine-learned teacher on a CPU takes hours, so every
finished frame is appended at once to a side file ``<output>.partial.extxyz`` carrying its
input index and a hash of its structure. A rerun reads that side file (and a previous complete
output, if any), keeps every frame whose index *and* structure hash match the input, and only
computes the rest. The final output is written atomically in input order, then the side file
is removed. A crash therefore loses at most the frame being computed.

Example
-------
>>> from lizrcl_tools.dataset.references import get_reference
>>> ref = get_reference("sevennet")                                  # doctest: +SKIP
>>> label_file("frames.extxyz", "labelled.extxyz", ref)              # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.errors import LizrclWarning, ParseError, RunFailed, SetupError
from lizrcl_tools._deprecated import renamed
from lizrcl_tools.fileio import iter_structures, write_atoms_atomic

REFERENCE_KEY = "REF_reference"
"""``atoms.info`` key: registry name of the reference calculator (``"sevennet"``)."""

REFERENCE_VERSION_KEY = "REF_reference_version"
"""``atoms.info`` key: model and package version of the reference."""

INDEX_KEY = "label_index"
"""``atoms.info`` key in the side file: 0-based index of the frame in the input."""

HASH_KEY = "label_hash"
"""``atoms.info`` key in the side file and output: :func:`structure_hash` of the input frame."""

_LABEL_KEYS = (keys.REF_ENERGY, keys.REF_STRESS, REFERENCE_KEY, REFERENCE_VERSION_KEY)


@dataclass(frozen=True)
class LabelSummary:
    """What one labelling run did.

    Attributes
    ----------
    output : Path
        The labelled file.
    n_frames : int
        Frames in the output.
    n_computed : int
        Frames computed in this run.
    n_reused : int
        Frames taken from the side file or a previous output.
    reference : str
        Reference name and version.
    """

    output: Path
    n_frames: int
    n_computed: int
    n_reused: int
    reference: str


def structure_hash(atoms: Any) -> str:
    """Hash of what the reference sees: species, positions, cell, pbc.

    Positions and cell are rounded to 1e-6 Å so that the extxyz text round trip (which keeps
    8 decimals) gives the same hash.

    Parameters
    ----------
    atoms : ase.Atoms
        The frame.

    Returns
    -------
    str
        ``"sha256-"`` + 16 hex digits. The prefix matters: a bare digest such as
        ``"1234e5678"`` would be read back from extxyz as a float.
    """
    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    # +0.0 turns -0.0 into 0.0 so the sign of a rounded zero does not change the hash.
    digest.update((np.round(np.asarray(atoms.positions, dtype=float), 6) + 0.0).tobytes())
    digest.update((np.round(np.asarray(atoms.cell[:], dtype=float), 6) + 0.0).tobytes())
    digest.update(np.asarray(atoms.pbc, dtype=bool).tobytes())
    return "sha256-" + digest.hexdigest()[:16]


def attach_labels(atoms: Any, calculator: Any, reference: str, version: str) -> Any:
    """Compute the reference labels of one frame and return a labelled copy.

    Parameters
    ----------
    atoms : ase.Atoms
        Frame to label (not modified).
    calculator : ase.calculators.calculator.Calculator
        Reference calculator (eV, eV/Å, eV/Å³).
    reference, version : str
        Recorded in ``info`` under :data:`REFERENCE_KEY` and :data:`REFERENCE_VERSION_KEY`.

    Returns
    -------
    ase.Atoms
        Copy without a calculator, with ``REF_energy`` (eV), ``REF_forces`` (eV/Å) and, when
        the cell is periodic in all three directions, ``REF_stress`` (eV/Å³, Voigt, ASE sign).
    """
    work = atoms.copy()
    work.calc = calculator
    energy = float(work.get_potential_energy())
    forces = np.array(work.get_forces(), dtype=float)
    stress = np.array(work.get_stress(voigt=True), dtype=float) if all(work.pbc) else None
    labelled = atoms.copy()
    labelled.calc = None
    labelled.info[keys.REF_ENERGY] = energy
    labelled.arrays[keys.REF_FORCES] = forces
    if stress is not None:
        labelled.info[keys.REF_STRESS] = stress
    labelled.info[REFERENCE_KEY] = reference
    labelled.info[REFERENCE_VERSION_KEY] = version
    return labelled


def _frame_text(atoms: Any) -> str:
    import ase.io

    buffer = io.StringIO()
    ase.io.write(buffer, atoms, format="extxyz")
    return buffer.getvalue()


def _read_done(path: Path) -> list[Any]:
    """Frames of a side file or earlier output, stopping at a truncated last frame."""
    import ase.io

    if not path.exists():
        return []
    frames = []
    try:
        for atoms in ase.io.iread(path, index=":", format="extxyz"):
            frames.append(atoms)
    except Exception:  # noqa: BLE001 - a crash mid-append leaves a torn last frame
        warnings.warn(
            f"{path}: ignoring a truncated frame after {len(frames)} complete ones",
            LizrclWarning,
            stacklevel=3,
        )
    return frames


def side_file(output: str | os.PathLike) -> Path:
    """Path of the checkpoint side file kept next to ``output`` while labelling."""
    output = Path(output)
    return output.with_name(output.name + ".partial.extxyz")


def label_frames(
    frames: Sequence[Any],
    reference: Any,
    output: str | os.PathLike,
    progress: bool = True,
    force: bool = False,
) -> LabelSummary:
    """Label ``frames`` with ``reference`` and write them to ``output``, resuming if possible.

    Resuming into ``output`` is the normal case: its frames whose index, structure hash and
    reference name match are reused. An existing ``output`` holding anything else (another
    dataset, frames of a different input or reference) would be lost, so it is refused before
    any frame is computed unless ``force`` is True, which keeps it as a numbered backup.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Input frames, in order; their ``info`` (``config_type``, ``source`` ...) is kept.
    reference : lizrcl_tools.dataset.references.Reference
        Calculator plus provenance (see :func:`lizrcl_tools.dataset.references.get_reference`).
    output : str or PathLike
        Labelled extxyz file, written atomically when every frame is done.
    progress : bool
        Show a tqdm progress bar.
    force : bool
        Replace an ``output`` that is not this run's own (the ``--force`` option).

    Returns
    -------
    LabelSummary
        Counts of computed and reused frames.

    Raises
    ------
    SetupError
        ``output`` exists, is not a resumable output of these frames and ``force`` is False.
    """
    from tqdm import tqdm

    from lizrcl_tools.fileio import backup_path, check_output

    output = Path(output)
    check_output(output, force=True)  # a folder, or a parent that is a file: refused here
    partial = side_file(output)
    hashes = [structure_hash(atoms) for atoms in frames]
    done: dict[int, Any] = {}
    n_in_output = n_foreign = 0
    for source in (output, partial):
        for atoms in _read_done(source):
            index = atoms.info.get(INDEX_KEY)
            n_in_output += source is output
            if (
                index is None
                or not 0 <= int(index) < len(frames)
                or str(atoms.info.get(HASH_KEY)) != hashes[int(index)]  # input changed here
                or str(atoms.info.get(REFERENCE_KEY)) != str(reference.name)
            ):
                n_foreign += source is output
                continue
            atoms.calc = None
            done[int(index)] = atoms
    if output.exists() and (n_foreign or n_in_output == 0) and not force:
        detail = (
            f"{n_foreign} of its {n_in_output} frames do not match this input and reference "
            f"({reference.name})"
            if n_in_output
            else "it holds no frame labelled from this input"
        )
        raise SetupError(
            f"{output} already exists and is not a resumable output of these frames ({detail}); "
            "replacing it would lose them. Choose another output name, or pass --force to "
            f"replace it (the old file is then kept as {backup_path(output).name})"
        )
    n_reused = len(done)

    # Rewrite the side file from the verified frames only, so a torn or stale tail is dropped
    # before new frames are appended to it.
    if n_reused or partial.exists():
        write_atoms_atomic(partial, [done[i] for i in sorted(done)], format="extxyz")

    todo = [i for i in range(len(frames)) if i not in done]
    n_computed = 0
    with open(partial, "a") as handle, tqdm(
        total=len(frames), initial=n_reused, desc="label", unit="frame", disable=not progress
    ) as bar:
        for index in todo:
            try:
                labelled = attach_labels(frames[index], reference.calculator, reference.name,
                                         reference.version)
            except Exception as exc:
                raise RunFailed(
                    f"reference {reference.name} failed on frame {index}; {len(done)} finished "
                    f"frames are kept in {partial} and a rerun resumes from there: {exc}"
                ) from exc
            labelled.info[INDEX_KEY] = index
            labelled.info[HASH_KEY] = hashes[index]
            # One write + fsync per frame: a crash loses at most the frame in flight.
            handle.write(_frame_text(labelled))
            handle.flush()
            os.fsync(handle.fileno())
            done[index] = labelled
            n_computed += 1
            bar.update(1)

    # force=True: replacing is allowed by now (own output, or --force), and a replaced file
    # that was not this run's own is kept as a numbered backup.
    write_atoms_atomic(output, [done[i] for i in range(len(frames))], format="extxyz",
                       force=True if (n_foreign or (output.exists() and n_in_output == 0)) else None)
    partial.unlink(missing_ok=True)
    return LabelSummary(output, len(frames), n_computed, n_reused,
                        f"{reference.name} {reference.version}")


def iter_labelled_frames(path: str | os.PathLike) -> Iterator[Any]:
    """Stream the frames (ASE ``Atoms`` with their ``REF_*`` labels) of an extxyz training file.

    Labels are read as they are, unchecked; a frame without them is yielded too (statistics
    count those). :func:`read_labelled_frames` checks them.

    Raises
    ------
    SetupError
        The file does not exist.
    ParseError
        A frame is not readable extxyz (the 0-based frame number is named).
    """
    import ase.io
    from ase.io.extxyz import XYZError

    path = Path(path)
    if not path.is_file():
        raise SetupError(f"{path}: no such file")
    n = 0
    try:
        for atoms in ase.io.iread(path, index=":", format="extxyz"):
            n += 1
            yield atoms
    except (XYZError, ValueError, IndexError, KeyError) as exc:
        raise ParseError(path, f"frame {n} (0-based) is not readable extxyz: {exc}") from exc


def read_labelled_frames(
    path: str | os.PathLike,
    validate: bool = True,
    min_distance: Any = None,
    labels: bool = True,
) -> list[Any]:
    """Every frame of an extxyz training file, as a list (for training and evaluation), checked.

    Parameters
    ----------
    path : str or PathLike
        Frames (labelled or not).
    validate : bool
        Check every frame (default True): finite positions and cell, no atoms closer than the
        per-pair minimum (:func:`lizrcl_tools.structures.checks.check_input_structure`), and
        finite ``REF_energy``/``REF_forces``/``REF_stress`` where present.
    min_distance : float or mapping, optional
        The ``--min-distance`` option (default 0.5 × sum of covalent radii; 0: off).
    labels : bool
        Check the ``REF_*`` labels too (False when the frames are about to be relabelled).

    Raises
    ------
    SetupError
        The file does not exist.
    ParseError
        A frame is not readable extxyz, the file holds no frame, or a frame fails a check
        (frame named, 1-based).
    """
    frames = list(iter_labelled_frames(path))
    if not frames:
        raise ParseError(path, "no frames found (expected extxyz frames with REF_* labels)")
    if validate:
        from lizrcl_tools.dataset.stats import non_finite_labels
        from lizrcl_tools.structures.checks import check_input_structure

        for n, atoms in enumerate(frames, start=1):
            bad = non_finite_labels(atoms) if labels else []
            if bad:
                raise ParseError(
                    path,
                    f"frame {n} (1-based): {', '.join(bad)} hold NaN or inf; expected finite "
                    "numbers (see lizrcl data stats for every such frame)",
                )
            check_input_structure(atoms, f"frame {n} (1-based)", min_distance, path)
    return frames


def _read_frames_any_format(path: str | os.PathLike) -> list[Any]:
    # What dataset.labelling.read_frames did: any ASE format, into a list.
    return list(iter_structures(path))


read_frames = renamed(
    _read_frames_any_format,
    "lizrcl_tools.dataset.labelling.read_frames",
    use="lizrcl_tools.dataset.labelling.read_labelled_frames (extxyz training files) or "
        "lizrcl_tools.fileio.iter_structures (any structure file)",
)


def label_file(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    reference: Any,
    progress: bool = True,
    force: bool = False,
    min_distance: Any = None,
) -> LabelSummary:
    """Read ``input_path``, label every frame with ``reference`` and write ``output``.

    See :func:`label_frames` (``force``: replace an ``output`` that is not this run's own);
    ``output`` must differ from ``input_path``. The input frames are checked by
    :func:`lizrcl_tools.fileio.iter_structures` (``min_distance``: the ``--min-distance``
    option).
    """
    if Path(input_path).resolve() == Path(output).resolve():
        raise SetupError(f"output {output} would overwrite the input; choose another name")
    frames = list(iter_structures(input_path, min_distance=min_distance))
    return label_frames(frames, reference, output, progress=progress, force=force)


def strip_labels(atoms: Any) -> Any:
    """Copy of ``atoms`` without reference labels or labelling bookkeeping."""
    clean = atoms.copy()
    clean.calc = None
    for key in (*_LABEL_KEYS, INDEX_KEY, HASH_KEY):
        clean.info.pop(key, None)
    clean.arrays.pop(keys.REF_FORCES, None)
    return clean
