"""The paper's claims, one per chapter, checked against our numbers: a sentence for the chapter and a
row for the landing page (claim | paper | ours | verdict)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .compare import LOWER_IS_BETTER, model_label


@dataclass(frozen=True)
class Verdict:
    """One claim checked: what the paper says, what we measured, and whether it reproduced."""

    chapter: str
    claim: str
    paper: str
    ours: str
    verdict: str  # "reproduced", "not reproduced", "partly reproduced", "not run", "not available yet"

    def sentence(self) -> str:
        return f"Claim: {self.claim} Paper: {self.paper}. Ours: {self.ours}. Verdict: {self.verdict}."


def _available(cmp: pd.DataFrame) -> pd.DataFrame:
    return cmp.dropna(subset=["ours"]) if len(cmp) else cmp


def _overlaps(a: pd.Series, b: pd.Series) -> bool:
    """Whether two rows' 95% CIs (ci_lo, ci_hi) overlap."""
    return bool(a.ci_lo <= b.ci_hi and b.ci_lo <= a.ci_hi)


def _best_method(cmp: pd.DataFrame, chapter: str, claim: str, metric: str, method: str, larger: bool, column: str = "method") -> Verdict:
    """Claim 'method has the best ``metric`` on every model' checked on ours (only rows we computed);
    ``column`` names the column that identifies the method (``setting`` for the attack explorers)."""
    ok = _available(cmp)
    ok = ok[ok.metric == metric]
    if ok.empty or method not in set(ok[column]):
        return Verdict(chapter, claim, "", "", "not available yet")
    paper_lines, our_lines, wins, clear = [], [], [], []
    for model, g in ok.groupby("model"):
        pick = g.loc[g.ours.idxmax() if larger else g.ours.idxmin()]
        ppick = g.loc[g.paper.idxmax() if larger else g.paper.idxmin()]
        paper_lines.append(f"{model}: best {ppick.paper_label} {ppick.paper:.4g}")
        mine = g[g[column] == method].iloc[0]
        our_lines.append(f"{model}: best {pick.paper_label} {pick.ours:.4g} ({method} {mine.ours:.4g}, {len(g)} compared)")
        wins.append(pick[column] == method)
        rivals = g[g[column] != method]
        clear.append(rivals.empty or not _overlaps(mine, rivals.loc[rivals.ours.idxmax() if larger else rivals.ours.idxmin()]))
    verdict = "reproduced" if all(wins) else ("partly reproduced" if any(wins) else "not reproduced")
    if not all(clear):
        verdict += ", within noise (95% CIs of AttEXplore and the best other overlap)"
    compared, listed = ok[column].nunique(), cmp[cmp.metric == metric][column].nunique()
    if compared < listed:
        verdict += f" (among the {compared} of {listed} methods available)"
    return Verdict(chapter, claim, "; ".join(paper_lines), "; ".join(our_lines), verdict)


def _trend(cmp: pd.DataFrame, chapter: str, claim: str, metric: str, sign: int) -> Verdict:
    """Claim 'metric increases (sign +1) / decreases (-1) with the setting': Spearman of ours vs setting."""
    ok = _available(cmp)
    ok = ok[ok.metric == metric]
    if ok.empty or ok.setting.nunique() < 2:
        return Verdict(chapter, claim, "", "", "not available yet")
    x = ok.setting.astype(float)
    rho_ours = pd.Series(ok.ours.values).corr(pd.Series(x.values), method="spearman")
    rho_paper = pd.Series(ok.paper.values).corr(pd.Series(x.values), method="spearman")
    verdict = "reproduced" if np.sign(rho_ours) == sign and abs(rho_ours) >= 0.5 else "not reproduced"
    ends = ok.assign(x=x).sort_values("x")
    if any(_overlaps(g.iloc[0], g.iloc[-1]) for _, g in ends.groupby("model")):
        verdict += ", within noise (95% CIs of the smallest and largest setting overlap)"
    return Verdict(chapter, claim, f"Spearman(setting, {metric}) = {rho_paper:+.2f}", f"{rho_ours:+.2f} over {ok.setting.nunique()} settings, {int(ok.n.min())} images", verdict)


