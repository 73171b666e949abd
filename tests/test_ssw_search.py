"""What SSW is for: collective variable-cell moves out of a deep metastable minimum."""

from __future__ import annotations

import pytest
from ase.build import bulk

from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.toy import toy_licl_potential

pytestmark = pytest.mark.lammps


def test_walk_from_relaxed_wurtzite_reaches_rocksalt_within_budget(tmp_path):
    wurtzite = bulk("LiCl", "wurtzite", a=4.2, c=6.8).repeat((2, 1, 1))
    budget = 1500
    walker = SSWWalker(wurtzite, toy_licl_potential(), tmp_path / "wz.db", SSWParameters(), seed=0,
                       max_force_calls=budget)
    # The start quench stays in wurtzite (toy: −3.818 eV/atom, 26 meV/atom above rocksalt).
    assert walker.state.energy / 8 == pytest.approx(-3.818, abs=0.001)
    walker.run(100, progress=False, max_force_calls=budget)
    walker.close()
    assert walker.engine.force_calls <= budget
    lowest = MinimaDB(tmp_path / "wz.db").minima()[0]
    assert lowest.spacegroup == "Fm-3m"
    assert lowest.e_per_atom == pytest.approx(-3.844, abs=0.001)
