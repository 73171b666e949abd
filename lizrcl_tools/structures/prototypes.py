"""Named crystal builders for the Li–Zr–Cl system, kept in one registry table.

Each builder returns an ASE ``Atoms`` (sorted Li, Zr, Cl) whose ``info`` records its provenance:
``builder``, ``reference``, ``site_arrangement`` (which sites Li and Zr occupy: this decides the
Li⁺ conductivity, see Zhong et al., arXiv:2403.08237), ``space_group`` of the ordered cell, and
``seed`` where a random arrangement was asked for.

Li2ZrCl6 in a Li3MCl6 frame has fewer cations than the frame has cation sites. The builders
here mark the unoccupied Li sites with placeholder atoms of symbol ``X`` (atomic number 0)
until :func:`lizrcl_tools.structures.build` has repeated the cell and, if a seed was given,
redistributed Li over the Li sites; ``build`` then removes the placeholders.

Coordinates of licl and the Li2ZrCl6 cells are idealised (undistorted close packing,
Cl–Cl = ``d``), those of zrcl4 a relaxed model (see its docstring); none are refined
experimental coordinates. Relax a cell with the potential or DFT before measuring anything from
it: SevenNet-0 gives a maximum force of 0.8 (P-3m1) and 1.1 eV/Å (C2/m) and ≈ 3 GPa tensile
stress on the ideal Li2ZrCl6 cells (Zr–Cl shrinks from the ideal 2.58 Å).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ase import Atoms

from lizrcl_tools.structures.frameworks import DEFAULT_CL_CL, hcp_cell

VACANCY = "X"
"""Placeholder symbol for an unoccupied Li site (removed by ``build``)."""

LI_SITE = "li_site"
"""``atoms.arrays`` key: True on sites of the Li sublattice (occupied by Li or ``X``)."""


def _atoms(symbols: list[str], frac: np.ndarray, cell: np.ndarray, info: dict) -> Atoms:
    atoms = Atoms(symbols, scaled_positions=np.mod(frac, 1.0), cell=cell, pbc=True)
    atoms.arrays[LI_SITE] = np.array([s in ("Li", VACANCY) for s in symbols])
    atoms.info.update(info)
    return atoms


def licl(a: float = 5.13) -> Atoms:
    """Rocksalt LiCl, conventional cubic cell (8 atoms), Fm-3m (225).

    Parameters
    ----------
    a : float
        Cubic lattice parameter, Å. 5.13 Å is the room-temperature X-ray value
        (5.1295 Å at 25 °C, Swanson & Fuyat, NBS Circular 539, vol. 1, 1953).

    Site arrangement: Cl on a ccp (fcc) array, Li in every octahedral hole (4a/4b).
    """
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.concatenate([fcc + [0.5, 0, 0], fcc])
    info = {
        "builder": "licl",
        "reference": "rocksalt LiCl, a = 5.1295 Å at 25 °C (Swanson & Fuyat, NBS Circular 539 vol. 1, 1953)",
        "site_arrangement": "Cl ccp (4a); Li in all octahedral holes (4b)",
        "space_group": "Fm-3m (225)",
    }
    return _atoms(["Li"] * 4 + ["Cl"] * 4, frac, np.eye(3) * a, info)


# Pca2_1 (No. 29) general position 4a; every atom below is one orbit of four.
_PCA21_OPS = (
    (np.array([1, 1, 1]), np.array([0.0, 0.0, 0.0])),
    (np.array([-1, -1, 1]), np.array([0.0, 0.0, 0.5])),
    (np.array([1, -1, 1]), np.array([0.5, 0.0, 0.0])),
    (np.array([-1, 1, 1]), np.array([0.5, 0.0, 0.5])),
)
# Generators (fractional). Zr; Cl(t1), Cl(t2) terminal (cis); Cl(b1), Cl(b2) bridging.
_ZRCL4_SITES = (
    ("Zr", (0.0687, 0.1609, 0.0000)),
    ("Cl", (0.9183, 0.3630, 0.8727)),
    ("Cl", (0.2161, 0.3653, 0.1269)),
    ("Cl", (0.2392, 0.8885, 0.1152)),
    ("Cl", (0.4018, 0.1136, 0.8865)),
)


def zrcl4() -> Atoms:
    """Orthorhombic ZrCl4, Pca2_1 (29), Z = 4 (20 atoms): zigzag chains of edge-sharing ZrCl6.

    Cell (300 K, single-crystal X-ray): a = 6.262, b = 7.402, c = 12.039 Å
    (Borjas Nevarez, Balasekaran, Kim, Weck & Poineau, "Zirconium tetrachloride revisited",
    Acta Cryst. C 74 (2018) 307–311). The chain motif was first described by Krebs,
    Z. anorg. allg. Chem. 378 (1970) 263–272, who reported it in a monoclinic P2/c cell
    (a = 6.361, b = 7.407, c = 6.256 Å, β = 109.3°); the orthorhombic Pca2_1 cell is the 2018
    redetermination. Both describe the same chains: each Zr has two cis terminal Cl and shares
    two edges with its neighbours along a.

    The refined coordinates were not available to us, so the five generator sites above are a
    model: first fitted in the experimental cell under Pca2_1 symmetry to the reported bond
    lengths, then relaxed with the SevenNet-0 universal potential (PBE-trained) at that fixed
    cell, keeping Pca2_1 (ase FixSymmetry; residual force < 0.01 eV/Å before rounding to
    4 decimals). Result: Zr–Cl 2.34 Å (terminal), 2.52 and 2.67 Å (bridging) against
    Krebs' 2.307, 2.498, 2.655 Å; intra-chain Zr···Zr 3.94 Å against 3.968 Å (2018, 300 K).

    Site arrangement: Zr in 1/4 of the octahedral holes of a Cl packing, forming zigzag
    chains along a; no Li.
    """
    cell = np.diag([6.262, 7.402, 12.039])
    symbols, frac = [], []
    for symbol, site in _ZRCL4_SITES:
        for rot, trans in _PCA21_OPS:
            symbols.append(symbol)
            frac.append(rot * np.array(site) + trans)
    info = {
        "builder": "zrcl4",
        "reference": (
            "cell: Borjas Nevarez et al., Acta Cryst. C 74 (2018) 307 (Pca2_1, 300 K); chain motif: "
            "Krebs, Z. anorg. allg. Chem. 378 (1970) 263; coordinates: model fitted to the reported bond lengths "
            "and relaxed with SevenNet-0 at the fixed experimental cell"
        ),
        "site_arrangement": "Zr in zigzag chains of edge-sharing ZrCl6 octahedra along a (2 cis terminal Cl per Zr)",
        "space_group": "Pca2_1 (29)",
    }
    return _atoms(symbols, np.array(frac), cell, info)


def _decorate(
    holes: np.ndarray, table: dict[tuple[float, float, float], str], anions: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Symbols and fractional positions: occupied holes (named by ``table``), then the Cl."""
    names = _classify(holes, table)
    keep = [k for k, n in enumerate(names) if n]
    return [names[k] for k in keep] + ["Cl"] * len(anions), np.concatenate([holes[keep], anions])


