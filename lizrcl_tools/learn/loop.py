"""The self-learning loop: generate → filter and select → label → train → evaluate, per generation.

Work folder::

    WORK/recipe.json             the checked recipe; a rerun with another recipe is refused
    WORK/gen_000/candidates.extxyz   generated frames (rattles, volume scans, teacher/model MD)
    WORK/gen_000/selected.extxyz     physical and novel against the pool so far
    WORK/gen_000/labelled.extxyz     teacher labels (resumable), frames over the force bound dropped
    WORK/gen_000/train/              mace-torch training on the pool of generations 0..k
    WORK/gen_000/evaluate.json       the previous model's errors on this generation's frames
                                     (before training) and the new model's on its held-out split
    WORK/gen_000/<stage>.done        JSON marker written (atomically) when a stage is complete
    WORK/learn.json                  summary: model of the last generation, counts, errors

Rerunning the same command resumes: stages with a marker are not run again; an interrupted
stage is redone (labelling and training pick up their own partial outputs). With a cluster
(``--cluster FILE``/``--workers N``) MD generators, labelling chunks and training are tasks
whose output files are their record (:mod:`~lizrcl_tools.learn.parallel`): a rerun sends
only the tasks without one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import SetupError
from lizrcl_tools.learn.recipe import Recipe

STAGES = ("generate", "select", "label", "train", "evaluate")
"""Stages of one generation, in order."""


@dataclass(frozen=True)
class LearnResult:
    """Outcome of :func:`run_learning`.

    Attributes
    ----------
    work_dir : Path
        The work folder.
    model_path : Path
        Model of the last generation.
    generations : list of dict
        Per generation: the markers of its stages (counts, model, errors).
    """

    work_dir: Path
    model_path: Path
    generations: list[dict[str, Any]]


def generation_dir(work_dir: str | Path, k: int) -> Path:
    """``WORK/gen_000`` for k = 0."""
    return Path(work_dir) / f"gen_{k:03d}"


def _stage(gen_dir: Path, name: str, run: Callable[[], dict[str, Any]],
           on_stage: Callable[[str, str], None] | None) -> dict[str, Any]:
    """Run stage ``name`` unless its marker exists; write the marker with ``run()``'s summary."""
    from lizrcl_tools.fileio import write_json_atomic

    marker = gen_dir / f"{name}.done"
    if marker.exists():
        return json.loads(marker.read_text())
    if on_stage is not None:
        on_stage(gen_dir.name, name)
    summary = {"stage": name, **run(),
               "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json_atomic(marker, summary)
    return summary


def _check_recipe(work_dir: Path, recipe: Recipe) -> None:
    from lizrcl_tools.fileio import jsonable, write_json_atomic

    path = work_dir / "recipe.json"
    wanted = json.loads(json.dumps(jsonable(recipe.to_dict())))
    if path.exists():
        old = json.loads(path.read_text())
        if old != wanted:
            changed = sorted(k for k in set(old) | set(wanted) if old.get(k) != wanted.get(k))
            raise SetupError(f"{work_dir} holds a learning run with another recipe (differs in "
                             f"{', '.join(changed)}); use another work folder")
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, wanted)


def _labelled(gen_dir: Path) -> list[Any]:
    """The kept labelled frames of one generation (none if it found nothing novel)."""
    from lizrcl_tools.dataset.labelling import read_labelled_frames

    path = gen_dir / "labelled.extxyz"
    return read_labelled_frames(path) if path.stat().st_size else []


def starting_cells(structures: list[str]) -> list[Any]:
    """Starting cells (builder names, ``name@N`` supercells, structure files), each named in
    ``info`` (:func:`~lizrcl_tools.learn.generators.start_cell`)."""
    from lizrcl_tools.learn.generators import start_cell

    return [start_cell(name) for name in structures]


def committee(members: list[str], work_dir: Path, k: int, teacher: Callable[[], Any]) -> list[Any] | None:
    """Calculators of a disagreement committee in generation ``k``: ``previous``/``previous2``
    are the models trained in generations k−1/k−2 of the same work folder (read from their
    ``train.done``), ``teacher`` the recipe's teacher, anything else a reference name. None if
    a ``previous`` model does not exist yet (early generations skip the selection)."""
    from lizrcl_tools.dataset.references import get_reference

    calcs = []
    for member in members:
        if member in ("previous", "previous2"):
            j = k - (1 if member == "previous" else 2)
            marker = generation_dir(work_dir, j) / "train.done" if j >= 0 else None
            if marker is None or not marker.exists():
                return None
            calcs.append(get_reference(f"mace:{json.loads(marker.read_text())['model']}").calculator)
        elif member == "teacher":
            calcs.append(teacher().calculator)
        else:
            calcs.append(get_reference(member).calculator)
    return calcs


