"""Gradient-side levers of issue 22, item 4, measured interleaved in one process (ratios, not absolute times).

1. Threads per worker: one forward+backward pass per sample at 1 and at 2 torch threads. Two one-thread workers
   beat one two-thread worker on a 2-core machine unless 2 threads make a pass more than 2x faster.
2. A compiled explorer step with fixed shapes: ``torch.compile(net, dynamic=False)`` forward+backward at the
   chunk shape (4 x 3 x 224 x 224) against eager, with the compile's seconds and the gradients' largest relative
   difference. (An explorer step sees more shapes than one: AttEXplore's DI copies come at 224 and 257 px, in
   chunks of 1 to 4, and each new shape compiles anew.)

Usage: python bench/gradient_levers.py [--model efficientnet_lite0] [--reps 5] [--out data/bench/gradient-levers.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Callable

import torch

from attx_core import data, models
from attx_core.bench import interleaved
from attx_core.engine import input_gradients, named_objective
from attx_core.store import provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", default="data/bench/gradient-levers.json")
    args = parser.parse_args()
    model = models.load(args.model)
    x, y = data.sample_images(model.input_size).subset(4)
    objective = named_objective("ce_prob2")

    def grad(m: torch.nn.Module) -> Callable[[], torch.Tensor]:
        return lambda: input_gradients(m, x, y, objective)[0]

    def at_threads(n: int) -> Callable[[], object]:
        def run() -> object:
            torch.set_num_threads(n)
            try:
                return grad(model)()
            finally:
                torch.set_num_threads(1)
        return run

    torch.set_num_threads(1)
    threads = interleaved({"1 thread": at_threads(1), "2 threads": at_threads(2)}, args.reps)
    print("threads (s per 4 samples):", threads, flush=True)
    compiled = models.load(args.model)
    compiled.net = torch.compile(compiled.net, dynamic=False)
    start = time.perf_counter()
    g_compiled = grad(compiled)()
    compile_s = time.perf_counter() - start
    g_eager = grad(model)()
    passes = interleaved({"eager": grad(model), "compiled": grad(compiled)}, args.reps)
    result = {
        "threads_s_per_sample": {k: v / x.shape[0] for k, v in threads.items()},
        "two_threads_speedup": threads["1 thread"] / threads["2 threads"],
        "compiled_fwd_bwd": {"eager_s_per_sample": passes["eager"] / x.shape[0], "compiled_s_per_sample": passes["compiled"] / x.shape[0],
                             "speedup": passes["eager"] / passes["compiled"], "compile_s": compile_s,
                             "gradient_max_rel_diff": float((g_compiled - g_eager).abs().max() / g_eager.abs().max())},
        "loadavg": list(os.getloadavg()),
        "provenance": provenance("cpu", profile="bench-gradient-levers", model=model.name, n_images=int(x.shape[0])),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "provenance"}, indent=1))


if __name__ == "__main__":
    main()
