"""The authors' ledger: AttEXplore's Table 1 beside the MFABA README (transcribed with its source), and ours."""
from __future__ import annotations

import pandas as pd

from attx_core.experiments.compare import captions, paper_table
from attx_core.experiments.ledger import largest_disagreement, ledger, ledger_view


def test_mfaba_readme_is_transcribed_with_its_source() -> None:
    df = paper_table("mfaba_readme")
    assert list(df.columns) == ["model", "paper_model", "method", "paper_label", "parameter", "setting", "metric", "value"]
    assert len(df) == 54 and not df.duplicated(["model", "method", "parameter", "setting", "metric"]).any()
    cell = df.set_index(["model", "paper_label", "metric"]).value
    assert cell[("inception_v3", "IG", "insertion")] == 0.3215  # the example
    assert cell[("vgg16", "SHARP", "deletion")] == 0.0410 and cell[("resnet50", "AGI", "auc")] == 0.4772
    assert "363fd52673c7001bf5f5c0b8da1ed04560f1a7ef" in captions()["mfaba_readme"]["source"]


def test_ledger_pairs_the_authors_two_tables() -> None:
    table = ledger()
    assert len(table) == 3 * 2 * 4 and table.n.eq(0).all()
    ig = table.set_index(["model", "method", "metric"]).loc[("inception_v3", "ig", "insertion")]
    assert (ig.attexplore, ig.mfaba) == (0.2268, 0.3215)
    sentence = largest_disagreement(table)
    assert "BIG's insertion on Inception-v3: 0.4840 in the MFABA README against 0.3563" in sentence and "+0.1277" in sentence


def test_ledger_shows_ours_with_an_interval_only_from_16_images() -> None:
    cmp = pd.DataFrame({"model": ["inception_v3", "resnet50"], "method": ["ig", "ig"], "parameter": ["", ""], "setting": ["", ""],
                        "metric": ["insertion", "insertion"], "ours": [0.341, 0.25], "ci_lo": [0.299, 0.1], "ci_hi": [0.383, 0.4], "n": [148, 8]})
    cmp.attrs["analogues"] = {"inception_v3": "efficientnet_lite0", "resnet50": "efficientnet_lite1"}
    rows = ledger(cmp).set_index(["model", "method", "metric"])
    assert rows.loc[("inception_v3", "ig", "insertion")].n == 148 and rows.loc[("vgg16", "ig", "insertion")].n == 0
    page = ledger_view(cmp).data
    assert "Inception-v3 (ours: EfficientNet-Lite0)" in page and "[0.299, 0.383]" in page
    assert "0.250" in page and "[0.100, 0.400]" not in page and "not computed" in page
    assert "MFABA README" in page and "AttEXplore Table 1" in page and "363fd52" in page