def _flat(cmp: pd.DataFrame, chapter: str, claim: str, metric: str, tolerance: float = 0.02) -> Verdict:
    """Claim 'the setting has little effect on metric': range of ours across settings within ``tolerance``."""
    ok = _available(cmp)
    ok = ok[ok.metric == metric]
    if ok.empty or ok.setting.nunique() < 2:
        return Verdict(chapter, claim, "", "", "not available yet")
    spread = ok.groupby("model").ours.agg(lambda v: v.max() - v.min()).max()
    pspread = ok.groupby("model").paper.agg(lambda v: v.max() - v.min()).max()
    verdict = "reproduced" if spread <= tolerance else "not reproduced"
    return Verdict(chapter, claim, f"range of {metric} {pspread:.4f}", f"range {spread:.4f} (tolerance {tolerance})", verdict)


CLAIM_TEXT = {
    "table01_insdel": "AttEXplore has the highest insertion score on every model (Table 1).",
    "table02_fps": "AttEXplore is the fastest of the six methods compared (Table 2).",
    "table03_n": "Insertion grows with the number of spectrum samples N (Table 3).",
    "table04_num_steps": "num_steps has only a minor influence on insertion (Table 4).",
    "table05_epsilon": "Insertion grows with the perturbation rate epsilon (Table 5).",
    "table06_attacks": "AttEXplore's own exploration beats every other attack explorer and NoAttack on insertion (Table 6).",
    "table07_vit": "AttEXplore has the highest insertion score on ViT-B/16 (Table 7).",
    "table08_infd": "AttEXplore has the lowest INFD, i.e. the highest faithfulness (Table 8).",
    "table09_n_small": "Below N = 10, insertion still grows with N (Table 9; our reading of the numbers).",
    "table10_n_eps48": "At epsilon 48/255 insertion grows with N, more weakly (Table 10).",
    "table11_num_steps_small": "Insertion grows over the first attack iterations, 1 to 4 (Table 11; our reading).",
    "table12_epsilon_small": "Epsilon below 8/255 changes insertion only a little (Table 12; our reading).",
}
CLAIMS: dict[str, Callable[[pd.DataFrame], Verdict]] = {
    "table01_insdel": lambda c: _best_method(c, "table01_insdel", CLAIM_TEXT["table01_insdel"], "insertion", "attexplore", True),
    "table02_fps": lambda c: _best_method(c, "table02_fps", CLAIM_TEXT["table02_fps"], "fps", "attexplore", True),
    "table03_n": lambda c: _trend(c, "table03_n", CLAIM_TEXT["table03_n"], "insertion", +1),
    "table04_num_steps": lambda c: _flat(c, "table04_num_steps", CLAIM_TEXT["table04_num_steps"], "insertion"),
    "table05_epsilon": lambda c: _trend(c, "table05_epsilon", CLAIM_TEXT["table05_epsilon"], "insertion", +1),
    "table06_attacks": lambda c: _best_method(c, "table06_attacks", CLAIM_TEXT["table06_attacks"], "insertion", "ssa", True, "setting"),
    "table07_vit": lambda c: _best_method(c, "table07_vit", CLAIM_TEXT["table07_vit"], "insertion", "attexplore", True),
    "table08_infd": lambda c: _best_method(c, "table08_infd", CLAIM_TEXT["table08_infd"], "infd", "attexplore", False),
    "table09_n_small": lambda c: _trend(c, "table09_n_small", CLAIM_TEXT["table09_n_small"], "insertion", +1),
    "table10_n_eps48": lambda c: _trend(c, "table10_n_eps48", CLAIM_TEXT["table10_n_eps48"], "insertion", +1),
    "table11_num_steps_small": lambda c: _trend(c, "table11_num_steps_small", CLAIM_TEXT["table11_num_steps_small"], "insertion", +1),
    "table12_epsilon_small": lambda c: _flat(c, "table12_epsilon_small", CLAIM_TEXT["table12_epsilon_small"], "insertion"),
}


