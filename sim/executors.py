"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

One interface: `open_executor(...)` gives a context manager whose `results(fn, tasks)` yields each
task's return value as it finishes (any order). Tasks are submitted through a bounded window, so
the parent never holds more than a few tasks and results however many runs there are. The
function must not raise for a run's own fault (the caller wraps it); an executor only raises for
faults of its own (a pool that cannot start, a cluster that cannot be reached).
"""
from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

WINDOW_PER_WORKER = 2        # tasks in flight per worker: enough to keep each busy, few enough to stay small


class ExecutorError(RuntimeError):
    """The executor itself failed (workers could not start, the cluster is unreachable)."""


class SerialExecutor:
    """Runs each task in this process, one after the other."""
    name = "serial"
    workers = 1

    def __enter__(self) -> "SerialExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def results(self, fn: Callable[[dict], dict], tasks: Iterable[dict]) -> Iterator[dict]:
        for task in tasks:
            yield fn(task)


def _worker_init(parent_pid: int) -> None:
    """In each worker: die with the parent, even when it is killed (SIGKILL leaves no orphans)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:                      # other systems (and a belt to the braces above)
        while True:
            threading.Event().wait(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)
    threading.Thread(target=watch, daemon=True, name="gradsim-parent-watch").start()


@contextlib.contextmanager
def hidden_main() -> Iterator[None]:
    """Start workers without re-running the caller's script in them.

    With 'spawn' (Mesa 3.3 makes it the default) each worker imports the parent's __main__ file;
    a script without an `if __name__ == "__main__":` guard would then start the experiment again
    in every worker. The runs need nothing from __main__, so workers are started without it.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        for k in saved:
            setattr(main, k, None) if k == "__spec__" else delattr(main, k)
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _drain(submit: Callable[[dict], Any], tasks: Iterator[dict], window: int,
           wait_some: Callable[[set], tuple[set, set]], result: Callable[[Any], dict],
           cancel: Callable[[Any], None]) -> Iterator[dict]:
    """Keep at most `window` tasks in flight; yield results as they come."""
    pending = {submit(t) for t in itertools.islice(tasks, window)}
    try:
        while pending:
            done, pending = wait_some(pending)
            for fut in done:
                yield result(fut)
            for t in itertools.islice(tasks, len(done)):
                pending.add(submit(t))
    finally:
        for fut in pending:
            cancel(fut)


class ProcessExecutor:
    """Local worker processes, started with 'spawn' (fresh interpreters, imports paid once per worker)."""
    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "ProcessExecutor":
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                        initializer=_worker_init, initargs=(os.getpid(),))
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        assert self.pool is not None
        if exc_type is None:
            self.pool.shutdown(wait=True)
            return
        for proc in list((getattr(self.pool, "_processes", None) or {}).values()):   # Ctrl-C or a fault: stop now
            with contextlib.suppress(Exception):
                proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def results(self, fn: Callable[[dict], dict], tasks: Iterable[dict]) -> Iterator[dict]:
        from concurrent.futures.process import BrokenProcessPool

        assert self.pool is not None
        tasks = iter(tasks)
        with hidden_main():                     # the first `workers` submissions start the workers
            first = [self.pool.submit(fn, t) for t in itertools.islice(tasks, self.workers)]
        more = itertools.chain(first, (self.pool.submit(fn, t) for t in tasks))

        def result(fut: Any) -> dict:
            try:
                return fut.result()
            except BrokenProcessPool as exc:
                raise ExecutorError("a worker process died (out of memory, or killed); finished runs are kept, "
                                    "continue with --resume") from exc
        yield from _drain(lambda f: f, more, self.workers * WINDOW_PER_WORKER,
                          lambda p: wait(p, return_when=FIRST_COMPLETED), result, lambda f: f.cancel())


SPAWN_ENV = "distributed.nanny.pre-spawn-environ"
WORKER_PROFILE = "distributed.worker.profile.enabled"   # a statistical profiler, every 10 ms, for the dashboard
MONITORING = {"distributed.admin.tick.interval": "1s",            # event-loop health check: 20 ms by default
              "distributed.admin.system-monitor.interval": "2s"}  # CPU, memory, disk, network for the dashboard: 500 ms


def worker_environ(environ: dict) -> dict:
    """Dask's environment for worker processes without MALLOC_TRIM_THRESHOLD_.

    Dask sets it (to hand memory back to the system sooner); setting it turns off glibc's sliding mmap
    threshold, so every numpy temporary over 128 KiB is mapped and unmapped afresh and its pages
    faulted in again: 7x the page faults of a plain process and about 20% more CPU per run
    (docs/performance.md, "Sweeps"). A run's memory is freed when it ends, so there is nothing to trim.
    """
    return {k: v for k, v in environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}


class DaskExecutor:
    """A Dask distributed cluster: `address` 'local' starts a LocalCluster for the run, else tcp://HOST:PORT.

    A LocalCluster's workers run without Dask's statistical profiler: it samples the running thread's
    stack every 10 ms for a dashboard this cluster does not serve, and made a full-scale Dask sweep
    3-19% slower (docs/performance.md, "Sweeps"). Its scheduler and workers check their event loops
    every second instead of every 20 ms and sample the system every 2 s instead of 0.5 s
    (`MONITORING`): each wake-up takes the interpreter's lock from the run, and the two together
    cost a full-scale sweep 5-12% of its wall time. Runs held by a worker that is lost are rescheduled
    by the Dask scheduler on another worker (up to `distributed.scheduler.allowed-failures` times); a
    run writes its files atomically, so a repeated run leaves them exactly as one run would.
    """
    name = "dask"

    def __init__(self, address: str, workers: int | None = None):
        self.address, self.n_workers = address, workers
        self.client: Any = None
        self.cluster: Any = None
        self.workers = workers or 1

    def __enter__(self) -> "DaskExecutor":
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ExecutorError("--scheduler needs Dask: pip install 'gradsim[dask]'") from exc
        try:
            if self.address == "local":
                settings = {SPAWN_ENV: worker_environ(dask.config.get(SPAWN_ENV, {})), WORKER_PROFILE: False,
                            **MONITORING}
                with hidden_main(), dask.config.set(settings):
                    self.cluster = LocalCluster(n_workers=self.n_workers or os.cpu_count() or 1, threads_per_worker=1,
                                                processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
            else:
                self.client = Client(self.address, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        except OSError as exc:
            self.__exit__(None)
            raise ExecutorError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from exc
        self.workers = max(1, sum(self.client.nthreads().values()))
        return self

    def __exit__(self, *exc: Any) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()

    def results(self, fn: Callable[[dict], dict], tasks: Iterable[dict]) -> Iterator[dict]:
        from dask.distributed import as_completed

        run_of: dict[str, str] = {}

        def submit(task: dict) -> Any:
            fut = self.client.submit(fn, task, key=f"gradsim-{task['run_id']}-{task.get('fingerprint', '')}",
                                     pure=False)
            run_of[fut.key] = task["run_id"]
            return fut
        tasks = iter(tasks)
        window = max(2, self.workers * WINDOW_PER_WORKER)
        pending = as_completed([submit(t) for t in itertools.islice(tasks, window)])
        try:
            for fut in pending:
                try:
                    value = fut.result()
                except Exception as exc:      # noqa: BLE001  (e.g. KilledWorker: its workers kept dying)
                    value = {"run_id": run_of[fut.key], "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                run_of.pop(fut.key, None)
                fut.release()
                yield value
                nxt = next(tasks, None)
                if nxt is not None:
                    pending.add(submit(nxt))
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(list(pending.futures))


def open_executor(workers: int = 1, scheduler: str | None = None, n_tasks: int | None = None):
    """The executor for `--workers` and `--scheduler` (None: serial for one worker, else processes)."""
    if scheduler:
        return DaskExecutor(scheduler, workers if scheduler == "local" else None)
    if workers <= 1 or (n_tasks is not None and n_tasks <= 1):
        return SerialExecutor()
    return ProcessExecutor(workers if n_tasks is None else min(workers, n_tasks))
