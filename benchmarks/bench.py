"""Benchmark of GradedCareModel: speed, set-up and peak memory by scale, and the naive-Mesa speed-up.

    python benchmarks/bench.py                      # what `make bench` runs
    python benchmarks/bench.py --scales 0.1 --repeats 1 --naive-days 5 --compare-scale 0.1   # quick

1. Scaling: for each scale (default 10%, 50%, 100% of configs/seed_county.yaml) and each repeat,
   a fresh spawned process builds the model (set-up), runs it (warm-up + the year) and computes the
   indicators. Reported: set-up, run, seconds per simulated day, seconds per simulated year with
   set-up included (set-up + the 365 days of the reported year), and the child's peak RSS
   (ru_maxrss, imports included). Times are medians over repeats.
2. Comparison: in one fresh process at one population (--compare-scale), the vectorised model
   and benchmarks/naive_mesa.py (one mesa.Agent per resident, shuffle_do("step") every day) for
   --naive-days days; reported: seconds per simulated day of both, the ratio, and the naive
   model's extrapolated seconds per year.

Child processes are pinned to one CPU (os.sched_setaffinity, where available) and numeric
libraries to one thread, so figures are "on one core"; --no-pin lifts both. Results are printed
and written to benchmarks/out/results.json. The parent imports only the standard library.
"""
from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")
TARGETS = {"year_s": 3.0, "speedup": 50.0, "peak_mb": 1024.0}
Row = dict[str, Any]


# ---------------------------------------------------------------------- process helpers
def _maxrss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def _current_rss_mb() -> float | None:
    """Current resident set size, MB (Linux /proc only)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _idle_ticks() -> dict[int, int]:
    """Idle + iowait ticks per CPU from /proc/stat (Linux); empty elsewhere."""
    ticks: dict[int, int] = {}
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                ticks[int(name[3:])] = int(fields[3]) + int(fields[4])
    except (OSError, IndexError, ValueError):
        return {}
    return ticks


def _idlest_cpu(allowed: set[int], sample_s: float = 0.3) -> int:
    """The allowed CPU with the most idle time over a short sample (the lowest id if unknown)."""
    before = _idle_ticks()
    time.sleep(sample_s)
    after = _idle_ticks()
    idle = {c: after[c] - before[c] for c in allowed if c in before and c in after}
    return max(sorted(idle), key=lambda c: idle[c]) if idle else min(allowed)


def _prepare_child(pin: bool) -> int | None:
    """Pin this process to one (the idlest) CPU and numeric libraries to one thread; returns the CPU."""
    if not pin:
        return None
    for var in THREAD_VARS:
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        cpu = _idlest_cpu(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    return None


def _load() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def in_fresh_process(fn: Callable[..., Row], *args: Any) -> Row:
    """Run fn(*args) in a new spawned interpreter (fair peak memory, no warm caches) and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _timed_run(model: Any) -> tuple[float, list[float]]:
    """model.run() with a timestamp after every step (via run's progress callback when it has one)."""
    stamps: list[float] = []
    takes_progress = "progress" in inspect.signature(model.run).parameters
    t0 = time.perf_counter()
    if takes_progress:
        model.run(progress=lambda _n=1: stamps.append(time.perf_counter()))
    else:
        model.run()
    return t0, stamps


def _year_row(ind: Any) -> Any:
    """The first reported period (a year), not the 'all' summary row."""
    labels = [p for p in ind.index if str(p) != "all"]
    return ind.loc[labels[0] if labels else ind.index[0]]


