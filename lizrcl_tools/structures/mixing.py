"""(LiCl)1−x(ZrCl4)x cells on a close-packed chloride framework, for any 0 ≤ x ≤ 1.

Composition: n_Li : n_Zr = (1 − x) : x and n_Cl = n_Li + 4·n_Zr (charge neutral with Li⁺,
Zr⁴⁺, Cl⁻), so the atom count is N = 2·n_Li + 5·n_Zr. An (N, x) pair with no integer solution
within ``x_tol`` is refused with the nearest valid N.

Construction: n_Cl chloride ions on an ideal hcp or ccp array (nearest Cl–Cl ``cl_cl`` Å,
default 3.65 Å, between LiCl's 3.63 and ZrCl4's 3.67 Å), chosen as the most cubic-like
repetition of a small close-packed cell; the n_Li + n_Zr ≤ n_Cl cations fill octahedral holes.
Placement is seeded and greedy: each Zr goes to a random hole among those with the fewest Zr
neighbours sharing a face (hcp only, 2.98 Å apart: always avoided) or an edge (d apart: avoided
where the composition allows); each Li then goes to a random free hole among those with the
fewest face-sharing Zr. The same seed gives the same cell.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.geometry import get_distances

from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures.checks import check_distances, sort_by_element
from lizrcl_tools.structures.frameworks import DEFAULT_CL_CL, FRAMEWORKS, framework_atoms
from lizrcl_tools.structures.supercell import check_size

MIX_MAX_ATOMS = 5_000
"""Largest mixed cell built directly: placement keeps hole–hole distance matrices (n_Cl² floats,
~70 MB each at 5,000 atoms); repeat a smaller mixed cell for more atoms."""

PLACEMENT_PASSES = 20
"""Greedy placement passes per cell; the one with fewest Zr–Zr face, then edge, contacts wins."""

X_TOL = 5e-3
"""Default tolerance on x: |n_Zr/(n_Li + n_Zr) − x| must not exceed it (0.333 matches 1/3)."""


def composition(
    x: float, n_atoms: int, x_tol: float = X_TOL, framework: str | None = None
) -> tuple[int, int, int]:
    """Integer (n_Li, n_Zr, n_Cl) of an N-atom (LiCl)1−x(ZrCl4)x cell, or raise :class:`SetupError`.

    Among all n_Li, n_Zr ≥ 0 with 2·n_Li + 5·n_Zr = N, the one whose n_Zr/(n_Li + n_Zr) is
    closest to ``x`` is returned if it lies within ``x_tol``. With ``framework`` given, the Cl
    count must also tile it (hcp cells hold an even number of Cl).
    """
    if not 0.0 <= x <= 1.0:
        raise SetupError(f"x must lie in [0, 1] (fraction of ZrCl4), got {x}")
    if n_atoms < 2:
        raise SetupError(f"a (LiCl)1-x(ZrCl4)x cell needs at least 2 atoms, got {n_atoms}")
    best = _closest(x, n_atoms)
    fits = best is not None and best[0] <= x_tol
    if fits and framework is not None:
        assert best is not None
        fits = _tileable(framework, best[1] + 4 * best[2])
    if not fits:
        suggestions = _valid_counts_near(x, n_atoms, x_tol, framework)
        hint = ", ".join(str(n) for n in suggestions) if suggestions else "none within ±200"
        raise SetupError(
            f"{n_atoms} atoms cannot hold (LiCl)1-x(ZrCl4)x with x = {x}: needs n_Li:n_Zr = "
            f"(1-x):x, n_Cl = n_Li + 4 n_Zr, i.e. N = 2 n_Li + 5 n_Zr (tolerance {x_tol} on x)"
            + (", and an even n_Cl for hcp" if framework == "hcp" else "")
            + f"; nearest valid N: {hint}"
        )
    _, n_li, n_zr = best
    return n_li, n_zr, n_li + 4 * n_zr


def _place(n_zr: int, n_li: int, face: np.ndarray, edge: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One greedy seeded pass: the element placed on each hole ("" = empty)."""
    occupied = np.full(len(face), "", dtype=object)
    zr_face = np.zeros(len(face), dtype=int)
    zr_edge = np.zeros(len(face), dtype=int)
    for _ in range(n_zr):
        free = np.flatnonzero(occupied == "")
        # Face sharing with Zr is all but forbidden (score 1000); edge sharing is avoided.
        score = 1000 * zr_face[free] + zr_edge[free]
        choice = rng.choice(free[score == score.min()])
        occupied[choice] = "Zr"
        zr_face += face[choice]
        zr_edge += edge[choice]
    for _ in range(n_li):
        free = np.flatnonzero(occupied == "")
        score = zr_face[free]
        occupied[rng.choice(free[score == score.min()])] = "Li"
    return occupied


