"""Experiments: scenarios x samples x replications on common random numbers: plan, then orchestrate.

An experiment YAML names a county config, an optional horizon, replications, a seed and named
scenarios (policies and/or dotted overrides) and an optional sweep design (sim/sweep.py). Every
scenario's and sample's replicate r gets the same seed, so scenarios and samples differ only by
their policies and parameters (common random numbers). Parameters with ranges are drawn per
replicate, alike in every scenario (sim/uncertainty.py). Everything is validated before a results
folder exists. Runs execute on sim/executors.py; each writes its own tables as it finishes.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal

import numpy as np
from pydantic import Field, ValidationError

from .config import (MAX_WARMUP_DAYS, ConfigError, CountyConfig, SafeName, Strict, config_from_tree, deep_merge,
                     format_validation_error, load_tree, read_yaml)
from .policies import build_policies
from .sweep import Sweep, SweepSpec, apply_values, build_sweep, check_sweep
from .uncertainty import at_end, ranges_of, resolve_run, split_policies

if TYPE_CHECKING:
    import pandas as pd

    from .model import GradedCareModel

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
    start_state: Literal["warmup", "steady"] | None = None


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
    sweep: SweepSpec | None = Field(None, description="a design over parameters (docs/sweeps.md)")
    parameter_ensemble: str | None = Field(None, description="ensemble.csv of `gradsim calibrate`, relative to the "
                                           "experiment file: each replicate draws one acceptable parameter set")


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
    sweep: Sweep | None = None
    ensemble: list[dict] = field(default_factory=list)     # acceptable parameter sets (dotted path -> value)
    share_days: bool = True            # runs may share their days before the levers (sim.shared_prefix)

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
    def sample_ids(self) -> list[int]:
        """0 without a sweep, else 1..number of samples."""
        return list(range(1, len(self.sweep.samples) + 1)) if self.sweep else [0]

    @property
    def runs(self) -> list[tuple[str, int, int]]:
        """(scenario, sample, replicate) of every run, in the order tables are combined."""
        return [(s.name, k, r) for s in self.scenarios for k in self.sample_ids for r in range(len(self.seeds))]

    def run_id(self, scenario: str, sample: int, replicate: int) -> str:
        return f"{scenario}__s{sample:05d}__r{replicate:03d}" if self.sweep else f"{scenario}__r{replicate:03d}"

    def run_ids(self) -> list[str]:
        return [self.run_id(*key) for key in self.runs]

    def fingerprint(self) -> str:
        blob = json.dumps({"scenarios": [(s.name, s.tree, s.policies) for s in self.scenarios],
                           "seeds": self.seeds, "scale": self.scale,
                           **({"uncertainty": self.uncertainty} if self.ranges or self.ensemble else {}),
                           **({"ensemble": self.ensemble} if self.ensemble else {}),
                           **({"sweep": [self.sweep.as_dict(), self.sweep.samples]} if self.sweep else {})},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_scale(scale: float, cfg: CountyConfig, file: str | None) -> None:
    """Refuse a scale that leaves no resident, or villages with hardly any (exit 2)."""
    from .background import smallest_sensible_scale
    from .county import village_layout

    smallest = smallest_sensible_scale(cfg.population.size, village_layout(cfg)[3])
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
    sweep = None
    if spec.sweep is not None:
        sweep = build_sweep(spec.sweep, raw.get("sweep") or {}, spec.seed, file)
        touched.update(dict.fromkeys(check_sweep(sweep, [(s.name, s.tree, s.policies) for s in scenarios], origin,
                                                 str(config_path), file)))
        for p in sweep.parameters:          # a swept parameter is set, not drawn
            ranges.pop(p.key, None)
    ensemble = _ensemble(spec, root, scenarios, origin, str(config_path), file) if spec.parameter_ensemble else []
    on = uncertainty if uncertainty is not None else spec.uncertainty is not False
    plan = Plan(spec, file, tree, scenarios, replicate_seeds(spec.seed, spec.replications), spec.scale, baseline,
                list(touched), bool(on and (ranges or ensemble)), ranges, warnings, sweep, ensemble)
    if plan.horizon_note():
        warnings.append(f"the horizon covers part of a year ({plan.horizon_note()}): counts are per year, "
                        "seasonality and annual caps make such figures rough")
    return plan


def _ensemble(spec: ExperimentSpec, root: Path, scenarios: list[Scenario], origin: dict[str, str],
              config_file: str, file: str | None) -> list[dict]:
    """The ensemble's parameter sets, each checked against every scenario's config (exit 2 if one is invalid)."""
    from .calibration.ensemble import read_ensemble

    sets = read_ensemble(root / spec.parameter_ensemble, file)
    distinct = list({id(s.tree): s for s in scenarios}.values())   # scenarios without overrides share one tree
    for i, values in enumerate(sets):
        for s in distinct:
            try:
                config_from_tree(apply_values(s.tree, [], values)[0], dict(origin), config_file)
            except ConfigError as exc:
                raise ConfigError(f"row {i + 1} of {spec.parameter_ensemble} does not fit scenario '{s.name}': "
                                  f"{exc.path + ': ' if exc.path else ''}{exc.detail}", file,
                                  "parameter_ensemble") from None
    return sets


def ensemble_member(seed: int, n: int) -> int:
    """Which parameter set of an ensemble the replicate with this seed runs (the same in every scenario)."""
    from .uncertainty import generator
    return int(generator(seed, "parameter_ensemble").integers(n))


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
def run_inputs(task: dict) -> tuple[CountyConfig, list, dict]:
    """The config, policies and drawn parameters of one run (sweep values applied, ranges resolved):
    what `run_one` and the dashboard build a GradedCareModel from."""
    tree, member = task["tree"], {}
    if task.get("ensemble") and task.get("uncertainty", True):
        k = ensemble_member(task["seed"], len(task["ensemble"]))
        tree, member = apply_values(tree, [], task["ensemble"][k])[0], {"parameter_ensemble.row": k + 1}
    tree, policies = apply_values(tree, task["policies"], task.get("values") or {})
    tree, policy_specs, parameters = resolve_run(tree, policies, task["seed"], task.get("uncertainty", True))
    cfg = config_from_tree(tree, {}, task.get("config_file"))
    return cfg, build_policies(policy_specs, cfg, task.get("experiment_file")), {**member, **parameters}


def run_one(task: dict) -> dict:
    """Run one (scenario, sample, replicate) and write its tables into the run folder; returns its status."""
    from .model import GradedCareModel

    started = time.time()
    cfg, policies, parameters = run_inputs(task)
    model = GradedCareModel(cfg, seed=task["seed"], scale=task["scale"], policies=policies, patient_agents=False)
    try:
        model.run()
        return write_run(task, model, parameters, time.time() - started)
    finally:
        model.release()


def write_run(task: dict, model: "GradedCareModel", parameters: dict, seconds: float) -> dict:
    """Write a finished run's tables into the run folder (atomically, indicators last: their file marks
    the run complete); returns its status, with the seconds it took (`seconds` so far, plus this)."""
    from .indicators import outflow_table
    from .places import facility_indicators, facility_months, village_table
    from .results import RUN_TABLES, atomic_write_parquet

    started = time.time()
    ind = model.indicators()
    if task.get("facilities"):
        ind = ind.join(facility_indicators(model, task["facilities"]))
    long = ind.reset_index().melt(id_vars="period", var_name="indicator", value_name="value")
    meta = {"run_id": task["run_id"], "scenario": task["scenario"], "replicate": task["replicate"],
            "sample": task.get("sample", 0)}
    tables = {"indicators": long.assign(**meta)[["run_id", "scenario", "replicate", "sample", "period",
                                                 "indicator", "value"]],
              "timeseries": model.timeseries().assign(**meta),
              "facilities": _first(meta, facility_months(model)),
              "villages": _first(meta, village_table(model)),
              "outflow": _first(meta, outflow_table(model))}
    folder = Path(task["folder"])
    for name in RUN_TABLES[::-1]:            # indicators last: its presence marks the run complete
        atomic_write_parquet(tables[name], folder / f"{task['run_id']}.{name}.parquet")
    status = {"run_id": task["run_id"], "status": "complete",
              "seconds": round(seconds + time.time() - started, 2)}
    return {**status, "parameters": parameters} if parameters else status


def run_safely(task: dict) -> dict:
    """run_one, with the run's own failure returned as its status so that the other runs go on."""
    try:
        return run_one(task)
    except Exception as exc:            # noqa: BLE001  (any fault of one run is recorded, not raised)
        return failure_status(task, exc)


