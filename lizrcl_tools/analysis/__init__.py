"""Li+ transport from MD trajectories: MSD → D (± err) → σ(T) → Arrhenius Ea and σ(300 K).

Modules: :mod:`~.runinfo` (run-folder contract), :mod:`~.sources` (any trajectory file and its
metadata: run.json, vasprun.xml or flags), :mod:`~.lammpsdump` (streaming dump reader),
:mod:`~.unwrap` (unwrapped / image flags / minimum image), :mod:`~.trajectory` (mobile ions
from LAMMPS, ASE or MDAnalysis readers), :mod:`~.diffusive` (diffusive-regime criteria, hops),
:mod:`~.msd` (FFT MSD), :mod:`~.diffusion` (fit window, D with block errors),
:mod:`~.conductivity` (Nernst–Einstein), :mod:`~.arrhenius`, :mod:`~.plots`, :mod:`~.report`,
:mod:`~.pipeline` (:func:`analyze_runs`), :mod:`~.synthetic` (random walks of known D).

Public API::

    from lizrcl_tools.analysis import analyze_runs, format_table
    result = analyze_runs(["md_500K", "md_600K"], out_dir="out")   # ConductivityResult
    print(format_table(result))

    from lizrcl_tools.analysis.sources import resolve_sources        # files + flags
    sources = resolve_sources(["T600.lammpstrj", "T700.lammpstrj"], [600, 700], timestep_fs=1.0,
                              types=["Li", "Zr", "Cl"])
    result = analyze_runs(sources, out_dir="out2")
"""

from lizrcl_tools.analysis.pipeline import analyze_run, analyze_runs
from lizrcl_tools.analysis.report import format_table

__all__ = ["analyze_run", "analyze_runs", "format_table"]
