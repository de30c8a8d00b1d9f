"""The published code's behaviours against their corrected versions, one change at a time."""
from ..experiments.runners import PUBLISHED_VS_CORRECTED, published_vs_corrected
from .ablation_num_steps import MINOR
from .registry import Chapter, Claim, register_chapter
from .sections import whole

register_chapter(Chapter(
    name="published_vs_corrected",
    title="The published code vs corrected behaviour",
    part="Beyond the tables",
    order=2,
    settings={"models": ["inception_v3"], "base": {"epsilon": 16 / 255}, "variants": list(PUBLISHED_VS_CORRECTED)},
    profiles={"quick": {"n_images": 2, "base": {"num_steps": 5}}},
    sections=(whole(published_vs_corrected, axis=("variants",), axis_column="parameter"),),
    # Not the paper's claims but ours to test: does a deviation of the published code matter? Equivalence within the
    # "minor" margin of Tables 4 and 12; "reversed" means the correction changes insertion by more than that.
    claims=tuple(
        Claim(name=f"published_{i + 1:02d}", label=f"Published vs corrected {i + 1}", by="setting", reference="corrected",
              rivals=("published",), where={"parameter": variant}, kind="equivalence", margin=MINOR, priority=2,
              text=f"{variant}: the correction moves insertion by less than {MINOR} (our question: does the deviation matter?).")
        for i, variant in enumerate(PUBLISHED_VS_CORRECTED)),
))
