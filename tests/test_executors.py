"""Executors and faults: identical tables everywhere, failures isolated, interruptions resumable,
a folder run once at a time, no orphan workers, scripts without a main guard, bounded memory."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from conftest import ROOT, SMALL
from sim.cli import EXIT_FOLDER_BUSY, EXIT_RUNS_FAILED, main
from sim.experiment import run_experiment
from sim.results import RUN_TABLES, locked, read_manifest

TABLES = [f"{t}.parquet" for t in RUN_TABLES] + ["summary.csv", "outflow.csv"]
PY = sys.executable


def _tiny(**extra) -> dict:
    """A few cheap runs of the small county (two scenarios, a short horizon)."""
    spec = {"name": "tiny", "config": str(SMALL), "replications": 3, "seed": 5, "scale": 0.05,
            "horizon": {"start": "2022-01-01", "end": "2022-01-20", "warmup_days": 0},
            "scenarios": [{"name": "baseline"},
                          {"name": "richer", "overrides": {"insurance.schemes.resident.inpatient.county.ratio": 0.95}}]}
    spec.update(extra)
    return spec


def _same_files(a: Path, b: Path, names=TABLES) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_serial_processes_and_a_dask_local_cluster_give_bit_identical_tables(tmp_path):
    serial = run_experiment(_tiny(), out=tmp_path / "serial", workers=1)
    procs = run_experiment(_tiny(), out=tmp_path / "procs", workers=2)
    dask = run_experiment(_tiny(), out=tmp_path / "dask", workers=2, scheduler="local")
    assert serial.manifest["status"] == procs.manifest["status"] == dask.manifest["status"] == "complete"
    _same_files(serial.path, procs.path)
    _same_files(serial.path, dask.path)
    ind = pd.read_parquet(serial.path / "indicators.parquet")
    assert ind["run_id"].nunique() == 6 and (ind["sample"] == 0).all()


def test_local_dask_workers_keep_the_allocator_of_a_plain_process():
    """Dask's MALLOC_TRIM_THRESHOLD_ made every large numpy temporary a fresh mapping in its workers (7x the
    page faults, ~20% more CPU per run); our local workers start without it, and with Dask's other settings.
    Its statistical profiler (a stack sample every 10 ms) made a sweep 3-19% slower: it is off there.
    Event-loop checks every 20 ms and system samples every 0.5 s cost it 5-12%: every 1 s and 2 s there."""
    import os

    import dask
    import distributed  # noqa: F401  (its defaults enter dask.config on import)

    from sim.executors import MONITORING, SPAWN_ENV, WORKER_PROFILE, DaskExecutor

    before, profiled = dask.config.get(SPAWN_ENV), dask.config.get(WORKER_PROFILE)
    intervals = {key: dask.config.get(key) for key in MONITORING}
    assert "MALLOC_TRIM_THRESHOLD_" in before, "Dask's default changed: revisit sim.executors.worker_environ"
    assert profiled, "Dask's default changed: revisit sim.executors.WORKER_PROFILE"
    assert intervals == {"distributed.admin.tick.interval": "20ms",
                         "distributed.admin.system-monitor.interval": "500ms"}, "revisit sim.executors.MONITORING"

    def wake_ups(server) -> list[float]:
        return [server.periodic_callbacks[name].callback_time for name in ("tick", "monitor")]
    with DaskExecutor("local", 2) as ex:
        trim = ex.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        threads = ex.client.run(os.environ.get, "OMP_NUM_THREADS")
        sampling = ex.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        workers = ex.client.run(lambda dask_worker: wake_ups(dask_worker))
        scheduler = ex.client.run_on_scheduler(lambda dask_scheduler: wake_ups(dask_scheduler))
    assert len(trim) == 2 and set(trim.values()) == {None}
    assert set(threads.values()) == {"1"}
    assert len(sampling) == 2 and not any(sampling.values())
    assert [scheduler, *workers.values()] == [[1000, 2000]] * 3      # milliseconds
    assert dask.config.get(SPAWN_ENV) == before and dask.config.get(WORKER_PROFILE) == profiled
    assert {key: dask.config.get(key) for key in MONITORING} == intervals


def _obstruct(folder: Path, run_id: str) -> None:
    """Make one run fail for real: a directory where its indicators file must go."""
    (folder / "runs" / f"{run_id}.indicators.parquet").mkdir(parents=True)


def test_a_failing_run_is_isolated_recorded_and_redone_by_resume(tmp_path, capsys):
    exp, folder = _started(tmp_path, _tiny())            # a started run, one of whose runs cannot write
    _obstruct(folder, "richer__r001")
    code = main(["run", str(exp), "--out", str(tmp_path / "out"), "--resume", "--workers", "2"])
    out = capsys.readouterr()
    assert code == EXIT_RUNS_FAILED
    assert "1 of 6 runs failed" in out.err and "richer__r001" in out.err
    m = read_manifest(folder)
    assert m["status"] == "incomplete" and m["failed_runs"] == 1
    assert m["runs"]["richer__r001"]["status"] == "failed" and "IsADirectoryError" in m["runs"]["richer__r001"]["error"]
    ind = pd.read_parquet(folder / "indicators.parquet")
    assert sorted(ind["run_id"].unique()) == sorted(set(m["runs"]) - {"richer__r001"})
    (folder / "runs" / "richer__r001.indicators.parquet").rmdir()           # the fault is gone: resume redoes it
    assert main(["run", str(exp), "--out", str(tmp_path / "out"), "--resume", "--workers", "1", "--quiet"]) == 0
    m = read_manifest(folder)
    assert m["status"] == "complete" and m["failed_runs"] == 0
    clean = run_experiment(_tiny(), out=tmp_path / "clean", workers=1)
    _same_files(folder, clean.path)


def _started(tmp_path: Path, spec: dict) -> tuple[Path, Path]:
    """An experiment file and a started, unfinished results folder of it (as after a crash)."""
    from sim.experiment import plan_experiment
    from sim.results import new_run_folder, start_manifest, write_manifest
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps(spec))
    folder = new_run_folder(tmp_path / "out" / spec["name"])
    m = start_manifest(folder, plan_experiment(str(exp)))
    m["status"] = "interrupted"
    write_manifest(folder, m)
    return exp, folder


def test_every_run_failing_exits_non_zero_without_a_table(tmp_path, capsys):
    exp, folder = _started(tmp_path, _tiny(replications=1, scenarios=[{"name": "baseline"}]))
    _obstruct(folder, "baseline__r000")
    assert main(["run", str(exp), "--out", str(tmp_path / "out"), "--resume", "--quiet"]) == EXIT_RUNS_FAILED
    assert "all 1 runs failed" in capsys.readouterr().err
    assert read_manifest(folder)["status"] == "failed" and not (folder / "summary.csv").exists()


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _as_in_a_terminal() -> None:
    """Ctrl-C reaches the child as it would from a terminal, even if a library used earlier in this test
    process ignored or blocked SIGINT (both are inherited across exec)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_cli(tmp_path: Path, exp: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "sim", "run", str(exp), "--out", str(tmp_path / "out"), "--quiet", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_in_a_terminal)


