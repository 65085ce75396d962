"""Where a scenario's change in outflow comes from: the paired change from the baseline of each
slice of care outside the county (destination x care type x severity x path), with both intervals.

The slices of a destination add up to its share indicator (outflow.parquet), so the rows with
`severity == "all"` or `path == "all"` decompose e.g. the change in `out_of_province_admission_rate`
exactly. Written to `outflow_change.csv` by every run with a baseline scenario.
"""
from __future__ import annotations

import pandas as pd

OUTSIDE = "outside_county"   # both destinations outside the county together
ALL = "all"


def outflow_slices(outflow: pd.DataFrame) -> pd.DataFrame:
    """Per run x period: the share of the care type's episodes in each destination x severity x path
    slice, with totals over severities, over paths and over both, as a long indicator table."""
    keys = ["scenario", "replicate", "sample", "period", "care_type"]
    frame = outflow.assign(severity=outflow["severity"].astype(str))
    both = frame.assign(destination=OUTSIDE)
    frame = pd.concat([frame, both], ignore_index=True)
    parts = []
    for sev, path in ((True, True), (True, False), (False, True), (False, False)):
        by = keys + ["destination"] + (["severity"] if sev else []) + (["path"] if path else [])
        g = frame.groupby(by, sort=False, observed=True)["share"].sum().reset_index()
        parts.append(g.assign(**({} if sev else {"severity": ALL}), **({} if path else {"path": ALL})))
    long = pd.concat(parts, ignore_index=True)
    long["indicator"] = (long["care_type"] + "|" + long["destination"] + "|" + long["severity"].astype(str) + "|"
                         + long["path"])
    return long.rename(columns={"share": "value"})[["scenario", "replicate", "sample", "period", "indicator", "value"]]


def outflow_change(outflow: pd.DataFrame, baseline: str, prediction: bool, level: float = 0.95) -> pd.DataFrame:
    """Mean share and paired change from the baseline per scenario x period x slice, with the Monte
    Carlo and prediction intervals of `summarize` (one interval method for every table)."""
    from .results import summarize

    s = summarize(outflow_slices(outflow), baseline, level=level, prediction=prediction)
    parts = s["indicator"].str.split("|", expand=True)
    s = s.drop(columns="indicator")
    s.insert(3, "care_type", parts[0])
    s.insert(4, "destination", parts[1])
    s.insert(5, "severity", parts[2])
    s.insert(6, "path", parts[3])
    return s
