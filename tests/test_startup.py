"""Each command imports only what it needs (start-up time, docs/performance.md): `--help` and
`check` no simulation libraries, `run --workers 1` runs in its own process, and the parent of
worker processes leaves Mesa, numba and the model to the workers.

Asserts which modules are loaded, not how long it takes: no test here measures time.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SMALL

PROBE = """
import json, sys
from sim.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = ("pandas", "pyarrow", "mesa", "scipy.stats", "numba", "matplotlib", "pydantic", "yaml", "numpy",
         "sim.policies.levers", "sim.model", "networkx", "scipy.spatial")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _loaded(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tiny_experiment(tmp_path: Path, replications: int) -> Path:
    """A few cheap runs of the small county (a short horizon, no warm-up)."""
    spec = {"name": "tiny", "config": str(SMALL), "replications": replications, "seed": 3, "scale": 0.05,
            "horizon": {"start": "2022-01-01", "end": "2022-01-10", "warmup_days": 0}}
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(spec))
    return path


def test_help_loads_neither_the_schema_nor_numpy():
    got = _loaded("--help")
    assert got["code"] == 0
    assert got["loaded"] == []


def test_check_loads_no_pandas_mesa_scipy_stats_or_numba():
    got = _loaded("check", "experiments/baseline.yaml")
    assert got["code"] == 0
    assert not {"pandas", "pyarrow", "mesa", "scipy.stats", "numba", "matplotlib"} & set(got["loaded"])
    assert {"pydantic", "yaml"} <= set(got["loaded"])      # what validating needs
    assert "sim.policies.levers" not in got["loaded"]       # no scenario has a policy: no lever is imported


THREADS = """
import json, os, sys
from sim.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "threads": len(os.listdir("/proc/self/task")), "blas": os.environ["OPENBLAS_NUM_THREADS"]}))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_a_command_starts_no_blas_thread_pool_unless_asked(monkeypatch):
    """A run is single-threaded; numpy's BLAS thread pool only cost each command its start-up.
    A value the user sets is kept."""
    def probe(**env):
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.delenv(var, raising=False)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        out = subprocess.run([sys.executable, "-c", THREADS, "check", "experiments/baseline.yaml"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    got = probe()
    assert got["code"] == 0 and got["threads"] == 1 and got["blas"] == "1"
    assert probe(OPENBLAS_NUM_THREADS="2")["blas"] == "2"


def test_check_of_an_experiment_with_policies_loads_the_levers_it_validates():
    got = _loaded("check", "experiments/medical_community_reform.yaml")
    assert got["code"] == 0
    assert "sim.policies.levers" in got["loaded"]
    assert not {"mesa", "numba", "scipy.stats", "sim.model"} & set(got["loaded"])   # (pandas reads its ensemble CSV)


def test_run_refuses_a_bad_experiment_before_loading_pandas_or_the_model(tmp_path):
    exp = _tiny_experiment(tmp_path, replications=1)
    exp.write_text(exp.read_text().replace('"replications": 1', '"replications": 0'))
    got = _loaded("run", str(exp), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet")
    assert got["code"] == 2
    assert not {"pandas", "pyarrow", "mesa", "numba", "scipy.stats", "sim.model"} & set(got["loaded"])
    assert not (tmp_path / "out").exists()


def test_run_with_one_worker_runs_in_this_process(tmp_path):
    exp = _tiny_experiment(tmp_path, replications=2)
    got = _loaded("run", str(exp), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet")
    assert got["code"] == 0
    assert {"sim.model", "mesa"} <= set(got["loaded"])      # the model ran here, not in a worker process
    assert not {"networkx", "scipy.spatial"} & set(got["loaded"])   # Mesa's grids: never used, never run
    assert len(list((tmp_path / "out" / "tiny").glob("*/runs/*.indicators.parquet"))) == 2


def test_a_run_drawing_uncertain_parameters_does_not_import_scipy_stats(tmp_path):
    """Each replicate's parameter draw uses sim.uncertainty's quantiles, not scipy.stats (0.5 s, 34 MB a worker)."""
    spec = json.loads(_tiny_experiment(tmp_path, replications=2).read_text())
    travel = {"value": 200, "uncertain": {"low": 100, "high": 400, "distribution": "triangular"}}
    spec["scenarios"] = [{"name": "baseline", "overrides": {"choice.wtp.travel_per_hour.outpatient.minor": travel}}]
    (tmp_path / "tiny.yaml").write_text(json.dumps(spec))
    got = _loaded("run", str(tmp_path / "tiny.yaml"), "--workers", "1", "--out", str(tmp_path / "out"), "--quiet")
    assert got["code"] == 0 and "sim.model" in got["loaded"]
    assert "scipy.stats" not in got["loaded"]
    manifest = json.loads(next((tmp_path / "out" / "tiny").glob("*/manifest.json")).read_text())
    drawn = [r["parameters"]["choice.wtp.travel_per_hour.outpatient.minor"] for r in manifest["runs"].values()]
    assert len(set(drawn)) == 2 and all(100 <= x <= 400 for x in drawn)   # each replicate drew its own value


DEFERRED = """
import inspect, json, sys, threading, types
import sim.model
import mesa
unused = ("networkx", "scipy.spatial", "scipy.sparse", "charset_normalizer", "unittest")
deferred = ("numpy.f2py", "numpy.testing", "numpy.polynomial", "mesa.space", "mesa.discrete_space")
ran = lambda: [m for m in unused if m in sys.modules] + [m for m in deferred if type(sys.modules[m]) is types.ModuleType]
got = {"with_the_model": ran()}
inspect.stack()                                   # what Mesa's module logger does: reads every module's __file__
got["identity"] = [mesa.space.__name__, mesa.space.__file__.endswith("space.py"), repr(mesa.discrete_space)[:28]]
got["after_identity"] = ran()
import numpy as np, scipy.special
got["numpy"] = [float(scipy.special.ndtri(0.975)) > 1.95, np.testing.assert_equal(2, 2), type(np.testing).__name__,
                type(np.polynomial.Polynomial([1, 2])).__name__]
