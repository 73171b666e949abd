"""The NVT production cell is the mean cell of the second half of NPT, not its last frame."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lizrcl_tools.lammps_env import new_lammps
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md import run_md
from lizrcl_tools.md.dump import read_dump_frames
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.potential.classical import classical_potential

pytestmark = pytest.mark.lammps

SPEC = classical_potential()
# 27-atom trigonal Li2ZrCl6 (triclinic box), 400 NPT steps with a 200 fs barostat: the
# volume swings by 10-25 % (see test_md.py), so the mean and the last frame differ clearly.
PROTOCOL = MDProtocol(name="test", temperatures_K=(600.0,), n_atoms=None, npt_ps=0.4, nvt_ps=0.02,
                      dump_every=10, chunk_steps=100, thermo_every=50, barostat="couple-xy",
                      pdamp_fs=200.0, seed=4242)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from lizrcl_tools.structures import build

    run_dir = tmp_path_factory.mktemp("cell") / "T600"
    record = run_md(build("li2zrcl6-p3m1"), SPEC, 600.0, run_dir, PROTOCOL, progress=False)
    return run_dir, record


def _dump_cell(path) -> np.ndarray:
    """Cell of the first frame of a triclinic dump, from its bounding-box header."""
    lines = path.read_text().splitlines()
    (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = (
        [float(v) for v in lines[i].split()] for i in (5, 6, 7))
    lx = (xhi_b - xlo_b) - (max(0.0, xy, xz, xy + xz) - min(0.0, xy, xz, xy + xz))
    ly = (yhi_b - ylo_b) - (max(0.0, yz) - min(0.0, yz))
    return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, zhi - zlo]])


def _second_half_mean(run_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.loadtxt(run_dir / "npt_cell.txt", comments="#")
    steps = table[:, 0]
    half = table[(steps >= PROTOCOL.npt_steps / 2) & (steps <= PROTOCOL.npt_steps)]
    lx, ly, lz, xy, xz, yz, _ = half[:, 1:].mean(axis=0)
    mean = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])
    last = table[-1, 1:]
    return mean, np.array([[last[0], 0, 0], [last[3], last[1], 0], [last[4], last[5], last[2]]]), table


def test_nvt_starts_at_the_mean_npt_cell(run):
    run_dir, record = run
    mean, last, table = _second_half_mean(run_dir)
    assert list(table[:, 0]) == list(range(0, PROTOCOL.npt_steps + 1, PROTOCOL.dump_every))
    # The test can tell the two apart: the last NPT frame is far from the mean.
    assert abs(np.linalg.det(last) / np.linalg.det(mean) - 1) > 1e-3
    # Recorded cell, NVT log volume and the first production frame's box: all the mean.
    assert np.allclose(record.cell_A, mean, rtol=0, atol=1e-7)
    assert np.allclose(_dump_cell(run_dir / "nvt.lammpstrj"), mean, rtol=0, atol=1e-7)
    assert record.get("nvt")["volume_mean_A3"] == pytest.approx(np.linalg.det(mean), rel=1e-6)
    # couple xy: the mean of a cell with xy = -lx/2 at every sample keeps gamma = 120°.
    assert mean[1, 0] == pytest.approx(-mean[0, 0] / 2, rel=1e-9)


def test_positions_are_scaled_into_the_mean_cell(run):
    """Fractional coordinates of the last NPT state equal those of the first NVT frame."""
    run_dir, _ = run
    lmp = new_lammps()
    try:
        lmp.commands_list([*inp.header_commands(SPEC), f"read_restart {run_dir / 'npt.restart'}"])
        boxlo, _, *_ = lmp.extract_box()
        from lizrcl_tools.md.phases import current_cell

        cell = current_cell(lmp)
        ids = np.array(lmp.gather_atoms("id", 0, 1))
        x = np.array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3)[np.argsort(ids)]
    finally:
        lmp.close()
    frame = read_dump_frames(run_dir / "nvt.lammpstrj")["positions_A"][0]
    mean, _, _ = _second_half_mean(run_dir)
    frac_npt = np.linalg.solve(cell.T, (x - boxlo).T).T
    frac_nvt = np.linalg.solve(mean.T, (frame - boxlo).T).T
    diff = frac_nvt - frac_npt
    assert np.abs(diff - np.round(diff)).max() < 1e-6


def test_run_json_holds_the_volume_trace_and_its_mean(run):
    run_dir, record = run
    npt = record.npt_cell
    table = np.loadtxt(run_dir / "npt_cell.txt", comments="#")
    assert npt["step"] == [int(s) for s in table[:, 0]]
    assert np.allclose(npt["volume_A3"], table[:, 7], atol=1e-4)
    window = table[table[:, 0] >= PROTOCOL.npt_steps / 2, 7]
    assert npt["window_steps"] == [200, 400] and npt["n_samples"] == len(window) == 21
    assert npt["mean_volume_A3"] == pytest.approx(window.mean(), rel=1e-9)
    assert npt["volume_std_A3"] == pytest.approx(window.std(), rel=1e-9)
    assert np.allclose(npt["mean_cell_A"], record.cell_A, atol=1e-7)


def test_input_file_by_hand_computes_the_same_mean(run, tmp_path, monkeypatch):
    run_dir, _ = run
    for name in ("structure.data", "in.npt.lammps"):
        shutil.copy(run_dir / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    lmp = new_lammps()
    try:
        lmp.file("in.npt.lammps")
    finally:
        lmp.close()

    def numbers(path):
        return np.array([float(w) for w in path.read_text().split() if w[0] in "-0123456789"])

    # Same samples, same formula; the runner's chunked run differs only by round-off.
    assert np.allclose(numbers(tmp_path / inp.MEAN_CELL_FILE), numbers(run_dir / inp.MEAN_CELL_FILE),
                       rtol=0, atol=1e-4)
