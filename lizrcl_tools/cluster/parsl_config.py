"""A stage's resources → a Parsl configuration (HighThroughputExecutor + provider).

Parsl is imported inside the functions: the rest of the toolkit never needs it.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lizrcl_tools
from lizrcl_tools.cluster.config import StageResources

SESSION_ENV = "LIZRCL_ENGINE_SESSION"
"""Environment variable every process of an engine session carries (driver's children, the
interchange, worker pools and workers): how the processes of a killed driver are found."""


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Thread counts set to a task's cores in every worker: torch, LAMMPS' OpenMP styles and BLAS
otherwise each take every core of the node, and N workers on N cores then run N² threads."""


def environment_lines(session: str, threads: int = 1) -> str:
    """Shell lines that give workers this interpreter's ``bin/`` on PATH (Parsl's worker pool
    script lives there), this checkout of lizrcl_tools on PYTHONPATH, the session tag, and
    ``threads`` (the stage's ``cores_per_task``) as their OpenMP/BLAS thread count."""
    bin_dir = Path(sys.executable).parent
    package_root = Path(lizrcl_tools.__file__).resolve().parents[1]
    lines = [
        f"export PATH={shlex.quote(str(bin_dir))}:$PATH",
        f"export PYTHONPATH={shlex.quote(str(package_root))}${{PYTHONPATH:+:$PYTHONPATH}}",
        f"export {SESSION_ENV}={shlex.quote(session)}",
    ]
    lines += [f"export {name}={int(threads)}" for name in THREAD_VARIABLES]
    return "\n".join(lines) + "\n"


def make_provider(resources: StageResources, session: str) -> Any:
    """The Parsl execution provider of one stage block (local, Slurm or PBS Pro).

    The environment lines of :func:`environment_lines` come first in ``worker_init``, the
    user's lines after them (so a user's ``source venv/bin/activate`` or thread count wins).
    """
    init = environment_lines(session, resources.cores_per_task) + (resources.worker_init or "")
    if resources.provider == "local":
        from parsl.providers import LocalProvider

        return LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1, worker_init=init)
    if resources.provider == "slurm":
        from parsl.providers import SlurmProvider

        return SlurmProvider(
            partition=resources.partition, account=resources.account, nodes_per_block=1,
            cores_per_node=resources.cores, init_blocks=0, min_blocks=0,
            max_blocks=resources.max_blocks, walltime=resources.walltime,
            scheduler_options=resources.scheduler_options, worker_init=init, exclusive=False,
        )
    if resources.provider == "pbspro":
        from parsl.providers import PBSProProvider

        return PBSProProvider(
            account=resources.account, queue=resources.partition, cpus_per_node=resources.cores,
            nodes_per_block=1, init_blocks=0, min_blocks=0, max_blocks=resources.max_blocks,
            walltime=resources.walltime, scheduler_options=resources.scheduler_options,
            worker_init=init,
        )
    raise ValueError(f"unknown provider {resources.provider!r}")


def make_parsl_config(
    resources: StageResources,
    run_dir: str | Path,
    label: str,
    session: str,
    checkpoint_files: Sequence[str] = (),
) -> Any:
    """Parsl ``Config`` with one HighThroughputExecutor for a stage, checkpointing at task exit.

    Parameters
    ----------
    resources : StageResources
        The stage's block.
    run_dir : str or Path
        Parsl's run folder (logs, submit scripts, checkpoints).
    label : str
        Executor label (the stage name).
    session : str
        Session tag exported to every worker (see :data:`SESSION_ENV`).
    checkpoint_files : sequence of str
        Checkpoint folders of earlier sessions whose results may be reused.
    """
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor

    executor = HighThroughputExecutor(
        label=label,
        provider=make_provider(resources, session),
        cores_per_worker=float(resources.cores_per_task),
        max_workers_per_node=resources.workers_per_block,
        # Local runs: no network address probing, loopback only.
        address="127.0.0.1" if resources.provider == "local" else None,
        # Short heartbeats so a pool whose driver died goes away soon on its own too.
        heartbeat_period=5,
        heartbeat_threshold=20,
        encrypted=resources.provider != "local",
    )
    try:
        from parsl.dataflow.memoization import BasicMemoizer
    except ImportError:  # Parsl before the memoizer plug-in: the options sat on Config
        checkpointing = {"checkpoint_mode": "task_exit", "checkpoint_files": list(checkpoint_files)}
    else:
        checkpointing = {"memoizer": BasicMemoizer(checkpoint_mode="task_exit",
                                                   checkpoint_files=list(checkpoint_files))}
    return Config(
        executors=[executor],
        **checkpointing,
        retries=resources.retries,
        run_dir=str(run_dir),
        strategy="simple",
        usage_tracking=0,
        initialize_logging=True,
    )
