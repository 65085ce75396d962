"""Benchmark of one county-year: the naive Mesa loop, the numpy reference path and the fast path side by side.

    python benchmarks/bench.py                       # what `make bench` runs (about 10 min on 2 cores)
    python benchmarks/bench.py --sizes 0.1,1 --repeats 1 --naive-days 3 --no-cli   # quick look

Sizes are multiples of the seed county (configs/seed_county.yaml, 286,000 residents): at or below 1 a
reduced-scale run of it (`scale`, the rest of the population as background load), above 1 a
synthetic large county (`large_county`: population, physicians, beds, village doctors and patients
from outside all multiplied, the same townships and villages). Each (size, path) runs in a fresh
spawned process pinned to one CPU with numeric libraries on one thread; times are `process_time`
(CPU seconds of that process, so other jobs on a shared machine inflate them less than wall time),
best of --repeats. Per run: set-up (model construction), warm-up days, the reported year, and the
sum "county-year with set-up". The fast path's first run in a process loads the compiled kernels
from numba's cache; the second is what a worker that has run before pays ("warm worker").
The naive Mesa loop (benchmarks/naive_mesa.py) runs --naive-days days and is extrapolated to a year.
The CLI row times `gradsim run experiments/baseline.yaml --replications 1 --workers 1` end to end
(wall clock), and start-up times `gradsim --help` and `gradsim check`. Results go to
benchmarks/out/engine.json and the <!-- engine-bench --> section of docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
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

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
SEED_RESIDENTS = 286_000
TARGETS = {"year_s": 0.3, "speedup": 500.0, "seed_mb": 300.0, "large_mb": 2048.0, "cli_s": 1.5, "start_s": 0.3}
MARK = ("<!-- engine-bench -->", "<!-- /engine-bench -->")
Row = dict[str, Any]


# ---------------------------------------------------------------------- processes
def _maxrss_mb() -> float:
    """Peak resident set size of this process, MB: VmHWM where /proc has it (a spawned child's ru_maxrss
    starts at its parent's size, as Linux keeps the larger at exec), else ru_maxrss (KB on Linux,
    bytes on macOS)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def _pin(pin: bool) -> int | None:
    """One CPU (the last allowed: the first is where the shell and other jobs start) and one thread."""
    if not pin:
        return None
    for var in THREAD_VARS:
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    return None


