"""The search: scipy's derivative-free methods over the unit cube of the free parameters, every
batch of candidates run in parallel on a sweep executor (sim/executors.py), every finished
evaluation stored atomically in the output folder so that a run cut off resumes where it stopped
(the search is deterministic, so its replay finds its evaluations stored), within an evaluation
and a time budget."""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..results import atomic_write_text
from .objective import acceptable, mean_measures, objective, tasks
from .spec import Calibration


class StopSearch(Exception):
    """The evaluation or time budget is spent."""


@dataclass
class Evaluation:
    id: str
    order: int
    phase: str                        # search | ensemble
    parameters: dict[str, float]
    runs: list[dict]                  # per replicate: measures
    means: dict[str, float]
    objective: float
    acceptable: bool
    error: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Evaluator:
    """Evaluates batches of candidates (unit-cube points) on an executor, with a store and a budget."""

    def __init__(self, cal: Calibration, folder: Path, executor: Any, max_evaluations: int,
                 max_minutes: float | None, progress: Callable[[Evaluation], None] = lambda e: None):
        self.cal, self.executor, self.progress = cal, executor, progress
        self.store = folder / "evaluations" / cal.fingerprint()
        self.store.mkdir(parents=True, exist_ok=True)
        self.max_evaluations, self.deadline = max_evaluations, (time.time() + 60 * max_minutes) if max_minutes else None
        self.done: dict[str, Evaluation] = {e.id: self._rescored(e) for e in load_evaluations(self.store)}
        self.counted: set[str] = set()        # search evaluations asked for in this run (stored or new)
        self.stopped = ""

    def values(self, u: np.ndarray) -> dict[str, float]:
        """Parameter values at a unit-cube point (whole numbers rounded)."""
        out = {}
        for p, x in zip(self.cal.parameters, np.clip(u, 0.0, 1.0)):
            v = p.low + float(x) * (p.high - p.low)
            out[p.key] = float(round(v)) if p.integer else float(f"{v:.10g}")
        return out

    def unit(self, values: dict[str, float]) -> np.ndarray:
        return np.array([(values[p.key] - p.low) / (p.high - p.low) for p in self.cal.parameters])

    def evaluate(self, points: list[np.ndarray], phase: str = "search") -> list[float]:
        """Objectives of the points (stored ones read back); StopSearch when the budget is spent."""
        wanted = [self.values(u) for u in points]
        ids = [evaluation_id(self.cal, v) for v in wanted]
        truncated = False
        if phase == "search":
            new_ids = [i for i in dict.fromkeys(ids) if i not in self.counted]
            room = self.max_evaluations - len(self.counted)
            if room <= 0:
                self.stopped = f"evaluation budget ({self.max_evaluations}) spent"
                raise StopSearch(self.stopped)
            truncated = len(new_ids) > room
            self.counted.update(new_ids[:room])
            allowed = set(new_ids[:room]) | (set(ids) - set(new_ids))
        else:
            allowed = set(ids)
        fresh = {i: v for i, v in zip(ids, wanted) if i in allowed and i not in self.done}
        if fresh and self.deadline is not None and time.time() > self.deadline:
            self.stopped = "time budget spent"
            raise StopSearch(self.stopped)
        self._run(fresh, phase)
        if truncated:
            self.stopped = f"evaluation budget ({self.max_evaluations}) spent"
            raise StopSearch(self.stopped)
        return [self.done[i].objective for i in ids]

    def _run(self, fresh: dict[str, dict[str, float]], phase: str) -> None:
        from .objective import run_task

        if not fresh:
            return
        pending = {i: [] for i in fresh}
        all_tasks = [t for i, v in fresh.items() for t in tasks(self.cal, i, v)]
        reps = len(self.cal.seeds)
        for result in self.executor.results(run_task, all_tasks):
            eid = result["run_id"].rsplit("-r", 1)[0]
            pending[eid].append(result)
            if len(pending[eid]) == reps:
                self._finish(eid, fresh[eid], pending.pop(eid), phase)

    def _finish(self, eid: str, values: dict[str, float], runs: list[dict], phase: str) -> None:
        runs = sorted(runs, key=lambda r: r["run_id"])
        failed = [r for r in runs if r["status"] != "complete"]
        if failed:
            e = Evaluation(eid, len(self.done), phase, values, [], {}, math.inf, False, failed[0]["error"])
        else:
            means = mean_measures(runs)
            e = Evaluation(eid, len(self.done), phase, values, [r["measures"] for r in runs], means,
                           objective(self.cal, means), acceptable(self.cal, means))
        atomic_write_text(json.dumps(e.as_dict(), default=float), self.store / f"{eid}.json")
        self.done[eid] = e
        self.progress(e)

    def _rescored(self, e: Evaluation) -> Evaluation:
        """A stored evaluation judged against the current targets (they may have changed since)."""
        if e.means:
            e.objective, e.acceptable = objective(self.cal, e.means), acceptable(self.cal, e.means)
        return e

    def best(self) -> Evaluation | None:
        """The lowest objective among the acceptable sets, or among all when none is acceptable: a set
        that leaves a matched target outside its tolerance to come nearer a structural miss is not a fit."""
        ok = [e for e in self.done.values() if math.isfinite(e.objective)]
        pool = [e for e in ok if e.acceptable] or ok
        return min(pool, key=lambda e: (e.objective, e.order)) if pool else None


