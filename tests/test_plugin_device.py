"""The ``device`` keyword of ``pair_style mace/lizrcl`` and the ``--device`` option.

On this CPU-only torch the CUDA path cannot run; these tests check what can be checked
without a GPU: ``device cpu`` computes exactly what the default does, ``device auto`` falls
back to the CPU and says so in the LAMMPS log, ``device cuda`` stops with an error naming the
torch build, bad keywords are refused by name, and ``--device`` reaches the pair_style line
and run.json. The GPU itself is checked by ``scripts/check_gpu.py`` on a machine that has one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import mace.modules  # noqa: F401  (before e3nn: torch >= 2.6 weights-only loading)

from test_plugin import build_tiny_model, triclinic_cell

from lizrcl_tools import cli
from lizrcl_tools.errors import SetupError
from lizrcl_tools.md.fingerprint import potential_sha256
from lizrcl_tools.potential import plugin_build as plugin
from lizrcl_tools.potential.export import export_model
from lizrcl_tools.potential.mace_plugin import check_device, mace_potential, make_lammps, single_point

pytestmark = pytest.mark.lammps


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


no_gpu = pytest.mark.skipif(_cuda(), reason="checks the refusal/fallback of a torch without CUDA")


@pytest.fixture(scope="module", autouse=True)
def private_model_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIZRCL_MODEL_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        yield


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    model = build_tiny_model(tmp_path_factory.mktemp("mace") / "tiny.model")
    return Path(export_model(model, model.with_name("tiny-lammps.pt"), dtype="float64").path)


@pytest.fixture(scope="module")
def plugin_so() -> Path:
    try:
        return plugin.ensure_plugin()
    except SetupError as exc:
        pytest.skip(f"MACE LAMMPS plugin cannot be built here: {exc}")


def _with_style(spec, style_words: str):
    """``spec`` with its pair_style line replaced (keywords the Python side never writes)."""
    commands = tuple(f"pair_style {style_words}" if c.startswith("pair_style") else c for c in spec.commands)
    return dataclasses.replace(spec, commands=commands)


def _results(spec, atoms, cmdargs=None) -> dict:
    lmp = make_lammps(atoms, spec, cmdargs=cmdargs)
    try:
        return single_point(lmp, atoms)
    finally:
        lmp.close()


@pytest.mark.parametrize("mode,keyword", [("single", "no_domain_decomposition"), ("ghost", "domain_decomposition")])
def test_device_cpu_is_bitwise_the_default(plugin_so, exported, mode, keyword):
    atoms = triclinic_cell()
    default = mace_potential(exported, mode=mode)
    assert "device" not in default.commands[0]  # cpu writes no keyword: old inputs unchanged
    ref = _results(default, atoms)
    # Keyword after the mode and before it: both orders parse.
    for words in (f"mace/lizrcl {keyword} device cpu", f"mace/lizrcl device cpu {keyword}"):
        got = _results(_with_style(default, words), atoms)
        assert got["energy"] == ref["energy"]
        np.testing.assert_array_equal(got["forces"], ref["forces"])
        np.testing.assert_array_equal(got["stress"], ref["stress"])
    assert np.abs(ref["forces"]).max() > 0.3  # a real force field, not zeros


@no_gpu
def test_device_auto_falls_back_to_cpu_and_logs_it(plugin_so, exported, tmp_path):
    atoms = triclinic_cell()
    log = tmp_path / "log.lammps"
    auto = mace_potential(exported, mode="single", device="auto")
    assert auto.commands[0].endswith("mace/lizrcl no_domain_decomposition device auto")
    assert auto.metadata["device"] == "auto"
    got = _results(auto, atoms, cmdargs=["-screen", "none", "-log", str(log)])
    ref = _results(mace_potential(exported, mode="single"), atoms)
    np.testing.assert_array_equal(got["forces"], ref["forces"])
    assert got["energy"] == ref["energy"]
    text = log.read_text()
    assert "mace/lizrcl: device auto -> cpu (torch 2" in text and "CPU-only build" in text
    assert "elements Li Zr Cl) on cpu;" in text


@no_gpu
def test_device_cuda_without_cuda_is_a_named_error(plugin_so, exported):
    import torch

    atoms = triclinic_cell()
    lmp = make_lammps(atoms, mace_potential(exported, mode="single"))
    try:
        with pytest.raises(Exception, match=rf"device cuda: no CUDA device for torch: torch "
                           rf"{torch.__version__.replace('+', '[+]')} is a CPU-only build"):
            lmp.command("pair_style mace/lizrcl device cuda")
    finally:
        lmp.close()
    with pytest.raises(SetupError, match=r"--device cuda: torch .* has no usable CUDA device \(a CPU-only build\)"):
        check_device("cuda")
    check_device("auto")  # auto never refuses


def test_pair_style_given_again_moves_the_model(plugin_so, exported):
    """pair_style re-issued after pair_coeff keeps the loaded model (LAMMPS calls settings()
    only); the model must follow the new device and still compute the same numbers."""
    atoms = triclinic_cell()
    spec = mace_potential(exported, mode="single")
    lmp = make_lammps(atoms, spec)
    try:
        before = single_point(lmp, atoms)
        lmp.command("pair_style mace/lizrcl no_domain_decomposition device auto")
        after = single_point(lmp, atoms)
    finally:
        lmp.close()
    np.testing.assert_allclose(after["forces"], before["forces"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("words,message", [
    ("device gpu", r"unknown device 'gpu' \(known: cpu, cuda, auto\)"),
    ("device", r"keyword 'device' needs a value: cpu, cuda or auto"),
    ("devices cpu", r"Unknown pair_style mace/lizrcl keyword 'devices' \(known: no_domain_decomposition, "
                    r"domain_decomposition, device cpu\|cuda\|auto\)"),
    ("device cpu device auto", r"keyword 'device' given twice"),
])
def test_bad_device_keywords_are_named(plugin_so, exported, words, message):
    atoms = triclinic_cell()
    lmp = make_lammps(atoms, mace_potential(exported, mode="single"))
    try:
        with pytest.raises(Exception, match=message):
            lmp.command(f"pair_style mace/lizrcl {words}")
    finally:
        lmp.close()
    with pytest.raises(SetupError, match=r"device 'gpu' unknown; choose one of cpu, cuda, auto"):
        mace_potential(exported, device="gpu")


def test_device_is_not_part_of_the_potential_fingerprint(exported):
    """A run started on the CPU may resume on a GPU: same model, same fingerprint."""
    cpu, cuda, auto = (mace_potential(exported, device=d) for d in ("cpu", "cuda", "auto"))
    assert cuda.commands[0] == "pair_style mace/lizrcl device cuda"
    assert potential_sha256(cpu) == potential_sha256(cuda) == potential_sha256(auto)
    single = potential_sha256(mace_potential(exported, mode="single"))
    assert single != potential_sha256(cpu)  # the keyword filter keeps the graph mode


def test_device_option_reaches_every_command():
    from lizrcl_tools.cli import build_parser

    parser = build_parser()
    cases = {
        "md": ["md", "cell.data", "-o", "out"],
        "conductivity": ["conductivity"],
        "ssw": ["ssw", "cell.data", "--db", "m.db", "--checkpoint", "w.json"],
        "neb": ["neb", "a.extxyz", "b.extxyz", "-o", "hop"],
    }
    for argv in cases.values():
        assert parser.parse_args(argv).device == "cpu"
        assert parser.parse_args([*argv, "--device", "auto"]).device == "auto"
        with pytest.raises(SystemExit):
            parser.parse_args([*argv, "--device", "gpu"])


def test_classical_and_fast_refuse_cuda_and_take_auto_as_cpu():
    from lizrcl_tools.md.setup import resolve_potential

    for name in ("classical", "fast"):
        with pytest.raises(SetupError, match=r"--device cuda: the .* potential runs on the CPU"):
            resolve_potential(name, device="cuda")
    assert "device" not in " ".join(resolve_potential("classical", device="auto").commands)
    with pytest.raises(SetupError, match="device 'tpu' unknown"):
        resolve_potential("classical", device="tpu")


def test_device_auto_is_in_run_json(plugin_so, exported, tmp_path):
    """--device reaches LAMMPS through the spec and run.json records it (20 MD steps)."""
    from lizrcl_tools.md import run_md
    from lizrcl_tools.md.protocols import MDProtocol
    from lizrcl_tools.md.runner import read_run_json

    spec = mace_potential(exported, device="auto")
    protocol = MDProtocol(name="test", temperatures_K=(600.0,), n_atoms=None, npt_ps=0.01, nvt_ps=0.01,
                          dump_every=5, chunk_steps=10, thermo_every=5, barostat="iso", seed=7)
    run_md(triclinic_cell(), spec, 600.0, tmp_path / "run", protocol, progress=False)
    record = read_run_json(tmp_path / "run").to_dict()
    assert record["potential"]["metadata"]["device"] == "auto"
    assert "pair_style mace/lizrcl device auto" in record["potential"]["commands"]
    assert record["status"] == "complete"


@no_gpu
def test_md_cli_refuses_cuda_before_writing(exported, tmp_path):
    from ase.io import write

    cell = tmp_path / "cell.extxyz"
    write(cell, triclinic_cell())
    out = tmp_path / "run"
    with pytest.raises(SetupError, match="--device cuda: torch"):
        cli.run(["md", str(cell), "--temperature", "600", "-o", str(out), "--model", str(exported),
                 "--device", "cuda", "--no-progress"])
    assert not out.exists()


@no_gpu
@pytest.mark.parametrize("command", ["compositions", "stacking"])
def test_compositions_and_stacking_take_the_device_and_refuse_cuda_before_writing(exported, tmp_path, command):
    # the device option is shared by every potential-driven command; these two once parsed it and ignored it
    out = tmp_path / command
    with pytest.raises(SetupError, match="--device cuda: torch"):
        cli.run([command, "-o", str(out), "--model", str(exported), "--device", "cuda"])
    assert not out.exists()


def test_cuda_wheel_links_torch_cuda(tmp_path):
    """With a CUDA torch the plugin must load libtorch_cuda itself (an --as-needed linker drops
    it otherwise, and torch outside Python would see no GPU); a CPU torch links nothing more."""
    assert plugin._torch_cuda_libraries([str(tmp_path)]) == []
    (tmp_path / "libtorch_cuda.so").touch()
    flags = plugin._torch_cuda_libraries([str(tmp_path)])
    assert flags[0] == "-Wl,--no-as-needed" and "-ltorch_cuda" in flags and flags[-1] == "-Wl,--as-needed"


def test_compile_command_names_the_torch_build(plugin_so):
    import torch

    inputs = plugin.build_inputs()
    cmd = plugin.compile_command(inputs, Path("/tmp/x.so"))
    assert f'-DLIZRCL_TORCH_VERSION="{torch.__version__}"' in cmd
    assert f'-DLIZRCL_TORCH_CUDA="{torch.version.cuda or ""}"' in cmd


def test_device_keyword_inside_hybrid_overlay(plugin_so, exported):
    """With D3 overlaid (the MD default) the keyword sits inside hybrid/overlay; LAMMPS must
    still give it to mace/lizrcl and start dispersion/d3 after it."""
    from lizrcl_tools.potential.dispersion import overlay_dispersion

    atoms = triclinic_cell()
    cpu, auto = (overlay_dispersion(mace_potential(exported, device=d), "d3bj") for d in ("cpu", "auto"))
    assert auto.commands[0].startswith("pair_style hybrid/overlay mace/lizrcl device auto dispersion/d3 ")
    ref, got = _results(cpu, atoms), _results(auto, atoms)
    assert got["energy"] == ref["energy"]
    np.testing.assert_array_equal(got["forces"], ref["forces"])


def test_ssw_potentials_and_device(tmp_path):
    from lizrcl_tools.commands.ssw import load_potential

    with pytest.raises(SetupError, match="toy-licl potential runs on the CPU"):
        load_potential("toy-licl", None, device="cuda")
    assert "device" not in " ".join(load_potential("toy-licl", None, device="auto").commands)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text('{"name": "x", "elements": ["Li"], "commands": ["pair_style zero 3"]}')
    with pytest.raises(SetupError, match="a JSON spec carries its own pair_style line"):
        load_potential(str(spec_file), None, device="auto")
