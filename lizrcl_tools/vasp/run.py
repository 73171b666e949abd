"""``lizrcl vasp run``: run VASP in prepared folders, one task per folder, finished ones skipped.

A run folder is a folder holding an INCAR and a POSCAR (what ``lizrcl vasp write`` makes). A
folder is **complete** when it holds a vasprun.xml (or vasprun.xml.gz) that parses to the end
with at least one ionic step (:func:`vasprun_complete`, the reader of ``vasp collect``): a run
still writing, or killed, leaves an unclosed XML and is run again. Complete folders are never
sent to a worker, so rerunning the same command after an interruption runs only what is left.

The command (the cluster file's ``vasp_command``, e.g. ``srun vasp_std``; ``--command``
overrides it) runs through the shell inside the folder, stdout and stderr to ``vasp.out``. With
``custodian=True`` it runs under custodian's VASP job instead (error handlers that edit the
INCAR and rerun: :data:`CUSTODIAN_HANDLERS`); custodian is optional and only imported then.

A NEB folder (``vasp/neb_folders``: an INCAR with ``IMAGES = N``, image folders ``00`` …
``N+1``) is one task, run in the parent folder as VASP wants. VASP writes each moving image's
outputs into ``01`` … ``N`` and nothing into the endpoints, so the band is complete when every
moving image holds a complete vasprun.xml (:func:`neb_complete`); one truncated image means the
band was interrupted, and the whole band runs again (VASP overwrites every image's outputs).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import LizrclError, RunFailed, SetupError

VASPRUN_NAMES = ("vasprun.xml", "vasprun.xml.gz")
OUTPUT_LOG = "vasp.out"
CUSTODIAN_HANDLERS = ("VaspErrorHandler", "UnconvergedErrorHandler")
"""custodian.vasp.handlers used with ``custodian=True`` (both read files VASP always writes:
vasp.out and vasprun.xml), with the VasprunXMLValidator."""


def vasprun_complete(folder: str | os.PathLike) -> dict[str, Any] | None:
    """Summary of a finished run in ``folder``, or None if it holds no complete vasprun.xml.

    Returns
    -------
    dict or None
        ``{"folder", "file", "n_steps", "energy_eV"}`` (free energy of the last ionic step, eV).
    """
    from lizrcl_tools.vasp.vasprun import read_vasprun

    folder = Path(folder)
    for name in VASPRUN_NAMES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            steps, _ = read_vasprun(path)
        except LizrclError:  # truncated (still running, or killed) or damaged: not finished
            return None
        if not steps:
            return None
        return {"folder": str(folder), "file": path.name, "n_steps": len(steps),
                "energy_eV": float(steps[-1].energy)}
    return None


def neb_complete(folder: str | os.PathLike) -> dict[str, Any] | None:
    """Summary of a finished NEB band in ``folder``, or None if any moving image lacks a
    complete vasprun.xml (or ``folder`` is not a NEB folder).

    Returns
    -------
    dict or None
        ``{"folder", "file", "n_steps", "energy_eV", "neb_images", "image_energies_eV"}``:
        ``n_steps`` the fewest ionic steps of an image, ``energy_eV`` the highest last free
        energy of a moving image (eV), ``image_energies_eV`` those of images 01 … N in order.
    """
    from lizrcl_tools.vasp.neb_folders import neb_image_folders

    folder = Path(folder)
    images = neb_image_folders(folder)
    if not images:
        return None
    done = [vasprun_complete(image) for image in images]
    if any(d is None for d in done):
        return None
    energies = [d["energy_eV"] for d in done]
    return {"folder": str(folder), "file": f"{{{images[0].name}..{images[-1].name}}}/{done[0]['file']}",
            "n_steps": min(d["n_steps"] for d in done), "energy_eV": max(energies),
            "neb_images": len(images), "image_energies_eV": energies}


def folder_complete(folder: str | os.PathLike) -> dict[str, Any] | None:
    """:func:`neb_complete` for a NEB folder, else :func:`vasprun_complete`."""
    from lizrcl_tools.vasp.neb_folders import neb_image_folders

    return neb_complete(folder) if neb_image_folders(folder) else vasprun_complete(folder)


def find_run_folders(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders (holding an INCAR) among ``paths``: a path with an INCAR is one; any other
    folder is searched below for folders with an INCAR (not below those: NEB image folders
    would belong to their parent). Sorted within each given path, absolute, no duplicates.

    Raises
    ------
    SetupError
        A path does not exist, holds no run folder, or a run folder has no POSCAR.
    """
    from lizrcl_tools.vasp.neb_folders import neb_image_folders

    found: list[Path] = []
    for raw in paths:
        path = Path(raw).resolve()
        if not path.is_dir():
            raise SetupError(f"{raw}: not a folder (give VASP run folders, or a folder of them)")
        if (path / "INCAR").is_file():
            here = [path]
        else:
            # not inside hidden folders (the engine's records, .lizrcl-engine)
            here = sorted({incar.parent for incar in path.rglob("INCAR")
                           if not any(part.startswith(".") for part in incar.parent.relative_to(path).parts)})
            here = [f for f in here if not any(g != f and g in f.parents for g in here)]
            if not here:
                raise SetupError(f"{raw}: no folder with an INCAR in this tree (write inputs with 'lizrcl vasp write')")
        for folder in here:
            if not (folder / "POSCAR").is_file() and neb_image_folders(folder) is None:
                raise SetupError(f"{folder}: INCAR but neither a POSCAR nor IMAGES (a NEB's 00 … NN folders)")
            if folder not in found:
                found.append(folder)
    return found


