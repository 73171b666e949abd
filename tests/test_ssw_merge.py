"""Per-walker minima databases merged afterwards equal one database shared by the walkers."""

from __future__ import annotations

import pytest
from ase.build import bulk

from lizrcl_tools.errors import SetupError
from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.merge import merge_minima
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

pytestmark = pytest.mark.lammps

# Climbs only (adapt_window 0): every step leaves walk points to merge.
PARAMS = SSWParameters(n_gaussians=4, bias_relax_steps=6, adapt_window=0)


def _walk(db, seed):
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    atoms.rattle(0.3, seed=1)
    walker = SSWWalker(atoms, toy_licl_potential(), db, PARAMS, seed=seed)
    walker.run(3, progress=False)
    walker.close()


def _content(db: MinimaDB):
    rows = db.minima()
    return sorted((round(r.e_per_atom, 9), r.visits, sorted(map(tuple, r.data["visit_keys"].tolist()))) for r in rows)


def test_merged_walker_databases_equal_a_shared_one(tmp_path):
    for seed in (1, 2):
        _walk(tmp_path / "shared.db", seed)  # both walkers into one database
        _walk(tmp_path / f"w{seed}.db", seed)  # one database per walker
    merged = MinimaDB(tmp_path / "merged.db")
    rep = merge_minima(merged, [MinimaDB(tmp_path / "w1.db"), MinimaDB(tmp_path / "w2.db")])
    shared = MinimaDB(tmp_path / "shared.db")
    assert _content(merged) == _content(shared)
    assert sum(r.visits for r in merged.minima()) == 2 * 4  # start quench + 3 steps per walker
    parts = MinimaDB(tmp_path / "w1.db").count() + MinimaDB(tmp_path / "w2.db").count()
    assert rep.minima_read == parts and rep.new_minima == merged.count() <= parts
    assert len(merged.walk_points()) == len(shared.walk_points()) == rep.walk_points > 0
    # Merging again changes nothing: visits are keyed by (seed, step).
    again = merge_minima(merged, [MinimaDB(tmp_path / "w1.db"), MinimaDB(tmp_path / "w2.db")])
    assert again.new_minima == 0 and again.walk_points == 0
    assert _content(merged) == _content(shared)
    with pytest.raises(SetupError, match="into itself"):
        merge_minima(merged, [MinimaDB(tmp_path / "merged.db")])