def _wait_for_runs(folder_parent: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> Path:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = list(folder_parent.glob("*/runs/*.indicators.parquet"))
        if len(done) >= n:
            return done[0].parent.parent
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("runs did not finish in time")


def test_ctrl_c_then_sigkill_leave_no_workers_and_resume_completes_exactly_the_missing_runs(tmp_path):
    # enough runs that the sweep cannot finish between the second finished run and the signal (60 runs)
    spec = _tiny(replications=3, horizon={"start": "2022-01-01", "end": "2022-06-30", "warmup_days": 0})
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps(spec))
    proc = _start_cli(tmp_path, exp, "--workers", "2", "--scale", "0.1", "--replications", "30")
    folder = _wait_for_runs(tmp_path / "out" / "tiny", 2, proc)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGINT)                                 # Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "continue with --resume" in err
    assert not psutil.wait_procs(workers, timeout=15)[1]
    assert read_manifest(folder)["status"] == "interrupted" and not (folder / "summary.csv").exists()
    # resume without repeating --scale or --replications (read from the manifest), then kill -9 it
    proc = _start_cli(tmp_path, exp, "--workers", "2", "--resume")
    n = len(list(folder.glob("runs/*.indicators.parquet")))
    _wait_for_runs(tmp_path / "out" / "tiny", n + 2, proc)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"orphans: {[p.pid for p in alive]}"
    runs = folder / "runs"
    kept = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.parquet")}
    done_before = {p.name.split(".")[0] for p in runs.glob("*.indicators.parquet")}
    assert 4 <= len(done_before) < 60
    assert main(["run", str(exp), "--out", str(tmp_path / "out"), "--resume", "--workers", "2", "--quiet"]) == 0
    m = read_manifest(folder)
    assert m["status"] == "complete" and m["scale"] == 0.1 and m["replications"] == 30 and len(m["resumed_at"]) == 2
    for name, stamp in kept.items():
        if name.split(".")[0] in done_before:
            assert (runs / name).stat().st_mtime_ns == stamp, name          # finished runs were not redone
    assert len(list(runs.glob("*.indicators.parquet"))) == 60
    clean = run_experiment(spec, out=tmp_path / "clean", workers=1, scale=0.1, replications=30)
    _same_files(folder, clean.path)


