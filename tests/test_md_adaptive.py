"""Adaptive NVT length: stop at the target relative error of D, or at the step budget; resumable."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis.msd import compute_msd
from lizrcl_tools.analysis.synthetic import random_walk
from lizrcl_tools.errors import LizrclError
from lizrcl_tools.md import adaptive
from lizrcl_tools.md.dump import dump_steps, read_dump_frames

TIMESTEP_FS, DUMP_EVERY = 1.0, 10
FRAME_PS = TIMESTEP_FS * DUMP_EVERY / 1000.0
D_TRUE = 2e-5  # cm²/s


def walk_estimate(n_walkers: int, max_steps: int, seed: int):
    """Estimate callback on one long synthetic random walk of known D, read up to end_step."""
    positions = random_walk(max_steps // DUMP_EVERY + 1, n_walkers, D_TRUE, FRAME_PS, np.random.default_rng(seed))
    calls: list[int] = []

    def estimate(end_step: int):
        calls.append(end_step)
        pos = positions[: end_step // DUMP_EVERY + 1]
        curves = compute_msd(pos, FRAME_PS)
        try:
            window = dif.choose_fit_window(curves, dif.DEFAULT_N_BLOCKS)
        except LizrclError:  # too short for a fit window yet: as the runner's estimate
            return None
        fit = dif.fit_diffusion(curves, pos, window)
        return fit.D_cm2_s, fit.D_err_cm2_s

    return estimate, calls


def test_segment_ends_and_decision_rule():
    assert adaptive.segment_ends(2000, 500, 3000) == [2000, 2500, 3000]
    assert adaptive.segment_ends(2000, 700, 3000) == [2000, 2700, 3000]
    assert adaptive.segment_ends(2000, 500, 2000) == [2000]
    assert adaptive.decide(1.0, 0.2, 10, 30, 0.2) == adaptive.TARGET_MET
    # A tight error bar on a D from caged rattling is not a converged D: never a stop.
    assert adaptive.decide(1.0, 0.01, 10, 30, 0.2, diffusive=False) == adaptive.EXTEND
    assert adaptive.decide(1.0, 0.01, 30, 30, 0.2, diffusive=False) == adaptive.BUDGET_SPENT
    assert adaptive.decide(1.0, 0.2, 10, 30, 0.2, diffusive=True) == adaptive.TARGET_MET
    assert adaptive.decide(1.0, 0.21, 10, 30, 0.2) == adaptive.EXTEND
    assert adaptive.decide(1.0, 0.21, 30, 30, 0.2) == adaptive.BUDGET_SPENT
    # No estimate, or a D that is not positive, never stops a run early.
    assert adaptive.decide(None, None, 10, 30, 0.2) == adaptive.EXTEND
    assert adaptive.decide(-1.0, 0.01, 10, 30, 0.2) == adaptive.EXTEND


def test_stops_at_the_target_error_on_a_walk_of_known_D():
    """12 walkers (the Li count of a small cell): 0.2 ps is too short for a fit window, so the
    loop extends; it stops at the first segment whose err/D <= 20 %, and that D agrees with
    the true D within three of its error bars (and within twice the target)."""
    first, extend, most = 200, 200, 20000
    estimate, calls = walk_estimate(n_walkers=12, max_steps=most, seed=4)
    segments = adaptive.adaptive_segments(estimate, first, extend, most, 0.2, TIMESTEP_FS)
    assert calls == [s["end_step"] for s in segments]
    assert len(segments) >= 2 and segments[0]["decision"] == adaptive.EXTEND
    assert all(s["rel_err"] is None or s["rel_err"] > 0.2 for s in segments[:-1])
    last = segments[-1]
    assert last["decision"] == adaptive.TARGET_MET and last["rel_err"] <= 0.2
    assert last["end_step"] < most
    assert abs(last["D_cm2_s"] - D_TRUE) < 3 * last["D_err_cm2_s"]
    assert abs(last["D_cm2_s"] / D_TRUE - 1) < 0.4


def test_budget_stop_and_resume_without_recomputing():
    first, extend, most = 1000, 1000, 4000
    estimate, calls = walk_estimate(n_walkers=2, max_steps=most, seed=5)
    full = adaptive.adaptive_segments(estimate, first, extend, most, 1e-4, TIMESTEP_FS)
    assert [s["end_step"] for s in full] == [1000, 2000, 3000, 4000]
    assert full[-1]["decision"] == adaptive.BUDGET_SPENT
    # Resume after two decisions: those are reused, only the rest is estimated.
    estimate2, calls2 = walk_estimate(n_walkers=2, max_steps=most, seed=5)
    saved: list[dict] = []
    resumed = adaptive.adaptive_segments(estimate2, first, extend, most, 1e-4, TIMESTEP_FS,
                                         done=full[:2], on_segment=saved.append)
    assert calls2 == [3000, 4000] and resumed == full and saved == full[2:]
    assert adaptive.planned_end(full[:2], first, extend, most) == 3000
    assert adaptive.planned_end([], first, extend, most) == 1000


# ---------------------------------------------------------------------------------- LAMMPS


def _defective_licl():
    """Hot LiCl with one Schottky pair removed: Li hops within a picosecond at 2600 K."""
    atoms = bulk("LiCl", "rocksalt", a=5.07, cubic=True).repeat(2)
    del atoms[[0, 1]]
    return atoms


def _protocol():
    from lizrcl_tools.md.protocols import MDProtocol

    return MDProtocol(name="test", temperatures_K=(2600.0,), n_atoms=None, npt_ps=0.1, nvt_ps=1.0,
                      dump_every=5, chunk_steps=250, thermo_every=50, barostat="iso", seed=4242,
                      max_nvt_ps=3.0, extend_nvt_ps=0.5, target_rel_err=0.5)


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory):
    from lizrcl_tools.md import run_md
    from lizrcl_tools.potential.classical import classical_potential

    run_dir = tmp_path_factory.mktemp("adaptive") / "T2600"
    record = run_md(_defective_licl(), classical_potential(), 2600.0, run_dir, _protocol(), progress=False)
    return run_dir, record


@pytest.mark.lammps
def test_classical_run_extends_until_the_loose_target(adaptive_run):
    run_dir, record = adaptive_run
    segments = record.nvt_segments
    protocol = _protocol()
    last = segments[-1]
    assert last["decision"] != adaptive.EXTEND
    assert all(s["decision"] == adaptive.EXTEND for s in segments[:-1])
    if last["decision"] == adaptive.TARGET_MET:
        assert last["rel_err"] <= protocol.target_rel_err
    else:
        assert last["end_step"] == protocol.max_nvt_steps
    assert [s["end_step"] for s in segments] == list(range(1000, last["end_step"] + 1, 500))
    assert record.get("nvt_steps") == last["end_step"]
    assert dump_steps(run_dir / "nvt.lammpstrj") == list(range(0, last["end_step"] + 1, 5))
    assert record.get("n_frames") == record.get("n_frames_expected") == last["end_step"] // 5 + 1
    # The recorded D of the last segment is what the analysis finds on the finished folder.
    D, err, diffusive = adaptive.estimate_from_run(run_dir)
    assert diffusive is last["diffusive"]
    assert D == pytest.approx(last["D_cm2_s"], rel=1e-9) and err == pytest.approx(last["D_err_cm2_s"], rel=1e-9)


class Interrupt(Exception):
    pass


@pytest.mark.lammps
def test_adaptive_run_resumes_after_a_kill(adaptive_run, tmp_path):
    """Killed inside the second segment, after the first decision was saved: the resumed run
    reuses that decision and ends with the same segments and trajectory."""
    from lizrcl_tools.md import run_md
    from lizrcl_tools.md.record import read_run_record
    from lizrcl_tools.potential.classical import classical_potential

    run_dir, reference = adaptive_run
    if len(reference.nvt_segments) < 2:
        pytest.skip("the uninterrupted run stopped after its first segment")

    def hook(phase: str, step: int) -> None:
        if (phase, step) == ("nvt", 1250):
            raise Interrupt

    with pytest.raises(Interrupt):
        run_md(_defective_licl(), classical_potential(), 2600.0, tmp_path, _protocol(), progress=False, on_chunk=hook)
    partial = read_run_record(tmp_path)
    assert partial.status == "running" and [s["end_step"] for s in partial.nvt_segments] == [1000]
    record = run_md(_defective_licl(), classical_potential(), 2600.0, tmp_path, _protocol(), progress=False)
    assert [s["end_step"] for s in record.nvt_segments] == [s["end_step"] for s in reference.nvt_segments]
    assert [s["decision"] for s in record.nvt_segments] == [s["decision"] for s in reference.nvt_segments]
    ours = read_dump_frames(tmp_path / "nvt.lammpstrj")
    theirs = read_dump_frames(run_dir / "nvt.lammpstrj")
    assert list(ours["steps"]) == list(theirs["steps"])
    assert np.abs(ours["positions_A"] - theirs["positions_A"]).max() < 1e-6