def fresh(fn: Callable[..., Row], *args: Any) -> Row:
    """fn(*args) in a new spawned interpreter (fair peak memory, no warm caches)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ---------------------------------------------------------------------- counties
def large_county(config: str, factor: float):
    """The seed county with `factor` times the residents and everything that serves them."""
    from sim.config import config_from_tree, load_tree

    tree, origin = load_tree(config)
    tree["population"]["size"] = int(round(tree["population"]["size"] * factor))
    fac = tree["facilities"]
    fac["village_doctors_per_clinic"] = fac["village_doctors_per_clinic"] * factor
    for t in tree["townships"]:
        t["physicians"], t["beds"] = t["physicians"] * factor, t["beds"] * factor
    for h in fac["hospitals"]:
        for key in ("physicians", "beds", "nonresident_admissions", "nonresident_visits"):
            if key in h:
                h[key] = h[key] * factor
    return config_from_tree(tree, origin, config)


def county_and_scale(config: str, size: float):
    import sim
    return (sim.load_config(config), size) if size <= 1 else (large_county(config, size), 1.0)


# ---------------------------------------------------------------------- measurements (children)
def measure_engine(config: str, size: float, engine: str, seed: int, runs: int, pin: bool) -> Row:
    """Set-up, warm-up and year of `runs` consecutive runs in this fresh process (CPU seconds)."""
    cpu = _pin(pin)
    c = time.process_time()
    import sim
    from sim.model import GradedCareModel      # imports are paid once per worker, not per run
    if engine == "fast":
        import sim.kernels  # noqa: F401
    imports = time.process_time() - c
    cfg, scale = county_and_scale(config, size)
    out: Row = {"size": size, "engine": engine, "cpu": cpu, "runs": [], "imports_s": imports}
    for _ in range(runs):
        gc.collect()
        c0 = time.process_time()
        model = GradedCareModel(cfg, seed=seed, scale=scale, patient_agents=False, engine=engine)
        c1 = time.process_time()
        for _day in range(model.warmup_days):
            model.step()
        c2 = time.process_time()
        model.run()
        c3 = time.process_time()
        ind = model.indicators().iloc[0]
        out["runs"].append({"setup_s": c1 - c0, "warmup_s": c2 - c1, "year_run_s": c3 - c2,
                            "year_s": c3 - c0, "year_days": model.n_days - model.warmup_days,
                            "outpatient_visits": float(ind["outpatient_visits"]),
                            "admissions": float(ind["admissions"])})
        out["residents"] = len(model.population)
        model.release()
        del model
    out["peak_rss_mb"] = _maxrss_mb()
    return out


def measure_naive(config: str, size: float, seed: int, days: int, pin: bool) -> Row:
    """The naive Mesa loop: set-up and `days` days, extrapolated to set-up + 365 days."""
    cpu = _pin(pin)
    import sim.model  # noqa: F401  (the same imports as the other paths, outside the timing)
    from naive_mesa import NaiveMesaModel
    cfg, scale = county_and_scale(config, size)
    c0 = time.process_time()
    naive = NaiveMesaModel(cfg, seed=seed, scale=scale, start=cfg.horizon.start)
    c1 = time.process_time()
    for _ in range(days):
        naive.step()
    c2 = time.process_time()
    per_day = (c2 - c1) / days
    out = {"size": size, "engine": "naive", "cpu": cpu, "residents": naive.n_residents, "setup_s": c1 - c0,
           "days": days, "s_per_day": per_day, "year_s": (c1 - c0) + 365 * per_day, **naive.totals_per_year()}
    naive.release()
    out["peak_rss_mb"] = _maxrss_mb()
    return out


# ---------------------------------------------------------------------- command line (parent)
def _wall(cmd: list[str], repeats: int) -> tuple[float, float]:
    """Best wall seconds and best CPU seconds (user + system of the command and its children)."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return best, best_cpu


def measure_cli(repeats: int) -> Row:
    """Wall seconds of the CLI commands (best of `repeats`), in a shell as an analyst types them."""
    exe = str(Path(sys.executable).parent / "gradsim")
    out: Row = {"load_average": os.getloadavg()[0]}
    out["help_s"], out["help_cpu_s"] = _wall([exe, "--help"], repeats)
    out["check_s"], out["check_cpu_s"] = _wall([exe, "check", "experiments/baseline.yaml"], repeats)
    with tempfile.TemporaryDirectory() as tmp:
        out["run_s"], out["run_cpu_s"] = _wall([exe, "run", "experiments/baseline.yaml", "--replications", "1",
                                                "--workers", "1", "--out", tmp, "--quiet"], repeats)
    return out


def machine() -> Row:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None
    info = {"platform": platform.platform(), "python": platform.python_version(),
            **{k: version(k) for k in ("numpy", "numba", "mesa", "pandas")}, "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()), "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="minutes")}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                                 if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def best(rows: list[Row]) -> Row:
    """Per key the minimum over runs (best of N: the least disturbed by other jobs)."""
    keys = ("setup_s", "warmup_s", "year_run_s", "year_s")
    out = {k: min(r[k] for r in rows) for k in keys}
    out.update({k: rows[0][k] for k in ("year_days", "outpatient_visits", "admissions")})
    return out