def failure_status(task: dict, exc: BaseException) -> dict:
    """A failed run's status: the error and the end of its traceback."""
    return {"run_id": task["run_id"], "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": "".join(traceback.format_exception(exc, limit=-6))[-4000:]}


def _first(meta: dict, df: "pd.DataFrame") -> "pd.DataFrame":
    """The run's identifying columns first, then the table's own."""
    import pandas as pd
    return pd.concat([pd.DataFrame({k: [v] * len(df) for k, v in meta.items()}), df.reset_index(drop=True)], axis=1)


def iter_tasks(plan: Plan, folder: Path, skip: set[str] | frozenset = frozenset()) -> Iterator[dict]:
    """The runs still to do, made one at a time (a sweep of 10,000 runs holds one task, not 10,000)."""
    fingerprint = plan.fingerprint()
    for s in plan.scenarios:
        for k in plan.sample_ids:
            values = plan.sweep.samples[k - 1] if plan.sweep and k else {}
            for r, seed in enumerate(plan.seeds):
                run_id = plan.run_id(s.name, k, r)
                if run_id in skip:
                    continue
                yield {"run_id": run_id, "scenario": s.name, "sample": k, "replicate": r, "seed": seed,
                       "values": values, "scale": plan.scale, "tree": s.tree, "policies": s.policies,
                       "folder": str(folder), "experiment_file": plan.file, "facilities": plan.reported_facilities,
                       "uncertainty": plan.uncertainty, "fingerprint": fingerprint, "ensemble": plan.ensemble}


