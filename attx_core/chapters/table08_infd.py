"""Table 8: infidelity (INFD) of ten attribution methods (lower is more faithful)."""
from ..experiments.runners import infd_table
from .protocol import PAPER_METHODS, PAPER_MODELS, QUICK_METHODS
from .registry import Chapter, Claim, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="table08_infd",
    title="Table 8: infidelity (INFD)",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=8,
    settings={"models": list(PAPER_MODELS), "methods": {m: p for m, p in PAPER_METHODS.items() if m != "gradcam"}, "n_perturbations": 100},
    profiles={"quick": {"models": ["inception_v3"], "n_images": 2, "methods": {m: p for m, p in QUICK_METHODS.items() if m != "gradcam"},
                        "n_perturbations": 20}},
    sections=(whole(infd_table, "table08_infd"),),
    claims=(Claim(name="table08", label="Table 8", metric="infd", priority=1,
                  text="AttEXplore has the lowest INFD, i.e. the highest faithfulness (Table 8)."),),
))
