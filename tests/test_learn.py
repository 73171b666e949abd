"""The self-learning loop: recipe checks, the physical filter, novelty selection, and two
generations end to end with a real teacher and a seconds-scale MACE, resumed after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools import keys
from lizrcl_tools.errors import PresetError
from lizrcl_tools.learn.frames import physical, rattles, select_novel, volume_scans
from lizrcl_tools.learn.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
TEACHER = REPO / "lizrcl_tools" / "data" / "lizrcl_mace_small.model"

TINY = f"""\
seed: 3
teacher: mace:{TEACHER}
generations: 2
structures: [li2zrcl6-p3m1, licl]
generators:
  rattle: {{per_structure: 3, sigma_A: 0.05}}
  volume_scan: {{scales: [0.97, 1.03], sigma_A: 0.02}}
  model_md: {{temperature_K: 600, steps: 20, every: 10, timestep_fs: 1.0}}
filter: {{max_force_eV_A: 30.0}}
select: {{max_frames: 8, min_novelty: 0.0}}
train: {{num_channels: 8, max_L: 0, r_max: 4.0, correlation: 2, num_radial_basis: 4, max_num_epochs: 1,
        batch_size: 4, stage_two: false, ema: false, threads: 1, valid_fraction: 0.25, test_fraction: 0.0}}
