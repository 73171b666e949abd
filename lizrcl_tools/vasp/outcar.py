"""OUTCAR reader: every complete ionic step (lattice, positions, forces, stress, TOTEN).

What this reader knows about the format:

- VASP prints numbers in fixed-width Fortran fields; a wide negative number runs into its
  neighbour (``0.000000000-19.396266833``, ``-12353.08821-12353.08821``). Numbers are split by
  their pattern, not by white space, and the count per line is checked.
- ``Iteration N(M)`` lines count electronic steps M of ionic step N. In a linear-response run
  (LEPSILON, LCALCEPS, LCHIMAG, IBRION = 7/8) the iterations after the first forces belong to
  the response calculation: they do not count toward NELM and do not mean the run stopped.
- A run that finished prints "General timing and accounting"; without it the file was cut.
- A damaged file (NUL bytes from lost file-system blocks, ionic counters out of order as when
  two runs wrote the same OUTCAR, stress present on some steps but not others) is refused:
  frames from it could be mislabelled.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lizrcl_tools.errors import ParseError
from lizrcl_tools.vasp.outputs import NELM_DEFAULT, RunInfo, Step, element_of, open_text

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eEdD][-+]?\d+)?")
_ITER_RE = re.compile(r"-+\s*Iteration\s+(\d+)?\s*\(\s*(\d+)\)")
_INT_RE = {name: re.compile(rf"\b{name}\s*=\s*(-?\d+)") for name in ("NELM", "IBRION", "NSW")}
_FLAG_RE = re.compile(r"\b(LEPSILON|LCALCEPS|LCHIMAG|ML_LMLFF)\s*=\s*(\.?[TF])")
_TIMING = "General timing and accounting"


def numbers(line: str, count: int, path: Path, lineno: int, what: str) -> list[float]:
    """The first ``count`` numbers of a fixed-width line, including numbers that run together."""
    found = _NUMBER.findall(line)
    if len(found) < count:
        if "*" in line:
            raise ParseError(path, f"unsupported: VASP wrote '****' (number too wide for its field) in a {what}", lineno)
        raise ParseError(path, f"{what}: expected {count} numbers, found {len(found)} in {line.strip()!r}", lineno)
    return [float(x.replace("d", "e").replace("D", "e")) for x in found[:count]]


def _stress(line: str, path: Path, lineno: int) -> np.ndarray:
    """3x3 stress (kB, VASP sign) from an ``in kB  XX YY ZZ XY YZ ZX`` line."""
    xx, yy, zz, xy, yz, zx = numbers(line.split("kB", 1)[1], 6, path, lineno, "'in kB' stress line")
    return np.array([[xx, xy, zx], [xy, yy, yz], [zx, yz, zz]])


class _State:
    """Mutable parse state of one OUTCAR (kept in one place so the loop stays readable)."""

    def __init__(self) -> None:
        self.potcars: list[str] = []
        self.counts: list[int] = []
        self.params: dict[str, int] = {}
        self.flags: dict[str, bool] = {}
        self.steps: list[Step] = []
        self.cell = self.stress = self.forces = self.positions = None
        self.n_scf = 0
        self.nul_lines = 0
        self.first_nul = 0
        self.disorder: list[str] = []
        self.complete = False
        self.response_iterations = 0

    @property
    def linear_response(self) -> bool:
        f = self.flags
        return bool(f.get("LEPSILON") or f.get("LCALCEPS") or f.get("LCHIMAG")) or self.params.get("IBRION") in (7, 8)


def _iteration(st: _State, match: re.Match, lineno: int) -> None:
    if st.linear_response and st.steps:
        st.response_iterations += 1
        return
    ionic = int(match.group(1)) if match.group(1) else None
    expected = len(st.steps) + 1
    if ionic is not None and ionic != expected and len(st.disorder) < 3:
        st.disorder.append(f"line {lineno}: ionic step counter {ionic} where {expected} was expected")
    st.n_scf = int(match.group(2))


def read_outcar(path: Path) -> tuple[list[Step], RunInfo]:
    """All complete ionic steps of an OUTCAR (plain or gzipped) and the run's NELM/IBRION/NSW.

    Raises
    ------
    ParseError
        Truncated blocks, bad numbers, species that are not elements, or a damaged file
        (the message starts with ``unsupported: damaged OUTCAR``).
    """
    st = _State()
    lineno = 0
    try:
        with open_text(path) as fh:
            lines = iter(fh)
            for line in lines:
                lineno += 1
                if "\x00" in line:
                    st.nul_lines += 1
                    st.first_nul = st.first_nul or lineno
                    line = line.replace("\x00", "")
                if line.startswith(" POTCAR:"):
                    st.potcars.append(line.split(":", 1)[1].strip())
                elif "ions per type =" in line:
                    st.counts = [int(x) for x in line.split("=")[1].split()]
                elif "Iteration" in line and (m := _ITER_RE.search(line)):
                    _iteration(st, m, lineno)
                elif " in kB " in line:
                    st.stress = _stress(line, path, lineno)
                elif "direct lattice vectors" in line:
                    rows = []
                    for _ in range(3):
                        lineno += 1
                        rows.append(numbers(next(lines), 3, path, lineno, "lattice vector"))
                    st.cell = np.array(rows)
                elif line.startswith(" POSITION") and "TOTAL-FORCE" in line:
                    n = sum(st.counts)
                    next(lines)
                    lineno += 1
                    block = []
                    for _ in range(n):
                        lineno += 1
                        block.append(numbers(next(lines), 6, path, lineno, "position/force line"))
                    data = np.array(block).reshape(n, 6)
                    st.positions, st.forces = data[:, :3], data[:, 3:]
                elif line.lstrip().startswith("free  energy   TOTEN"):
                    _finish_step(st, line, path, lineno)
                elif _TIMING in line:
                    st.complete = True
                elif "=" in line and not st.steps:
                    _header(st, line)
    except StopIteration as exc:
        raise ParseError(path, "file ends inside a lattice or force block (truncated)", lineno) from exc
    except ValueError as exc:
        raise ParseError(path, f"bad number ({exc})", lineno) from exc
    except (EOFError, OSError) as exc:
        raise ParseError(path, f"cannot read ({type(exc).__name__}: {exc})", lineno) from exc
    return st.steps, _run_info(st, path)


def _header(st: _State, line: str) -> None:
    for name, rx in _INT_RE.items():
        if name not in st.params and (m := rx.search(line)):
            st.params[name] = int(m.group(1))
    for m in _FLAG_RE.finditer(line):
        st.flags.setdefault(m.group(1), m.group(2).lstrip(".") == "T")


def _finish_step(st: _State, line: str, path: Path, lineno: int) -> None:
    if st.forces is None or st.cell is None:
        if st.linear_response and st.steps:
            return  # a response-part energy print, not an ionic step
        raise ParseError(
            path, "unsupported: final energy (TOTEN) without a force block before it (forces not computed)", lineno
        )
    energy = numbers(line.split("=", 1)[1], 1, path, lineno, "TOTEN")[0]
    st.steps.append(Step(_symbols(st, path), st.cell, st.positions, st.forces, energy, st.stress, st.n_scf))
    st.stress = st.forces = st.positions = None
    st.n_scf = 0


def _symbols(st: _State, path: Path) -> list[str]:
    # OUTCAR lists each POTCAR: line twice (header and summary): the first len(counts) count.
    if not st.counts:
        raise ParseError(path, "no 'ions per type' line before the first ionic step")
    if len(st.potcars) < len(st.counts):
        raise ParseError(path, f"{len(st.potcars)} POTCAR lines for {len(st.counts)} species")
    out = []
    for k, (title, n) in enumerate(zip(st.potcars[: len(st.counts)], st.counts)):
        out += [element_of("", title, path, f"species {k + 1} (POTCAR {title!r})")] * n
    return out


def _run_info(st: _State, path: Path) -> RunInfo:
    if not st.counts:
        raise ParseError(path, "no 'ions per type' line: not an OUTCAR?")
    if st.forces is not None:
        raise ParseError(path, "file ends after the forces of an ionic step but before its energy")
    damage = []
    if st.nul_lines:
        damage.append(f"{st.nul_lines} line(s) hold NUL bytes (first at line {st.first_nul}): blocks lost on disk")
    damage += st.disorder
    with_stress = sum(s.stress_kbar is not None for s in st.steps)
    if 0 < with_stress < len(st.steps):
        missing = [i for i, s in enumerate(st.steps) if s.stress_kbar is None]
        damage.append(f"stress missing on {len(missing)} of {len(st.steps)} steps (first: step {missing[0]})")
    if damage:
        raise ParseError(path, "unsupported: damaged OUTCAR (" + "; ".join(damage) + "); not read")
    notes = []
    if st.response_iterations:
        notes.append(
            f"{st.response_iterations} linear-response (DFPT/NMR) electronic iterations after the "
            "ground state, not counted toward NELM"
        )
    if st.n_scf:  # ground-state iterations after the last complete step (never response ones)
        notes.append(f"run stopped inside the SCF loop of step {len(st.steps)} (no forces; not a frame)")
    elif not st.complete:
        notes.append("file ends without VASP's timing section (run killed or still running)")
    return RunInfo(
        nelm=st.params.get("NELM", NELM_DEFAULT), ibrion=st.params.get("IBRION", -1),
        nsw=st.params.get("NSW", 0), ml_lmlff=bool(st.flags.get("ML_LMLFF")), notes=notes,
    )
