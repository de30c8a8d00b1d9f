"""AttEXplore++ explorers on one model: seconds per image and mean insertion/deletion (step 224,
published channel-union order, black substrate) beside plain AttEXplore (``attack="ssa"``).

Usage: python bench/explorer_costs.py [--images 8] [--model efficientnet_lite0] [--step 224]
"""
from __future__ import annotations

import argparse
import time

import torch

from attx_core import ATTACKS, attribute, data, models
from attx_core.metrics import insertion_deletion, mean_ci


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--step", type=int, default=224)
    args = parser.parse_args()
    model = models.load(args.model)
    x, y = data.sample_images(model.input_size).subset(args.images)
    print(f"model {args.model}, {args.images} packaged photos, insertion/deletion step {args.step}, threads {torch.get_num_threads()}")
    print("| explorer | s/image | insertion (95% CI) | deletion (95% CI) |")
    print("|---|---|---|---|")
    for attack in ["ssa", *[a for a in ATTACKS if a != "ssa"], None]:
        start = time.perf_counter()
        maps = attribute(model, x, y, method="attexplore", attack=attack)
        seconds = (time.perf_counter() - start) / args.images
        res = insertion_deletion(model, x, maps, step=args.step)
        ins, dele = mean_ci(res.insertion), mean_ci(res.deletion)
        name = "ssa (= AttEXplore)" if attack == "ssa" else str(attack or "None (NoAttack)")
        print(f"| {name} | {seconds:.2f} | {ins[0]:.4f} [{ins[1]:.3f}, {ins[2]:.3f}] | {dele[0]:.4f} [{dele[1]:.3f}, {dele[2]:.3f}] |", flush=True)


if __name__ == "__main__":
    main()
