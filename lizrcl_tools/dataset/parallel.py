"""Labelling in chunks as parallel tasks (:mod:`lizrcl_tools.cluster`), then one output file.

Chunk k of the frames is labelled by :func:`~lizrcl_tools.dataset.labelling.label_frames` into
``OUTPUT.chunks/chunk_<k>.extxyz`` (each chunk resumable on its own, each worker building the
reference from its name); a chunk whose file holds its frames, labelled, is not sent again.
The chunks are joined in input order into ``OUTPUT``, written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from lizrcl_tools.dataset.labelling import HASH_KEY, INDEX_KEY, label_frames, read_labelled_frames, structure_hash


def label_chunk(frames: Sequence[Any], reference: str, output: str, device: str = "cpu",
                dtype: str = "float64") -> int:
    """Worker side: label ``frames`` with the reference named ``reference`` into ``output``;
    return the number of frames written."""
    from lizrcl_tools.dataset.references import get_reference

    return label_frames(frames, get_reference(reference, device=device, dtype=dtype), output,
                        progress=False).n_frames


def _chunk_done(frames: Sequence[Any], output: Path) -> int | None:
    """Frames in ``output`` if it holds exactly ``frames`` (same structures, in order), else None."""
    if not output.exists():
        return None
    try:
        done = read_labelled_frames(output)
    except Exception:  # noqa: BLE001 - an unreadable chunk is simply not done
        return None
    # the hash each frame got from its input when labelled: a hash of the frame read back would
    # differ now and then (extxyz keeps 8 decimals, the hash rounds to 6: a digit can flip)
    if [str(a.info.get(HASH_KEY)) for a in done] != [structure_hash(a) for a in frames]:
        return None
    return len(done)


def label_frames_parallel(
    frames: Sequence[Any],
    reference: str,
    output: str | os.PathLike,
    cluster: Any,
    *,
    chunk_size: int | None = None,
    device: str = "cpu",
    dtype: str = "float64",
    force: bool = False,
) -> Path:
    """Label ``frames`` in chunks on the ``label`` resources of ``cluster``; write ``output``.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Frames to label, in order.
    reference : str
        Reference name as for :func:`~lizrcl_tools.dataset.references.get_reference`
        (``sevennet``, ``mace:PATH``); each worker loads it.
    output : str or PathLike
        Labelled extxyz, written when every chunk is done.
    cluster : lizrcl_tools.cluster.ClusterConfig
        Resources (``label`` block).
    chunk_size : int, optional
        Frames per task (default: spread evenly over the workers).
    device, dtype : str
        Torch device and MACE float type.
    force : bool
        Replace an existing ``output`` (kept as a numbered backup).

    Returns
    -------
    Path
        The output file.
    """
    from lizrcl_tools.cluster.tasks import Task, run_tasks
    from lizrcl_tools.fileio import check_output, write_atoms_atomic

    output = Path(output).resolve()
    check_output(output, force, what="labelled dataset")
    workers = cluster.for_stage("label").workers_per_block
    size = chunk_size or max(1, -(-len(frames) // workers))
    chunk_dir = output.with_name(output.name + ".chunks")
    chunk_dir.mkdir(parents=True, exist_ok=True)
    tasks, paths = [], []
    for k, start in enumerate(range(0, len(frames), size)):
        chunk = list(frames[start:start + size])
        path = chunk_dir / f"chunk_{k:04d}.extxyz"
        paths.append(path)
        tasks.append(Task(key=f"label-{k:04d}", function=label_chunk,
                          kwargs={"frames": chunk, "reference": reference, "output": str(path),
                                  "device": device, "dtype": dtype},
                          done=partial(_chunk_done, chunk, path)))
    run_tasks(tasks, cluster, "label", chunk_dir)
    labelled = []
    for path in paths:
        for atoms in read_labelled_frames(path):
            # a chunk numbers its frames from 0; the joined file holds indices into the whole input,
            # as the serial labelling writes them (a serial rerun on OUTPUT resumes by them)
            atoms.info[INDEX_KEY] = len(labelled)
            labelled.append(atoms)
    write_atoms_atomic(output, labelled, force=force)
    return output