def evaluation_id(cal: Calibration, values: dict[str, float]) -> str:
    blob = json.dumps([cal.fingerprint(), sorted(values.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_evaluations(store: Path) -> list[Evaluation]:
    """Every stored evaluation of this setup, in the order they were made."""
    out = []
    for f in store.glob("*.json"):
        d = json.loads(f.read_text(encoding="utf-8"))
        out.append(Evaluation(**d))
    return sorted(out, key=lambda e: e.order)


def search(ev: Evaluator) -> str:
    """Run the configured method from the start values; returns why it stopped."""
    from scipy.optimize import differential_evolution, minimize

    s = ev.cal.spec.search
    d = len(ev.cal.parameters)
    x0 = ev.unit({p.key: p.start for p in ev.cal.parameters})
    bounds = [(0.0, 1.0)] * d
    try:
        if s.method == "differential_evolution":
            members = s.popsize * d
            result = differential_evolution(
                lambda u: ev.evaluate([u])[0], bounds, x0=x0, popsize=s.popsize, init="latinhypercube",
                maxiter=max(1, math.ceil(s.max_evaluations / members)), rng=np.random.default_rng(s.seed),
                polish=False, updating="deferred", workers=lambda f, pop: ev.evaluate(list(pop)), tol=1e-3)
        else:
            step = np.where(x0 + 0.15 <= 1.0, 0.15, -0.15)
            options = {"maxfev": s.max_evaluations, "xatol": 1e-3, "fatol": 1e-3,
                       "initial_simplex": np.vstack([x0, x0 + np.diag(step)])} if s.method == "nelder-mead" \
                else {"maxfev": s.max_evaluations, "xtol": 1e-3, "ftol": 1e-3}
            result = minimize(lambda u: ev.evaluate([u])[0], x0, method="Nelder-Mead" if s.method == "nelder-mead"
                              else "Powell", bounds=bounds, options=options)
        return f"converged ({result.message})" if result.success else str(result.message)
    except StopSearch as exc:
        return str(exc)


def ensemble_points(ev: Evaluator, best: Evaluation) -> list[np.ndarray]:
    """A Latin hypercube around the best fit (± `around` of each bound range, within the bounds)."""
    from scipy.stats import qmc

    e = ev.cal.spec.ensemble
    if e.samples == 0:
        return []
    centre = ev.unit(best.parameters)
    lo, hi = np.clip(centre - e.around, 0, 1), np.clip(centre + e.around, 0, 1)
    unit = qmc.LatinHypercube(d=len(centre), rng=np.random.default_rng(ev.cal.spec.search.seed + 1)).random(e.samples)
    return list(lo + unit * (hi - lo))
