"""Minimal reading and trimming of LAMMPS ``dump custom`` text files.

Only what the runner needs to resume a run without duplicate frames (frame timesteps and byte
offsets, truncation) plus a small frame reader for checks and tests. Trajectory analysis uses
MDAnalysis (see :mod:`lizrcl_tools.analysis`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lizrcl_tools.errors import ParseError


def frame_index(path: str | Path) -> list[tuple[int | None, int]]:
    """(timestep, byte offset of its ``ITEM: TIMESTEP`` line) for every frame in ``path``.

    A frame whose timestep line was cut short at the end of the file (a killed run) is listed
    with timestep None, so callers can trim it.
    """
    path = Path(path)
    out: list[tuple[int | None, int]] = []
    with open(path, "rb") as fd:
        offset = 0
        offset_step = 0
        expect_step = False
        for lineno, line in enumerate(fd, start=1):
            if expect_step:
                if not line.endswith(b"\n"):
                    out.append((None, offset_step))
                else:
                    try:
                        out.append((int(line), offset_step))
                    except ValueError:
                        raise ParseError(path, f"bad timestep {line!r}", lineno) from None
                expect_step = False
            elif line.startswith(b"ITEM: TIMESTEP"):
                expect_step = True
                offset_step = offset
            offset += len(line)
        if expect_step:  # file ends right after "ITEM: TIMESTEP"
            out.append((None, offset_step))
    return out


def dump_steps(path: str | Path) -> list[int]:
    """Timesteps of the frames in ``path``, in file order (a cut-off last header is left out)."""
    return [step for step, _ in frame_index(path) if step is not None]


def truncate_before(path: str | Path, step: int) -> list[int]:
    """Cut ``path`` just before the first frame whose timestep is >= ``step`` (or is unreadable).

    Used on resume: LAMMPS writes the frame at the restart step again, and anything after it
    (or a half-written frame) belongs to the interrupted attempt.

    Returns
    -------
    list of int
        Timesteps of the frames kept.
    """
    path = Path(path)
    if not path.exists():
        return []
    keep: list[int] = []
    cut = None
    for s, off in frame_index(path):
        if s is None or s >= step:
            cut = off
            break
        keep.append(s)
    if cut is not None:
        with open(path, "rb+") as fd:
            fd.truncate(cut)
            fd.flush()
            os.fsync(fd.fileno())
    return keep


def read_dump_frames(path: str | Path) -> dict[str, np.ndarray]:
    """Read a whole ``id type xu yu zu`` dump into arrays (small files: checks and tests).

    Returns
    -------
    dict
        ``steps`` (F,), ``ids`` (F, N), ``types`` (F, N), ``positions_A`` (F, N, 3), Å.
    """
    path = Path(path)
    steps, ids, types, pos = [], [], [], []
    with open(path) as fd:
        lines = fd.read().splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("ITEM: TIMESTEP"):
            raise ParseError(path, f"expected 'ITEM: TIMESTEP', found {lines[i]!r}", i + 1)
        steps.append(int(lines[i + 1]))
        n = int(lines[i + 3])
        header = lines[i + 8].split()[2:]
        cols = [header.index(c) for c in ("id", "type", "xu", "yu", "zu")]
        block = np.array([lines[i + 9 + k].split() for k in range(n)], dtype=float)
        if block.shape != (n, len(header)):
            raise ParseError(path, f"frame at step {steps[-1]} is incomplete", i + 1)
        ids.append(block[:, cols[0]].astype(int))
        types.append(block[:, cols[1]].astype(int))
        pos.append(block[:, cols[2:]])
        i += 9 + n
    return {
        "steps": np.array(steps, dtype=int),
        "ids": np.array(ids),
        "types": np.array(types),
        "positions_A": np.array(pos),
    }


read_frames = read_dump_frames
"""Old name of :func:`read_dump_frames` (kept as an alias for one release)."""
