"""What a run will cost before it starts: memory per worker, wall-clock time, cores.

The constants were measured with `make bench` on the project's 2-vCPU machine (Python 3.11, the
fast engine, seed county at 0.1x, 1x, 10x and 50x; docs/performance.md): peak memory is
284-290 MB for the interpreter, the libraries and numba's kernels plus about 65 bytes per resident
(53 of them the population's columns), and a run costs about 0.9 ms a simulated day plus 6.5e-9 s
per resident-day, set-up included. The first run after installing compiles the kernels (once, a few
seconds, about 100 MB more while it lasts); the estimate is for the runs after it. Other machines
differ; the estimates are for "minutes or hours", not seconds.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .config import CountyConfig
    from .experiment import Plan

PROCESS_BYTES = 290 * 2**20           # interpreter, numpy, pandas, pydantic, mesa, numba and its kernels
MODEL_BYTES_PER_RESIDENT = 60         # beyond the columns: the day's arrays, records, policies' per-resident arrays
SECONDS_PER_DAY = 9e-4                # one core: a simulated day's fixed cost (rounds, records, background)
SECONDS_PER_RESIDENT_DAY = 6.5e-9     # one core, set-up included
LONG_RUN_SECONDS = 15 * 60            # longer than this: say so before starting


class NotEnoughMemory(Exception):
    """The machine cannot hold the population: an environment limit, not a mistake in the file."""


def column_bytes_per_resident(cfg: "CountyConfig") -> int:
    """Bytes of the population's per-resident columns (a 64-resident sample of the real table)."""
    from .county import build_county
    from .population import synthesize

    pop = synthesize(cfg, build_county(cfg), 64, np.random.default_rng(0))
    total = sum(v.nbytes for v in vars(pop).values() if isinstance(v, np.ndarray))
    return int(np.ceil(total / 64))


def available_memory() -> int | None:
    """Bytes the system can give without swapping (MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass
class Cost:
    residents: int
    bytes_per_run: int
    workers: int
    held: int                   # runs in memory at once (one a worker)
    memory_available: int | None
    seconds: float
    models: int = 1             # models a worker holds: 2 where runs share their first days (a fork)

    @property
    def memory_needed(self) -> int:
        return self.held * (self.models * self.bytes_per_run + PROCESS_BYTES)


def estimate(plan: "Plan", workers: int) -> Cost:
    """Memory of `workers` runs held at once, and the wall-clock time of the whole plan."""
    cfg = plan.scenarios[0].config
    residents = max(1, round(cfg.population.size * plan.scale))
    per_resident = column_bytes_per_resident(cfg) + MODEL_BYTES_PER_RESIDENT
    bytes_per_run = residents * per_resident
    runs = len(plan.runs)
    parallel = max(1, min(workers, runs, cores()))
    seconds = simulated_days(plan) * (SECONDS_PER_DAY + residents * SECONDS_PER_RESIDENT_DAY) / parallel
    return Cost(residents, bytes_per_run, workers, max(1, min(workers, runs)), available_memory(), seconds)


def simulated_days(plan: "Plan") -> int:
    """Days the plan's runs simulate, each run alone (warm-up included)."""
    from .steady import simulated_warmup_days
    return sum((s.config.horizon.end - s.config.horizon.start).days + 1 + simulated_warmup_days(s.config.horizon)
               for s in plan.scenarios) * len(plan.seeds) * len(plan.sample_ids)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit in ("B", "KB", "MB") else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def human_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def check_cost(plan: "Plan", workers: int) -> list[str]:
    """Warnings about cores and time; NotEnoughMemory when the runs cannot fit in memory. Runs that share
    their days before the levers (sim.shared_prefix) hold two models a worker at a fork; where that does
    not fit but one model does, the plan runs them alone (`plan.share_days`), with a warning."""
    from .shared_prefix import days_spared

    out = []
    cost = estimate(plan, workers)
    spared = days_spared(plan, workers) if plan.share_days else 0
    if spared:
        shared = dataclasses.replace(cost, models=2, seconds=cost.seconds * (1 - spared / simulated_days(plan)))
        if cost.memory_available is None or shared.memory_needed <= cost.memory_available:
            cost = shared
        else:
            plan.share_days = False
            out.append(f"runs do not share their days before the levers: a worker would hold two models at once, "
                       f"{human_bytes(shared.memory_needed)} in all, and this machine has "
                       f"{human_bytes(cost.memory_available)} available")
    if cost.memory_available is not None and cost.memory_needed > cost.memory_available:
        fewer = max(0, cost.memory_available - PROCESS_BYTES) // max(1, cost.bytes_per_run)
        fits = plan.scale * max(0, cost.memory_available - PROCESS_BYTES) / max(1, cost.bytes_per_run)
        hint = (f"use --workers {fewer}" if 1 <= fewer < cost.workers
                else f"use --scale {fits:.2g} or less with --workers 1, or a machine with more memory"
                if fits >= 1e-4 else "use a machine with more memory")
        raise NotEnoughMemory(
            f"{cost.residents:,} residents need about {human_bytes(cost.bytes_per_run)} per run, "
            f"{human_bytes(cost.memory_needed)} for {min(cost.workers, len(plan.runs))} run(s) at once; "
            f"this machine has {human_bytes(cost.memory_available)} available: {hint}")
    n = cores()
    if workers > n:
        out.append(f"{workers} workers on {n} cores: runs will share cores (no faster than {n} workers) and "
                   f"hold {human_bytes(cost.memory_needed)} of memory")
    if cost.seconds > LONG_RUN_SECONDS:
        out.append(f"{len(plan.runs)} runs of {cost.residents:,} residents: expect about "
                   f"{human_seconds(cost.seconds)} on {max(1, min(workers, n, len(plan.runs)))} core(s) "
                   "(Ctrl-C stops; --resume continues)")
    return out
