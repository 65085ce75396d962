"""The results store: one folder per run of an experiment, written atomically, resumable.

results/<experiment>/<UTC timestamp>/
  manifest.json          experiment, resolved config, seeds, versions, git commit, times, runs' status
  indicators.parquet     run_id, scenario, replicate, sample, period, indicator, value
  timeseries.parquet     daily counts per run x date x tier x care type
  summary.csv            per scenario x period x indicator: mean and 95% interval over replicates,
                         and the paired difference from the baseline scenario with its interval;
                         with uncertain parameters, 95% prediction intervals of levels and changes
  facilities.parquet     per run x month x facility: visits, admissions, displaced, waits, beds, occupancy
  villages.parquet       per run x period x village of residence x tier x care type: episodes served
  outflow.parquet        per run x period x destination outside the county x care x severity x path x filed
  outflow.csv            the same as means over replicates per scenario: where outflow goes and how
  outflow_change.csv     paired change from the baseline per destination x care x severity x path,
                         with both intervals (sim/decomposition.py); only with several scenarios
  samples.parquet        with a sweep: sample id -> design and the value of each swept parameter
  runs/                  the tables of each finished run (what --resume looks at)
  .lock                  held by the process running the folder (a second run of it is refused)
Every file is written to a temporary name in the same folder and renamed into place. The
folder-level tables are streamed together from runs/ in plan order (never all in memory).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import time
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import ConfigError
from .decomposition import outflow_change

if TYPE_CHECKING:
    from .experiment import ExperimentResult, Plan


RUN_TABLES = ("indicators", "timeseries", "facilities", "villages", "outflow")   # per run, combined at the end
MIN_PREDICTION_REPLICATES = 10   # fewer replicates give no prediction interval (2.5/97.5% need a spread)


def _file_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask), e.g. 0o644 or group-writable 0o664."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_text(text: str, path: Path) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    _atomic(Path(path), write)


def new_run_folder(root: Path) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    folder = root / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    return folder


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write_text(json.dumps(manifest, indent=2, default=str, ensure_ascii=False), folder / "manifest.json")


def run_complete(runs_dir: Path, run_id: str) -> bool:
    return all((runs_dir / f"{run_id}.{name}.parquet").is_file() for name in RUN_TABLES)


def resumable_folder(root: Path, plan: "Plan", folder: Path | None) -> Path:
    """The folder to resume: the one given, or the newest unfinished run of this experiment."""
    if folder is None:
        candidates = sorted(p for p in root.glob("*") if (p / "manifest.json").is_file()
                            and read_manifest(p).get("status") != "complete") if root.is_dir() else []
        if not candidates:
            raise ConfigError(f"no unfinished run of '{plan.spec.name}' to resume in {root}", plan.file, "--resume")
        folder = candidates[-1]
    if not (folder / "manifest.json").is_file():
        raise ConfigError(f"{folder} is not a results folder (no manifest.json)", plan.file, "--resume")
    return folder


def check_resumable(folder: Path, plan: "Plan") -> None:
    m = read_manifest(folder)
    if m.get("fingerprint") != plan.fingerprint():
        raise ConfigError(f"{folder} was run with a different experiment (config, scenarios, sweep, seeds, scale "
                          f"or replications changed; it was started with scale {m.get('scale')} and "
                          f"{m.get('replications')} replication(s)); start a new run instead", plan.file, "--resume")


def find_resumable(root: Path, plan: "Plan", folder: Path | None) -> Path:
    """The folder to resume (as resumable_folder), refused if it was run with another experiment."""
    folder = resumable_folder(root, plan, folder)
    check_resumable(folder, plan)
    return folder


class FolderBusy(OSError):
    """Another process is running this results folder."""


@contextlib.contextmanager
def locked(folder: Path):
    """Hold the folder's lock while running it; the system frees it when the process ends, even killed."""
    fh = open(folder / ".lock", "a+", encoding="utf-8")
    try:
        try:
            import fcntl
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:                                  # Windows
            import msvcrt
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        fh.seek(0)
        who = fh.read().strip() or "another process"
        fh.close()
        raise FolderBusy(f"{folder} is being run right now ({who}); wait for it to finish or stop it, "
                         "then --resume") from None
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"gradsim process {os.getpid()} on {socket.gethostname()} since {_now()}")
        fh.flush()
        yield
    finally:
        fh.close()


