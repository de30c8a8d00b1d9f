"""The explorer: AttEXplore's maps and curves over a grid of its explorers and parameters, and the path of one setting, precomputed."""
from ..experiments.explorer import exploration_path
from ..experiments.runners import explorer_grid
from .protocol import QUICK_INSDEL
from .registry import Chapter, Section, register_chapter
from .sections import whole

# Epsilon in 1/255; "samples" = each explorer's sample-count knob (runners.SAMPLE_KNOBS); curves at 16 x 224 px per step.
GRID = {"attacks": ["ssa", "mig", "gra", "pgd", "none"], "epsilon": [8, 16, 32, 48], "samples": [5, 20], "num_steps": [5, 10]}
QUICK_GRID = {"attacks": ["ssa", "mig", "gra", "pgd", "none"], "epsilon": [16, 48], "samples": [5], "num_steps": [5]}
# The path shown step by step: AttEXplore as published (SSA, 16/255, N 20, 10 steps), the grid's default setting A.
PATH = {"attack": "ssa", "epsilon": 16, "N": 20, "num_steps": 10, "copies": 6}
SETTINGS = {"models": ["inception_v3"], "images": "sample", "n_images": 4, "grid": GRID, "insdel": QUICK_INSDEL, "path": PATH}

register_chapter(Chapter(
    name="explorer",
    title="Explorer: AttEXplore's parameters and every method's heatmap",
    part="Beyond the tables",
    order=5,
    settings=SETTINGS,
    profiles={"quick": {"n_images": 2, "grid": QUICK_GRID, "path": {**PATH, "N": 5, "num_steps": 5}}},
    sections=(whole(explorer_grid, axis=()), Section("path", lambda cfg, opts: exploration_path(**cfg, **opts))),
    priority=4,
))
