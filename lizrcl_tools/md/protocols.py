"""MD protocols: small frozen dataclasses; every field can be overridden with :func:`dataclasses.replace`.

Three are registered:

``paper``
    the SSW-NN study's production settings: 432-atom cell, 10 ps NPT then 100 ps NVT at
    300–450 K, 1 fs step.
``quick`` (default)
    an estimate from hot, short runs: a 54-atom cell (2 trigonal Li2ZrCl6 cells) at 600, 750
    and 900 K, 1 ps NPT, then NVT of 2 ps extended by 0.5 ps at a time up to 3 ps until the Li
    D is diffusive with err/D <= 20 % (:mod:`lizrcl_tools.md.adaptive`). The temperatures are higher than
    the paper's so that Li hops within picoseconds; σ(300 K) is an Arrhenius extrapolation
    and is printed with its error bar. Use it to see the pipeline work and the trend, not for
    room-temperature numbers.

    Budget (sized for ≤ 15 min of MD on 2 cores with the shipped float32 MACE, 54 atoms):
    at most 3 × (1,000 NPT + 3,000 NVT) = 12,000 steps. Measured step cost 40–55 ms without
    dispersion; D3(BJ) at its default 15/8 Å cutoffs adds ~8 ms (1 thread, 54 atoms) →
    48–63 ms. Worst case 12,000 × 63 ms = 756 s = 12.6 min; without D3 at 47 ms, 9.4 min.
    Runs that reach the
    target at 2 ps save a quarter of their NVT. Setup, model loading and the per-segment D
    estimates add seconds per temperature. (The previous fixed 1 + 6 ps took 19.4 min at
    53–59 ms/step.) The Li cage at 600 K lasts ~0.6 ps (d ln MSD / d ln t ≈ 0.6 before it),
    so the fit window needs the longer segments there: a segment without a fit window never
    stops a run early.
``standard``
    the fast tier + D3 (``potential="fast"``; another potential with ``--potential``), a
    108-atom cell (4 trigonal cells, orthohexagonal 10.95 × 18.97 × 11.92 Å), 450, 525 and
    600 K, 5 ps NPT, then NVT of 20 ps extended by 10 ps at a time up to 100 ps until the Li D
    is diffusive with err/D ≤ 20 %. The cell was set by a convergence study with criteria
    written down before the runs: the smallest cell whose D(750 K) agrees with the 216-atom
    cell's within 2 combined standard errors and 30 % (fast tier + D3, 5 ps NPT + 30 ps NVT;
    per-ion errors). Measured D(750 K) × 10⁵ cm²/s: 54 atoms 5.39 ± 0.75 (2.0 σ, −28 %: fails),
    108 atoms 6.40 ± 0.89 (0.9 σ, −14 %: passes), 216 atoms 7.47 ± 0.72. D still rises with the
    cell (432 atoms was not run), so the standard cell may underestimate D by ~15 % or more.
    The temperatures start at the study's top one (450 K) and stay below the quick job's, so
    the extrapolation to 300 K is shorter; 450 K needs the longest runs (the Li MSD must pass
    a hop length squared, ~12 Å², before the fit window starts). Cost with one core per
    temperature (fast tier + D3, ~8 ms/step at 108 atoms alone on a core): at most
    3 × 105,000 steps, ~40 min; ``--workers 2`` runs two temperatures at once.
All use a Nosé–Hoover thermostat with 100 fs damping and a Nosé–Hoover barostat with 1000 fs
damping at 1 bar, with x/y coupled (``couple xy``) so trigonal/layered cells keep their 120°
angle while c relaxes freely.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from lizrcl_tools.errors import SetupError

BAROSTATS = ("couple-xy", "tri", "iso", "aniso")


@dataclass(frozen=True)
class MDProtocol:
    """Settings of one NPT → NVT run per temperature.

    Attributes
    ----------
    name : str
        Registry name, recorded in ``run.json``.
    temperatures_K : tuple of float
        Temperatures the command runs by default, K.
    n_atoms : int or None
        Target supercell size (the nearest supercell of the input cell); None keeps the input.
    npt_ps, nvt_ps : float
        Length of NPT equilibration and NVT production, ps.
    timestep_fs : float
        MD time step, fs.
    dump_every : int
        Steps between trajectory frames.
    thermo_every : int
        Steps between thermo lines in the log.
    chunk_steps : int
        Steps per chunk: progress is reported and a restart file written after each chunk.
        Must be a multiple of ``dump_every``.
    tdamp_fs, pdamp_fs : float
        Thermostat and barostat damping times, fs.
    pressure_bar : float
        NPT target pressure, bar.
    barostat : str
        ``couple-xy`` (x, y, z with x/y coupled; keeps a hexagonal angle), ``tri``, ``iso`` or
        ``aniso``.
    seed : int
        Seed of the initial Gaussian velocities (recorded in run.json).
    max_nvt_ps : float or None
        Adaptive NVT length (:mod:`lizrcl_tools.md.adaptive`): when above ``nvt_ps``, the run
        extends itself after ``nvt_ps`` by ``extend_nvt_ps`` at a time, up to this many ps,
        until the mobile ion's D has ``err / D <= target_rel_err``. None: fixed ``nvt_ps``.
    extend_nvt_ps : float or None
        Length of each extension, ps (default ``nvt_ps``).
    target_rel_err : float
        Relative standard error of D at which an adaptive run stops.
    potential : str or None
        Potential the protocol is sized for (``fast``, ``mace``), used when none is chosen;
        None: the command's default.
    """

    name: str
    temperatures_K: tuple[float, ...]
    n_atoms: int | None
    npt_ps: float
    nvt_ps: float
    timestep_fs: float = 1.0
    dump_every: int = 10
    thermo_every: int = 100
    chunk_steps: int = 500
    tdamp_fs: float = 100.0
    pdamp_fs: float = 1000.0
    pressure_bar: float = 1.0
    barostat: str = "couple-xy"
    seed: int = 20260101
    max_nvt_ps: float | None = None
    extend_nvt_ps: float | None = None
    target_rel_err: float = 0.2
    potential: str | None = None

    def __post_init__(self) -> None:
        # NaN passes every "< 0" test and int(round(nan)) fails late, inside the run: check
        # finiteness first, so a bad value stops before a run folder exists.
        for field in ("npt_ps", "nvt_ps", "timestep_fs", "tdamp_fs", "pdamp_fs", "pressure_bar",
                      "max_nvt_ps", "extend_nvt_ps", "target_rel_err"):
            value = getattr(self, field)
            if value is None and field in ("max_nvt_ps", "extend_nvt_ps"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SetupError(f"protocol {self.name!r}: {field} must be a finite number, got {value!r}")
        for field in ("npt_ps", "nvt_ps", "timestep_fs", "tdamp_fs", "pdamp_fs"):
            if getattr(self, field) < 0 or (field != "npt_ps" and getattr(self, field) == 0):
                raise SetupError(f"protocol {self.name!r}: {field} must be positive")
        for field in ("dump_every", "thermo_every", "chunk_steps"):
            if int(getattr(self, field)) < 1:
                raise SetupError(f"protocol {self.name!r}: {field} must be >= 1")
        if self.chunk_steps % self.dump_every:
            raise SetupError(
                f"protocol {self.name!r}: chunk_steps ({self.chunk_steps}) must be a multiple "
                f"of dump_every ({self.dump_every}) so restarts fall on dumped frames"
            )
        if self.npt_steps % self.dump_every:
            raise SetupError(
                f"protocol {self.name!r}: NPT length ({self.npt_steps} steps) must be a "
                f"multiple of dump_every ({self.dump_every}): the NPT cell is sampled every "
                "dump_every steps for the mean production cell"
            )
        if self.nvt_steps % self.dump_every:
            raise SetupError(
                f"protocol {self.name!r}: NVT length ({self.nvt_steps} steps) must be a "
                f"multiple of dump_every ({self.dump_every})"
            )
        if self.target_rel_err <= 0:
            raise SetupError(f"protocol {self.name!r}: target_rel_err must be positive")
        if self.max_nvt_ps is not None and self.max_nvt_ps < self.nvt_ps:
            raise SetupError(f"protocol {self.name!r}: max_nvt_ps ({self.max_nvt_ps:g}) is below "
                             f"nvt_ps ({self.nvt_ps:g})")
        if self.extend_nvt_ps is not None and self.extend_nvt_ps <= 0:
            raise SetupError(f"protocol {self.name!r}: extend_nvt_ps must be positive")
        for field, steps in (("max_nvt_ps", self.max_nvt_steps), ("extend_nvt_ps", self.extend_nvt_steps)):
            if steps % self.dump_every:
                raise SetupError(f"protocol {self.name!r}: {field} ({steps} steps) must be a multiple "
                                 f"of dump_every ({self.dump_every})")
        if self.barostat not in BAROSTATS:
            raise SetupError(f"unknown barostat {self.barostat!r}; choose one of {', '.join(BAROSTATS)}")
        if any(not math.isfinite(t) or t <= 0 for t in self.temperatures_K):
            raise SetupError(f"protocol {self.name!r}: temperatures must be finite and above 0 K, "
                             f"got {list(self.temperatures_K)}")

    @property
    def npt_steps(self) -> int:
        """NPT steps (``npt_ps`` / ``timestep_fs``, rounded)."""
        return int(round(self.npt_ps * 1000.0 / self.timestep_fs))

    @property
    def nvt_steps(self) -> int:
        """NVT steps (``nvt_ps`` / ``timestep_fs``, rounded)."""
        return int(round(self.nvt_ps * 1000.0 / self.timestep_fs))

    @property
    def adaptive(self) -> bool:
        """Whether NVT extends itself toward ``target_rel_err`` (``max_nvt_ps > nvt_ps``)."""
        return self.max_nvt_ps is not None and self.max_nvt_steps > self.nvt_steps

    @property
    def max_nvt_steps(self) -> int:
        """Longest NVT production (steps): ``max_nvt_ps``, or ``nvt_ps`` when not adaptive."""
        if self.max_nvt_ps is None:
            return self.nvt_steps
        return int(round(self.max_nvt_ps * 1000.0 / self.timestep_fs))

    @property
    def extend_nvt_steps(self) -> int:
        """Steps added by each NVT extension."""
        ext = self.nvt_ps if self.extend_nvt_ps is None else self.extend_nvt_ps
        return int(round(ext * 1000.0 / self.timestep_fs))

    @property
    def n_frames(self) -> int:
        """Frames in the NVT dump, including the one at step 0."""
        return self.nvt_steps // self.dump_every + 1

    def with_overrides(self, **changes: object) -> "MDProtocol":
        """Copy with the given fields changed; None values are ignored (unset CLI options).

        An ``nvt_ps`` given without ``max_nvt_ps`` makes the NVT length fixed (not adaptive).
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        # An NVT length asked for without a budget means "run this long": fixed length.
        if "nvt_ps" in changes and "max_nvt_ps" not in changes:
            changes["max_nvt_ps"] = None
        if "temperatures_K" in changes:
            changes["temperatures_K"] = tuple(float(t) for t in changes["temperatures_K"])
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with the derived step counts (recorded in run.json)."""
        data = dataclasses.asdict(self)
        data["temperatures_K"] = list(self.temperatures_K)
        data.update(npt_steps=self.npt_steps, nvt_steps=self.nvt_steps)
        if self.adaptive:
            data.update(max_nvt_steps=self.max_nvt_steps, extend_nvt_steps=self.extend_nvt_steps)
        return data


STANDARD_N_ATOMS = 108
"""Cell of the ``standard`` protocol, from the convergence study in the module docstring."""

PROTOCOLS: dict[str, MDProtocol] = {
    "quick": MDProtocol(
        name="quick", temperatures_K=(600.0, 750.0, 900.0), n_atoms=54,
        npt_ps=1.0, nvt_ps=2.0, dump_every=10, thermo_every=100, chunk_steps=500,
        max_nvt_ps=3.0, extend_nvt_ps=0.5, target_rel_err=0.2,
    ),
    "standard": MDProtocol(
        name="standard", temperatures_K=(450.0, 525.0, 600.0), n_atoms=STANDARD_N_ATOMS,
        npt_ps=5.0, nvt_ps=20.0, dump_every=50, thermo_every=1000, chunk_steps=1000,
        max_nvt_ps=100.0, extend_nvt_ps=10.0, target_rel_err=0.2, potential="fast",
    ),
    "paper": MDProtocol(
        name="paper", temperatures_K=(300.0, 350.0, 400.0, 450.0), n_atoms=432,
        npt_ps=10.0, nvt_ps=100.0, dump_every=100, thermo_every=1000, chunk_steps=1000,
    ),
}
"""Registered protocols by name."""

DEFAULT_PROTOCOL = "quick"


def get_protocol(name: str) -> MDProtocol:
    """Registered protocol by name; the error lists the known names."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise SetupError(f"unknown MD protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None
