"""Layered Li2ZrCl6: filled [Li2ZrCl6] cation layers and empty gaps on an hcp Cl array.

The study (Li et al., Nano Lett. 2022, SI Figs S2–S4, S9, Note S1) describes its SSW-NN Li2ZrCl6
as *layered*: Li inside a layer (LiA) and Li between layers (LiB, a defect), ~35 stacking
variants of one layered pattern within 0.02 eV per formula unit, and an "M-defect" (Zr-defect)
variant. It gives no coordinates. The pattern built here is our reading of that description,
fixed before any energy was computed:

* Cl on an ideal hcp array (nearest Cl–Cl ``d``); its octahedral holes form layers between
  consecutive Cl layers. Cations fill every second hole layer completely (a CdI2-like
  "filled layer", formula Li2ZrCl6 per three holes) and leave the layer between empty (the
  gap, where a LiB would sit).
* Inside a filled layer the cations take the √3×√3 honeycomb order: Zr on one of the three
  hole sublattices, Li on the other two, so every ZrCl6 octahedron shares its six edges with
  LiCl6 octahedra and none with another ZrCl6 (the study's Fig. S9c calls the variant with
  edge-sharing ZrCl6 pairs unstable).
* Stacking: in hcp all holes of all layers lie on the same columns along c, so a filled layer
  is fixed by which sublattice ``s ∈ {0, 1, 2}`` holds its Zr. A stacking variant is the
  sequence (s_1, …, s_n) over n filled layers of a √3×√3×n cell (9n atoms).

Symmetry of the sequences (used to deduplicate; :func:`stacking_sequences`): the hcp array's
operations that keep filled layers on filled layers act as s → s + t (in-plane translations),
s → −s (the vertical mirror through a hole), cyclic shifts (translation by c) and reversal of
the order (the two-fold axes through a hole). Sequences that repeat a shorter one are the shorter
structure. :func:`stacking_variants` checks the survivors pairwise with pymatgen's
StructureMatcher as a second, independent test.

"Ideal" layered cell (:func:`li2zrcl6_layered`): the shortest stacking in which no Zr sits on
the column of a Zr in the next layer (Zr···Zr across the gap at c = 5.96 Å otherwise), i.e.
(0, 1): 18 atoms, 2 f.u. This rule is ours.

"M-defect" (:func:`li2zrcl6_mdefect`): in a supercell of the ideal cell, one Zr moved from its
layer octahedron into the gap octahedron that shares a face with it (one hole layer up, c/4
of the 2-layer cell, 2.98 Å); its layer site is left empty. Per cell: one Zr in the gap, one
vacant layer octahedron, the composition unchanged. The study names the defect (Figs S4, S7,
S9b: "Zr-defect layered") but gives no structure; this construction is ours.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures.frameworks import DEFAULT_CL_CL, _transform, hcp_cell, tile

IDEAL_SEQUENCE = (0, 1)
"""Zr sublattice of each filled layer in the ideal layered cell (see the module docstring)."""

MDEFECT_REPEAT = (2, 1, 1)
"""Supercell of the ideal 18-atom cell that holds one M-defect: 36 atoms, 4 Zr, one in the gap."""

_SQRT3 = np.array([[2, 1, 0], [-1, 1, 0], [0, 0, 1]])  # a' = 2a + b, b' = −a + b: √3×√3 R30°


def _sqrt3_base(d: float):
    return _transform(hcp_cell(d), _SQRT3, "hcp √3×√3 6-Cl cell")


def _sublattice(frac_xy: np.ndarray) -> int:
    """Sublattice 0, 1, 2 of a hole in the √3×√3 cell: (0, 0), (1/3, 2/3), (2/3, 1/3)."""
    u, v = np.mod(np.round(frac_xy * 3), 3).astype(int)
    table = {(0, 0): 0, (1, 2): 1, (2, 1): 2}
    try:
        return table[(int(u), int(v))]
    except KeyError:
        raise AssertionError(f"hole at {frac_xy} is on no √3×√3 sublattice") from None


def layered_cell(sequence: Sequence[int], d: float = DEFAULT_CL_CL) -> Atoms:
    """The layered Li2ZrCl6 cell with Zr of filled layer k on sublattice ``sequence[k]``.

    Parameters
    ----------
    sequence : sequence of int
        One entry 0, 1 or 2 per filled layer (n layers → √3×√3×n cell, 9n atoms, n f.u.).
    d : float
        Nearest Cl–Cl distance of the ideal hcp array, Å (a = √3·d, c = n·√(8/3)·d).

    Returns
    -------
    ase.Atoms
        Sorted Li, Zr, Cl (unsorted order: cations layer by layer, then Cl); ``info`` records
        the sequence and the construction. ``arrays["hole_layer"]``: index of the hole layer
        (0, 1, … bottom to top; even = filled, odd = gap) of each cation, −1 for Cl.
    """
    seq = [int(s) for s in sequence]
    if not seq or any(s not in (0, 1, 2) for s in seq):
        raise SetupError(f"a stacking sequence is one of 0, 1, 2 per filled layer, got {list(sequence)}")
    base = _sqrt3_base(d)
    cell, anions, holes = tile(base, (1, 1, len(seq)))
    frac = holes @ np.linalg.inv(cell)
    symbols, positions, layer_of = [], [], []
    for p, f in zip(holes, frac):
        layer = int(round(f[2] * 2 * len(seq))) % (2 * len(seq))
        if layer % 2:  # gap
            continue
        s = _sublattice(f[:2])
        symbols.append("Zr" if s == seq[layer // 2] else "Li")
        positions.append(p)
        layer_of.append(layer)
    atoms = Atoms(symbols + ["Cl"] * len(anions), positions=np.concatenate([positions, anions]),
                  cell=cell, pbc=True)
    atoms.arrays["hole_layer"] = np.array(layer_of + [-1] * len(anions))
    label = "".join(str(s) for s in seq)
    atoms.info.update({
        "builder": "layered",
        "stacking": label,
        "framework": "hcp",
        "cl_cl_A": float(d),
        "reference": "layered pattern read from Li et al., Nano Lett. 2022, SI Figs S2-S4, Note S1 (no coordinates given)",
        "site_arrangement": (
            f"hcp Cl; every second hole layer filled ({len(seq)} filled layers), honeycomb √3×√3 order "
            f"in each (Zr on one sublattice, Li on two); Zr sublattice per layer {label}; gap layers empty"
        ),
    })
    return atoms


def _canonical(seq: tuple[int, ...]) -> tuple[int, ...]:
    """Smallest image of ``seq`` under s → ±s + t, cyclic shifts and reversal."""
    n = len(seq)
    best = None
    for rev in (False, True):
        base = seq[::-1] if rev else seq
        for shift in range(n):
            rolled = base[shift:] + base[:shift]
            for sign in (1, -1):
                for t in range(3):
                    img = tuple((sign * s + t) % 3 for s in rolled)
                    if best is None or img < best:
                        best = img
    assert best is not None
    return best


def _primitive(seq: tuple[int, ...]) -> bool:
    n = len(seq)
    return not any(n % p == 0 and seq == seq[:p] * (n // p) for p in range(1, n))


def stacking_sequences(max_layers: int) -> list[tuple[int, ...]]:
    """Symmetry-distinct stacking sequences with 1 … ``max_layers`` filled layers (primitive only).

    Returned in order of length, then lexicographically, each in its canonical (smallest) form.
    """
    if max_layers < 1:
        raise SetupError(f"max_layers must be at least 1, got {max_layers}")
    found: list[tuple[int, ...]] = []
    for n in range(1, max_layers + 1):
        seen = set()
        for seq in itertools.product(range(3), repeat=n):
            if not _primitive(seq):
                continue
            c = _canonical(seq)
            if c not in seen:
                seen.add(c)
        found.extend(sorted(seen))
    return found


def stacking_variants(max_layers: int = 4, d: float = DEFAULT_CL_CL, check: bool = True) -> list[Atoms]:
    """Cells of every distinct stacking variant of the layered pattern, up to ``max_layers`` layers.

    Parameters
    ----------
    max_layers : int
        Longest stacking period, filled layers (cell of 9·max_layers atoms).
    d : float
        Cl–Cl of the ideal array, Å.
    check : bool
        Confirm with pymatgen's StructureMatcher (primitive cells, default tolerances) that no
        two variants are the same structure; a pair that is raises AssertionError.

    Returns
    -------
    list of ase.Atoms
        One cell per variant (``info["stacking"]``), the ideal (0, 1) among them.
    """
    cells = [layered_cell(seq, d) for seq in stacking_sequences(max_layers)]
    if check:
        pairs = equivalent_pairs(cells)
        if pairs:
            raise AssertionError(f"stacking variants that StructureMatcher finds equivalent: {pairs}")
    return cells


def equivalent_pairs(cells: Sequence[Atoms]) -> list[tuple[int, int]]:
    """Index pairs (i < j) of ``cells`` that pymatgen's StructureMatcher finds the same structure."""
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.io.ase import AseAtomsAdaptor

    structures = [AseAtomsAdaptor.get_structure(a) for a in cells]
    matcher = StructureMatcher(primitive_cell=True, scale=False, attempt_supercell=True)
    out = []
    for i, j in itertools.combinations(range(len(structures)), 2):
        if structures[i].composition.reduced_formula != structures[j].composition.reduced_formula:
            continue
        if matcher.fit(structures[i], structures[j]):
            out.append((i, j))
    return out


