"""Li+ transport from MD run folders: MSD → D (± err) → σ(T) → Arrhenius Ea and σ(300 K).

Modules: :mod:`~.runinfo` (run-folder contract), :mod:`~.trajectory` (MDAnalysis reader),
:mod:`~.msd` (FFT MSD), :mod:`~.diffusion` (fit window, D with block errors),
:mod:`~.conductivity` (Nernst–Einstein), :mod:`~.arrhenius`, :mod:`~.plots`, :mod:`~.report`,
:mod:`~.pipeline` (:func:`analyze_runs`), :mod:`~.synthetic` (random walks of known D).

Public API::

    from lizrcl_tools.analysis import analyze_runs, format_table
    result = analyze_runs(["md_500K", "md_600K"], out_dir="out")   # ConductivityResult
    print(format_table(result))
"""

from lizrcl_tools.analysis.pipeline import analyze_run, analyze_runs
from lizrcl_tools.analysis.report import format_table

__all__ = ["analyze_run", "analyze_runs", "format_table"]
