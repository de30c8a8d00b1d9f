"""Run profiles as data: which images, how many, which models and which method settings per chapter.

``paper`` is the paper's protocol (1000 images requested: the shared val subset has 500, all used;
every method at its published settings, three CNNs). ``quick`` makes the whole book finish in about
30 minutes on 2 CPU cores: few packaged photos, one model, coarser insertion/deletion curves and
fewer samples / steps where a method would otherwise cost minutes per image. Every chapter prints
its settings and says where they deviate from the paper.

Paper settings (seed 004, Section 5.1) use epsilon 48/255 for AttEXplore; the published code's
default is 16/255 (reference NOTES section 1). Tables 3, 4 and 6 are run at 16, as the paper states.

Quick-profile budget: estimated seconds (``budget("quick")``, from the methods' passes-per-image
formulas at 0.12 s per forward+backward and 0.09 s per forward of efficientnet_lite0 on 2 cores) and
the measured wall time of ``make book`` from a fresh clone on 2 idle CPU cores (2026-11-23, kernel
start included, CPU chunk of 4 images; robustness trains its 12 nets from scratch and was timed in
a separate from-scratch run after the chunk-size change):

======================  ========  ========  ==============================================
chapter                 estimate  measured  what dominates
======================  ========  ========  ==============================================
table01_insdel          223       30        11 methods x 4 images, AGI and AttEXplore
table02_fps             47        13        6 methods x 2 images, attribution only
ablation_n              158       36        AttEXplore over N (Tables 3, 9, 10), 2 images
ablation_num_steps      73        20        AttEXplore over num_steps (Tables 4, 11)
ablation_epsilon        80        20        AttEXplore over epsilon (Tables 5, 12)
table06_attacks         91        15        8 explorers x 2 images
table07_vit             223       6         same analogue and settings as Table 1: cached
table08_infd            90        19        10 methods x 2 images, 20 perturbations
figure04_heatmaps       52        15        11 methods x 2 images, maps only
attexplorepp            217       37        ten explorers, DP / beta / epsilon, 3 seeds
published_vs_corrected  91        12        published-code variants vs corrected
sanity_check            29        11        cascading randomisation, 1 image, 4 stages
robustness              -         87        MNIST + FMNIST x 6 objectives, trained here
explorer, intro         0         14        read the cache
HTML build              -         3         jupyter-book build -W -n
total                             ~340      (about 6 minutes wall)
======================  ========  ========  ==============================================

``standard`` is the paper's protocol exactly (every method at its published settings = the registered
defaults plus the paper's AttEXplore epsilon 48/255, no reductions; insertion/deletion at 224 pixels
per step, zero substrate, the published channel-union ordering; seed 3407) on the real-weight
stand-ins EfficientNet-Lite0/1/2 for Inception-v3/ResNet-50/VGG-16 (always the stand-ins,
``stand_ins``, so the store does not depend on which weights a machine has cached), on the shared
validation subset, with image counts sized for background CPU runs: Table 1 400 images on lite0 (see the power analysis) and
100 each on lite1/lite2 (``n_images_per_model``); Table 6, the AttEXplore++ explorers and Table 8
(INFD) 100; the ablations (Tables 3-5, 9-12) 64 on lite0; Figure 4 the paper's 6. Chapters the
issue sets no count for: Table 2 (FPS) 8 images, published-vs-corrected 64, sanity check 16,
robustness at the ``cpu`` robustness scale (the quick nets, NA/AA on every test image, 500 attacked images
per net: what fits a CPU; the paper-size scales are GPU jobs, priced by ``attx bench --robustness``). ``attx compute --profile standard`` fills its store
(``data/results/standard/``, committed) in the order ``compute_order`` gives.

Power analysis
--------------
Pilot (2026-11-23, session 3): the first 8 images of the shared subset on EfficientNet-Lite0 with all eleven
methods of Table 1 (AttEXplore and AGI included), paired differences AttEXplore - rival
(:func:`~attx_core.experiments.power.paired_power`; command: ``attx compute --only table01_insdel:inception_v3``,
then ``paired_power`` on the stored frame). Paired sd of the differences: insertion 0.09-0.19 (vs AGI 0.112),
deletion 0.013-0.15 (vs AGI 0.119). Images needed for a paired two-sided test at 5% with 80% power to detect the
paper's Table-1 (Inception-v3) differences: insertion vs AGI (0.049) ~41, vs Saliency (0.076) ~29, vs BIG ~5, vs
IG, DeepLIFT, Fast-IG, EG, Guided IG, SmoothGrad < 6, vs Grad-CAM (0.024) ~369; deletion vs Grad-CAM (0.079) ~29,
vs BIG (0.008) ~256, vs AGI (0.014) ~553, vs Saliency ~731, vs Guided IG ~1,000, vs SmoothGrad ~1,500, vs Fast-IG
~2,550, vs IG and DeepLIFT ~19,000-20,000. Consequences: Table 1 on Lite0 stays at 400 images (the shared subset
has 500): it can separate every insertion claim, Grad-CAM's narrowly; the deletion claims against AGI, Saliency,
Guided IG, SmoothGrad, Fast-IG, IG and DeepLIFT cannot be separated at any count this subset allows, and the page
reports them as "not separated" rather than as a verdict. The 8-image pilot's sd is itself uncertain (about
+-25%); recomputed at 56 images (2026-11-24, session 4, same command): paired sd insertion 0.09-0.21 (vs AGI
0.094), deletion 0.034-0.13 (vs AGI 0.076). Images needed: insertion vs AGI ~29, Saliency ~19, BIG ~10,
SmoothGrad ~11, Grad-CAM ~324, the others < 7; deletion vs EG ~2, Grad-CAM ~20, BIG ~148, AGI ~227, Guided IG
~268, Saliency ~289, SmoothGrad ~417, Fast-IG ~1,000, DeepLIFT ~5,500, IG ~6,200. So 400 images separate every
insertion claim and the deletion claims against AGI, BIG, Guided IG, Saliency and SmoothGrad; Fast-IG, DeepLIFT
and IG stay out of reach. At 56 images the observed insertion lead over AGI is +0.004 [-0.019, +0.027] (paired bootstrap): the
paper's +0.049 lies above that interval on the Lite0 stand-in. Cost: the whole Table 1 protocol is ~260 s per image on one CPU thread
(``attx bench --table1``), i.e. ~29 CPU-hours for 400 images: a GPU job, or many background sessions.

Budget spent (issue 16: four background sessions on the 2-core CPU, 2026-11-23/24; no GPU was ever lent). The
store reached (``attx compute --status``): Table 1 on Lite0 140 paired images with all eleven methods (148 for
some), Lite1 0-8, Lite2 0; Table 2 8/8, Figure 4 6/6, the sanity check 16/16, the explorer grid and the
robustness ``cpu`` scale complete; AttEXplore++ and published-vs-corrected only the settings they share with
Table 1 (100 and 64 images); Tables 3-6 and 8 none. The last session filled 60 images at ~210 s per image per thread (two one-thread
workers). At n = 140 insertion separates AttEXplore from 9 of 10 rivals (Grad-CAM +0.027 [+0.001, +0.051]) but
not from AGI (+0.013 [-0.004, +0.030]; the paper's +0.049 lies above the interval). The targets above are kept:
they are what the claims need and what a GPU run fills; lowering them to what a CPU reached would make the pages
say "at target" without deciding more. Every page states n against its target and the CPU-hours still missing.
"""
from __future__ import annotations

