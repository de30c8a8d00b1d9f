"""What the book's notebooks call: one function per chapter, results cached, paper tables to compare.

Data flow: profile settings -> model (or its analogue) + images -> attribution -> metric -> cached
record per image -> long DataFrame -> :func:`compare` with the transcribed paper table.
"""
from . import plots
from .budget import budget
from .claims import CLAIMS, Verdict, check, claims_summary, text_claims
from .compare import captions, compare, display_table, model_label, notes_text, paper_layout, paper_table, provenance_line, settings_text
from .profiles import PROFILES, run_options, settings, stored_only
from .resolve import ANALOGUES, NotComputedError, ResolvedModel, image_set, resolve_model
from .summaries import (
    describe_maps,
    plusplus_sentence,
    relative_to,
    robustness_sentence,
    sanity_sentence,
    sanity_table,
    seed_sentence,
    summary,
    variant_sentence,
)
from .runners import (
    MethodUnavailable,
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

__all__ = [
    "explorer_grid",
    "model_label",
    "paper_layout",
    "run_options",
    "stored_only",
    "describe_maps",
    "plusplus_sentence",
    "relative_to",
    "robustness_sentence",
    "sanity_sentence",
    "sanity_table",
    "seed_sentence",
    "summary",
    "text_claims",
    "variant_sentence",
    "CLAIMS",
    "Verdict",
    "check",
    "claims_summary",
    "ablation_section",
    "plots",
    "ANALOGUES",
    "MethodUnavailable",
    "NotComputedError",
    "PROFILES",
    "ResolvedModel",
    "ablation",
    "attack_explorers",
    "budget",
    "captions",
    "compare",
    "display_table",
    "fps_at_paper_settings",
    "fps_table",
    "heatmap_grid",
    "image_set",
    "infd_table",
    "insdel_table",
    "method_params",
    "notes_text",
    "paper_table",
    "passes_per_image",
    "provenance_line",
    "published_vs_corrected",
    "robustness_study",
    "resolve_model",
    "sanity_check",
    "seed_stability",
    "settings",
    "settings_text",
]
