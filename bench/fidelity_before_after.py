"""Insertion/deletion of a list of method configurations on the first N packaged photos (EfficientNet-Lite0,
the published protocol: 224 px/step, zero substrate, reference ordering, top-1 class scored).

Used to measure which fidelity fixes move numbers: run it on two checkouts with their own config lists.
Usage: python bench/fidelity_before_after.py CONFIGS.json OUT.json [--n 8] [--batch 4]
CONFIGS.json: [{"name": ..., "method": ..., "params": {...}}, ...]; OUT.json gets per-config means and per-image values.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

import attx_core
from attx_core.metrics import insertion_deletion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs")
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    model = attx_core.models.load("efficientnet_lite0")
    images = attx_core.data.sample_images()
    x, y = images.x[: args.n], images.labels[: args.n]
    with torch.no_grad():
        pred = model(x).argmax(1)
    results = {"n": args.n, "misclassified": [int(i) for i in (pred != y).nonzero()[:, 0]], "threads": torch.get_num_threads(), "configs": {}}
    for cfg in json.load(open(args.configs)):
        start = time.perf_counter()
        params = cfg.get("params", {})
        if cfg["method"] == "expected_gradients" and params.get("background") == "images":
            params = {**params, "background": x}
        maps = torch.cat([attx_core.attribute(model, x[i : i + args.batch], y[i : i + args.batch], method=cfg["method"], **params)
                          for i in range(0, args.n, args.batch)])
        res = insertion_deletion(model, x, maps)
        results["configs"][cfg["name"]] = {
            "method": cfg["method"], "params": {k: repr(v) for k, v in cfg.get("params", {}).items()},
            "insertion": float(res.insertion.mean()), "deletion": float(res.deletion.mean()),
            "insertion_per_image": res.insertion.tolist(), "deletion_per_image": res.deletion.tolist(),
            "zero_maps": int((maps.flatten(1).abs().sum(1) == 0).sum()), "seconds": time.perf_counter() - start,
        }
        print(f"{cfg['name']:28s} ins {results['configs'][cfg['name']]['insertion']:.4f} del {results['configs'][cfg['name']]['deletion']:.4f} "
              f"zero maps {results['configs'][cfg['name']]['zero_maps']} ({time.perf_counter() - start:.0f} s)", flush=True)
        json.dump(results, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
