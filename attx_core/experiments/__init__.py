"""The computations behind the book's chapters and their analysis: runners that fill and read the results store
(:mod:`.runners`), the paper's transcribed tables beside ours (:mod:`.compare`), summaries and plots.

Data flow: chapter settings -> model (or its stand-in) + images -> attribution -> metric -> stored record per
image -> long DataFrame -> :func:`compare` with the transcribed paper table. Which chapters exist and what
they claim is the chapter registry's business (:mod:`attx_core.chapters`), one layer up.
"""
from .compare import captions, compare, display_table, model_label, notes_text, paper_layout, paper_table, provenance_line
from .compare import labels as compare_labels
from .resolve import ANALOGUES, NotComputedError, ResolvedModel, image_ids, image_set, resolve_model
from .runners import (
    ablation,
    ablation_section,
    attack_explorers,
    explorer_grid,
    fps_at_paper_settings,
    fps_table,
    heatmap_grid,
    infd_table,
    insdel_table,
    method_params,
    passes_per_image,
    published_vs_corrected,
    robustness_study,
    sanity_check,
    seed_stability,
)
from .summaries import (
    describe_maps,
    plusplus_sentence,
    relative_to,
    robustness_sentence,
    sanity_sentence,
    sanity_table,
    sanity_verdicts,
    seed_sentence,
    summary,
    text_claims,
    variant_sentence,
)

__all__ = [
    "ANALOGUES", "NotComputedError", "ResolvedModel", "ablation", "ablation_section", "attack_explorers", "captions", "compare",
    "compare_labels",
    "describe_maps", "display_table", "explorer_grid", "fps_at_paper_settings", "fps_table", "heatmap_grid", "image_ids", "image_set",
    "infd_table", "insdel_table", "method_params", "model_label", "notes_text", "paper_layout", "paper_table", "passes_per_image",
    "plots", "plusplus_sentence", "provenance_line", "published_vs_corrected", "relative_to", "resolve_model", "robustness_sentence",
    "robustness_study", "sanity_check", "sanity_sentence", "sanity_table", "sanity_verdicts", "seed_sentence", "seed_stability", "summary",
    "text_claims", "variant_sentence",
]


def __getattr__(name: str):
    """``plots`` (matplotlib, seaborn) imports on first use: computing the store needs no plotting library."""
    if name == "plots":
        import importlib

        return importlib.import_module(f"{__name__}.plots")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
