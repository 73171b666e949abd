"""VASP stage: presets → input folders → parsed outputs (training frames).

- :mod:`lizrcl_tools.vasp.presets`: presets as YAML data (``vasp_inputs/*.yaml``), validated on
  load (:mod:`~lizrcl_tools.vasp.preset_files`: where they are, strict YAML reading).
- :mod:`lizrcl_tools.vasp.incar`: known INCAR tags, user overrides, merging, INCAR text;
  :mod:`lizrcl_tools.vasp.kpoints`: KPOINTS text.
- :mod:`lizrcl_tools.vasp.folders`: one run folder per structure (:func:`write_vasp_inputs`),
  built from :mod:`~lizrcl_tools.vasp.poscar` (element order, POSCAR text),
  :mod:`~lizrcl_tools.vasp.potcar` (POTCAR or POTCAR.spec) and
  :mod:`~lizrcl_tools.vasp.folder_io` (atomic folder writes, existing folders).
- :mod:`lizrcl_tools.vasp.run`: run VASP in those folders, one task per folder, complete ones
  skipped (:func:`run_vasp_folders`).
- :mod:`lizrcl_tools.vasp.collect`: vasprun.xml/OUTCAR → frames with ``REF_*`` labels
  (:func:`collect`).

Nothing here imports the potential, LAMMPS or torch.
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

_EXPORTS = {
    "load_preset": "lizrcl_tools.vasp.presets",
    "available_presets": "lizrcl_tools.vasp.presets",
    "write_vasp_inputs": "lizrcl_tools.vasp.folders",
    "WriteReport": "lizrcl_tools.vasp.folders",
    "run_vasp_folders": "lizrcl_tools.vasp.run",
    "collect": "lizrcl_tools.vasp.collect",
    "read_vasp_output": "lizrcl_tools.vasp.collect",
}

__all__ = sorted(_EXPORTS)

# Lazy, so `import lizrcl_tools.vasp` does not pull in pymatgen.
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