def run_vasp_folder(folder: str, command: str, custodian: bool = False, max_errors: int = 5) -> dict[str, Any]:
    """Worker side: run ``command`` in ``folder`` unless the folder is already complete.

    Parameters
    ----------
    folder : str
        Absolute path of the run folder.
    command : str
        Shell command that runs VASP (e.g. ``srun vasp_std``).
    custodian : bool
        Run under custodian's VaspJob with :data:`CUSTODIAN_HANDLERS` (needs custodian).
    max_errors : int
        custodian: corrections allowed before giving up.

    Returns
    -------
    dict
        :func:`vasprun_complete`'s summary plus ``"ran": True/False``.

    Raises
    ------
    RunFailed
        The command failed, or left no complete vasprun.xml (the end of vasp.out is quoted).
    """
    done = folder_complete(folder)
    if done is not None:  # a retry, or a folder finished while no driver watched
        return {**done, "ran": False}
    path = Path(folder)
    if custodian:
        _run_custodian(path, command, max_errors)
    else:
        with (path / OUTPUT_LOG).open("w") as log:
            rc = subprocess.run(command, shell=True, cwd=path, stdout=log, stderr=subprocess.STDOUT,
                                check=False).returncode
        if rc != 0:
            raise RunFailed(f"{path}: '{command}' exited with status {rc}{_tail(path)}")
    done = folder_complete(path)
    if done is None:
        what = "complete vasprun.xml in some moving image" if _is_neb(path) else "complete vasprun.xml"
        raise RunFailed(f"{path}: '{command}' finished but left no {what}{_tail(path)}")
    return {**done, "ran": True}


def _is_neb(folder: Path) -> bool:
    from lizrcl_tools.vasp.neb_folders import neb_image_folders

    return bool(neb_image_folders(folder))


def _tail(folder: Path, lines: int = 8) -> str:
    log = folder / OUTPUT_LOG
    if not log.is_file():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log}:\n" + "\n".join(text) if text else f"; {log} is empty"


def _run_custodian(folder: Path, command: str, max_errors: int) -> None:
    """VASP under custodian: VaspErrorHandler + UnconvergedErrorHandler, vasprun validator."""
    try:
        from custodian.custodian import Custodian, CustodianError
        from custodian.vasp.handlers import UnconvergedErrorHandler, VaspErrorHandler
        from custodian.vasp.jobs import VaspJob
        from custodian.vasp.validators import VasprunXMLValidator
    except ImportError as exc:
        raise SetupError("custodian error handling asked for, but custodian is not installed "
                         "(pip install custodian), or run without --custodian") from exc
    # auto_gamma reads the POTCAR before the run; the command is the user's, as given.
    job = VaspJob(shlex.split(command), output_file=OUTPUT_LOG, auto_gamma=False)
    runner = Custodian([VaspErrorHandler(output_filename=OUTPUT_LOG), UnconvergedErrorHandler()], [job],
                       validators=[VasprunXMLValidator()], max_errors=max_errors, directory=str(folder),
                       polling_time_step=1, monitor_freq=10)
    try:
        runner.run()
    except CustodianError as exc:
        raise RunFailed(f"{folder}: custodian gave up: {exc}{_tail(folder)}") from exc


