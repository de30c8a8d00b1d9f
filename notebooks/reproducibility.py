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
# # Reproducibility: which numbers re-derive, and how closely
#
# Every number in this book can be recomputed: `attx compute --audit` draws stored images, recomputes them with the
# current code on the device type, thread count, forward backend and batch their provenance names, and compares.
# Whether a recomputed *per-image* number should match to the last digit depends on the method. Methods that walk a
# path of sign steps (AttEXplore, AGI, BIG, MFABA) amplify float rounding: a different summation order (another
# thread count, another CPU's vector width, another batch) flips a sign somewhere along the path, the path goes
# elsewhere, and one image's insertion score moves by a few hundredths. The method is not wrong (computed in float64,
# AttEXplore's path matches an independent plain implementation to a relative 3e-8); its per-image numbers are simply
# one draw of float noise, while means over images reproduce within their interval.
#
# This page shows two stored measurements, and computes nothing:
# - **how much float rounding moves each method** (`bench/float_sensitivity.py`): Table 1 at the paper's settings on
#   the first 8 images of the validation subset, EfficientNet-Lite0, recomputed under (a) two threads instead of one,
#   (b) every weight multiplied by (1 + 1e-7), i.e. one float32 unit in the last place, and (c) another batch
#   composition. A method is *float-stable* when no per-image AUC moves by more than 1e-5 under any of the three,
#   otherwise *float-sensitive*;
# - **the audit of the committed store** (`attx compute --audit`), judged by that class: a float-stable method's
#   record recomputed like with like may not move by more than 1e-4 (else the code changed silently: its version
#   must be bumped and its records recomputed); for a float-sensitive method, and for records too old to name the run
#   that computed them, the interval of the mean difference may not lie wholly beyond +-1e-4 (a shift larger than
#   float rounding). The intervals are Student's t at a family-wise 95% level (Bonferroni over the configurations
#   audited together): with 22 configurations, separate 95% intervals would fail an unchanged store 2 times in 3, and
#   a percentile bootstrap of 8 differences covers far less than 95%.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import HTML, Markdown

from attx_core.compute import audit

measurement = audit.sensitivity(profile)
result = audit.latest(profile)
if measurement is None:
    display(HTML(f"<p>No float-sensitivity measurement is stored for profile <b>{profile}</b> "
                 "(<code>python bench/float_sensitivity.py</code> writes it for the standard profile).</p>"))

# %% [markdown]
# ## How much float rounding moves each method
#
# Per method: its class, then for each condition the median and the largest per-image |difference| of the AUC from
# the reference run (one thread, batches of 2, as the store computes), in insertion and in deletion. 0 means
# bit-identical.

# %% tags=["hide-input"]
if measurement is not None:
    table = audit.sensitivity_table(measurement)
    display(table.style.format(lambda v: v if isinstance(v, str) else ("0" if v == 0 else f"{v:.1e}")))
    ranks = pd.DataFrame([{"condition": measurement["conditions"][k.split("/")[0]], "metric": k.split("/")[1],
                           "ranking of method means changes": "yes" if r["changed"] else "no"} for k, r in measurement["rankings"].items()])
    display(ranks.style.hide(axis="index"))
    sensitive = sorted(m for m, c in measurement["classes"].items() if c == "float-sensitive")
    stable = sorted(m for m, c in measurement["classes"].items() if c == "float-stable")
    largest = pd.DataFrame(measurement["table"]).groupby("method").max_abs_diff.max()
    display(Markdown(
        f"**Float-stable** (no per-image AUC moved by more than 1e-5): {', '.join(stable) or 'none'}. "
        f"**Float-sensitive**: {', '.join(sensitive) or 'none'}; the largest single movement was "
        f"{largest.max():.3f} ({largest.idxmax()}). Reference run and conditions: "
        + "; ".join(f"{k}: {v}" for k, v in measurement["conditions"].items()) + "."))

# %% [markdown]
# ## The audit of the committed store
#
# The most recent `attx compute --audit` (its command, date and machine below): per configuration, the images
# recomputed like with like (their record names this CPU type, thread count and forward backend) and at the mean
# level only (older records that name no run), the largest per-image |difference| like with like, and the mean
# difference with its interval (Student's t, family-wise 95%; the confidence sequences the claims use show no interval
# below 16 images).

# %% tags=["hide-input"]
if result is None:
    display(HTML(f"<p>No audit is stored for profile <b>{profile}</b> yet (<code>attx compute --profile {profile} --audit</code>).</p>"))
else:
    prov = result["provenance"]
    display(HTML(f"<p><code>{result['command']}</code>, {prov['date']}, commit {prov['commit']}, {prov['device']} "
                 f"({' '.join(prov.get('isa', []))}): <b>{'passed' if result['passed'] else 'FAILED'}</b>.</p>"))
    display(audit.summary(result).style.hide(axis="index").format(precision=4, na_rep="-"))
    failed = [c for c in result["configurations"] if not c["passed"]]
    if failed:
        display(Markdown("**Failed:** " + "; ".join(f"{c['model']} {c['method']} {c['metric']}: {c['why']}" for c in failed)))
    if result["notes"]:
        display(HTML("<details><summary>Notes</summary><ul>" + "".join(f"<li>{n}</li>" for n in result["notes"]) + "</ul></details>"))

# %% [markdown]
# ## What this means for a reader comparing numbers
#
# - **Means over images** re-derive: the audit checks that recomputed means agree within their interval, and every
#   claim in this book is decided on means (paired differences with confidence sequences), never on one image.
# - **Per-image numbers of a float-sensitive method** reproduce only on the same CPU type (model and instruction-set
#   flags), the same thread count, the same forward backend and the same batch: a per-image AttEXplore or AGI
#   insertion score that differs from ours in the second decimal is no evidence of a different implementation.
#   Compare distributions or means, or rerun on the machine and thread count the record's provenance names.
# - **The paper's own per-image claims** inherit this. Figure 4's heatmaps, and any single image's score, show one
#   draw of float noise for the sign-step methods: a one-ulp change of the weights moves one image's AttEXplore
#   insertion by as much as a few hundredths (table above), so a visual difference on one image between AttEXplore
#   and a baseline is meaningful only where it holds across images.
# - **Float-stable methods** would be the canaries: a recomputed record that moves by more than 1e-4 means the code
#   changed, and the audit fails until the method's version is bumped and its records recomputed. The measurement
#   above names the methods that qualify. Where none does (even a plain gradient map's insertion score moves by about
#   1e-5 when near-tied pixels swap places in the insertion order), every method is audited by its mean, which
#   catches a code change only when the change moves the mean.
#
# ## Which records name the run that computed them
#
# Records stored since per-record provenance was introduced name their commit, CPU model and instruction-set flags,
# thread count, forward backend, batch size, method version and library versions. Older records, among them most of
# Table 1 on EfficientNet-Lite0, were computed on an AVX2 CPU with one thread and name only their entry's first run;
# the audit recomputes them at the mean level only.

# %% tags=["hide-input"]
audit.provenance_coverage(profile)