def _closest(x: float, n_atoms: int) -> tuple[float, int, int] | None:
    best = None
    for n_zr in range(n_atoms // 5 + 1):
        rest = n_atoms - 5 * n_zr
        if rest % 2:
            continue
        n_li = rest // 2
        if n_li + n_zr == 0:
            continue
        err = abs(n_zr / (n_li + n_zr) - x)
        if best is None or err < best[0]:
            best = (err, n_li, n_zr)
    return best


def _tileable(framework: str, n_cl: int) -> bool:
    """Whether ``n_cl`` Cl fit a diagonal repetition of the framework's base cells."""
    return n_cl % 2 == 0 if framework == "hcp" else n_cl > 0


def _valid_counts_near(
    x: float, n_atoms: int, x_tol: float, framework: str | None, how_many: int = 4
) -> list[int]:
    found = []
    for delta in range(1, 201):
        for n in (n_atoms - delta, n_atoms + delta):
            if n >= 2:
                best = _closest(x, n)
                if best is not None and best[0] <= x_tol:
                    if framework is None or _tileable(framework, best[1] + 4 * best[2]):
                        found.append(n)
        if len(found) >= how_many:
            break
    return sorted(found)[:how_many]


def mix(
    x: float,
    n_atoms: int,
    seed: int,
    framework: str = "hcp",
    cl_cl: float = DEFAULT_CL_CL,
    x_tol: float = X_TOL,
    max_atoms: int | None = MIX_MAX_ATOMS,
) -> Atoms:
    """Build a charge-neutral (LiCl)1−x(ZrCl4)x cell with cations in octahedral holes.

    Parameters
    ----------
    x : float
        ZrCl4 fraction, 0 ≤ x ≤ 1 (x = 1/3 is Li2ZrCl6, x = 0 LiCl, x = 1 ZrCl4).
    n_atoms : int
        Exact number of atoms N = 2 n_Li + 5 n_Zr.
    seed : int
        Seed of the cation placement (recorded in ``info["seed"]``).
    framework : {"hcp", "ccp"}
        Stacking of the chloride array.
    cl_cl : float
        Nearest Cl–Cl distance of the ideal array, Å (sets the density).
    x_tol : float
        Accepted deviation of the realised x from ``x``.
    max_atoms : int or None
        Refuse, before anything is allocated, a request above this many atoms (default
        :data:`MIX_MAX_ATOMS`; None: no limit). Build a smaller cell and repeat it instead.

    Returns
    -------
    ase.Atoms
        Sorted Li, Zr, Cl; ``info`` holds builder "mix", x (realised), x_requested, framework,
        seed, cl_cl_A, site_arrangement and the base cell used.

    Raises
    ------
    SetupError
        Incompatible (x, N) (with the nearest valid N), an unknown framework, a Cl count the
        framework cannot tile, or a result closer than the physical minimum distances.
    """
    if framework not in FRAMEWORKS:
        raise SetupError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")
    check_size(int(n_atoms), max_atoms, what="mixed cell (before any --supercell/--repeat)")
    n_li, n_zr, n_cl = composition(x, n_atoms, x_tol, framework)
    anions, holes, base_name = framework_atoms(framework, n_cl, cl_cl)
    rng = np.random.default_rng(seed)

    cell = np.asarray(anions.cell)
    # Hole–hole distances with the minimum-image convention.
    _, dist = get_distances(holes, cell=cell, pbc=True)
    np.fill_diagonal(dist, np.inf)
    face = dist < 0.9 * cl_cl  # hcp face-sharing neighbours, h = 0.816 d
    edge = (dist >= 0.9 * cl_cl) & (dist < 1.05 * cl_cl)

    # A greedy pass can paint itself into a corner; keep the best of a few seeded passes.
    best = None
    for _ in range(PLACEMENT_PASSES):
        occupied = _place(n_zr, n_li, face, edge, rng)
        zr_idx = np.flatnonzero(occupied == "Zr")
        n_face_pairs = int(face[np.ix_(zr_idx, zr_idx)].sum() // 2)
        n_edge_pairs = int(edge[np.ix_(zr_idx, zr_idx)].sum() // 2)
        key = (n_face_pairs, n_edge_pairs)
        if best is None or key < best[0]:
            best = (key, occupied)
        if key == (0, 0):
            break
    assert best is not None
    (n_face_pairs, n_edge_pairs), occupied = best

    cation_idx = np.flatnonzero(occupied != "")
    atoms = Atoms(
        list(occupied[cation_idx]) + ["Cl"] * n_cl,
        positions=np.concatenate([holes[cation_idx], anions.positions]),
        cell=cell,
        pbc=True,
    )
    atoms.info.update(
        {
            "builder": "mix",
            "reference": "ideal close-packed Cl with cations in octahedral holes (this toolkit)",
            "x": n_zr / (n_li + n_zr),
            "x_requested": float(x),
            "framework": framework,
            "seed": int(seed),
            "cl_cl_A": float(cl_cl),
            "base_cell": base_name,
            "site_arrangement": (
                f"{framework} Cl; {n_zr} Zr and {n_li} Li on random octahedral holes of {n_cl} "
                f"(seeded, Zr-Zr face sharing {n_face_pairs}, edge sharing {n_edge_pairs} pairs)"
            ),
            "zr_edge_sharing_pairs": n_edge_pairs,
            "zr_face_sharing_pairs": n_face_pairs,
        }
    )
    atoms = sort_by_element(atoms)
    check_distances(atoms, where=f"mix(x={x}, n_atoms={n_atoms}, framework={framework})")
    return atoms