def make_tasks(plan: Plan, folder: Path) -> list[dict]:
    return list(iter_tasks(plan, folder))


@dataclass
class ExperimentResult:
    path: Path
    indicators: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)      # run ids that raised (their errors: manifest runs.<id>)

    def timeseries(self) -> "pd.DataFrame":
        import pandas as pd
        return pd.read_parquet(self.path / "timeseries.parquet")


def plan_run(source: str | Path | dict, out: str | Path | None = None, replications: int | None = None,
             scale: float | None = None, resume: str | Path | bool | None = None,
             base_dir: str | Path | None = None, uncertainty: bool | None = None) -> tuple[Plan, Path | None]:
    """The plan and, when resuming, the folder to finish.

    A resumed run keeps the --scale, --replications and uncertainty switch it was started with
    (read from its manifest) unless they are given again; given and different, it is refused.
    """
    plan = plan_experiment(source, replications, scale, base_dir, uncertainty)
    if not resume:
        return plan, None
    from . import results as store          # pandas: not needed to refuse a bad experiment

    root = Path(out or "results") / plan.spec.name
    folder = store.resumable_folder(root, plan, None if resume is True else Path(resume))
    m = store.read_manifest(folder)
    unc = m.get("uncertainty") or {}
    started = {"replications": replications if replications is not None else m.get("replications"),
               "scale": scale if scale is not None else m.get("scale"),
               "uncertainty": uncertainty if uncertainty is not None or not (unc.get("parameters")
                                                                              or unc.get("parameter_ensemble"))
               else bool(unc.get("enabled"))}
    if (started["replications"], started["scale"], started["uncertainty"]) != (replications, scale, uncertainty):
        plan = plan_experiment(source, started["replications"], started["scale"], base_dir, started["uncertainty"])
    store.check_resumable(folder, plan)
    return plan, folder


def _refuse_while_a_worker_starts() -> None:
    if getattr(mp.current_process(), "_inheriting", False):
        raise RuntimeError("sim.run_experiment was called while a worker process was starting, which re-runs the "
                           "script that started it; put the call under `if __name__ == \"__main__\":`")