def _classify(frac: np.ndarray, table: dict[tuple[float, float, float], str]) -> list[str]:
    """Name each fractional hole position by looking it up in ``table`` (coordinates mod 1)."""
    names = []
    for p in np.mod(np.round(frac, 6), 1.0) % 1.0:
        for key, name in table.items():
            if np.allclose(np.mod(np.array(key) - p + 0.5, 1.0) - 0.5, 0.0, atol=1e-4):
                names.append(name)
                break
        else:
            raise AssertionError(f"unclassified hole at {p}")
    return names


def li2zrcl6_p3m1(d: float = DEFAULT_CL_CL) -> Atoms:
    """Trigonal Li2ZrCl6 in the Li3YCl6 (Li3ErCl6) type, P-3m1 (164), Z = 3 (27 atoms).

    Structure type: Li3ErCl6/Li3YCl6, P-3m1, a = 11.177, c = 6.036 Å for Li3ErCl6
    (Bohnsack et al., Z. anorg. allg. Chem. 623 (1997) 1067);
    Li3YCl6 as a Li⁺ conductor: Asano et al., Adv. Mater. 30 (2018) 1803075. Ball-milled
    Li2ZrCl6 adopts this hcp-anion type (Kwak et al., Adv. Energy Mater. 11 (2021) 2003190),
    with a ≈ 10.9–11.0 Å, c ≈ 5.9–6.0 Å.

    Here the cell is the 3 × 3 × 1 supercell of an ideal hcp Cl array with Cl–Cl = ``d``
    (a = 3d = 10.95 Å, c = √(8/3)·d = 5.96 Å for d = 3.65 Å): 18 Cl (6i sites), 18 octahedral
    holes for 9 cations.

    Site arrangement (deterministic ordered choice): Zr on 1a (0, 0, 0) and 2d
    (1/3, 2/3, 1/2), the M sites of Li3YCl6; Li on 6g (1/3, 0, 0), all six Li in the z = 0
    cation layer; 6h (1/3, 0, 1/2), 2d (1/3, 2/3, 0) and 1b (0, 0, 1/2) empty. Every column of
    face-sharing holes along c then holds exactly one cation (no face-sharing cation pairs),
    and the cation charge is split +10 / +8 between the two layers. The ordered cell keeps
    P-3m1. ``build(..., seed=n)`` instead scatters the 6 Li over the 12 Li sites of 6g ∪ 6h
    of the (super)cell at random.
    """
    base = hcp_cell(d)
    reps = np.array([3, 3, 1])
    shifts = np.array([[i, j, 0] for i in range(3) for j in range(3)], dtype=float)
    anions = ((base.anions[None] + shifts[:, None]).reshape(-1, 3)) / reps
    holes = ((base.holes[None] + shifts[:, None]).reshape(-1, 3)) / reps
    t = 1 / 3
    table = {
        (0, 0, 0): "Zr",  # 1a
        (t, 2 * t, 0.5): "Zr", (2 * t, t, 0.5): "Zr",  # 2d, z = 1/2
        (t, 0, 0): "Li", (0, t, 0): "Li", (2 * t, 2 * t, 0): "Li",  # 6g, x = 1/3
        (2 * t, 0, 0): "Li", (0, 2 * t, 0): "Li", (t, t, 0): "Li",
        (t, 0, 0.5): VACANCY, (0, t, 0.5): VACANCY, (2 * t, 2 * t, 0.5): VACANCY,  # 6h
        (2 * t, 0, 0.5): VACANCY, (0, 2 * t, 0.5): VACANCY, (t, t, 0.5): VACANCY,
        (t, 2 * t, 0): "", (2 * t, t, 0): "", (0, 0, 0.5): "",  # 2d z = 0, 1b: empty holes
    }
    symbols, frac = _decorate(holes, table, anions)
    info = {
        "builder": "li2zrcl6-p3m1",
        "reference": (
            "Li3YCl6 type (Bohnsack et al., Z. anorg. allg. Chem. 623 (1997) 1067; Asano et al., "
            "Adv. Mater. 30 (2018) 1803075); ball-milled Li2ZrCl6: Kwak et al., Adv. Energy Mater. 11 (2021) 2003190"
        ),
        "site_arrangement": (
            "hcp Cl; Zr on 1a + 2d(z=1/2); Li on 6g (z=0 layer); 6h, 2d(z=0), 1b empty"
        ),
        "space_group": "P-3m1 (164)",
        "framework": "hcp",
        "cl_cl_A": float(d),
    }
    cell = reps[:, None] * base.cell
    return _atoms(symbols, frac, cell, info)


