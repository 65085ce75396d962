"""gradsim validate: each check fails when its condition is broken on purpose, and the suite runs
end to end on the small county (tiny scale)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.cli import main
from sim.validation.checks import (MAX_PRACTICAL_REPLICATIONS, Paired, direction, no_response,
                                   replications_needed, target_holds, within)
from sim.validation.report import markdown, text_table

SMALL = Path(__file__).resolve().parent / "fixtures" / "small_county.yaml"


def test_within_passes_inside_and_fails_outside_or_nan():
    assert within("g", "x", 0.5, 0.4, 0.6, "{:.2f}", "").passed is True
    assert within("g", "x", 0.61, 0.4, 0.6, "{:.2f}", "").passed is False
    assert within("g", "x", math.nan, 0.4, 0.6, "{:.2f}", "").passed is False


def test_target_holds_within_its_tolerance_or_se_and_reports_unmatched():
    assert target_holds("t", 100, 10, 1.0, 109, "tolerance", True).passed is True
    assert target_holds("t", 100, 10, 1.0, 111, "tolerance", True).passed is False
    assert target_holds("t", 100, 10, 3.0, 129, "se", True).passed is True
    assert target_holds("t", 100, 10, 3.0, 131, "se", True).passed is False
    assert target_holds("t", 100, 10, 1.0, 500, "tolerance", False).passed is None


def test_direction_needs_the_interval_on_the_expected_side():
    up = Paired.of([0.02, 0.03, 0.025, 0.028])
    noisy = Paired.of([0.02, -0.03, 0.025, -0.01])
    assert direction("g", "x", +1, up, "{:+.2%}", "").passed is True
    assert direction("g", "x", -1, up, "{:+.2%}", "").passed is False
    assert direction("g", "x", +1, noisy, "{:+.2%}", "").passed is False


def test_direction_with_a_published_size_and_an_upper_bound():
    diffs = [0.25 + 0.01 * (i % 5) for i in range(20)]               # 25% .. 29%
    wide = Paired.of(diffs, prediction=True)
    assert direction("g", "x", +1, wide, "{:+.1%}", "", size=0.27).passed is True
    assert direction("g", "x", +1, wide, "{:+.1%}", "", size=0.30).passed is False      # outside the interval
    assert direction("g", "x", +1, wide, "{:+.1%}", "", size=0.55, upper_bound=True).passed is True
    assert direction("g", "x", +1, wide, "{:+.1%}", "", size=0.20, upper_bound=True).passed is False
    assert direction("g", "x", +1, Paired(math.nan, math.nan, math.nan), "{:+.1%}", "").passed is None


def test_no_response_fails_on_any_change():
    assert no_response("x", 0.0).passed is True
    assert no_response("x", 1e-12).passed is False


def test_replications_needed_fails_when_the_noise_is_too_large():
    assert replications_needed("x", [0.50, 0.51, 0.49, 0.505], 4).passed is True
    check = replications_needed("x", [0.3, 0.6, 0.4, 0.7], 4)
    assert check.passed is False and str(MAX_PRACTICAL_REPLICATIONS) in check.expected
    assert replications_needed("x", [0.5], 1).passed is False


def test_report_shows_every_verdict():
    checks = [within("g", "inside", 0.5, 0.4, 0.6, "{:.2f}", "src"), no_response("late lever", 0.1)]
    table = text_table(checks)
    assert "pass" in table and "FAIL" in table and "late lever" in table
    md = markdown(checks, {"config": "c.yaml", "scale": 0.1, "replications": 3}, "gradsim validate")
    assert "**1 of 2 checks pass.**" in md and "| late lever |" in md


def test_validate_refuses_an_experiment_and_a_bad_scale(capsys, tmp_path):
    root = Path(__file__).resolve().parent.parent
    assert main(["validate", str(root / "experiments" / "baseline.yaml")]) == 2
    assert main(["validate", str(SMALL), "--scale", "2"]) == 2
    assert "--scale" in capsys.readouterr().err


def test_the_suite_runs_on_the_small_county(tmp_path, capsys):
    out = tmp_path / "validation.md"
    code = main(["validate", str(SMALL), "--scale", "0.3", "--replications", "2", "--workers", "1",
                 "--no-uncertainty", "--quiet", "--write", str(out)])
    text = capsys.readouterr().out
    assert code in (0, 1) and ("checks pass" in text)
    md = out.read_text(encoding="utf-8")
    for group in ("National statistic", "Face validity", "External evaluation", "Stochastic stability"):
        assert f"## {group}" in md
    assert "a lever that starts after the horizon" in md and "capitation, Dingyuan" in md
    assert code == (1 if "**FAIL**" in md else 0)
