"""The study's seven Li hops in layered Li2ZrCl6 (Note S1, Figs S17–S18), as NEB endpoints.

The study gives no coordinates for its 2×2×2 cell, only the mechanism of each path. The
endpoints here are built on this package's ordered P-3m1 cell (``li2zrcl6-p3m1``, hcp Cl;
Zr on 1a + 2d, Li on 6g), with this mapping, stated so it can be argued with:

* **LiA** (Li inside a layer): Li on its 6g site, in the Li-rich cation plane (z = 0:
  1 Zr + 6 Li per cell). **LiB** (Li between layers): Li in the empty octahedron directly
  above a LiA site (6h, z = 1/2: the plane that holds only 2 Zr), sharing a face with it.
* **Channel I** (LiA → LiB, perpendicular to the layer): the LiA passes the shared Cl3 face
  (trigonal-planar transition state). I-1: from the perfect cell ("minimum configuration").
  I-2: from the final state of I-1, the LiA directly above the new LiB (face-sharing with it)
  hops on upward, away from it. I-3: the LiA next to a LiA vacancy hops up, so its final
  state holds two neighbouring LiA vacancies.
* **Channel II** (LiB → LiB, octahedral–tetrahedral–octahedral): II-1: an extra Li (LiB
  interstitial, cell one Li richer) moves from its octahedron into the neighbouring
  tetrahedral void (the O→T step). II-2: the LiB of I-1's final state (a LiA vacancy below
  it) moves through that tetrahedron to the next LiB site (the band passes the T site as a
  waypoint).
* **Channel III** (LiA → LiA vacancy, in the layer, linear two-coordinated transition
  state through the shared Cl–Cl edge): III-1: a plain LiA vacancy (cell one Li poorer).
  III-2: the vacancy of I-1's final state, with the LiB above it.

Vacancy and interstitial cells are not charge neutral (one Li⁺ less or more); a machine
learned potential has no charge to balance, and the VASP NEB inputs keep the electron count
of the atoms (a Li atom less or more, not an ion), as a DFT cell with the defect would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from lizrcl_tools.errors import SetupError

STUDY_TABLE: dict[str, tuple[float, float]] = {
    "I-1": (0.38, 0.32),
    "I-2": (0.14, -0.29),
    "I-3": (0.30, -0.03),
    "II-1": (0.33, 0.27),
    "II-2": (0.52, 0.26),
    "III-1": (0.63, 0.0),
    "III-2": (0.67, 0.26),
}
"""The study's barrier and reaction energy per path, eV (Note S1, Figs S17–S18; DFT)."""

SITE_TOLERANCE_A = 0.5
"""An atom within this distance of a site occupies it, Å."""


@dataclass
class StudyPath:
    """One hop: endpoints (same atoms, same order), the moving atom, and what the study found.

    Attributes
    ----------
    name : str
        ``I-1`` … ``III-2``.
    channel, environment : str
        The study's channel and the environment of the path (our construction, in words).
    initial, final : ase.Atoms
        Unrelaxed endpoints, sorted Li, Zr, Cl.
    mover : int
        Index of the Li that hops.
    via : ndarray (3,) or None
        Waypoint of the mover (the tetrahedral site of an O–T–O hop), Å.
    study_barrier_eV, study_reaction_energy_eV : float
        The study's numbers.
    """

    name: str
    channel: str
    environment: str
    initial: Atoms
    final: Atoms
    mover: int
    via: np.ndarray | None = None
    study_barrier_eV: float = float("nan")
    study_reaction_energy_eV: float = float("nan")
    info: dict[str, Any] = field(default_factory=dict)


