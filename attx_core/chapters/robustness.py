"""Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021): small nets trained six ways."""
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..experiments.runners import robustness_study
from ..robust.evaluate import per_image_frame
from ..robust.training import BASE_OBJECTIVES, PRIOR_OBJECTIVES
from .registry import Chapter, Claim, register_chapter
from .sections import whole

OBJECTIVES = list(BASE_OBJECTIVES)


def scales(datasets: Sequence[str], robust_scale: str, dataset_scales: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Robustness scale -> its datasets: ``dataset_scales`` names a dataset's own scale, the others run at ``robust_scale``."""
    out: dict[str, list[str]] = {}
    for dataset in datasets:
        out.setdefault((dataset_scales or {}).get(dataset, robust_scale), []).append(dataset)
    return out


def study(datasets: Sequence[str], robust_scale: str, dataset_scales: Mapping[str, str] | None = None, **kw: Any) -> pd.DataFrame:
    """:func:`~attx_core.experiments.runners.robustness_study` with each dataset at its scale (:func:`scales`): one store
    entry per scale, so a dataset moved to another scale gets new records and the others keep theirs."""
    groups = scales(datasets, robust_scale, dataset_scales)
    frames = [robustness_study(datasets=names, robust_scale=scale, **kw) for scale, names in groups.items()]
    df = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    df.attrs.update(notes=[n for f in frames for n in f.attrs.get("notes", [])], provenance=dict(frames[0].attrs.get("provenance", {})),
                    profile=frames[0].attrs.get("profile"))
    return df


def scale_sentence(datasets: Sequence[str], robust_scale: str, dataset_scales: Mapping[str, str] | None = None, **_: Any) -> str:
    """Which datasets ran at a scale of their own, what it is and its measured CPU-hours (``attx bench --robustness``)."""
    from ..robust import SCALES
    from ..robust.costs import measured_hours

    parts = []
    for scale, names in scales(datasets, robust_scale, dataset_scales).items():
        if scale == robust_scale:
            continue
        p = SCALES[scale]
        hours = [measured_hours(scale, d) for d in names]
        cost = (f"; measured cost {sum(h for h in hours):.1f} CPU-hours for its six nets (training, NA/AA, attack)"
                if all(h is not None for h in hours) else "")
        parts.append(f"{', '.join(names)} ran at robustness scale {scale} ({'all' if p.n_train is None else f'{p.n_train:,}'} training images, "
                     f"{p.epochs} epoch(s), width x{p.width}, the radius warmed up linearly over the first "
                     f"{p.train.get('eps_warmup', 0):.0%} of the steps{cost}); the other datasets at {robust_scale}.")
    return " ".join(parts)


register_chapter(Chapter(
    name="robustness",
    title="Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021)",
    part="Beyond the tables",
    order=4,
    # eps None: each dataset's own radius (attx_core.robust.settings); dataset_scales: a dataset's own robustness scale
    settings={"datasets": ["mnist", "fmnist", "gtsrb", "flower17"], "objectives": OBJECTIVES, "robust_scale": "paper", "dataset_scales": {},
              "eps": None},
    # MNIST's eps-0.3 nets do not learn at the cpu scale (32 steps): it runs at mnist_cpu, FMNIST keeps its cpu records
    profiles={"standard": {"datasets": ["mnist", "fmnist"], "robust_scale": "cpu", "dataset_scales": {"mnist": "mnist_cpu"}},
              "quick": {"datasets": ["mnist", "fmnist"], "robust_scale": "quick"}},
    sections=(whole(study, axis=(), long=per_image_frame),),
    ignores=("images", "n_images", "batch_size", "insdel", "stand_ins"),  # MNIST/FMNIST nets trained here, not the ImageNet protocol
    claims=(Claim(name="robustness", label="Robustness", by="method", reference="adv_ar", rivals=PRIOR_OBJECTIVES, metric="topk",
                  priority=2, text="Sarkar et al.'s regularized training (adv_ar) keeps IG maps more robust to the top-k attack than "
                                   "natural, PGD and RAR training: 3-9% (the abstract; the paper's tables are in no stored copy)."),),
))
