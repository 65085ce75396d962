"""Experiments: scenarios x replications on common random numbers, run serially or in processes.

An experiment YAML names a county config, an optional horizon, replications, a seed and named
scenarios (policies and/or dotted overrides). Every scenario's replicate r gets the same seed, so
scenarios differ only by their policies (common random numbers). Parameters with ranges are drawn
per replicate, alike in every scenario (sim/uncertainty.py). Everything is validated before a
results folder exists.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError

from .config import (MAX_WARMUP_DAYS, ConfigError, CountyConfig, SafeName, Strict, config_from_tree, deep_merge,
                     format_validation_error, load_tree, read_yaml)
from .policies import build_policies
from .uncertainty import at_end, ranges_of, resolve_run, split_policies


MAX_REPLICATIONS = 10000


class ScenarioSpec(Strict):
    name: SafeName
    description: str = ""
    policies: list[dict[str, Any]] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)


class HorizonSpec(Strict):
    start: dt.date
    end: dt.date
    warmup_days: int | None = Field(None, ge=0, le=MAX_WARMUP_DAYS)


class ExperimentSpec(Strict):
    name: SafeName
    description: str = ""
    config: str = Field(description="county config, relative to the experiment file")
    horizon: HorizonSpec | None = None
    replications: int = Field(10, ge=1, le=MAX_REPLICATIONS)
    seed: int = Field(0, ge=0)
    scale: float = Field(1.0, gt=0.0, le=1.0)
    baseline: str | None = Field(None, description="scenario the summary compares with (default: 'baseline' or the first)")
    overrides: dict[str, Any] = Field(default_factory=dict)
    uncertainty: bool | None = Field(None, description="draw uncertain parameters per replicate (default: "
                                     "yes when the config or a policy has a range; docs/uncertainty.md)")
    scenarios: list[ScenarioSpec] = Field(default_factory=lambda: [ScenarioSpec(name="baseline")], min_length=1)


@dataclass
class Scenario:
    name: str
    tree: dict
    policies: list[dict]
    config: CountyConfig


@dataclass
class Plan:
    """A validated experiment: what will run, with which seeds."""
    spec: ExperimentSpec
    file: str | None
    base_tree: dict
    scenarios: list[Scenario]
    seeds: list[int]
    scale: float
    baseline: str
    reported_facilities: list[str] = field(default_factory=list)   # touched by some scenario's policies
    uncertainty: bool = False          # replicates draw the ranges (prediction intervals in the summary)
    ranges: dict[str, dict] = field(default_factory=dict)   # parameter key -> range and the scenarios using it
    warnings: list[str] = field(default_factory=list)

    @property
    def horizon(self):
        return self.scenarios[0].config.horizon

    def short_periods(self) -> dict[str, int]:
        """Calendar-year periods the horizon covers only in part: {year: simulated days}."""
        h, out = self.horizon, {}
        for year in range(h.start.year, h.end.year + 1):
            first, last = max(h.start, dt.date(year, 1, 1)), min(h.end, dt.date(year, 12, 31))
            days = (last - first).days + 1
            if days < (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days:
                out[str(year)] = days
        return out

    def horizon_note(self) -> str | None:
        """'annualised from N days' when a reported year is simulated only in part (indicators stay per year)."""
        short = self.short_periods()
        if not short:
            return None
        return "; ".join(f"{y} annualised from {d} days" for y, d in short.items())

    @property
    def runs(self) -> list[tuple[str, int]]:
        return [(s.name, r) for s in self.scenarios for r in range(len(self.seeds))]

    def fingerprint(self) -> str:
        blob = json.dumps({"scenarios": [(s.name, s.tree, s.policies) for s in self.scenarios],
                           "seeds": self.seeds, "scale": self.scale,
                           **({"uncertainty": self.uncertainty} if self.ranges else {})}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_scale(scale: float, cfg: CountyConfig, file: str | None) -> None:
    """Refuse a scale that leaves no resident, or villages with hardly any (exit 2)."""
    from .background import smallest_sensible_scale
    from .county import build_county

    smallest = smallest_sensible_scale(cfg.population.size, build_county(cfg).village_weight)
    if cfg.population.size * scale < 1 or scale < smallest / 4:
        raise ConfigError(f"scale {scale:g} simulates {cfg.population.size * scale:,.1f} of {cfg.population.size:,} "
                          f"residents, too few to mean anything; the smallest sensible scale for this county is "
                          f"{smallest:.3g} (every village keeps about 10 simulated residents)", file, "scale")


def replicate_seeds(seed: int, n: int) -> list[int]:
    """One seed per replicate, spawned from the experiment seed; shared by all scenarios."""
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            for s in np.random.SeedSequence(seed).spawn(n)]


def plan_experiment(source: str | Path | dict, replications: int | None = None, scale: float | None = None,
                    base_dir: str | Path | None = None, uncertainty: bool | None = None) -> Plan:
    """Read and validate an experiment (file or dict) with all its scenarios and policies.

    uncertainty: False runs every uncertain parameter at its central value (None: the file's choice).
    """
    if isinstance(source, dict):
        raw, file = copy.deepcopy(source), None
        root = Path(base_dir or ".")
    else:
        file = str(source)
        raw = read_yaml(source)
        root = Path(source).resolve().parent
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, ExperimentSpec, {}, file) from None
    if replications is not None:
        if isinstance(replications, bool) or not 1 <= replications <= MAX_REPLICATIONS:
            raise ConfigError(f"--replications must be between 1 and {MAX_REPLICATIONS:,} (got {replications})",
                              file, "replications")
        spec.replications = replications
    if scale is not None:
        if not 0 < scale <= 1:
            raise ConfigError(f"--scale must be in (0, 1], got {scale}", file, "scale")
        spec.scale = scale
    names = [s.name for s in spec.scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"scenario names must be unique; repeated: {', '.join(sorted(dup))}", file, "scenarios")
    baseline = spec.baseline or ("baseline" if "baseline" in names else names[0])
    if baseline not in names:
        raise ConfigError(f"unknown scenario '{baseline}'; scenarios: {', '.join(names)}", file, "baseline")

    config_path = (root / spec.config).resolve()
    if not config_path.is_file():
        raise ConfigError(f"county config not found: {config_path}", file, "config")
    tree, origin = load_tree(config_path)
    if spec.horizon is not None:
        h = spec.horizon.model_dump(exclude_none=True)
        tree = deep_merge(tree, {"horizon": h}, origin, file or "experiment")
    if spec.overrides:
        tree = deep_merge(tree, spec.overrides, origin, file or "experiment", "")
    _check_scale(spec.scale, config_from_tree(tree, dict(origin), str(config_path)), file)
    scenarios, touched, ranges, warnings = [], {}, {}, []
    for i, s in enumerate(spec.scenarios):
        s_origin = dict(origin)
        s_tree = deep_merge(tree, s.overrides, s_origin, file or "experiment") if s.overrides else tree
        cfg = config_from_tree(s_tree, s_origin, str(config_path))
        where = f"scenarios.{i}.policies"
        policies = build_policies(split_policies(s.policies, file, where)[0], cfg, file, where)
        for policy in policies:
            touched.update(dict.fromkeys(policy.touched_facilities(cfg)))
        warnings += policy_warnings(policies, s.name, cfg)
        for key, r in ranges_of(s_tree, s.policies).items():
            ranges.setdefault(key, {**r.as_dict(), "scenarios": []})["scenarios"].append(s.name)
        _check_range_ends(s_tree, s.policies, s_origin, str(config_path), file, where)
        scenarios.append(Scenario(s.name, s_tree, s.policies, cfg))
    on = uncertainty if uncertainty is not None else spec.uncertainty is not False
    plan = Plan(spec, file, tree, scenarios, replicate_seeds(spec.seed, spec.replications), spec.scale, baseline,
                list(touched), bool(on and ranges), ranges, warnings)
    if plan.horizon_note():
        warnings.append(f"the horizon covers part of a year ({plan.horizon_note()}): counts are per year, "
                        "seasonality and annual caps make such figures rough")
    return plan


def policy_warnings(policies: list, scenario: str, cfg: CountyConfig) -> list[str]:
    """A warning for each policy whose dates never overlap the reported horizon."""
    h, out = cfg.horizon, []
    for p in policies:
        if p.start > h.end or (p.end is not None and p.end <= h.start):
            out.append(f"policy '{p.label}' of scenario '{scenario}' never takes effect between {h.start} and "
                       f"{h.end} (it runs from {p.start}{f' to {p.end}' if p.end else ''})")
    return out


def _check_range_ends(tree: dict, policies: list[dict], origin: dict[str, str], config_file: str,
                      file: str | None, where: str) -> None:
    """Every uncertain parameter must be valid at both ends of its range (checked before anything runs)."""
    if not ranges_of(tree, policies):
        return
    for end in ("low", "high"):
        end_tree, end_policies = at_end(tree, policies, end)
        try:
            build_policies(end_policies, config_from_tree(end_tree, dict(origin), config_file), file, where)
        except ConfigError as exc:
            err = ConfigError(f"{exc} (with every uncertain parameter at the {end} end of its range)")
            err.file, err.path = exc.file, exc.path
            raise err from None


# ---------------------------------------------------------------- running one replicate
def run_one(task: dict) -> dict:
    """Run one (scenario, replicate) and write its tables into the run folder; returns its status."""
    from .model import GradedCareModel
    from .indicators import outflow_table
    from .places import facility_indicators, facility_months, village_table
    from .results import RUN_TABLES, atomic_write_parquet

    started = time.time()
    tree, policy_specs, parameters = resolve_run(task["tree"], task["policies"], task["seed"],
                                                 task.get("uncertainty", True))
    cfg = config_from_tree(tree, {}, task.get("config_file"))
    policies = build_policies(policy_specs, cfg, task.get("experiment_file"))
    model = GradedCareModel(cfg, seed=task["seed"], scale=task["scale"], policies=policies, patient_agents=False)
    model.run()
    ind = model.indicators()
    if task.get("facilities"):
        ind = ind.join(facility_indicators(model, task["facilities"]))
    long = ind.reset_index().melt(id_vars="period", var_name="indicator", value_name="value")
    meta = {"run_id": task["run_id"], "scenario": task["scenario"], "replicate": task["replicate"], "sample": 0}
    tables = {"indicators": long.assign(**meta)[["run_id", "scenario", "replicate", "sample", "period", "indicator",
                                                 "value"]],
              "timeseries": model.timeseries().assign(**meta),
              "facilities": _first(meta, facility_months(model)),
              "villages": _first(meta, village_table(model)),
              "outflow": _first(meta, outflow_table(model))}
    model.release()
    folder = Path(task["folder"])
    for name in RUN_TABLES[::-1]:            # indicators last: its presence marks the run complete
        atomic_write_parquet(tables[name], folder / f"{task['run_id']}.{name}.parquet")
    status = {"run_id": task["run_id"], "status": "complete", "seconds": round(time.time() - started, 2)}
    return {**status, "parameters": parameters} if parameters else status


def _first(meta: dict, df: pd.DataFrame) -> pd.DataFrame:
    """The run's identifying columns first, then the table's own."""
    return pd.concat([pd.DataFrame({k: [v] * len(df) for k, v in meta.items()}), df.reset_index(drop=True)], axis=1)


def make_tasks(plan: Plan, folder: Path) -> list[dict]:
    return [{"run_id": f"{s.name}__r{r:03d}", "scenario": s.name, "replicate": r, "seed": plan.seeds[r],
             "scale": plan.scale, "tree": s.tree, "policies": s.policies, "folder": str(folder),
             "experiment_file": plan.file, "facilities": plan.reported_facilities, "uncertainty": plan.uncertainty}
            for s in plan.scenarios for r in range(len(plan.seeds))]


def execute(tasks: list[dict], workers: int, on_done: Callable[[dict], None]) -> None:
    """Run tasks serially (workers == 1) or in local processes started with 'spawn'."""
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            on_done(run_one(t))
        return
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = {pool.submit(run_one, t) for t in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


@dataclass
class ExperimentResult:
    path: Path
    indicators: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    def timeseries(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "timeseries.parquet")


def run_experiment(source: str | Path | dict, out: str | Path | None = None, workers: int | None = None,
                   replications: int | None = None, scale: float | None = None, resume: str | Path | bool | None = None,
                   progress: bool = False, base_dir: str | Path | None = None,
                   uncertainty: bool | None = None) -> ExperimentResult:
    """Validate, then run every scenario x replicate, and write the results folder.

    out: parent of the experiment's folder (default ./results); resume: True for the newest
    unfinished run of this experiment, or a run folder; workers: local processes (default: all cores);
    uncertainty: False keeps every uncertain parameter at its central value (default: the file's choice).
    """
    from . import results as store

    plan = plan_experiment(source, replications, scale, base_dir, uncertainty)
    root = Path(out or "results") / plan.spec.name
    if resume:
        folder = store.find_resumable(root, plan, None if resume is True else Path(resume))
    else:
        folder = store.new_run_folder(root)
    runs_dir = folder / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    manifest = store.start_manifest(folder, plan)
    tasks = [t for t in make_tasks(plan, runs_dir) if not store.run_complete(runs_dir, t["run_id"])]
    for t in make_tasks(plan, runs_dir):
        if t not in tasks:
            manifest["runs"][t["run_id"]]["status"] = "complete"
    store.write_manifest(folder, manifest)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) or 1))
    bar = _progress(len(plan.runs), len(plan.runs) - len(tasks), progress)

    def done(status: dict) -> None:
        manifest["runs"][status["run_id"]].update(status)
        store.write_manifest(folder, manifest)
        bar(status)

    try:
        execute(tasks, n_workers, done)
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        store.write_manifest(folder, manifest)
        raise
    finally:
        bar(None)
    return store.finish(folder, plan, manifest)


def _progress(total: int, already: int, enabled: bool) -> Callable[[dict | None], None]:
    if not enabled:
        return lambda status: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, unit="run", desc="runs", dynamic_ncols=True)

    def update(status: dict | None) -> None:
        if status is None:
            bar.close()
        else:
            bar.set_postfix_str(status["run_id"], refresh=False)
            bar.update(1)
    return update
