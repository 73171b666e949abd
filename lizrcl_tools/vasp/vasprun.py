"""vasprun.xml reader: every ``<calculation>`` (ionic step) with its ground-state SCF count.

Two details of the format matter for training data:

- NELM appears twice in ``<parameters>``: in the "electronic convergence" separator and again
  (usually 1) in "response functions". The value used is the INCAR's (``<incar>`` block),
  else the one under the "electronic" separator; never the response-function one.
- A ``<calculation>`` of a linear-response run (LEPSILON/DFPT, NMR LCHIMAG) holds, after its
  forces and energy, further ``<scstep>`` blocks of the linear-response iterations. Only the
  ``<scstep>`` blocks before the step's ``<structure>`` (the ground-state loop) count toward
  NELM.

The file is streamed (``iterparse``) and each ``<calculation>`` is dropped once read, so a
long AIMD file never sits in memory whole.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lizrcl_tools.errors import ParseError
from lizrcl_tools.vasp.outputs import NELM_DEFAULT, RunInfo, Step, element_of, open_text

_INT_PARAMS = ("NELM", "IBRION", "NSW")


def _varray(elem: ET.Element | None, path: Path, what: str) -> np.ndarray:
    if elem is None:
        raise ParseError(path, f"missing <varray name=\"{what}\">")
    try:
        return np.array([[float(x) for x in v.text.split()] for v in elem.findall("v")])
    except (ValueError, AttributeError) as exc:
        if any("*" in (v.text or "") for v in elem.findall("v")):
            raise ParseError(
                path, f"unsupported: VASP wrote '****' (number too wide for its field) in <varray name=\"{what}\">"
            ) from exc
        raise ParseError(path, f"bad number in <varray name=\"{what}\">: {exc}") from exc


def _int(text: str | None, path: Path, name: str) -> int:
    try:
        return int(str(text).split()[0])
    except (ValueError, IndexError) as exc:
        raise ParseError(path, f"parameter {name} = {text!r} is not an integer") from exc


def _atominfo(elem: ET.Element, path: Path) -> list[str]:
    """Element of every atom; POTCAR titles stand in where the label is no element (Xe → X)."""
    arrays = {a.get("name"): a for a in elem.iter("array")}
    if "atoms" not in arrays:
        raise ParseError(path, "<atominfo> has no atom list")
    titles: list[str | None] = []
    if "atomtypes" in arrays:
        for rc in arrays["atomtypes"].iter("rc"):
            cells = [c.text or "" for c in rc.findall("c")]
            titles.append(cells[4] if len(cells) > 4 else None)
    symbols = []
    for k, rc in enumerate(arrays["atoms"].iter("rc")):
        cells = [c.text or "" for c in rc.findall("c")]
        try:
            type_index = int(cells[1]) - 1
        except (IndexError, ValueError):
            type_index = -1
        title = titles[type_index] if 0 <= type_index < len(titles) else None
        symbols.append(element_of(cells[0] if cells else "", title, path, f"atom {k}"))
    return symbols


def _electronic_params(params: ET.Element, out: dict[str, int], path: Path, inside: str = "") -> None:
    """IBRION/NSW from anywhere in ``<parameters>``; NELM only under an "electronic" separator."""
    for child in params:
        if child.tag == "separator":
            _electronic_params(child, out, path, inside or (child.get("name") or "").strip().lower())
        elif child.tag == "i" and child.get("name") in _INT_PARAMS:
            name = child.get("name")
            if name == "NELM" and not inside.startswith("electronic"):
                continue  # the "response functions" NELM (GW/RPA), usually 1
            out.setdefault(name, _int(child.text, path, name))


def _step(calc: ET.Element, symbols: list[str], path: Path, index: int) -> tuple[Step, int]:
    """One ``<calculation>``; also returns how many linear-response scsteps followed it."""
    where = f"ionic step {index}"
    structure = calc.find("structure")
    if not symbols:
        raise ParseError(path, f"{where}: no atom list (<atominfo>) before the first step")
    if structure is None or calc.find("varray[@name='forces']") is None:
        raise ParseError(
            path,
            f"unsupported: {where} has no structure/forces (a GW, RPA or optics <calculation>: "
            "no ionic step to label)",
        )
    cell = _varray(structure.find("crystal/varray[@name='basis']"), path, "basis")
    frac = _varray(structure.find("varray[@name='positions']"), path, "positions")
    forces = _varray(calc.find("varray[@name='forces']"), path, "forces")
    stress_el = calc.find("varray[@name='stress']")
    stress = _varray(stress_el, path, "stress") if stress_el is not None else None
    energy_el = calc.find("energy/i[@name='e_fr_energy']")
    if energy_el is None:
        raise ParseError(path, f"{where}: no e_fr_energy (free energy)")
    if len(frac) != len(symbols) or forces.shape != (len(symbols), 3) or cell.shape != (3, 3):
        raise ParseError(
            path, f"{where}: {len(frac)} positions / {len(forces)} forces for {len(symbols)} atoms"
        )
    if stress is not None and stress.shape != (3, 3):
        raise ParseError(path, f"{where}: stress has shape {stress.shape}, not 3x3")
    ground, after = 0, 0
    seen_structure = False
    for child in calc:
        if child.tag == "structure":
            seen_structure = True
        elif child.tag == "scstep":
            if seen_structure:
                after += 1
            else:
                ground += 1
    try:
        energy = float(energy_el.text)
    except (TypeError, ValueError) as exc:
        raise ParseError(path, f"{where}: bad e_fr_energy {energy_el.text!r}") from exc
    return Step(symbols, cell, frac @ cell, forces, energy, stress, ground), after


def read_vasprun(path: Path) -> tuple[list[Step], RunInfo]:
    """All ionic steps of a vasprun.xml (plain or gzipped) and the run's NELM/IBRION/NSW.

    Raises
    ------
    ParseError
        Corrupt or truncated XML (with the line), missing arrays, species that are not
        elements even by their POTCAR title.
    """
    symbols: list[str] = []
    incar: dict[str, int] = {}
    params: dict[str, int] = {}
    ml_lmlff = False
    steps: list[Step] = []
    n_response = 0
    try:
        with open_text(path) as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                if elem.tag == "atominfo":
                    symbols = _atominfo(elem, path)
                elif elem.tag == "incar":
                    for i in elem.findall("i"):
                        name = i.get("name")
                        if name in _INT_PARAMS:
                            incar[name] = _int(i.text, path, name)
                        elif name == "ML_LMLFF":
                            ml_lmlff = (i.text or "").strip().upper().startswith(("T", ".T"))
                elif elem.tag == "parameters":
                    _electronic_params(elem, params, path)
                elif elem.tag == "calculation":
                    step, after = _step(elem, symbols, path, len(steps))
                    steps.append(step)
                    n_response += after
                    elem.clear()  # a long AIMD file would otherwise stay in memory
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ParseError(path, f"corrupt or truncated XML ({exc})", line) from exc
    except (EOFError, OSError) as exc:
        raise ParseError(path, f"cannot read as vasprun.xml ({type(exc).__name__}: {exc})") from exc
    if not symbols:
        raise ParseError(path, "no <atominfo> atom list: not a vasprun.xml?")
    merged = {**params, **incar}  # the INCAR value wins
    notes = []
    if n_response:
        notes.append(
            f"{n_response} linear-response (DFPT/NMR) electronic iterations after the ground "
            "state, not counted toward NELM"
        )
    info = RunInfo(
        nelm=merged.get("NELM", NELM_DEFAULT), ibrion=merged.get("IBRION", -1),
        nsw=merged.get("NSW", 0), ml_lmlff=ml_lmlff, notes=notes,
    )
    return steps, info
