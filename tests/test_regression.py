"""The small seeded run still gives the stored numbers (refresh only with scripts/update_regression.py)."""
from __future__ import annotations

import importlib.util
import json
import math

from conftest import ROOT


def test_small_seeded_run_matches_the_stored_baseline():
    spec = importlib.util.spec_from_file_location("update_regression", ROOT / "scripts" / "update_regression.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    stored = json.loads((ROOT / "tests" / "baseline" / "regression.json").read_text())["indicators"]
    now = mod.regression_indicators()
    assert set(now) == set(stored), "indicator set changed: refresh with scripts/update_regression.py"
    changed = {k: (stored[k], now[k]) for k in stored
               if not (math.isclose(stored[k], now[k], rel_tol=1e-9, abs_tol=1e-12)
                       or (math.isnan(stored[k]) and math.isnan(now[k])))}
    assert not changed, f"numbers moved (refresh with scripts/update_regression.py if intended): {changed}"


def test_the_parameter_table_in_docs_is_generated_from_the_seed_config(capsys, monkeypatch):
    from sim.paramtable import main
    monkeypatch.chdir(ROOT)
    assert main(["configs/seed_county.yaml"]) == 0
    expected = capsys.readouterr().out
    current = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert current == expected, \
        "docs/parameters.md is stale: python -m sim.paramtable configs/seed_county.yaml > docs/parameters.md"


def test_the_wtp_table_in_the_odd_is_generated_from_the_seed_config(monkeypatch):
    from sim.paramtable import wtp_markdown
    monkeypatch.chdir(ROOT)
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    inside = odd.split("<!-- wtp-table -->\n", 1)[1].split("<!-- /wtp-table -->", 1)[0]
    assert inside.strip() == wtp_markdown("configs/seed_county.yaml").strip(), \
        "docs/ODD.md's WTP table is stale: python scripts/refresh_docs.py"
