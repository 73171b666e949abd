"""The move mix of SSW: kick chance adapted to each move's yield, exact resume, budget, composition."""

from __future__ import annotations

import pytest
from ase.build import bulk

from lizrcl_tools.errors import SetupError
from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.checkpoint import StepRecord
from lizrcl_tools.ssw.profile import summarize_profile
from lizrcl_tools.ssw.moves import ADAPT_PRIOR_CALLS, kick_chance, move_yields
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential


def _history(steps):
    """Records from ``[(move, new, calls, failed)]`` after a 100-call start quench."""
    out = [StepRecord(0, -30.0, True, True, 0, 100)]
    total = 100
    for k, (move, new, calls, failed) in enumerate(steps, start=1):
        total += calls
        out.append(StepRecord(k, -30.0, False, new, 0 if move == "kick" else 10, total, failed=failed, move=move))
    return out


def test_kick_chance_is_the_share_of_new_minima_per_call_clipped_to_the_floor():
    params = SSWParameters(adapt_window=4, adapt_floor=0.1)
    # Nothing tried yet: both moves carry the same prior, an even chance.
    assert kick_chance(_history([]), params) == pytest.approx(0.5)
    # Climbs: 2 new in 400 calls; kicks: 1 new in 100 calls (per-call yields from the counts).
    hist = _history([("climb", True, 200, False), ("kick", True, 50, False), ("climb", True, 200, False),
                     ("kick", False, 50, False)])
    y = move_yields(hist, 4)
    assert y["climb"] == pytest.approx(3 / (400 + ADAPT_PRIOR_CALLS))
    assert y["kick"] == pytest.approx(2 / (100 + ADAPT_PRIOR_CALLS))
    assert kick_chance(hist, params) == pytest.approx(y["kick"] / (y["kick"] + y["climb"]))
    # Only the last `window` steps of a move count, failed steps not at all: four barren
    # climbs push the older fruitful ones out, and kicks that find a minimum each time win
    # up to the floor's limit, never past it.
    hist = _history([("climb", True, 200, False)] * 3 + [("climb", False, 200, False)] * 4
                    + [("kick", True, 40, False)] * 4 + [("kick", False, 40, True)] * 3)
    assert move_yields(hist, 4)["climb"] == pytest.approx(1 / (800 + ADAPT_PRIOR_CALLS))
    assert move_yields(hist, 4)["kick"] == pytest.approx(5 / (160 + ADAPT_PRIOR_CALLS))
    assert kick_chance(hist, params) == pytest.approx(0.9)
    assert kick_chance(hist, SSWParameters(adapt_window=4, adapt_floor=0.0)) > 0.9
    # Without adapting, the fixed chance.
    assert kick_chance(hist, SSWParameters(kick_probability=0.25, adapt_window=0)) == 0.25


def test_downhill_yield_counts_only_new_minima_below_the_current_one():
    start = StepRecord(0, -30.0, True, True, 0, 100)
    steps = [StepRecord(1, -29.0, False, True, 10, 300),  # new, uphill, rejected: not progress
             StepRecord(2, -31.0, True, True, 0, 350, move="kick"),  # new and lower: progress
             StepRecord(3, -30.5, True, True, 0, 400, move="kick")]  # new, below -30 but above -31 now
    hist = [start, *steps]
    assert move_yields(hist, 8)["kick"] == pytest.approx(3 / (100 + ADAPT_PRIOR_CALLS))
    assert move_yields(hist, 8, downhill=True)["kick"] == pytest.approx(2 / (100 + ADAPT_PRIOR_CALLS))
    assert move_yields(hist, 8, downhill=True)["climb"] == pytest.approx(1 / (200 + ADAPT_PRIOR_CALLS))


@pytest.mark.lammps
def test_adaptive_walk_mixes_moves_resumes_exactly_keeps_budget_and_composition(tmp_path, toy_walk,
                                                                                resumes_and_cuts_exactly):
    # The two-move mix (swaps join it in test_ssw_swap.py).
    params = SSWParameters(adapt_window=4, kick_memory=True, n_gaussians=4, bias_relax_steps=5, swap_moves=False)

    def walk(tag, n_steps, stop_at=None, budget=None):
        return toy_walk(tag, n_steps, params, 9, stop_at, budget)

    full = walk("full", 10)
    hist = full.state.history
    moves = [r.move for r in hist[1:]]
    assert set(moves) == {"climb", "kick"}
    for before, rec in zip(hist, hist[1:]):
        # Every step's calls are booked by phase, whichever move it made.
        assert sum(rec.profile.values()) == rec.force_calls - before.force_calls
        if rec.move == "kick":
            assert rec.gaussians == 0 and set(rec.profile) == {"metropolis", "quench"}
        else:
            assert rec.gaussians >= 1 and rec.profile["direction"] >= 1
    # The walk's profile books every step under its move; the moves' calls add up to the walk's.
    summary = summarize_profile(hist, full.state.force_calls)
    assert {m: v["steps"] for m, v in summary["moves"].items()} == {m: moves.count(m) for m in set(moves)}
    assert sum(v["calls"] for v in summary["moves"].values()) == hist[-1].force_calls - hist[0].force_calls
    assert sum(v["new"] for v in summary["moves"].values()) == sum(r.new_minimum for r in hist[1:])
    assert sum(summary["phases"].values()) == summary["force_calls"] == full.state.force_calls
    # Moves change positions and cell only: every stored minimum keeps 16 atoms, 8 Li + 8 Cl.
    for row in MinimaDB(tmp_path / "full.db").minima():
        assert row.natoms == 16 and row.toatoms().get_chemical_formula() == "Cl8Li8"
    # The chance is a function of the recorded history: a resumed walk makes the same moves.
    # Same seed, same walk; under a budget cut inside a step the walk stops short of it.
    resumes_and_cuts_exactly(walk, hist, 10, stop_at=4, cut_step=6, slack=2)


