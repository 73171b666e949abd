"""vasp collect on real VASP outputs written elsewhere (pymatgen-core's test files, MIT).

Each file in tests/data/vasp (origin in its README) shows one way the format bit a reader:
NELM printed twice, linear-response SCF steps, fixed-width numbers running together, Xe
written ``X``, a species that is no element, a damaged MD OUTCAR, a complete NMR OUTCAR.
Frames are checked number by number against pymatgen's Vasprun and ASE's readers.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import ParseError, SkippedDataWarning
from lizrcl_tools.vasp.collect import collect, read_vasp_output

DATA = Path(__file__).parent / "data" / "vasp"


def _ase(path, fmt):
    import ase.io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ase.io.read(path, index=":", format=fmt)


def _pmg_steps(path):
    from pymatgen.io.vasp import Vasprun

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_potcar_file=False,
                      parse_projected_eigen=False)
    return run


def _assert_matches_ase(frames, refs):
    for atoms in frames:
        ref = refs[atoms.info[keys.SOURCE_STEP]]
        assert atoms.info[keys.REF_ENERGY] == pytest.approx(ref.get_potential_energy(force_consistent=True), abs=1e-8)
        np.testing.assert_allclose(atoms.arrays[keys.REF_FORCES], ref.get_forces(), atol=1e-8)
        np.testing.assert_allclose(atoms.info[keys.REF_STRESS], ref.get_stress(), atol=1e-10)
        np.testing.assert_allclose(atoms.cell[:], ref.cell[:], atol=1e-8)
        np.testing.assert_allclose(atoms.positions, ref.positions, atol=1e-6)
        assert atoms.get_chemical_symbols() == ref.get_chemical_symbols()


def test_nelm_is_the_electronic_one_not_response_functions():
    """etest1 holds NELM = 60 (electronic convergence) and NELM = 1 (response functions)."""
    path = DATA / "etest1.vasprun.xml.gz"
    frames, report = read_vasp_output(path)
    run = _pmg_steps(path)
    assert report.nelm == 60
    assert report.n_steps == len(run.ionic_steps) == 8
    # Every step converged in fewer than 60 iterations, so all are frames.
    assert max(len(s["electronic_steps"]) for s in run.ionic_steps) < 60
    assert report.n_frames == 8 and report.n_skipped_unconverged == 0
    for atoms, step in zip(frames, run.ionic_steps):
        assert atoms.info[keys.REF_ENERGY] == pytest.approx(step["e_fr_energy"], abs=1e-8)
        np.testing.assert_allclose(atoms.arrays[keys.REF_FORCES], step["forces"], atol=1e-8)
        s = -0.1 * GPa * np.asarray(step["stress"])
        np.testing.assert_allclose(
            atoms.info[keys.REF_STRESS], [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]], atol=1e-12
        )


def test_linear_response_scsteps_do_not_count_toward_nelm():
    """NMR (LCHIMAG) run: 13 ground-state iterations, then 246 linear-response ones; NELM = 60."""
    path = DATA / "nmr_cs.vasprun.xml.gz"
    frames, report = read_vasp_output(path)
    assert report.nelm == 60 and report.n_steps == 1
    assert len(frames) == 1 and report.n_skipped_unconverged == 0
    assert "246 linear-response" in report.note
    _assert_matches_ase(frames, _ase(path, "vasp-xml"))


@pytest.mark.parametrize(
    "name, merged, n_steps",
    [
        ("fe_monomer.OUTCAR.gz", "in kB  -12353.08821-12353.08821", 1),  # stress line
        ("nmr_efg_AlPO4.OUTCAR.gz", "0.000000000-19.396266833", 1),  # lattice vector line
        ("merged_numbers.OUTCAR.gz", "1.6427-28.9219", 1),  # only in a table we do not read
    ],
)
def test_outcar_numbers_running_together_are_split_as_ase_does(name, merged, n_steps):
    path = DATA / name
    assert merged in gzip.open(path, "rt").read()
    frames, report = read_vasp_output(path)
    refs = _ase(path, "vasp-out")
    assert report.n_steps == len(refs) == n_steps and len(frames) == n_steps
    _assert_matches_ase(frames, refs)


def test_fe_monomer_stress_is_the_merged_pair():
    frames, _ = read_vasp_output(DATA / "fe_monomer.OUTCAR.gz")
    # VASP printed XX and YY as one token; both are −12353.08821 kB.
    expected = 0.1 * GPa * 12353.08821
    assert frames[0].info[keys.REF_STRESS][0] == pytest.approx(expected, rel=1e-12)
    assert frames[0].info[keys.REF_STRESS][1] == pytest.approx(expected, rel=1e-12)


def test_xe_written_as_x_takes_the_element_from_the_potcar_title():
    path = DATA / "xe.vasprun.xml.gz"
    frames, _ = read_vasp_output(path)
    assert frames and all(a.get_chemical_symbols() == ["Xe"] for a in frames)
    assert all(a.numbers[0] == 54 for a in frames)
    run = _pmg_steps(path)
    assert [str(s) for s in run.final_structure.species] == ["Xe"]


def test_species_that_is_no_element_names_the_file_and_skip_bad_goes_on(tmp_path):
    bad = DATA / "wrong_sp.vasprun.xml.gz"
    with pytest.raises(ParseError, match=r"wrong_sp\.vasprun\.xml\.gz.*'Z' is not an element") as err:
        read_vasp_output(bad)
    assert err.value.path == str(bad)
    with pytest.warns(SkippedDataWarning, match="1 unreadable"):
        result = collect([bad, DATA / "etest1.vasprun.xml.gz"], skip_bad=True)
    assert [p for p, _ in result.bad_files] == [str(bad)] and len(result.frames) == 8


def test_damaged_md_outcar_is_refused():
    """Excerpt of a real AIMD OUTCAR: NUL bytes, two runs' step counters interleaved."""
    with pytest.raises(ParseError, match=r"unsupported: damaged OUTCAR .*NUL bytes.*ionic step counter"):
        read_vasp_output(DATA / "md_damaged_excerpt.OUTCAR.gz")