def run_experiment(source: str | Path | dict, out: str | Path | None = None, workers: int | None = None,
                   replications: int | None = None, scale: float | None = None, resume: str | Path | bool | None = None,
                   progress: bool = False, base_dir: str | Path | None = None,
                   uncertainty: bool | None = None, scheduler: str | None = None) -> ExperimentResult:
    """Validate, then run every scenario x sample x replicate, and write the results folder.

    out: parent of the experiment's folder (default ./results); resume: True for the newest
    unfinished run of this experiment, or a run folder; workers: local processes (default: all cores);
    scheduler: 'local' (a Dask LocalCluster of `workers`) or tcp://HOST:PORT of a Dask scheduler;
    uncertainty: False keeps every uncertain parameter at its central value (default: the file's choice).
    A run that raises is recorded in the manifest and listed in `failed`; the others go on.
    """
    _refuse_while_a_worker_starts()
    plan, folder = plan_run(source, out, replications, scale, resume, base_dir, uncertainty)
    return run_planned(plan, folder, out, workers, scheduler, progress)


def run_planned(plan: Plan, folder: Path | None, out: str | Path | None = None, workers: int | None = None,
                scheduler: str | None = None, progress: bool = False) -> ExperimentResult:
    """Run a plan and folder from `plan_run` (the command line plans once, checks the cost, then runs).

    One worker, or one run to do, runs in this process: no worker process is started.
    """
    from .executors import open_executor

    _refuse_while_a_worker_starts()
    todo_guess = len(plan.runs)
    n_workers = max(1, min(workers or os.cpu_count() or 1, todo_guess))
    with open_executor(n_workers, scheduler, todo_guess) as executor:      # a cluster that cannot start: no folder
        return _run_plan(plan, folder, Path(out or "results") / plan.spec.name, executor, progress)


def _run_plan(plan: Plan, folder: Path | None, root: Path, executor: Any, progress: bool) -> ExperimentResult:
    """Run the plan's missing runs into `folder` (a new one under root if None), then combine them."""
    import shutil

    from . import results as store
    from .shared_prefix import plan_work, run_work, statuses

    first_new = next((p for p in [*reversed(root.parents), root] if not p.exists()), None)
    created = folder is None
    folder = folder or store.new_run_folder(root)
    runs_dir = folder / "runs"
    try:
        with store.locked(folder):
            runs_dir.mkdir(parents=True, exist_ok=True)
            manifest = store.start_manifest(folder, plan)
            if plan.sweep is not None:
                store.write_samples(folder, plan)
            done = {i for i in plan.run_ids() if store.run_complete(runs_dir, i)}
            for i in done:
                manifest["runs"][i]["status"] = "complete"
            store.write_manifest(folder, manifest)
            bar = _progress(len(plan.runs), len(done), progress)
            saver = store.ManifestSaver(folder, manifest)
            try:
                work = plan_work(iter_tasks(plan, runs_dir, done), executor.workers, plan.share_days)
                by_id = {task["run_id"]: task for task in work}
                for result in executor.results(run_work, work):
                    finished = statuses(result, by_id)
                    for status in finished:
                        manifest["runs"][status["run_id"]].update(status)
                        saver.changed(urgent=status["status"] != "complete")
                    bar(finished)
            except BaseException as exc:
                manifest["status"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                if not isinstance(exc, KeyboardInterrupt):
                    manifest["error"] = f"{type(exc).__name__}: {exc}"
                saver.save()
                raise
            finally:
                bar(None)
            return store.finish(folder, plan, manifest)
    except BaseException:
        if created and not any(runs_dir.glob("*.indicators.parquet")):     # nothing worth keeping
            shutil.rmtree(first_new if first_new is not None else folder, ignore_errors=True)
        raise


def _progress(total: int, already: int, enabled: bool) -> Callable[[list[dict] | None], None]:
    """A progress bar moved once per task by the runs it finished (None closes it): a group's runs
    finish together, and counting them one by one would time the first at the group's whole time."""
    if not enabled:
        return lambda finished: None
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, unit="run", desc="runs", dynamic_ncols=True)
    failed = 0

    def update(finished: list[dict] | None) -> None:
        nonlocal failed
        if finished is None:
            bar.close()
            return
        failed += sum(status["status"] != "complete" for status in finished)
        bar.set_postfix_str(finished[-1]["run_id"] + (f", {failed} failed" if failed else ""), refresh=False)
        bar.update(len(finished))
    return update
