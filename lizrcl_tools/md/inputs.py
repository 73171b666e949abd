"""LAMMPS input text for the MD stages: one function per block, shared by files and runner.

The same command lists are written to ``in.npt.lammps`` / ``in.nvt.lammps`` (with file names
relative to the run folder, so ``cd RUN && lmp -in in.npt.lammps`` reproduces the run by hand)
and issued by :mod:`lizrcl_tools.md.runner` (with absolute paths, and the single ``run N`` split
into chunks with restart files between them).

Cells: ASE cells of any orientation are written with :func:`ase.io.lammpsdata.write_lammps_data`,
which rotates them into LAMMPS's frame (a along x, b in the xy plane) and folds tilts into
[−lx/2, lx/2]: a trigonal cell becomes a triclinic box with xy = −a/2 (a 1×2 hexagonal
supercell, being rectangular too, an orthogonal one). Positions in dumps and the cell in
``run.json`` are in that LAMMPS frame.

Units: LAMMPS ``metal`` (eV, Å, ps, bar, K). Protocol times are given in fs and converted here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import fs as ASE_FS
from ase.units import second as ASE_SECOND

from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import atomic_path
from lizrcl_tools.potential import PotentialSpec

DATA_FILE = "structure.data"
NPT_INPUT = "in.npt.lammps"
NVT_INPUT = "in.nvt.lammps"
NPT_RESTART = "npt.restart"
NVT_RESTART = "nvt.restart"
DUMP_FILE = "nvt.lammpstrj"
LOG_FILES = {"npt": "log.npt.lammps", "nvt": "log.nvt.lammps"}
NPT_CELL_FILE = "npt_cell.txt"
"""NPT cell trace: step, lx, ly, lz, xy, xz, yz (Å), volume (Å³), every ``dump_every`` steps."""
MEAN_CELL_FILE = "npt_mean_cell.lammps"
"""``change_box`` to the mean cell of the second half of NPT; included by in.nvt.lammps."""
CELL_VARIABLES = ("lx", "ly", "lz", "xy", "xz", "yz", "vol")
"""Columns of :data:`NPT_CELL_FILE` after the step."""
THERMO_PLOT = "thermo.png"

THERMO_KEYWORDS = "step temp pe ke etotal press vol lx ly lz xy xz yz"
"""``thermo_style custom`` columns (metal units)."""

_PS_PER_FS = ASE_FS / (1e-12 * ASE_SECOND)
"""1 fs in ps (LAMMPS metal time unit), from ase.units rather than a typed 1e-3."""

PathFn = Callable[[str], str]


def fs_to_ps(value_fs: float) -> float:
    """Convert fs to ps, the time unit of LAMMPS ``units metal``."""
    return float(value_fs) * _PS_PER_FS


def write_data_file(path: str | Path, atoms: Atoms, spec: PotentialSpec) -> Path:
    """Write ``atoms`` as a LAMMPS data file with the type order and atom style of ``spec``.

    Parameters
    ----------
    path : str or Path
        Output file (written atomically).
    atoms : ase.Atoms
        Periodic structure; every element must have a type in ``spec``.
    spec : PotentialSpec
        Gives the type order (``spec.elements``), the atom style and the charges.

    Raises
    ------
    SetupError
        If an element has no LAMMPS type in ``spec`` or the cell is not periodic in 3D.
    """
    from ase.io.lammpsdata import write_lammps_data

    if not all(atoms.pbc) or atoms.cell.rank != 3:
        raise SetupError("MD needs a 3D periodic cell (pbc = True along a, b and c)")
    missing = sorted(set(atoms.get_chemical_symbols()) - set(spec.elements))
    if missing:
        raise SetupError(
            f"elements {', '.join(missing)} have no LAMMPS type in potential {spec.name!r} "
            f"(types: {', '.join(spec.elements)})"
        )
    atoms = atoms.copy()
    if spec.atom_style == "charge":
        atoms.set_initial_charges([spec.charges.get(s, 0.0) for s in atoms.get_chemical_symbols()])
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fd:
            # reduce_cell: a tilt beyond ±lx/2 (e.g. a 1×2 hexagonal supercell, xy = −lx) is
            # folded back; LAMMPS warns and runs slower with such skewed boxes.
            write_lammps_data(
                fd, atoms, specorder=list(spec.elements), masses=True, atom_style=spec.atom_style,
                units="metal", reduce_cell=True,
            )
    return Path(path)


def header_commands(spec: PotentialSpec) -> list[str]:
    """Commands before the box exists: units, style, Newton setting, plugin loading."""
    return [
        "units metal",
        f"atom_style {spec.atom_style}",
        "atom_modify map array",
        "boundary p p p",
        f"newton {spec.newton}",
        *spec.pre_commands,
    ]


def potential_commands(spec: PotentialSpec) -> list[str]:
    """Pair style, coefficients and charges; issued again after ``read_restart`` because
    pair styles such as the MACE plugin store nothing in restart files."""
    # A 1 Å skin checked every step: safe at any temperature, and a small ghost shell for ML
    # potentials whose cost grows with the number of ghost atoms.
    return [*spec.all_commands(), "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes"]


def thermo_commands(thermo_every: int) -> list[str]:
    """Thermodynamic output to the log."""
    return [
        f"thermo_style custom {THERMO_KEYWORDS}",
        "thermo_modify flush yes",
        f"thermo {int(thermo_every)}",
    ]


def barostat_keywords(barostat: str, pressure_bar: float, pdamp_ps: float) -> str:
    """``fix npt`` pressure keywords for one barostat mode.

    ``couple-xy`` barostats x, y and z with x and y coupled: a and b scale together and the
    xy tilt follows (LAMMPS ``scalexy`` default), so a trigonal cell keeps its 120° angle
    while c relaxes on its own. ``tri`` lets all six box parameters relax, ``iso`` scales the
    box uniformly, ``aniso`` relaxes x, y, z independently.
    """
    p = f"{pressure_bar:g} {pressure_bar:g} {pdamp_ps:g}"
    table = {
        "couple-xy": f"x {p} y {p} z {p} couple xy",
        "tri": f"tri {p}",
        "iso": f"iso {p}",
        "aniso": f"aniso {p}",
    }
    if barostat not in table:
        raise SetupError(f"unknown barostat {barostat!r}; choose one of {', '.join(table)}")
    return table[barostat]


def npt_commands(
    *,
    temperature_K: float,
    timestep_fs: float,
    tdamp_fs: float,
    pdamp_fs: float,
    pressure_bar: float,
    barostat: str,
    seed: int,
    thermo_every: int,
    fresh: bool,
) -> list[str]:
    """NPT equilibration block (Nosé–Hoover thermostat and barostat), without the ``run``.

    ``fresh`` adds the seeded Gaussian velocities; a resumed run takes them from the restart.
    """
    lines = [f"timestep {fs_to_ps(timestep_fs):.10g}", *thermo_commands(thermo_every)]
    if fresh:
        # loop geom: velocities depend on positions and seed only, not on the MPI layout.
        lines.append(
            f"velocity all create {temperature_K:g} {int(seed)} dist gaussian mom yes rot no loop geom"
        )
    pkeys = barostat_keywords(barostat, pressure_bar, fs_to_ps(pdamp_fs))
    lines.append(
        f"fix npt all npt temp {temperature_K:g} {temperature_K:g} {fs_to_ps(tdamp_fs):g} {pkeys}"
    )
    return lines


def nvt_commands(
    *,
    temperature_K: float,
    timestep_fs: float,
    tdamp_fs: float,
    thermo_every: int,
    dump_every: int,
    dump_path: str,
    fresh: bool,
) -> list[str]:
    """NVT production block (Nosé–Hoover) with the unwrapped, id-sorted trajectory dump.

    ``fresh`` restarts the step counter at 0 (the NVT time origin); a resumed run keeps the
    step of its restart and appends to the dump.
    """
    lines = ["reset_timestep 0"] if fresh else []
    lines += [f"timestep {fs_to_ps(timestep_fs):.10g}", *thermo_commands(thermo_every)]
    lines.append(f"fix nvt all nvt temp {temperature_K:g} {temperature_K:g} {fs_to_ps(tdamp_fs):g}")
    lines.append(f"dump traj all custom {int(dump_every)} {dump_path} id type xu yu zu")
    # %.10g keeps 1e-6 Å resolution on unwrapped coordinates hundreds of Å from the origin.
    modify = "dump_modify traj sort id format float %.10g flush yes"
    if not fresh:
        modify += " append yes"
    lines.append(modify)
    return lines


def render_input(title: str, blocks: list[tuple[str, list[str]]]) -> str:
    """Join commented blocks of commands into a LAMMPS input file text."""
    out = [f"# {title}", "# written by lizrcl md; units metal (eV, Å, ps, bar, K)", ""]
    for comment, lines in blocks:
        out.append(f"# {comment}")
        out.extend(lines)
        out.append("")
    return "\n".join(out)


def box_to_cell(boxlo, boxhi, xy: float, yz: float, xz: float) -> np.ndarray:
    """LAMMPS box bounds and tilts → 3x3 cell matrix (rows a, b, c), Å, LAMMPS frame."""
    lx, ly, lz = (float(h) - float(lo) for lo, h in zip(boxlo, boxhi))
    return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


def relative(name: str) -> str:
    """Path function for hand-usable input files: names relative to the run folder."""
    return name


def absolute_in(run_dir: Path) -> PathFn:
    """Path function for the runner: absolute paths inside ``run_dir``."""
    return lambda name: str(Path(run_dir).resolve() / name)


def mean_window(npt_steps: int, sample_every: int) -> tuple[int, int]:
    """First and last step of the NPT samples averaged for the production cell.

    The second half of NPT: samples at multiples of ``sample_every`` from ``npt_steps / 2``
    (rounded up to a sample) to ``npt_steps``. The first half is the barostat's transient.
    """
    per_half = -(-npt_steps // (2 * sample_every))  # ceil(npt_steps / 2 / sample_every)
    return per_half * sample_every, npt_steps


def cell_trace_commands(sample_every: int, path: str, append: bool) -> list[str]:
    """Sample the NPT cell every ``sample_every`` steps into ``path`` (one row per sample).

    ``append`` reopens the file of a resumed run (the runner first trims rows at and after
    the restart step, which LAMMPS writes again).
    """
    lines = [f"variable cell_{name} equal {name}" for name in CELL_VARIABLES]
    values = " ".join(f"v_cell_{name}" for name in CELL_VARIABLES)
    mode = "append" if append else "file"
    lines.append(f"fix npt_cell all ave/time {int(sample_every)} 1 {int(sample_every)} {values} "
                 f"{mode} {path} format \" %.10g\"")
    return lines


def change_box_line(lo, cell: np.ndarray, triclinic: bool) -> str:
    """``change_box`` to ``cell`` (rows a, b, c, LAMMPS frame) keeping the lower corner ``lo``,
    positions scaled with the box (``remap``)."""
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = np.asarray(cell, dtype=float)
    x0, y0, z0 = (float(v) for v in lo)
    line = (f"change_box all x final {x0:.10g} {x0 + lx:.10g} y final {y0:.10g} {y0 + ly:.10g} "
            f"z final {z0:.10g} {z0 + lz:.10g}")
    if triclinic:
        line += f" xy final {xy:.10g} xz final {xz:.10g} yz final {yz:.10g}"
    return line + " remap units box"


def mean_cell_commands(npt_steps: int, sample_every: int, triclinic: bool, path: str) -> tuple[list[str], list[str]]:
    """Input-file lines computing the mean NPT cell in LAMMPS itself (for runs by hand).

    Returns the lines before ``run`` (an averaging fix over :func:`mean_window`) and after it
    (writing the ``change_box`` line to ``path``), the same samples and format the runner
    uses when it computes the mean from :data:`NPT_CELL_FILE`.
    """
    if npt_steps == 0:
        return [], [f'print "# no NPT: the cell is the starting cell" file {path} screen no']
    start, end = mean_window(npt_steps, sample_every)
    n = (end - start) // sample_every + 1
    values = " ".join(f"v_cell_{name}" for name in CELL_VARIABLES[:6])
    before = [f"fix npt_mean all ave/time {int(sample_every)} {n} {end} {values}"]
    m = {name: f"$(f_npt_mean[{i + 1}]:%.10g)" for i, name in enumerate(CELL_VARIABLES[:6])}
    box = (f"change_box all x final $(xlo:%.10g) $(xlo+f_npt_mean[1]:%.10g) "
           f"y final $(ylo:%.10g) $(ylo+f_npt_mean[2]:%.10g) z final $(zlo:%.10g) $(zlo+f_npt_mean[3]:%.10g)")
    if triclinic:
        box += f" xy final {m['xy']} xz final {m['xz']} yz final {m['yz']}"
    box += " remap units box"
    return before, [f'print "{box}" file {path} screen no']
