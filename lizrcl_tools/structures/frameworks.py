"""Close-packed chloride frameworks and the integer repetitions that tile them.

Every Li–Zr–Cl structure built here is a close-packed Cl⁻ array with cations in octahedral
holes (one hole per Cl). Two stackings matter for Li2ZrCl6 (Kwak et al., Adv. Energy Mater.
2021, 11, 2003190): hexagonal close packing (hcp, ABAB; the ball-milled, trigonal P-3m1 phase)
and cubic close packing (ccp, ABC; the heat-treated, monoclinic C2/m phase).

Geometry of an ideal close packing with nearest Cl–Cl distance ``d`` (Å):
layer spacing h = d·√(2/3); hcp c = 2h = d·√(8/3); ccp cubic cell a = d·√2.
An octahedral hole sits at cation–anion distance d/√2 from its six Cl.

Neighbouring holes (what "sharing" means for two occupied octahedra):
ccp: 12 edge-sharing neighbours at d; hcp: 6 edge-sharing neighbours at d in the same gap and
2 face-sharing neighbours at h (= 0.816 d) directly above and below.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError

DEFAULT_CL_CL = 3.65
"""Default nearest Cl–Cl distance, Å: LiCl rocksalt (a = 5.13 Å) gives 3.63, ZrCl4 3.67."""

FRAMEWORKS = ("hcp", "ccp")


@dataclass(frozen=True)
class BaseCell:
    """A small periodic cell of a close-packed anion array and its octahedral holes.

    Attributes
    ----------
    cell : ndarray (3, 3)
        Lattice vectors (rows), Å.
    anions : ndarray (n, 3)
        Fractional coordinates of the Cl sites.
    holes : ndarray (n, 3)
        Fractional coordinates of the octahedral holes (one per anion).
    name : str
        Short description, recorded in provenance.
    """

    cell: np.ndarray
    anions: np.ndarray
    holes: np.ndarray
    name: str


def hcp_cell(d: float = DEFAULT_CL_CL) -> BaseCell:
    """Hexagonal 2-anion hcp cell: Cl at (1/3, 2/3, 1/4), (2/3, 1/3, 3/4); holes at (0, 0, 0), (0, 0, 1/2)."""
    c = d * np.sqrt(8.0 / 3.0)
    cell = np.array([[d, 0.0, 0.0], [-d / 2, d * np.sqrt(3) / 2, 0.0], [0.0, 0.0, c]])
    anions = np.array([[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    holes = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]])
    return BaseCell(cell, anions, holes, "hcp hexagonal 2-Cl cell")


def hcp_ortho_cell(d: float = DEFAULT_CL_CL) -> BaseCell:
    """Orthohexagonal 4-anion hcp cell (a = d, b = √3·d, c = √(8/3)·d): same packing, rectangular."""
    base = hcp_cell(d)
    # (a1, a1 + 2 a2, a3) spans a rectangle holding two hexagonal cells.
    transform = np.array([[1, 0, 0], [1, 2, 0], [0, 0, 1]])
    return _transform(base, transform, "hcp orthohexagonal 4-Cl cell")


def ccp_cubic_cell(d: float = DEFAULT_CL_CL) -> BaseCell:
    """Conventional cubic 4-anion ccp (fcc) cell, a = √2·d; holes at the rocksalt cation sites."""
    a = d * np.sqrt(2.0)
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return BaseCell(np.eye(3) * a, fcc, fcc + np.array([0.5, 0.0, 0.0]), "ccp cubic 4-Cl cell")


def ccp_primitive_cell(d: float = DEFAULT_CL_CL) -> BaseCell:
    """Primitive 1-anion fcc cell (60° rhombohedron, edges d); the hole is at (1/2, 1/2, 1/2)."""
    a = d * np.sqrt(2.0)
    cell = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    return BaseCell(cell, np.zeros((1, 3)), np.full((1, 3), 0.5), "ccp primitive 1-Cl cell")


def ccp_hex_cell(d: float = DEFAULT_CL_CL) -> BaseCell:
    """Hexagonal 3-anion ccp cell (ABC stacking along c = 3h = √6·d)."""
    c = d * np.sqrt(6.0)
    cell = np.array([[d, 0.0, 0.0], [-d / 2, d * np.sqrt(3) / 2, 0.0], [0.0, 0.0, c]])
    anions = np.array([[0, 0, 0], [2 / 3, 1 / 3, 1 / 3], [1 / 3, 2 / 3, 2 / 3]])
    holes = np.array([[0, 0, 0.5], [2 / 3, 1 / 3, 5 / 6], [1 / 3, 2 / 3, 1 / 6]])
    return BaseCell(cell, anions, holes, "ccp hexagonal 3-Cl cell")


def base_cells(framework: str, d: float = DEFAULT_CL_CL) -> list[BaseCell]:
    """Candidate base cells of one framework, from which a repetition of exactly n Cl is sought."""
    if framework == "hcp":
        return [hcp_cell(d), hcp_ortho_cell(d)]
    if framework == "ccp":
        return [ccp_cubic_cell(d), ccp_hex_cell(d), ccp_primitive_cell(d)]
    raise SetupError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}")


def _transform(base: BaseCell, transform: np.ndarray, name: str) -> BaseCell:
    """Re-express ``base`` in a supercell ``transform @ base.cell`` (integer matrix, det > 0)."""
    new_cell = transform @ base.cell
    n = int(round(abs(np.linalg.det(transform))))
    inv = np.linalg.inv(new_cell)

    def lift(frac: np.ndarray) -> np.ndarray:
        span = range(-2, 3)
        pts = []
        for shift in itertools.product(span, span, span):
            pts.append((frac + np.array(shift)) @ base.cell @ inv)
        allp = np.concatenate(pts)
        allp = allp[np.all((allp > -1e-8) & (allp < 1 - 1e-8), axis=1)]
        allp = np.mod(np.round(allp, 10), 1.0)
        uniq = np.unique(np.round(allp, 8), axis=0)
        if len(uniq) != n * len(frac):
            raise AssertionError("supercell transform lost or duplicated sites")
        return uniq

    return BaseCell(new_cell, lift(base.anions), lift(base.holes), name)


def perpendicular_widths(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell, Å (the periodic-image spacing)."""
    volume = abs(np.linalg.det(cell))
    a, b, c = cell
    return volume / np.array(
        [np.linalg.norm(np.cross(b, c)), np.linalg.norm(np.cross(c, a)), np.linalg.norm(np.cross(a, b))]
    )