@pytest.mark.lammps
def test_kick_memory_adds_accepted_kicks_up_and_rejected_ones_are_forgotten(tmp_path, monkeypatch):
    import numpy as np

    from lizrcl_tools.ssw import walker as walker_module

    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    atoms.rattle(0.2, seed=1)
    params = SSWParameters(kick_probability=1.0, adapt_window=0, kick_memory=True)
    seen = []
    real_kick = walker_module.kick

    def recording(engine, p, rng, cell, pos, acceptable=None):
        out = real_kick(engine, p, rng, cell, pos, acceptable=acceptable)
        seen.append((cell.copy(), pos.copy(), out, w.state.positions.copy()))
        return out

    monkeypatch.setattr(walker_module, "kick", recording)
    w = SSWWalker(atoms, toy_licl_potential(), tmp_path / "m.db", params, seed=3)
    w.run(8, progress=False)
    w.close()
    hist = w.state.history
    # Both branches are taken in this walk (seed 3: accepted and rejected kicks).
    assert {r.accepted for r in hist[1:]} == {True, False}
    origin = None  # fractional coordinates of the next kick's start; None: the current minimum
    for rec, (cell_in, pos_in, out, minimum) in zip(hist[1:], seen):
        if origin is None:  # no accepted kick yet: from the current minimum itself
            np.testing.assert_allclose(pos_in, minimum, atol=1e-12)
        else:  # from the last accepted kick's unrelaxed configuration, not the minimum
            assert np.abs(pos_in - minimum).max() > 0.05
            np.testing.assert_allclose(pos_in, origin @ cell_in, atol=1e-9)
        # Every atom moved by at most kick_A per axis from where the kick started.
        assert np.abs(out.positions - pos_in).max() <= params.kick_A
        if rec.accepted:
            origin = np.linalg.solve(out.cell.T, out.positions.T).T


def test_a_refused_kick_is_drawn_again_and_an_accepted_one_costs_no_extra_draw():
    import numpy as np

    from lizrcl_tools.ssw.climb import kick

    class NoCalls:  # a kick makes no force call: only the phase bookkeeping is used
        from contextlib import nullcontext

        def phase(self, name):
            return self.nullcontext()

    cell, pos = np.eye(3) * 6.0, np.random.default_rng(0).uniform(0, 6, (4, 3))
    params = SSWParameters(kick_A=0.5, kick_redraws=3)
    draws = [pos + np.random.default_rng(7).uniform(-0.5, 0.5, (3 * 5, 3))[4 * k:4 * k + 4] for k in range(3)]
    # Accepted at once: the same displacement, and the same RNG state after, as with no check.
    plain_rng, checked_rng = np.random.default_rng(7), np.random.default_rng(7)
    plain = kick(NoCalls(), params, plain_rng, cell, pos)
    checked = kick(NoCalls(), params, checked_rng, cell, pos, acceptable=lambda h, x: True)
    assert np.array_equal(plain.positions, checked.positions) and np.allclose(plain.positions, draws[0])
    assert plain_rng.random() == checked_rng.random()
    # Refused twice: the third draw is the kick.
    seen = []

    def third_time(h, x):
        seen.append(x)
        return len(seen) == 3

    got = kick(NoCalls(), params, np.random.default_rng(7), cell, pos, acceptable=third_time)
    assert np.allclose(got.positions, draws[2]) and len(seen) == 3
    # Never accepted: kick_redraws + 1 draws, the last one kept.
    seen.clear()
    got = kick(NoCalls(), params, np.random.default_rng(7), cell, pos, acceptable=lambda h, x: seen.append(x) or False)
    assert len(seen) == 4 and np.allclose(got.positions, seen[-1])
    with pytest.raises(SetupError, match="invalid SSW parameters"):
        SSWParameters(kick_redraws=-1)