"""


def test_recipe_errors_name_the_file_and_the_key(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(TINY)
    recipe = load_recipe(path)
    assert recipe.generations == 2 and recipe.max_frames == 8
    assert recipe.generators["volume_scan"]["scales"] == [0.97, 1.03]
    assert recipe.train["max_num_epochs"] == 1
    bad = {
        "teacher": ("teacher: mace:x\n", "mace:y"),
        "generators.rattl": ("rattle: {per", "rattl: {per"),
        "generators.rattle.sigma_A": ("sigma_A: 0.05}", "sigma_A: -1}"),
        "generators.volume_scan.scales": ("[0.97, 1.03]", "[0.97, zero]"),
        "select.max_frames": ("max_frames: 8", "max_frames: 0"),
        "train.max_epochs": ("max_num_epochs: 1", "max_epochs: 1"),
        "generations": ("generations: 2", "generations: two"),
    }
    for key, (old, new) in bad.items():
        if key == "teacher":
            path.write_text("\n".join(line for line in TINY.splitlines() if not line.startswith("teacher")))
        else:
            assert old in TINY, old
            path.write_text(TINY.replace(old, new))
        with pytest.raises(PresetError, match=f"{path}: key '{key}'"):
            load_recipe(path)


def test_physical_filter_and_novelty_selection():
    cell = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    squeezed = cell.copy()
    squeezed.positions[1] = squeezed.positions[0] + [0.3, 0, 0]  # Li-Cl 0.3 Å: overlapping
    assert physical(cell) and not physical(squeezed)
    labelled = cell.copy()
    labelled.arrays[keys.REF_FORCES] = np.zeros((len(cell), 3))
    labelled.arrays[keys.REF_FORCES][0, 0] = 31.0
    assert physical(labelled, 40.0) and not physical(labelled, 30.0)

    frames = rattles([cell], 4, 0.1, seed=1) + volume_scans([cell], [0.9, 1.1], 0.0, seed=1)
    twins = frames + [f.copy() for f in frames]  # every candidate twice
    chosen = select_novel(twins, [], max_frames=100, min_novelty=1e-9)
    # one of each twin pair, never both: a copy has novelty 0 once its twin is chosen
    assert sorted(i % len(frames) for i in chosen) == list(range(len(frames)))
    # against a pool that already holds them, nothing is novel
    assert select_novel(frames, frames, max_frames=100, min_novelty=1e-9) == []
    # the most novel first: the volume scans differ more from each other than small rattles
    assert set(select_novel(frames, [], max_frames=2, min_novelty=0.0)) & {4, 5}
    assert len(select_novel(frames, [], max_frames=3, min_novelty=0.0)) == 3
    # seeds are recorded and reproduce
    again = rattles([cell], 4, 0.1, seed=1)
    assert all(np.array_equal(a.positions, b.positions) and a.info["seed"] == 1 for a, b in zip(frames, again))


def kill_cli_when(command: list[str], cwd: Path, ready, timeout_s: float, what: str) -> None:
    """Start a CLI in its own process group and SIGKILL the group once ``ready()`` is true.

    Fails with ``what`` when ``ready()`` does not come true within ``timeout_s``, or when the
    command ends by itself before the kill.
    """
    proc = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready() and proc.poll() is None:
            assert time.monotonic() < deadline, f"{what} within {timeout_s:g} s"
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before the kill"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _markers(work: Path) -> dict[str, dict]:
    return {f"{p.parent.name}/{p.stem}": json.loads(p.read_text()) for p in sorted(work.glob("gen_*/*.done"))}


def test_two_generations_end_to_end_resumed_after_a_kill(tmp_path):
    """`lizrcl learn` killed (process group: the driver and its mace training) once generation
    0 is labelled; the same command resumes: stages with a marker do not run again."""
    from ase.io import read

    from lizrcl_tools.dataset.labelling import read_labelled_frames
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.learn.loop import run_learning
    from lizrcl_tools.ssw.fingerprint import fingerprint, fingerprint_distance

    recipe_path = tmp_path / "tiny.yaml"
    # a committee of the previous generation's model and the teacher: skipped in generation 0
    recipe_path.write_text(TINY.replace("max_frames: 8, min_novelty: 0.0", "max_frames: 5, min_novelty: 0.0001, "
                                        "committee: [previous, teacher], min_disagreement_eV_A: 0.001"))
    work = tmp_path / "work"
    kill_cli_when([sys.executable, "-m", "lizrcl_tools", "learn", str(recipe_path), "-o", str(work),
                   "--no-progress"], tmp_path, lambda: (work / "gen_000" / "label.done").exists(),
                  300, "generation 0 was not labelled")
    at_kill = _markers(work)
    assert {"gen_000/generate", "gen_000/select", "gen_000/label"} <= set(at_kill)
    assert "gen_001/generate" not in at_kill

    ran: list[str] = []
    result = run_learning(load_recipe(recipe_path), work, on_stage=lambda g, s: ran.append(f"{g}/{s}"))
    after = _markers(work)
    # nothing finished before the kill ran again; everything else ran exactly once
    assert not set(ran) & set(at_kill)
    assert sorted(ran) == sorted(set(after) - set(at_kill)) and len(ran) == len(set(ran))
    assert all(after[k] == v for k, v in at_kill.items())
    assert len(after) == 10 and result.model_path.is_file()

    # the training pool of generation 1 is both generations' kept frames
    kept = [after[f"gen_00{k}/label"]["n_kept"] for k in (0, 1)]
    assert after["gen_001/train"]["n_pool"] == sum(kept) and min(kept) > 0
    # labels are the teacher's: recompute one frame of each generation
    teacher = get_reference(f"mace:{TEACHER}").calculator
    for k in (0, 1):
        frame = read_labelled_frames(work / f"gen_00{k}" / "labelled.extxyz")[-1]
        probe = frame.copy()
        probe.calc = teacher
        assert frame.info[keys.REF_ENERGY] == pytest.approx(probe.get_potential_energy(), rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(frame.arrays[keys.REF_FORCES], probe.get_forces(), atol=1e-8)
    # generation 1 drove MD with generation 0's model; its selection is novel against generation 0
    assert after["gen_001/generate"]["md_with"] == after["gen_000/train"]["model"]
    pool0 = read(work / "gen_000" / "labelled.extxyz", index=":")
    for atoms in read(work / "gen_001" / "selected.extxyz", index=":"):
        same = [p for p in pool0 if p.get_chemical_formula() == atoms.get_chemical_formula()]
        assert all(fingerprint_distance(fingerprint(atoms), fingerprint(p)) >= 1e-4 for p in same)
    # disagreement selection: skipped without a previous model, then applied, scores reproducible
    from lizrcl_tools.learn.frames import force_disagreement

    assert after["gen_000/select"]["disagreement"]["applied"] is False
    dis = after["gen_001/select"]["disagreement"]
    assert dis["applied"] is True and 0 < dis["n_disagreeing"] <= after["gen_001/select"]["n_physical"]
    selected = read(work / "gen_001" / "selected.extxyz", index=":")
    assert selected and all(a.info["force_disagreement_eV_A"] > 0.001 for a in selected)
    gen0_model = get_reference(f"mace:{after['gen_000/train']['model']}").calculator
    assert force_disagreement(selected[:1], [gen0_model, teacher])[0] == \
        pytest.approx(selected[0].info["force_disagreement_eV_A"], rel=1e-4)
    # a rerun of a finished loop runs nothing
    ran.clear()
    assert run_learning(load_recipe(recipe_path), work, on_stage=lambda g, s: ran.append(s)).model_path == \
        result.model_path
    assert ran == []