# Claims "reference is best on metric" decided by paired differences when the per-image frame is given:
# chapter -> (metric, reference, the column naming the compared variants).
PAIRED_CLAIMS = {
    "table01_insdel": ("insertion", "attexplore", "method"),
    "table06_attacks": ("insertion", "ssa", "setting"),
    "table07_vit": ("insertion", "attexplore", "method"),
    "table08_infd": ("infd", "attexplore", "method"),
}


def _best_paired(cmp: pd.DataFrame, ours: pd.DataFrame, chapter: str, metric: str, reference: str, by: str) -> Verdict:
    """'reference is best on metric on every model', decided on the paired differences to every rival:
    reproduced where every rival is separated (95% interval of reference - rival excludes 0 on the
    reference's side), not reproduced where a rival is separated the other way, undecided otherwise."""
    from .paired import paired_differences

    pairs = paired_differences(ours[ours.metric == metric], reference, by, paper=cmp)
    if pairs.empty:
        return Verdict(chapter, CLAIM_TEXT[chapter], "", "", "not available yet")
    paper_lines, our_lines, outcomes = [], [], []
    for model, g in pairs.groupby("model", sort=False):
        part = cmp[(cmp.model == model) & (cmp.metric == metric)]
        ppick = part.loc[part.paper.idxmin() if metric in LOWER_IS_BETTER else part.paper.idxmax()]
        paper_lines.append(f"{model}: best {ppick.paper_label} {ppick.paper:.4g}")
        beaten, open_ = g[g.better == g.rival], g[g.better == ""]
        n = f"n={int(g.n.min())}" + (f"-{int(g.n.max())}" if g.n.max() != g.n.min() else "")
        if len(beaten):
            outcomes.append("not reproduced")
            worst = beaten.loc[beaten.difference.abs().idxmax()]
            our_lines.append(f"{model}: {len(beaten)} of {len(g)} rivals better on paired differences, e.g. {worst.rival} "
                             f"({worst.difference:+.3f} [{worst.ci_lo:+.3f}, {worst.ci_hi:+.3f}], {n})")
        elif len(open_):
            outcomes.append("undecided")
            our_lines.append(f"{model}: ahead of {len(g) - len(open_)} of {len(g)} rivals; not separated from "
                             f"{', '.join(open_.rival)} ({n})")
        else:
            outcomes.append("reproduced")
            our_lines.append(f"{model}: ahead of all {len(g)} rivals on paired differences ({n})")
    if all(o == "reproduced" for o in outcomes):
        verdict = "reproduced"
    elif "not reproduced" in outcomes:
        verdict = "not reproduced" if all(o == "not reproduced" for o in outcomes) else "partly reproduced"
    else:
        verdict = "undecided: more images needed (paired 95% intervals include 0)"
    return Verdict(chapter, CLAIM_TEXT[chapter], "; ".join(paper_lines), "; ".join(our_lines), verdict)


def check(chapter: str, cmp: pd.DataFrame, ours: pd.DataFrame | None = None) -> Verdict:
    """The verdict on a chapter's claim given its comparison table (see :data:`CLAIMS`); with ``ours``
    (the per-image frame), "best method" claims are decided on paired differences (:data:`PAIRED_CLAIMS`).
    A transformer claim checked on a CNN analogue is reported as not testable."""
    if ours is not None and chapter in PAIRED_CLAIMS and len(ours):
        verdict = _best_paired(cmp, ours, chapter, *PAIRED_CLAIMS[chapter])
    else:
        verdict = CLAIMS[chapter](cmp)
    analogue = cmp.attrs.get("analogues", {}).get("vit_b_16", "vit_b_16")
    if chapter == "table07_vit" and analogue != "vit_b_16":
        return Verdict(verdict.chapter, verdict.claim, verdict.paper, verdict.ours,
                       "not testable offline (no ViT-B/16 weights here; a CNN stand-in cannot test a transformer claim)")
    return verdict