def li2zrcl6_c2m(d: float = DEFAULT_CL_CL) -> Atoms:
    """Monoclinic Li2ZrCl6 in the Li3InCl6 type, C2/m (12), Z = 2 (18 atoms).

    Structure type: Li3InCl6 / Li3ScCl6 (Na3GdI6 type), C2/m, ccp Cl; Li3ScCl6: a = 6.398,
    b = 11.040, c = 6.391 Å, β = 109.89° (Bohnsack et al., Z. anorg. allg. Chem. 623 (1997)
    1067); Li3InCl6: X. Li et al., Energy Environ. Sci. 12 (2019) 2665. Heat-treated Li2ZrCl6
    takes this ccp-anion type (Kwak et al., Adv. Energy Mater. 11 (2021) 2003190).

    Cell from an ideal ccp Cl array with Cl–Cl = ``d``: a = √3·d, b = 3d, c = √3·d,
    β = arccos(−1/3) = 109.47° (6.32, 10.95, 6.32 Å for d = 3.65 Å); close-packed layers are
    parallel to (001), with cation layers at z = 0 (M layer: 2a + 4g) and z = 1/2 (Li layer:
    2d + 4h).

    Site arrangement (deterministic ordered choice): Zr on 2a (0, 0, 0); Li on 4h
    (0, 1/6, 1/2); 4g (0, 1/3, 0) and 2d (0, 1/2, 1/2) empty. The ordered cell keeps C2/m.
    ``build(..., seed=n)`` instead scatters the Li over the Li-layer sites 2d ∪ 4h at random.
    """
    h = d * np.sqrt(2.0 / 3.0)
    cell = np.array([[np.sqrt(3) * d, 0, 0], [0, 3 * d, 0], [-np.sqrt(3) * d / 3, 0, 2 * h]])
    inv = np.linalg.inv(cell)
    # Triangular in-plane lattice (t1 = (0, d), t2 = (√3d/2, d/2)) inside the C-centred rectangle.
    tri = np.array([[0, k * d] for k in range(3)] + [[np.sqrt(3) * d / 2, (k + 0.5) * d] for k in range(3)])
    s = np.array([np.sqrt(3) * d / 3, 0.0])  # ccp stacking shift per anion layer

    def layer(shift: np.ndarray, z: float) -> np.ndarray:
        xyz = np.column_stack([tri + shift, np.full(len(tri), z)])
        return np.mod(np.round(xyz @ inv, 10), 1.0)

    anions = np.concatenate([layer(-s, h / 2), layer(0 * s, 3 * h / 2)])
    holes = np.concatenate([layer(0 * s, 0.0), layer(s, h)])
    table = {
        (0, 0, 0): "Zr", (0.5, 0.5, 0): "Zr",  # 2a
        (0, 1 / 3, 0): "", (0, 2 / 3, 0): "", (0.5, 1 / 6, 0): "", (0.5, 5 / 6, 0): "",  # 4g
        (0, 1 / 6, 0.5): "Li", (0, 5 / 6, 0.5): "Li", (0.5, 2 / 3, 0.5): "Li", (0.5, 1 / 3, 0.5): "Li",  # 4h
        (0, 0.5, 0.5): VACANCY, (0.5, 0, 0.5): VACANCY,  # 2d
    }
    symbols, frac = _decorate(holes, table, anions)
    info = {
        "builder": "li2zrcl6-c2m",
        "reference": (
            "Li3InCl6/Li3ScCl6 type (Bohnsack et al., Z. anorg. allg. Chem. 623 (1997) 1067; X. Li et al., "
            "Energy Environ. Sci. 12 (2019) 2665); heat-treated Li2ZrCl6: Kwak et al., Adv. Energy Mater. 11 (2021) 2003190"
        ),
        "site_arrangement": "ccp Cl; Zr on 2a (M layer); Li on 4h (Li layer); 4g and 2d empty",
        "space_group": "C2/m (12)",
        "framework": "ccp",
        "cl_cl_A": float(d),
    }
    return _atoms(symbols, frac, cell, info)


def _registry() -> dict[str, Callable[..., Atoms]]:
    from lizrcl_tools.structures.compounds import COMPOUND_BUILDERS
    from lizrcl_tools.structures.layered import li2zrcl6_layered, li2zrcl6_mdefect

    table: dict[str, Callable[..., Atoms]] = {
        "licl": licl,
        "zrcl4": zrcl4,
        "li2zrcl6-p3m1": li2zrcl6_p3m1,
        "li2zrcl6-c2m": li2zrcl6_c2m,
        "li2zrcl6-layered": li2zrcl6_layered,
        "li2zrcl6-mdefect": li2zrcl6_mdefect,
    }
    table.update(COMPOUND_BUILDERS)
    return table


BUILDERS: dict[str, Callable[..., Atoms]] = _registry()
"""Registry: builder name -> function returning an Atoms (with ``X`` placeholders where noted)."""