def test_two_runs_of_one_folder_cannot_both_run(tmp_path, capsys):
    exp, folder = _started(tmp_path, _tiny(replications=1))
    out = str(tmp_path / "out")
    with locked(folder):                      # another process would hold it the same way (flock)
        assert main(["run", str(exp), "--out", out, "--resume", "--quiet"]) == EXIT_FOLDER_BUSY
        assert "is being run right now" in capsys.readouterr().err
        assert not list(folder.rglob("*.parquet"))
    holder = subprocess.Popen([PY, "-c", textwrap.dedent(f"""
        import sys, time; sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from sim.results import locked
        with locked(Path({str(folder)!r})):
            print("held", flush=True); time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run", str(exp), "--out", out, "--resume", "--quiet"]) == EXIT_FOLDER_BUSY
        assert f"process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert main(["run", str(exp), "--out", out, "--resume", "--quiet"]) == 0   # freed by the kill


SCRIPT = """
import sim
res = sim.run_experiment({spec!r}, workers=2{extra})
print("rows", len(res.indicators))
"""


def test_the_readme_api_example_runs_as_a_script_without_a_main_guard(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(SCRIPT.format(spec=_tiny(replications=2), extra=""))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([PY, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("rows") == 1                     # the workers did not run the script again
    folders = list((tmp_path / "results" / "tiny").iterdir())
    assert len(folders) == 1 and read_manifest(folders[0])["status"] == "complete"


def test_a_run_that_cannot_start_leaves_nothing_behind(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(SCRIPT.format(spec=_tiny(replications=2), extra=", scheduler='tcp://127.0.0.1:9'"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    done = subprocess.run([PY, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "cannot reach the Dask scheduler" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example.py"]


def test_a_worker_lost_from_a_dask_cluster_has_its_runs_retried(tmp_path):
    from dask.distributed import Client, LocalCluster
    spec = _tiny(replications=10, horizon={"start": "2022-01-01", "end": "2022-02-28", "warmup_days": 0})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def kill_one_mid_sweep() -> None:
            while len(list((tmp_path / "dask").glob("*/*/runs/*.indicators.parquet"))) < 4:
                time.sleep(0.02)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        t = threading.Thread(target=kill_one_mid_sweep, daemon=True)
        t.start()
        res = run_experiment(spec, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
        t.join(timeout=5)
    assert killed, "the sweep finished before a worker could be killed"
    assert res.manifest["status"] == "complete" and not res.failed
    ind = pd.read_parquet(res.path / "indicators.parquet")
    per_run = ind.groupby("run_id").size()
    assert len(per_run) == 20 and per_run.nunique() == 1        # every run present exactly once
    clean = run_experiment(spec, out=tmp_path / "clean", workers=1)
    _same_files(res.path, clean.path)


def test_parent_memory_stays_flat_over_a_500_run_sweep(tmp_path):
    """Parent RSS after 100 runs and after 500 differ by little: no per-run state is kept."""
    spec = _tiny(replications=5, scale=0.02, scenarios=[{"name": "baseline"}],
                 horizon={"start": "2022-01-01", "end": "2022-01-03", "warmup_days": 0},
                 sweep={"design": "lhs", "samples": 100, "uncertainties": {
                     "choice.wtp.travel_per_hour.outpatient.minor": {"low": 100.0, "high": 400.0}}})
    me = psutil.Process()
    marks: dict[int, int] = {}
    import sim.results as store
    original = store.ManifestSaver.changed

    def watch(self, urgent=False):
        n = sum(r.get("status") == "complete" for r in self.manifest["runs"].values())
        if n in (100, 500):
            marks[n] = me.memory_info().rss
        original(self, urgent)
    store.ManifestSaver.changed = watch
    try:
        res = run_experiment(spec, out=tmp_path, workers=2)
    finally:
        store.ManifestSaver.changed = original
    after = me.memory_info().rss
    assert res.manifest["status"] == "complete" and len(res.manifest["runs"]) == 500
    assert marks.keys() == {100, 500}
    assert marks[500] - marks[100] < 25e6, (marks, after)     # measured: about 4 MB (one-off costs come before)
