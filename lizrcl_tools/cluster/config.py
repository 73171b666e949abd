"""The cluster file: where each heavy stage runs, as YAML data.

Example (Slurm for MD and training, the login node's cores for labelling)::

    default:              # merged under every stage block
      provider: slurm
      partition: compute
      account: proj042
      walltime: "04:00:00"
      worker_init: "module load gcc/12; source $HOME/lizrcl/.venv/bin/activate"
      retries: 1
    md:
      cores: 32           # cores per block (one node); workers = cores // cores_per_task
      max_blocks: 4
    train:
      partition: gpu
      cores: 8
      cores_per_task: 8
      scheduler_options: "#SBATCH --gres=gpu:1"
    label:
      provider: local
      cores: 4
    vasp_command: "srun vasp_std"

Stages: md, ssw, label, vasp, train, learn. A stage without a block gets ``default`` merged
over the local defaults (one local block, workers = usable cores). Every key is checked;
errors name the file and the key (:class:`~lizrcl_tools.errors.PresetError`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import PresetError

STAGES = ("md", "ssw", "label", "vasp", "train", "learn")
"""Stages that may have a resource block."""

PROVIDERS = ("local", "slurm", "pbspro")

_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}:\d{2}$")


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class StageResources:
    """Resources of one stage: one Parsl HighThroughputExecutor and its provider.

    Attributes
    ----------
    provider : str
        ``local`` (this machine), ``slurm`` or ``pbspro``.
    cores : int
        Cores per block (a node, or this machine for ``local``).
    cores_per_task : int
        Cores one task uses; workers per block = cores // cores_per_task.
    max_blocks : int
        Most blocks (batch jobs) at once.
    walltime : str
        Wall time of one block, ``HH:MM:SS`` (batch providers; the file may say ``D-HH:MM:SS``).
    partition, account : str or None
        Slurm partition (PBS queue) and account.
    worker_init : str
        Shell lines run before the workers start (module loads, venv activation).
    scheduler_options : str
        Extra ``#SBATCH``/``#PBS`` lines, verbatim.
    retries : int
        Times a failed task is retried.
    """

    provider: str = "local"
    cores: int = field(default_factory=usable_cores)
    cores_per_task: int = 1
    max_blocks: int = 1
    walltime: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    worker_init: str = ""
    scheduler_options: str = ""
    retries: int = 0

    @property
    def workers_per_block(self) -> int:
        """Parallel tasks in one block."""
        return max(1, self.cores // self.cores_per_task)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for records and logs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ClusterConfig:
    """Resources per stage plus the VASP command.

    Attributes
    ----------
    stages : dict
        Stage name → :class:`StageResources`; stages not listed use ``default``.
    default : StageResources
        Resources of a stage without its own block.
    vasp_command : str
        Command that runs VASP in a prepared folder (e.g. ``srun vasp_std``).
    source : str
        Where the configuration came from (file path, or ``local``), for messages.
    """

    stages: dict[str, StageResources] = field(default_factory=dict)
    default: StageResources = field(default_factory=StageResources)
    vasp_command: str = "vasp_std"
    source: str = "local"

    def for_stage(self, stage: str) -> StageResources:
        """Resources of ``stage`` (one of :data:`STAGES`)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        return self.stages.get(stage, self.default)


def local_cluster(workers: int | None = None) -> ClusterConfig:
    """Every stage on this machine with ``workers`` parallel tasks (default: usable cores)."""
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 1):
        raise PresetError("--workers", "workers", f"must be a positive integer, got {workers!r}")
    local = StageResources(cores=int(workers) if workers is not None else usable_cores())
    return ClusterConfig(default=local, source=f"local ({local.cores} workers)")


def load_cluster_config(path: str | Path) -> ClusterConfig:
    """Read and check a cluster file (format in the module docstring).

    Raises
    ------
    ParseError
        The file is not readable YAML (line given).
    PresetError
        A key is unknown, missing its value or out of range (file and key named).
    """
    from lizrcl_tools.vasp.preset_files import read_yaml

    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PresetError(path, "<top>", f"expected a mapping of stage blocks, got {type(data).__name__}")
    known = {*STAGES, "default", "vasp_command"}
    for key in data:
        if key not in known:
            raise PresetError(path, str(key), f"unknown key; expected one of {', '.join(sorted(known))}")
    vasp_command = data.get("vasp_command", "vasp_std")
    if not isinstance(vasp_command, str) or not vasp_command.strip():
        raise PresetError(path, "vasp_command", "must be a non-empty command string, e.g. 'srun vasp_std'")
    default = _stage(path, "default", data.get("default") or {}, StageResources())
    stages = {name: _stage(path, name, data[name] or {}, default) for name in STAGES if name in data}
    return ClusterConfig(stages=stages, default=default, vasp_command=vasp_command.strip(), source=str(path))


_INT_KEYS = {"cores": 1, "cores_per_task": 1, "max_blocks": 1, "retries": 0}
_STR_KEYS = ("walltime", "partition", "account", "worker_init", "scheduler_options")


def _hours_minutes_seconds(walltime: str) -> str:
    """``D-HH:MM:SS`` → ``HH:MM:SS`` (hours past 24): the form Parsl's providers read."""
    days, _, rest = walltime.rpartition("-")
    hours, minutes, seconds = rest.split(":")
    return f"{int(days or 0) * 24 + int(hours):02d}:{minutes}:{seconds}"


def _stage(path: Path, name: str, block: Any, base: StageResources) -> StageResources:
    """One stage block merged over ``base``, every key checked."""
    if not isinstance(block, dict):
        raise PresetError(path, name, f"expected a mapping of resources, got {type(block).__name__}")
    allowed = {f.name for f in fields(StageResources)}
    values: dict[str, Any] = {}
    for key, value in block.items():
        where = f"{name}.{key}"
        if key not in allowed:
            raise PresetError(path, where, f"unknown key; expected one of {', '.join(sorted(allowed))}")
        if key == "provider":
            if value not in PROVIDERS:
                raise PresetError(path, where, f"{value!r} is not a provider; expected one of {', '.join(PROVIDERS)}")
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_KEYS[key]:
                raise PresetError(path, where, f"expected an integer ≥ {_INT_KEYS[key]}, got {value!r}")
        elif key in _STR_KEYS:
            if value is None and key in ("partition", "account"):
                pass
            elif key == "walltime" and isinstance(value, int):
                raise PresetError(path, where, f"YAML read an unquoted time as the number {value}; "
                                  "quote it: walltime: \"04:00:00\"")
            elif not isinstance(value, str):
                raise PresetError(path, where, f"expected a string, got {value!r} ({type(value).__name__})")
            elif key == "walltime" and not _WALLTIME.match(value):
                raise PresetError(path, where, f"expected HH:MM:SS or D-HH:MM:SS, got {value!r} (quote it in YAML)")
        if key == "walltime":
            value = _hours_minutes_seconds(value)
        values[key] = value
    merged = replace(base, **values)
    if merged.cores_per_task > merged.cores:
        raise PresetError(path, f"{name}.cores_per_task",
                          f"{merged.cores_per_task} exceeds cores = {merged.cores}: no task would fit a block")
    if merged.provider == "local" and merged.max_blocks != 1:
        raise PresetError(path, f"{name}.max_blocks", "a local provider has one block (this machine); use cores")
    return merged
