"""The plan of one MD run: its data file and the NPT and NVT command blocks, built once.

:func:`build_plan` turns (structure, potential, temperature, protocol) into a :class:`RunPlan`.
The plan is written to the run folder as ``structure.data``, ``in.npt.lammps`` and
``in.nvt.lammps`` (file names relative to the folder, so ``cd RUN && lmp -in in.npt.lammps``
works by hand), and the runner (:mod:`lizrcl_tools.md.phases`) executes the same blocks with
absolute paths, the single ``run N`` split into restartable chunks. Every interaction line
(plugin loading, pair styles, dispersion overlays, charges) comes from the
:class:`~lizrcl_tools.potential.PotentialSpec` (``pre_commands`` and ``all_commands()``).

File names inside commands are written as ``<run>/NAME`` and resolved at render time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ase import Atoms

from lizrcl_tools.fileio import write_text_atomic
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.potential import PotentialSpec

RUN_TOKEN = "<run>/"
"""Placeholder for the run folder in planned commands (never valid LAMMPS syntax)."""

Block = tuple[str, tuple[str, ...]]
"""(comment, command lines)."""


def _resolve(lines: tuple[str, ...], prefix: str) -> list[str]:
    return [line.replace(RUN_TOKEN, prefix) for line in lines]


@dataclass(frozen=True)
class PhasePlan:
    """Command blocks of one phase (``npt`` or ``nvt``) for a fresh start and for a resume.

    Attributes
    ----------
    name : str
        ``npt`` or ``nvt``.
    title : str
        First line of the input file.
    system : Block
        Units, atom style, Newton, plugin loading (before the box exists).
    start, resume : Block
        How the atoms come in: fresh (data file / previous phase's restart) or from this
        phase's own restart.
    potential : Block
        Interaction lines (issued again after ``read_restart``: pair styles store nothing).
    settings, settings_resume : Block
        Integrator, thermostat/barostat, output for a fresh start and for a resume.
    steps : int
        Length of the phase (MD steps).
    restart : str
        Name of this phase's restart file.
    finish : Block
        ``run`` and ``write_restart`` as written in the input file (the runner chunks it).
    """

    name: str
    title: str
    system: Block
    start: Block
    resume: Block
    potential: Block
    settings: Block
    settings_resume: Block
    steps: int
    restart: str
    finish: Block

    def blocks(self, fresh: bool, run_dir: str | Path | None = None) -> list[Block]:
        """Blocks to execute, paths absolute in ``run_dir`` (relative when None); no ``run``."""
        prefix = "" if run_dir is None else str(Path(run_dir).resolve()) + "/"
        chosen = [self.system, self.start if fresh else self.resume, self.potential,
                  self.settings if fresh else self.settings_resume]
        return [(comment, tuple(_resolve(lines, prefix))) for comment, lines in chosen]

    def peek_blocks(self, run_dir: str | Path) -> list[Block]:
        """System and resume blocks only: enough to read the restart's step."""
        return self.blocks(False, run_dir)[:2]

    def input_text(self) -> str:
        """Text of ``in.<phase>.lammps`` (fresh start, names relative to the run folder)."""
        blocks = [*self.blocks(True), (self.finish[0], tuple(_resolve(self.finish[1], "")))]
        return inp.render_input(self.title, [(c, list(lines)) for c, lines in blocks])


@dataclass(frozen=True)
class RunPlan:
    """Everything LAMMPS is told in one run: the starting cell and the two phases."""

    atoms: Atoms
    spec: PotentialSpec
    npt: PhasePlan
    nvt: PhasePlan

    def write(self, run_dir: str | Path) -> None:
        """Write ``structure.data``, ``in.npt.lammps`` and ``in.nvt.lammps`` into ``run_dir``."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        inp.write_data_file(run_dir / inp.DATA_FILE, self.atoms, self.spec)
        write_text_atomic(run_dir / inp.NPT_INPUT, self.npt.input_text())
        write_text_atomic(run_dir / inp.NVT_INPUT, self.nvt.input_text())


def potential_title(spec: PotentialSpec) -> str:
    """Comment over the interaction block (says when plain ``lmp`` cannot run the file)."""
    if spec.metadata.get("backend") == "fix_external":
        return (f"potential {spec.name}: forces come from a Python callback (fix external) that "
                "lizrcl md installs; plain lmp cannot run this file")
    return f"potential {spec.name}"


def is_triclinic(atoms: Atoms) -> bool:
    """Whether the data file of ``atoms`` holds a triclinic box (the rule of ASE's writer)."""
    from ase.calculators.lammps import Prism

    return bool(Prism(atoms.get_cell(), reduce_cell=True).is_skewed())


def build_plan(atoms: Atoms, spec: PotentialSpec, temperature_K: float, protocol: MDProtocol) -> RunPlan:
    """The run's plan: data file, NPT and NVT blocks (fresh and resumed).

    Parameters
    ----------
    atoms : ase.Atoms
        Starting cell.
    spec : PotentialSpec
        Potential; the source of every interaction line.
    temperature_K : float
        Thermostat temperature, K.
    protocol : MDProtocol
        Run settings.
    """
    t = float(temperature_K)
    p = protocol
    title = f"lizrcl md, protocol {p.name}, potential {spec.name}"
    system: Block = ("system", tuple(inp.header_commands(spec)))
    potential: Block = (potential_title(spec), tuple(inp.potential_commands(spec)))

    def npt_settings(fresh: bool) -> Block:
        return (
            f"NPT at {t:g} K, {p.pressure_bar:g} bar, barostat {p.barostat}, "
            f"tdamp {p.tdamp_fs:g} fs, pdamp {p.pdamp_fs:g} fs; cell every {p.dump_every} steps "
            f"to {inp.NPT_CELL_FILE}",
            tuple(inp.npt_commands(
                temperature_K=t, timestep_fs=p.timestep_fs, tdamp_fs=p.tdamp_fs,
                pdamp_fs=p.pdamp_fs, pressure_bar=p.pressure_bar, barostat=p.barostat,
                seed=p.seed, thermo_every=p.thermo_every, fresh=fresh,
            ) + inp.cell_trace_commands(p.dump_every, RUN_TOKEN + inp.NPT_CELL_FILE, append=not fresh)),
        )

    start, end = inp.mean_window(p.npt_steps, p.dump_every)
    before, after = inp.mean_cell_commands(p.npt_steps, p.dump_every, is_triclinic(atoms),
                                           inp.MEAN_CELL_FILE)

    def nvt_settings(fresh: bool) -> Block:
        return (
            f"NVT at {t:g} K, tdamp {p.tdamp_fs:g} fs; trajectory every {p.dump_every} steps",
            tuple(inp.nvt_commands(
                temperature_K=t, timestep_fs=p.timestep_fs, tdamp_fs=p.tdamp_fs,
                thermo_every=p.thermo_every, dump_every=p.dump_every,
                dump_path=RUN_TOKEN + inp.DUMP_FILE, fresh=fresh,
            )),
        )

    npt = PhasePlan(
        name="npt", title=f"{title}: NPT equilibration", system=system,
        start=("read the starting cell", (f"read_data {RUN_TOKEN}{inp.DATA_FILE}",)),
        resume=("continue from the last NPT restart", (f"read_restart {RUN_TOKEN}{inp.NPT_RESTART}",)),
        potential=potential, settings=npt_settings(True), settings_resume=npt_settings(False),
        steps=p.npt_steps, restart=inp.NPT_RESTART,
        finish=(f"run, save the last state and the mean cell of steps {start}-{end} "
                f"(the runner computes the same mean from {inp.NPT_CELL_FILE})",
                (*before, f"run {p.npt_steps}", *after, f"write_restart {inp.NPT_RESTART}")),
    )
    nvt = PhasePlan(
        name="nvt", title=f"{title}: NVT production", system=system,
        start=(f"state at the end of NPT, moved into the mean cell of NPT steps {start}-{end} "
               "(positions scaled)",
               (f"read_restart {RUN_TOKEN}{inp.NPT_RESTART}", f"include {RUN_TOKEN}{inp.MEAN_CELL_FILE}")),
        resume=("continue from the last NVT restart", (f"read_restart {RUN_TOKEN}{inp.NVT_RESTART}",)),
        potential=potential, settings=nvt_settings(True), settings_resume=nvt_settings(False),
        steps=p.nvt_steps, restart=inp.NVT_RESTART,
        finish=(("production" if not p.adaptive else
                 f"production, first segment: lizrcl md extends it by {p.extend_nvt_steps} steps at a "
                 f"time, up to {p.max_nvt_steps}, until D is diffusive with err(D)/D <= {p.target_rel_err:g}"),
                (f"run {p.nvt_steps}", f"write_restart {inp.NVT_RESTART}")),
    )
    return RunPlan(atoms=atoms, spec=spec, npt=npt, nvt=nvt)
