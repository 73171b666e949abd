"""Fan-out of independent tasks (MD temperatures, walkers, labelling chunks) through Parsl.

Modules: :mod:`~lizrcl_tools.cluster.config` (the cluster file: one block of resources per
stage, validated), :mod:`~lizrcl_tools.cluster.parsl_config` (a block → a Parsl executor and
provider), :mod:`~lizrcl_tools.cluster.session` (start and always stop the executor; reap the
workers of a killed driver), :mod:`~lizrcl_tools.cluster.tasks` (:func:`run_tasks`: idempotent
tasks whose output folders are the durable record, with Parsl checkpointing on top).

Infrastructure: imports no pipeline stage, so every stage may use it.
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

_EXPORTS = {
    "STAGES": "lizrcl_tools.cluster.config",
    "ClusterConfig": "lizrcl_tools.cluster.config",
    "StageResources": "lizrcl_tools.cluster.config",
    "load_cluster_config": "lizrcl_tools.cluster.config",
    "local_cluster": "lizrcl_tools.cluster.config",
    "Task": "lizrcl_tools.cluster.tasks",
    "run_tasks": "lizrcl_tools.cluster.tasks",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
