"""End to end on synthetic run folders of known D: dump → MSD → D, σ, Arrhenius, JSON, CLI.

Also the cross-check against pymatgen-analysis-diffusion's DiffusionAnalyzer on the same
trajectory.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import constants

from lizrcl_tools.analysis import analyze_run, analyze_runs, format_table
from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis.arrhenius import fit_arrhenius
from lizrcl_tools.analysis.conductivity import nernst_einstein_mS_cm
from lizrcl_tools.analysis.runinfo import read_run_info
from lizrcl_tools.analysis.pipeline import NotDiffusiveWarning
from lizrcl_tools.analysis.synthetic import write_caged_run, write_lammps_dump, write_random_walk_run
from lizrcl_tools.analysis.trajectory import read_mobile_trajectory
from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.analysis.results import ConductivityResult

# Trigonal-like LAMMPS cell (negative xy tilt as for layered Li2ZrCl6), plus a small xz/yz tilt.
TRICLINIC = np.array([[15.0, 0.0, 0.0], [-7.5, 12.99, 0.0], [0.8, -1.2, 17.5]])
D_ISO = 1.0e-5
D_ANISO = (2.0e-5, 2.0e-5, 2.0e-6)
# With the default window (lags up to T/10) the relative error of D scales as 1/sqrt(N_WALKERS)
# and hardly with the frame count: 1024 walkers give ~0.8 % on D and ~1.7 % on D_z (1σ), so 5 %
# holds with a wide margin; 500 frames keep the dump small enough to read in a few seconds.
N_WALKERS, N_FRAMES = 1024, 500


@pytest.fixture(scope="module")
def iso_run(tmp_path_factory):
    """Isotropic walk in a triclinic cell whose every atom drifts (tests drift removal)."""
    run = write_random_walk_run(tmp_path_factory.mktemp("iso") / "iso", D_cm2_s=D_ISO, temperature_K=500.0,
                                n_mobile=N_WALKERS, n_framework=14, n_frames=N_FRAMES, cell_A=TRICLINIC,
                                drift_A_per_ps=(0.3, -0.2, 0.1), seed=1)
    return run, analyze_run(run, progress=False)


@pytest.fixture(scope="module")
def aniso_run(tmp_path_factory):
    """Anisotropic walk (fast in-plane, slow along z) in an orthogonal cell, V from run.json."""
    run = write_random_walk_run(tmp_path_factory.mktemp("aniso") / "aniso", D_cm2_s=D_ANISO, temperature_K=700.0,
                                n_mobile=N_WALKERS, n_framework=14, n_frames=N_FRAMES, volume_A3=4200.0, seed=2)
    return run, analyze_run(run, progress=False)


def test_isotropic_walk_recovers_D_in_triclinic_drifting_cell(iso_run):
    result, _ = iso_run[1]
    assert result.D_cm2_s == pytest.approx(D_ISO, rel=0.05)
    assert result.D_xy_cm2_s == pytest.approx(D_ISO, rel=0.05)
    assert result.D_z_cm2_s == pytest.approx(D_ISO, rel=0.05)
    assert result.drift_corrected
    assert result.volume_A3 == pytest.approx(abs(np.linalg.det(TRICLINIC)), rel=1e-6)
    assert result.volume_source == "dump box"
    assert result.n_mobile == N_WALKERS and result.n_frames == N_FRAMES
    assert result.frame_interval_ps == pytest.approx(0.01)
    assert 0 < result.fit_window_ps[0] < result.fit_window_ps[1] <= result.duration_ps / 2
    assert 0 < result.D_err_cm2_s < 0.05 * result.D_cm2_s


def test_anisotropic_walk_recovers_projected_D(aniso_run):
    result, curves = aniso_run[1]
    assert result.D_xy_cm2_s == pytest.approx(D_ANISO[0], rel=0.05)
    assert result.D_z_cm2_s == pytest.approx(D_ANISO[2], rel=0.05)
    assert result.D_cm2_s == pytest.approx(np.mean(D_ANISO), rel=0.05)
    # D is the weighted mean of its projections by construction.
    assert result.D_cm2_s == pytest.approx((2 * result.D_xy_cm2_s + result.D_z_cm2_s) / 3, rel=1e-9)
    assert result.volume_source == "run.json volume_A3" and result.volume_A3 == 4200.0
    assert curves.msd_A2.shape == (N_FRAMES, 3)


def test_without_drift_correction_the_drift_shows(tmp_path):
    run = write_random_walk_run(tmp_path / "drift", D_cm2_s=1e-5, n_mobile=40, n_framework=7, n_frames=400,
                                drift_A_per_ps=(2.0, 0.0, 0.0), seed=5)
    corrected, _ = analyze_run(run, progress=False)
    raw, _ = analyze_run(run, drift_correct=False, progress=False)
    assert corrected.D_cm2_s == pytest.approx(1e-5, rel=0.2)
    assert raw.D_cm2_s > 3 * corrected.D_cm2_s  # a 2 Å/ps drift adds a ballistic v²t² term


def test_triclinic_dump_positions_and_box_read_exactly(tmp_path):
    rng = np.random.default_rng(0)
    # anywhere in (and out of) the box, but moving < half a box between frames (else refused as wrapped)
    positions = rng.uniform(-5, 25, size=(1, 6, 3)) + rng.uniform(-2, 2, size=(3, 6, 3))
    types = [1, 1, 1, 2, 3, 3]
    write_lammps_dump(tmp_path / "nvt.lammpstrj", positions, types, TRICLINIC, steps=[100, 120, 140])
    (tmp_path / "run.json").write_text(json.dumps(
        {"temperature_K": 300, "timestep_fs": 0.5, "dump_every": 20, "elements": ["Li", "Zr", "Cl"],
         "mobile": "Li", "n_atoms": 6, "n_mobile": 3}))
    traj = read_mobile_trajectory(read_run_info(tmp_path), drift_correct=False, progress=False)
    np.testing.assert_allclose(traj.positions_A, positions[:, :3], atol=1e-5)
    assert traj.box_volume_A3 == pytest.approx(abs(np.linalg.det(TRICLINIC)), rel=1e-6)
    assert traj.frame_interval_ps == pytest.approx(0.01)


def test_dump_that_disagrees_with_run_json_is_a_parse_error(tmp_path):
    positions = np.zeros((3, 4, 3))
    write_lammps_dump(tmp_path / "nvt.lammpstrj", positions, [1, 1, 2, 3], np.eye(3) * 10, steps=[0, 10, 30])
    base = {"temperature_K": 300, "timestep_fs": 1.0, "dump_every": 10, "mobile": "Li"}
    (tmp_path / "run.json").write_text(json.dumps({**base, "elements": ["Li", "Zr"]}))
    with pytest.raises(ParseError, match=r"run\.json: key 'elements': the dump nvt\.lammpstrj has LAMMPS types"):
        read_mobile_trajectory(read_run_info(tmp_path), progress=False)
    (tmp_path / "run.json").write_text(json.dumps({**base, "elements": ["Li", "Zr", "Cl"], "n_mobile": 3}))
    with pytest.raises(ParseError, match=r"key 'n_mobile': 3 but nvt\.lammpstrj has 2 Li"):
        read_mobile_trajectory(read_run_info(tmp_path), progress=False)
    (tmp_path / "run.json").write_text(json.dumps({**base, "elements": ["Li", "Zr", "Cl"]}))
    with pytest.raises(ParseError, match=r"frames 1 and 2 are 0\.02 ps apart"):
        read_mobile_trajectory(read_run_info(tmp_path), progress=False)


def test_nernst_einstein_matches_hand_calculation():
    # 96 Li+ in 4000 Å³ at 400 K with D = 3e-6 cm²/s, by hand in SI units.
    n, volume_m3, temp, d_m2_s = 96, 4000e-30, 400.0, 3e-6 * 1e-4
    sigma_s_per_m = n * constants.e**2 * d_m2_s / (volume_m3 * constants.k * temp)
    hand_mS_cm = sigma_s_per_m * 10.0  # 1 S/m = 10 mS/cm
    assert nernst_einstein_mS_cm(3e-6, 96, 4000.0, 400.0) == pytest.approx(hand_mS_cm, rel=1e-12)
    assert hand_mS_cm == pytest.approx(334.66, rel=1e-4)  # guards the hand formula itself
    assert nernst_einstein_mS_cm(3e-6, 96, 4000.0, 400.0, charge_number=2) == pytest.approx(4 * hand_mS_cm)


def test_per_run_sigma_uses_its_own_D_N_V_T(aniso_run):
    result, _ = aniso_run[1]
    expected = nernst_einstein_mS_cm(result.D_cm2_s, result.n_mobile, 4200.0, 700.0)
    assert result.sigma_mS_cm == pytest.approx(expected)
    assert result.sigma_err_mS_cm / result.sigma_mS_cm == pytest.approx(result.D_err_cm2_s / result.D_cm2_s)


def test_arrhenius_recovers_activation_energy():
    k_b = constants.k / constants.e
    ea, d0 = 0.35, 2e-3
    temps = np.array([400.0, 450.0, 500.0, 550.0, 600.0])
    rng = np.random.default_rng(42)
    rel_err = 0.03
    d = d0 * np.exp(-ea / (k_b * temps)) * (1 + rel_err * rng.normal(size=temps.size))
    fit = fit_arrhenius(temps, d, rel_err * d)
    assert fit.Ea_eV == pytest.approx(ea, abs=0.01)
    assert 0.001 < fit.Ea_err_eV < 0.02
    d300, d300_err = fit.extrapolate(300.0)
    assert d300 == pytest.approx(d0 * np.exp(-ea / (k_b * 300.0)), rel=3 * d300_err / d300)
    # Extrapolating further from the data must be less certain.
    assert fit.extrapolate(250.0)[1] / fit.extrapolate(250.0)[0] > d300_err / d300
    with pytest.raises(SetupError, match="not positive"):
        fit_arrhenius([400, 500], [1e-6, -1e-7], [1e-7, 1e-7])


def test_cross_check_against_pymatgen_diffusion_analyzer(aniso_run):
    """Same trajectory, comparable window: pymatgen 'max' smoothing starts at 1 ps and ends at
    n_Li·n_steps/min_obs frames; our fit window is set to the same [1, 2] ps."""
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    run_dir = aniso_run[0]
    info = json.loads((run_dir / "run.json").read_text())
    # Parse the dump independently of MDAnalysis: 9 header lines, then one row per atom.
    lines = (run_dir / "nvt.lammpstrj").read_text().splitlines()
    n_atoms = info["n_atoms"]
    per_frame = 9 + n_atoms
    rows = [line for i, line in enumerate(lines) if i % per_frame >= 9]
    data = np.array(" ".join(rows).split(), dtype=float).reshape(N_FRAMES, n_atoms, 5)
    positions = data[:, :, 2:]
    species = [info["elements"][int(t) - 1] for t in data[0, :, 1]]
    structure = Structure(Lattice(info["cell_A"]), species, positions[0], coords_are_cartesian=True)
    displacements = np.transpose(positions - positions[0], (1, 0, 2))
    n_li = species.count("Li")
    pmg = DiffusionAnalyzer(structure, displacements, "Li", info["temperature_K"], time_step=info["timestep_fs"],
                            step_skip=info["dump_every"], smoothed="max", min_obs=n_li * N_FRAMES // 200)
    assert pmg.dt[0] == pytest.approx(1000.0) and pmg.dt[-1] == pytest.approx(1990.0)

    # Our MSD of the same run (from the fixture), fitted over the same [1, 2] ps window.
    result, curves = aniso_run[1]
    window = dif.choose_fit_window(curves, fit_start_ps=1.0, fit_end_ps=2.0)
    ours_D = dif.fit_slope(curves.time_ps, curves.total, window.start_ps, window.end_ps) / 6 * dif.CM2_S_PER_A2_PS
    assert ours_D == pytest.approx(pmg.diffusivity, rel=0.02)
    # The MSD curves themselves agree at pymatgen's lags (same all-origin definition).
    lags = np.rint(pmg.dt / 10.0).astype(int)
    np.testing.assert_allclose(curves.total[lags], pmg.msd, rtol=1e-6)
    # Same Nernst–Einstein up to the volume (pymatgen uses the cell, we use run.json volume_A3).
    cell_volume = abs(np.linalg.det(info["cell_A"]))
    ours_sigma = nernst_einstein_mS_cm(pmg.diffusivity, result.n_mobile, cell_volume, result.T_K)
    assert ours_sigma == pytest.approx(pmg.conductivity, rel=1e-6)


@pytest.mark.parametrize("estimator", ["ions", "blocks"])
def test_a_caged_temperature_is_reported_and_left_out_instead_of_stopping_the_job(tmp_path, estimator):
    # The 700 K run's cage outlasts half the run (the failure of a real 12 ps Li3ZrCl7 job): the
    # default window would be empty. The job must still analyse 600 and 800 K and fit through them,
    # with either error estimator.
    d600, d800 = 1.0e-4, 3.0e-4
    walk = dict(n_mobile=256, n_framework=14, n_frames=1000, dump_every=10)
    runs = [write_random_walk_run(tmp_path / "T600", d600, temperature_K=600.0, seed=11, **walk),
            write_caged_run(tmp_path / "T700", temperature_K=700.0, seed=3),
            write_random_walk_run(tmp_path / "T800", d800, temperature_K=800.0, seed=12, **walk)]
    # The blocks' windows start at 0.1 of a block, before these walks have covered a 3.5 Å hop
    # (MSD 1.2 Å² at 600 K): a 1 Å hop length lets their 600 and 800 K runs count as diffusive.
    hop = {"hop_length_A": 1.0} if estimator == "blocks" else {}
    with pytest.warns(NotDiffusiveWarning, match="no diffusive window"):
        result = analyze_runs(runs, progress=False, estimator=estimator, **hop)
    by_t = {r.T_K: r for r in result.temperatures}
    caged = by_t[700.0]
    assert caged.diffusive is False and "no diffusive window in 12 ps" in caged.diffusive_reason
    assert "outlasts the window end" in caged.fit_rule
    assert by_t[600.0].diffusive and by_t[800.0].diffusive
    assert result.arrhenius.temperatures_K == (600.0, 800.0) and result.arrhenius.excluded_T_K == (700.0,)
    k_b = constants.k / constants.e
    ea = k_b * np.log(d800 / d600) / (1 / 600.0 - 1 / 800.0)  # 0.227 eV
    assert result.arrhenius.Ea_eV == pytest.approx(ea, abs=3 * result.arrhenius.Ea_err_eV)
    # A user-set window that is empty is still an error, named.
    with pytest.raises(SetupError, match="empty"):
        analyze_run(runs[1], fit_start_ps=3.0, fit_end_ps=2.0, progress=False, estimator=estimator)


def test_analyze_runs_writes_contract_json_and_plots_and_cli(tmp_path, capsys):
    from lizrcl_tools.cli import run as cli_run

    dirs = [
        write_random_walk_run(tmp_path / f"T{t}", D_cm2_s=d, temperature_K=t, n_mobile=48, n_framework=7,
                              n_frames=400, seed=t)
        for t, d in ((600, 2e-6), (800, 8e-6))
    ]
    out = tmp_path / "out"
    # these walks cover ~0.1 Å: a hop length of 0.1 Å makes them "diffusive" for the Arrhenius fit
    assert cli_run(["analyze", *map(str, dirs), "-o", str(out), "--fit-start-ps", "0.2", "--hop-length", "0.1"]) == 0
    printed = capsys.readouterr().out
    assert "T (K)" in printed and "Ea =" in printed and "conductivity.json" in printed

    data = json.loads((out / "conductivity.json").read_text())
    for key in ("Ea_eV", "Ea_err_eV", "D0_cm2_s", "sigma_300K_mS_cm", "sigma_300K_err_mS_cm"):
        assert isinstance(data[key], float)
    assert [t["T_K"] for t in data["temperatures"]] == [600.0, 800.0]
    # σ(300 K) is Nernst–Einstein of the extrapolated D with N/V of the run closest to 300 K.
    low = data["temperatures"][0]
    d300 = data["arrhenius"]["D_300K_cm2_s"]
    assert data["sigma_300K_mS_cm"] == pytest.approx(nernst_einstein_mS_cm(d300, 48, low["volume_A3"], 300.0))
    assert d300 < low["D_cm2_s"]
    for entry in data["temperatures"]:
        for key in ("T_K", "D_cm2_s", "D_err_cm2_s", "D_xy_cm2_s", "D_z_cm2_s", "sigma_mS_cm", "fit_window_ps"):
            assert key in entry
        assert entry["fit_window_ps"][0] == 0.2 and "user override of the start" in entry["fit_rule"]
        assert entry["diffusive"] is True and "ℓ = 0.1 Å" in entry["diffusive_reason"]
        assert (out / entry["msd_file"]).exists()
        assert (out / entry["msd_file"].replace(".npz", ".png")).stat().st_size > 10_000
    assert (out / "arrhenius.png").stat().st_size > 10_000
    with np.load(out / "msd_600K.npz") as npz:
        assert npz["msd_z_A2"].shape == (400,)

    # Round trip, and a finished result is never silently replaced.
    loaded = ConductivityResult.load(out / "conductivity.json")
    assert loaded.to_dict() == data
    with pytest.raises(SetupError, match="refusing to overwrite"):
        loaded.save(out / "conductivity.json")
    with pytest.raises(SetupError, match="refusing to overwrite"):
        analyze_runs(dirs, out_dir=out, progress=False)
    # Forced, with fewer temperatures: the previous analysis moves to previous-1/, whole.
    assert cli_run(["analyze", str(dirs[0]), "-o", str(out), "--force", "--no-plots",
                    "--fit-start-ps", "0.2", "--hop-length", "0.1"]) == 0
    new = json.loads((out / "conductivity.json").read_text())
    assert [t["T_K"] for t in new["temperatures"]] == [600.0]
    assert not (out / "msd_800K.npz").exists() and not (out / "arrhenius.png").exists()
    kept = out / "previous-1"
    assert json.loads((kept / "conductivity.json").read_text()) == data
    assert (kept / "msd_800K.npz").exists() and (kept / "arrhenius.png").exists()


def test_single_temperature_has_null_arrhenius_keys(aniso_run):
    result = ConductivityResult(temperatures=(aniso_run[1][0],), arrhenius=None)
    data = result.to_dict()
    assert data["Ea_eV"] is None and data["sigma_300K_mS_cm"] is None
    assert "Arrhenius: needs two or more temperatures" in format_table(result)
    assert ConductivityResult.from_dict(json.loads(json.dumps(data))) == result
