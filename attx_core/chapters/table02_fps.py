"""Table 2: images attributed per second (AttEXplore, Section 5.2)."""
from ..experiments.runners import fps_table
from .protocol import FPS_METHODS, PAPER_METHODS, QUICK_METHODS, pick
from .registry import Chapter, Claim, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="table02_fps",
    title="Table 2: speed (images attributed per second)",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=2,
    settings={"models": ["inception_v3"], "n_images": 100, "methods": pick(PAPER_METHODS, FPS_METHODS)},
    profiles={
        "quick": {"n_images": 2, "batch_size": 1, "methods": pick(QUICK_METHODS, FPS_METHODS)},
    },
    sections=(whole(fps_table, "table02_fps"),),
    # FPS depends on the hardware: the ratio AttEXplore / rival is what carries over, hence a relative claim.
    claims=(Claim(name="table02", label="Table 2", text="AttEXplore is the fastest of the six methods compared (Table 2).",
                  metric="fps", kind="relative", priority=1),),
    priority=9,
))
