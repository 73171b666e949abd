"""MACE model files: the cheap check before torch loads one, loading it, the shipped default.

Split out of :mod:`lizrcl_tools.potential.evaluate` (which re-exports these names).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError, SetupError


def check_model_file(path: str | os.PathLike) -> Path:
    """Cheap check, before torch is imported, that ``path`` can be a MACE ``.model`` file.

    A ``.model`` file is a ``torch.save`` of the model: a zip archive (torch ≥ 1.6) or a raw
    pickle. Text files, structures and TorchScript exports for LAMMPS are refused with a message
    that says what was found.

    Raises
    ------
    SetupError
        The file does not exist.
    ParseError
        The file is not a ``torch.save`` file, or is the TorchScript export (``-lammps.pt``).
    """
    import zipfile

    path = Path(path)
    if path.is_dir():
        raise SetupError(f"MACE model {path} is a folder; give the .model file")
    if not path.is_file():
        raise SetupError(f"MACE model {path} does not exist")
    with open(path, "rb") as handle:
        head = handle.read(64)
    expected = "expected a MACE model saved by training (torch.save, e.g. work/lizrcl_mace.model)"
    if not head:
        raise ParseError(path, f"the file is empty; {expected}")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise ParseError(path, f"a damaged zip archive ({exc}); {expected}") from exc
        if any(n.split("/", 1)[-1].startswith(("code/", "constants.pkl")) for n in names):
            raise ParseError(
                path,
                "this is a TorchScript export (for the LAMMPS pair style, `lizrcl export`), "
                f"not the model itself; {expected}",
            )
        return path
    if head[:1] == b"\x80":  # pickle protocol 2+ (legacy torch.save)
        return path
    text = head[:40].decode("ascii", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    shown = f"starts with {first!r}" if first and first.isprintable() else "unknown binary data"
    raise ParseError(path, f"not a torch.save file ({shown}); {expected}")


def load_model_checked(path: str | os.PathLike, device: str = "cpu", dtype: str = "float64") -> Any:
    """:func:`check_model_file`, then load it as a MACE calculator; a failed load is a ParseError."""
    from lizrcl_tools.dataset.references import load_mace

    path = check_model_file(path)
    try:
        return load_mace(path, device=device, dtype=dtype)
    except (SetupError, ParseError):
        raise
    except Exception as exc:  # noqa: BLE001 - torch/pickle raise many types for a bad file
        raise ParseError(
            path, f"cannot load as a MACE model ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


def default_model_path() -> Path | None:
    """The model shipped in ``lizrcl_tools/data/`` (None while none is shipped)."""
    found = sorted((Path(__file__).resolve().parents[1] / "data").glob("*.model"))
    return found[0] if found else None


def default_heldout_path() -> Path | None:
    """The shipped model's held-out set: 40 teacher-labelled frames (seed 3026, its card's table).

    40 frames of ``lizrcl_tools/data/<model>_heldout.extxyz.gz``: strained and rattled crystals
    (LiCl, ZrCl4, Li2ZrCl6 P-3m1 and C2/m), random Li/Zr decorations over 0 ≤ x ≤ 1 and 600 K
    SevenNet-0 Langevin snapshots; labels ``REF_energy`` (eV), ``REF_forces`` (eV/Å),
    ``REF_stress`` (eV/Å³). None when no model (or no held-out set) is shipped.
    """
    model = default_model_path()
    if model is None:
        return None
    path = model.with_name(f"{model.stem}_heldout.extxyz.gz")
    return path if path.is_file() else None