class _Sites:
    """LiA, LiB and tetrahedral sites of the perfect supercell."""

    def __init__(self, perfect: Atoms, repeat: tuple[int, int, int]) -> None:
        self.perfect = perfect
        self.cell = perfect.cell
        self.li = np.flatnonzero(np.array(perfect.get_chemical_symbols()) == "Li")
        self.n_li = len(self.li)
        # Half the unit-cell c vector: from a 6g site to the 6h site above it.
        self.half_c = np.asarray(perfect.cell[2]) / repeat[2] / 2.0
        self.cl = perfect.positions[np.array(perfect.get_chemical_symbols()) == "Cl"]

    def lia(self, i: int) -> np.ndarray:
        return self.perfect.positions[i].copy()

    def lib(self, i: int) -> np.ndarray:
        return self.perfect.positions[i] + self.half_c

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        d, _ = find_mic(np.asarray(b) - np.asarray(a), self.cell, True)
        return float(np.linalg.norm(d))

    def in_plane_neighbour(self, i: int) -> int:
        """The nearest other LiA in the same cation plane (lowest index among equals)."""
        best = None
        for j in self.li:
            if j == i:
                continue
            d, _ = find_mic(self.perfect.positions[j] - self.perfect.positions[i], self.cell, True)
            if abs(d[2]) > 0.3:
                continue
            key = (round(float(np.linalg.norm(d)), 3), int(j))
            best = key if best is None or key < best else best
        return best[1]

    def above(self, i: int) -> int:
        """The LiA one unit cell higher in the same face-sharing column."""
        target = self.perfect.positions[i] + 2 * self.half_c
        for j in self.li:
            if j != i and self.distance(self.perfect.positions[j], target) < SITE_TOLERANCE_A:
                return int(j)
        raise SetupError("the supercell needs at least two unit cells along c for path I-2")

    def tetrahedral_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The tetrahedral void sharing faces with the octahedra at ``a`` and ``b`` (Å).

        In hcp a tetrahedral hole lies on the c axis through a Cl, 3/4 of a layer spacing
        from it; of those, the one closest to the midpoint of a and b (then lowest z).
        """
        d, _ = find_mic(b - a, self.cell, True)
        mid = a + d / 2
        best = None
        for cl in self.cl:
            for sign in (1.0, -1.0):
                t = cl + sign * 0.75 * self.half_c
                key = (round(self.distance(t, mid), 3), round(float(t[2]), 3))
                if best is None or key < best[0]:
                    best = (key, t)
        return best[1]


def _moved(atoms: Atoms, index: int, position: np.ndarray) -> Atoms:
    out = atoms.copy()
    out.positions[index] = position
    return out


def _without(atoms: Atoms, index: int) -> tuple[Atoms, callable]:
    """``atoms`` minus atom ``index``, and a map from old to new indices."""
    out = atoms.copy()
    del out[index]
    return out, (lambda i: i - 1 if i > index else i)


def _with_li(atoms: Atoms, position: np.ndarray, n_li: int) -> Atoms:
    """``atoms`` with one more Li, inserted after the last Li (keeps Li, Zr, Cl order)."""
    extra = Atoms("Li", positions=[position], cell=atoms.cell, pbc=atoms.pbc)
    return atoms[:n_li] + extra + atoms[n_li:]


def build_study_paths(
    repeat: tuple[int, int, int] = (2, 2, 2),
    names: list[str] | None = None,
    perfect: Atoms | None = None,
) -> list[StudyPath]:
    """Endpoints of the study's seven hops in a supercell of ``li2zrcl6-p3m1``.

    Parameters
    ----------
    repeat : (int, int, int)
        Supercell of the 27-atom P-3m1 cell; (2, 2, 2) is the study's 2×2×2 (216 atoms);
        (1, 1, 2) (54 atoms) keeps every defect ≥ 10.9 Å from its periodic images at a
        quarter of the cost. c must be repeated at least twice (path I-2 needs two LiA in a
        column).
    names : list of str, optional
        Subset of :data:`STUDY_TABLE` keys (default: all seven, in the study's order).
    perfect : ase.Atoms, optional
        The perfect supercell relaxed with the potential (same atoms and order as
        ``build("li2zrcl6-p3m1", repeat=repeat)``, any cell orientation); default: the
        ideal cell.

    Returns
    -------
    list of StudyPath
    """
    from lizrcl_tools.structures import build

    repeat = tuple(int(r) for r in repeat)
    if len(repeat) != 3 or min(repeat) < 1 or repeat[2] < 2:
        raise SetupError(f"supercell {repeat}: three positive repeats with at least 2 along c are needed")
    wanted = list(STUDY_TABLE) if names is None else list(names)
    unknown = [n for n in wanted if n not in STUDY_TABLE]
    if unknown:
        raise SetupError(f"unknown study path(s) {unknown}; known: {', '.join(STUDY_TABLE)}")
    ideal = build("li2zrcl6-p3m1", repeat=repeat)
    if perfect is None:
        perfect = ideal
    elif perfect.get_chemical_symbols() != ideal.get_chemical_symbols():
        raise SetupError(f"the relaxed perfect cell does not hold the atoms of li2zrcl6-p3m1 × {repeat}")
    perfect = perfect.copy()
    perfect.calc = None
    s = _Sites(perfect, repeat)
    i0 = int(s.li[0])
    k = s.in_plane_neighbour(i0)
    frenkel = _moved(perfect, i0, s.lib(i0))  # final state of I-1: LiB above a LiA vacancy
    paths: dict[str, StudyPath] = {}

    def add(name: str, channel: str, env: str, initial: Atoms, final: Atoms, mover: int, via=None) -> None:
        barrier, de = STUDY_TABLE[name]
        paths[name] = StudyPath(name, channel, env, initial, final, int(mover), via, barrier, de)

    add("I-1", "I (LiA → LiB)", "perfect cell: a LiA hops up through the shared Cl3 face into the empty "
        "octahedron above it", perfect, frenkel, i0)
    j = s.above(i0)
    add("I-2", "I (LiA → LiB)", "a LiB present (final state of I-1): the LiA face-sharing with it hops on "
        "upward, away from it", frenkel, _moved(frenkel, j, s.lib(j)), j)
    vac, new = _without(perfect, k)
    add("I-3", "I (LiA → LiB)", "a LiA vacancy next to the hopping LiA: two neighbouring LiA vacancies at the "
        "final state", vac, _moved(vac, new(i0), s.lib(i0)), new(i0))
    b0, bk = s.lib(i0), s.lib(k)
    tet = s.tetrahedral_between(b0, bk)
    inter = _with_li(perfect, b0, s.n_li)
    add("II-1", "II (LiB → LiB, O→T)", "an extra Li (LiB interstitial) moves from its octahedron into the "
        "neighbouring tetrahedral void", inter, _moved(inter, s.n_li, tet), s.n_li)
    add("II-2", "II (LiB → LiB, O–T–O)", "the LiB of I-1's final state (LiA vacancy below it) moves through the "
        "tetrahedral void to the next LiB site", frenkel, _moved(frenkel, i0, bk), i0, via=tet)
    vac0, new0 = _without(perfect, i0)
    add("III-1", "III (LiA → LiA vacancy)", "a LiA vacancy; its in-plane neighbour hops in through the shared "
        "Cl–Cl edge", vac0, _moved(vac0, new0(k), s.lia(i0)), new0(k))
    add("III-2", "III (LiA → LiA vacancy)", "the LiA vacancy of I-1's final state, LiB above it; the in-plane "
        "neighbour hops in", frenkel, _moved(frenkel, k, s.lia(i0)), k)
    for p in paths.values():
        p.info = {"cell": "li2zrcl6-p3m1", "repeat": list(repeat), "natoms": len(p.initial),
                  "hop_A": s.distance(p.initial.positions[p.mover], p.final.positions[p.mover])}
    return [paths[n] for n in wanted]


def site_counts(atoms: Atoms, perfect: Atoms, repeat: tuple[int, int, int]) -> dict[str, int]:
    """Atoms, empty LiA sites (vacancies) and Li off the LiA sites (interstitials) of a cell.

    Sites are the Li positions of ``perfect``, the defect-free supercell ``repeat``.
    """
    s = _Sites(perfect, tuple(repeat))
    li = atoms.positions[np.array(atoms.get_chemical_symbols()) == "Li"]
    sites = perfect.positions[s.li]
    occupied = np.zeros(len(sites), bool)
    interstitials = 0
    for p in li:
        d = [s.distance(p, q) for q in sites]
        if min(d) < SITE_TOLERANCE_A:
            occupied[int(np.argmin(d))] = True
        else:
            interstitials += 1
    return {"atoms": len(atoms), "vacancies": int((~occupied).sum()), "interstitials": interstitials}
