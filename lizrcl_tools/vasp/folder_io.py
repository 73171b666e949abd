"""Run folders on disk: written whole or not at all, and what is already there.

A folder is written into a hidden temporary folder beside it and renamed into place, so a
folder that exists is complete (:func:`write_folder`). Existing folders are refused, replaced or
kept when identical (``Existing``); :func:`refuse_existing` checks before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from lizrcl_tools.errors import SetupError

MANIFEST_JSON = "manifest.json"
MANIFEST_CSV = "manifest.csv"

Existing = Literal["error", "overwrite", "skip"]

NOTES_FILE = "NOTES.txt"

INPUT_FILES = frozenset({"INCAR", "KPOINTS", "POSCAR", "POTCAR", "POTCAR.spec", NOTES_FILE})
"""Names this writer writes; anything else in a run folder (OUTCAR, vasprun.xml, ...) is kept."""


def same_files(folder: Path, files: Mapping[str, str]) -> str | None:
    """None when ``folder`` holds exactly ``files`` with that content, else what differs."""
    present = {p.name for p in folder.iterdir()}
    if present != set(files):
        return f"files {sorted(present)} instead of {sorted(files)}"
    for name, text in files.items():
        if (folder / name).read_text() != text:
            return f"{name} differs"
    return None


def refuse_outputs(target: Path) -> None:
    """Never replace a folder holding files the writer did not write (VASP outputs, logs)."""
    foreign = sorted(p.name for p in target.iterdir() if p.name not in INPUT_FILES)
    if foreign:
        shown = ", ".join(foreign[:4]) + (" ..." if len(foreign) > 4 else "")
        raise SetupError(
            f"{target} holds files vasp write did not write ({shown}): VASP outputs are never "
            "deleted or replaced; write the inputs into a new output folder (-o)"
        )


def write_folder(target: Path, files: Mapping[str, str], existing: Existing) -> str:
    """Write ``files`` into ``target`` atomically (temp folder + rename); return the status.

    ``overwrite`` replaces only folders holding nothing but input files; a folder with any
    other file (a finished or running job's outputs) is refused, never deleted.
    """
    if target.exists():
        if existing == "skip":
            difference = same_files(target, files)
            if difference is None:
                return "skipped"
            raise SetupError(
                f"{target} exists but is not what this preset/override/structure writes "
                f"({difference}); --overwrite replaces a folder that holds only inputs, a folder "
                "with VASP outputs never: write those into a new output folder (-o)"
            )
        if existing == "error":
            raise SetupError(f"{target} exists; use --overwrite or --skip-existing")
        refuse_outputs(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; run folders are shared with the queue user
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return "written"


def run_folders(outdir: Path, stems: Iterable[str]) -> list[str]:
    """Names of folders in ``outdir`` that this writer would name ``<stem>_NNNNN``."""
    if not outdir.is_dir():
        return []
    pattern = re.compile(rf"^(?:{'|'.join(re.escape(s) for s in stems)})_\d{{5,}}$")
    return sorted(p.name for p in outdir.iterdir() if p.is_dir() and pattern.match(p.name))


def stale_folders(outdir: Path, stems: Iterable[str], written: set[str]) -> list[str]:
    """Run folders of these stems in ``outdir`` that this call did not write."""
    return [name for name in run_folders(outdir, stems) if name not in written]


def refuse_existing(outdir: Path, stems: Iterable[str]) -> None:
    """Raise :class:`SetupError` if ``outdir`` already holds run folders of these stems or a manifest."""
    if not outdir.is_dir():
        return
    clashes = run_folders(outdir, stems)
    if clashes or (outdir / MANIFEST_JSON).exists():
        shown = ", ".join(clashes[:3]) + (" ..." if len(clashes) > 3 else "")
        raise SetupError(
            f"{outdir} already holds run folders ({shown or MANIFEST_JSON}); pass --overwrite to "
            "replace them or --skip-existing to keep complete identical folders"
        )
