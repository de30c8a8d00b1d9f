"""Figure 4: the heatmaps of every method on the paper's six images."""
from ..experiments.runners import heatmap_grid
from .protocol import PAPER_METHODS, QUICK_METHODS
from .registry import Chapter, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="figure04_heatmaps",
    title="Figure 4: heatmaps of every method",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=9,
    settings={"models": ["inception_v3"], "n_images": 6, "methods": PAPER_METHODS},
    profiles={"quick": {"n_images": 2, "methods": QUICK_METHODS}},
    sections=(whole(heatmap_grid),),
    priority=4,
))
