"""Walkers as Parsl tasks give the serial walkers' merged database; finished walkers are not rerun."""

from __future__ import annotations

import json

import pytest

from lizrcl_tools.cluster.config import local_cluster
from lizrcl_tools.cluster.tasks import execution_log
from lizrcl_tools.errors import SetupError
from lizrcl_tools.ssw import MinimaDB, SSWParameters
from lizrcl_tools.ssw.randomcell import random_cell
from lizrcl_tools.ssw.parallel import run_walkers, walker_folder, walker_seeds
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

pytestmark = pytest.mark.lammps

PARAMS = SSWParameters(n_gaussians=4, bias_relax_steps=6)


def _start():
    return random_cell(["Li", "Cl"] * 4, seed=3, volume_per_atom=ROCKSALT_A**3 / 8)


def _content(db: MinimaDB):
    return sorted((round(r.e_per_atom, 9), tuple(r.data["fingerprint"].round(9)),
                   r.visits, sorted(map(tuple, r.data["visit_keys"].tolist()))) for r in db.minima())


def test_seeds_are_distinct_recorded_and_stable_in_the_number_of_walkers():
    seeds = walker_seeds(7, 4)
    assert len(set(seeds)) == 4 and walker_seeds(7, 2) == seeds[:2] and walker_seeds(8, 2) != seeds[:2]


def test_parallel_walkers_equal_serial_walkers_and_rerun_sends_no_task(tmp_path):
    spec = toy_licl_potential()
    serial, report_s = run_walkers(_start(), spec, PARAMS, 5, 2, tmp_path / "serial", tmp_path / "serial.db", steps=3,
                                   max_force_calls=400)
    par, report_p = run_walkers(_start(), spec, PARAMS, 5, 2, tmp_path / "par", tmp_path / "par.db", steps=3,
                                max_force_calls=400, cluster=local_cluster(2))
    assert serial == par and [r["seed"] for r in par] == walker_seeds(5, 2)
    assert all(r["force_calls"] <= 400 for r in par)
    merged_s, merged_p = MinimaDB(tmp_path / "serial.db"), MinimaDB(tmp_path / "par.db")
    assert _content(merged_s) == _content(merged_p) and merged_p.count() >= 2
    seeds_seen = {int(s) for r in merged_p.minima() for s, _ in r.data["visit_keys"].tolist()}
    assert seeds_seen == set(walker_seeds(5, 2))
    assert report_p.new_minima == merged_p.count()
    # Each walker ran once, as its own task, in a worker process (not the driver).
    logs = [execution_log(tmp_path / "par", f"ssw-{walker_folder('.', k).name}") for k in (0, 1)]
    assert [[e["event"] for e in log] for log in logs] == [["start", "end"]] * 2
    manifest = json.loads((tmp_path / "par" / "walkers.json").read_text())
    assert manifest["base_seed"] == 5 and manifest["seeds"] == walker_seeds(5, 2)
    # Rerun: both walkers are finished, so no task is sent and the merge adds nothing.
    again, report = run_walkers(_start(), spec, PARAMS, 5, 2, tmp_path / "par", tmp_path / "par.db", steps=3,
                                max_force_calls=400, cluster=local_cluster(2))
    assert again == par and report.new_minima == 0
    assert [len(execution_log(tmp_path / "par", f"ssw-walker_{k:03d}")) for k in (0, 1)] == [2, 2]
    assert _content(MinimaDB(tmp_path / "par.db")) == _content(merged_s)
    with pytest.raises(SetupError, match="another seed"):
        run_walkers(_start(), spec, PARAMS, 6, 2, tmp_path / "par", tmp_path / "par.db", steps=3, max_force_calls=400)
