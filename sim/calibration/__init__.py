"""`gradsim calibrate`: fit free config values to a county's numbers, with an ensemble of acceptable
sets (docs/calibration.md). spec: the file; objective: one evaluation; search: the method, budget
and store; ensemble: acceptable sets; report: the overlay and fit report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:                   # pandas and the spec (pydantic): not for `gradsim --help`
    import pandas as pd

    from .spec import Calibration, load_calibration

__all__ = ["CalibrationResult", "calibrate", "load_calibration"]


@dataclass
class CalibrationResult:
    folder: Path
    best: Any
    ensemble: "pd.DataFrame"
    evaluations: list
    stopped: str
    paths: dict[str, Path]
    reused: int


def load_calibration(source, scale: float | None = None, replications: int | None = None) -> "Calibration":
    """Read and validate a calibration file (sim.calibration.spec.load_calibration)."""
    from .spec import load_calibration as load
    return load(source, scale, replications)


def calibrate(cal: "Calibration", out: str | Path = "results/calibration", workers: int = 1,
              scheduler: str | None = None, progress: bool = False, max_evaluations: int | None = None,
              max_minutes: float | None = None) -> CalibrationResult:
    """Search, then evaluate a design around the best fit, then write the overlay, ensemble and report.

    Evaluations already stored in `out/<name>` for the same setup are reused (a cut-off run resumes).
    """
    from ..executors import open_executor
    from ..results import locked
    from .ensemble import ensemble_table
    from .report import write_outputs
    from .search import Evaluator, StopSearch, ensemble_points, search

    folder = Path(out) / cal.spec.name
    folder.mkdir(parents=True, exist_ok=True)
    budget = max_evaluations or cal.spec.search.max_evaluations
    minutes = max_minutes if max_minutes is not None else cal.spec.search.max_minutes
    with locked(folder), open_executor(workers, scheduler) as executor:
        bar, update = _bar(budget + cal.spec.ensemble.samples, progress)
        ev = Evaluator(cal, folder, executor, budget, minutes, update)
        reused = len(ev.done)
        try:
            stopped = search(ev)
            best = ev.best()
            if best is None:
                raise RuntimeError("every evaluation failed; the first error: "
                                   + next(iter(ev.done.values())).error if ev.done else "no evaluation ran")
            try:
                ev.evaluate(ensemble_points(ev, best), phase="ensemble")
            except StopSearch as exc:
                stopped += f"; ensemble design cut short: {exc}"
        finally:
            bar.close() if bar is not None else None
        evaluations = sorted(ev.done.values(), key=lambda e: e.order)
        best = ev.best()
        ensemble = ensemble_table(cal, evaluations)
        paths = write_outputs(cal, folder, best, evaluations, ensemble, stopped)
    return CalibrationResult(folder, best, ensemble, evaluations, stopped, paths, reused)


def _bar(total: int, enabled: bool):
    if not enabled:
        return None, lambda e: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="eval", desc="calibrating", dynamic_ncols=True)
    best = [float("inf")]

    def update(e) -> None:
        best[0] = min(best[0], e.objective)
        bar.set_postfix_str(f"best {best[0]:.4g}", refresh=False)
        bar.update(1)
    return bar, update


def __getattr__(name: str):
    """load_calibration and Calibration are imported on first use (sim.calibration.spec)."""
    if name in ("Calibration", "load_calibration"):
        from . import spec
        return getattr(spec, name)
    raise AttributeError(f"module 'sim.calibration' has no attribute {name!r}")