class ManifestSaver:
    """Writes the manifest when runs finish, at most every `every` seconds (a failure at once)."""

    def __init__(self, folder: Path, manifest: dict, every: float = 2.0):
        self.folder, self.manifest, self.every = folder, manifest, every
        self.last, self.dirty = time.monotonic(), False

    def changed(self, urgent: bool = False) -> None:
        self.dirty = True
        if urgent or time.monotonic() - self.last >= self.every:
            self.save()

    def save(self) -> None:
        write_manifest(self.folder, self.manifest)
        self.last, self.dirty = time.monotonic(), False


def write_samples(folder: Path, plan: "Plan") -> None:
    """samples.parquet: sample id, design, then one column per swept parameter (named by its address)."""
    sweep = plan.sweep
    table = pd.DataFrame({"sample": plan.sample_ids, "design": sweep.design,
                          **{p.key: [s[p.key] for s in sweep.samples] for p in sweep.parameters}})
    atomic_write_parquet(table, folder / "samples.parquet")


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def start_manifest(folder: Path, plan: "Plan") -> dict:
    from importlib.metadata import version      # Mesa's version without importing Mesa (workers run the model)

    from . import __version__

    if (folder / "manifest.json").is_file():
        manifest = read_manifest(folder)
        manifest["status"] = "running"
        manifest.setdefault("resumed_at", []).append(_now())
        return manifest
    return {
        "experiment": plan.spec.name,
        "experiment_file": plan.file,
        "description": plan.spec.description,
        "status": "running",
        "fingerprint": plan.fingerprint(),
        "started_at": _now(),
        "finished_at": None,
        "scale": plan.scale,
        "counts_note": (f"runs simulate {plan.scale:g} of the population; counts are scaled back up to the "
                        "full population" if plan.scale < 1 else "full population"),
        "periods_note": plan.horizon_note() or "every period is a whole calendar year",
        "warnings": plan.warnings,
        "replications": len(plan.seeds),
        "experiment_seed": plan.spec.seed,
        "replicate_seeds": plan.seeds,
        "baseline_scenario": plan.baseline,
        "uncertainty": {"enabled": plan.uncertainty, "parameters": plan.ranges,
                        **({"parameter_ensemble": {"file": plan.spec.parameter_ensemble, "sets": len(plan.ensemble)}}
                           if plan.ensemble else {})},
        "scenarios": {s.name: {"description": next((x.description for x in plan.spec.scenarios if x.name == s.name), ""),
                               "policies": s.policies, "config": s.config.model_dump(mode="json")}
                      for s in plan.scenarios},
        "versions": {"gradsim": __version__, "mesa": version("mesa"), "numpy": np.__version__,
                     "pandas": pd.__version__, "python": sys.version.split()[0], "platform": platform.platform()},
        "git_commit": _git_commit(),
        **({"sweep": {**plan.sweep.as_dict(), "samples": len(plan.sweep.samples)}} if plan.sweep else {}),
        "runs": {plan.run_id(s, k, r): {"scenario": s, "sample": k, "replicate": r, "seed": plan.seeds[r],
                                        "status": "pending"} for s, k, r in plan.runs},
    }


def record_failure(path: str | os.PathLike | None, message: str) -> Path | None:
    """Mark the run folder holding `path` as failed with `message` (if its manifest can still be written)."""
    if path is None:
        return None
    for folder in [Path(path), *Path(path).parents]:
        if (folder / "manifest.json").is_file():
            try:
                manifest = read_manifest(folder)
                manifest["status"] = "failed"
                manifest["error"] = message
                write_manifest(folder, manifest)
            except (OSError, ValueError):
                pass
            return folder
    return None