grids = []
readers = [threading.Thread(target=lambda: grids.append(mesa.space.MultiGrid)) for _ in range(4)]
for t in readers: t.start()
for t in readers: t.join()
grid = grids[0](3, 4, torus=False)
grid.place_agent(mesa.Agent(mesa.Model()), (1, 2))
from mesa.discrete_space import OrthogonalMooreGrid
import mesa.experimental.devs
got["used"] = {"one_class": len({id(g) for g in grids}) == 1, "grid": [grid.width, grid.height, len(grid.agents)],
               "moore": OrthogonalMooreGrid.__name__, "devs": mesa.experimental.devs.__name__,
               "types": sorted({type(sys.modules[m]).__name__
                                for m in ("mesa.space", "mesa.discrete_space", "mesa.experimental")})}
print(json.dumps(got))
"""


def test_the_model_leaves_the_libraries_unused_parts_unrun_until_used():
    """Mesa's grids and spaces (networkx, scipy.spatial: 0.15-0.25 s and 17 MB a process) and the numpy
    submodules scipy.special's array-API layer reads (f2py, testing: 0.12 s and 6 MB) run on first use, and
    then work as usual, whoever reads them first; reading a module's name or file does not run it."""
    out = subprocess.run([sys.executable, "-c", DEFERRED], cwd=ROOT, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["with_the_model"] == [] and got["after_identity"] == []
    assert got["identity"] == ["mesa.space", True, "<module 'mesa.discrete_space"]
    assert got["numpy"] == [True, None, "module", "Polynomial"]    # numpy's parts scipy.special touched, when used
    assert got["used"] == {"one_class": True, "grid": [3, 4, 1], "moore": "OrthogonalMooreGrid",
                           "devs": "mesa.experimental.devs", "types": ["module"]}


def test_a_deferred_module_runs_once_and_other_threads_wait_for_it(tmp_path, monkeypatch):
    """A second thread reading a deferred module while the first runs it waits for the whole module,
    instead of finding it half run; the module runs once."""
    import threading
    import time
    import types

    from sim.deferred import DeferredModule, import_deferring

    gate = types.SimpleNamespace(started=threading.Event(), go=threading.Event(), runs=0)
    monkeypatch.setitem(sys.modules, "deferral_gate", gate)
    package = tmp_path / "deferral_probe"
    package.mkdir()
    (package / "__init__.py").write_text("from . import slow\n")
    (package / "slow.py").write_text("import deferral_gate as g\ng.runs += 1\ng.started.set()\ng.go.wait(10)\n"
                                     "VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("deferral_probe", "deferral_probe.slow"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    probe = import_deferring("deferral_probe", ["deferral_probe.slow"])
    assert type(sys.modules["deferral_probe.slow"]) is DeferredModule and gate.runs == 0
    got: dict[str, object] = {}

    def read(who: str) -> None:
        try:
            got[who] = probe.slow.VALUE
        except AttributeError as exc:
            got[who] = exc
    first = threading.Thread(target=read, args=("first",))
    first.start()
    assert gate.started.wait(10)
    second = threading.Thread(target=read, args=("second",))
    second.start()
    time.sleep(0.2)                       # the second reader is at the module while the first runs it
    gate.go.set()
    first.join(10)
    second.join(10)
    assert got == {"first": 42, "second": 42} and gate.runs == 1
    assert type(probe.slow) is types.ModuleType


def test_mesa_imported_before_the_model_is_used_as_it_is():
    code = "import mesa, sys; import sim.model; print(type(sys.modules['mesa.space']).__name__, sim.model.mesa is mesa)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["module", "True"]


def test_the_parent_of_worker_processes_imports_neither_mesa_nor_numba_nor_the_model(tmp_path):
    exp = _tiny_experiment(tmp_path, replications=2)
    got = _loaded("run", str(exp), "--workers", "2", "--out", str(tmp_path / "out"), "--quiet")
    assert got["code"] == 0
    assert not {"mesa", "numba", "sim.model", "scipy.stats"} & set(got["loaded"])
    assert {"pandas", "pyarrow"} <= set(got["loaded"])       # the parent combines the workers' tables
    folders = list((tmp_path / "out" / "tiny").glob("*/runs"))
    assert len(folders) == 1 and len(list(folders[0].glob("*.indicators.parquet"))) == 2


def test_the_summary_intervals_are_scipy_stats_t_intervals_exactly():
    """summarize takes its t quantile from scipy.special (no scipy.stats import); the same bits as t.ppf."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    from sim.results import summarize

    rng = np.random.default_rng(4)
    rows = [{"scenario": s, "sample": 0, "period": "all", "indicator": f"x{k}", "replicate": r,
             "value": rng.normal(10, 3)} for s in ("baseline", "other") for k, n in enumerate((2, 3, 7, 40))
            for r in range(n)]
    out = summarize(pd.DataFrame(rows), "baseline", level=0.9)
    assert len(out) == 8
    for _, row in out.iterrows():
        values = [x["value"] for x in rows if x["scenario"] == row["scenario"] and x["indicator"] == row["indicator"]]
        n = len(values)
        half = stats.t.ppf(0.95, n - 1) * np.std(values, ddof=1) / np.sqrt(n)
        assert row["n"] == n
        assert row["ci_high"] - row["mean"] == pytest.approx(half, rel=1e-12)
        assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * half, rel=1e-12)
    base = out[out["scenario"] == "baseline"]
    assert (base["diff_mean"] == 0).all()
