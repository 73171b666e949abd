"""One Parsl session per fan-out: started, and always stopped, by :func:`engine_session`.

Parsl's interchange and worker pool run in their own process groups: a driver killed with
SIGKILL leaves them running (on this platform for about two minutes, still writing into the
run folders). Every process of a session therefore carries :data:`SESSION_ENV` in its
environment, each session leaves ``ENGINE/sessions/<tag>.json`` while it runs, and the next
session on the same folder first ends the processes of sessions whose driver is gone. SIGTERM
(a cancelled batch job) and SIGINT stop the executor the normal way.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lizrcl_tools.cluster.config import StageResources
from lizrcl_tools.cluster.parsl_config import SESSION_ENV, make_parsl_config
from lizrcl_tools.errors import LizrclWarning, SetupError

ENGINE_DIR = ".lizrcl-engine"
"""Folder, inside a work folder, of the engine's records (sessions, Parsl logs, checkpoints)."""


def session_processes(tag: str) -> list[int]:
    """PIDs of processes (other than this one) whose environment carries session ``tag``."""
    needle = f"{SESSION_ENV}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def engine_processes(engine_dir: Path) -> list[int]:
    """PIDs of processes (other than this one) holding a file open under ``engine_dir``.

    Parsl's interchange renames itself ("parsl: HTEX interchange") in a way that overwrites
    its command line and environment in /proc, so the session tag cannot find it; its log
    file under the engine folder does.
    """
    root = str(Path(engine_dir).resolve()) + os.sep
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            targets = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:  # gone, or another user's
            continue
        if any(t.startswith(root) for t in targets):
            found.append(int(entry.name))
    return found


def end_processes(pids: list[int], grace_s: float = 3.0) -> None:
    """SIGTERM ``pids``, then SIGKILL those still alive after ``grace_s`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive or sig == signal.SIGKILL:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in alive):
            time.sleep(0.1)
        pids = [p for p in alive if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _process_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (tells a reused PID from the original)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def reap_stale_sessions(engine_dir: Path) -> list[int]:
    """End the processes of earlier sessions on ``engine_dir`` whose driver is gone.

    Raises
    ------
    SetupError
        If another driver is still running a session on this folder.

    Returns
    -------
    list of int
        The PIDs that were ended.
    """
    ended: list[int] = []
    for record in sorted((engine_dir / "sessions").glob("*.json")):
        try:
            info = json.loads(record.read_text())
        except (OSError, ValueError):
            record.unlink(missing_ok=True)
            continue
        pid, start = info.get("driver_pid"), info.get("driver_start")
        if pid != os.getpid() and _alive(pid) and _process_start(pid) == start:
            raise SetupError(
                f"{engine_dir.parent} is in use by another lizrcl driver (pid {pid}, session "
                f"{info.get('session')}); wait for it or end it first"
            )
        pids = sorted(set(session_processes(info["session"])) | set(engine_processes(engine_dir)))
        end_processes(pids)
        ended += pids
        record.unlink(missing_ok=True)
    return ended


def readable_checkpoints(parsl_dir: Path) -> list[str]:
    """Checkpoint folders of earlier sessions that load; a damaged one (a driver killed while
    writing it) is skipped with a warning instead of blocking the restart: the run folders are
    the durable record, the checkpoint only saves the round trip to a worker."""
    from parsl.utils import get_all_checkpoints

    good = []
    for folder in get_all_checkpoints(str(parsl_dir)):
        path = Path(folder) / "tasks.pkl"
        if not path.exists():
            continue
        try:
            with path.open("rb") as f:
                while True:
                    try:
                        pickle.load(f)
                    except EOFError:
                        break
        except Exception as exc:  # noqa: BLE001 - any damage means: do not load it
            warnings.warn(f"{path}: damaged Parsl checkpoint skipped ({type(exc).__name__}); "
                          "finished tasks are still recognised by their output folders", LizrclWarning,
                          stacklevel=3)
            continue
        good.append(folder)
    return good


def _raise_interrupt(signum: int, frame: Any) -> None:  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def engine_session(resources: StageResources, work_dir: str | Path, stage: str) -> Iterator[Any]:
    """Start a Parsl DataFlowKernel for ``stage`` in ``work_dir``; stop it however the block ends.

    Parameters
    ----------
    resources : StageResources
        The stage's block of the cluster file.
    work_dir : str or Path
        Work folder; the engine keeps its records in ``work_dir/.lizrcl-engine``.
    stage : str
        Stage name (executor label).

    Yields
    ------
    parsl.DataFlowKernel
        The loaded kernel.
    """
    import parsl

    engine_dir = Path(work_dir).resolve() / ENGINE_DIR
    (engine_dir / "sessions").mkdir(parents=True, exist_ok=True)
    reap_stale_sessions(engine_dir)
    tag = uuid.uuid4().hex
    record = engine_dir / "sessions" / f"{tag}.json"
    record.write_text(json.dumps({"session": tag, "driver_pid": os.getpid(),
                                  "driver_start": _process_start(os.getpid()), "stage": stage,
                                  "resources": resources.to_dict()}))
    saved_env = {k: os.environ.get(k) for k in (SESSION_ENV, "PATH")}
    # The interchange is started by this process: it needs the tag and the venv's bin/ too.
    os.environ[SESSION_ENV] = tag
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    main_thread = threading.current_thread() is threading.main_thread()
    saved_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt) if main_thread else None
    dfk = None
    try:
        config = make_parsl_config(resources, engine_dir / "parsl", stage, tag,
                                   readable_checkpoints(engine_dir / "parsl"))
        dfk = parsl.load(config)
        yield dfk
    finally:
        try:
            if dfk is not None:
                dfk.cleanup()
        finally:
            parsl.clear()
            end_processes(session_processes(tag))
            record.unlink(missing_ok=True)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            if main_thread:
                signal.signal(signal.SIGTERM, saved_sigterm)
