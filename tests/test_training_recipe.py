"""The shipped model's data recipe (scripts/make_default_model.py, scripts/self_learning_round.py):
the structures it labels are charge-balanced Li–Zr–Cl cells of the intended composition, the
pushed pairs sit at the recorded distance, and the same seed gives the same frames."""

from __future__ import annotations

import make_default_model  # scripts/ is on sys.path (tests/conftest.py)
import numpy as np
import pytest
import self_learning_round


def _counts(atoms) -> tuple[int, int, int]:
    symbols = atoms.get_chemical_symbols()
    return symbols.count("Li"), symbols.count("Zr"), symbols.count("Cl")


@pytest.mark.parametrize("x", [0.0, 0.2, 1 / 3, 0.5, 0.7, 1.0])
def test_mixed_cells_are_charge_balanced_with_the_rounded_zr_count(x):
    rng = np.random.default_rng(3)
    for _ in range(5):
        atoms = make_default_model.mixed_cell(x, rng)
        n_li, n_zr, n_cl = _counts(atoms)
        # Li+ and Zr4+ on octahedral holes of a Cl- lattice: n_Cl = n_Li + 4 n_Zr
        assert n_cl == n_li + 4 * n_zr
        # x = n_Zr / (n_Li + n_Zr) with n_Cl fixed by the lattice gives n_Zr = x n_Cl / (1 + 3x),
        # rounded; the recorded seeds of the shipped pool depend on exactly this rounding
        assert n_zr == round(x * n_cl / (1 + 3 * x))
        # cations sit in holes of a close-packed lattice: no pair closer than 2.2 Å
        d = atoms.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        assert d.min() > 2.2


def test_strain_is_symmetric_and_bounded():
    from ase.build import bulk

    base = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    out = make_default_model.strained(base, np.random.default_rng(1), 0.04)
    eps = np.linalg.solve(base.cell[:], out.cell[:]) - np.eye(3)
    np.testing.assert_allclose(eps, eps.T, atol=1e-12)
    assert np.abs(eps).max() <= 0.04
    np.testing.assert_allclose(out.get_scaled_positions(), base.get_scaled_positions(), atol=1e-12)


def test_pair_contacts_sit_at_their_recorded_distance():
    frames = self_learning_round.pair_contacts(seed=11, n_per_pair=2)
    assert len(frames) == 2 * len(self_learning_round.PAIR_CONTACT_RANGE_A)
    for atoms in frames:
        a, b = atoms.info["pair"].split("-")
        lo, hi = self_learning_round.PAIR_CONTACT_RANGE_A[(a, b)]
        target = atoms.info["distance_A"]
        assert lo <= target <= hi
        symbols = np.array(atoms.get_chemical_symbols())
        d = atoms.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        shortest = d[np.ix_(symbols == a, symbols == b)].min()
        # the pushed pair is the closest a–b pair, at the recorded distance
        assert shortest == pytest.approx(target, abs=1e-9)


def test_zr_rich_round_is_seeded_and_on_the_series():
    first = self_learning_round.zr_rich_cells(seed=5, n_frames=12)
    again = self_learning_round.zr_rich_cells(seed=5, n_frames=12)
    other = self_learning_round.zr_rich_cells(seed=6, n_frames=12)
    for a, b in zip(first, again):
        assert a.get_chemical_formula() == b.get_chemical_formula()
        np.testing.assert_array_equal(a.positions, b.positions)
    assert any(not np.array_equal(a.positions, b.positions) or len(a) != len(b)
               for a, b in zip(first, other))
    for atoms in first:
        n_li, n_zr, n_cl = _counts(atoms)
        assert n_cl == n_li + 4 * n_zr
        assert n_zr / (n_li + n_zr) >= 0.25  # 0.3 ≤ x target, rounded to the cell
        assert atoms.info["seed"] == 5


def test_all_x_round_is_seeded_and_spans_the_series():
    first = self_learning_round.all_x_cells(seed=9, n_frames=40)
    again = self_learning_round.all_x_cells(seed=9, n_frames=40)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.positions, b.positions)
    xs = []
    for atoms in first:
        n_li, n_zr, n_cl = _counts(atoms)
        assert n_cl == n_li + 4 * n_zr
        xs.append(n_zr / (n_li + n_zr))
    # the round exists to fill the Li-rich bin that round 4 skipped, and keeps both ends
    assert min(xs) < 0.05 and any(0.05 <= x < 0.25 for x in xs) and max(xs) == 1.0


def test_li_rich_md_starts_are_li_rich(monkeypatch):
    # the teacher is not needed to check where the runs start: capture the run list
    monkeypatch.setattr(self_learning_round, "_teacher_runs", lambda runs, seed, every: runs)
    runs = self_learning_round.li_rich_md(seed=9026)
    assert len(runs) == len(self_learning_round.LI_RICH_MD_PLAN)
    for (start, temperature, n_steps, config_type, _what), (x, t_plan, s_plan) in zip(
            runs, self_learning_round.LI_RICH_MD_PLAN):
        n_li, n_zr, n_cl = _counts(start)
        assert n_cl == n_li + 4 * n_zr
        assert 0 < n_zr / (n_li + n_zr) <= 0.45
        assert (temperature, n_steps) == (t_plan, s_plan)
        assert config_type == f"md{int(t_plan)}K_mixed"
