"""Idempotent tasks fanned out through Parsl, their output folders the durable record.

A :class:`Task` is a module-level function, its keyword arguments, and a ``done`` check run in
the driver. :func:`run_tasks` skips tasks whose check finds a finished output (no worker is
asked), and sends the rest to the stage's executor. Parsl's checkpoint (task exit) serves
only tasks without a ``done`` check: for the others the output is the record both ways — a task
that finished while no driver was watching is found by its folder (Parsl's checkpoint misses
it), and a task whose output was lost or damaged after it finished runs again (Parsl's
checkpoint would hand back its old result without running it).

Each task's arguments are pickled to ``ENGINE/tasks/<key>.pkl`` and the Parsl app receives only
the key, that path and the file's SHA-256, so Parsl can hash them for its checkpoint.
Each execution appends a line to ``ENGINE/executions/<key>.jsonl`` (pid, host, batch job id,
start/end UTC):
the record of what actually ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lizrcl_tools.cluster.config import ClusterConfig
from lizrcl_tools.errors import RunFailed, SetupError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class Task:
    """One independent piece of work.

    Attributes
    ----------
    key : str
        Unique, file-name-safe name (``md-T600``).
    function : callable
        Module-level function (workers import it by name).
    kwargs : dict
        Its keyword arguments (picklable).
    done : callable, optional
        Called in the driver before submitting: returns the task's result if its output is
        already finished (the task is then not run), else None.
    """

    key: str
    function: Callable[..., Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    done: Callable[[], Any] | None = None


def execution_log(work_dir: str | Path, key: str) -> list[dict[str, Any]]:
    """Executions of task ``key`` in ``work_dir``, oldest first (one dict per start or end)."""
    from lizrcl_tools.cluster.session import ENGINE_DIR

    path = Path(work_dir) / ENGINE_DIR / "executions" / f"{key}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def execute_task_file(key: str, task_file: str, digest: str) -> Any:
    """Worker side: load a pickled task, record the execution, run it, return its result.

    ``digest`` is not used here: it is in the signature so that Parsl's checkpoint hash
    changes when the task's arguments change.
    """
    del digest
    path = Path(task_file)
    with path.open("rb") as f:
        function, kwargs = pickle.load(f)
    log = path.parent.parent / "executions" / f"{key}.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    base = {"key": key, "pid": os.getpid(), "host": socket.gethostname(),
            # the batch job the worker runs in (None on local workers)
            "batch_job": os.environ.get("SLURM_JOB_ID") or os.environ.get("PBS_JOBID")}
    with log.open("a") as f:
        f.write(json.dumps({**base, "event": "start", "utc": _now()}) + "\n")
    result = function(**kwargs)
    with log.open("a") as f:
        f.write(json.dumps({**base, "event": "end", "utc": _now()}) + "\n")
    return result


def run_tasks(
    tasks: Sequence[Task],
    cluster: ClusterConfig,
    stage: str,
    work_dir: str | Path,
) -> dict[str, Any]:
    """Run ``tasks`` on the stage's executor; return ``{key: result}`` in task order.

    Finished tasks (``done`` returns a result) are not submitted. The executor is shut down
    when this returns, raises, or is interrupted (Ctrl-C, SIGTERM), and leftover workers of a
    killed earlier driver on the same ``work_dir`` are ended before anything starts.

    Parameters
    ----------
    tasks : sequence of Task
        Independent tasks (no task reads another's output).
    cluster : ClusterConfig
        Resources; ``cluster.for_stage(stage)`` is used.
    stage : str
        Stage name (``md``, ``ssw``, ``label``, ``vasp``, ``train``, ``learn``).
    work_dir : str or Path
        Folder holding the outputs; the engine's records go to ``work_dir/.lizrcl-engine``.

    Raises
    ------
    RunFailed
        If a task failed after its retries (the first failure is chained; all are named).
    """
    from lizrcl_tools.cluster.session import ENGINE_DIR, engine_session

    keys = [t.key for t in tasks]
    bad = [k for k in keys if not _KEY.match(k)]
    if bad or len(set(keys)) != len(keys):
        raise SetupError(f"task keys must be unique file names: {bad or keys}")
    resources = cluster.for_stage(stage)
    results: dict[str, Any] = {}
    pending = []
    for task in tasks:
        finished = task.done() if task.done is not None else None
        if finished is not None:
            results[task.key] = finished
        else:
            pending.append(task)
    if not pending:
        return {k: results[k] for k in keys}
    task_dir = Path(work_dir).resolve() / ENGINE_DIR / "tasks"
    task_dir.mkdir(parents=True, exist_ok=True)
    with engine_session(resources, work_dir, stage) as dfk:
        from parsl.app.python import PythonApp

        apps = {cache: PythonApp(execute_task_file, data_flow_kernel=dfk, executors=[stage], cache=cache)
                for cache in (True, False)}
        futures = {}
        for task in pending:
            blob = pickle.dumps((task.function, task.kwargs))
            path = task_dir / f"{task.key}.pkl"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(blob)
            tmp.replace(path)
            app = apps[task.done is None]
            futures[task.key] = app(task.key, str(path), hashlib.sha256(blob).hexdigest())
        failures = []
        for key, future in futures.items():
            try:
                results[key] = future.result()
            except Exception as exc:  # noqa: BLE001 - collected, then raised together
                failures.append((key, exc))
    if failures:
        names = "; ".join(f"{k}: {type(e).__name__}: {e}" for k, e in failures)
        raise RunFailed(f"{len(failures)} of {len(pending)} {stage} tasks failed ({names})") from failures[0][1]
    return {k: results[k] for k in keys}