def _chapter_runs() -> dict[str, tuple[str, str | None, Callable[..., pd.DataFrame]]]:
    """claim -> (settings chapter, ablation section or None, runner)."""
    from . import runners

    return {
        "table01_insdel": ("table01_insdel", None, runners.insdel_table),
        "table02_fps": ("table02_fps", None, runners.fps_table),
        "table03_n": ("ablation_n", "table03_n", runners.ablation),
        "table04_num_steps": ("ablation_num_steps", "table04_num_steps", runners.ablation),
        "table05_epsilon": ("ablation_epsilon", "table05_epsilon", runners.ablation),
        "table06_attacks": ("table06_attacks", None, runners.attack_explorers),
        "table07_vit": ("table07_vit", None, runners.insdel_table),
        "table08_infd": ("table08_infd", None, runners.infd_table),
        "table09_n_small": ("ablation_n", "table09_n_small", runners.ablation),
        "table10_n_eps48": ("ablation_n", "table10_n_eps48", runners.ablation),
        "table11_num_steps_small": ("ablation_num_steps", "table11_num_steps_small", runners.ablation),
        "table12_epsilon_small": ("ablation_epsilon", "table12_epsilon_small", runners.ablation),
    }


ROBUSTNESS_CLAIM = ("Sarkar et al.'s regularized training (adv_ar) keeps IG maps more robust to the top-k attack than "
                    "natural, PGD and RAR training: 3-9% (the abstract; the paper's tables are in no stored copy).")
PRIOR_OBJECTIVES = ("natural", "pgd", "ig_norm", "ig_sum_norm")
TRAINED_NA = 0.5  # a net below this natural accuracy did not learn (MNIST's eps-0.3 objectives at the CPU scales)


def robustness_verdict(ours: pd.DataFrame) -> Verdict:
    """The robustness claim decided on paired differences of the top-k intersection (adv_ar minus each prior
    objective on the images both nets classify correctly): reproduced where adv_ar is above every prior
    objective on every dataset, not reproduced where it is below one of them, undecided otherwise. Nets below
    :data:`TRAINED_NA` natural accuracy are left out: their few correct images say nothing about training."""
    from ..robust.evaluate import paired_robustness

    trained = ours[ours.NA >= TRAINED_NA] if "NA" in ours else ours
    paired = paired_robustness(trained, PRIOR_OBJECTIVES) if "attacked" in ours else pd.DataFrame()
    mine = paired[(paired.objective == "adv_ar") & (paired.metric == "topk")] if not paired.empty else paired
    if mine.empty:
        return Verdict("robustness", ROBUSTNESS_CLAIM, "3-9% better", "", "not run")
    parts, above, below = [], [], []
    untrained = sorted(set(ours.dataset) - set(mine.dataset))
    for dataset in untrained:
        parts.append(f"{dataset}: no comparison (adv_ar or every prior net below NA {TRAINED_NA}: did not learn at this scale)")
    for dataset, g in mine.groupby("dataset"):
        worst = g.loc[g.difference.idxmin()]
        parts.append(f"{dataset}: adv_ar minus {worst.reference} {worst.difference:+.3f} [{worst.ci_lo:+.3f}, {worst.ci_hi:+.3f}]")
        above.append(len(g) == len(PRIOR_OBJECTIVES) and bool((g.ci_lo > 0).all()))
        below.append(bool((g.ci_hi < 0).any()))
    verdict = ("not reproduced" if any(below) else
               f"undecided: the {', '.join(untrained)} nets did not learn at this scale" if untrained else
               "reproduced" if all(above) else "undecided: paired 95% intervals include 0")
    return Verdict("robustness", ROBUSTNESS_CLAIM, "3-9% better", "; ".join(parts) + " (smallest margin per dataset)", verdict)


