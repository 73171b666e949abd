"""POTCAR or POTCAR.spec: licensed PAW files through pymatgen when configured, else the titles.

``POTCAR.spec`` (one POTCAR title per line, in POSCAR element order) is the file pymatgen's
``write_input(potcar_spec=True)`` writes; it lets inputs be written where no PAW files are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lizrcl_tools.errors import SetupError

if TYPE_CHECKING:
    from lizrcl_tools.vasp.presets import Preset


def potcar_texts(preset: Preset, mode: str) -> tuple[str, Any, list[str]]:
    """Decide POTCAR vs POTCAR.spec; return the file name, a text builder and notices.

    Parameters
    ----------
    preset : Preset
        Gives the POTCAR set (``potcar_functional``).
    mode : {"auto", "spec", "potcar"}
        ``auto``: POTCAR when ``PMG_VASP_PSP_DIR`` is set, else POTCAR.spec (with a notice).

    Returns
    -------
    file name, builder (POTCAR titles in POSCAR order → file text), notices
    """
    from pymatgen.core import SETTINGS

    psp_dir = SETTINGS.get("PMG_VASP_PSP_DIR")
    if mode == "potcar" and not psp_dir:
        raise SetupError("POTCAR requested but pymatgen's PMG_VASP_PSP_DIR is not set")
    if mode == "spec" or not psp_dir:
        notices = [] if mode == "spec" else [
            "PMG_VASP_PSP_DIR is not set (pymatgen cannot find PAW files): each folder has "
            f"POTCAR.spec (titles of the {preset.potcar_functional} set) instead of POTCAR. Set it "
            "in ~/.config/.pmgrc.yaml or the environment and write the folders again into a new "
            "output folder (-o) to get POTCARs."
        ]
        return "POTCAR.spec", lambda titles: "\n".join(titles) + "\n", notices

    def build(titles: Sequence[str]) -> str:
        from pymatgen.io.vasp.inputs import Potcar

        try:
            return str(Potcar(symbols=list(titles), functional=preset.potcar_functional))
        except (OSError, ValueError, RuntimeError) as exc:
            raise SetupError(
                f"cannot build POTCAR {list(titles)} ({preset.potcar_functional}) from "
                f"PMG_VASP_PSP_DIR={psp_dir}: {exc}"
            ) from exc

    return "POTCAR", build, []
