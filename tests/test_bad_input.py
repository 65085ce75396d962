"""Bad input and machine faults, as an analyst meets them through `gradsim`: each ends with one
clear message (no traceback, at most a screen), its exit code (docs/errors.md) and nothing
half-written. Also: Chinese names, group-readable results, warnings, and who is blamed for a
broken constraint."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, SMALL
from sim.cli import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_MEMORY, main
from sim.config import MAX_MESSAGE_LINES

BASE = (f"name: t\nconfig: {SMALL.as_posix()}\nreplications: 1\nscale: 0.05\n"
        "horizon: {start: 2022-01-01, end: 2022-01-31, warmup_days: 5}\n")


def _policy(text: str) -> str:
    return BASE + f"scenarios:\n  - name: baseline\n  - name: x\n    policies: [{text}]\n"


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nname: t\nconfig: {SMALL.as_posix()}\n"


COUNTY = f"extends: {SMALL.as_posix()}\n"
MANIFEST = json.dumps({"experiment": "t", "scenarios": {}, "replications": 1})

# id: (files {name: text or bytes}, argv after the command, exit code, words the message must hold)
# "{exp}" in argv is tmp/exp.yaml, "{out}" tmp/results, "{tmp}" the test's folder.
RUN = ["run", "{exp}", "--out", "{out}", "--quiet"]
CASES = {
    # numbers: NaN, infinities, true/false, ranges
    "seed true": ({"exp.yaml": BASE + "seed: true\n"}, RUN, 2, ["seed", "true/false"]),
    "replications yes": ({"exp.yaml": BASE.replace("replications: 1", "replications: yes")}, RUN, 2,
                         ["replications", "true/false"]),
    "scale nan": ({"exp.yaml": BASE.replace("scale: 0.05", "scale: .nan")}, RUN, 2, ["scale", "finite"]),
    "scale inf": ({"exp.yaml": BASE.replace("scale: 0.05", "scale: .inf")}, RUN, 2, ["scale", "finite"]),
    "seed -inf": ({"exp.yaml": BASE + "seed: -.inf\n"}, RUN, 2, ["seed", "finite"]),
    "replications 20000 in file": ({"exp.yaml": BASE.replace("replications: 1", "replications: 20000")}, RUN, 2,
                                   ["replications", "10000"]),
    "--replications 0": ({"exp.yaml": BASE}, RUN + ["--replications", "0"], 2, ["--replications", "10,000"]),
    "--replications 10001": ({"exp.yaml": BASE}, RUN + ["--replications", "10001"], 2, ["between 1 and 10,000"]),
    "--scale nan": ({"exp.yaml": BASE}, RUN + ["--scale", "nan"], 2, ["--scale"]),
    "--scale 0": ({"exp.yaml": BASE}, RUN + ["--scale", "0"], 2, ["--scale"]),
    "--workers 0": ({"exp.yaml": BASE}, RUN + ["--workers", "0"], 2, ["--workers"]),
    "override nan": ({"exp.yaml": BASE + "overrides: {choice.wtp.trust.outpatient: .nan}\n"}, RUN, 2,
                     ["exp.yaml", "choice.wtp.trust.outpatient", "finite"]),
    "override inf ratio": ({"exp.yaml": BASE + "overrides: {insurance.schemes.resident.inpatient.township.ratio: .inf}\n"},
                           RUN, 2, ["insurance.schemes.resident.inpatient.township.ratio", "finite"]),
    "override size true": ({"exp.yaml": BASE + "overrides: {population.size: true}\n"}, RUN, 2,
                           ["population.size", "true/false"]),
    "override list of bools": ({"exp.yaml": BASE + "overrides: {illness.severity.outpatient: [true, 0, 0, 0]}\n"},
                               RUN, 2, ["illness.severity", "true/false"]),
    "county nan": ({"county.yaml": COUNTY + "choice.wtp.trust.outpatient: .nan\n",
                    "exp.yaml": BASE.replace(SMALL.as_posix(), "county.yaml")}, RUN, 2,
                   ["county.yaml", "choice.wtp.trust.outpatient", "finite"]),
    "county beds inf": ({"county.yaml": COUNTY + "townships.0.beds: .inf\n",
                         "exp.yaml": BASE.replace(SMALL.as_posix(), "county.yaml")}, RUN, 2,
                        ["townships.0.beds", "finite"]),
    "county warm-up 3 years": ({"county.yaml": COUNTY + "horizon.warmup_days: 1095\n",
                                "exp.yaml": BASE.replace(SMALL.as_posix(), "county.yaml").replace(
                                    ", warmup_days: 5", "")}, RUN, 2, ["warmup_days", "730"]),
    "experiment warm-up 1000 days": ({"exp.yaml": BASE.replace("warmup_days: 5", "warmup_days: 1000")}, RUN, 2,
                                     ["horizon.warmup_days", "730"]),
    "experiment start state": ({"exp.yaml": BASE.replace("warmup_days: 5", "warmup_days: 5, start_state: fast")},
                               RUN, 2, ["horizon.start_state", "warmup", "steady"]),
    "county start state": ({"county.yaml": COUNTY + "horizon.start_state: cold\n",
                            "exp.yaml": BASE.replace(SMALL.as_posix(), "county.yaml")}, RUN, 2,
                           ["county.yaml", "horizon.start_state", "steady"]),
    # dates
    "29 February 2023": ({"exp.yaml": BASE.replace("start: 2022-01-01", "start: 2023-02-29")}, RUN, 2,
                         ["horizon.start", "2023-02-29"]),
    "month 13": ({"exp.yaml": BASE.replace("end: 2022-01-31", "end: 2022-13-01")}, RUN, 2, ["horizon.end", "month"]),
    "policy start 30 February": ({"exp.yaml": _policy("{policy: reimbursement, start: 2022-02-30}")}, RUN, 2,
                                 ["scenarios.1.policies.0.start", "2022-02-30"]),
    # policies
    "ratio_change past 100%": ({"exp.yaml": _policy("{policy: reimbursement, start: 2022-01-01, params: "
                                                    "{inpatient: {township: {ratio_change: 0.5}}}}")}, RUN, 2,
                               ["ratio_change", "scheme 'resident'", "tier 'township'", "outside 0-100%"]),
    "ratio_change below 0": ({"exp.yaml": _policy("{policy: reimbursement, start: 2022-01-01, params: "
                                                  "{outpatient: {village: {ratio_change: -0.99}}}}")}, RUN, 2,
                             ["tier 'village'", "outside 0-100%"]),
    "policy param nan": ({"exp.yaml": _policy("{policy: reimbursement, start: 2022-01-01, params: "
                                              "{inpatient_annual_cap: .nan}}")}, RUN, 2,
                         ["params.inpatient_annual_cap", "finite"]),
    "policy param true": ({"exp.yaml": _policy("{policy: capacity_investment, start: 2022-01-01, params: "
                                               "{facility: town_a, beds: true}}")}, RUN, 2, ["true/false"]),
    # names
    "slash in name": ({"exp.yaml": BASE.replace("name: t", "name: a/b")}, RUN, 2, ["name", "slash"]),
    "empty name": ({"exp.yaml": BASE.replace("name: t", "name: ''")}, RUN, 2, ["name", "empty"]),
    "name ..": ({"exp.yaml": BASE.replace("name: t", "name: '..'")}, RUN, 2, ["'..'"]),
    "tab in scenario name": ({"exp.yaml": BASE + 'scenarios: [{name: "a\\tb"}]\n'}, RUN, 2,
                             ["scenarios.0.name", "control characters"]),
    "backslash in scenario name": ({"exp.yaml": BASE + 'scenarios: [{name: "a\\\\b"}]\n'}, RUN, 2, ["backslash"]),
    "name too long": ({"exp.yaml": BASE.replace("name: t", "name: " + "很" * 40)}, RUN, 2, ["too long"]),
    # files
    "GBK file": ({"exp.yaml": ("# 基线实验\n" + BASE).encode("gbk")}, RUN, 2, ["UTF-8", "GBK"]),
    "UTF-16 file": ({"exp.yaml": BASE.encode("utf-16")}, RUN, 2, ["UTF-16", "UTF-8"]),
    "alias bomb": ({"exp.yaml": _bomb(9)}, RUN, 2, ["aliases", "refused"]),
    "nested 100,000 deep": ({"exp.yaml": "a: " + "[" * 100000 + "]" * 100000 + "\n"}, RUN, 2, ["nested too deeply"]),
    "recursive alias": ({"exp.yaml": "a: &a [*a]\n"}, RUN, 2, ["own anchor"]),
    "county config to run": ({"exp.yaml": COUNTY}, RUN, 2, ["county config", "experiments/baseline.yaml"]),
    "missing file": ({}, RUN, 2, ["file not found"]),
    "folder for a file": ({"exp.yaml/x": ""}, RUN, 2, ["folder"]),
    "top-level list": ({"exp.yaml": "- a\n- b\n"}, RUN, 2, ["mapping"]),
    "malformed YAML": ({"exp.yaml": BASE + "overrides: {a: [\n"}, RUN, 2, ["malformed YAML", "line"]),
    "python tag": ({"exp.yaml": "!!python/object/apply:os.system ['echo hacked']\n"}, RUN, 2, ["malformed YAML"]),
    "huge value in a message": ({"exp.yaml": BASE + "overrides: {choice.wtp.trust.outpatient: [" + ", ".join(["0"] * 5000) + "]}\n"},
                                RUN, 2, ["choice.wtp.trust.outpatient", "characters)"]),
    "many errors": ({"exp.yaml": BASE + "overrides: {" + ", ".join(f"choice.x{i}: 1" for i in range(40)) + "}\n"},
                    RUN, 2, ["unknown key"]),
    "check on GBK": ({"exp.yaml": ("# 基线\n" + BASE).encode("gb18030")}, ["check", "{exp}"], 2, ["UTF-8"]),
    # the machine and results folders
    "--out is a file": ({"exp.yaml": BASE, "results": "not a folder"}, RUN, 3, ["Not a directory", "--out must be a folder"]),
    "population beyond memory": ({"exp.yaml": BASE.replace("scale: 0.05", "scale: 1")
                                  + "overrides: {population.size: 1000000000000}\n"}, RUN, 4,
                                 ["not enough memory", "available"]),
    "plot: no folder": ({}, ["plot", "{tmp}/nowhere"], 2, ["no such results folder"]),
    "plot: empty folder": ({"res/.keep": ""}, ["plot", "{tmp}/res"], 2, ["manifest.json is missing"]),
    "plot: no summary": ({"res/manifest.json": MANIFEST}, ["plot", "{tmp}/res"], 2, ["summary.csv is missing"]),
    "plot: corrupt manifest": ({"res/manifest.json": "{not json", "res/summary.csv": "a\n1\n"},
                               ["plot", "{tmp}/res"], 2, ["manifest.json is damaged"]),
    "plot: corrupt summary": ({"res/manifest.json": MANIFEST, "res/summary.csv": b"\x00\x01garbage\xff"},
                              ["plot", "{tmp}/res"], 2, ["summary.csv is damaged"]),
    "plot: corrupt timeseries": ({"res/manifest.json": MANIFEST,
                                  "res/summary.csv": "scenario,period,indicator,mean\nb,all,x,1\n",
                                  "res/timeseries.parquet": b"PAR1 not really"},
                                 ["plot", "{tmp}/res"], 2, ["timeseries.parquet is damaged"]),
}


def _write(tmp: Path, files: dict) -> None:
    for name, content in files.items():
        f = tmp / name
        f.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            f.write_bytes(content)
        else:
            f.write_text(content, encoding="utf-8")


def _snapshot(tmp: Path) -> set[str]:
    return {str(p.relative_to(tmp)) for p in tmp.rglob("*")}


def test_there_are_at_least_40_bad_inputs():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_message_its_exit_code_nothing_written(case, tmp_path, capsys):
    files, argv, code, words = CASES[case]
    _write(tmp_path, files)
    before = _snapshot(tmp_path)
    args = [a.format(exp=tmp_path / "exp.yaml", out=tmp_path / "results", tmp=tmp_path) for a in argv]
    assert main(args) == code
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    assert len(err.splitlines()) <= MAX_MESSAGE_LINES + 1 and len(err) < 4000
    assert _snapshot(tmp_path) == before, "something was written"
    assert not captured.out


def test_alias_bomb_of_a_billion_values_is_refused_before_expanding(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(_bomb(10), encoding="utf-8")         # 10**10 values if expanded
    assert main(["check", str(exp)]) == 2
    assert "expand to more than" in capsys.readouterr().err


def test_modest_anchors_and_aliases_are_fine(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE + "scenarios:\n  - &b {name: baseline}\n  - name: y\n    overrides: &o {choice.wtp.trust.outpatient: 1.0}\n"
                   "  - name: z\n    overrides: *o\n", encoding="utf-8")
    assert main(["check", str(exp)]) == 0
    assert "3 scenario(s)" in capsys.readouterr().out


def test_utf8_with_byte_order_mark_is_read(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_bytes(("# 基线\n" + BASE).encode("utf-8-sig"))
    assert main(["check", str(exp)]) == 0


def test_check_accepts_the_seed_and_validate_checks_the_config_first(capsys):
    seed = str(ROOT / "configs" / "seed_county.yaml")
    assert main(["check", seed]) == 0
    assert capsys.readouterr().out.count("valid county config") == 1
    assert main(["validate", str(ROOT / "experiments" / "baseline.yaml")]) == 2      # an experiment, not a county


# ---------------------------------------------------------------- warnings
NEVER = _policy("{policy: reimbursement, start: 2023-01-01, params: {inpatient: {township: {ratio: 0.95}}}}")
EXPECTED = "warning: policy 'reimbursement' of scenario 'x' never takes effect between 2022-01-01 and 2022-01-31"


def test_policy_outside_the_horizon_is_warned_in_check_and_run(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(NEVER, encoding="utf-8")
    assert main(["check", str(exp)]) == 0
    assert EXPECTED in capsys.readouterr().err
    assert main(["run", str(exp), "--out", str(tmp_path / "r"), "--workers", "1", "--quiet"]) == 0
    assert EXPECTED in capsys.readouterr().err
    manifest = json.loads(next((tmp_path / "r" / "t").glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert any("never takes effect" in w for w in manifest["warnings"])


def test_policy_inside_the_horizon_is_not_warned(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(NEVER.replace("2023-01-01", "2022-01-15"), encoding="utf-8")
    assert main(["check", str(exp)]) == 0
    assert "never takes effect" not in capsys.readouterr().err


def test_short_horizon_is_labelled_in_table_and_manifest(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE, encoding="utf-8")
    assert main(["run", str(exp), "--out", str(tmp_path / "r"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "indicator (per year, annualised from 31 days)" in out
    manifest = json.loads(next((tmp_path / "r" / "t").glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert manifest["periods_note"] == "2022 annualised from 31 days"


def test_whole_year_is_not_labelled():
    from sim.experiment import plan_experiment
    plan = plan_experiment(ROOT / "experiments" / "baseline.yaml")
    assert plan.horizon_note() is None and plan.short_periods() == {}


def test_more_workers_than_cores_and_long_runs_say_what_they_cost(tmp_path, capsys):
    from sim.experiment import plan_experiment
    from sim.resources import check_cost, cores
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE, encoding="utf-8")
    assert main(["run", str(exp), "--out", str(tmp_path / "r"), "--workers", str(cores() + 3), "--quiet"]) == 0
    assert f"{cores() + 3} workers on {cores()} cores" in capsys.readouterr().err
    big = plan_experiment(ROOT / "experiments" / "baseline.yaml", replications=2000)
    small = plan_experiment(ROOT / "experiments" / "baseline.yaml", replications=1, scale=0.01)
    assert any("expect about" in w for w in check_cost(big, 1))
    assert not any("expect about" in w for w in check_cost(small, 1))


def test_memory_estimate_grows_with_residents_and_workers():
    from sim.experiment import plan_experiment
    from sim.resources import estimate
    plan = plan_experiment(ROOT / "experiments" / "baseline.yaml", replications=4)
    one, two = estimate(plan, 1), estimate(plan, 2)
    tenth = estimate(plan_experiment(ROOT / "experiments" / "baseline.yaml", replications=4, scale=0.1), 1)
    assert two.memory_needed > one.memory_needed > tenth.memory_needed
    assert 10 * tenth.bytes_per_run == pytest.approx(one.bytes_per_run, rel=0.01)


# ---------------------------------------------------------------- who is blamed
def test_broken_constraint_names_the_experiment_and_the_key_written(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE + "scenarios:\n  - name: baseline\n  - name: older\n"
                   "    overrides: {population.age_bands.0.share: 0.9}\n", encoding="utf-8")
    assert main(["check", str(exp)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {exp}: population.age_bands: shares must sum to 1"), err
    assert "population.age_bands.0.share" in err and "small_county" not in err


def test_constraint_the_analyst_did_not_touch_names_the_config(tmp_path, capsys):
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY + "population.age_bands.0.share: 0.9\n", encoding="utf-8")
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE.replace(SMALL.as_posix(), "county.yaml") + "overrides: {choice.wtp.trust.outpatient: 1.0}\n",
                   encoding="utf-8")
    assert main(["check", str(exp)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {county}: population.age_bands: shares must sum to 1")


# ---------------------------------------------------------------- names and permissions
def test_chinese_names_round_trip_into_folders_and_tables(tmp_path, capsys):
    exp = tmp_path / "改革.yaml"
    exp.write_text(BASE.replace("name: t", "name: 医共体改革") + "replications: 2\nscenarios:\n  - name: 基线\n"
                   "  - name: 提高乡镇报销\n    overrides: {insurance.schemes.resident.inpatient.township.ratio: 0.95}\n",
                   encoding="utf-8")
    assert main(["run", str(exp), "--out", str(tmp_path / "结果"), "--workers", "1", "--quiet"]) == 0
    folder = next((tmp_path / "结果" / "医共体改革").iterdir())
    assert {p.name for p in (folder / "runs").iterdir()} >= {"基线__r000.indicators.parquet",
                                                              "提高乡镇报销__r001.timeseries.parquet"}
    summary = pd.read_csv(folder / "summary.csv")
    assert set(summary["scenario"]) == {"基线", "提高乡镇报销"}
    assert set(pd.read_parquet(folder / "indicators.parquet")["scenario"]) == {"基线", "提高乡镇报销"}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["experiment"] == "医共体改革" and manifest["baseline_scenario"] == "基线"


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_results_are_readable_like_any_new_file(umask, tmp_path):
    old = os.umask(umask)
    try:
        exp = tmp_path / "exp.yaml"
        exp.write_text(BASE, encoding="utf-8")
        assert main(["run", str(exp), "--out", str(tmp_path / "r"), "--workers", "1", "--quiet"]) == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
    assert len(files) >= 6
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


# ---------------------------------------------------------------- machine faults (tmpfs, as root)
@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tiny tmpfs; yields a function (size, read_only) -> mount point. Skipped unless root."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def make(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(point)
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_read_only_out_exits_3_and_writes_nothing(tmpfs, tmp_path, capsys):
    point = tmpfs("64k", read_only=True)
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE, encoding="utf-8")
    assert main(["run", str(exp), "--out", str(point / "results"), "--workers", "1", "--quiet"]) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "Read-only file system" in err and "--out" in err
    assert "Traceback" not in err and not list(point.iterdir())


def test_full_disk_exits_3_leaves_no_temporary_file_and_the_manifest_says_so(tmpfs, tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(BASE.replace("end: 2022-01-31", "end: 2022-12-31"), encoding="utf-8")
    # the same run on a roomy disk, to size the disk that will fill up
    assert main(["run", str(exp), "--out", str(tmp_path / "ok"), "--workers", "1", "--quiet"]) == 0
    done = next((tmp_path / "ok" / "t").iterdir())
    manifest_size = (done / "manifest.json").stat().st_size
    table_size = max(p.stat().st_size for p in (done / "runs").iterdir())
    page = 4096
    manifest_pages = -(-manifest_size // page) * page
    if table_size < manifest_pages + 2 * page:
        pytest.skip("the run's tables are too small to fill the disk after the manifest")
    point = tmpfs("1m")
    free = shutil.disk_usage(point).free
    # room for the manifest twice (written, then rewritten to record the failure), not for a run's table
    room = 2 * manifest_pages + (table_size - manifest_pages) // (2 * page) * page
    (point / "filler").write_bytes(b"\0" * (free - room))
    capsys.readouterr()
    code = main(["run", str(exp), "--out", str(point / "results"), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_ENVIRONMENT, err
    assert "No space left on device" in err and "disk is full" in err and "Traceback" not in err
    assert not [p for p in point.rglob("*") if p.name.endswith(".tmp")]
    manifest = json.loads(next(point.rglob("manifest.json")).read_text(encoding="utf-8"))
    assert manifest["status"] == "failed" and "disk is full" in manifest["error"]
    assert not list(point.rglob("summary.csv"))
    (point / "filler").unlink()                          # space again: --resume finishes the run
    assert main(["run", str(exp), "--out", str(point / "results"), "--workers", "1", "--quiet", "--resume"]) == 0
    assert json.loads(next(point.rglob("manifest.json")).read_text(encoding="utf-8"))["status"] == "complete"


def test_exit_codes_are_distinct():
    assert len({EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_MEMORY, 130, 0}) == 5


def test_the_memory_estimate_tracks_a_real_runs_peak():
    """The estimate that can refuse a run (NotEnoughMemory) is within a quarter of what a run really holds,
    at a tenth and at a half of the seed county (the old constants overstated a large county ninefold)."""
    import subprocess
    import sys

    from sim.experiment import plan_experiment
    from sim.resources import estimate
    seed = str(ROOT / "configs" / "seed_county.yaml")
    if not Path("/proc/self/status").is_file():
        pytest.skip("reads the high-water mark in /proc/self/status")
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size (Linux keeps the larger at exec)
    probe = ("import sys; from sim.config import load_config; from sim.model import GradedCareModel; "
             "m = GradedCareModel(load_config(sys.argv[1]), seed=1, scale=float(sys.argv[2]), patient_agents=False); "
             "[m.step() for _ in range(40)]; "
             "print(next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    def peak(scale: float) -> int:
        done = subprocess.run([sys.executable, "-c", probe, seed, str(scale)], capture_output=True, text=True,
                              check=True)
        return int(done.stdout.split()[-1])

    peak(0.01)      # on a fresh install this process compiles the kernels (once; LLVM's memory is not a run's)
    for scale in (0.1, 0.5):
        cost = estimate(plan_experiment({"name": "m", "config": seed, "replications": 1}, scale=scale), 1)
        held = peak(scale)
        assert 0.75 * held <= cost.memory_needed <= 1.25 * held, (scale, cost.memory_needed, held)


def test_too_many_workers_for_memory_suggests_fewer():
    from sim.experiment import plan_experiment
    from sim.resources import NotEnoughMemory, available_memory, check_cost, estimate
    avail = available_memory()
    if avail is None:
        pytest.skip("available memory is unknown on this system")
    seed = str(ROOT / "configs" / "seed_county.yaml")
    probe = estimate(plan_experiment({"name": "m", "config": seed, "replications": 4}), 1)
    size = int(286_000 * avail / 2.5 / probe.bytes_per_run)     # one run takes 40% of the free memory
    plan = plan_experiment({"name": "m", "config": seed, "replications": 4, "overrides": {"population.size": size}})
    with pytest.raises(NotEnoughMemory, match="use --workers 2"):
        check_cost(plan, 4)