def claims_summary(profile: str) -> pd.DataFrame:
    """Every claim's verdict from the cached results of ``profile`` (computes nothing: a chapter that
    has not been run reads 'not run')."""
    from .compare import compare
    from .profiles import PROFILES, settings, stored_only
    from .runners import ablation_section

    rows = []
    for claim, (chapter, section, runner) in _chapter_runs().items():
        cfg = settings(profile, chapter)
        kwargs = ablation_section(cfg, section) if section else cfg
        ours = runner(**kwargs, **stored_only(profile))
        analogues = ours.attrs.get("analogues", {})
        n = ""
        if ours.empty:
            verdict = Verdict(chapter, CLAIM_TEXT[claim], "", "", "not run")
        else:
            cmp = compare(ours, claim)
            verdict = check(claim, cmp, ours)
            counts = cmp.n[cmp.n > 0]
            n = "" if counts.empty else f"{counts.min()}" + (f"-{counts.max()}" if counts.max() != counts.min() else "")
        ran = set(ours["model"]) if "model" in ours else set(analogues)
        used = "; ".join(model_label(k, v, k) for k, v in analogues.items() if k in ran)
        if verdict.verdict.startswith("not testable"):  # a stand-in's numbers say nothing about this claim
            n, used = "", "not run here"
        rows.append({"table": claim, "page": chapter, "claim": verdict.claim, "paper": verdict.paper, "ours": verdict.ours,
                     "verdict": verdict.verdict, "n": n, "models that ran": used})
    if "robustness" in PROFILES[profile]["chapters"]:
        from .runners import robustness_study

        cfg = settings(profile, "robustness")
        ours = robustness_study(**cfg, **stored_only(profile))
        verdict = robustness_verdict(ours)
        lo, hi = (int(ours.n_images.min()), int(ours.n_images.max())) if "n_images" in ours and len(ours) else (0, 0)
        n = "" if not hi else f"{lo}" if lo == hi else f"{lo}-{hi}"
        rows.append({"table": "robustness", "page": "robustness", "claim": verdict.claim, "paper": verdict.paper, "ours": verdict.ours,
                     "verdict": verdict.verdict, "n": n,
                     "models that ran": f"robustness nets, scale '{cfg['robust_profile']}' ({', '.join(cfg['datasets'])})" if n else ""})
    return pd.DataFrame(rows)


def text_claims(cmp: pd.DataFrame) -> pd.DataFrame:
    """Section 5.2's numeric claims (AttEXplore vs AGI and vs the average of the other methods, in score
    points x100) recomputed from a Table 1 comparison; one row per claim with paper and ours.
    "Other algorithms on average" = the eight baselines other than Grad-CAM and AGI: that reading
    reproduces every one of the paper's numbers from its own Table 1."""
    from .compare import PAPER_DIR

    claims = pd.read_csv(PAPER_DIR / "text_claims.csv")
    claims = claims[claims.seed == "004"]
    rows = []
    for _, c in claims.iterrows():
        metric = "insertion" if c.quantity.startswith("insertion") else "deletion"
        part = cmp[(cmp.model == c.model) & (cmp.metric == metric)].dropna(subset=["ours"]) if len(cmp) else cmp
        ours = float("nan")
        if len(part) and "attexplore" in set(part.method):
            mine = part[part.method == "attexplore"].ours.iloc[0]
            others = part[part.method != "attexplore"]
            ref = others[others.method == "agi"].ours if c.reference == "agi" else others[~others.method.isin(["agi", "gradcam"])].ours
            if len(ref):
                diff = (mine - ref.mean()) * 100
                ours = diff if metric == "insertion" else -diff
        rows.append({"model": c.model, "claim": c.text, "paper (points x100)": c.value_percent, "ours": round(ours, 2)})
    return pd.DataFrame(rows)
