"""Force-call budget and per-step profile of SSW (8-atom LiCl, toy rocksalt potential)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.bias import Coordinates
from lizrcl_tools.potential.lammps_engine import BudgetExhausted, LammpsEngine, to_lammps_frame
from lizrcl_tools.ssw.relax import fire_relax
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

pytestmark = pytest.mark.lammps

# Climbs only (adapt_window=0, no kicks): these tests count the phases of a climb.
PARAMS = SSWParameters(n_gaussians=5, bias_relax_steps=6, dimer_rotations=2, adapt_window=0)


def _start(seed: int = 1):
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    atoms.rattle(0.3, seed=seed)
    return atoms


def test_engine_refuses_the_call_past_its_budget_and_fire_stops_there():
    atoms = _start()
    h, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    eng = LammpsEngine(toy_licl_potential(), atoms.get_chemical_symbols(), h, pos)
    eng.max_force_calls = 3
    for _ in range(3):
        eng.evaluate(h, pos)
    with pytest.raises(BudgetExhausted):
        eng.evaluate(h, pos)
    assert eng.force_calls == 3
    # A relaxation that needs more calls than are left stops exactly at the budget.
    eng.max_force_calls = 3 + 7
    with pytest.raises(BudgetExhausted):
        fire_relax(eng, Coordinates(h.copy(), 1.0, 0.3, True), h, pos, fmax=1e-6, max_steps=1000)
    assert eng.force_calls == 10
    # Without a budget the same relaxation converges: FIRE on this toy reaches rocksalt's a.
    eng.max_force_calls = None
    res = fire_relax(eng, Coordinates(h.copy(), 1.0, 0.3, True), h, pos, fmax=1e-3, smax=1e-5,
                     max_steps=5000)
    assert res.converged and res.steps == eng.force_calls - 10
    assert abs(np.linalg.det(res.cell)) ** (1 / 3) == pytest.approx(ROCKSALT_A, abs=0.01)
    assert res.evaluation.energy / 8 == pytest.approx(-3.844, abs=0.001)
    eng.close()


def test_a_relaxation_check_runs_every_check_every_calls_and_aborts_by_raising():
    atoms = _start()
    h, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    eng = LammpsEngine(toy_licl_potential(), atoms.get_chemical_symbols(), h, pos)
    seen = []

    def check(cell, positions):
        seen.append(eng.force_calls)
        if len(seen) == 3:
            raise RuntimeError("hole")

    with pytest.raises(RuntimeError, match="hole"):
        fire_relax(eng, Coordinates(h.copy(), 1.0, 0.3, True), h, pos, fmax=1e-6, max_steps=1000, check=check,
                   check_every=7)
    # Checked after calls 7, 14 and 21; the third check stopped it there, no call later.
    assert seen == [7, 14, 21] and eng.force_calls == 21
    eng.close()


def test_budget_is_never_exceeded_and_the_cut_step_resumes_exactly(tmp_path):
    free = SSWWalker(_start(), toy_licl_potential(), tmp_path / "free.db", PARAMS, seed=3)
    free.run(4, progress=False)
    free.close()
    ref = free.state.history
    start_calls = ref[0].force_calls
    step_cost = ref[1].force_calls - ref[0].force_calls
    # A budget below one step, one inside step 3, and one that fits steps 1-3 exactly.
    for budget in (start_calls + step_cost // 2, ref[2].force_calls + 3, ref[3].force_calls):
        tag = f"b{budget}"
        w = SSWWalker(_start(), toy_licl_potential(), tmp_path / f"{tag}.db", PARAMS, seed=3,
                      checkpoint=tmp_path / f"{tag}.json", max_force_calls=budget)
        w.run(10, progress=False, max_force_calls=budget)
        w.close()
        assert w.engine.force_calls <= budget
        done = [r for r in ref if r.force_calls <= budget]
        # Exactly the steps of the free walk that fit, with identical records.
        assert [(r.step, r.energy, r.force_calls) for r in w.state.history] == \
            [(r.step, r.energy, r.force_calls) for r in done]
        # The cut step left nothing in the database: one visit per completed step (+ start).
        assert sum(row.visits for row in MinimaDB(tmp_path / f"{tag}.db").minima()) == len(done)
        # Resume without a budget: the cut step is redone exactly as in the free walk.
        again = SSWWalker.resume(tmp_path / f"{tag}.json")
        rec = again.step()
        again.close()
        assert rec.step == len(done) and rec.energy == ref[len(done)].energy
        assert rec.profile == ref[len(done)].profile
    with pytest.raises(BudgetExhausted):
        SSWWalker(_start(), toy_licl_potential(), tmp_path / "tiny.db", PARAMS, seed=3, max_force_calls=5)


def test_profile_sums_to_each_steps_force_calls(tmp_path):
    walker = SSWWalker(_start(2), toy_licl_potential(), tmp_path / "p.db", PARAMS, seed=7)
    # An independent count: every force evaluation is one `run 0` command sent to LAMMPS.
    lmp = walker.engine.lmp
    sent = {"run0": 0}
    command = lmp.command

    def counting(line):
        sent["run0"] += line.startswith("run 0")
        return command(line)

    lmp.command = counting
    walker.run(3, progress=False)
    walker.close()
    hist = walker.state.history
    assert sent["run0"] == hist[-1].force_calls - hist[0].force_calls
    for before, rec in zip(hist, hist[1:]):
        prof = rec.profile
        assert sum(prof.values()) == rec.force_calls - before.force_calls
        # The minimum, plus one trial point per direction candidate when there are several.
        k = PARAMS.direction_candidates
        assert prof["direction"] == 1 + (k if k > 1 else 0) and prof["metropolis"] == 0
        gaussians = sorted(k for k in prof if k.startswith("gaussian_"))
        assert gaussians == [f"gaussian_{k}" for k in range(1, rec.gaussians + 1)]
        assert all(1 <= prof[k] <= 1 + PARAMS.bias_relax_steps for k in gaussians)
        # Two calls per dimer rotation (one fewer when a rotation's gradient vanished).
        assert prof["dimer"] <= 2 * PARAMS.dimer_rotations * rec.gaussians
        assert prof["dimer"] >= rec.gaussians
        assert 1 <= prof["quench"] <= PARAMS.quench_max_iter


def test_benchmark_holds_both_methods_to_the_same_budget(tmp_path):
    import bench_ssw

    from lizrcl_tools.ssw.randomcell import random_cell

    start = random_cell(["Li", "Cl"] * 4, seed=5, volume_per_atom=ROCKSALT_A**3 / 8)
    e_target = -3.844 + 0.002
    ssw = bench_ssw.run_ssw(start, toy_licl_potential(), 0, 400, e_target, tmp_path, SSWParameters())
    bh = bench_ssw.run_bh(start, toy_licl_potential(), 0, 400, e_target, tmp_path, 0.5, 300.0)
    # Both stop only when the next call would pass the budget: exactly the budget, never more.
    assert ssw["calls"] == bh["calls"] == 400
    assert ssw["distinct"] >= 1 and bh["distinct"] >= 1
    # So do both with the start's atoms relaxed at fixed cell first (its calls are in the budget).
    ssw = bench_ssw.run_ssw(start, toy_licl_potential(), 0, 400, e_target, tmp_path,
                            SSWParameters(start_fixed_cell=True))
    bh = bench_ssw.run_bh(start, toy_licl_potential(), 1, 400, e_target, tmp_path, 0.5, 300.0,
                          fixed_cell_first=True)
    assert ssw["calls"] == bh["calls"] == 400


def test_kick_steps_spend_calls_only_on_the_quench(tmp_path):
    params = SSWParameters(kick_probability=1.0, adapt_window=0, kick_memory=False)
    walker = SSWWalker(_start(4), toy_licl_potential(), tmp_path / "k.db", params, seed=2)
    walker.run(3, progress=False)
    walker.close()
    hist = walker.state.history
    for before, rec in zip(hist, hist[1:]):
        assert rec.gaussians == 0
        assert set(rec.profile) == {"metropolis", "quench"}
        assert rec.profile["quench"] == rec.force_calls - before.force_calls
    # A kick displaces by at most kick_A per axis, so it cannot leave a rattled rocksalt's
    # basin far behind: the 8-atom walk stays in minima within 0.2 eV/atom of rocksalt.
    assert all(r.energy / 8 < -3.844 + 0.2 for r in hist)


def test_direction_candidates_walk_the_lowest_trial_point_and_reuse_it(tmp_path):
    from lizrcl_tools.ssw.climb import climb, initial_direction

    params = SSWParameters(n_gaussians=2, min_gaussians=2, bias_relax_steps=3, direction_candidates=4)
    walker = SSWWalker(_start(3), toy_licl_potential(), tmp_path / "c.db", params, seed=1)
    eng, s = walker.engine, walker.state
    seen = []
    evaluate = eng.evaluate

    def recording(cell=None, positions=None):
        out = evaluate(cell, positions)
        seen.append((eng._phase, out.energy))
        return out

    eng.evaluate = recording
    eng.calls_by_phase.clear()
    replay = np.random.default_rng()
    replay.bit_generator.state = walker.rng.bit_generator.state
    climbed = climb(eng, params, walker.rng, walker.masses, s.cell, s.positions)
    walker.close()
    # The same draws, replayed: the walker moved along the candidate whose trial point was lowest.
    coords = Coordinates(s.cell.copy(), params.ds_atom, params.ds_cell, params.relax_cell)
    candidates = [initial_direction(replay, params, walker.masses, coords, s.cell, s.positions) for _ in range(4)]
    moved = coords.displacement(climbed.frames[0][0], climbed.frames[0][1], s.cell, s.positions)
    overlaps = [abs(moved @ d) for d in candidates]
    direction = [e for phase, e in seen if phase == "direction"]
    # The minimum itself, then one trial point per candidate; nothing else in this phase.
    assert len(direction) == 1 + 4 and eng.calls_by_phase["direction"] == 5
    # The first Gaussian starts from the lowest candidate's point without evaluating it again,
    # so its first call is already a biased-relaxation iteration, and the climb went uphill.
    assert eng.calls_by_phase["gaussian_1"] == params.bias_relax_steps
    assert min(direction[1:]) > direction[0]
    assert int(np.argmax(overlaps)) == int(np.argmin(direction[1:]))
    assert climbed.gaussians == 2 and climbed.frames[-1][2] > direction[0]
