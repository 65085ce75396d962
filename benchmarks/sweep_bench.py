"""Benchmark of sweeps: county-years per minute on 1 and 2 local workers and a 2-worker Dask LocalCluster.

    python benchmarks/sweep_bench.py                        # what `make bench` runs: 100 runs, full scale
    python benchmarks/sweep_bench.py --scale 0.1 --runs 20  # a reduced version

The sweep is experiments/reimbursement_sweep.yaml (a grid of 20 points x replications, one
county-year per run), cut to --runs runs by its replications. Each executor runs the whole sweep
into a fresh folder (start-up, runs, combining); reported: wall time, county-years per minute,
parallel efficiency T(1 worker) / (2 x T(2 workers)), Dask overhead T(Dask) / T(2 processes) - 1,
and the median seconds of one run inside the sweep against one run of the same model alone in
this process (set-up + run, imports excluded). Tables of the three executors are checked to be
byte-identical. Results are printed, written to benchmarks/out/sweep.json and into
docs/performance.md between the sweep-bench markers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXPERIMENT = ROOT / "experiments" / "reimbursement_sweep.yaml"
TARGETS = {"efficiency": 0.90, "dask_overhead": 0.05}
START, END = "<!-- sweep-bench -->", "<!-- /sweep-bench -->"


def run_sweep(executor: str, scale: float, replications: int, out: Path) -> dict:
    from sim.experiment import run_experiment

    workers, scheduler = {"1 worker": (1, None), "2 processes": (2, None), "Dask 2 workers": (2, "local")}[executor]
    t0 = time.perf_counter()
    res = run_experiment(EXPERIMENT, out=out, workers=workers, scheduler=scheduler, scale=scale,
                         replications=replications)
    wall = time.perf_counter() - t0
    runs = res.manifest["runs"].values()
    years = len(runs) * 1.0                      # the sweep's horizon is one year
    return {"executor": executor, "runs": len(runs), "wall_s": round(wall, 2),
            "county_years_per_min": round(years / wall * 60, 2),
            "run_s_median": round(statistics.median(r["seconds"] for r in runs), 3), "path": str(res.path)}


def single_run(scale: float) -> float:
    """Set-up + run of one county-year of the same model alone (imports already paid)."""
    from sim.config import load_config
    from sim.experiment import plan_experiment
    from sim.model import GradedCareModel

    plan = plan_experiment(EXPERIMENT, replications=1, scale=scale)
    cfg = load_config(ROOT / "configs" / "seed_county.yaml", {"horizon.start": "2022-01-01",
                                                              "horizon.end": "2022-12-31"})
    t0 = time.perf_counter()
    model = GradedCareModel(cfg, seed=plan.seeds[0], scale=scale, patient_agents=False)
    model.run()
    model.indicators()
    model.release()
    return time.perf_counter() - t0


def markdown(rows: list[dict], summary: dict, args: argparse.Namespace) -> str:
    lines = [START, "", f"### Sweep executors (`make bench`, {summary['date']}; {summary['machine']})", "",
             f"{rows[0]['runs']} runs of experiments/reimbursement_sweep.yaml (one county-year each) at scale "
             f"{args.scale:g}{'' if args.scale == 1 else ' (a reduced version: county-years at this scale)'}; "
             f"load average before the runs: {summary['load']}.", "",
             "| executor | wall (s) | county-years / min | median run (s) |", "|---|---:|---:|---:|"]
    lines += [f"| {r['executor']} | {r['wall_s']:.1f} | {r['county_years_per_min']:.1f} | {r['run_s_median']:.2f} |"
              for r in rows]
    lines += ["", f"- parallel efficiency on 2 workers: **{summary['efficiency']:.0%}** "
              f"(target ≥ {TARGETS['efficiency']:.0%})",
              f"- Dask overhead against the process pool: **{summary['dask_overhead']:+.1%}** "
              f"(target ≤ {TARGETS['dask_overhead']:.0%})",
              f"- one run alone (set-up + one year, imports paid): {summary['single_run_s']:.2f} s; median run "
              f"inside the serial sweep: {rows[0]['run_s_median']:.2f} s (ratio {summary['sweep_vs_single']:.2f})",
              f"- tables identical on the three executors: {summary['identical']}", "", END]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--runs", type=int, default=100, help="runs in the sweep (a multiple of its 20 grid points)")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md")
    args = p.parse_args()
    replications = max(1, args.runs // 20)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        single = single_run(args.scale)
        rows = [run_sweep(e, args.scale, replications, tmp / e.replace(" ", "_"))
                for e in ("1 worker", "2 processes", "Dask 2 workers")]
        names = ["indicators.parquet", "timeseries.parquet", "facilities.parquet", "summary.csv"]
        identical = all((Path(rows[0]["path"]) / n).read_bytes() == (Path(r["path"]) / n).read_bytes()
                        for r in rows[1:] for n in names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t1, t2, td = (r["wall_s"] for r in rows)
    import platform
    summary = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load,
               "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
               "efficiency": t1 / (2 * t2), "dask_overhead": td / t2 - 1, "single_run_s": single,
               "sweep_vs_single": rows[0]["run_s_median"] / single, "identical": identical,
               "scale": args.scale, "runs": rows[0]["runs"]}
    for r in rows:
        r.pop("path")
    text = markdown(rows, summary, args)
    print(text)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"rows": rows, **summary}, indent=2))
    if not args.no_docs:
        doc = ROOT / "docs" / "performance.md"
        body = doc.read_text(encoding="utf-8")
        if START in body and END in body:
            body = body[:body.index(START)] + text + body[body.index(END) + len(END):]
        else:
            body = body.rstrip() + "\n\n## Sweeps\n\n" + text + "\n"
        doc.write_text(body, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