def li2zrcl6_layered(d: float = DEFAULT_CL_CL) -> Atoms:
    """Layered Li2ZrCl6 (our reading of the study's "ideal layered"), hcp, 18 atoms (2 f.u.).

    Cations fill every second octahedral hole layer of an hcp Cl array (Cl–Cl ``d``, Å), with
    Zr on one √3×√3 sublattice and Li on the other two in each filled layer; the layers between
    are empty. Stacking (0, 1): the Zr columns alternate from layer to layer (rule: the
    shortest stacking with no Zr above a Zr across the gap). Construction and symmetry in
    :mod:`lizrcl_tools.structures.layered`; all stacking variants: :func:`stacking_variants`.
    """
    atoms = layered_cell(IDEAL_SEQUENCE, d)
    atoms.info["builder"] = "li2zrcl6-layered"
    del atoms.arrays["hole_layer"]
    return atoms


def li2zrcl6_mdefect(d: float = DEFAULT_CL_CL, repeat: Sequence[int] = MDEFECT_REPEAT) -> Atoms:
    """Layered Li2ZrCl6 with one Zr ("M") in the gap: 36 atoms (4 f.u.), one of 4 Zr displaced.

    The ideal layered cell (:func:`li2zrcl6_layered`) repeated ``repeat`` (default 2×1×1);
    the first Zr of the bottom filled layer moves one hole layer up into the gap octahedron
    that shares a face with its old one (2.98 Å for d = 3.65 Å); the old site stays empty.
    Defect count per cell: 1 Zr in a gap octahedron, 1 vacant layer octahedron.
    ``info["defect_zr_index"]`` is the moved Zr's index in the returned (sorted) cell.
    """
    host = layered_cell(IDEAL_SEQUENCE, d)
    host = host.repeat(tuple(int(r) for r in repeat))
    layers = host.arrays["hole_layer"]
    symbols = np.array(host.get_chemical_symbols())
    candidates = np.flatnonzero((symbols == "Zr") & (layers == 0))
    k = int(candidates[np.argmin(np.linalg.norm(host.positions[candidates], axis=1))])
    c_hole = host.cell[2] / (2 * len(IDEAL_SEQUENCE) * int(repeat[2]))
    host.positions[k] += c_hole
    layers[k] = 1
    host.arrays["defect"] = np.arange(len(host)) == k
    from lizrcl_tools.structures.checks import sort_by_element

    out = sort_by_element(host)
    moved = int(np.flatnonzero(out.arrays["defect"])[0])
    for key in ("defect", "hole_layer"):
        del out.arrays[key]
    out.info.update({
        "builder": "li2zrcl6-mdefect",
        "stacking": "".join(str(s) for s in IDEAL_SEQUENCE),
        "repeat": " ".join(str(int(r)) for r in repeat),
        "defect_zr_index": moved,
        "n_zr_in_gap": 1,
        "n_vacant_layer_sites": 1,
        "site_arrangement": (
            f"layered Li2ZrCl6 (0,1) x {'x'.join(str(int(r)) for r in repeat)}; one Zr moved from its layer "
            "octahedron into the face-sharing gap octahedron above; its layer site empty"
        ),
    })
    return out


def gap_zr_count(atoms: Atoms, n_layers: int) -> int:
    """Number of Zr whose height lies in a gap hole layer (odd layer index) of a layered cell.

    ``n_layers``: filled layers along c of the cell (hole layers are c / (2·n_layers) apart).
    Heights are taken to the nearest hole layer, so relaxed cells count as well as ideal ones.
    """
    frac = atoms.get_scaled_positions()[np.array(atoms.get_chemical_symbols()) == "Zr"]
    layer = np.round(frac[:, 2] * 2 * n_layers).astype(int) % (2 * n_layers)
    return int(np.sum(layer % 2 == 1))
