"""Which training a folder holds: the data fingerprint, the settings match, and the refusal to
mix two trainings in one folder (:func:`check_work_dir`).

:func:`~lizrcl_tools.potential.train.train` records both in ``split.json``; a rerun on the same
frames and settings resumes mace's checkpoint, anything else is refused unless forced.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError

if TYPE_CHECKING:
    from lizrcl_tools.potential.train import TrainConfig


def data_fingerprint(frames: Sequence[Any]) -> str:
    """Hash of the training frames (structures and labels), recorded in ``split.json``."""
    import hashlib

    from lizrcl_tools.dataset.labelling import structure_hash

    digest = hashlib.sha256()
    for atoms in frames:
        digest.update(structure_hash(atoms).encode())
        digest.update(repr(float(atoms.info.get(keys.REF_ENERGY, float("nan")))).encode())
        forces = atoms.arrays.get(keys.REF_FORCES)
        if forces is not None:
            digest.update(np.round(np.asarray(forces, dtype=float), 6).tobytes())
    return "sha256-" + digest.hexdigest()[:16]


def training_matches(record: dict[str, Any], frames: Sequence[Any], config: TrainConfig) -> dict[str, bool]:
    """Whether a training record (``split.json`` as :func:`train` writes it) was made from
    ``frames`` with ``config``: ``{"data": bool, "settings": bool}``.

    Settings are compared as they read back from JSON (tuples become lists). A record without
    ``data_sha256`` (written before fingerprints were recorded) holds the same data when its
    frame count agrees.
    """
    from lizrcl_tools.fileio import jsonable

    fingerprint = data_fingerprint(frames)
    config_now = json.loads(json.dumps(jsonable(dataclasses.asdict(config))))
    return {"data": record.get("data_sha256", fingerprint) == fingerprint
            and record.get("n_frames") == len(frames),
            "settings": record.get("config") == config_now}


def check_work_dir(
    work_dir: str | os.PathLike, frames: Sequence[Any], config: TrainConfig, force: bool = False
) -> None:
    """Refuse to resume a training folder that holds a run on other data or settings.

    Rerunning with the same frames and settings resumes mace's checkpoint (the normal case). A
    folder whose ``split.json`` records other data or settings (:func:`training_matches`) would
    mix two trainings, so it is refused unless ``force``, which moves the old folder aside as
    ``<work_dir>.bakN``.
    """
    from lizrcl_tools.fileio import backup_path, read_json

    work = Path(work_dir)
    if work.exists() and not work.is_dir():
        raise SetupError(f"training folder {work} is a file; give a folder name")
    split_file = work / "split.json"
    if not split_file.is_file():
        return
    matches = training_matches(read_json(split_file), frames, config)
    if all(matches.values()):
        return
    what = " and ".join(w for w, same in matches.items() if not same)
    if not force:
        raise SetupError(
            f"{work} holds a training on other {what} ({split_file}); resuming it would mix two "
            "trainings. Choose another folder, or pass --force to start over (the old folder is "
            f"then kept as {backup_path(work).name})"
        )
    work.rename(backup_path(work))
