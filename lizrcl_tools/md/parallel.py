"""Several temperatures at once: :func:`run_md` per temperature as Parsl tasks.

Same folders, same inputs and the same seeds as :func:`~lizrcl_tools.md.runner.run_temperatures`,
so the trajectories are those of the serial path; only where they run differs (local workers
or batch jobs, see :mod:`lizrcl_tools.cluster`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from ase import Atoms

from lizrcl_tools.cluster.config import ClusterConfig
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.runner import finished_run, run_folder_name, run_md
from lizrcl_tools.potential import PotentialSpec


def run_temperatures_parallel(
    atoms: Atoms,
    spec: PotentialSpec,
    temperatures_K: Sequence[float],
    out_dir: str | Path,
    protocol: MDProtocol,
    cluster: ClusterConfig,
    *,
    mobile: str = "Li",
    work_dir: str | Path | None = None,
) -> list[Path]:
    """Run :func:`~lizrcl_tools.md.runner.run_md` at each temperature as one task each.

    Finished run folders are skipped in the driver (no task is sent), unfinished ones are
    resumed by their task, as in the serial path.

    Parameters
    ----------
    atoms : ase.Atoms
        Starting cell.
    spec : PotentialSpec
        Potential.
    temperatures_K : sequence of float
        Temperatures, K.
    out_dir : str or Path
        Parent of the run folders ``T<K>/``.
    protocol : MDProtocol
        MD settings (seed included: each run is the serial run).
    cluster : ClusterConfig
        Resources; the ``md`` block is used.
    mobile : str
        Diffusing element.
    work_dir : str or Path, optional
        Where the engine keeps its records (default: ``out_dir``).

    Returns
    -------
    list of Path
        The run folders, in the order of ``temperatures_K``.
    """
    from lizrcl_tools.cluster.tasks import Task, run_tasks

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    dirs = [out_dir / run_folder_name(float(t)) for t in temperatures_K]
    tasks = []
    for t, run_dir in zip(temperatures_K, dirs):
        common = {"atoms": atoms, "spec": spec, "temperature_K": float(t), "run_dir": run_dir,
                  "protocol": protocol, "mobile": mobile}
        tasks.append(Task(key=f"md-{run_dir.name}", function=run_md, kwargs={**common, "progress": False},
                          done=partial(finished_run, **common)))
    run_tasks(tasks, cluster, "md", work_dir if work_dir is not None else out_dir)
    return dirs
