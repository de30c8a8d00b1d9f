"""Does the ranking depend on the substrate? Table 1's maps scored over a blurred image and under ROAD's noisy linear
imputation (Rong et al., ICML 2022) beside Table 1's black image; the AUCs come with Table 1's own computations."""
from __future__ import annotations

import pandas as pd

from ..experiments.runners import substrate_table
from ..metrics.insertion_deletion import ROAD_FRACTIONS
from .protocol import PAPER_METHODS, QUICK_METHODS
from .registry import Chapter, Claim, register_chapter
from .sections import whole

# Each protocol is Table 1's insertion/deletion settings updated by these; a protocol's settings never change under
# its name (Table 1's records carry its AUCs by name). blur: RISE's blur (sigma 5 px, an 11x11 kernel), Table 1's
# 224 pixels per step and channel-union order. road: ROAD's imputation at ROAD's removal fractions 10%, ..., 90% of the
# pixels, ranked by the channel-summed map as ROAD ranks them (at 224 pixels per step it would cost 5-6x Table 1's metric).
PROTOCOLS = {
    "blur": {"substrate": "blur"},
    "road": {"substrate": "road", "order": "pixel", "fractions": ROAD_FRACTIONS},
}
NAMES = {"zeros": "black (Table 1)", "blur": "blurred", "road": "ROAD imputation"}

register_chapter(Chapter(
    name="substrates",
    title="Does the ranking depend on the substrate?",
    part="Beyond the tables",
    order=2.5,
    settings={"models": ["inception_v3"], "methods": PAPER_METHODS, "substrates": PROTOCOLS},
    profiles={"quick": {"methods": QUICK_METHODS}},
    sections=(whole(substrate_table),),
    # Ours to test, not the paper's: Table 1's lead under other substrates (no effect of the paper's to meet).
    claims=tuple(
        Claim(name=f"substrate_{name}", label=f"Substrate: {NAMES[name]}", where={"setting": name}, metric="insertion", also=("deletion",),
              priority=4, text=f"AttEXplore's Table-1 lead holds with the {NAMES[name]} substrate: the highest insertion score of the "
                               "eleven methods on the same maps (our question: does the ranking depend on the substrate?); deletion is "
                               "reported against every rival.")
        for name in PROTOCOLS),
))


def ranks(long: pd.DataFrame, reference: str = "attexplore") -> pd.DataFrame:
    """Per model and substrate, on the images every method has under every substrate: ``reference``'s rank by mean
    insertion (1 = highest) and by mean deletion (1 = lowest), the method first in each, and n."""
    rows = []
    for model, part in long.groupby("model", sort=False):
        wide = part.pivot_table(index="image", columns=["setting", "method", "metric"], values="value", aggfunc="first").dropna()
        for setting in dict.fromkeys(part.setting):
            if not len(wide) or setting not in wide.columns.get_level_values(0):
                continue
            means = wide[setting].mean()
            ins = means.xs("insertion", level="metric").sort_values(ascending=False)
            dele = means.xs("deletion", level="metric").sort_values()
            rows.append({"model": model, "substrate": setting, "n": len(wide), "methods": len(ins),
                         "insertion rank": list(ins.index).index(reference) + 1 if reference in ins else None, "highest insertion": ins.index[0],
                         "deletion rank": list(dele.index).index(reference) + 1 if reference in dele else None, "lowest deletion": dele.index[0]})
    return pd.DataFrame(rows, columns=["model", "substrate", "n", "methods", "insertion rank", "highest insertion", "deletion rank",
                                       "lowest deletion"])
