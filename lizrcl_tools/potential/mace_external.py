"""The ``fix external`` fallback for a MACE model when the C++ plugin cannot be built.

:func:`~lizrcl_tools.potential.mace_plugin.mace_potential` returns the spec made here (``pair_style
zero`` plus ``metadata["backend"] == "fix_external"``); :func:`attach_external` installs the Python
``MACECalculator`` as the ``fix external`` callback on a LAMMPS instance. One MPI rank; same
energies as the plugin, slower. Units: LAMMPS ``metal`` (eV, Å, bar).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential.spec import PotentialSpec

EXTERNAL_FIX_ID = "lizrcl_mace"


def external_spec(model, info, elements, name, metadata) -> PotentialSpec:
    """``fix external`` spec for ``model`` (a MACE ``.model``; ``info`` its export, ``metadata`` updated)."""
    from lizrcl_tools.potential.export import is_torchscript

    if is_torchscript(model):
        raise SetupError(
            f"the plugin is unavailable and the 'fix external' fallback needs the original "
            f"MACE .model file, not the TorchScript export {model}"
        )
    metadata.update({"backend": "fix_external", "mode": "single"})
    # pair_style zero keeps neighbour lists and the communication cutoff meaningful.
    return PotentialSpec(
        name=name,
        elements=elements,
        commands=(f"pair_style zero {info.r_max:.6g}", "pair_coeff * *"),
        newton="on",
        metadata=metadata,
    )


def _torch_device(device: str) -> str:
    """torch device of the Python calculator for the spec's ``device`` (cpu, cuda, auto)."""
    import torch

    if device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "auto":
        return "cpu"
    raise SetupError(f"device {device!r}: torch {torch.__version__} has no usable CUDA device")


class _ExternalMACE:
    """``fix external`` callback: evaluate the Python MACE calculator on LAMMPS's atoms."""

    def __init__(self, lmp, spec: PotentialSpec) -> None:
        from mace.calculators import MACECalculator

        from lizrcl_tools.potential.export import _load_mace

        dtype = spec.metadata["dtype"]
        self.lmp = lmp
        self.elements = spec.elements
        model = _load_mace(Path(spec.metadata["model"]))
        self.calc = MACECalculator(models=model, device=_torch_device(spec.metadata.get("device", "cpu")),
                                   default_dtype=dtype)

    def __call__(self, caller, ntimestep, nlocal, tag, x, f) -> None:
        from ase import Atoms

        box = self.lmp.extract_box()
        lo, hi, xy, yz, xz, periodic = box[0], box[1], box[2], box[3], box[4], box[5]
        cell = np.array(
            [[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]], float
        )
        types = self.lmp.numpy.extract_atom("type")[:nlocal]
        atoms = Atoms(
            symbols=[self.elements[t - 1] for t in types],
            positions=np.asarray(x) - np.asarray(lo),
            cell=cell,
            pbc=[bool(p) for p in periodic],
        )
        atoms.calc = self.calc
        f[:] = atoms.get_forces()
        self.lmp.fix_external_set_energy_global(EXTERNAL_FIX_ID, atoms.get_potential_energy())
        # LAMMPS virial W = -stress·V; ASE Voigt xx yy zz yz xz xy -> LAMMPS xx yy zz xy xz yz.
        s = -atoms.get_stress(voigt=True) * atoms.get_volume()
        self.lmp.fix_external_set_virial_global(
            EXTERNAL_FIX_ID, [s[0], s[1], s[2], s[5], s[4], s[3]]
        )


def attach_external(lmp, spec: PotentialSpec) -> None:
    """Install the ``fix external`` MACE callback of a fallback spec on a LAMMPS instance."""
    if spec.metadata.get("backend") != "fix_external":
        return
    if lmp.extract_setting("world_size") > 1:
        raise SetupError("the 'fix external' MACE fallback runs on one MPI rank only")
    lmp.commands_list(
        [
            f"fix {EXTERNAL_FIX_ID} all external pf/callback 1 1",
            f"fix_modify {EXTERNAL_FIX_ID} energy yes virial yes",
        ]
    )
    lmp.set_fix_external_callback(EXTERNAL_FIX_ID, _ExternalMACE(lmp, spec))
