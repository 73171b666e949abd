"""Settings of an SSW walk (:class:`SSWParameters`), every one with a default.

Units: Å (Gaussian widths along atoms), dimensionless strain, K, GPa, eV.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lizrcl_tools.errors import SetupError


@dataclass(frozen=True)
class SSWParameters:
    """Settings of an SSW walk; every one has a default (LASP-like where public).

    Attributes
    ----------
    n_gaussians : int
        N_G, maximum Gaussians per step (LASP default 10).
    ds_atom : float
        Gaussian width along atomic directions, Å (0.6; sensible 0.2–0.6).
    ds_cell : float
        Gaussian width along strain directions, dimensionless strain (0.05).
    temperature_K : float
        T_ssw of the Metropolis test, K (300).
    relax_cell : bool
        Variable-cell walk (cell in the direction, the bias and the quench).
    pressure_GPa : float
        External pressure for cell relaxation and enthalpy, GPa (0).
    cell_weight : float
        Norm of the strain part of N0 relative to the atomic part (0.5).
    lambda_min, lambda_max : float
        Range of the global/local mixing weight λ (0.1, 1.5).
    direction_candidates : int
        Random initial directions drawn per step; the one whose point one Gaussian width ahead
        has the lowest energy is walked (one force call each; without dimer rotations the chosen
        one is reused as the first trial point; 4). 1: the single random N0, no extra call. On the tuning
        seeds 100–105 of random 24-atom LiCl cells (toy potential, 3,000 calls) 4 candidates
        reached rocksalt in 5/6 runs at a median of 864 calls (480–922), one candidate in 6/6
        at 1,088 (829–1,747); 8 candidates: 1,990/524/678 on seeds 100–102 (README).
    dimer_delta : float
        Dimer displacement in Δ units (0.01, i.e. 0.006 Å at ds_atom 0.6).
    dimer_rotations : int
        Biased-dimer rotations per Gaussian, two force calls each (0: the direction stays the
        random N0; on the toy LiCl benchmark from random cells the rotations cost ~20 % of a
        step's calls without raising the success rate, see README; 2 is LASP-like).
    direction_bias : float
        a of the −a (N·N0)² rotation bias, eV per Δ² (0.5).
    force_target : float
        Total force along +N wanted after adding a Gaussian, eV per Δ unit (0.1).
    max_height_per_atom : float
        Cap on one Gaussian's height, eV per atom (0.1).
    min_gaussians : int
        Gaussians before an early stop is allowed (3).
    climb_max_ev_per_atom : float
        Stop adding Gaussians once the true energy is this far above the starting minimum,
        eV/atom (inf: off).
    bias_relax_steps : int
        Force calls (FIRE iterations) of each biased relaxation after its trial point (10).
    bias_max_step : float
        Largest FIRE move per iteration of a biased relaxation, Δ units (0.2).
    force_tol : float
        Quench tolerance: largest atomic force, eV/Å (0.05, LASP's default).
    stress_tol_GPa : float
        Quench tolerance on the largest stress component, GPa (0.05, LASP's default).
    quench_max_iter : int
        Most force calls of one quench (1000).
    start_fixed_cell : bool
        In a variable-cell walk, relax the starting structure's atoms at fixed cell (to
        ``force_tol``) before its quench. Why: from a random cell the variable-cell quench
        swells the cell while the atoms sort themselves out (toy LiCl, 48 atoms: 31–40 Å³/atom
        against rocksalt's 24.5), and neither kicks nor swaps change the cell. Off by default:
        on the toy benchmark's tuning seeds it gave 2 more hits than the defaults (3 were
        required), and its gain at 24 atoms is in the start itself, basin hopping's too (README).
    kick_probability : float
        Fixed chance that a step is a basin-hopping kick (random displacements, then the
        quench) instead of a Gaussian climb, used only with ``adapt_window`` 0 (0: pure SSW).
    kick_A : float
        Largest displacement per axis of a kick, Å (0.5, as ASE's basin hopping).
    kick_radius_A : float
        Displace only atoms within this distance of one random atom in a kick, Å (0: all).
    kick_strain : float
        Largest component of a kick's random symmetric cell strain (0: the cell stays).
    kick_redraws : int
        With ``reject_close_contacts``, a kick that leaves two atoms below the contact floor is
        drawn again, up to this many times (0: never, the default; 20 is a sensible value for a
        machine-learned potential). Such kicks are where the shipped MACE model fell into its
        holes (7 of 8 hole steps of the Li2ZrCl6 swap walks started from a kicked structure
        already below the floor); a redraw costs no force call.
    kick_memory : bool
        A kick displaces the unrelaxed configuration of the last accepted kick (in the current
        minimum's cell) instead of the minimum, so accepted kicks add up, as in ASE's
        ``BasinHopping`` (False: every kick starts at the current minimum).
    adapt_window : int
        Adapt the kick chance to which move found new minima per force call over its last
        ``adapt_window`` steps (:mod:`~.moves`; 0: the fixed ``kick_probability``). Default 8
        with ``kick_memory``: chosen on tuning seeds 100–105 of random 24- and 48-atom LiCl
        cells (toy potential, 3,000 calls; README), not on the benchmark's seeds.
    adapt_downhill : bool
        When adapting, count only new minima below the current one (progress), not every new
        minimum (False).
    adapt_floor : float
        Least chance of either move when adapting (0.1): climbs never stop.
    swap_moves : bool
        Add a third move to the adapted mix: two atoms of different elements exchange places,
        then the quench (:mod:`~.swap`). With ``adapt_window`` 0 (a fixed mix of climbs and
        ``kick_probability`` kicks), or a one-element structure, there are no swaps. Default
        True: on tuning seeds 100–123 of random 24- and 48-atom LiCl cells (toy potential,
        3,000 calls) 34 of 48 runs reached rocksalt with swaps, 26 without (README).
    swap_bias : bool
        Draw the swapped atoms with weight 1 + like neighbours in their first shell, so atoms in
        the wrong chemical environment move first (True; False: uniformly).
    swap_candidates : int
        Exchanges drawn per swap move; each costs a single point and the lowest goes to the
        quench (1: no call).
    swap_pairs : tuple of str
        Element pairs a swap may exchange, written ``"A-B"`` (e.g. ``("Li-Zr",)``); empty: every
        pair of different elements.
    store_walk_points : bool
        Keep the climb's intermediate structures in the database (True).
    reject_close_contacts : bool
        Reject a minimum with two atoms closer than half the sum of their covalent radii
        (:data:`~lizrcl_tools.structures.checks.MIN_DISTANCE_FACTOR`; Li–Cl 1.15, Zr–Cl 1.39 Å):
        a hole of the potential, not a structure (True). A machine-learned potential can have
        holes where it saw no data; a walk that accepted one would stay in it for good.
    store_holes : bool
        Keep the rim of each rejected hole (the last structure on the quench's way in that
        passed the check) in the database (``kind=hole``), so the SSW-NN loop can have the
        teacher label where the potential runs into it (True).
    """

    n_gaussians: int = 10
    ds_atom: float = 0.6
    ds_cell: float = 0.05
    temperature_K: float = 300.0
    relax_cell: bool = True
    pressure_GPa: float = 0.0
    cell_weight: float = 0.5
    lambda_min: float = 0.1
    lambda_max: float = 1.5
    direction_candidates: int = 4
    dimer_delta: float = 0.01
    dimer_rotations: int = 0
    direction_bias: float = 0.5
    force_target: float = 0.1
    max_height_per_atom: float = 0.1
    min_gaussians: int = 3
    climb_max_ev_per_atom: float = float("inf")
    bias_relax_steps: int = 10
    bias_max_step: float = 0.2
    force_tol: float = 0.05
    stress_tol_GPa: float = 0.05
    quench_max_iter: int = 1000
    start_fixed_cell: bool = False
    kick_probability: float = 0.0
    kick_A: float = 0.5
    kick_radius_A: float = 0.0
    kick_strain: float = 0.0
    kick_redraws: int = 0
    kick_memory: bool = True
    adapt_window: int = 8
    adapt_downhill: bool = False
    adapt_floor: float = 0.1
    swap_moves: bool = True
    swap_bias: bool = True
    swap_candidates: int = 1
    swap_pairs: tuple[str, ...] = ()
    store_walk_points: bool = True
    reject_close_contacts: bool = True
    store_holes: bool = True

    def __post_init__(self) -> None:
        if (self.n_gaussians < 1 or self.ds_atom <= 0 or self.ds_cell <= 0 or self.temperature_K < 0
                or self.adapt_window < 0 or self.swap_candidates < 1 or self.kick_redraws < 0
                or not 0 <= self.adapt_floor <= 0.5):
            raise SetupError(f"invalid SSW parameters: {self}")
        # A checkpoint's JSON gives a list; keep the frozen dataclass hashable and equal to the original.
        object.__setattr__(self, "swap_pairs", tuple(self.swap_pairs))

    @classmethod
    def from_dict(cls, data: dict) -> "SSWParameters":
        """Parameters from a checkpoint's dict; unknown keys are an error naming them.

        A dict without ``swap_moves`` was written before swaps existed: it reads as
        ``swap_moves=False``, so a resumed old walk makes the moves it would have made.
        """
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise SetupError(f"unknown SSW parameters: {', '.join(sorted(unknown))}")
        return cls(**{"swap_moves": False, **data})


def with_overrides(params: SSWParameters, **changes) -> SSWParameters:
    """Copy of ``params`` with the non-None ``changes`` applied (for CLI options)."""
    return replace(params, **{k: v for k, v in changes.items() if v is not None})


def parse_overrides(items: list[str]) -> dict:
    """``["KEY=VALUE", ...]`` as typed :class:`SSWParameters` overrides (scripts' ``--ssw`` option).

    Booleans read 1/true/yes and 0/false/no; tuples are comma-separated (``swap_pairs=Li-Zr,Zr-Cl``).

    Raises
    ------
    SetupError
        An item without ``=``, an unknown key, or a value of the wrong type, naming it.
    """
    defaults = SSWParameters()
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in SSWParameters.__dataclass_fields__:
            raise SetupError(f"SSW override {item!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(SSWParameters.__dataclass_fields__)}")
        kind = type(getattr(defaults, key))
        try:
            if kind is bool:
                if value.lower() not in ("1", "true", "yes", "0", "false", "no"):
                    raise ValueError(value)
                out[key] = value.lower() in ("1", "true", "yes")
            elif kind is tuple:
                out[key] = tuple(v for v in value.split(",") if v)
            else:
                out[key] = kind(value)
        except ValueError as exc:
            raise SetupError(f"SSW override {item!r}: {key} takes a value of type {kind.__name__}") from exc
    return out
