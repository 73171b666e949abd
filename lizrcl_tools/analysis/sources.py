"""What to analyse: a trajectory file plus its metadata, from run.json, from the file, or from flags.

Three ways in, one record (:class:`TrajectorySource`):

* a ``lizrcl md`` run folder: ``run.json`` gives everything (:func:`source_from_run_dir`);
* a VASP ``vasprun.xml`` (plain or .gz): POTIM (fs), TEBEG (= TEEND, K) and NSW are read from
  its INCAR block; vasprun.xml holds every ionic step (NBLOCK thins only XDATCAR), so the
  frame interval is POTIM;
* any other trajectory: the flags ``--temperature``, ``--timestep-fs``, ``--every`` (MD steps
  between stored frames), ``--types`` (element of each LAMMPS type, in type order, where the
  file has no element names) and ``--topology`` (DCD/XTC/… need one for the elements). A LAMMPS
  dump gives ``--every`` itself through its step numbers.

A value the file carries and a flag that contradicts it is an error; a value nobody gives is
an error naming the flag. Formats are a table (:data:`FORMATS`), detected from the file name
or named with ``--format``; any other name is passed to MDAnalysis as its format code.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lizrcl_tools.analysis.runinfo import DUMP_NAME, RUN_JSON, read_run_info
from lizrcl_tools.errors import ParseError, SetupError

# name: (reader family, description, file-name patterns (regex on the lower-case name))
FORMATS: dict[str, tuple[str, str, str]] = {
    "lammpsdump": ("lammps", "LAMMPS dump custom (xu yu zu | x y z [ix iy iz] | xs ys zs ...), text or .gz",
                   r"(\.lammpstrj|\.dump|\.lammpsdump|^dump\..*|\.dump\..*)(\.gz)?$"),
    "vasprun": ("ase", "VASP vasprun.xml (AIMD; POTIM, TEBEG, NSW read from it)", r"vasprun.*\.xml(\.gz)?$"),
    "xdatcar": ("ase", "VASP XDATCAR", r"xdatcar"),
    "extxyz": ("ase", "extended XYZ (ASE)", r"\.(ext)?xyz(\.gz)?$"),
    "traj": ("ase", "ASE trajectory", r"\.traj$"),
    "dcd": ("mdanalysis", "DCD (needs --topology)", r"\.dcd$"),
    "xtc": ("mdanalysis", "GROMACS XTC (needs --topology)", r"\.xtc$"),
    "trr": ("mdanalysis", "GROMACS TRR (needs --topology)", r"\.trr$"),
}
ASE_FORMAT = {"vasprun": "vasp-xml", "xdatcar": "vasp-xdatcar", "extxyz": "extxyz", "traj": "traj"}


@dataclass(frozen=True)
class TrajectorySource:
    """One trajectory at one temperature and everything needed to analyse it.

    Attributes
    ----------
    path : Path
        Trajectory file.
    format : str
        Key of :data:`FORMATS`, or an MDAnalysis format code.
    temperature_K, timestep_fs : float
        Temperature (K) and MD time step (fs).
    every : int or None
        MD steps between stored frames (None: from the dump's step numbers).
    mobile : str
        Diffusing element.
    elements_by_type : tuple of str or None
        Element of LAMMPS type 1, 2, ... (dumps without an element column, data-file topologies).
    topology : Path or None
        Topology file for formats without atom names.
    volume_A3 : float or None
        Volume for Nernst–Einstein (Å³); default the mean box of the frames.
    n_atoms, n_mobile, n_frames_expected : int or None
        Counts to check against the file; fewer frames than expected → recorded warning.
    label : str
        Shown in results (run folder or file).
    origin : dict
        Where each value came from (``"run.json"``, ``"flag --temperature"``, ``"vasprun.xml TEBEG"``).
    warnings : tuple of str
        Problems known before reading (unfinished run, run.json sanity notes).
    sanity : tuple of str
        Problems that make the run unfit for an Arrhenius fit (e.g. thermostat lost control).
    run_json : Path or None
        run.json of a run folder, named in errors about it.
    """

    path: Path
    format: str
    temperature_K: float
    timestep_fs: float
    every: int | None
    mobile: str = "Li"
    elements_by_type: tuple[str, ...] | None = None
    topology: Path | None = None
    volume_A3: float | None = None
    n_atoms: int | None = None
    n_mobile: int | None = None
    n_frames_expected: int | None = None
    label: str = ""
    origin: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    sanity: tuple[str, ...] = ()
    run_json: Path | None = None

    @property
    def family(self) -> str:
        """Reader family: ``lammps``, ``ase`` or ``mdanalysis``."""
        return FORMATS[self.format][0] if self.format in FORMATS else "mdanalysis"


def detect_format(path: Path, fmt: str | None = None) -> str:
    """Format key of ``path``: ``fmt`` when given, else from the file name (see :data:`FORMATS`)."""
    if fmt:
        return fmt.lower() if fmt.lower() in FORMATS else fmt.upper()
    name = path.name.lower()
    for key, (_family, _desc, pattern) in FORMATS.items():
        if re.search(pattern, name):
            return key
    known = ", ".join(f"{k} ({d})" for k, (_f, d, _p) in FORMATS.items())
    raise SetupError(f"{path}: cannot tell the trajectory format from the name; pass --format "
                     f"(one of: {known}; or any MDAnalysis format code)")


def source_from_run_dir(run_dir: str | os.PathLike) -> TrajectorySource:
    """The source of a ``lizrcl md`` run folder, from its ``run.json`` (validated)."""
    info = read_run_info(run_dir)
    extra = info.extra or {}
    warnings: list[str] = []
    status = extra.get("status")
    if status is not None and status != "complete":
        warnings.append(f"{info.path}: status {status!r}, not 'complete': the run is unfinished")
    expected = extra.get("n_frames_expected", extra.get("n_frames"))
    sanity = tuple(str(s) for s in extra.get("sanity") or ())
    return TrajectorySource(
        path=info.run_dir / str(extra.get("dump_file", DUMP_NAME)),
        format="lammpsdump",
        temperature_K=info.temperature_K,
        timestep_fs=info.timestep_fs,
        every=info.dump_every,
        mobile=info.mobile,
        elements_by_type=info.elements,
        volume_A3=info.volume_A3,
        n_atoms=info.n_atoms,
        n_mobile=info.n_mobile,
        n_frames_expected=int(expected) if isinstance(expected, int) else None,
        label=str(run_dir),
        origin={k: RUN_JSON for k in ("temperature_K", "timestep_fs", "every", "elements_by_type")},
        warnings=tuple(warnings),
        sanity=sanity,
        run_json=info.path,
    )


def vasprun_parameters(path: Path) -> dict[str, float]:
    """POTIM, TEBEG, TEEND, NSW, NBLOCK, IBRION from the INCAR block of a vasprun.xml (first value wins)."""
    opener = gzip.open if path.suffix == ".gz" else open
    head = []
    with opener(path, "rt", errors="replace") as handle:
        for line in handle:
            head.append(line)
            if "<calculation>" in line or "</parameters>" in line:
                break
    text = "".join(head)
    values: dict[str, float] = {}
    for key in ("POTIM", "TEBEG", "TEEND", "NSW", "NBLOCK", "IBRION"):
        # the INCAR block comes first; later repeats (e.g. in "response functions") are ignored
        found = re.search(rf'<i[^>]*name="{key}"[^>]*>\s*([^<\s]+)\s*<', text)
        if found:
            try:
                values[key] = float(found.group(1))
            except ValueError as exc:
                raise ParseError(path, f"{key} = {found.group(1)!r} is not a number") from exc
    return values


def _merge(path: Path, key: str, flag: str, file_value: Any, flag_value: Any, where: str,
           origin: dict[str, str]) -> Any:
    if file_value is not None and flag_value is not None and abs(float(file_value) - float(flag_value)) > 1e-9 * abs(float(file_value)):
        raise SetupError(f"{path}: {flag} {flag_value:g} contradicts {where} ({file_value:g}); drop the flag")
    if file_value is not None:
        origin[key] = where
        return file_value
    if flag_value is not None:
        origin[key] = f"flag {flag}"
    return flag_value


def source_from_file(
    path: str | os.PathLike,
    temperature_K: float | None = None,
    timestep_fs: float | None = None,
    every: int | None = None,
    mobile: str = "Li",
    types: Sequence[str] | None = None,
    topology: str | os.PathLike | None = None,
    fmt: str | None = None,
    volume_A3: float | None = None,
) -> TrajectorySource:
    """Source of a plain trajectory file; metadata from the file where it has it, else the flags.

    Raises
    ------
    SetupError
        Missing metadata (the message names the flag), a flag contradicting the file, or an
        unknown format.
    ParseError
        A vasprun.xml that is not an MD run.
    """
    path = Path(path)
    if not path.is_file():
        raise SetupError(f"{path}: no such trajectory file")
    fmt_key = detect_format(path, fmt)
    origin: dict[str, str] = {}
    warnings: list[str] = []
    expected = None
    file_t = file_dt = None
    if fmt_key == "vasprun":
        par = vasprun_parameters(path)
        if par.get("IBRION", 0) != 0:
            raise ParseError(path, f"IBRION = {par['IBRION']:g}: not a molecular-dynamics run (IBRION = 0)")
        file_dt = par.get("POTIM")
        if "TEBEG" in par and par.get("TEEND", par["TEBEG"]) == par["TEBEG"]:
            file_t = par["TEBEG"]
        elif "TEBEG" in par and temperature_K is None:
            raise SetupError(f"{path}: TEBEG {par['TEBEG']:g} K ≠ TEEND {par['TEEND']:g} K (a ramp); "
                             "pass --temperature for the temperature to assign")
        if every not in (None, 1):
            raise SetupError(f"{path}: vasprun.xml holds every ionic step; --every {every} does not apply")
        every = 1
        origin["every"] = "vasprun.xml (every ionic step)"
        expected = int(par["NSW"]) if "NSW" in par else None
    temperature = _merge(path, "temperature_K", "--temperature", file_t, temperature_K, "vasprun.xml TEBEG", origin)
    timestep = _merge(path, "timestep_fs", "--timestep-fs", file_dt, timestep_fs, "vasprun.xml POTIM", origin)
    if temperature is None:
        raise SetupError(f"{path}: the temperature is not in the file; pass --temperature K")
    if timestep is None:
        raise SetupError(f"{path}: the MD time step is not in the file; pass --timestep-fs DT (fs)")
    family = FORMATS[fmt_key][0] if fmt_key in FORMATS else "mdanalysis"
    if every is None and family != "lammps":
        raise SetupError(f"{path}: the number of MD steps between stored frames is not in the file; "
                         "pass --every N (1 if every step was stored)")
    if every is not None and "every" not in origin:
        origin["every"] = "flag --every"
    if family == "mdanalysis" and topology is None:
        raise SetupError(f"{path}: {fmt_key} files carry no atom names; pass --topology FILE "
                         "(a PDB, GRO, PSF or LAMMPS data file of the same atoms)")
    for value, flag in ((temperature, "--temperature"), (timestep, "--timestep-fs"), (every or 1, "--every")):
        if not float(value) > 0:
            raise SetupError(f"{path}: {flag} must be positive, got {value}")
    if types is not None:
        origin["elements_by_type"] = "flag --types"
    return TrajectorySource(
        path=path,
        format=fmt_key,
        temperature_K=float(temperature),
        timestep_fs=float(timestep),
        every=int(every) if every is not None else None,
        mobile=mobile,
        elements_by_type=tuple(types) if types else None,
        topology=Path(topology) if topology is not None else None,
        volume_A3=volume_A3,
        n_frames_expected=expected,
        label=str(path),
        origin=origin,
        warnings=tuple(warnings),
    )


def resolve_sources(
    paths: Sequence[str | os.PathLike],
    temperatures_K: Sequence[float] | None = None,
    **flags: Any,
) -> list[TrajectorySource]:
    """Sources for ``lizrcl analyze`` arguments: run folders as they are, files with the flags.

    Parameters
    ----------
    paths : sequence of str or PathLike
        Run folders (with run.json) or trajectory files, one per temperature.
    temperatures_K : sequence of float, optional
        One temperature for all files, or one per path (run folders ignore it).
    **flags
        ``timestep_fs``, ``every``, ``mobile``, ``types``, ``topology``, ``fmt``: see
        :func:`source_from_file`.
    """
    temps = list(temperatures_K or [])
    if len(temps) not in (0, 1, len(paths)):
        raise SetupError(f"--temperature: give one value, or one per trajectory ({len(paths)}), got {len(temps)}")
    out = []
    for i, p in enumerate(paths):
        p = Path(p)
        if p.is_dir():
            if (p / RUN_JSON).is_file():
                out.append(source_from_run_dir(p))
                continue
            raise SetupError(f"{p}: a folder without run.json; pass the trajectory file itself with "
                             "--temperature, --timestep-fs and --every")
        t = temps[i] if len(temps) == len(paths) else (temps[0] if temps else None)
        out.append(source_from_file(p, temperature_K=t, **flags))
    return out


def replace(source: TrajectorySource, **changes: Any) -> TrajectorySource:
    """A copy with some fields changed."""
    return dataclasses.replace(source, **changes)
