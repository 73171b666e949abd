"""KPOINTS text: VASP's fully automatic mesh by length (Å), written by pymatgen and read back."""

from __future__ import annotations

import warnings

from lizrcl_tools.errors import SetupError


def render_kpoints(length: int, comment: str) -> str:
    """Fully automatic KPOINTS (``Auto``, length in Å) via pymatgen, verified by reading back."""
    from pymatgen.io.vasp.inputs import Kpoints, KpointsSupportedModes

    kpoints = Kpoints(comment=comment, num_kpts=0, style=KpointsSupportedModes.Automatic, kpts=[[length]])
    text = str(kpoints)
    with warnings.catch_warnings():
        # pymatgen deprecates the Automatic mode in favour of KSPACING, whose rounding
        # differs from the study's "length 25" mesh; the mode is kept on purpose.
        warnings.simplefilter("ignore", DeprecationWarning)
        back = Kpoints.from_str(text)
    if back.style != KpointsSupportedModes.Automatic or list(back.kpts[0]) != [length]:
        raise SetupError(f"pymatgen wrote KPOINTS that reads back as {back.style} {back.kpts}")
    return text