def _two_step_outcar(tmp_path, second_counter, drop_stress):
    """fe_monomer's one ionic step written twice; the second's counter and stress as asked."""
    lines = gzip.open(DATA / "fe_monomer.OUTCAR.gz", "rt").read().splitlines(True)
    start = next(i for i, s in enumerate(lines) if "Iteration" in s)
    end = next(i for i, s in enumerate(lines) if "free  energy   TOTEN" in s) + 1
    block = lines[start:end]
    second = [s.replace("Iteration    1(", f"Iteration {second_counter:4d}(") for s in block]
    if drop_stress:
        second = [s for s in second if " in kB " not in s]
    out = tmp_path / "OUTCAR"
    out.write_text("".join(lines[:end] + second + lines[end:]))
    return out


def test_two_step_outcar_control_then_each_damage_alone(tmp_path):
    good = _two_step_outcar(tmp_path, 2, drop_stress=False)
    frames, report = read_vasp_output(good)
    assert report.n_steps == 2 and len(frames) == 2
    np.testing.assert_allclose(frames[0].arrays[keys.REF_FORCES], frames[1].arrays[keys.REF_FORCES])
    with pytest.raises(ParseError, match="ionic step counter 1 where 2 was expected"):
        read_vasp_output(_two_step_outcar(tmp_path, 1, drop_stress=False))
    with pytest.raises(ParseError, match=r"stress missing on 1 of 2 steps \(first: step 1\)"):
        read_vasp_output(_two_step_outcar(tmp_path, 2, drop_stress=True))


def test_complete_nmr_outcar_is_not_called_stopped():
    frames, report = read_vasp_output(DATA / "nmr_efg_AlPO4.OUTCAR.gz")
    assert len(frames) == 1
    assert "stopped inside the SCF loop" not in report.note
    assert "without VASP's timing section" not in report.note


def test_outcar_cut_inside_scf_loop_still_says_so(tmp_path):
    lines = gzip.open(DATA / "fe_monomer.OUTCAR.gz", "rt").read().splitlines(True)
    cut = [i for i, s in enumerate(lines) if "Iteration" in s][2] + 2
    path = tmp_path / "OUTCAR"
    path.write_text("".join(lines[:cut]))
    frames, report = read_vasp_output(path)
    assert frames == [] and "stopped inside the SCF loop of step 0" in report.note


def test_machine_learned_steps_of_an_on_the_fly_run_are_not_frames(tmp_path):
    """ML_LMLFF = T: a step without any electronic iteration was predicted by the force field."""
    import re

    text = gzip.open(DATA / "etest1.vasprun.xml.gz", "rt").read()
    text = text.replace("<incar>", '<incar>\n  <i type="logical" name="ML_LMLFF"> T  </i>', 1)
    calcs = [m.start() for m in re.finditer("<calculation>", text)]
    second = text[calcs[1]:calcs[2]]
    text = text.replace(second, re.sub(r"<scstep>.*?</scstep>\s*", "", second, flags=re.S), 1)
    path = tmp_path / "vasprun.xml"
    path.write_text(text)
    frames, report = read_vasp_output(path)
    assert report.n_steps == 8 and report.n_skipped_other == 1 and len(frames) == 7
    assert 1 not in [a.info[keys.SOURCE_STEP] for a in frames]
    assert "machine-learned" in report.note
    # Without the flag the same file keeps the step (no iteration is not "reached NELM").
    path.write_text(text.replace('<i type="logical" name="ML_LMLFF"> T  </i>', "", 1))
    assert len(read_vasp_output(path)[0]) == 8


def test_linear_response_iterations_after_the_forces_are_not_a_stopped_scf(tmp_path):
    """A finished LCHIMAG run prints response iterations between the last TOTEN and the timing."""
    lines = gzip.open(DATA / "merged_numbers.OUTCAR.gz", "rt").read().splitlines(True)
    end = next(i for i, s in enumerate(lines) if "free  energy   TOTEN" in s) + 1
    nsw = next(i for i, s in enumerate(lines) if "NSW    =" in s)
    response = [f"----------------------------------------- Iteration    1(   {k})  ---------\n" for k in range(1, 4)]
    body = lines[:nsw] + ["   LCHIMAG   =     T  perturbation theory with respect to B field\n"] + lines[nsw:end]
    assert any("General timing" in s for s in lines[end:])
    path = tmp_path / "OUTCAR"
    path.write_text("".join(body + response + lines[end:]))
    frames, report = read_vasp_output(path)
    assert len(frames) == 1
    assert "stopped inside the SCF loop" not in report.note and "3 linear-response" in report.note
    # Without LCHIMAG, iterations of ionic step 2 after step 1: an SCF loop the run never finished.
    scf = [r.replace("Iteration    1(", "Iteration    2(") for r in response]
    path.write_text("".join(lines[:end] + scf + lines[end:]))
    assert "stopped inside the SCF loop of step 1" in read_vasp_output(path)[1].note