# ---------------------------------------------------------------------- child tasks
def measure_vectorised(config: str, scale: float, seed: int, pin: bool) -> Row:
    """Set-up, run, indicators and peak memory of GradedCareModel at one scale (child process)."""
    cpu = _prepare_child(pin)
    load = _load()
    import sim

    rss_imports = _maxrss_mb()
    cfg = sim.load_config(config)
    t0 = time.perf_counter()
    model = sim.GradedCareModel(cfg, seed=seed, scale=scale)
    t1 = time.perf_counter()
    rss_built = _current_rss_mb()
    start, stamps = _timed_run(model)
    t2 = time.perf_counter()
    ind = model.indicators()
    t3 = time.perf_counter()
    n_days, warmup = int(model.n_days), int(model.warmup_days)
    year_days = n_days - warmup
    if len(stamps) == n_days and year_days > 0:
        year_run = stamps[-1] - (stamps[warmup - 1] if warmup > 0 else start)
    else:   # no per-step timestamps: pro rata
        year_run = (t2 - t1) * year_days / n_days
    year = _year_row(ind)
    row = {
        "scale": scale, "residents": len(model.population), "agents": len(model.agents),
        "n_days": n_days, "warmup_days": warmup, "year_days": year_days,
        "setup_s": t1 - t0, "run_s": t2 - t1, "indicators_s": t3 - t2,
        "s_per_day": (t2 - t1) / n_days, "year_run_s": year_run,
        "year_s": (t1 - t0) + year_run * 365.0 / year_days,
        "total_s": t3 - t0,
        "outpatient_visits": float(year["outpatient_visits"]), "admissions": float(year["admissions"]),
        "rss_after_imports_mb": rss_imports, "rss_after_setup_mb": rss_built,
        "pinned_cpu": cpu, "load_average_start": load,
    }
    model.release()
    row["peak_rss_mb"] = _maxrss_mb()
    return row


def compare_naive(config: str, scale: float, seed: int, days: int, pin: bool) -> Row:
    """Vectorised model and naive Mesa loop at the same population, in one process (child)."""
    cpu = _prepare_child(pin)
    import gc

    import sim
    from naive_mesa import NaiveMesaModel

    cfg = sim.load_config(config)
    out: Row = {"scale": scale, "naive_days": days, "pinned_cpu": cpu, "load_average_start": _load()}

    t0 = time.perf_counter()
    model = sim.GradedCareModel(cfg, seed=seed, scale=scale)
    t1 = time.perf_counter()
    start, stamps = _timed_run(model)
    t2 = time.perf_counter()
    n_days = int(model.n_days)
    first = (stamps[min(days, n_days) - 1] - start) / min(days, n_days) if len(stamps) == n_days else None
    ind = _year_row(model.indicators())
    window = _served_in_window(model, cfg.horizon.start, days)
    out["vectorised"] = {
        "residents": len(model.population), "setup_s": t1 - t0, "run_s": t2 - t1, "n_days": n_days,
        "s_per_day": (t2 - t1) / n_days, "s_per_day_first_days": first,
        "outpatient_visits": float(ind["outpatient_visits"]), "admissions": float(ind["admissions"]),
        "window_per_year": window,
    }
    model.release()
    del model
    gc.collect()

    t0 = time.perf_counter()
    naive = NaiveMesaModel(cfg, seed=seed, scale=scale, start=cfg.horizon.start)
    t1 = time.perf_counter()
    rss_naive = _current_rss_mb()
    day_s = []
    for _ in range(days):
        t = time.perf_counter()
        naive.step()
        day_s.append(time.perf_counter() - t)
    t2 = time.perf_counter()
    per_day = (t2 - t1) / days
    out["naive"] = {
        "residents": naive.n_residents, "agents": len(naive.agents), "setup_s": t1 - t0, "run_s": t2 - t1,
        "days": days, "s_per_day": per_day, "s_per_day_median": statistics.median(day_s),
        "s_per_day_min": min(day_s), "s_per_day_max": max(day_s),
        "year_s_extrapolated": (t1 - t0) + 365.0 * per_day,
        "rss_after_setup_mb": rss_naive, **naive.totals_per_year(),
    }
    naive.release()
    out["peak_rss_mb"] = _maxrss_mb()
    out["load_average_end"] = _load()
    return out


