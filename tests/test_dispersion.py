"""Grimme D3 dispersion overlaid on the potentials (LAMMPS ``pair_style dispersion/d3``).

Checked against two independent paths: the Grimme group's own D3 library (``dftd3``, the
simple-dftd3 Python API) on the same cell with the same cutoffs, and finite differences of
the overlay's energy (forces and stress). The MACE part uses the tiny random model of
``test_plugin.py``; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.units import Bohr, GPa, Hartree

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.classical import classical_potential
from lizrcl_tools.potential.dispersion import D3, d3_settings, dispersion_of, overlay_dispersion

pytestmark = pytest.mark.lammps

ELEMENTS = ("Li", "Zr", "Cl")
CUTOFFS = (12.0, 8.0)  # Å, two-body and CN: short enough for fast tests, long enough to matter


def d3_only(d3: D3) -> PotentialSpec:
    """The D3 term alone: overlaid on ``pair_style zero`` (no interaction of its own)."""
    zero = PotentialSpec(name="zero", elements=ELEMENTS, commands=("pair_style zero 4.0", "pair_coeff * *"))
    return overlay_dispersion(zero, d3)


def rattled_cell(seed: int = 3, n_atoms: int = 27):
    """The ideal P-3m1 Li2ZrCl6 cell, strained (triclinic) and rattled by 0.1 Å."""
    from lizrcl_tools.structures import build

    atoms = build("li2zrcl6-p3m1", n_atoms=n_atoms)
    rng = np.random.default_rng(seed)
    strain = np.eye(3) + 0.02 * rng.standard_normal((3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    atoms.positions += 0.1 * rng.standard_normal(atoms.positions.shape)
    return atoms


def lammps_result(atoms, spec: PotentialSpec) -> dict:
    from lizrcl_tools.potential.mace_plugin import make_lammps, single_point

    lmp = make_lammps(atoms, spec)
    try:
        return single_point(lmp, atoms)
    finally:
        lmp.close()


# --- the spec ------------------------------------------------------------------------------


def test_overlay_rewrites_a_plain_pair_style_and_records_the_parameters():
    d3 = D3("bj", "pbe", 15.0, 10.0)
    spec = classical_potential(dispersion=d3)
    assert spec.commands[0] == "pair_style hybrid/overlay born/coul/dsf 0.2 10.0 dispersion/d3 BJ pbe 15 10"
    coeffs = [c for c in spec.commands if c.startswith("pair_coeff")]
    assert all(c.split()[3] in ("born/coul/dsf", "dispersion/d3") for c in coeffs)
    assert coeffs[-1] == "pair_coeff * * dispersion/d3 Li Zr Cl"
    assert "pair_modify pair born/coul/dsf shift yes" in spec.commands
    assert spec.name == "bmh-dsf+d3bj" and dispersion_of(spec) == "d3bj"
    meta = spec.metadata["dispersion"]
    assert meta["parameters"] == {"s6": 1.0, "s8": 0.7875, "a1": 0.4289, "a2_bohr": 4.4407, "s9": 0.0}
    assert (meta["cutoff_A"], meta["cn_cutoff_A"], meta["functional"]) == (15.0, 10.0, "pbe")
    # run.json stores spec.to_dict(): the record survives JSON and rebuilds the same spec.
    assert PotentialSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    # Charges still follow the pair lines (all_commands), untouched.
    assert spec.all_commands()[-3:] == classical_potential().all_commands()[-3:]


def test_overlay_onto_hybrid_overlay_and_refusals():
    hybrid = PotentialSpec(
        name="m", elements=ELEMENTS,
        commands=("pair_style hybrid/overlay zero 4.0 zbl 1.0 1.6", "pair_coeff * * zero", "pair_coeff 1 1 zbl 3 3"),
    )
    spec = overlay_dispersion(hybrid, "d3zero")
    assert spec.commands[0].startswith("pair_style hybrid/overlay zero 4.0 zbl 1.0 1.6 dispersion/d3 ZERO pbe ")
    assert spec.commands[1:3] == hybrid.commands[1:3]
    assert overlay_dispersion(hybrid, None).metadata["dispersion"] == {"method": "none"}
    with pytest.raises(SetupError, match="already has dispersion d3zero"):
        overlay_dispersion(spec, "d3bj")
    with pytest.raises(SetupError, match="hybrid/overlay"):
        overlay_dispersion(PotentialSpec("h", ELEMENTS, ("pair_style hybrid zero 4.0",)), "d3bj")
    with pytest.raises(SetupError, match="unknown dispersion 'd4'"):
        d3_settings("d4")
    with pytest.raises(SetupError, match="CN cutoff <= two-body cutoff"):
        D3("bj", "pbe", 10.0, 12.0)
    with pytest.raises(SetupError, match="not supported"):
        D3("bj", "b3-lyp")


def test_neighbor_limits_hold_the_real_neighbour_count():
    """``neigh_modify one`` must exceed the largest full neighbour list of a real cell."""
    from ase.neighborlist import neighbor_list

    from lizrcl_tools.structures import build

    atoms = build("li2zrcl6-p3m1", n_atoms=54)
    for cutoff in (15.0, 30.0):
        d3 = D3("bj", "pbe", cutoff, 10.0)
        one, page = d3.neighbor_limits()
        i = neighbor_list("i", atoms, cutoff + 2.0)  # skin 2 Å (SSW)
        assert np.bincount(i).max() < one <= page / 10
    assert D3("bj", "pbe", 30.0, 20.0).neighbor_limits()[0] > 2000  # LAMMPS's default overflows


# --- D3 values against the reference implementation ---------------------------------------


@pytest.mark.parametrize("damping", ["bj", "zero"])
def test_d3_matches_the_reference_library(damping):
    """LAMMPS D3 through the overlay (overlay minus the classical potential alone) equals the
    ``dftd3`` library's two-body D3 (s9 = 0) with the same cutoffs, on a strained, rattled
    Li2ZrCl6 cell: energy, forces and stress."""
    interface = pytest.importorskip("dftd3.interface")
    atoms = rattled_cell()
    d3 = D3(damping, "pbe", *CUTOFFS)
    base = lammps_result(atoms, classical_potential())
    both = lammps_result(atoms, classical_potential(dispersion=d3))

    model = interface.DispersionModel(atoms.numbers, atoms.positions / Bohr, atoms.cell.array / Bohr,
                                      np.array([True, True, True]))
    model.set_realspace_cutoff(CUTOFFS[0] / Bohr, CUTOFFS[0] / Bohr, CUTOFFS[1] / Bohr)
    p = d3.parameters
    if damping == "bj":
        param = interface.RationalDampingParam(s6=p["s6"], s8=p["s8"], a1=p["a1"], a2=p["a2_bohr"], s9=0.0)
    else:
        param = interface.ZeroDampingParam(s6=p["s6"], s8=p["s8"], rs6=p["rs6"], rs8=p["rs8"],
                                           alp=p["alpha6"], s9=0.0)
    ref = model.get_dispersion(param, grad=True)
    e_ref = ref["energy"] * Hartree
    f_ref = -ref["gradient"] * Hartree / Bohr
    s_ref = ref["virial"] * Hartree / atoms.get_volume()  # dE/d(strain) / V, ASE stress sign
    s_ref = s_ref[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]

    n = len(atoms)
    assert abs(e_ref) / n > 0.05  # a real correction (eV/atom), not a vanishing one
    # LAMMPS sums coordination numbers in single precision (expf) and uses slightly
    # different Bohr/Hartree constants: agreement to ~1e-6 relative.
    assert (both["energy"] - base["energy"]) == pytest.approx(e_ref, rel=5e-6)
    np.testing.assert_allclose(both["forces"] - base["forces"], f_ref, atol=1e-5)
    np.testing.assert_allclose((both["stress"] - base["stress"]) / GPa, s_ref / GPa, atol=1e-4)


def test_d3_cutoffs_change_the_reference_the_same_way():
    """Shorter cutoffs change LAMMPS's D3 energy by what they change the reference's by (the
    comparison above is not blind to the cutoff)."""
    interface = pytest.importorskip("dftd3.interface")
    atoms = rattled_cell(seed=8)
    energies = {}
    for cutoffs in ((12.0, 8.0), (8.0, 6.0)):
        lmp_e = lammps_result(atoms, d3_only(D3("bj", "pbe", *cutoffs)))["energy"]
        model = interface.DispersionModel(atoms.numbers, atoms.positions / Bohr, atoms.cell.array / Bohr,
                                          np.array([True, True, True]))
        model.set_realspace_cutoff(cutoffs[0] / Bohr, cutoffs[0] / Bohr, cutoffs[1] / Bohr)
        ref = model.get_dispersion(interface.RationalDampingParam(method="pbe", atm=False), grad=False)
        energies[cutoffs] = (lmp_e, ref["energy"] * Hartree)
    (l12, r12), (l8, r8) = energies[(12.0, 8.0)], energies[(8.0, 6.0)]
    assert abs(l12 - l8) > 1e-3
    assert (l12 - l8) == pytest.approx(r12 - r8, rel=1e-4)


# --- the overlay on MACE -----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_mace(tmp_path_factory):
    """Tiny random float64 MACE model of test_plugin.py, exported into a private cache."""
    import mace.modules  # noqa: F401  (before e3nn)

    from lizrcl_tools.potential import plugin_build

    try:
        plugin_build.ensure_plugin()
    except SetupError as exc:
        pytest.skip(f"MACE LAMMPS plugin cannot be built here: {exc}")
    from test_plugin import build_tiny_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIZRCL_MODEL_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        yield build_tiny_model(tmp_path_factory.mktemp("mace") / "tiny.model")


def mace_spec(model: Path, dispersion=None, mode: str = "single") -> PotentialSpec:
    from lizrcl_tools.potential.mace_plugin import mace_potential

    return mace_potential(model, ELEMENTS, dtype="float64", mode=mode, dispersion=dispersion)


def test_overlay_on_mace_is_mace_plus_d3(tiny_mace):
    """hybrid/overlay adds exactly: MACE + D3 = (MACE alone) + (D3 alone)."""
    atoms = rattled_cell(seed=5)
    d3 = D3("bj", "pbe", *CUTOFFS)
    spec = mace_spec(tiny_mace, d3)
    assert spec.commands[0].startswith("pair_style hybrid/overlay mace/lizrcl no_domain_decomposition dispersion/d3")
    both = lammps_result(atoms, spec)
    parts = [lammps_result(atoms, s) for s in (mace_spec(tiny_mace), d3_only(d3))]
    assert both["energy"] == pytest.approx(parts[0]["energy"] + parts[1]["energy"], abs=1e-8)
    np.testing.assert_allclose(both["forces"], parts[0]["forces"] + parts[1]["forces"], atol=1e-8)
    np.testing.assert_allclose(both["stress"], parts[0]["stress"] + parts[1]["stress"], atol=1e-9)


def test_overlay_on_mace_small_cell_equals_its_supercell(tiny_mace):
    """Periodic images: the 27-atom cell (smaller than both D3 cutoffs and 2 r_max) and its
    2×2×2 supercell give the same energy per atom, forces and stress."""
    atoms = rattled_cell(seed=6)
    spec = mace_spec(tiny_mace, D3("bj", "pbe", *CUTOFFS))
    small = lammps_result(atoms, spec)
    big = lammps_result(atoms.repeat(2), spec)
    n = len(atoms)
    assert big["energy"] / (8 * n) == pytest.approx(small["energy"] / n, abs=1e-7)
    np.testing.assert_allclose(big["forces"][:n], small["forces"], atol=1e-6)
    np.testing.assert_allclose(big["stress"], small["stress"], atol=1e-8)


def test_overlay_forces_and_stress_are_energy_derivatives(tiny_mace):
    """Central finite differences of the overlay's energy: forces and stress.

    D3's cutoffs are hard (energy jumps where a pair crosses 12 Å or 8 Å), so the steps are
    small enough (1e-5 Å, strain 1e-6) that no pair of this cell crosses a cutoff, which is
    checked, rather than assumed."""
    from ase.neighborlist import neighbor_list

    atoms = rattled_cell(seed=7)
    spec = mace_spec(tiny_mace, D3("bj", "pbe", *CUTOFFS))
    res = lammps_result(atoms, spec)
    h, eps = 1e-5, 1e-6
    d = neighbor_list("d", atoms, CUTOFFS[0] + 0.5)
    assert min(np.abs(d - c).min() for c in CUTOFFS) > 2 * max(h, eps * CUTOFFS[0])
    for index, axis in ((0, 0), (5, 2), (20, 1)):
        e = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[index, axis] += sign * h
            e.append(lammps_result(moved, spec)["energy"])
        assert -(e[0] - e[1]) / (2 * h) == pytest.approx(res["forces"][index, axis], abs=1e-5)
    for voigt, (i, j) in ((2, (2, 2)), (5, (0, 1))):
        e = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[i, j] += sign * eps / (1 if i == j else 2)
            strain[j, i] += 0 if i == j else sign * eps / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ strain, scale_atoms=True)
            e.append(lammps_result(strained, spec)["energy"])
        stress = (e[0] - e[1]) / (2 * eps) / atoms.get_volume()
        assert stress == pytest.approx(res["stress"][voigt], abs=1e-7)  # eV/Å³ (16 kPa)


def test_resolve_potential_records_dispersion():
    from lizrcl_tools.commands.ssw import load_potential
    from lizrcl_tools.md.setup import resolve_potential

    plain = resolve_potential("classical")
    assert plain.metadata["dispersion"] == {"method": "none"}
    spec = resolve_potential("classical", dispersion="d3bj", d3_cutoff_A=20.0, d3_cn_cutoff_A=12.0)
    assert "dispersion/d3 BJ pbe 20 12" in spec.commands[0]
    assert spec.metadata["dispersion"]["method"] == "d3bj"
    assert load_potential("classical", None, "d3zero").metadata["dispersion"]["damping"] == "zero"
    assert dispersion_of(load_potential("toy-licl", None, "d3bj")) == "d3bj"


def test_dispersion_options_of_md_conductivity_and_ssw():
    """The three commands parse the same options into the same spec (no run)."""
    from lizrcl_tools.cli import build_parser
    from lizrcl_tools.commands.md import dispersion_kwargs
    from lizrcl_tools.md.setup import resolve_potential
    from lizrcl_tools.potential.dispersion import DEFAULT_DISPERSION, default_dispersion

    parser = build_parser()
    opts = ["--dispersion", "d3bj", "--d3-cutoff", "18", "--d3-cn-cutoff", "9"]
    md = parser.parse_args(["md", "cell.data", "-o", "out", "--potential", "classical", *opts])
    cond = parser.parse_args(["conductivity", "--potential", "classical", *opts])
    ssw = parser.parse_args(["ssw", "--db", "m.db", "--checkpoint", "w.json", "--potential", "classical", *opts])
    specs = [resolve_potential(a.potential, a.model, **dispersion_kwargs(a)) for a in (md, cond, ssw)]
    assert specs[0] == specs[1] == specs[2]
    assert "dispersion/d3 BJ pbe 18 9" in specs[0].commands[0]
    assert parser.parse_args(["conductivity"]).dispersion is None  # per potential:
    assert (default_dispersion("mace"), default_dispersion("classical")) == (DEFAULT_DISPERSION, "none")
    assert DEFAULT_DISPERSION == "d3bj"  # set by scripts/d3_evidence.py (module docstring)


def test_bare_potential_is_the_command_potential_without_its_d3():
    """What a teacher's PBE labels compare with: the same potential, same options, no D3 overlay."""
    from lizrcl_tools.cli import build_parser
    from lizrcl_tools.commands.md import bare_potential_of, potential_of

    args = build_parser().parse_args(["md", "cell.data", "-o", "out", "--potential", "classical",
                                      "--dispersion", "d3bj", "--d3-cutoff", "18", "--d3-cn-cutoff", "9"])
    spec = potential_of(args)
    bare = bare_potential_of(args, spec)
    assert (dispersion_of(spec), dispersion_of(bare)) == ("d3bj", "none")
    assert overlay_dispersion(bare, d3_settings("d3bj", 18.0, 9.0)) == spec
    assert bare_potential_of(args, bare) is None  # nothing to take off
