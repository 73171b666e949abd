"""``lizrcl learn RECIPE.yaml -o WORK``: the self-learning loop, resumed by rerunning."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_cluster_arguments, cluster_of


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``lizrcl learn`` arguments."""
    parser.add_argument("recipe", help="recipe file (YAML: teacher, generations, structures, generators, "
                        "filter, select, train; see lizrcl_tools/learn/recipe.py)")
    parser.add_argument("-o", "--output",
                        help="work folder: gen_000/, gen_001/, ... (rerun the same command to resume)")
    parser.add_argument("--check", action="store_true",
                        help="check the recipe (keys, teacher name, every starting cell builds, SSW databases "
                        "exist), print the plan per generation, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_cluster_arguments(parser)
    parser.epilog = ("With --workers/--cluster the MD generators (teacher_md, model_md) run on the cluster "
                     "file's md block, labelling in chunks on label, training as one task on train (a GPU "
                     "block there); same frames as without. SSW walks stay in this process.")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.learn.loop import run_learning
    from lizrcl_tools.learn.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    if args.check:
        from lizrcl_tools.learn.loop import check_plan

        print("\n".join(check_plan(recipe)))
        print(f"{args.recipe}: recipe OK ({recipe.generations} generations, teacher {recipe.teacher}, seed {recipe.seed})")
        return 0
    if not args.output:
        from lizrcl_tools.errors import SetupError

        raise SetupError("-o/--output WORK is needed to run the recipe (or --check to only check it)")
    cluster = cluster_of(args)
    result = run_learning(recipe, args.output, progress=not args.no_progress, cluster=cluster,
                          on_stage=lambda gen, stage: print(f"[{gen}] {stage}", flush=True))
    for gen in result.generations:
        held = (gen["evaluate"].get("model_held_out") or {})
        print(f"gen {gen['generation']}: {gen['label'].get('n_kept', 0)} new frames, pool "
              f"{gen['train']['n_pool']}; held-out {held.get('energy_rmse_meV_per_atom', float('nan')):.2f} "
              f"meV/atom, {held.get('force_rmse_eV_per_A', float('nan')):.3f} eV/Å")
    print(f"model: {result.model_path}")
    return 0
