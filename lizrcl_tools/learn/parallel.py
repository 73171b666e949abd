"""The learning loop's heavy stages as cluster tasks (``lizrcl learn --cluster FILE``).

* MD generators (``teacher_md``, ``model_md``): one task per (temperature, cell) on the ``md``
  block, each writing ``GEN/md/<key>.extxyz``;
* labelling: chunks on the ``label`` block
  (:func:`~lizrcl_tools.dataset.parallel.label_frames_parallel`, chunks in
  ``GEN/labelled_raw.extxyz.chunks/``);
* training: one task on the ``train`` block (where a GPU block can be configured), in
  ``GEN/train/`` as the serial loop.

Each task's output file or folder is its durable record: the driver checks it before
submitting, so a rerun after a kill sends only the tasks whose output is missing, and the
loop's stage markers (``GEN/<stage>.done``) stay the record of whole stages. Every task
computes exactly what the serial loop computes for the same piece (same seeds: MD cell c
draws from ``default_rng([seed, c])`` either way), so the frames equal the serial loop's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ase import Atoms

MD_DIR = "md"
"""Folder of a generation holding the MD tasks' frames (and their engine records)."""


def worker_reference(name: str) -> str:
    """A reference name a worker resolves the same way: ``mace:PATH`` with PATH made absolute
    (a worker's working folder is not the driver's)."""
    kind, _, arg = name.partition(":")
    if kind == "mace" and arg and not Path(arg).is_absolute():
        return f"mace:{Path(arg).resolve()}"
    return name


def md_task(cell: Atoms, calculator: str, temperature_K: float, steps: int, every: int, timestep_fs: float,
            seed: int, label: str, index: int, output: str) -> int:
    """Worker side: :func:`~lizrcl_tools.learn.frames.md_cell_frames` with the reference named
    ``calculator`` (``mace:PATH``, ``sevennet`` ...), frames written atomically to ``output``;
    returns the number of frames."""
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic
    from lizrcl_tools.learn.frames import md_cell_frames

    frames = md_cell_frames(cell, get_reference(calculator).calculator, temperature_K, steps, every,
                            timestep_fs, seed, label, index)
    write_atoms_atomic(output, frames, format="extxyz")
    return len(frames)


def _md_done(output: Path) -> int | None:
    """Frames in a finished MD task's file (written atomically: present means finished)."""
    if not output.is_file():
        return None
    from ase.io import read

    return len(read(output, index=":", format="extxyz"))


def run_md_jobs(jobs: Sequence[dict[str, Any]], cluster: Any, folder: str | os.PathLike) -> list[Atoms]:
    """Run MD jobs (keyword arguments of :func:`md_task` without ``output``, plus ``key``) as
    tasks on the ``md`` block; return their frames, in job order.

    Parameters
    ----------
    jobs : sequence of dict
        ``key`` (unique, file-name safe) and the arguments of :func:`md_task` but ``output``.
    cluster : lizrcl_tools.cluster.ClusterConfig
        Resources (``md`` block).
    folder : path
        The generation's folder; frames go to ``folder/md/<key>.extxyz``.
    """
    from ase.io import read

    from lizrcl_tools.cluster.tasks import Task, run_tasks

    md_dir = Path(folder).resolve() / MD_DIR
    md_dir.mkdir(parents=True, exist_ok=True)
    tasks, outputs = [], []
    for job in jobs:
        kwargs = {k: v for k, v in job.items() if k != "key"}
        output = md_dir / f"{job['key']}.extxyz"
        outputs.append(output)
        tasks.append(Task(key=job["key"], function=md_task, kwargs={**kwargs, "output": str(output)},
                          done=partial(_md_done, output)))
    run_tasks(tasks, cluster, "md", md_dir)
    frames: list[Atoms] = []
    for output in outputs:
        frames += read(output, index=":", format="extxyz")
    return frames


def label_on_cluster(frames: Sequence[Atoms], teacher: str, output: str | os.PathLike, cluster: Any) -> Path:
    """Label ``frames`` with the reference named ``teacher`` into ``output`` in chunks on the
    ``label`` block. An existing ``output`` (written atomically once every chunk was done, by
    this or by the serial path) is the finished record and is kept; finished chunks are not
    sent again."""
    from lizrcl_tools.dataset.parallel import label_frames_parallel

    output = Path(output)
    if output.is_file():
        return output
    return label_frames_parallel(frames, teacher, output, cluster)


def train_task(frames: Sequence[Atoms], work_dir: str | os.PathLike, config: Any,
               progress: bool = False) -> dict[str, Any]:
    """:func:`~lizrcl_tools.potential.train.train` in ``work_dir`` (a worker's, or the serial
    loop's); returns the loop's train summary (:func:`_train_summary`)."""
    from lizrcl_tools.potential.train import train

    result = train(frames, work_dir, config, progress=progress)
    return _train_summary(result.model_path, frames, result.report)


def _train_summary(model: str | os.PathLike, frames: Sequence[Atoms], report: dict[str, Any]) -> dict[str, Any]:
    """The loop's record of a training: ``model`` path, ``n_pool`` frames trained on, ``report``."""
    return {"model": str(model), "n_pool": len(frames), "report": report}


def _train_done(frames: Sequence[Atoms], work_dir: Path, config: Any) -> dict[str, Any] | None:
    """The train summary of a finished training of these frames with this configuration in
    ``work_dir`` (its ``report.json`` is written last, atomically), else None."""
    from lizrcl_tools.potential.train_record import training_matches

    report_file, split_file = work_dir / "report.json", work_dir / "split.json"
    if not (report_file.is_file() and split_file.is_file()):
        return None
    try:
        report, split = json.loads(report_file.read_text()), json.loads(split_file.read_text())
    except ValueError:
        return None
    # Only a recorded fingerprint proves these frames finished here; an older record goes to
    # the task, where train() resumes it.
    if "data_sha256" not in split or not all(training_matches(split, frames, config).values()) \
            or not Path(report.get("model", "")).is_file():
        return None
    return _train_summary(report["model"], frames, report)


def train_on_cluster(frames: Sequence[Atoms], work_dir: str | os.PathLike, config: Any, cluster: Any,
                     key: str) -> dict[str, Any]:
    """Train on ``frames`` as one task (``key``) on the ``train`` block; return the loop's
    train summary. A finished training of the same frames and settings in ``work_dir`` is
    taken as it is (no task); an interrupted one resumes mace's checkpoint on the worker."""
    from lizrcl_tools.cluster.tasks import Task, run_tasks

    work_dir = Path(work_dir).resolve()
    task = Task(key=key, function=train_task,
                kwargs={"frames": list(frames), "work_dir": str(work_dir), "config": config},
                done=partial(_train_done, list(frames), work_dir, config))
    # engine records beside the training folder, not inside it (mace owns that folder)
    return run_tasks([task], cluster, "train", work_dir.parent)[key]
