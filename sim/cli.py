"""The `gradsim` command: a thin layer over sim.run_experiment and sim.load_config.

Bad input (YAML, keys, types, ranges, names, files) exits with status 2 and one message naming
the file, the key path and what is allowed; no traceback unless --debug; no results folder.
Faults of the machine (output folder, disk, memory) exit with their own codes (docs/errors.md).
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import tempfile
import time
from pathlib import Path


EXIT_OK = 0
EXIT_BAD_INPUT = 2        # a mistake in a file or an option: fix the input and run again
EXIT_ENVIRONMENT = 3      # the machine: --out not a writable folder, disk full, a file that cannot be read
EXIT_MEMORY = 4           # the population does not fit in this machine's memory
EXIT_INTERRUPTED = 130    # Ctrl-C: finished runs are kept; continue with --resume

SINGLE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")   # as Dask sets for its workers

EXIT_FOLDER_BUSY = 3      # the results folder is being run by another process (an environment fault)
EXIT_RUNS_FAILED = 5      # some runs raised: the others' tables are written, the errors are in manifest.json

MAIN_INDICATORS = [  # (indicator, label, short label, format)
    ("visits_delivered_in_county", "visits in the county", "visits", "{:,.0f}"),
    ("admissions_delivered_in_county", "admissions in the county", "admissions", "{:,.0f}"),
    ("out_of_county_admission_rate", "out-of-county adm. rate", "out-cty adm", "{:.1%}"),
    ("out_of_province_admission_rate", "out-of-prov. adm. rate", "out-prov adm", "{:.1%}"),
    ("primary_care_share", "primary-care share", "primary care", "{:.1%}"),
    ("effective_reimbursement_ratio", "fund / spending", "fund/spend", "{:.1%}"),
    ("in_county_fund_share", "in-county fund share", "in-cty fund", "{:.1%}"),
    ("oop_per_capita", "OOP per capita (yuan)", "OOP/capita", "{:,.0f}"),
    ("bed_occupancy_township", "occupancy township", "occ township", "{:.1%}"),
    ("bed_occupancy_county", "occupancy county", "occ county", "{:.1%}"),
]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradsim", description="Graded-care (分级诊疗) county simulator.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run an experiment YAML (scenarios x replications)")
    r.add_argument("experiment", help="experiment YAML, e.g. experiments/baseline.yaml")
    r.add_argument("--out", default="results", help="parent folder of results (default: results/)")
    r.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: all cores); with --scheduler local, Dask workers")
    r.add_argument("--scheduler", default=None, metavar="local|tcp://HOST:PORT",
                   help="run on Dask: 'local' starts a LocalCluster, tcp://HOST:PORT uses a running scheduler "
                        "(docs/dask.md)")
    r.add_argument("--replications", type=int, default=None, help="override the file's replications")
    r.add_argument("--scale", type=float, default=None, help="population fraction, e.g. 0.1 for a quick look")
    r.add_argument("--resume", nargs="?", const=True, default=None, metavar="RUN_FOLDER",
                   help="finish an interrupted run (the newest unfinished one, or the folder given)")
    r.add_argument("--quiet", action="store_true", help="no progress bar or table")
    r.add_argument("--no-uncertainty", dest="uncertainty", action="store_const", const=False, default=None,
                   help="keep uncertain parameters at their central values (no prediction intervals)")
    r.add_argument("--plot", action="store_true", help="also write figures/ and the report (as `gradsim plot`)")
    r.add_argument("--lang", choices=("en", "zh"), default="en", help="language of figures and report with --plot")
    r.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    pl = sub.add_parser("plot", help="write figures/, report.md and report.html for a results folder (docs/figures.md)")
    pl.add_argument("folder", help="a results folder, e.g. results/baseline/20260101T000000Z")
    _figure_options(pl)
    pl.add_argument("--target", help="grid sweeps: draw the contour of a target, e.g. in_county_admission_rate=0.9")
    pl.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    cp = sub.add_parser("compare", help="two results folders of the same county side by side, with differences")
    cp.add_argument("folder_a", help="results folder A")
    cp.add_argument("folder_b", help="results folder B (differences are B - A)")
    cp.add_argument("--out", help="folder for compare.csv, compare.md and figures (default: B/compare_with_<A>)")
    _figure_options(cp)
    cp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    v = sub.add_parser("check", help="check a county config or an experiment without running it")
    a = sub.add_parser("analyze", help="sensitivity of a finished sweep: sensitivity.csv and a ranking")
    a.add_argument("folder", help="a results folder of an experiment with a sweep")
    a.add_argument("--period", default="all", help="period of the printed ranking (default: all)")
    a.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    d = sub.add_parser("dashboard", help="an interactive dashboard in the browser (needs: pip install .[dashboard])")
    d.add_argument("source", nargs="?", default="configs/seed_county.yaml", metavar="CONFIG_OR_EXPERIMENT",
                   help="a county config or an experiment (default: configs/seed_county.yaml)")
    d.add_argument("--port", type=int, default=8765, help="port of the local server (default: 8765)")
    d.add_argument("--scale", type=float, default=0.1,
                   help="fraction of the population simulated (default: 0.1; counts are scaled back up)")
    d.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the labels (default: en)")
    d.add_argument("--save-dir", default=".", help="folder `Save as experiment` writes to (default: here)")
    d.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    d.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    v.add_argument("file")
    v.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    from .calibration.command import add_parser as add_calibrate
    from .validation.command import add_parser as add_validate
    add_calibrate(sub)
    add_validate(sub)
    n = sub.add_parser("new-county", help="write a county config and its calibration file from a yearbook table")
    n.add_argument("table", help="YAML or CSV table (docs/new-county.md)")
    n.add_argument("--config", default=None, help="config to write (default configs/<name>.yaml)")
    n.add_argument("--calibration", default=None, help="calibration to write (default experiments/calibrate_<name>.yaml)")
    n.add_argument("--seed", default="configs/seed_county.yaml", help="config whose behaviour is inherited")
    n.add_argument("--force", action="store_true", help="overwrite existing files")
    n.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return p


def _figure_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of figures and report (zh: Chinese)")
    p.add_argument("--format", default="png", help="figure formats, comma-separated: png, svg (default: png)")


def _formats(value: str) -> tuple[str, ...]:
    from .config import ConfigError
    from .figures.style import FORMATS
    formats = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format {value}: allowed are {', '.join(FORMATS)} (comma-separated)", None, "--format")
    return formats


def file_kind(path: str) -> str:
    """"calibration", "experiment" or "config": which of the tool's YAML files this is."""
    from .config import read_yaml
    data = read_yaml(path)
    if "targets" in data and "parameters" in data:
        return "calibration"
    if "scenarios" in data or ("config" in data and "tiers" not in data and "extends" not in data):
        return "experiment"
    return "config"