import copy
from typing import Any

from ..validate import require

PAPER_MODELS = ("inception_v3", "resnet50", "vgg16")
# Insertion/deletion protocol: the reference's 224 pixels per step, zero substrate, channel-union order.
PAPER_INSDEL = {"step": 224, "substrate": "zeros", "order": "reference"}
QUICK_INSDEL = {"step": 224 * 16, "substrate": "zeros", "order": "reference"}

# The methods of Table 1 with the paper's settings (reference NOTES section 3); {} = method defaults.
PAPER_METHODS: dict[str, dict[str, Any]] = {
    "gradcam": {},
    "big": {},
    "saliency": {},
    "deeplift": {},
    "guided_ig": {},
    "expected_gradients": {"background": "evaluation_set"},
    "fast_ig": {},
    "ig": {},
    "smoothgrad": {},
    "agi": {},
    "attexplore": {"epsilon": 48 / 255},
}
# Cheaper settings for the quick profile (parameter names as the methods declare them; a name a
# method does not declare is dropped with a visible note, see runners.method_params).
QUICK_METHODS: dict[str, dict[str, Any]] = {
    "gradcam": {},
    "big": {"num_steps": 5, "steps": 20},
    "saliency": {},
    "deeplift": {},
    "guided_ig": {"steps": 20},
    "expected_gradients": {"background": "evaluation_set"},
    "fast_ig": {},
    "ig": {"steps": 20},
    "smoothgrad": {"n_samples": 10},
    "agi": {"num_classes": 4, "num_steps": 8},
    "attexplore": {"epsilon": 48 / 255, "N": 5, "num_steps": 5},
}
# AttEXplore++ sensitivity: parameter -> values (epsilon in 1/255) and the explorer it belongs to (beta is
# GRA's sampling radius; DP = di_prob, the input-diversity probability of the SSA explorer).
# Table 6 / AttEXplore++ explorers (attexplore's ``attack``; "none" = attack=None, the NoAttack row). Each explorer
# runs at its own published settings (the old Table-6 code's via preset="table6"): a shared base may only hold
# knobs every explorer has (epsilon, num_steps, ...), never N, so no explorer's defaults are overridden.
TABLE6_ATTACKS = ("none", "ssa", "pgd", "difgsm", "tifgsm", "mifgsm", "sinifgsm", "naa")
PLUSPLUS_ATTACKS = ("fgsm", "pgd", "mifgsm", "difgsm", "tifgsm", "sinifgsm", "naa", "ssa", "mig", "gra")