def check_plan(recipe: Recipe) -> list[str]:
    """Check what a recipe needs before anything runs, and describe it: the teacher's name is
    known, every starting cell builds (random ``mixed:x`` cells with a fixed seed), every SSW
    database exists. Returns one line per generation (name, cells, generators, epochs).

    Raises
    ------
    SetupError
        An unknown teacher, a cell that does not build, a missing file.
    """
    import numpy as np

    from lizrcl_tools.dataset.references import REFERENCES
    from lizrcl_tools.learn.generators import start_cell

    name = recipe.teacher.split(":", 1)[0]
    if name not in REFERENCES:
        raise SetupError(f"{recipe.source}: unknown teacher {recipe.teacher!r}; known: {', '.join(REFERENCES)}")
    if name == "mace" and not Path(recipe.teacher.split(":", 1)[1]).is_file():
        raise SetupError(f"{recipe.source}: teacher model {recipe.teacher.split(':', 1)[1]} not found")
    lines = []
    for k in range(recipe.generations):
        plan = recipe.plan(k)
        names = list(plan["structures"])
        for g in plan["generators"].values():
            names += g.get("structures", [])
            for db in g.get("databases", []):
                if not Path(db).is_file():
                    raise SetupError(f"{recipe.source}: generation {k} ({plan['name']}): no SSW database {db}")
        sizes = {}
        for spec in dict.fromkeys(names):
            try:
                sizes[spec] = len(start_cell(spec, np.random.default_rng(0)))
            except Exception as exc:  # noqa: BLE001 - reported with the recipe and the cell
                raise SetupError(f"{recipe.source}: generation {k} ({plan['name']}): cell {spec!r} "
                                 f"does not build ({type(exc).__name__}: {exc})") from exc
        lines.append(f"gen_{k:03d} {plan['name']}: cells {', '.join(f'{n} ({sizes[n]} atoms)' for n in plan['structures'])}; "
                     f"generators {', '.join(plan['generators'])}; "
                     f"{plan['train'].get('max_num_epochs', 'default')} epochs")
    return lines


