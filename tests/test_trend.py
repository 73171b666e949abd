"""Ea vs x across conductivity jobs (lizrcl_tools.analysis.trend), on random walks of known D(T)."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from scipy import constants

from lizrcl_tools.analysis import analyze_runs
from lizrcl_tools.analysis.synthetic import write_random_walk_run
from lizrcl_tools.analysis.trend import composition_trend, format_trend, write_trend
from lizrcl_tools.cli import main
from lizrcl_tools.errors import SetupError

KB_EV = constants.k / constants.e
TEMPERATURES = (500.0, 600.0, 750.0)
D_600 = 1e-4  # cm²/s at 600 K, both jobs: even the slowest walk's MSD passes the hop length² well inside 60 ps


def _d_of(temperature_K: float, ea_eV: float) -> float:
    return D_600 * math.exp(-ea_eV / KB_EV * (1.0 / temperature_K - 1.0 / 600.0))


def _job(root, name, ea_eV, n_li, n_zr, n_cl, framework_D=0.0, seed=0):
    """A conductivity job folder of Arrhenius random walks: runs/T<K>/ and analysis/."""
    job = root / name
    runs = []
    for k, t in enumerate(TEMPERATURES):
        runs.append(write_random_walk_run(job / "runs" / f"T{t:g}", _d_of(t, ea_eV), temperature_K=t,
                                          n_mobile=n_li, n_framework=n_zr + n_cl, n_zr=n_zr, n_frames=3000,
                                          dump_every=20, framework_D_cm2_s=framework_D, seed=seed + k))
    analyze_runs(runs, out_dir=job / "analysis", plots=False, progress=False)
    return job


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    root = tmp_path_factory.mktemp("trend")
    # LiZrCl5 (x = 1/2) first on the command line, Li2ZrCl6 (x = 1/3) second: the table sorts by x
    return {
        "lizrcl5": _job(root, "lizrcl5", 0.50, n_li=16, n_zr=16, n_cl=80, seed=10),
        "li2zrcl6": _job(root, "li2zrcl6", 0.30, n_li=24, n_zr=12, n_cl=72, seed=20),
        "molten": _job(root, "molten", 0.30, n_li=24, n_zr=12, n_cl=72, framework_D=D_600, seed=30),
    }


def test_rows_carry_x_formula_and_recover_the_activation_energies(jobs):
    rows = composition_trend([jobs["lizrcl5"], jobs["li2zrcl6"]])
    assert [r.formula for r in rows] == ["Li2ZrCl6", "LiZrCl5"]
    assert rows[0].x == pytest.approx(1 / 3) and rows[1].x == pytest.approx(0.5)
    for row, ea in zip(rows, (0.30, 0.50)):
        assert row.Ea_err_eV < 0.05
        assert abs(row.Ea_eV - ea) < 3 * row.Ea_err_eV + 0.01, (row.label, row.Ea_eV, row.Ea_err_eV)
        assert row.fit_T_K == TEMPERATURES and row.n_diffusive == 3
        # every temperature is diffusive, so the secondary all-T fit is the same fit
        assert row.Ea_all_eV == pytest.approx(row.Ea_eV, rel=1e-12)
        # σ(300 K) falls with Ea: the 0.5 eV job extrapolates orders of magnitude lower
    assert rows[1].sigma_300K_mS_cm < rows[0].sigma_300K_mS_cm / 10


def test_a_still_framework_passes_and_a_walking_one_is_flagged_molten(jobs):
    solid, molten = composition_trend([jobs["li2zrcl6"], jobs["molten"]])
    assert solid.molten_T_K == ()
    assert all(abs(r) < 0.01 for r in solid.framework_ratio)
    # Cl walks with D_600 at every temperature while Li follows its Arrhenius law:
    # the ratio is D_600 / D_Li(T), the estimator's two paths agreeing within the walks' noise
    for t, r in zip(TEMPERATURES, molten.framework_ratio):
        assert r == pytest.approx(D_600 / _d_of(t, 0.30), rel=0.25)
    assert molten.molten_T_K == TEMPERATURES


def test_a_temperature_with_negative_d_is_left_out_of_the_secondary_fit(jobs, tmp_path):
    """A caged run's D can come out below zero (noise about nothing): ln D does not exist, so the
    all-temperature fit must drop that point instead of failing (a real 600 K run did this)."""
    job = tmp_path / "caged"
    shutil.copytree(jobs["li2zrcl6"], job)
    path = job / "analysis" / "conductivity.json"
    data = json.loads(path.read_text())
    data["temperatures"][0].update(D_cm2_s=-5e-7, diffusive=False, diffusive_reason="D is not positive")
    path.write_text(json.dumps(data))
    (row,) = composition_trend([job], framework=None)
    both = composition_trend([jobs["li2zrcl6"]], framework=None)[0]
    assert row.n_diffusive == 2 and row.D_cm2_s[0] < 0
    assert row.Ea_all_eV is not None and row.Ea_all_eV != pytest.approx(both.Ea_all_eV, rel=1e-9)
    assert abs(row.Ea_all_eV - 0.30) < 3 * row.Ea_all_err_eV + 0.01


def test_framework_check_can_be_skipped(jobs):
    (row,) = composition_trend([jobs["molten"]], framework=None)
    assert row.framework is None and row.molten_T_K == () and row.framework_ratio == (None,) * 3


def test_write_trend_refuses_to_replace_and_keeps_a_backup_when_forced(jobs, tmp_path):
    rows = composition_trend([jobs["li2zrcl6"]], framework=None)
    target = write_trend(rows, tmp_path / "out")
    data = json.loads(target.read_text())
    assert data["rows"][0]["x"] == pytest.approx(1 / 3)
    assert (tmp_path / "out" / "trend.png").stat().st_size > 0
    with pytest.raises(SetupError, match="exists"):
        write_trend(rows, tmp_path / "out")
    write_trend(rows, tmp_path / "out", force=True)
    assert list((tmp_path / "out").glob("trend.bak*.json"))


def test_a_folder_without_analysis_is_named(tmp_path):
    (tmp_path / "job" / "runs").mkdir(parents=True)
    with pytest.raises(SetupError, match="job: no analysis"):
        composition_trend([tmp_path / "job"])


def test_cli_prints_the_table_and_writes_the_files(jobs, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["ea-vs-x", str(jobs["lizrcl5"]), str(jobs["li2zrcl6"]), "-o", str(out), "--framework", "none"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("Li2ZrCl6") < printed.index("LiZrCl5")
    assert "0.333" in printed and "0.500" in printed
    assert {p.name for p in out.iterdir()} >= {"trend.json", "trend.txt", "trend.png"}
    row_line = format_trend(composition_trend([jobs["li2zrcl6"]], framework=None)).splitlines()[2]
    assert row_line in (out / "trend.txt").read_text().splitlines()