_PAPER_ABLATION_BASE = {"epsilon": 16 / 255, "num_steps": 10, "N": 20}
# The static explorer's grid (epsilon in 1/255; "samples" = each explorer's sample-count knob, see
# runners.SAMPLE_KNOBS), precomputed into the store; curves at 16 x 224 pixels per step (15 points) for display.
EXPLORER_GRID = {"attacks": ["ssa", "mig", "gra", "pgd", "none"], "epsilon": [8, 16, 32, 48], "samples": [5, 20], "num_steps": [5, 10]}
QUICK_EXPLORER_GRID = {"attacks": ["ssa", "mig", "gra", "pgd", "none"], "epsilon": [16, 48], "samples": [5], "num_steps": [5]}
EXPLORER = {"models": ["inception_v3"], "images": "sample", "n_images": 4, "grid": EXPLORER_GRID, "insdel": QUICK_INSDEL}


def _ablation(base: dict[str, Any], sections: dict[str, dict[str, Any]], models: tuple[str, ...], n_images: int | None) -> dict[str, Any]:
    return {"models": list(models), "n_images": n_images, "method": "attexplore", "base": base, "sections": sections}


PROFILES: dict[str, dict[str, Any]] = {
    "paper": {
        "description": "the paper's protocol: every image of the shared val subset (500 of the paper's 1000), three CNNs, published settings",
        "images": "val-subset",
        "n_images": 1000,
        "seed": 3407,
        "batch_size": 8,
        "insdel": PAPER_INSDEL,
        "chapters": {
            "table01_insdel": {"models": list(PAPER_MODELS), "methods": PAPER_METHODS},
            "table02_fps": {"models": ["inception_v3"], "n_images": 100, "methods": {m: PAPER_METHODS[m] for m in ("big", "agi", "ig", "smoothgrad", "guided_ig", "attexplore")}},
            "ablation_n": _ablation(_PAPER_ABLATION_BASE, {
                "table03_n": {"parameter": "N", "values": [10, 20, 30, 40, 50, 60]},
                "table09_n_small": {"parameter": "N", "values": list(range(1, 10))},
                "table10_n_eps48": {"parameter": "N", "values": [*range(1, 11), 20, 30, 40, 50, 60], "base": {"epsilon": 48 / 255}},
            }, PAPER_MODELS, None),
            "ablation_num_steps": _ablation(_PAPER_ABLATION_BASE, {
                "table04_num_steps": {"parameter": "num_steps", "values": [5, 10, 15, 20, 25, 30]},
                "table11_num_steps_small": {"parameter": "num_steps", "values": [1, 2, 3, 4]},
            }, PAPER_MODELS, None),
            "ablation_epsilon": _ablation(_PAPER_ABLATION_BASE, {
                "table05_epsilon": {"parameter": "epsilon", "values": [8, 16, 24, 32, 40, 48]},
                "table12_epsilon_small": {"parameter": "epsilon", "values": [1, 2, 3, 4, 5, 6, 7]},
            }, PAPER_MODELS, None),
            "table06_attacks": {"models": list(PAPER_MODELS), "base": {"preset": "table6"}, "attacks": list(TABLE6_ATTACKS)},
            "table07_vit": {"models": ["vit_b_16"], "methods": PAPER_METHODS},
            "table08_infd": {"models": list(PAPER_MODELS), "methods": {m: p for m, p in PAPER_METHODS.items() if m != "gradcam"}, "n_perturbations": 100},
            "figure04_heatmaps": {"models": ["inception_v3"], "n_images": 6, "methods": PAPER_METHODS},
            "explorer": EXPLORER,
            "attexplorepp": {"models": ["inception_v3", "resnet50", "vgg16", "maxvit_t", "vit_b_16"], "base": {"epsilon": 16 / 255},
                             "attacks": list(PLUSPLUS_ATTACKS), "sensitivity": {"epsilon": {"values": [8, 16, 32, 48]}, "di_prob": {"values": [0.1, 0.5, 0.9]},
                                             "beta": {"values": [2.0, 3.5, 5.0], "attack": "gra"}},
                             "seeds": [0, 1, 2, 3407]},
            "published_vs_corrected": {"models": ["inception_v3"], "base": {"epsilon": 16 / 255}},
            "sanity_check": {"models": ["inception_v3"], "n_images": 16, "methods": {m: PAPER_METHODS[m] for m in ("saliency", "ig", "smoothgrad", "gradcam", "attexplore")}, "stages": 8},
            "robustness": {"datasets": ["mnist", "fmnist", "gtsrb", "flower17"], "objectives": ["natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar"], "robust_profile": "paper",
                           "eps": None},  # None: each dataset's own radius (attx_core.robust.settings); also a new cache key (issue 14)
        },
    },
    "standard": {
        "description": "the paper's protocol on the EfficientNet-Lite0/1/2 stand-ins and the shared val subset, "
                       "400 images for Table 1 on lite0, 100 or 64 elsewhere (a committed store filled by `attx compute`)",
        "images": "val-subset",
        "n_images": 100,
        "seed": 3407,
        "batch_size": 2,  # small batches: `attx compute --hours` stops between them
        "insdel": PAPER_INSDEL,
        "stand_ins": True,
        "book_reads_store": True,  # `make book` renders what `attx compute` stored; it computes nothing
        "chapters": {
            "table01_insdel": {"models": list(PAPER_MODELS), "n_images": 400, "n_images_per_model": {"resnet50": 100, "vgg16": 100},
                               "methods": PAPER_METHODS},
            "table02_fps": {"models": ["inception_v3"], "n_images": 8, "methods": {m: PAPER_METHODS[m] for m in ("big", "agi", "ig", "smoothgrad", "guided_ig", "attexplore")}},
            "ablation_n": _ablation(_PAPER_ABLATION_BASE, {
                "table03_n": {"parameter": "N", "values": [10, 20, 30, 40, 50, 60]},
                "table09_n_small": {"parameter": "N", "values": list(range(1, 10))},
                "table10_n_eps48": {"parameter": "N", "values": [*range(1, 11), 20, 30, 40, 50, 60], "base": {"epsilon": 48 / 255}},
            }, ("inception_v3",), 64),
            "ablation_num_steps": _ablation(_PAPER_ABLATION_BASE, {
                "table04_num_steps": {"parameter": "num_steps", "values": [5, 10, 15, 20, 25, 30]},
                "table11_num_steps_small": {"parameter": "num_steps", "values": [1, 2, 3, 4]},
            }, ("inception_v3",), 64),
            "ablation_epsilon": _ablation(_PAPER_ABLATION_BASE, {
                "table05_epsilon": {"parameter": "epsilon", "values": [8, 16, 24, 32, 40, 48]},
                "table12_epsilon_small": {"parameter": "epsilon", "values": [1, 2, 3, 4, 5, 6, 7]},
            }, ("inception_v3",), 64),
            "table06_attacks": {"models": ["inception_v3"], "base": {"preset": "table6"}, "attacks": list(TABLE6_ATTACKS)},
            "table07_vit": {"models": ["vit_b_16"], "n_images": 400, "methods": PAPER_METHODS},  # lite0 stand-in: Table 1's cells
            "table08_infd": {"models": list(PAPER_MODELS), "methods": {m: p for m, p in PAPER_METHODS.items() if m != "gradcam"}, "n_perturbations": 100},
            "figure04_heatmaps": {"models": ["inception_v3"], "n_images": 6, "methods": PAPER_METHODS},
            "explorer": EXPLORER,
            "attexplorepp": {"models": ["inception_v3"], "base": {"epsilon": 16 / 255},
                             "attacks": list(PLUSPLUS_ATTACKS), "sensitivity": {"epsilon": {"values": [8, 16, 32, 48]}, "di_prob": {"values": [0.1, 0.5, 0.9]},
                                             "beta": {"values": [2.0, 3.5, 5.0], "attack": "gra"}},
                             "seeds": [0, 1, 2, 3407]},
            "published_vs_corrected": {"models": ["inception_v3"], "n_images": 64, "base": {"epsilon": 16 / 255}},
            "sanity_check": {"models": ["inception_v3"], "n_images": 16, "methods": {m: PAPER_METHODS[m] for m in ("saliency", "ig", "smoothgrad", "gradcam", "attexplore")}, "stages": 8},
            "robustness": {"datasets": ["mnist", "fmnist"], "objectives": ["natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar"], "robust_profile": "cpu",
                           "eps": None},  # None: each dataset's own radius (attx_core.robust.settings); also a new cache key (issue 14)
        },
        # `attx compute` fills every cell on its first 8 images, then 32, then 100, then its target count: a pilot of
        # all methods on the same images comes first, and the tables grow evenly. Within a stage a cell grows by
        # `compute_step` images at a time (all its methods on the same images), so a stopped fill leaves paired data.
        "compute_stages": [8, 32, 100],
        "compute_step": 8,
        # `attx compute`'s priority: (chapter, model or None = all, section or None = all); chapters left out come last.
        "compute_order": [
            ("table01_insdel", "inception_v3", None),
            ("table06_attacks", "inception_v3", None),
            ("attexplorepp", "inception_v3", "explorers"),
            ("figure04_heatmaps", None, None),
            ("explorer", None, None),
            ("ablation_n", None, "table03_n"),
            ("ablation_num_steps", None, "table04_num_steps"),
            ("ablation_epsilon", None, "table05_epsilon"),
            ("ablation_n", None, None),
            ("ablation_num_steps", None, None),
            ("ablation_epsilon", None, None),
            ("table08_infd", "inception_v3", None),
            ("table01_insdel", "resnet50", None),
            ("table01_insdel", "vgg16", None),
            ("attexplorepp", None, None),
            ("table08_infd", None, None),
            ("table07_vit", None, None),
            ("published_vs_corrected", None, None),
            ("sanity_check", None, None),
            ("table02_fps", None, None),
            ("robustness", None, None),
        ],
    },
    "quick": {
        "description": "about 30 minutes on 2 CPU cores: few packaged photos, one model, coarser curves, fewer samples/steps",
        "images": "sample",
        "n_images": 4,
        "seed": 3407,
        "batch_size": 4,
        "insdel": QUICK_INSDEL,
        "chapters": {
            "table01_insdel": {"models": ["inception_v3"], "methods": QUICK_METHODS},
            "table02_fps": {"models": ["inception_v3"], "n_images": 2, "batch_size": 1, "methods": {m: QUICK_METHODS[m] for m in ("big", "agi", "ig", "smoothgrad", "guided_ig", "attexplore")}},
            "ablation_n": _ablation({"epsilon": 16 / 255, "num_steps": 4, "N": 20}, {
                "table03_n": {"parameter": "N", "values": [10, 20, 40]},
                "table09_n_small": {"parameter": "N", "values": [1, 3, 9]},
                "table10_n_eps48": {"parameter": "N", "values": [1, 10, 20], "base": {"epsilon": 48 / 255}},
            }, ("inception_v3",), 2),
            "ablation_num_steps": _ablation({"epsilon": 16 / 255, "num_steps": 10, "N": 4}, {
                "table04_num_steps": {"parameter": "num_steps", "values": [5, 10, 20]},
                "table11_num_steps_small": {"parameter": "num_steps", "values": [1, 2, 4]},
            }, ("inception_v3",), 2),
            "ablation_epsilon": _ablation({"epsilon": 16 / 255, "num_steps": 5, "N": 5}, {
                "table05_epsilon": {"parameter": "epsilon", "values": [8, 16, 32, 48]},
                "table12_epsilon_small": {"parameter": "epsilon", "values": [1, 4, 7]},
            }, ("inception_v3",), 2),
            "table06_attacks": {"models": ["inception_v3"], "n_images": 2, "base": {"preset": "table6"}, "attacks": list(TABLE6_ATTACKS)},
            "table07_vit": {"models": ["vit_b_16"], "methods": QUICK_METHODS},
            "table08_infd": {"models": ["inception_v3"], "n_images": 2, "methods": {m: p for m, p in QUICK_METHODS.items() if m != "gradcam"}, "n_perturbations": 20},
            "figure04_heatmaps": {"models": ["inception_v3"], "n_images": 2, "methods": QUICK_METHODS},
            "explorer": {**EXPLORER, "n_images": 2, "grid": QUICK_EXPLORER_GRID},
            "attexplorepp": {"models": ["inception_v3"], "n_images": 2, "base": {},
                             "attacks": list(PLUSPLUS_ATTACKS), "sensitivity": {"epsilon": {"values": [8, 32]}, "di_prob": {"values": [0.1, 0.9]}, "beta": {"values": [2.0, 5.0], "attack": "gra"}},
                             "seeds": [0, 1, 2]},
            "published_vs_corrected": {"models": ["inception_v3"], "n_images": 2, "base": {"num_steps": 5}},
            "sanity_check": {"models": ["inception_v3"], "n_images": 1, "methods": {m: QUICK_METHODS[m] for m in ("saliency", "ig", "gradcam", "attexplore")}, "stages": 4},
            "robustness": {"datasets": ["mnist", "fmnist"], "objectives": ["natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar"], "robust_profile": "quick",
                           "eps": None},  # None: each dataset's own radius (attx_core.robust.settings); also a new cache key (issue 14)
        },
    },
}