def warn(messages: list[str]) -> None:
    """The one place warnings reach the analyst: stderr, one `warning:` line each."""
    for m in messages:
        print(f"warning: {m}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from .config import load_config
    from .experiment import plan_experiment
    kind = file_kind(args.file)
    if kind == "calibration":
        from .calibration import load_calibration
        cal = load_calibration(args.file)
        print(f"{args.file}: valid calibration '{cal.spec.name}' of {cal.config_file}: {len(cal.parameters)} free "
              f"parameter(s), {len(cal.targets)} target(s), {len(cal.seeds)} replication(s) per evaluation at scale "
              f"{cal.spec.scale:g}, {cal.spec.search.method} up to {cal.spec.search.max_evaluations} evaluations")
    elif kind == "experiment":
        plan = plan_experiment(args.file)
        warn(plan.warnings)
        print(f"{args.file}: valid experiment '{plan.spec.name}': {len(plan.scenarios)} scenario(s) x "
              + (f"{len(plan.sample_ids)} sample(s) x " if plan.sweep else "")
              + f"{len(plan.seeds)} replication(s) = {len(plan.runs)} runs at scale {plan.scale:g}"
              + (f" ({len(plan.warnings)} warning(s))" if plan.warnings else ""))
        if plan.sweep is not None:
            print(f"sweep: {plan.sweep.design} design, {len(plan.sweep.samples)} samples over "
                  f"{', '.join(p.key for p in plan.sweep.parameters)}")
        if plan.ranges:
            how = "drawn per replicate" if plan.uncertainty else "held at their central values (uncertainty: false)"
            print(f"{len(plan.ranges)} uncertain parameter(s), {how}: {', '.join(plan.ranges)}")
        if plan.ensemble:
            print(f"parameter ensemble: {len(plan.ensemble)} acceptable set(s) of {len(plan.ensemble[0])} value(s), "
                  f"one drawn per replicate ({plan.spec.parameter_ensemble})")
    else:
        cfg = load_config(args.file)
        print(f"{args.file}: valid county config '{cfg.name}' ({cfg.population.size:,} residents, "
              f"{len(cfg.townships)} townships, {sum(t.villages for t in cfg.townships)} villages)")
    return 0


def cmd_new_county(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .newcounty import new_county, read_table
    name = read_table(args.table)[0].get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("required key is missing (the county's name: a word, e.g. other_county)", args.table, "name")
    config, calibration = new_county(args.table, args.config or f"configs/{name}.yaml",
                                     args.calibration or f"experiments/calibrate_{name}.yaml", args.seed, args.force)
    print(f"written: {config} (county config) and {calibration} (calibration)\n"
          f"next: gradsim check {config}; gradsim calibrate {calibration}; gradsim validate {config}")
    return 0


def _writable_folder(out: Path) -> None:
    """OSError (an environment fault) unless `out` is, or can become, a folder we can write in."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(out))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=out):
        pass


def cmd_run(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .experiment import plan_run, run_planned
    from .resources import check_cost, cores
    if Path(args.experiment).is_file() and file_kind(args.experiment) != "experiment":
        raise ConfigError("this is a county config; run needs an experiment (see experiments/baseline.yaml)",
                          args.experiment)
    plan, folder = plan_run(args.experiment, args.out, args.replications, args.scale, args.resume,
                            uncertainty=args.uncertainty)
    workers = args.workers if args.workers is not None else cores()
    if workers < 1:
        raise ConfigError("--workers must be at least 1", None, "--workers")
    warnings = plan.warnings + check_cost(plan, workers)
    _writable_folder(Path(args.out))
    warn(warnings)
    if not args.quiet:
        note = "" if plan.scale == 1 else f" at {plan.scale:g} of the population (counts scaled back up)"
        samples = f" x {len(plan.sample_ids)} {plan.sweep.design} sample(s)" if plan.sweep else ""
        where = f"Dask scheduler {args.scheduler}" if args.scheduler else f"{min(workers, len(plan.runs))} worker(s)"
        print(f"{plan.spec.name}: {len(plan.scenarios)} scenario(s){samples} x {len(plan.seeds)} replication(s) = "
              f"{len(plan.runs)} runs{note}, {where}", file=sys.stderr)
    if folder is not None and not args.quiet:
        from .results import run_complete
        done = sum(run_complete(folder / "runs", i) for i in plan.run_ids())
        print(f"resuming {folder}: {done} of {len(plan.runs)} runs already done", file=sys.stderr)
    from .results import RunsFailed         # pandas: imported once the experiment is known to be valid
    t0 = time.time()
    try:
        result = run_planned(plan, folder, args.out, workers, args.scheduler, progress=not args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are kept; continue with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RunsFailed as exc:
        print(f"error: {exc}; details in manifest.json (runs.<id>.error)", file=sys.stderr)
        return EXIT_RUNS_FAILED
    if not args.quiet and plan.sweep is not None:
        print(f"\n{len(plan.sample_ids)} samples of a {plan.sweep.design} design over "
              f"{len(plan.sweep.parameters)} parameter(s); each sample's levels and changes are in summary.csv "
              f"(column sample; values in samples.parquet). Sensitivity: gradsim analyze {result.path}")
    elif not args.quiet:
        years = sorted(p for p in result.summary["period"].astype(str).unique() if p != "all")
        period = years[-1] if len(years) > 1 else "all"
        days = plan.short_periods().get(period if period != "all" else years[0] if years else "")
        print(format_table(result.summary, plan.baseline, period,
                           f"annualised from {days} days" if days else None))
        print(f"\n{len(plan.runs)} runs in {time.time() - t0:.0f} s. Results: {result.path}")
    if result.failed:
        first = result.manifest["runs"][result.failed[0]].get("error", "")
        print(f"{len(result.failed)} of {len(plan.runs)} runs failed (the table leaves them out); the first, "
              f"{result.failed[0]}: {first}\nErrors: {result.path / 'manifest.json'} (runs.<id>.error); "
              "run them again with --resume", file=sys.stderr)
        return EXIT_RUNS_FAILED
    if args.plot:
        cmd_plot(argparse.Namespace(folder=result.path, quiet=args.quiet, lang=args.lang))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .figures.sweeps import parse_target
    from .report import plot_results
    from .results import check_results_folder
    folder = Path(args.folder)
    formats = _formats(getattr(args, "format", "png"))
    try:
        target = parse_target(getattr(args, "target", None))
    except ValueError as exc:
        raise ConfigError(str(exc), None, "--target") from None
    check_results_folder(folder)
    written = plot_results(folder, getattr(args, "lang", "en"), formats, target)
    if not getattr(args, "quiet", False):
        print(f"{len(written) - 2} figure file(s) in {folder / 'figures'}; report: {folder / 'report.html'} "
              f"and {folder / 'report.md'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare
    written = compare(args.folder_a, args.folder_b, args.out, args.lang, _formats(args.format))
    print(f"Comparison: {written[-1]} ({len(written)} files in {written[-1].parent})")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze import analyze_folder, ranking
    from .results import read_manifest
    folder = Path(args.folder)
    table = analyze_folder(folder)
    design = read_manifest(folder)["sweep"]["design"]
    print(ranking(table, design, [k for k, *_ in MAIN_INDICATORS], args.period))
    print(f"\n{len(table):,} indices written to {folder / 'sensitivity.csv'}"
          + (f" and the response table to {folder / 'response.csv'}" if design == "grid" else ""))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .config import ConfigError
    try:
        from .dashboard.app import serve
    except ImportError as exc:
        raise ConfigError(f"the dashboard needs its extra packages ({exc.name} is missing): "
                          "pip install -e \".[dashboard]\" (make install does this)") from None
    if not 0 < args.scale <= 1:
        raise ConfigError(f"--scale must be in (0, 1], got {args.scale}", None, "--scale")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}", None, "--port")
    serve(args.source, port=args.port, scale=args.scale, lang=args.lang, save_dir=args.save_dir,
          open_browser=not args.no_browser)
    return 0


def format_table(summary, baseline: str, period: str = "all", note: str | None = None) -> str:
    """Main indicators per scenario: the baseline's level, and each other scenario's change from it.

    Cells are mean ± half-width of the 95% Monte Carlo interval over replications (paired on common
    random numbers for changes), then [the 95% prediction interval] when replicates drew uncertain
    parameters. Shares are shown in percent (changes in percentage points). `note` labels the
    header, e.g. "annualised from 59 days" for a horizon shorter than the year.
    """
    header = f"indicator (per year, {note})" if note else "indicator (per year)"
    label_w = max(26, len(header) + 2)
    s = summary[(summary["period"].astype(str) == period) & (summary["sample"] == 0)]
    scenarios = list(dict.fromkeys(s["scenario"]))
    others = [x for x in scenarios if x != baseline]
    cells: dict[tuple[str, str], str] = {}
    for key, _, _, fmt in MAIN_INDICATORS:
        rows = s[s["indicator"] == key].set_index("scenario")
        if rows.empty or baseline not in rows.index:
            continue
        pct, whole = "%" in fmt, key in ("visits_delivered_in_county", "admissions_delivered_in_county")
        b = rows.loc[baseline]
        cells[(key, baseline)] = _cell(b["mean"], b["ci_low"], b["ci_high"], b["n"], pct, False, whole,
                                       _get(b, "prediction_low"), _get(b, "prediction_high"))
        for x in others:
            r = rows.loc[x]
            cells[(key, x)] = _cell(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"], r["n"], pct, True, whole,
                                    _get(r, "diff_prediction_low"), _get(r, "diff_prediction_high"))
    keys = [k for k in MAIN_INDICATORS if (k[0], baseline) in cells]
    if len(scenarios) <= 3:
        width = max(20, *(len(x) + 4 for x in scenarios), *(len(c) + 3 for c in cells.values()))
        lines = ["", header.ljust(label_w) + baseline.rjust(width)
                 + "".join(f"Δ {x}".rjust(width) for x in others)]
        for key, label, _, _ in keys:
            lines.append(label.ljust(label_w) + "".join(cells[(key, x)].rjust(width) for x in scenarios))
    else:
        name_w = max(len(x) for x in scenarios) + 4
        widths = [max(len(short), *(len(cells[(key, x)]) for x in scenarios)) + 2 for key, _, short, _ in keys]
        lines = ["", "scenario".ljust(name_w) + "".join(short.rjust(w) for (_, _, short, _), w in zip(keys, widths))]
        for x in scenarios:
            label = x if x == baseline else f"Δ {x}"
            lines.append(label.ljust(name_w) + "".join(cells[(key, x)].rjust(w) for (key, *_), w in zip(keys, widths)))
    if note and len(scenarios) > 3:
        lines.insert(1, f"(per year, {note})")
    note = f"(period {period}; mean ± half-width of the 95% Monte Carlo interval over replications"
    if others:
        note += f"; Δ = paired change from '{baseline}', shares in percentage points"
    lines.append(note + ". Every indicator, year and interval: summary.csv)")
    if any(c.endswith("]") for c in cells.values()):
        lines.append("[low, high] = 95% prediction interval: where the result may lie given the uncertain parameters "
                     "(does not narrow with more replications; ± does)")
    return "\n".join(lines)


def _get(row, column: str) -> float:
    return float(row[column]) if column in row.index else float("nan")


def _cell(mean: float, low: float, high: float, n: int, percent: bool, signed: bool, whole: bool = False,
          pred_low: float = float("nan"), pred_high: float = float("nan")) -> str:
    scale, unit = (100.0, "%" if not signed else " pt") if percent else (1.0, "")
    sign = "+" if signed else ""
    digits = 0 if whole or (not percent and abs(mean) >= 100) else 1
    text = f"{mean * scale:{sign},.{digits}f}{unit}"
    if n > 1 and high == high:
        text += f" ±{(high - low) / 2 * scale:,.{digits}f}"
    if pred_low == pred_low and pred_high == pred_high:
        text += f" [{pred_low * scale:{sign},.{digits}f}, {pred_high * scale:{sign},.{digits}f}]"
    return text


def screen(message: str) -> str:
    """At most a screenful: MAX_MESSAGE_LINES lines of at most 300 characters."""
    from .config import MAX_MESSAGE_LINES
    lines = [x if len(x) <= 300 else x[:300] + " ..." for x in message.splitlines()]
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES] + [f"  ... and {len(lines) - MAX_MESSAGE_LINES} more lines"]
    return "\n".join(lines)


def environment_message(exc: OSError) -> str:
    """One sentence on what the machine refused and what to do, for an OSError."""
    where = f" {exc.filename}" if exc.filename else ""
    what = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.ENOSPC:
        hint = "the disk is full: free some space or choose another --out, then continue with --resume"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "that folder cannot be written: choose another with --out"
    elif exc.errno == errno.ENOTDIR:
        hint = "--out must be a folder: choose another with --out"
    else:
        hint = "check the folder and the disk, then try again"
    return f"cannot write{where}: {what}; {hint}"


def main(argv: list[str] | None = None) -> int:
    """Run a command; map each kind of failure to its exit code (the EXIT_* constants above)."""
    args = _parser().parse_args(argv)
    for var in SINGLE_THREAD:     # before numpy loads: a run is single-threaded, and BLAS's idle thread
        os.environ.setdefault(var, "1")   # pool costs each command start-up time (workers inherit it)
    from .config import ConfigError
    from .resources import NotEnoughMemory
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "plot":
            return cmd_plot(args)
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "new-county":
            return cmd_new_county(args)
        if args.command == "validate":
            from .validation.command import cmd_validate
            return cmd_validate(args)
        if args.command == "calibrate":
            from .calibration.command import cmd_calibrate
            return cmd_calibrate(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "dashboard":
            return cmd_dashboard(args)
        return cmd_check(args)
    except ConfigError as exc:
        if args.debug:
            raise
        print(screen(f"error: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (NotEnoughMemory, MemoryError) as exc:
        if args.debug:
            raise
        print(screen(f"error: not enough memory: {exc or 'the run ran out of memory'}"), file=sys.stderr)
        return EXIT_MEMORY
    except OSError as exc:
        if args.debug:
            raise
        from .results import record_failure
        message = environment_message(exc)
        folder = record_failure(exc.filename, message)
        note = f" (the run folder {folder} says so in manifest.json)" if folder else ""
        print(screen(f"error: {message}{note}"), file=sys.stderr)
        return EXIT_ENVIRONMENT
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        from .executors import ExecutorError
        from .results import FolderBusy
        if args.debug or not isinstance(exc, (FolderBusy, ExecutorError)):
            raise
        print(screen(f"error: {exc}"), file=sys.stderr)
        return EXIT_FOLDER_BUSY


if __name__ == "__main__":
    sys.exit(main())
