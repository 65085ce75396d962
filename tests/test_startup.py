"""`gradsim --help` and `gradsim check` import only what they need (start-up time, docs/performance.md).

Asserts which modules are loaded, not how long it takes: no test here measures time.
"""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

PROBE = """
import json, sys
from sim.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = ("pandas", "pyarrow", "mesa", "scipy.stats", "numba", "matplotlib", "pydantic", "yaml", "numpy")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _loaded(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_help_loads_neither_the_schema_nor_numpy():
    got = _loaded("--help")
    assert got["code"] == 0
    assert got["loaded"] == []


def test_check_loads_no_pandas_mesa_scipy_stats_or_numba():
    got = _loaded("check", "experiments/baseline.yaml")
    assert got["code"] == 0
    assert not {"pandas", "pyarrow", "mesa", "scipy.stats", "numba", "matplotlib"} & set(got["loaded"])
    assert {"pydantic", "yaml"} <= set(got["loaded"])      # what validating needs
