"""Sanity check (Adebayo et al. 2018): cascading randomisation of the network's top blocks."""
from ..experiments.runners import sanity_check
from .protocol import PAPER_METHODS, QUICK_METHODS, SANITY_METHODS, pick
from .registry import Chapter, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="sanity_check",
    title="Sanity check: cascading model-parameter randomisation",
    part="Beyond the tables",
    order=3,
    settings={"models": ["inception_v3"], "n_images": 16, "methods": pick(PAPER_METHODS, SANITY_METHODS), "stages": 8},
    profiles={"quick": {"n_images": 1, "methods": pick(QUICK_METHODS, ("saliency", "ig", "gradcam", "attexplore")), "stages": 4}},
    sections=(whole(sanity_check, axis=()),),
    priority=5,
))
