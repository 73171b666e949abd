"""Any trajectory format → the same D: run folder, LAMMPS dump with image flags, extxyz,
XDATCAR and DCD of one walk; unwrapping (triclinic, minimum image), refusals, metadata."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from lizrcl_tools.analysis import analyze_run
from lizrcl_tools.analysis.sources import resolve_sources, source_from_file
from lizrcl_tools.analysis.synthetic import grid_random_walk, random_walk, wrap_positions, write_lammps_dump
from lizrcl_tools.analysis.trajectory import read_mobile_trajectory
from lizrcl_tools.errors import ParseError, SetupError

TRICLINIC = np.array([[15.0, 0.0, 0.0], [-7.5, 12.99, 0.0], [0.8, -1.2, 17.5]])
T_K, DT_FS, EVERY = 600.0, 1.0, 10
N_LI, N_FW, N_FRAMES = 64, 14, 400
D_WALK = 1e-4  # cm²/s = 1 Å²/ps: ~3 Å per axis over the run, so many walkers cross the 16 Å box


@pytest.fixture(scope="module")
def walk():
    return grid_random_walk(N_FRAMES, N_LI, N_FW, D_WALK, DT_FS * EVERY / 1000.0, seed=3)


@pytest.fixture(scope="module")
def five_formats(walk, tmp_path_factory):
    """The same frames as a run folder (xu), a dump with x y z ix iy iz, extxyz (unwrapped),
    XDATCAR (wrapped) and DCD (wrapped, float32) with a PDB topology."""
    import ase.io
    import MDAnalysis as mda
    from ase import Atoms
    from MDAnalysis.coordinates.memory import MemoryReader

    positions, types, cell = walk
    tmp = tmp_path_factory.mktemp("formats")
    steps = np.arange(N_FRAMES) * EVERY
    symbols = [("Li", "Zr", "Cl")[t - 1] for t in types]

    run = tmp / "run"
    run.mkdir()
    write_lammps_dump(run / "nvt.lammpstrj", positions, types, cell, steps)
    (run / "run.json").write_text(json.dumps({"temperature_K": T_K, "timestep_fs": DT_FS, "dump_every": EVERY,
                                              "elements": ["Li", "Zr", "Cl"], "mobile": "Li"}))
    write_lammps_dump(tmp / "images.lammpstrj", positions, types, cell, steps, style="images")
    frames = [Atoms(symbols, positions=p, cell=cell, pbc=True) for p in positions]
    ase.io.write(tmp / "walk.extxyz", frames)
    wrapped, _ = wrap_positions(positions, cell)
    ase.io.write(tmp / "XDATCAR", [Atoms(symbols, positions=p, cell=cell, pbc=True) for p in wrapped],
                 format="vasp-xdatcar")
    ase.io.write(tmp / "top.pdb", frames[0])
    universe = mda.Universe(str(tmp / "top.pdb"))
    universe.load_new(wrapped.astype(np.float32), format=MemoryReader, dimensions=[16, 16, 16, 90, 90, 90])
    with mda.Writer(str(tmp / "walk.dcd"), len(symbols)) as writer:
        for _ in universe.trajectory:
            writer.write(universe.atoms)

    flags = dict(timestep_fs=DT_FS, every=EVERY)
    sources = {
        "run folder": resolve_sources([run])[0],
        "dump + image flags": source_from_file(tmp / "images.lammpstrj", T_K, DT_FS, types=["Li", "Zr", "Cl"]),
        "extxyz": source_from_file(tmp / "walk.extxyz", T_K, **flags),
        "XDATCAR": source_from_file(tmp / "XDATCAR", T_K, **flags),
        "DCD": source_from_file(tmp / "walk.dcd", T_K, topology=tmp / "top.pdb", **flags),
    }
    return {name: analyze_run(src, progress=False)[0] for name, src in sources.items()}


def test_five_formats_give_the_same_D(five_formats):
    ref = five_formats["run folder"]
    # the true D within 3 standard errors, and the error bar a sensible fraction of D
    assert abs(ref.D_cm2_s - D_WALK) < 3 * ref.D_err_cm2_s < 0.5 * D_WALK
    assert ref.n_frames == N_FRAMES and ref.n_mobile == N_LI
    for name, result in five_formats.items():
        assert result.n_frames == N_FRAMES, name
        assert result.frame_interval_ps == pytest.approx(0.01, rel=1e-12), name
        assert result.D_cm2_s == pytest.approx(ref.D_cm2_s, rel=1e-9, abs=0), name
        assert result.D_err_cm2_s == pytest.approx(ref.D_err_cm2_s, rel=1e-9, abs=0), name
        assert result.D_z_cm2_s == pytest.approx(ref.D_z_cm2_s, rel=1e-9, abs=0), name
        assert result.volume_A3 == pytest.approx(16.0**3, rel=1e-9, abs=0), name
    conventions = {name: r.coordinates for name, r in five_formats.items()}
    assert conventions == {"run folder": "unwrapped", "dump + image flags": "image flags", "extxyz": "minimum image",
                           "XDATCAR": "minimum image", "DCD": "minimum image"}
    assert five_formats["DCD"].metadata["timestep_fs"] == "flag --timestep-fs"


def test_triclinic_wrapped_dump_unwraps_to_the_true_path(tmp_path):
    rng = np.random.default_rng(7)
    n_frames, n_atoms = 300, 20
    start = rng.random((n_atoms, 3)) @ TRICLINIC
    true = start + random_walk(n_frames, n_atoms, 2e-4, 0.01, rng)  # ~0.2 Å per frame, ~4 Å per axis in all
    assert np.ptp(true @ np.linalg.inv(TRICLINIC), axis=0).max() > 0.3  # the paths do cross cell faces
    path = write_lammps_dump(tmp_path / "wrapped.lammpstrj", true, [1] * 10 + [2] * 10, TRICLINIC,
                             steps=np.arange(n_frames) * 5, style="wrapped")
    src = source_from_file(path, 500.0, 1.0, types=["Li", "Cl"])
    traj = read_mobile_trajectory(src, drift_correct=False, progress=False)
    assert traj.coordinates == "minimum image"
    got = traj.positions_A - traj.positions_A[0]
    np.testing.assert_allclose(got, true[:, :10] - true[0, :10], atol=2e-5)
    assert traj.box_volume_A3 == pytest.approx(abs(np.linalg.det(TRICLINIC)), rel=1e-6)
    # gzip-compressed, and scaled coordinates with image flags (the case MDAnalysis 2.11 gets wrong)
    gz = tmp_path / "wrapped.lammpstrj.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    again = read_mobile_trajectory(source_from_file(gz, 500.0, 1.0, types=["Li", "Cl"]), drift_correct=False,
                                   progress=False)
    np.testing.assert_array_equal(again.positions_A, traj.positions_A)
    scaled = write_lammps_dump(tmp_path / "scaled.lammpstrj", true, [1] * 10 + [2] * 10, TRICLINIC,
                               steps=np.arange(n_frames) * 5, style="scaled")
    traj = read_mobile_trajectory(source_from_file(scaled, 500.0, 1.0, types=["Li", "Cl"]), drift_correct=False,
                                  progress=False)
    assert traj.coordinates == "image flags"
    np.testing.assert_allclose(traj.positions_A, true[:, :10], atol=1e-7)


def test_frames_too_far_apart_are_refused_with_the_fix(tmp_path):
    rng = np.random.default_rng(1)
    start = rng.random((8, 3)) * 16
    # 40 Å²/ps over 0.5 ps frames: ~6 Å steps per axis in a 16 Å box
    true = start + random_walk(50, 8, 4e-3, 0.5, rng)
    path = write_lammps_dump(tmp_path / "far.lammpstrj", true, [1] * 8, np.eye(3) * 16, steps=np.arange(50) * 500,
                             style="wrapped")
    with pytest.raises(ParseError, match=r"far\.lammpstrj: frame \d+ .*cannot be unwrapped safely.*"
                                         r"Fix: store frames more often"):
        read_mobile_trajectory(source_from_file(path, 600.0, 1.0, types=["Li"]), progress=False)


def test_missing_metadata_names_the_flag(tmp_path, walk):
    import ase.io
    from ase import Atoms

    positions, types, cell = walk
    dump = write_lammps_dump(tmp_path / "a.lammpstrj", positions[:30], types, cell, steps=np.arange(30) * 10)
    with pytest.raises(SetupError, match="pass --temperature K"):
        source_from_file(dump, timestep_fs=1.0)
    with pytest.raises(SetupError, match="pass --timestep-fs DT"):
        source_from_file(dump, temperature_K=600.0)
    with pytest.raises(SetupError, match=r"pass --types .* e\.g\. --types Li,Zr,Cl"):
        read_mobile_trajectory(source_from_file(dump, 600.0, 1.0), progress=False)
    xyz = tmp_path / "a.extxyz"
    ase.io.write(xyz, [Atoms("Li2", positions=p[:2], cell=cell, pbc=True) for p in positions[:5]])
    with pytest.raises(SetupError, match="pass --every N"):
        source_from_file(xyz, 600.0, 1.0)
    (tmp_path / "a.dcd").write_bytes(b"")
    with pytest.raises(SetupError, match="pass --topology FILE"):
        source_from_file(tmp_path / "a.dcd", 600.0, 1.0, every=1)
    with pytest.raises(SetupError, match="pass --format"):
        source_from_file(_touch(tmp_path / "a.bin"), 600.0, 1.0, every=1)
    # one temperature per file, in order; run folders and files mix
    both = resolve_sources([dump, xyz], [600.0, 700.0], timestep_fs=1.0, every=10)
    assert [(b.temperature_K, b.format, b.every) for b in both] == [(600.0, "lammpsdump", 10), (700.0, "extxyz", 10)]
    with pytest.raises(SetupError, match="one per trajectory"):
        resolve_sources([dump, xyz], [600.0, 700.0, 800.0], timestep_fs=1.0, every=1)


def _touch(path):
    path.write_bytes(b"")
    return path


def test_vasprun_metadata_from_the_file(vasp_fixture):
    src = source_from_file(vasp_fixture("LGPS_aimd.vasprun.xml.gz"))
    assert (src.temperature_K, src.timestep_fs, src.every, src.n_frames_expected) == (800.0, 2.0, 1, 300)
    assert src.origin["temperature_K"] == "vasprun.xml TEBEG" and src.origin["timestep_fs"] == "vasprun.xml POTIM"
    with pytest.raises(SetupError, match="--timestep-fs 1 contradicts vasprun.xml POTIM"):
        source_from_file(vasp_fixture("LGPS_aimd.vasprun.xml.gz"), timestep_fs=1.0)
