"""Climbing-image NEB: an analytic 2D surface, a symmetric vacancy hop in LAMMPS, VASP NEB folders."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from lizrcl_tools.neb.band import interpolate_band, run_neb

A_EV = 0.5  # barrier height of the curved double well, eV
B_EV_A2 = 2.0  # valley stiffness, eV/Å²
C_PER_A = 0.6  # valley curvature y = C x², 1/Å


class CurvedDoubleWell(Calculator):
    """E(x, y) = A (x² − 1)² + B (y − C x²)² for atom 0 (eV, Å); z and other atoms are free.

    Minima at (±1, C) with E = 0; the valley y = C x² carries E = A (x² − 1)², so the minimum
    energy path is that parabola and its saddle is (0, 0) with E = A exactly. The straight
    line between the minima (y = C) misses the saddle: the band has to bend.
    """

    implemented_properties = ("energy", "forces")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y = self.atoms.positions[0, :2]
        u = y - C_PER_A * x**2
        energy = A_EV * (x**2 - 1) ** 2 + B_EV_A2 * u**2
        forces = np.zeros((len(self.atoms), 3))
        forces[0, 0] = -(4 * A_EV * x * (x**2 - 1) - 4 * B_EV_A2 * C_PER_A * x * u)
        forces[0, 1] = -(2 * B_EV_A2 * u)
        self.results = {"energy": energy, "forces": forces}


def _point(x: float, y: float) -> Atoms:
    return Atoms("H", positions=[[x, y, 0.0]], cell=[20, 20, 20], pbc=False)


def test_climbing_image_finds_the_analytic_saddle_of_a_curved_valley():
    # Endpoints start off the minima: the orchestration must relax them first.
    result = run_neb(_point(-0.8, 0.2), _point(1.1, 0.9), CurvedDoubleWell(), n_images=7, fmax=0.01,
                     max_steps=1000)
    assert result.converged
    assert result.energies_eV[0] == pytest.approx(0.0, abs=1e-4)
    assert result.energies_eV[-1] == pytest.approx(0.0, abs=1e-4)
    assert result.images[0].positions[0, :2] == pytest.approx([-1.0, C_PER_A], abs=0.02)
    assert result.barrier_eV == pytest.approx(A_EV, abs=0.005)
    assert result.reaction_energy_eV == pytest.approx(0.0, abs=0.005)
    # The climbing image is the band's maximum and sits on the saddle point (0, 0).
    ci = result.images[result.climbing_image]
    assert result.climbing_image == int(np.argmax(result.energies_eV))
    assert ci.positions[0, :2] == pytest.approx([0.0, 0.0], abs=0.03)
    # The band bent away from the straight line y = C (up to 0.6 Å off the valley) onto the
    # parabola (within the corner cutting of 7 images on a curved path).
    for image in result.images[1:-1]:
        x, y = image.positions[0, :2]
        assert y == pytest.approx(C_PER_A * x**2, abs=0.1)


def test_without_climbing_the_band_misses_the_saddle_energy_from_below():
    # Two moving images straddle the saddle; only climbing puts one on it.
    plain = run_neb(_point(-1, C_PER_A), _point(1, C_PER_A), CurvedDoubleWell(), n_images=4, fmax=0.01,
                    climb=False, max_steps=1000)
    climbed = run_neb(_point(-1, C_PER_A), _point(1, C_PER_A), CurvedDoubleWell(), n_images=4, fmax=0.01,
                      max_steps=1000)
    assert plain.barrier_eV < A_EV - 0.05
    assert climbed.barrier_eV == pytest.approx(A_EV, abs=0.005)


def test_waypoint_band_passes_through_the_waypoint():
    a, b = _point(-1, C_PER_A), _point(1, C_PER_A)
    band = interpolate_band(a, b, 7, method="linear", via=np.array([0.0, -2.0, 0.0]), mover=0)
    assert len(band) == 7
    assert band[3].positions[0] == pytest.approx([0.0, -2.0, 0.0])
    assert band[0].positions[0] == pytest.approx(a.positions[0])
    assert band[-1].positions[0] == pytest.approx(b.positions[0])


def test_vasp_neb_folders_round_trip_the_endpoints(tmp_path):
    from ase.io import read

    from lizrcl_tools.structures import build
    from lizrcl_tools.vasp.neb_folders import write_vasp_neb

    initial = build("licl", repeat=(2, 1, 1))
    del initial[0]  # a Li vacancy; Li 1 hops into it
    final = initial.copy()
    final.positions[0] = build("licl", repeat=(2, 1, 1)).positions[0]
    band = interpolate_band(initial, final, 5, method="linear")
    folder = write_vasp_neb(band, tmp_path / "neb", potcar="spec")
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["00", "01", "02", "03", "04"]
    incar = (folder / "INCAR").read_text()
    assert "IMAGES = 3" in incar and "SPRING = -5" in incar and "ISIF = 2" in incar
    for k, ref in ((0, initial), (4, final), (2, band[2])):
        got = read(folder / f"{k:02d}" / "POSCAR", format="vasp")
        assert got.get_chemical_symbols() == ref.get_chemical_symbols()
        assert got.cell[:] == pytest.approx(ref.cell[:], abs=1e-10)
        assert got.get_scaled_positions(wrap=True) == pytest.approx(ref.get_scaled_positions(wrap=True), abs=1e-10)
    with pytest.raises(Exception, match="exists"):
        write_vasp_neb(band, folder, potcar="spec")


def _licl_vacancy_hop(a: float | None = None):
    """Rocksalt LiCl (2×2×2, 63 atoms; default: the toy potential's lattice, Å) with a Li vacancy."""
    from lizrcl_tools.ssw.toy import ROCKSALT_A
    from lizrcl_tools.structures import build

    perfect = build("licl", a=a or ROCKSALT_A, repeat=(2, 2, 2))
    li = [i for i, s in enumerate(perfect.get_chemical_symbols()) if s == "Li"]
    d = perfect.get_distances(li[0], li[1:], mic=True)
    neighbour = li[1 + int(np.argmin(d))]  # a nearest Li, a/√2 away
    site = perfect.positions[li[0]].copy()
    initial = perfect.copy()
    del initial[li[0]]
    mover = neighbour - 1
    final = initial.copy()
    final.positions[mover] = site
    return initial, final, mover


def test_symmetric_vacancy_hop_in_lammps_matches_a_constrained_relaxation_on_the_mirror_plane():
    from ase.constraints import FixedPlane
    from ase.geometry import find_mic
    from ase.optimize import BFGS

    from lizrcl_tools.neb.workflow import engine_calculator
    from lizrcl_tools.ssw.toy import toy_licl_potential

    initial, final, mover = _licl_vacancy_hop()
    spec = toy_licl_potential()
    calc = engine_calculator(spec, initial)
    try:
        result = run_neb(initial, final, calc, n_images=5, fmax=0.01, max_steps=400)
        # Independent path to the saddle energy: the hop's mirror plane holds the saddle, which is
        # the lowest point of that plane; relax everything with the Li held in the plane.
        plane = initial.copy()
        hop, _ = find_mic(final.positions[mover] - initial.positions[mover], initial.cell, True)
        plane.positions[mover] += hop / 2
        plane.set_constraint(FixedPlane(mover, hop))
        plane.calc = calc
        BFGS(plane, logfile=None).run(fmax=0.005, steps=500)
        e_plane = plane.get_potential_energy()
    finally:
        calc.engine.close()
    assert result.converged
    assert result.force_calls > 0
    assert result.reaction_energy_eV == pytest.approx(0.0, abs=1e-3)  # the endpoints are symmetry images
    assert result.climbing_image == 2 == int(np.argmax(result.energies_eV))
    ci, _ = find_mic(result.images[2].positions[mover] - initial.positions[mover], initial.cell, True)
    assert np.dot(ci, hop) / np.dot(hop, hop) == pytest.approx(0.5, abs=0.02)
    assert result.barrier_eV > 0.1
    assert result.barrier_eV == pytest.approx(e_plane - result.energies_eV[0], abs=0.005)


def test_cli_neb_writes_profile_json_and_vasp_folders(tmp_path):
    import json

    from ase.io import read, write

    from lizrcl_tools.cli import run

    initial, final, mover = _licl_vacancy_hop(a=5.13)  # the experimental lattice
    write(tmp_path / "is.extxyz", initial)
    write(tmp_path / "fs.extxyz", final)
    out = tmp_path / "out"
    args = ["neb", str(tmp_path / "is.extxyz"), str(tmp_path / "fs.extxyz"), "-o", str(out), "--name", "hop",
            "--potential", "classical", "--images", "5", "--fmax", "0.05"]
    assert run(args) == 0
    record = json.loads((out / "hop.json").read_text())
    for key in ("path", "barrier_eV", "reaction_energy_eV", "potential", "images", "force_tolerance_eV_A",
                "converged"):
        assert key in record
    assert record["potential"]["name"] == "bmh-dsf" and record["force_tolerance_eV_A"] == 0.05
    assert record["converged"] and record["max_force_eV_A"] < 0.05
    assert record["reaction_energy_eV"] == pytest.approx(0.0, abs=2e-3)  # symmetric hop
    energies = [im["energy_eV"] for im in record["images"]]
    assert record["barrier_eV"] == pytest.approx(max(energies) - energies[0])
    assert (out / "hop.png").stat().st_size > 1000
    band = read(out / "hop.extxyz", index=":")
    first = read(out / "hop_vasp" / "00" / "POSCAR", format="vasp")
    last = read(out / "hop_vasp" / "04" / "POSCAR", format="vasp")
    for poscar, ref in ((first, band[0]), (last, band[-1])):
        d = poscar.get_scaled_positions() - ref.get_scaled_positions()
        assert np.abs((d + 0.5) % 1.0 - 0.5).max() < 1e-8
    assert record["barrier_eV"] > 0.1
    with pytest.raises(Exception, match="exists"):
        run(args)


def test_teacher_profile_adds_the_models_dispersion_part_to_the_teacher():
    from ase.calculators.lj import LennardJones

    from lizrcl_tools.md.setup import resolve_potential
    from lizrcl_tools.neb.teacher import model_energies, teacher_profile

    initial, final, _ = _licl_vacancy_hop(a=5.13)
    band = interpolate_band(initial, final, 3, method="linear")
    bare = resolve_potential("classical")
    e_bare = model_energies(band, bare)
    d3_part = np.array([0.0, -0.1, 0.05])  # what a dispersion overlay would add, eV
    out = teacher_profile(band, e_bare + d3_part, bare_spec=bare, reference="toy-lj")
    lj = []
    for image in band:
        atoms = image.copy()
        atoms.calc = LennardJones(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
        lj.append(atoms.get_potential_energy())
    lj = np.array(lj) - lj[0]
    assert out["relative_energies_eV"] == pytest.approx(lj, abs=1e-9)
    assert out["barrier_eV"] == pytest.approx(lj.max())
    assert out["bare_model"]["relative_energies_eV"] == pytest.approx(e_bare - e_bare[0], abs=1e-9)
    assert out["with_model_d3"]["relative_energies_eV"] == pytest.approx(lj + d3_part, abs=1e-9)
