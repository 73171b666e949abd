"""Random periodic starting cells of fixed composition (for global-search benchmarks and walks)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.geometry import cellpar_to_cell, get_distances

from lizrcl_tools.errors import SetupError


def random_cell(
    symbols: Sequence[str],
    seed: int,
    volume_per_atom: float,
    min_distance: float = 1.8,
    max_tries: int = 2000,
) -> Atoms:
    """A random cell with random atom positions, no two atoms closer than ``min_distance``.

    Lengths vary ±30 % and angles 70–110° before the cell is scaled to
    ``len(symbols) × volume_per_atom × U(0.9, 1.2)`` Å³; atoms are placed one at a time by
    rejection sampling. The seed is stored in ``atoms.info["random_cell_seed"]``.

    Parameters
    ----------
    symbols : sequence of str
        Chemical symbols (composition and order).
    seed : int
        RNG seed.
    volume_per_atom : float
        Target volume per atom, Å³.
    min_distance : float
        Smallest allowed interatomic distance (minimum image), Å.
    max_tries : int
        Placement attempts per atom before giving up.

    Raises
    ------
    SetupError
        If the atoms cannot be placed (volume too small for ``min_distance``).
    """
    rng = np.random.default_rng(seed)
    n = len(symbols)
    par = np.concatenate([rng.uniform(0.7, 1.3, 3), rng.uniform(70.0, 110.0, 3)])
    cell = cellpar_to_cell(par)
    vol = n * volume_per_atom * rng.uniform(0.9, 1.2)
    cell *= (vol / abs(np.linalg.det(cell))) ** (1 / 3)
    positions: list[np.ndarray] = []
    for _ in range(n):
        for _try in range(max_tries):
            trial = rng.uniform(0, 1, 3) @ cell
            if not positions:
                break
            _, d = get_distances(trial[None, :], np.array(positions), cell=cell, pbc=True)
            if d.min() >= min_distance:
                break
        else:
            raise SetupError(f"cannot place {n} atoms {min_distance} Å apart in {vol:.1f} Å³ (seed {seed})")
        positions.append(trial)
    atoms = Atoms(list(symbols), positions=positions, cell=cell, pbc=True)
    atoms.info["random_cell_seed"] = seed
    return atoms
