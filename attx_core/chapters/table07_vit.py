"""Table 7: Table 1's protocol on ViT-B/16 (Appendix C); only the paper's own model can test it."""
from ..experiments.runners import insdel_table
from .protocol import PAPER_METHODS, QUICK_METHODS
from .registry import Chapter, Claim, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="table07_vit",
    title="Table 7: ViT-B/16",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=7,
    settings={"models": ["vit_b_16"], "methods": PAPER_METHODS},
    profiles={"quick": {"methods": QUICK_METHODS}},  # standard: the lite0 stand-in, Table 1's entries
    sections=(whole(insdel_table, "table07_vit"),),
    claims=(Claim(name="table07", label="Table 7", text="AttEXplore has the highest insertion score on ViT-B/16 (Table 7).",
                  priority=1, own_model="no ViT-B/16 weights here; a CNN stand-in cannot test a transformer claim"),),
))
