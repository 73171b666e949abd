"""Streaming reader of LAMMPS ``dump custom`` files (text or gzip), fast and memory-bounded.

Frames are read in blocks of bytes (``CHUNK_BYTES``); frame boundaries come from the
newline positions (numpy), the headers are checked frame by frame, and the atom lines of
every frame in the block are parsed in one call to pandas' C parser, keeping only the
requested columns. Rows are sorted by atom id. Nothing but the current block is held, so the
caller decides what to keep (the analysis keeps the mobile ions and the framework centre of
mass). On a 432-atom, 10,000-frame dump this is ~15× faster than MDAnalysis' reader.

Boxes: orthogonal ``ITEM: BOX BOUNDS pp pp pp`` and restricted triclinic
``ITEM: BOX BOUNDS xy xz yz ...`` (bounding box + tilts) are turned into cell rows a, b, c
(Å, LAMMPS orientation) and the origin (xlo, ylo, zlo). The general-triclinic ``abc origin``
form is refused. Every frame must hold the same number of atoms with the same columns.

A file that ends inside a frame (a run killed while writing) is read up to the last complete
frame; :attr:`LammpsDumpReader.incomplete_tail` then says what was dropped.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lizrcl_tools.errors import ParseError

CHUNK_BYTES = 32 * 1024 * 1024
"""Bytes read per block: bounds the transient memory of the reader."""


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def box_to_cell(header: str, lines: Sequence[bytes | str], path: Path, line: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cell rows (3×3, Å) and origin (3,) from an ``ITEM: BOX BOUNDS`` header and its 3 lines."""
    try:
        values = [[float(x) for x in ln.split()] for ln in lines]
    except ValueError as exc:
        raise ParseError(path, f"box bounds are not numbers: {exc}", line) from exc
    tokens = header.split()[3:]
    if "abc" in tokens:
        raise ParseError(path, "general triclinic boxes ('BOX BOUNDS abc origin') are not supported; "
                         "dump with a restricted triclinic box", line)
    if "xy" in tokens:
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = values
        xlo = xlo_b - min(0.0, xy, xz, xy + xz)
        xhi = xhi_b - max(0.0, xy, xz, xy + xz)
        ylo = ylo_b - min(0.0, yz)
        yhi = yhi_b - max(0.0, yz)
    else:
        (xlo, xhi), (ylo, yhi), (zlo, zhi) = (v[:2] for v in values)
        xy = xz = yz = 0.0
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return cell, np.array([xlo, ylo, zlo])


@dataclass(frozen=True)
class DumpChunk:
    """Consecutive frames of a dump.

    Attributes
    ----------
    first_frame : int
        Index (0-based) of the first frame of the chunk in the file.
    steps : ndarray, shape (k,)
        MD step of each frame.
    cells : ndarray, shape (k, 3, 3)
        Cell rows a, b, c per frame (Å).
    origins : ndarray, shape (k, 3)
        Box origin per frame (Å).
    table : ndarray, shape (k, n_atoms, n_columns)
        The requested columns, rows sorted by atom id.
    """

    first_frame: int
    steps: np.ndarray
    cells: np.ndarray
    origins: np.ndarray
    table: np.ndarray


