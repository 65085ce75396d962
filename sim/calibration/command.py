"""`gradsim calibrate CALIBRATION.yaml`: the command-line face of sim.calibration."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> None:
    c = sub.add_parser("calibrate", help="fit free config values to targets; best fit, ensemble, overlay, report")
    c.add_argument("file", help="calibration YAML, e.g. experiments/calibrate_seed_county.yaml")
    c.add_argument("--out", default="results/calibration",
                   help="parent folder (default results/calibration/); evaluations stored there are reused")
    c.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    c.add_argument("--scheduler", default=None, metavar="local|tcp://HOST:PORT", help="run on Dask (docs/dask.md)")
    c.add_argument("--scale", type=float, default=None, help="override the file's scale")
    c.add_argument("--replications", type=int, default=None, help="override the file's replications")
    c.add_argument("--max-evaluations", type=int, default=None, help="override search.max_evaluations")
    c.add_argument("--max-minutes", type=float, default=None, help="override search.max_minutes")
    c.add_argument("--ensemble-samples", type=int, default=None, help="override ensemble.samples")
    c.add_argument("--apply", action="store_true",
                   help="also write the fitted values into the base config itself (only their numbers change; "
                        "comments and layout stay)")
    c.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..resources import cores
    from . import calibrate, load_calibration
    from .objective import measure_key, residuals

    cal = load_calibration(args.file, args.scale, args.replications)
    for flag, value in (("--max-evaluations", args.max_evaluations), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be at least 1", None, flag)
    if args.ensemble_samples is not None:
        if args.ensemble_samples < 0:
            raise ConfigError("--ensemble-samples must be 0 or more", None, "--ensemble-samples")
        cal.spec.ensemble.samples = args.ensemble_samples
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ConfigError("--max-minutes must be above 0", None, "--max-minutes")
    if args.apply:
        from .apply import missing_paths
        missing = missing_paths(cal.config_file, list(cal.expand({p.key: p.start for p in cal.parameters})))
        if missing:
            raise ConfigError(f"--apply writes each fit where the base config writes the value, and "
                              f"{Path(cal.config_file).name} does not write this one (a default or a parent's "
                              "value): use calibrated.yaml, without --apply",
                              str(args.file), f"parameters.{missing[0]}")
    workers = args.workers if args.workers is not None else cores()
    if not args.quiet:
        print(f"{cal.spec.name}: {len(cal.parameters)} free parameter(s), {len(cal.targets)} target(s), "
              f"{len(cal.seeds)} replication(s) per evaluation at scale {cal.spec.scale:g}, "
              f"{cal.spec.search.method}", file=sys.stderr)
    result = calibrate(cal, args.out, workers, args.scheduler, not args.quiet, args.max_evaluations, args.max_minutes)
    if not args.quiet:
        if result.reused:
            print(f"reused {result.reused} stored evaluation(s) from {result.folder}", file=sys.stderr)
        r = residuals(cal, result.best.means)
        print(f"\nsearch stopped: {result.stopped}\nbest objective {result.best.objective:.4g}")
        for p in cal.parameters:
            print(f"  {p.key:50s} {result.best.parameters[p.key]:>14.6g}  [{p.low:g}, {p.high:g}]")
        print(f"\n{'target':40s} {'observed':>12s} {'simulated':>12s} {'residual':>9s}")
        for t in cal.targets:
            print(f"{t.key:40s} {t.observed:12.5g} {result.best.means[measure_key(t)]:12.5g} {r[t.key]:+9.2f}")
        print(f"\nensemble: {len(result.ensemble)} acceptable set(s) of {len(result.evaluations)} evaluated")
        print("written: " + ", ".join(str(p) for p in result.paths.values()))
    if args.apply:
        from .apply import write_into_base
        from .report import fitted_values, provenance
        write_into_base(cal.config_file, fitted_values(cal, result.best), provenance(cal, result.best))
        if not args.quiet:
            print(f"fitted values written into {cal.config_file}")
    return 0
