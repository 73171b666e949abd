"""``lizrcl data frames``: snapshots of md run folders, checked against the dump read independently."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from ase.spacegroup import crystal

from lizrcl_tools.analysis.frames import extract_frames, run_frames, select_frames
from lizrcl_tools.errors import LizrclWarning, SetupError
from lizrcl_tools.md import run_md
from lizrcl_tools.md.dump import read_dump_frames
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.potential.classical import classical_potential

pytestmark = pytest.mark.lammps


@pytest.fixture(scope="module")
def trigonal_run(tmp_path_factory):
    """A triclinic (gamma = 120°) LiCl cell, 54 atoms, 0.1 ps NPT + 0.1 ps NVT at 900 K, frames
    every 10 fs: atoms leave the cell, so the dump's unwrapped coordinates differ from wrapped."""
    a = 5.07
    atoms = crystal(["Li", "Cl"], [(0, 0, 0), (0, 0, 0.5)], spacegroup=166,
                    cellpar=[a / np.sqrt(2), a / np.sqrt(2), a * np.sqrt(3), 90, 90, 120]).repeat((3, 3, 1))
    protocol = MDProtocol(name="test", temperatures_K=(900.0,), n_atoms=None, npt_ps=0.1, nvt_ps=0.1,
                          dump_every=10, chunk_steps=100, thermo_every=50, barostat="couple-xy",
                          seed=7)
    run_dir = tmp_path_factory.mktemp("frames") / "T900"
    with warnings.catch_warnings():  # 0.1 ps from a perfect crystal: mean T far below 900 K
        warnings.simplefilter("ignore", LizrclWarning)
        run_md(atoms, classical_potential(), 900.0, run_dir, protocol, progress=False)
    return run_dir


def test_frames_round_trip_against_the_dump(trigonal_run):
    frames = run_frames(trigonal_run, n=5)
    record = json.loads((trigonal_run / "run.json").read_text())
    dump = read_dump_frames(trigonal_run / "nvt.lammpstrj")
    cell = np.array(record["cell_A"])
    # 0.1 ps in 10 frame intervals of 10 fs: the ends of 5 equal parts are steps 20, 40, ..., 100
    assert [f.info["md_step"] for f in frames] == [20, 40, 60, 80, 100]
    assert [f.info["time_ps"] for f in frames] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.10])
    # box origin of the (constant) NVT box, from the dump's restricted-triclinic bounds
    lines = (trigonal_run / "nvt.lammpstrj").read_text().splitlines()
    (xlo_b, _, xy), (ylo_b, _, xz), (zlo, _, yz) = ([float(v) for v in ln.split()] for ln in lines[5:8])
    origin = np.array([xlo_b - min(0.0, xy, xz, xy + xz), ylo_b - min(0.0, yz), zlo])
    moved_out = 0
    for atoms in frames:
        k = int(np.flatnonzero(dump["steps"] == atoms.info["md_step"])[0])
        assert np.allclose(atoms.cell[:], cell, atol=1e-6)  # NVT box = run.json's cell
        assert atoms.get_chemical_symbols() == [record["elements"][t - 1] for t in dump["types"][k]]
        frac = atoms.cell.scaled_positions(atoms.positions)
        assert frac.min() >= 0.0 and frac.max() < 1.0  # wrapped into the cell
        # the dump's unwrapped points, taken to the cell's origin, differ by whole lattice vectors
        shift = np.linalg.solve(cell.T, (dump["positions_A"][k] - origin - atoms.positions).T).T
        assert np.abs(shift - np.round(shift)).max() < 1e-6
        moved_out += int(np.any(np.round(shift) != 0))
        assert atoms.info["temperature_K"] == 900.0
        assert atoms.info["run_status"] == "complete"
        assert atoms.info["config_type"] == "md_T900"
    assert moved_out > 0  # the wrapping was exercised


def test_frame_selection_modes():
    times = np.arange(0, 61) * 0.05  # 3 ps, one frame per 50 fs
    assert select_frames(times, n=3) == [20, 40, 60]
    assert select_frames(times, every_ps=1.0) == [20, 40, 60]
    assert select_frames(times, every_ps=1.0, start_ps=0.5) == [30, 50]
    drawn = select_frames(times, random=5, seed=3)
    assert drawn == select_frames(times, random=5, seed=3) and len(set(drawn)) == 5
    assert 0 not in drawn
    with pytest.raises(SetupError, match="exactly one"):
        select_frames(times, n=3, every_ps=1.0)
    with pytest.raises(SetupError, match="--seed"):
        select_frames(times, random=2)
    with pytest.raises(SetupError, match="only"):
        select_frames(times, every_ps=5.0)


def test_cli_data_frames(trigonal_run, tmp_path):
    import ase.io

    from lizrcl_tools.cli import run

    out = tmp_path / "frames.extxyz"
    assert run(["data", "frames", str(trigonal_run), "--every-ps", "0.05", "-o", str(out)]) == 0
    back = ase.io.read(out, index=":")
    assert [a.info["md_step"] for a in back] == [50, 100]
    assert back[1].info["source"].endswith("nvt.lammpstrj")
    direct = run_frames(trigonal_run, every_ps=0.05)
    assert np.allclose(back[1].positions, direct[1].positions)
    with pytest.raises(SetupError, match="--force"):
        extract_frames([trigonal_run], out, n=2)
