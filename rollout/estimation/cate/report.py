"""Terminal tables of the CATE stage, rendered from the summary sections it wrote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollout import console


def _num(value: Any) -> str:
    return "—" if value is None or value != value else f"{value:.3g}"


def _with_ci(record: Mapping[str, Any], key: str) -> str:
    return (f"{_num(record[key])} [{_num(record[key + '_ci_low'])}, "
            f"{_num(record[key + '_ci_high'])}]")


def render_cate(sections: Mapping[str, Any]) -> None:
    """Models with validation figures, the selection and its reason, regions, refutation."""
    rows = [{**r, "auuc (95% CI)": _with_ci(r, "auuc"), "qini (95% CI)": _with_ci(r, "qini"),
             "blp slope (se)": f"{_num(r['blp_slope'])} ({_num(r['blp_se'])})"}
            for r in sections["cate_models"]]
    console.show_table(
        rows, title="CATE models: every customer's CATE; R-loss out of sample (r_loss: "
                    "held-out; r_loss_selection: every selection row, what the selection "
                    "compares) and held-out validation on doubly robust scores",
        columns=["outcome", "model", "mean", "sd", "share_positive", "r_loss",
                 "r_loss_selection",
                 "blp slope (se)", "blp_p", "auuc (95% CI)", "qini (95% CI)", "selected",
                 "flagged"])
    for record in sections["cate_models"]:
        if record["flagged"]:
            console.stdout.print(f"flagged {record['outcome']}/{record['model']}: "
                                 f"{record['flag_reason']}")
    for sel in sections["cate_selection"]:
        console.stdout.print(f"CATE model for {sel['outcome']}: "
                             f"{sel['selected']} ({sel['reason']})")
    if sections["cate_selection"]:
        console.stdout.print(f"rule: {sections['cate_selection'][0]['rule']}")
    if sections.get("cate_by_region"):
        console.show_table(
            sections["cate_by_region"], title="CATE by propensity region (AIPW: 95% intervals)",
            columns=["outcome", "region", "n", "mean_cate", "aipw", "aipw_ci_low",
                     "aipw_ci_high", "extrapolated", "action"])
    if sections.get("refutation"):
        console.show_table(
            sections["refutation"], title="Refutation (placebo < 0.5, stability > 0.7)",
            columns=["outcome", "model", "placebo_ratio", "placebo_pass",
                     "stability_correlation", "stability_pass", "refits"])