# ---------------------------------------------------------------------- report
def report(res: Row) -> str:
    """The markdown section of docs/performance.md."""
    m, rows, cli = res["machine"], res["rows"], res.get("cli")
    lines = [f"### County-year by path and size (`make bench`, {m['timestamp']})", "",
             f"Machine: {m.get('cpu_model', '?')}, {m['cpu_count']} CPUs shared with other jobs (load average "
             f"{m['load_average'][0]:.1f} at the start), Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, "
             f"mesa {m['mesa']}. One CPU per run, CPU seconds, best of {res['repeats']} fresh processes "
             f"(naive: {res['naive_days']} days extrapolated to a year).", "",
             "| size | residents | path | set-up s | warm-up s | year s | **county-year with set-up s** | "
             "warm worker s | peak MB | vs naive |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size in res["sizes"]:
        naive = next((r for r in rows if r["size"] == size and r["engine"] == "naive"), None)
        for r in (x for x in rows if x["size"] == size):
            if r["engine"] == "naive":
                lines.append(f"| {size:g}× | {r['residents']:,} | naive Mesa | {r['setup_s']:.2f} | – | "
                             f"{365 * r['s_per_day']:.1f}* | **{r['year_s']:.1f}*** | – | {r['peak_rss_mb']:.0f} | 1× |")
                continue
            b, w = r["cold"], r.get("warm")
            ratio = f"{naive['year_s'] / (w or b)['year_s']:.0f}×" if naive else "–"
            lines.append(f"| {size:g}× | {r['residents']:,} | {r['engine']} | {b['setup_s']:.2f} | {b['warmup_s']:.2f} | "
                         f"{b['year_run_s']:.2f} | **{b['year_s']:.2f}** | {w['year_s']:.2f} | {r['peak_rss_mb']:.0f} | "
                         f"{ratio} |" if w else
                         f"| {size:g}× | {r['residents']:,} | {r['engine']} | {b['setup_s']:.2f} | {b['warmup_s']:.2f} | "
                         f"{b['year_run_s']:.2f} | **{b['year_s']:.2f}** | – | {r['peak_rss_mb']:.0f} | {ratio} |")
    lines += ["", "\\* naive Mesa: set-up + 365 × its CPU seconds per day over the days it ran. "
              "\"vs naive\" divides that by the warm-worker county-year (the cold one where there is no second run).", ""]
    t = res["targets"]
    lines += ["| target | measured | met? |", "|---|---|---|"]
    for name, v in t.items():
        lines.append(f"| {name} | {v['value']} | {'yes' if v['met'] else '**no**'} |")
    if cli:
        lines += ["", f"Command line, best of {res['repeats']}, wall seconds (CPU seconds of the command and its "
                  f"workers): `gradsim --help` {cli['help_s']:.2f} ({cli['help_cpu_s']:.2f}), "
                  f"`gradsim check experiments/baseline.yaml` {cli['check_s']:.2f} ({cli['check_cpu_s']:.2f}), "
                  f"`gradsim run experiments/baseline.yaml --replications 1 --workers 1` {cli['run_s']:.2f} "
                  f"({cli['run_cpu_s']:.2f}); load average {cli.get('load_average', float('nan')):.1f} before them. "
                  "Wall time on this shared machine is inflated by the other jobs."]
    return "\n".join(lines) + "\n"


def targets(res: Row) -> Row:
    rows, out = res["rows"], {}
    def row(size, engine):
        return next((r for r in rows if r["size"] == size and r["engine"] == engine), None)
    fast, naive = row(1.0, "fast"), row(1.0, "naive")
    if fast:
        y = (fast.get("warm") or fast["cold"])["year_s"]
        out["seed county-year with set-up <= 0.3 s (fast, warm worker)"] = {"value": f"{y:.2f} s", "met": y <= TARGETS["year_s"]}
        out["peak memory at the seed county <= 300 MB"] = {"value": f"{fast['peak_rss_mb']:.0f} MB",
                                                          "met": fast["peak_rss_mb"] <= TARGETS["seed_mb"]}
        if naive:
            s = naive["year_s"] / y
            out[">= 500x the naive Mesa loop"] = {"value": f"{s:.0f}x", "met": s >= TARGETS["speedup"]}
    big = [r for r in rows if r["engine"] == "fast" and r["size"] > 1]
    if fast and big:
        r = max(big, key=lambda x: x["size"])
        per = r["cold"]["year_s"] / r["size"] / fast["cold"]["year_s"]
        out[f"cost at {r['size']:g}x no more than linear (cost / size relative to 1x)"] = {"value": f"{per:.2f}",
                                                                                         "met": per <= 1.0}
        out[f"peak memory at {r['size']:g}x <= 2 GB"] = {"value": f"{r['peak_rss_mb']:.0f} MB",
                                                        "met": r["peak_rss_mb"] <= TARGETS["large_mb"]}
    cli = res.get("cli")
    if cli:
        out["end-to-end CLI run <= 1.5 s"] = {"value": f"{cli['run_s']:.2f} s wall, {cli['run_cpu_s']:.2f} s CPU",
                                              "met": cli["run_s"] <= TARGETS["cli_s"]}
        worst = max(cli["help_s"], cli["check_s"])
        out["gradsim --help and check <= 0.3 s"] = {
            "value": f"{cli['help_s']:.2f} s / {cli['check_s']:.2f} s wall ({cli['help_cpu_s']:.2f} / "
                     f"{cli['check_cpu_s']:.2f} s CPU)", "met": worst <= TARGETS["start_s"]}
    return out


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the engine-bench section of docs/performance.md, atomically."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    start, end = MARK
    block = f"{start}\n\n{section}\n{end}"
    if start in text and end in text:
        text = text.split(start, 1)[0] + block + text.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "seed_county.yaml"))
    ap.add_argument("--sizes", default="0.1,1,10,50", help="multiples of the seed county")
    ap.add_argument("--engines", default="fast,numpy")
    ap.add_argument("--repeats", type=int, default=2, help="fresh processes per (size, path) up to the seed county")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--naive-days", type=int, default=10)
    ap.add_argument("--naive-max-size", type=float, default=1.0, help="largest size the naive loop runs at")
    ap.add_argument("--no-cli", dest="cli", action="store_false")
    ap.add_argument("--no-pin", dest="pin", action="store_false")
    ap.add_argument("--out", default=str(HERE / "out" / "engine.json"))
    ap.add_argument("--doc", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    res: Row = {"machine": machine(), "sizes": sizes, "repeats": args.repeats, "naive_days": args.naive_days,
                "rows": []}
    for size in sizes:
        if size <= args.naive_max_size:
            print(f"naive Mesa, {size:g}x ...", flush=True)
            res["rows"].append(fresh(measure_naive, args.config, size, args.seed, args.naive_days, args.pin))
        for engine in args.engines.split(","):
            repeats = args.repeats if size <= 1 else 1
            per_process = 2 if size <= 1 and engine == "fast" else 1
            print(f"{engine}, {size:g}x, {repeats} process(es) ...", flush=True)
            got = [fresh(measure_engine, args.config, size, engine, args.seed, per_process, args.pin)
                   for _ in range(repeats)]
            row = {k: got[0][k] for k in ("size", "engine", "residents")}
            row["cold"] = best([g["runs"][0] for g in got])
            if per_process > 1:
                row["warm"] = best([g["runs"][1] for g in got])
            row["peak_rss_mb"] = max(g["peak_rss_mb"] for g in got)
            row["imports_s"] = min(g["imports_s"] for g in got)
            res["rows"].append(row)
            print(f"   county-year with set-up {row['cold']['year_s']:.2f} s"
                  + (f", warm worker {row['warm']['year_s']:.2f} s" if "warm" in row else "")
                  + f", peak {row['peak_rss_mb']:.0f} MB", flush=True)
    if args.cli:
        print("command line ...", flush=True)
        res["cli"] = measure_cli(args.repeats)
    res["targets"] = targets(res)
    section = report(res)
    print("\n" + section)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2, default=str) + "\n")
    write_section(Path(args.doc), section)
    print(f"wrote {out} and the engine-bench section of {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