class LammpsDumpReader:
    """Reader of one LAMMPS dump file; see the module docstring.

    Parameters
    ----------
    path : str or PathLike
        The dump (``.gz`` read through gzip).

    Attributes
    ----------
    columns : tuple of str
        Column names of ``ITEM: ATOMS``.
    n_atoms : int
        Atoms per frame.
    incomplete_tail : str or None
        Set after :meth:`chunks` is exhausted when the file ended inside a frame.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ParseError(self.path, "trajectory not found")
        self.incomplete_tail: str | None = None
        header: list[str] = []
        with _open(self.path) as handle:
            for _ in range(64):
                raw = handle.readline()
                if not raw:
                    break
                header.append(raw.decode("utf-8", "replace").rstrip("\n"))
                if header[-1].startswith("ITEM: ATOMS"):
                    break
        if not header or not header[0].startswith("ITEM: TIMESTEP") or not header[-1].startswith("ITEM: ATOMS"):
            raise ParseError(self.path, "not a LAMMPS dump: expected 'ITEM: TIMESTEP' ... 'ITEM: ATOMS' headers", 1)
        self.header_lines = len(header)
        try:
            count_at = header.index("ITEM: NUMBER OF ATOMS") + 1
            self.box_at = next(i for i, h in enumerate(header) if h.startswith("ITEM: BOX BOUNDS"))
            self.n_atoms = int(header[count_at])
        except (ValueError, StopIteration, IndexError) as exc:
            raise ParseError(self.path, f"first frame header incomplete ({exc})", 1) from exc
        self.count_at = count_at
        self.atoms_header = header[-1]
        self.columns = tuple(header[-1].split()[2:])
        if "id" not in self.columns:
            raise ParseError(self.path, f"the dump has no 'id' column (columns: {' '.join(self.columns)})",
                             self.header_lines)
        self.box_header = header[self.box_at]
        self.lines_per_frame = self.header_lines + self.n_atoms

    def first_frame_column(self, name: str) -> np.ndarray:
        """One column of the first frame as strings, rows sorted by id."""
        with _open(self.path) as handle:
            lines = [handle.readline() for _ in range(self.lines_per_frame)]
        rows = [ln.split() for ln in lines[self.header_lines:]]
        if len(rows) < self.n_atoms or any(len(r) < len(self.columns) for r in rows):
            raise ParseError(self.path, "first frame incomplete", self.header_lines + 1)
        ids = np.array([int(float(r[self.columns.index("id")])) for r in rows])
        values = np.array([r[self.columns.index(name)].decode() for r in rows])
        return values[np.argsort(ids, kind="stable")]

    def chunks(self, columns: Sequence[str], chunk_bytes: int = CHUNK_BYTES) -> Iterator[DumpChunk]:
        """Yield the requested numeric columns (plus the checks of every header), block by block."""
        import pandas as pd

        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise ParseError(self.path, f"column(s) {missing} not in the dump (columns: {' '.join(self.columns)})")
        use = [self.columns.index(c) for c in ("id", *columns)]
        order = np.argsort(use)  # pandas returns usecols in file order
        back = np.argsort(order)
        per = self.lines_per_frame
        frame0 = 0
        leftover = b""
        with _open(self.path) as handle:
            while True:
                block = handle.read(chunk_bytes)
                data = leftover + block
                at_end = not block
                nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
                n_frames = len(nl) // per
                if n_frames == 0:
                    if at_end:
                        self._tail(data, frame0)
                        return
                    leftover = data
                    continue
                used = int(nl[n_frames * per - 1]) + 1
                starts = np.concatenate([[0], nl[: n_frames * per - 1] + 1])
                steps, cells, origins = self._headers(data, starts, nl, n_frames, frame0)
                view = memoryview(data)
                body = b"".join(
                    view[starts[k * per + self.header_lines] : nl[(k + 1) * per - 1] + 1] for k in range(n_frames)
                )
                # LAMMPS separates columns by one space; the single-character separator parses
                # ~40 % faster, and any other spacing (padding, tabs) falls back to whitespace runs
                odd = b"  " in body or b"\t" in body or b"\n " in body or body[:1] == b" " or b"\r" in body
                try:
                    table = pd.read_csv(io.BytesIO(body), sep=r"\s+" if odd else " ", header=None, usecols=use,
                                        dtype=np.float64, engine="c").to_numpy()
                except (ValueError, pd.errors.ParserError) as exc:
                    raise ParseError(self.path, f"frames {frame0}-{frame0 + n_frames - 1}: atom lines "
                                     f"not numeric where expected ({exc})") from exc
                if table.shape[0] != n_frames * self.n_atoms:
                    raise ParseError(self.path, f"frames {frame0}-{frame0 + n_frames - 1}: atom lines malformed")
                table = table[:, back].reshape(n_frames, self.n_atoms, len(use))
                ids = table[:, :, 0]
                if not np.all(ids[:, 1:] > ids[:, :-1]):
                    sort = np.argsort(ids, axis=1, kind="stable")
                    table = np.take_along_axis(table, sort[:, :, None], axis=1)
                yield DumpChunk(frame0, steps, cells, origins, table)
                frame0 += n_frames
                leftover = data[used:]
                if at_end:
                    self._tail(leftover, frame0)
                    return

    def _line(self, data: bytes, starts: np.ndarray, nl: np.ndarray, i: int) -> str:
        return data[starts[i] : nl[i]].decode("utf-8", "replace").strip()

    def _headers(self, data, starts, nl, n_frames, frame0):
        per, h = self.lines_per_frame, self.header_lines
        steps = np.empty(n_frames, dtype=np.int64)
        cells = np.empty((n_frames, 3, 3))
        origins = np.empty((n_frames, 3))
        for k in range(n_frames):
            base = k * per
            file_line = (frame0 + k) * per + 1
            first = self._line(data, starts, nl, base)
            if first != "ITEM: TIMESTEP" or self._line(data, starts, nl, base + h - 1) != self.atoms_header:
                raise ParseError(self.path, f"frame {frame0 + k}: expected a header like the first frame's "
                                 f"({self.n_atoms} atoms, columns {' '.join(self.columns)}); the number of "
                                 "atoms or the columns changed", file_line)
            try:
                steps[k] = int(self._line(data, starts, nl, base + 1))
                count = int(self._line(data, starts, nl, base + self.count_at))
            except ValueError as exc:
                raise ParseError(self.path, f"frame {frame0 + k}: bad header ({exc})", file_line) from exc
            if count != self.n_atoms:
                raise ParseError(self.path, f"frame {frame0 + k} has {count} atoms, the first frame "
                                 f"{self.n_atoms}; every frame must hold the same atoms", file_line + self.count_at)
            box = [data[starts[base + self.box_at + j] : nl[base + self.box_at + j]] for j in (1, 2, 3)]
            cells[k], origins[k] = box_to_cell(self.box_header, box, self.path, file_line + self.box_at)
        return steps, cells, origins

    def _tail(self, rest: bytes, n_complete: int) -> None:
        if not rest.strip():
            return
        lines = rest.split(b"\n")
        step = lines[1].decode("utf-8", "replace").strip() if len(lines) > 1 else "?"
        n_lines = rest.count(b"\n")
        self.incomplete_tail = (
            f"{self.path.name} ends inside frame {n_complete} (step {step}: "
            f"{n_lines} of {self.lines_per_frame} lines): that frame is skipped"
        )