def factorizations(n: int) -> list[tuple[int, int, int]]:
    """All ordered triples (i, j, k) of positive integers with i·j·k = n."""
    out = []
    for i in range(1, n + 1):
        if n % i:
            continue
        for j in range(1, n // i + 1):
            if (n // i) % j == 0:
                out.append((i, j, n // i // j))
    return out


def most_cubic_repeat(cell: np.ndarray, multiple: int) -> tuple[int, int, int]:
    """Diagonal repetition with product ``multiple`` whose supercell is most cubic-like.

    "Most cubic-like" = largest smallest perpendicular width (the least-constrained periodic
    images), ties broken by the smallest spread of widths, then lexicographically.
    """
    best = None
    for rep in factorizations(multiple):
        widths = perpendicular_widths(np.asarray(rep)[:, None] * cell)
        key = (-round(widths.min(), 6), round(widths.max() - widths.min(), 6), rep)
        if best is None or key < best[0]:
            best = (key, rep)
    assert best is not None
    return best[1]


def tile(base: BaseCell, repeat: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cartesian Cl sites and hole sites (Å) of ``base`` repeated ``repeat`` times, and the cell."""
    reps = np.asarray(repeat)
    cell = reps[:, None] * base.cell
    shifts = np.array(list(itertools.product(*(range(r) for r in repeat))), dtype=float)

    def expand(frac: np.ndarray) -> np.ndarray:
        allf = (frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3) / reps
        return allf @ cell

    return cell, expand(base.anions), expand(base.holes)


def framework_atoms(framework: str, n_cl: int, d: float = DEFAULT_CL_CL) -> tuple[Atoms, np.ndarray, str]:
    """Pick the most cubic-like close-packed cell holding exactly ``n_cl`` Cl.

    Returns
    -------
    (Atoms, ndarray, str)
        The Cl-only Atoms, the Cartesian hole positions (Å, one per Cl) and a description of
        the base cell and repetition used.
    """
    best = None
    for base in base_cells(framework, d):
        k = len(base.anions)
        if n_cl % k:
            continue
        rep = most_cubic_repeat(base.cell, n_cl // k)
        widths = perpendicular_widths(np.asarray(rep)[:, None] * base.cell)
        key = (-round(widths.min(), 6), round(widths.max() - widths.min(), 6))
        if best is None or key < best[0]:
            best = (key, base, rep)
    if best is None:
        need = ", ".join(sorted({str(len(b.anions)) for b in base_cells(framework, d)}))
        raise SetupError(
            f"{n_cl} Cl cannot tile an {framework} framework with these cells (Cl count must be "
            f"a multiple of one of: {need}); try the other framework or another atom count"
        )
    _, base, rep = best
    cell, anions, holes = tile(base, rep)
    atoms = Atoms(["Cl"] * len(anions), positions=anions, cell=cell, pbc=True)
    return atoms, holes, f"{base.name} x {rep[0]}x{rep[1]}x{rep[2]}"
