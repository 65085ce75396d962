"""One evaluation: the model run at a parameter set with every replicate's seed (common random
numbers: the same seeds at every parameter set, so the objective moves smoothly), and the weighted
least-squares objective of its mean measures against the targets."""
from __future__ import annotations

import traceback

import numpy as np

from .spec import Calibration, Target


def run_task(task: dict) -> dict:
    """Run one replicate at one parameter set; returns its measures (a run's own fault is returned, not raised)."""
    try:
        from ..config import config_from_tree
        from ..model import GradedCareModel
        from ..sweep import apply_values
        from .measures import measure

        tree, _ = apply_values(task["tree"], [], task["values"])
        cfg = config_from_tree(tree, {}, task.get("config_file"))
        model = GradedCareModel(cfg, seed=task["seed"], scale=task["scale"], patient_agents=False)
        try:
            model.run()
            out: dict[str, float] = {}
            for period in dict.fromkeys(p for _, p in task["measures"]):
                got = measure(model, [n for n, p in task["measures"] if p == period], period)
                out.update({f"{n}@{period}": v for n, v in got.items()})
        finally:
            model.release()
        return {"run_id": task["run_id"], "status": "complete", "measures": out}
    except Exception as exc:            # noqa: BLE001  (recorded with the evaluation)
        return {"run_id": task["run_id"], "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000],
                "traceback": traceback.format_exc(limit=-4)[-3000:]}


def tasks(cal: Calibration, eval_id: str, values: dict[str, float]) -> list[dict]:
    """One task per replicate for the parameter set `values` (keyed by parameter)."""
    expanded = cal.expand(values)
    return [{"run_id": f"{eval_id}-r{r:03d}", "fingerprint": cal.fingerprint(), "tree": cal.tree,
             "values": expanded, "seed": seed, "scale": cal.spec.scale, "config_file": cal.config_file,
             "measures": cal.measures()} for r, seed in enumerate(cal.seeds)]


def measure_key(t: Target) -> str:
    return f"{t.indicator}@{t.period}"


def mean_measures(runs: list[dict]) -> dict[str, float]:
    keys = runs[0]["measures"]
    return {k: float(np.mean([r["measures"][k] for r in runs])) for k in keys}


def residuals(cal: Calibration, means: dict[str, float]) -> dict[str, float]:
    """(simulated - observed) / tolerance (or se), per target."""
    return {t.key: (means[measure_key(t)] - t.observed) / t.scale for t in cal.targets}


def objective(cal: Calibration, means: dict[str, float]) -> float:
    """Weighted sum of squared residuals (inf if a target could not be measured)."""
    r = residuals(cal, means)
    total = sum(t.weight * r[t.key] ** 2 for t in cal.targets)
    return float(total) if np.isfinite(total) else float("inf")


def acceptable(cal: Calibration, means: dict[str, float]) -> bool:
    """Every target within its tolerance (or within `implausibility` standard errors): history matching."""
    r = residuals(cal, means)
    return all(np.isfinite(r[t.key]) and abs(r[t.key]) <= t.acceptable for t in cal.targets if t.history_match)