def run_options(profile: str, force: bool = False) -> dict[str, Any]:
    """How a book page runs its chapter: a profile whose store ``attx compute`` fills (``standard``) is
    rendered from what is stored, computing nothing (``partial``; pages say n and the target), unless
    ``force``; other profiles compute what is missing (``force`` recomputes everything)."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    return {"force": force, "partial": bool(PROFILES[profile].get("book_reads_store")) and not force}


def stored_only(profile: str) -> dict[str, bool]:
    """Run options that compute nothing: whatever images are stored (a store profile), else complete entries only."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    return {"partial": True} if PROFILES[profile].get("book_reads_store") else {"cached_only": True}


def settings(profile: str, chapter: str, **overrides: Any) -> dict[str, Any]:
    """The settings of one chapter under a profile: profile-wide fields, then the chapter's, then overrides."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    require(chapter in prof["chapters"], f"unknown chapter {chapter!r}; known: {', '.join(prof['chapters'])}")
    out = {k: copy.deepcopy(v) for k, v in prof.items() if k not in ("chapters", "description", "compute_order", "compute_stages", "compute_step", "book_reads_store")}
    out["profile"] = profile
    out["chapter"] = chapter
    out.update(copy.deepcopy(prof["chapters"][chapter]))
    unknown = sorted(set(overrides) - set(out) - {"methods", "models", "n_images", "images", "seed", "insdel"})
    require(not unknown, f"unknown setting(s) {unknown} for chapter {chapter!r}; settings: {', '.join(sorted(out))}")
    out.update(overrides)
    return out