def _served_in_window(model: Any, start: dt.date, days: int) -> dict[str, float] | None:
    """The vectorised model's visits and admissions over the naive model's dates, annualised."""
    try:
        ts = model.timeseries()
        lo, hi = start, start + dt.timedelta(days=days)
        dates = ts["date"].dt.date
        w = ts[(dates >= lo) & (dates < hi)]
        n = w["date"].nunique()
        served = w.groupby("care_type", observed=True)["served"].sum()
        k = 365.0 / n
        return {"outpatient_visits": float(served.get("outpatient", 0.0)) * k,
                "admissions": float(served.get("inpatient", 0.0)) * k, "days": int(n)}
    except Exception:   # the timeseries layout is the model's business; this is only a sanity check
        return None


# ---------------------------------------------------------------------- report
def machine_info(pin: bool) -> Row:
    """Platform, Python, library versions, CPU count and load."""
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    info: Row = {
        "platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "numpy": version("numpy"), "mesa": version("mesa"), "pandas": version("pandas"),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "pinned_to_one_cpu": pin, "load_average": _load(),
        "timestamp": dt.datetime.now().isoformat(timespec="seconds"),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def summarise(runs: list[Row]) -> Row:
    """Median times, max peak memory over the repeats of one scale."""
    out = dict(runs[0])
    for key in ("setup_s", "run_s", "indicators_s", "s_per_day", "year_run_s", "year_s", "total_s"):
        values = [r[key] for r in runs]
        out[key] = statistics.median(values)
        out[key + "_min"] = min(values)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    out["repeats"] = len(runs)
    return out


def print_report(info: Row, scaling: list[Row], comp: Row | None) -> None:
    print(f"\nMachine: {info['platform']}, Python {info['python']}, numpy {info['numpy']}, mesa {info['mesa']}, "
          f"{info['cpu_count']} CPUs{' (runs pinned to one)' if info['pinned_to_one_cpu'] else ''}, "
          f"load average {', '.join(f'{x:.2f}' for x in info['load_average'] or [])}")
    if scaling:
        s0 = scaling[0]
        print(f"\nVectorised model, seed county, median of {s0['repeats']} run(s) each in a fresh process "
              f"({s0['n_days']} days = {s0['warmup_days']} warm-up + {s0['year_days']})")
        head = (f"{'scale':>6} {'residents':>10} {'set-up s':>9} {'run s':>7} {'ms/day':>7} "
                f"{'s/year+setup':>12} {'peak MB':>8} {'visits/yr':>10} {'admiss/yr':>10}")
        print(head)
        print("-" * len(head))
        for r in scaling:
            print(f"{r['scale']:>6.0%} {r['residents']:>10,} {r['setup_s']:>9.2f} {r['run_s']:>7.2f} "
                  f"{1e3 * r['s_per_day']:>7.2f} {r['year_s']:>12.2f} {r['peak_rss_mb']:>8.0f} "
                  f"{r['outpatient_visits']:>10,.0f} {r['admissions']:>10,.0f}")
    if comp:
        v, n = comp["vectorised"], comp["naive"]
        print(f"\nNaive Mesa loop vs vectorised model, {n['residents']:,} residents "
              f"({comp['scale']:.0%}), naive run {n['days']} days, same process")
        head = f"{'':<22} {'set-up s':>9} {'ms/day':>9} {'s/year+setup':>13} {'visits/yr':>10} {'admiss/yr':>10}"
        print(head)
        print("-" * len(head))
        print(f"{'naive Mesa (agents)':<22} {n['setup_s']:>9.2f} {1e3 * n['s_per_day']:>9.1f} "
              f"{n['year_s_extrapolated']:>12.1f}* {n['outpatient_visits']:>10,.0f} {n['admissions']:>10,.0f}")
        print(f"{'vectorised (sim)':<22} {v['setup_s']:>9.2f} {1e3 * v['s_per_day']:>9.2f} "
              f"{comp['vectorised_year_s']:>13.2f} {v['outpatient_visits']:>10,.0f} {v['admissions']:>10,.0f}")
        w = v.get("window_per_year")
        if w:
            print(f"{'  same dates as naive':<22} {'':>9} {'':>9} {'':>13} "
                  f"{w['outpatient_visits']:>10,.0f} {w['admissions']:>10,.0f}")
        print(f"naive ms/day over its {n['days']} days: median {1e3 * n['s_per_day_median']:.0f}, "
              f"range {1e3 * n['s_per_day_min']:.0f}-{1e3 * n['s_per_day_max']:.0f}")
        print(f"* extrapolated: set-up + 365 x naive s/day.  Visits and admissions per year at full population "
              f"(naive: its {n['days']} days annualised).")
        print(f"Speed-up per simulated day: {comp['speedup_per_day']:.0f}x "
              f"(vs vectorised first {n['days']} days: {comp['speedup_per_day_same_days'] or float('nan'):.0f}x); "
              f"per year with set-up: {comp['speedup_per_year']:.0f}x")


def check_targets(scaling: list[Row], comp: Row | None) -> Row:
    """Each target: measured value, limit and whether it is met."""
    full = next((r for r in scaling if abs(r["scale"] - 1.0) < 1e-9), None)
    out: Row = {}
    if full:
        out["year_with_setup_s"] = {"value": full["year_s"], "target": f"<= {TARGETS['year_s']}",
                                    "met": full["year_s"] <= TARGETS["year_s"]}
        out["peak_memory_mb"] = {"value": full["peak_rss_mb"], "target": f"<= {TARGETS['peak_mb']:.0f}",
                                 "met": full["peak_rss_mb"] <= TARGETS["peak_mb"]}
    if comp and abs(comp["scale"] - 1.0) < 1e-9:
        for key in ("speedup_per_day", "speedup_per_year"):
            out[key] = {"value": comp[key], "target": f">= {TARGETS['speedup']:.0f}",
                        "met": comp[key] >= TARGETS["speedup"]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "seed_county.yaml"))
    ap.add_argument("--scales", default="0.1,0.5,1.0", help="comma-separated fractions of the population")
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process runs per scale (median reported)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--compare-scale", type=float, default=1.0, help="population of the naive comparison")
    ap.add_argument("--naive-days", type=int, default=30, help="days the naive Mesa model is run")
    ap.add_argument("--skip-naive", action="store_true", help="scaling only")
    ap.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin runs to one CPU")
    ap.add_argument("--out", default=str(HERE / "out" / "results.json"))
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.naive_days < 1 or not 0 < args.compare_scale <= 1:
        ap.error("--repeats and --naive-days must be >= 1, --compare-scale in (0, 1]")
    scales = [float(s) for s in args.scales.split(",") if s.strip()]

    info = machine_info(args.pin)
    scaling: list[Row] = []
    for scale in scales:
        runs = []
        for i in range(args.repeats):
            print(f"vectorised model, scale {scale:.0%}, run {i + 1}/{args.repeats} ...", flush=True)
            runs.append(in_fresh_process(measure_vectorised, args.config, scale, args.seed, args.pin))
        scaling.append(summarise(runs))
        scaling[-1]["runs"] = runs

    comp: Row | None = None
    if not args.skip_naive:
        print(f"naive Mesa vs vectorised, scale {args.compare_scale:.0%}, {args.naive_days} naive days ...", flush=True)
        comp = in_fresh_process(compare_naive, args.config, args.compare_scale, args.seed, args.naive_days, args.pin)
        v, n = comp["vectorised"], comp["naive"]
        comp["vectorised_year_s"] = v["setup_s"] + v["s_per_day"] * 365.0
        comp["speedup_per_day"] = n["s_per_day"] / v["s_per_day"]
        first = v.get("s_per_day_first_days")
        comp["speedup_per_day_same_days"] = n["s_per_day"] / first if first else None
        comp["speedup_per_year"] = n["year_s_extrapolated"] / comp["vectorised_year_s"]

    targets = check_targets(scaling, comp)
    print_report(info, scaling, comp)
    if targets:
        print("\nTargets (full county):")
        for name, t in targets.items():
            print(f"  {name:<20} {t['value']:>9.2f}  target {t['target']:<7} {'met' if t['met'] else 'NOT met'}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": info, "config": args.config, "seed": args.seed, "scaling": scaling,
              "comparison": comp, "targets": targets}
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
