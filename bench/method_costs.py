"""Seconds per image and counted forward(+backward) passes per image of every method at its defaults.

Usage: python bench/method_costs.py [--images 2] [--model efficientnet_lite0] [--methods a,b]
Counts network forward calls x batch size with a hook (a pass = one image through the network).
Prints a Markdown table; the issue reports quote it.
"""
from __future__ import annotations

import argparse
import time

import torch

import attx_core
from attx_core import METHODS, attribute, data, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--methods", default=",".join(sorted(METHODS)))
    args = parser.parse_args()
    model = models.load(args.model)
    x, y = data.sample_images(model.input_size).subset(args.images)
    counted = [0]
    model.net.register_forward_hook(lambda mod, inp, out: counted.__setitem__(0, counted[0] + inp[0].shape[0]))
    print(f"model {args.model}, {args.images} packaged photos, torch threads {torch.get_num_threads()}, attx {attx_core.__version__}")
    print("| method | s/image | passes/image (counted) | formula |")
    print("|---|---|---|---|")
    for name in args.methods.split(","):
        counted[0] = 0
        start = time.perf_counter()
        attribute(model, x, y, method=name)
        seconds = (time.perf_counter() - start) / args.images
        print(f"| {name} | {seconds:.2f} | {counted[0] / args.images:.0f} | {METHODS[name].passes} |", flush=True)


if __name__ == "__main__":
    main()
