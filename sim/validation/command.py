"""`gradsim validate [CONFIG]`: the command-line face of sim.validation."""
from __future__ import annotations

import argparse
from pathlib import Path


SEED = "configs/seed_county.yaml"
SEED_CALIBRATION = "experiments/calibrate_seed_county.yaml"
EXIT_CHECKS_FAILED = 1


def add_parser(sub) -> None:
    v = sub.add_parser("validate", help="run the validation suite on a county config (table, docs/validation.md)")
    v.add_argument("config", nargs="?", default=SEED, help=f"county config (default {SEED})")
    v.add_argument("--calibration", default=None,
                   help=f"calibration file whose targets must hold (default for the seed: {SEED_CALIBRATION})")
    v.add_argument("--scale", type=float, default=0.1, help="population fraction (default 0.1)")
    v.add_argument("--replications", type=int, default=10, help="replications per scenario (default 10)")
    v.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    v.add_argument("--no-uncertainty", dest="uncertainty", action="store_false",
                   help="keep uncertain parameters at their central values (no prediction intervals)")
    v.add_argument("--write", default=None, metavar="MARKDOWN",
                   help="write the table there (default docs/validation.md for the seed, else nothing)")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def cmd_validate(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..config import load_config
    from ..resources import cores
    from ..results import atomic_write_text
    from .report import markdown, text_table
    from .suite import Settings, run_suite

    from ..cli import file_kind
    if Path(args.config).is_file() and file_kind(args.config) == "experiment":
        raise ConfigError("this is an experiment; validate needs a county config (`gradsim check` checks "
                          "experiments)", args.config)
    load_config(args.config)                      # a bad config: exit 2 before anything runs
    if not 0 < args.scale <= 1:
        raise ConfigError(f"--scale must be in (0, 1], got {args.scale}", None, "--scale")
    if not 2 <= args.replications <= 1000:
        raise ConfigError(f"--replications must be between 2 and 1000 (got {args.replications})", None,
                          "--replications")
    is_seed = Path(args.config).resolve() == Path(SEED).resolve()
    calibration = args.calibration or (SEED_CALIBRATION if is_seed and Path(SEED_CALIBRATION).is_file() else None)
    if calibration:
        from ..calibration import load_calibration
        load_calibration(calibration)
    settings = Settings(args.config, args.scale, args.replications, args.workers or cores(), calibration,
                        args.uncertainty, not args.quiet)
    checks, facts = run_suite(settings)
    print(text_table(checks))
    failed = [c for c in checks if c.passed is False]
    print(f"\n{sum(c.passed is True for c in checks)} of {sum(c.passed is not None for c in checks)} checks pass"
          + (f"; failing: {', '.join(c.name for c in failed)}" if failed else ""))
    target = args.write or ("docs/validation.md" if is_seed else None)
    if target:
        command = (f"gradsim validate {args.config} --scale {args.scale:g} --replications {args.replications}"
                   + (f" --calibration {calibration}" if args.calibration else "")
                   + ("" if args.uncertainty else " --no-uncertainty"))
        atomic_write_text(markdown(checks, facts, command), Path(target))
        print(f"written: {target}")
    return EXIT_CHECKS_FAILED if failed else 0
