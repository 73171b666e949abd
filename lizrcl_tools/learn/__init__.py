"""The SSW-NN self-learning loop as package code: ``lizrcl learn RECIPE.yaml -o WORK``.

Modules: :mod:`~lizrcl_tools.learn.recipe` (recipes as YAML data, checked),
:mod:`~lizrcl_tools.learn.frames` (generators, physical filter, novelty selection),
:mod:`~lizrcl_tools.learn.loop` (:func:`run_learning`: generation folders with stage markers,
resumed by rerunning), :mod:`~lizrcl_tools.learn.parallel` (its heavy stages as cluster tasks).
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

_EXPORTS = {
    "Recipe": "lizrcl_tools.learn.recipe",
    "load_recipe": "lizrcl_tools.learn.recipe",
    "recipe_from_dict": "lizrcl_tools.learn.recipe",
    "LearnResult": "lizrcl_tools.learn.loop",
    "run_learning": "lizrcl_tools.learn.loop",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
