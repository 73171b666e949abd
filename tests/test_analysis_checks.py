"""What `analyze` refuses, warns about and records: wrapped coordinates under an xu header, NaN
frames, a cut last frame, an unfinished run, too few frames; and the diffusive-regime criteria
(MSD past a hop length², log–log slope near 1, hop counts) that decide the Arrhenius fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lizrcl_tools.analysis import analyze_run, analyze_runs
from lizrcl_tools.analysis.diffusion import choose_fit_window, fit_diffusion
from lizrcl_tools.analysis.diffusive import check_diffusive
from lizrcl_tools.analysis.msd import compute_msd
from lizrcl_tools.analysis.synthetic import A2_PS_PER_CM2_S, write_lammps_dump, write_random_walk_run
from lizrcl_tools.analysis.trajectory import IncompleteTrajectoryWarning
from lizrcl_tools.errors import ParseError, SetupError

RUN_JSON = {"temperature_K": 600.0, "timestep_fs": 1.0, "dump_every": 10, "elements": ["Li", "Zr", "Cl"],
            "mobile": "Li"}


def _walk_run(path, n_frames=300, seed=0, **kwargs):
    return write_random_walk_run(path, D_cm2_s=kwargs.pop("D", 1e-4), n_mobile=32, n_framework=7,
                                 n_frames=n_frames, seed=seed, **kwargs)


def test_wrapped_coordinates_under_an_xu_header_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    from lizrcl_tools.analysis.synthetic import random_walk, wrap_positions

    true = rng.random((20, 3)) * 16 + random_walk(300, 20, 1e-4, 0.01, rng)
    wrapped, _ = wrap_positions(true, np.eye(3) * 16)
    write_lammps_dump(tmp_path / "nvt.lammpstrj", wrapped, [1] * 10 + [3] * 10, np.eye(3) * 16,
                      steps=np.arange(300) * 10)  # header says xu yu zu
    (tmp_path / "run.json").write_text(json.dumps(RUN_JSON))
    with pytest.raises(ParseError, match=r"nvt\.lammpstrj: frame \d+ \(step \d+\), atom \d+: the coordinates are "
                                         r"labelled unwrapped but jump by .* Fix: dump unwrapped coordinates"):
        analyze_run(tmp_path, progress=False)


def test_nan_coordinates_are_refused_naming_file_and_frame(tmp_path):
    run = _walk_run(tmp_path / "run")
    dump = run / "nvt.lammpstrj"
    lines = dump.read_text().splitlines(keepends=True)
    per_frame = 9 + 32 + 7
    row = 7 * per_frame + 9 + 4  # frame 7, 5th atom
    parts = lines[row].split()
    lines[row] = " ".join(parts[:2] + ["nan", "-nan", parts[4]]) + "\n"
    dump.write_text("".join(lines))
    with pytest.raises(ParseError, match=r"nvt\.lammpstrj: frame 7 \(step 70\): NaN/inf coordinates \(1 atoms, first 5\)"):
        analyze_runs([run], out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "conductivity.json").exists()


def test_dump_cut_mid_frame_warns_and_is_recorded(tmp_path):
    run = _walk_run(tmp_path / "run", n_frames=301)
    dump = run / "nvt.lammpstrj"
    data = dump.read_bytes()
    last = data.rfind(b"ITEM: TIMESTEP")
    dump.write_bytes(data[: last + (len(data) - last) // 2])  # half of the last frame, cut mid-line
    with pytest.warns(IncompleteTrajectoryWarning, match=r"ends inside frame 300 \(step 3000"):
        result = analyze_runs([run], out_dir=tmp_path / "out", plots=False, progress=False)
    assert result.temperatures[0].n_frames == 300
    saved = json.loads((tmp_path / "out" / "conductivity.json").read_text())
    assert any("ends inside frame 300" in w for w in saved["temperatures"][0]["warnings"])


def test_unfinished_run_warns_and_is_recorded(tmp_path):
    run = _walk_run(tmp_path / "run", n_frames=314)
    info = json.loads((run / "run.json").read_text())
    info.update(status="running", n_frames_expected=801)
    (run / "run.json").write_text(json.dumps(info))
    with pytest.warns(IncompleteTrajectoryWarning, match="314 of 801 frames: the run is unfinished"):
        result = analyze_runs([run], out_dir=tmp_path / "out", plots=False, progress=False)
    saved = json.loads((tmp_path / "out" / "conductivity.json").read_text())["temperatures"][0]
    assert saved["n_frames"] == 314 and saved["n_frames_expected"] == 801
    assert any("status 'running'" in w for w in saved["warnings"])
    assert result.temperatures[0].warnings == tuple(saved["warnings"])


@pytest.mark.parametrize(("estimator", "minimum"), [("ions", 21), ("blocks", 22)])
def test_too_few_frames_say_how_many_are_needed(tmp_path, estimator, minimum):
    run = _walk_run(tmp_path / "run", n_frames=3)
    with pytest.raises(SetupError, match=rf"has 3 frames; a D with an error bar needs at least {minimum}"):
        analyze_run(run, progress=False, estimator=estimator)
    # the stated minimum must then work
    short = _walk_run(tmp_path / "short", n_frames=minimum)
    assert analyze_run(short, progress=False, estimator=estimator)[0].n_frames == minimum


# --- diffusive regime (issue 13) -------------------------------------------------------------

def test_diffusive_criteria_pass_a_fast_walk_and_count_its_hops(tmp_path):
    # 20 Å²/ps over 10 ps: MSD at the window start (0.2 ps) ~ 24 Å² > 12.25 Å², slope 1
    run = write_random_walk_run(tmp_path / "fast", D_cm2_s=2e-3, n_mobile=64, n_framework=7, n_frames=1000, seed=1)
    result, _ = analyze_run(run, progress=False)
    assert result.diffusive is True and abs(result.loglog_slope - 1) < 0.05
    expected_hops = 64 * 6 * (result.D_cm2_s * A2_PS_PER_CM2_S) * result.duration_ps / 3.5**2
    assert result.n_hops == pytest.approx(expected_hops, rel=1e-9)
    assert result.n_hops == pytest.approx(64 * 6 * 20 * 9.99 / 12.25, rel=0.1)  # true D


def test_a_caged_ion_fails_the_slope_criterion_and_a_slow_walk_the_hop_criterion():
    rng = np.random.default_rng(2)
    # rattling ±1.6 Å around fixed sites: MSD ~ 15 Å² (past ℓ²) but flat: slope ~ 0
    caged = rng.normal(size=(1, 64, 3)) * 10 + rng.normal(size=(1000, 64, 3)) * 1.6
    curves = compute_msd(caged, 0.01)
    window = choose_fit_window(curves)
    fit = fit_diffusion(curves, caged, window)
    check = check_diffusive(curves, window, abs(fit.D_cm2_s) + 1e-9, abs(fit.D_err_cm2_s) + 1e-9, 64)
    assert check.msd_fit_start_A2 > 12.25 and not check.diffusive
    assert "log-log slope" in check.reason and "sub-diffusive" in check.reason and "hop length" not in check.reason

    from lizrcl_tools.analysis.synthetic import random_walk

    slow = random_walk(1000, 64, 1e-5, 0.01, rng)  # 0.1 Å²/ps: MSD(0.2 ps) ~ 0.1 Å²
    curves = compute_msd(slow, 0.01)
    window = choose_fit_window(curves)
    fit = fit_diffusion(curves, slow, window)
    check = check_diffusive(curves, window, fit.D_cm2_s, fit.D_err_cm2_s, 64)
    assert not check.diffusive and "< hop length² 12.2 Å²" in check.reason
    # the same walk is diffusive on the scale of a 0.1 Å "hop"
    assert check_diffusive(curves, window, fit.D_cm2_s, fit.D_err_cm2_s, 64, hop_length_A=0.1).diffusive


def test_arrhenius_uses_only_diffusive_sane_runs_and_says_why(tmp_path):
    dirs = [write_random_walk_run(tmp_path / f"T{t}", D_cm2_s=d, temperature_K=t, n_mobile=64, n_framework=7,
                                  n_frames=1000, seed=t)
            for t, d in ((400, 1e-5), (600, 1.5e-3), (700, 2e-3), (800, 3e-3))]
    info = json.loads((dirs[3] / "run.json").read_text())
    info["sanity"] = ["mean NVT temperature 1100 K is more than 20% away from 800 K"]
    (dirs[3] / "run.json").write_text(json.dumps(info))
    with pytest.warns(UserWarning, match="not from the diffusive regime"):
        result = analyze_runs(dirs, out_dir=tmp_path / "out", plots=False, progress=False)
    flags = {r.T_K: r.diffusive for r in result.temperatures}
    assert flags == {400.0: False, 600.0: True, 700.0: True, 800.0: False}
    fit = result.arrhenius
    assert fit.temperatures_K == (600.0, 700.0) and fit.excluded_T_K == (400.0, 800.0)
    assert "hop length" in fit.excluded_reasons[0] and "MD stage: mean NVT temperature" in fit.excluded_reasons[1]
    assert fit.n_hops == pytest.approx(sum(r.n_hops for r in result.temperatures[1:3]))
    saved = json.loads((tmp_path / "out" / "conductivity.json").read_text())
    assert saved["temperatures"][0]["diffusive"] is False and "left out" in saved["arrhenius_note"]
    everything = analyze_runs(dirs, plots=False, progress=False, fit_all=True)
    assert everything.arrhenius.temperatures_K == (400.0, 600.0, 700.0, 800.0)
