"""Table 1: insertion and deletion of eleven attribution methods on three CNNs (AttEXplore, Section 5.2)."""
from ..experiments.runners import insdel_table
from .protocol import PAPER_METHODS, PAPER_MODELS, QUICK_METHODS
from .registry import Chapter, Claim, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="table01_insdel",
    title="Table 1: insertion and deletion scores of eleven attribution methods",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=1,
    settings={"models": list(PAPER_MODELS), "methods": PAPER_METHODS},
    profiles={
        "quick": {"models": ["inception_v3"], "methods": QUICK_METHODS},
    },
    sections=(whole(insdel_table, "table01_insdel"),),
    claims=(Claim(
        name="table01", label="Table 1",
        text="AttEXplore has the highest insertion score of eleven attribution methods on every model, and its deletion score "
             "stays low, below AGI's (Table 1, Section 5.2; the conclusion: 'substantial improvements in both Insertion and "
             "Deletion Scores'). Insertion decides; deletion is reported against every rival.",
        metric="insertion", also=("deletion",), priority=1),),
))
