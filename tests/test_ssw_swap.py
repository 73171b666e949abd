"""The swap move of SSW: which atoms it exchanges, what it keeps, and its place in the move mix."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential.lammps_engine import LammpsEngine, to_lammps_frame
from lizrcl_tools.ssw import MinimaDB, SSWParameters
from lizrcl_tools.ssw.checkpoint import StepRecord
from lizrcl_tools.ssw.moves import ADAPT_PRIOR_CALLS, choose_move, move_chances
from lizrcl_tools.ssw.parameters import parse_overrides
from lizrcl_tools.ssw.swap import allowed_pairs, like_neighbours, swap
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential


def _rocksalt_with_antisite_pair():
    """64-atom rocksalt LiCl in the LAMMPS frame, then a Li and a Cl that are not neighbours exchanged."""
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True).repeat((2, 2, 2))
    cell, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    sym = atoms.get_chemical_symbols()
    li = sym.index("Li")
    d = atoms.get_distances(li, range(len(atoms)), mic=True)
    cl = next(k for k in np.argsort(d)[::-1] if sym[k] == "Cl")  # the farthest Cl: not a neighbour
    defect = pos.copy()
    defect[[li, cl]] = pos[[cl, li]]
    return sym, cell, pos, defect, (li, cl)


def test_like_neighbours_count_the_own_element_in_the_first_shell():
    sym, cell, perfect, defect, (li, cl) = _rocksalt_with_antisite_pair()
    # Rocksalt: every ion's six nearest neighbours are of the other element.
    assert like_neighbours(sym, cell, perfect).tolist() == [0] * len(sym)
    # A Li on a Cl site sits among six Li sites (all still Li), and the Cl on the Li site among
    # six Cl; their neighbours each gain one like neighbour (the intruder) and lose nothing else.
    counts = like_neighbours(sym, cell, defect)
    assert counts[li] == 6 and counts[cl] == 6
    assert sorted(counts.tolist()).count(1) == 12 and counts.sum() == 24


def _like_neighbours_by_images(symbols, cell, pos, reach=3):
    """Brute force: every periodic image within ``reach`` cells, no neighbour list."""
    shifts = np.array([(a, b, c) for a in range(-reach, reach + 1) for b in range(-reach, reach + 1)
                       for c in range(-reach, reach + 1)]) @ cell
    d = np.linalg.norm(pos[None, :, None, :] + shifts[None, None, :, :] - pos[:, None, None, :], axis=-1)
    d[d < 1e-8] = np.inf  # the atom itself, unshifted
    nearest = d.min(axis=(1, 2))
    sym = np.asarray(symbols)
    like = sym[:, None] == sym[None, :]
    return ((d <= 1.2 * nearest[:, None, None]) & like[:, :, None]).sum(axis=(1, 2))


def test_like_neighbours_count_periodic_images_in_small_and_skewed_cells():
    # CsCl-type LiCl, a = 3.4 Å: 8 unlike neighbours at 2.94 Å, 6 like ones at 3.4 Å (< 1.2 × 2.94),
    # all of them images of the atom itself in the 2-atom cell, two per axis in the 2 × 2 × 2 one.
    unit = bulk("LiCl", "cesiumchloride", a=3.4)
    for atoms in (unit, unit.repeat((2, 2, 2)), unit.repeat((1, 2, 3))):
        counts = like_neighbours(atoms.get_chemical_symbols(), atoms.cell[:], atoms.positions)
        assert counts.tolist() == [6] * len(atoms)
    # The same crystal in a sheared cell (rows a, b + 2a, c - a: same lattice) counts the same, and
    # a disordered cell agrees with the brute-force sum over images.
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    sheared = np.array([[1, 0, 0], [2, 1, 0], [-1, 0, 1]]) @ atoms.cell[:]
    assert like_neighbours(atoms.get_chemical_symbols(), sheared, atoms.positions).tolist() == [0] * 8
    rng = np.random.default_rng(0)
    sym = ["Li", "Cl"] * 6
    cell = np.array([[6.0, 0, 0], [2.5, 5.5, 0], [-1.0, 1.5, 6.5]])
    pos = rng.random((12, 3)) @ cell
    assert like_neighbours(sym, cell, pos).tolist() == _like_neighbours_by_images(sym, cell, pos).tolist()


def test_allowed_pairs_default_to_every_unlike_pair_and_bad_ones_are_named():
    sym = ["Li", "Li", "Zr", "Cl", "Cl"]
    assert allowed_pairs(sym, ()) == {frozenset(p) for p in (("Li", "Zr"), ("Li", "Cl"), ("Zr", "Cl"))}
    assert allowed_pairs(sym, ("Zr-Li",)) == {frozenset(("Li", "Zr"))}
    for bad in ("Li-Li", "Li-Na", "LiZr"):
        with pytest.raises(SetupError, match="swap pair"):
            allowed_pairs(sym, (bad,))
    with pytest.raises(SetupError, match="two elements"):
        allowed_pairs(["Cl", "Cl"], ())


@pytest.mark.lammps
def test_a_swap_exchanges_two_unlike_atoms_and_the_best_candidate_heals_an_antisite_pair():
    sym, cell, perfect, defect, (li, cl) = _rocksalt_with_antisite_pair()
    engine = LammpsEngine(toy_licl_potential(), sym, cell, defect)
    try:
        e_perfect = engine.evaluate(cell, perfect).energy
        rng = np.random.default_rng(3)
        for _ in range(20):
            moved = swap(engine, SSWParameters(swap_moves=True), rng, sym, cell, defect).positions
            changed = np.flatnonzero(np.abs(moved - defect).max(axis=1) > 0)
            # Exactly two atoms of different elements traded places; nothing else moved.
            assert len(changed) == 2 and sym[changed[0]] != sym[changed[1]]
            assert np.allclose(moved[changed], defect[changed[::-1]])
        assert engine.force_calls == 1  # one candidate: no force call
        # Weighted by like neighbours (7 for the two intruders, 2 for their 12 neighbours, 1
        # elsewhere) an intruder is in the pair in 1/3 of the draws, against 1/8 uniformly.
        draws = [swap(engine, SSWParameters(swap_moves=True), rng, sym, cell, defect).positions
                 for _ in range(300)]
        hit = np.mean([np.abs(m[li] - defect[li]).max() > 0 or np.abs(m[cl] - defect[cl]).max() > 0
                       for m in draws])
        assert hit > 0.25
        # With candidates, each costs one single point and the lowest wins: among 200 draws the
        # exchange that undoes the defect is found, giving back the perfect crystal's energy.
        before = engine.force_calls
        best = swap(engine, SSWParameters(swap_moves=True, swap_candidates=200), np.random.default_rng(1), sym,
                    cell, defect)
        assert engine.force_calls - before == 200
        assert engine.evaluate(cell, best.positions).energy == pytest.approx(e_perfect, abs=1e-6)
        assert np.allclose(best.cell, cell)
    finally:
        engine.close()


def test_script_overrides_are_typed_and_bad_ones_named():
    got = parse_overrides(["swap_moves=true", "swap_pairs=Li-Zr,Zr-Cl", "swap_candidates=4", "temperature_K=1000"])
    assert got == {"swap_moves": True, "swap_pairs": ("Li-Zr", "Zr-Cl"), "swap_candidates": 4, "temperature_K": 1000.0}
    assert SSWParameters(**got).swap_pairs == ("Li-Zr", "Zr-Cl")
    with pytest.raises(SetupError, match="swap_candidates takes a value of type int"):
        parse_overrides(["swap_candidates=four"])
    assert parse_overrides(["swap_moves=no"]) == {"swap_moves": False}
    with pytest.raises(SetupError, match="swap_moves takes a value of type bool"):
        parse_overrides(["swap_moves=ture"])
    for bad in ("swap_moves", "no_such_key=1"):
        with pytest.raises(SetupError, match="expected KEY=VALUE"):
            parse_overrides([bad])


def test_three_move_chances_follow_the_yields_with_a_floor_and_sum_to_one():
    hist = [StepRecord(0, -30.0, True, True, 0, 100)]
    total = 100
    for k, (move, new, calls) in enumerate([("climb", False, 200)] * 3 + [("kick", True, 50), ("swap", True, 50),
                                                                          ("swap", True, 50)], start=1):
        total += calls
        hist.append(StepRecord(k, -30.0, False, new, 0, total, move=move))
    params = SSWParameters(swap_moves=True, adapt_window=8, adapt_floor=0.1)
    chances = move_chances(hist, params)
    y = {"climb": 1 / (600 + ADAPT_PRIOR_CALLS), "kick": 2 / (50 + ADAPT_PRIOR_CALLS),
         "swap": 3 / (100 + ADAPT_PRIOR_CALLS)}
    assert sum(chances.values()) == pytest.approx(1.0)
    share = {m: v / sum(y.values()) for m, v in y.items()}
    assert share["climb"] < 0.1  # below the floor, so it is raised to it before renormalising
    norm = 0.1 + share["kick"] + share["swap"]
    assert chances == pytest.approx({"climb": 0.1 / norm, "kick": share["kick"] / norm, "swap": share["swap"] / norm})
    # One uniform number per choice, mapped kick | swap | climb in that order.
    drawn = [choose_move(hist, params, np.random.default_rng(s)) for s in range(2000)]
    for move, chance in chances.items():
        assert drawn.count(move) / 2000 == pytest.approx(chance, abs=0.04)
    # Without swaps, or with a fixed mix (adapt_window 0), the mix is the two-move one.
    for fixed in (SSWParameters(adapt_window=8, swap_moves=False), SSWParameters(adapt_window=0, kick_probability=0.3)):
        two = move_chances(hist, fixed)
        assert two["swap"] == 0.0 and two["kick"] + two["climb"] == pytest.approx(1.0)
    assert move_chances(hist, SSWParameters(adapt_window=0, kick_probability=0.3))["kick"] == 0.3
    # A checkpoint written before swaps existed resumes without them.
    old = {k: v for k, v in asdict(SSWParameters()).items() if k not in ("swap_moves",)}
    assert SSWParameters.from_dict(old).swap_moves is False


@pytest.mark.lammps
def test_a_walk_with_swaps_keeps_composition_budget_profile_and_resumes_exactly(tmp_path, toy_walk,
                                                                               resumes_and_cuts_exactly):
    # swap_pairs given, so the resumed walk reads it back from the checkpoint's JSON list.
    params = SSWParameters(swap_moves=True, swap_candidates=2, swap_pairs=("Cl-Li",), adapt_window=4, n_gaussians=4,
                           bias_relax_steps=5)

    def walk(tag, n_steps, stop_at=None, budget=None):
        return toy_walk(tag, n_steps, params, 5, stop_at, budget)

    full = walk("full", 12)
    hist = full.state.history
    assert "swap" in {r.move for r in hist[1:]}
    for before, rec in zip(hist, hist[1:]):
        assert sum(rec.profile.values()) == rec.force_calls - before.force_calls
        if rec.move == "swap" and not rec.failed:
            assert rec.profile["swap"] == 2 and set(rec.profile) == {"metropolis", "swap", "quench"}
    for row in MinimaDB(tmp_path / "full.db").minima():
        assert row.toatoms().get_chemical_formula() == "Cl8Li8"
    resumed = resumes_and_cuts_exactly(walk, hist, 12, stop_at=5, cut_step=7, slack=1)
    assert resumed.params == params


def test_cli_swap_options_reach_the_parameters():
    from lizrcl_tools.cli import build_parser
    from lizrcl_tools.commands.ssw import _params_of

    def params(*extra):
        argv = ["ssw", "cell.extxyz", "--db", "m.db", "--checkpoint", "w.json", *extra]
        return _params_of(build_parser().parse_args(argv))

    assert params().swap_moves is True and params().swap_pairs == () and params().start_fixed_cell is False
    got = params("--no-swap-moves", "--swap-pairs", "Li-Zr", "Zr-Cl", "--swap-candidates", "3", "--start-fixed-cell")
    assert (got.swap_moves, got.swap_pairs, got.swap_candidates) == (False, ("Li-Zr", "Zr-Cl"), 3)
    assert got.start_fixed_cell


@pytest.mark.lammps
def test_a_one_element_walk_goes_on_without_swaps_and_a_named_pair_must_exist(tmp_path):
    from lizrcl_tools.potential import PotentialSpec
    from lizrcl_tools.ssw import SSWWalker

    lj = PotentialSpec(name="lj-ar", elements=("Ar",), commands=("pair_style lj/cut 8.0", "pair_coeff 1 1 0.0104 3.4"))
    atoms = bulk("Ar", "fcc", a=5.3, cubic=True)
    atoms.rattle(0.05, seed=1)
    walker = SSWWalker(atoms, lj, tmp_path / "ar.db", SSWParameters(n_gaussians=2), seed=1)
    assert walker.params.swap_moves is False  # nothing to exchange: the default mix without swaps
    walker.run(2, progress=False)
    assert "swap" not in {r.move for r in walker.state.history[1:]}
    walker.close()
    with pytest.raises(SetupError, match="swap pair 'Ar-Li'"):
        SSWWalker(atoms, lj, tmp_path / "ar2.db", SSWParameters(swap_pairs=("Ar-Li",)), seed=1)