@dataclass
class VaspRunReport:
    """What :func:`run_vasp_folders` did.

    Attributes
    ----------
    results : dict
        Folder → summary (:func:`vasprun_complete`, plus ``ran``).
    skipped : list of Path
        Folders complete before the call (no task was sent).
    ran : list of Path
        Folders in which the command ran.
    """

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[Path] = field(default_factory=list)
    ran: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts of folders run and skipped."""
        return (f"{len(self.results)} VASP folders: {len(self.ran)} ran, "
                f"{len(self.skipped)} already complete (skipped)")


def task_key(folder: Path, root: Path) -> str:
    """File-name-safe task key of ``folder`` (its path under ``root``)."""
    rel = folder.relative_to(root).as_posix() if folder != root else folder.name
    return "vasp-" + re.sub(r"[^A-Za-z0-9_.+-]", "_", rel).lstrip("._-")


def run_vasp_folders(
    folders: Sequence[str | os.PathLike],
    cluster: Any = None,
    *,
    command: str | None = None,
    custodian: bool = False,
    work_dir: str | os.PathLike | None = None,
) -> VaspRunReport:
    """Run VASP in every incomplete run folder, one Parsl task per folder (``vasp`` block).

    Parameters
    ----------
    folders : sequence of path
        Run folders, or folders holding them (:func:`find_run_folders`).
    cluster : lizrcl_tools.cluster.ClusterConfig, optional
        Where to run; None: one folder after another in this process.
    command : str, optional
        VASP command; default the cluster file's ``vasp_command`` (``vasp_std`` without one).
    custodian : bool
        Run each folder under custodian (optional dependency).
    work_dir : path, optional
        Where the engine keeps its records (default: the folders' common parent).

    Returns
    -------
    VaspRunReport
    """
    runs = find_run_folders(folders)
    if custodian and any(_is_neb(f) for f in runs):
        raise SetupError("custodian's VASP job checks a vasprun.xml in the run folder, which a NEB does not "
                         "write there: run NEB folders without --custodian")
    if command is None:
        command = cluster.vasp_command if cluster is not None else "vasp_std"
    if not command.strip():
        raise SetupError("empty VASP command")
    report = VaspRunReport()
    root = Path(work_dir).resolve() if work_dir else Path(os.path.commonpath([str(f) for f in runs]))
    if root in runs:  # a single folder: records beside it, not inside
        root = root.parent
    pending = []
    for folder in runs:
        done = folder_complete(folder)
        if done is not None:
            report.results[str(folder)] = {**done, "ran": False}
            report.skipped.append(folder)
        else:
            pending.append(folder)
    if cluster is None:
        for folder in pending:
            report.results[str(folder)] = run_vasp_folder(str(folder), command, custodian)
    elif pending:
        from lizrcl_tools.cluster.tasks import Task, run_tasks

        keys = [task_key(f, root) for f in pending]
        if len(set(keys)) != len(keys):
            keys = [f"{k}-{i:04d}" for i, k in enumerate(keys)]
        tasks = [Task(key=k, function=run_vasp_folder,
                      kwargs={"folder": str(f), "command": command, "custodian": custodian},
                      done=partial(folder_complete, f)) for k, f in zip(keys, pending)]
        results = run_tasks(tasks, cluster, "vasp", root)
        for key, folder in zip(keys, pending):
            report.results[str(folder)] = {"ran": True, **results[key]}
    report.ran = [f for f in pending if report.results[str(f)].get("ran")]
    report.results = {str(f): report.results[str(f)] for f in runs}
    return report
