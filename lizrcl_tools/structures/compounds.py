"""The six compounds of the study's (LiCl)1−x(ZrCl4)x Gibbs triangle as cation orderings on hcp Cl.

The study (SI Fig. S1) highlights Li0.5ZrCl4.5 (= LiZr2Cl9), LiZrCl5, Li2ZrCl6, Li3ZrCl7,
Li7Zr2Cl15 and Li4ZrCl8 but publishes no structures. Each is built here as an ordering of Li
and Zr over the octahedral holes of an ideal hcp Cl array (:func:`lizrcl_tools.structures.mix`),
chosen by a rule fixed before any energy was computed:

1. cell: the atom count in :data:`COMPOUNDS` (≤ 52 atoms, an even Cl count that tiles hcp);
2. candidates: ``mix(x, n_atoms, seed)`` for seeds 0 … :data:`N_CANDIDATES` − 1 (hcp,
   Cl–Cl 3.65 Å; Zr never face-sharing, Zr–Zr edge sharing avoided where possible), duplicates
   removed with pymatgen's StructureMatcher (first seed kept);
3. selection: the candidate with the lowest energy per atom after relaxing cell and positions
   with the shipped MACE model + D3(BJ) (:func:`lizrcl_tools.compositions.select_orderings`,
   ``lizrcl compositions``).

The seed that won is stored in :data:`COMPOUNDS` (``selected_seed``, with ``seeds_relaxed``
saying how many seeds the stored selection compared), so ``lizrcl build NAME`` needs no
potential: it returns the ideal (unrelaxed) hcp cell of that ordering, whose ``info`` records
the rule and the selection status. Where no selection has been measured yet, seed 0 stands in
and ``info["selection_rule"]`` says so. ``lizrcl compositions`` reruns the selection and
reports whether it still picks the stored seed.

Known limitation, measured: for x < 1/3 more than half of the hcp holes hold a cation, so
face-sharing cation pairs (2.98 Å) cannot be avoided, and ``mix`` keeps only Zr out of
face sharing (Li–Li face sharing is allowed at every x). The seeded hcp orderings measured so
far (seed 0 of each) lie 0.12–0.38 eV per cation above
LiCl + ZrCl4 (MACE + D3), where the layered Li2ZrCl6 lies 0.08 eV per cation below: these
candidates are not the compounds' ground states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ase import Atoms

from lizrcl_tools.errors import SetupError

N_CANDIDATES = 2
"""Seeded candidate orderings per compound (seeds 0 … N_CANDIDATES − 1)."""


@dataclass(frozen=True)
class Compound:
    """One compound Li_a Zr_b Cl_(a+4b) and its cell.

    Attributes
    ----------
    name : str
        Builder name (``lizrcl build NAME``).
    formula : str
        The study's formula.
    n_li, n_zr : int
        Li and Zr per formula unit (Cl = n_li + 4 n_zr).
    n_atoms : int
        Atoms in the candidate cells.
    selected_seed : int or None
        Seed of the lowest-energy candidate (None: not selected yet).
    seeds_relaxed : int
        How many of the seeds 0, 1, … the stored selection compared (≤ :data:`N_CANDIDATES`;
        fewer where the measurement was cut short, see ``info["selection_rule"]``).
    """

    name: str
    formula: str
    n_li: int
    n_zr: int
    n_atoms: int
    selected_seed: int | None
    seeds_relaxed: int = 0

    @property
    def x(self) -> float:
        """ZrCl4 fraction x of (LiCl)1−x(ZrCl4)x."""
        return self.n_zr / (self.n_li + self.n_zr)

    @property
    def atoms_per_fu(self) -> int:
        return 2 * self.n_li + 5 * self.n_zr

    @property
    def formula_units(self) -> int:
        return self.n_atoms // self.atoms_per_fu


COMPOUNDS: dict[str, Compound] = {c.name: c for c in (
    Compound("lizr2cl9", "Li0.5ZrCl4.5 (LiZr2Cl9)", 1, 2, 48, 0, 1),
    Compound("lizrcl5", "LiZrCl5", 1, 1, 42, 0, 1),
    Compound("li2zrcl6-hcp", "Li2ZrCl6", 2, 1, 36, 0, 1),
    Compound("li3zrcl7", "Li3ZrCl7", 3, 1, 44, 0, 1),
    Compound("li7zr2cl15", "Li7Zr2Cl15", 7, 2, 48, 0, 1),
    Compound("li4zrcl8", "Li4ZrCl8", 4, 1, 26, 0, 1),
)}
"""The six compounds, in order of decreasing x. Li2ZrCl6 is named ``li2zrcl6-hcp`` here (the
ordered P-3m1, C2/m and layered cells keep their own builders)."""


def candidates(name: str, n_candidates: int = N_CANDIDATES, dedupe: bool = True) -> list[Atoms]:
    """The seeded candidate orderings of one compound (duplicates removed), ideal hcp cells.

    Each cell's ``info["seed"]`` is its seed; ``info["duplicate_seeds"]`` lists later seeds
    that gave the same structure.
    """
    from lizrcl_tools.structures.mixing import mix

    compound = _get(name)
    cells = [mix(compound.x, compound.n_atoms, seed=s, framework="hcp") for s in range(n_candidates)]
    for cell in cells:
        _check_formula(cell, compound)
    if not dedupe:
        return cells
    from lizrcl_tools.structures.layered import equivalent_pairs

    dup = {j: i for i, j in sorted(equivalent_pairs(cells), reverse=True)}
    kept = []
    for k, cell in enumerate(cells):
        if k in dup:
            continue
        cell.info["duplicate_seeds"] = [j for j, i in dup.items() if _root(i, dup) == k]
        kept.append(cell)
    return kept


def _root(i: int, dup: dict[int, int]) -> int:
    while i in dup:
        i = dup[i]
    return i


def _get(name: str) -> Compound:
    try:
        return COMPOUNDS[name]
    except KeyError:
        raise SetupError(f"unknown compound {name!r}; available: {', '.join(COMPOUNDS)}") from None


def _check_formula(atoms: Atoms, compound: Compound) -> None:
    symbols = atoms.get_chemical_symbols()
    k = compound.formula_units
    got = (symbols.count("Li"), symbols.count("Zr"), symbols.count("Cl"))
    want = (k * compound.n_li, k * compound.n_zr, k * (compound.n_li + 4 * compound.n_zr))
    if got != want:
        raise AssertionError(f"{compound.name}: built Li, Zr, Cl = {got}, expected {want}")


def build_compound(name: str, seed: int | None = None) -> Atoms:
    """The selected ordering of compound ``name`` (or the candidate of ``seed``), ideal hcp cell."""
    from lizrcl_tools.structures.mixing import mix

    compound = _get(name)
    # Without a measured selection, seed 0 stands in, and the provenance says so.
    chosen = (compound.selected_seed if compound.selected_seed is not None else 0) if seed is None else int(seed)
    if seed is not None:
        status = f"candidate seed {chosen} (asked for)"
    elif compound.selected_seed is None:
        status = "no selection measured yet: seed 0 stands in (run lizrcl compositions)"
    else:
        status = f"stored selection compared seeds 0..{compound.seeds_relaxed - 1}"
    atoms = mix(compound.x, compound.n_atoms, seed=chosen, framework="hcp")
    _check_formula(atoms, compound)
    atoms.info.update({
        "builder": name,
        "formula": compound.formula,
        "selection_rule": (
            f"lowest energy per atom after MACE+D3(BJ) relaxation (cell and positions) among mix(x={compound.x:.4f}, "
            f"n_atoms={compound.n_atoms}, seed=0..{N_CANDIDATES - 1}, hcp), duplicates removed by StructureMatcher; "
            + status
        ),
        "selected_seed": chosen,
        "reference": "compound highlighted in Li et al., Nano Lett. 2022, SI Fig. S1; ordering: this toolkit",
    })
    return atoms


def _builder(name: str) -> Callable[..., Atoms]:
    fn = partial(build_compound, name)
    c = COMPOUNDS[name]
    fn.__doc__ = (f"{c.formula} ({c.n_atoms} atoms, {c.formula_units} f.u.): selected cation ordering on hcp Cl "
                  f"(lowest MACE+D3 energy of {N_CANDIDATES} seeded candidates; lizrcl_tools.structures.compounds)")
    return fn


COMPOUND_BUILDERS: dict[str, Callable[..., Atoms]] = {name: _builder(name) for name in COMPOUNDS}
"""Registry entries for :data:`lizrcl_tools.structures.BUILDERS`."""
