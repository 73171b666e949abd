"""Dataset stage: reference calculators, labelling, the study's LASP training set, statistics.

- :mod:`lizrcl_tools.dataset.references`: teachers that label frames (SevenNet-0, CHGNet, a
  MACE file, VASP results) behind one :class:`~lizrcl_tools.dataset.references.Reference`.
- :mod:`lizrcl_tools.dataset.labelling`: resumable labelling into ``REF_*`` extxyz.
- :mod:`lizrcl_tools.dataset.lasp`: LASP ``TrainStr.txt``/``TrainFor.txt`` → extxyz.
- :mod:`lizrcl_tools.dataset.stats`: counts by composition and config type, ranges, plots.

Frames come in from :mod:`lizrcl_tools.structures` and :mod:`lizrcl_tools.vasp`; nothing here
imports LAMMPS.
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

_EXPORTS = {
    "get_reference": "lizrcl_tools.dataset.references",
    "label_frames": "lizrcl_tools.dataset.labelling",
    "label_file": "lizrcl_tools.dataset.labelling",
    "import_lasp": "lizrcl_tools.dataset.lasp",
    "read_lasp": "lizrcl_tools.dataset.lasp",
    "dataset_stats": "lizrcl_tools.dataset.stats",
    "stats_of_file": "lizrcl_tools.dataset.stats",
}

__all__ = sorted(_EXPORTS)

# Lazy: the teachers import torch.
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