def run_learning(
    recipe: Recipe,
    work_dir: str | Path,
    *,
    progress: bool = False,
    on_stage: Callable[[str, str], None] | None = None,
    cluster: Any = None,
) -> LearnResult:
    """Run (or resume) the self-learning loop of ``recipe`` in ``work_dir``.

    Parameters
    ----------
    recipe : Recipe
        Checked recipe (:func:`~lizrcl_tools.learn.recipe.load_recipe`).
    work_dir : str or Path
        Work folder (layout in the module docstring).
    progress : bool
        Progress bars of labelling and evaluation.
    on_stage : callable, optional
        ``on_stage(generation, stage)`` just before a stage actually runs (not when skipped).
    cluster : lizrcl_tools.cluster.ClusterConfig, optional
        Run the heavy stages as tasks (:mod:`~lizrcl_tools.learn.parallel`): MD generators on
        its ``md`` block, labelling in chunks on ``label``, training as one task on ``train``.
        None: everything in this process. Both give the same frames.

    Returns
    -------
    LearnResult
    """
    from lizrcl_tools.dataset.labelling import label_frames, read_labelled_frames
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic, write_json_atomic
    from lizrcl_tools.learn import frames as fr
    from lizrcl_tools.potential.train import TrainConfig

    work_dir = Path(work_dir)
    _check_recipe(work_dir, recipe)
    teacher_cache: list[Any] = []

    def teacher() -> Any:
        if not teacher_cache:
            teacher_cache.append(get_reference(recipe.teacher))
        return teacher_cache[0]

    worker_teacher = recipe.teacher
    if cluster is not None:
        from lizrcl_tools.learn.parallel import worker_reference

        worker_teacher = worker_reference(recipe.teacher)
    pool: list[Any] = []
    model: Path | None = None
    summaries = []
    for k in range(recipe.generations):
        gen = generation_dir(work_dir, k)
        gen.mkdir(parents=True, exist_ok=True)
        seed = recipe.seed + k
        plan = recipe.plan(k)
        previous_model = model

        def generate() -> dict[str, Any]:
            from lizrcl_tools.learn.generators import generate as make_frames

            cells = starting_cells(plan["structures"])
            frames, counts = make_frames(plan["generators"], cells, seed, lambda: teacher().calculator,
                                         previous_model, gen, cluster=cluster, teacher_name=worker_teacher)
            write_atoms_atomic(gen / "candidates.extxyz", frames)
            return {"round": plan["name"], "n_candidates": len(frames), "by_generator": counts, "seed": seed,
                    "md_with": "teacher" if previous_model is None else str(previous_model)}

        def select() -> dict[str, Any]:
            from ase.io import read

            candidates = read(gen / "candidates.extxyz", index=":")
            ok = [a for a in candidates if fr.physical(a)]
            n_physical = len(ok)
            disagreement: dict[str, Any] = {}
            if plan["committee"]:
                calcs = committee(plan["committee"], work_dir, k, teacher)
                if calcs is None:  # generation 0 or 1: no previous models to compare yet
                    disagreement = {"committee": plan["committee"], "applied": False,
                                    "why": "a committee member is a model of a generation not yet made"}
                elif ok:
                    keep, scores = fr.select_disagreement(ok, calcs, plan["min_disagreement_eV_A"])
                    for atoms, score in zip(ok, scores):
                        atoms.info["force_disagreement_eV_A"] = float(score)
                    disagreement = {"committee": plan["committee"], "applied": True,
                                    "min_disagreement_eV_A": plan["min_disagreement_eV_A"],
                                    "n_disagreeing": len(keep), "max_score_eV_A": float(scores.max())}
                    ok = [ok[i] for i in keep]
            chosen = fr.select_novel(ok, pool, plan["max_frames"], plan["min_novelty"])
            write_atoms_atomic(gen / "selected.extxyz", [ok[i] for i in chosen])
            return {"n_candidates": len(candidates), "n_physical": n_physical, "n_selected": len(chosen),
                    "min_novelty": plan["min_novelty"], **({"disagreement": disagreement} if disagreement else {})}

        def label() -> dict[str, Any]:
            from ase.io import read

            selected = read(gen / "selected.extxyz", index=":") if (gen / "selected.extxyz").stat().st_size else []
            if not selected:  # nothing novel: an empty generation, the pool stays as it was
                (gen / "labelled.extxyz").write_text("")
                return {"n_labelled": 0, "n_kept": 0, "teacher": recipe.teacher}
            raw = gen / "labelled_raw.extxyz"
            if cluster is None:
                label_frames(selected, teacher(), raw, progress=progress)
            else:
                from lizrcl_tools.learn.parallel import label_on_cluster

                label_on_cluster(selected, worker_teacher, raw, cluster)
            labelled = read_labelled_frames(raw)
            kept = [a for a in labelled if fr.physical(a, recipe.max_force_eV_A)]
            write_atoms_atomic(gen / "labelled.extxyz", kept)
            return {"n_labelled": len(labelled), "n_kept": len(kept), "teacher": recipe.teacher,
                    "max_force_eV_A": recipe.max_force_eV_A}

        def fit() -> dict[str, Any]:
            frames = [a for j in range(k + 1) for a in _labelled(generation_dir(work_dir, j))]
            config = TrainConfig(name=f"gen_{k:03d}", seed=recipe.seed, **plan["train"])
            if cluster is not None:
                from lizrcl_tools.learn.parallel import train_on_cluster

                return train_on_cluster(frames, gen / "train", config, cluster, f"train-gen_{k:03d}")
            from lizrcl_tools.learn.parallel import train_task

            return train_task(frames, gen / "train", config, progress=progress)

        def evaluate() -> dict[str, Any]:
            from lizrcl_tools.potential.evaluate import evaluate_frames

            new = _labelled(gen)
            before = None
            if previous_model is not None and new:
                before = evaluate_frames(new, get_reference(f"mace:{previous_model}").calculator,
                                         progress=progress)
            report = json.loads((gen / "train.done").read_text())["report"]
            held_out = report.get("test") or report.get("valid")
            out = {"previous_model_on_new_frames": before, "model_held_out": held_out}
            write_json_atomic(gen / "evaluate.json", out)
            return out

        markers = {}
        for name, run in (("generate", generate), ("select", select), ("label", label), ("train", fit),
                          ("evaluate", evaluate)):
            markers[name] = _stage(gen, name, run, on_stage)
        pool += _labelled(gen)
        model = Path(markers["train"]["model"])
        summaries.append({"generation": k, **{n: {x: v for x, v in m.items() if x != "report"}
                                              for n, m in markers.items()}})
    assert model is not None
    write_json_atomic(work_dir / "learn.json", {"model": str(model), "generations": summaries})
    return LearnResult(work_dir=work_dir, model_path=model, generations=summaries)