REQUIRED_TABLES = ("manifest.json", "summary.csv", "timeseries.parquet")


def check_results_folder(folder: Path) -> None:
    """ConfigError naming the first table of a results folder that is missing or cannot be read."""
    import pyarrow.parquet as pq

    if not folder.is_dir():
        raise ConfigError("no such results folder", folder, None)
    for name in REQUIRED_TABLES:
        f = folder / name
        if not f.is_file():
            raise ConfigError(f"not a finished results folder: {name} is missing (rerun the experiment, or "
                              "finish it with `gradsim run EXP.yaml --resume`)", folder, None)
        try:
            if name.endswith(".json"):
                data = json.loads(f.read_text(encoding="utf-8"))
                missing = [k for k in ("experiment", "scenarios", "replications") if k not in data]
            elif name.endswith(".csv"):
                missing = [c for c in ("scenario", "period", "indicator", "mean")
                           if c not in pd.read_csv(f, nrows=5).columns]
            else:
                missing = [c for c in ("scenario", "date", "tier") if c not in pq.read_schema(f).names]
        except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ConfigError(f"{name} is damaged and cannot be read ({str(exc)[:120]}); rerun the "
                              "experiment", folder, None) from None
        if missing:
            raise ConfigError(f"{name} is damaged: no {', '.join(missing)}; rerun the experiment", folder, None)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def summarize(indicators: pd.DataFrame, baseline: str, level: float = 0.95, prediction: bool = False) -> pd.DataFrame:
    """Mean and t-interval over replicates; paired difference from the baseline scenario.

    prediction: also the central `level` range of the replicates' values and paired differences
    (replicates drew their own uncertain parameters); NaN when false or with fewer than
    MIN_PREDICTION_REPLICATES replicates.
    """
    from .deferred import special         # stdtrit: the t quantile scipy.stats.t.ppf returns, without scipy.stats
    keys = ["scenario", "sample", "period", "indicator"]
    g = indicators.groupby(keys, sort=False, observed=True)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    q = special.stdtrit(np.maximum(out["n"].to_numpy() - 1, 1), 0.5 + level / 2)
    half = q * out["sd"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    base = indicators[indicators["scenario"] == baseline][["replicate", "sample", "period", "indicator", "value"]]
    paired = indicators.merge(base, on=["replicate", "sample", "period", "indicator"], suffixes=("", "_base"))
    paired["diff"] = paired["value"] - paired["value_base"]
    d = paired.groupby(keys, sort=False, observed=True)["diff"].agg(diff_mean="mean", diff_sd="std",
                                                                     diff_n="count").reset_index()
    qd = special.stdtrit(np.maximum(d["diff_n"].to_numpy() - 1, 1), 0.5 + level / 2)
    dh = qd * d["diff_sd"] / np.sqrt(d["diff_n"])
    d["diff_ci_low"], d["diff_ci_high"] = d["diff_mean"] - dh, d["diff_mean"] + dh
    out = _prediction(out, g, keys, level, prediction, "")
    d = _prediction(d.rename(columns={"diff_n": "n"}), paired.groupby(keys, sort=False, observed=True)["diff"],
                    keys, level, prediction, "diff_")
    cols = ["diff_mean", "diff_ci_low", "diff_ci_high", "diff_prediction_low", "diff_prediction_high"]
    out = out.merge(d[keys + cols], on=keys, how="left")
    return out[keys + ["n", "mean", "ci_low", "ci_high", "prediction_low", "prediction_high"] + cols]


def _prediction(frame: pd.DataFrame, grouped, keys: list[str], level: float, on: bool, prefix: str) -> pd.DataFrame:
    """Add `{prefix}prediction_low/high`: the central `level` range of the grouped values (NaN if off or few)."""
    tails = ((1 - level) / 2, (1 + level) / 2)
    if on:
        q = grouped.quantile(list(tails)).unstack().set_axis([f"{prefix}prediction_low", f"{prefix}prediction_high"],
                                                            axis=1).reset_index()
        frame = frame.merge(q, on=keys, how="left")
    else:
        frame = frame.assign(**{f"{prefix}prediction_low": np.nan, f"{prefix}prediction_high": np.nan})
    few = frame["n"] < MIN_PREDICTION_REPLICATES
    frame.loc[few, [f"{prefix}prediction_low", f"{prefix}prediction_high"]] = np.nan
    return frame


def summarize_outflow(outflow: pd.DataFrame) -> pd.DataFrame:
    """Mean episodes a year and share over replicates, per scenario x sample x period x destination x
    care type x severity x path x filed (rows add up to each destination's share indicator)."""
    keys = ["scenario", "sample", "period", "destination", "care_type", "programme", "severity", "path", "filed"]
    return outflow.groupby(keys, sort=False, observed=True)[["episodes", "share"]].mean().reset_index()


def combine_runs(paths: list[Path], out: Path, rows_per_group: int = 500_000) -> None:
    """Stream per-run parquet files into one table, in the order given (a few runs in memory at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p).remove_metadata() for p in paths]
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])

    def write(tmp: str) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            batch, rows = [], 0
            for p in paths:
                t = pq.read_table(p).replace_schema_metadata(None)
                t = t.select(schema.names).cast(schema) if t.schema != schema else t
                batch.append(t)
                rows += t.num_rows
                if rows >= rows_per_group:
                    writer.write_table(pa.concat_tables(batch))
                    batch, rows = [], 0
            if batch or not paths:
                writer.write_table(pa.concat_tables(batch) if batch else schema.empty_table())
    _atomic(out, write)


def finish(folder: Path, plan: "Plan", manifest: dict) -> "ExperimentResult":
    """Combine the finished runs' tables, write the summary, and say in the manifest how many failed."""
    from .experiment import ExperimentResult

    runs_dir = folder / "runs"
    ids = plan.run_ids()
    complete = [i for i in ids if run_complete(runs_dir, i)]
    failed = [i for i in ids if i not in set(complete)]
    for i in complete:
        manifest["runs"][i]["status"] = "complete"
    manifest["failed_runs"] = len(failed)
    if not complete:
        manifest["status"] = "failed"
        write_manifest(folder, manifest)
        raise RunsFailed(failed, manifest)
    for name in RUN_TABLES:
        combine_runs([runs_dir / f"{i}.{name}.parquet" for i in complete], folder / f"{name}.parquet")
    ind = pd.read_parquet(folder / "indicators.parquet")
    summary = summarize(ind, plan.baseline, prediction=plan.uncertainty)
    runs_outflow = pd.read_parquet(folder / "outflow.parquet")
    outflow = summarize_outflow(runs_outflow)
    _atomic(folder / "outflow.csv", lambda tmp: outflow.to_csv(tmp, index=False, float_format="%.6g"))
    if len(plan.scenarios) > 1:
        change = outflow_change(runs_outflow, plan.baseline, prediction=plan.uncertainty)
        _atomic(folder / "outflow_change.csv", lambda tmp: change.to_csv(tmp, index=False, float_format="%.6g"))
    _atomic(folder / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False, float_format="%.6g"))
    manifest["status"] = "incomplete" if failed else "complete"
    manifest["finished_at"] = _now()
    write_manifest(folder, manifest)
    return ExperimentResult(folder, ind, summary, manifest, failed)


class RunsFailed(RuntimeError):
    """Every run failed: there is no table to write (the errors are in the manifest)."""

    def __init__(self, failed: list[str], manifest: dict):
        first = manifest["runs"][failed[0]].get("error", "no error recorded") if failed else ""
        super().__init__(f"all {len(failed)} runs failed; the first: {first}")
        self.failed = failed


def load_results(folder: str | Path) -> "ExperimentResult":
    """Open a finished results folder."""
    from .experiment import ExperimentResult

    folder = Path(folder)
    return ExperimentResult(folder, pd.read_parquet(folder / "indicators.parquet"),
                            pd.read_csv(folder / "summary.csv"), read_manifest(folder))
