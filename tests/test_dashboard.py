"""The dashboard: levers are the registered policies, the model is the command line's, the saved
experiment is one `gradsim run` accepts, and in a real browser Step/▶ move the charts and a lever
restarts the model (headless Chromium from the system; skipped, with what to install, without it)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT

from sim.config import ConfigError
from sim.dashboard import charts
from sim.dashboard.levers import default_levers, lever_policies, levers_for
from sim.dashboard.map import VILLAGE_MEASURES, facility_load, village_measure
from sim.dashboard.model import DashboardModel, Setup
from sim.dashboard.save import save_experiment
from sim.experiment import iter_tasks, plan_experiment, run_inputs
from sim.labels import LANGS, LEVER_LABELS
from sim.model import GradedCareModel

EXPERIMENT = str(ROOT / "experiments" / "baseline.yaml")
SCALE = 0.03
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    return Setup.from_source(EXPERIMENT, scale=SCALE, save_dir=str(tmp_path_factory.mktemp("saved")))


def every_lever_on(setup: Setup) -> dict:
    return {**setup.defaults(), "ratio_township": 5, "ratio_county": -5, "unfiled_penalty": 20,
            "physicians_sent_down": 7, "contract_rate": 70, "capitation": True, "capability_gain": 0.4,
            "branch_campus": True}


def test_levers_at_their_defaults_are_the_baseline_and_every_lever_is_a_valid_policy(setup):
    cfg = setup.config
    assert lever_policies(default_levers(cfg), cfg, cfg.horizon.start) == []
    specs = lever_policies(every_lever_on(setup), cfg, cfg.horizon.start)
    assert {p["policy"] for p in specs} == {"reimbursement", "send_down_physicians", "family_doctor_contracting",
                                           "chronic_capitation", "county_hospital_capability", "branch_campus"}
    moves = next(p for p in specs if p["policy"] == "send_down_physicians")["params"]["moves"]
    assert sum(m["physicians"] for m in moves) == 7 and len({m["to"] for m in moves}) == len(moves)
    plan = setup.plan(every_lever_on(setup))             # the command line's validation accepts them all
    assert [p["policy"] for p in plan.scenarios[-1].policies] == [p["policy"] for p in specs]
    with pytest.raises(ValueError, match="unknown lever"):
        lever_policies({"no_such_lever": 1}, cfg, cfg.horizon.start)


def test_ratio_ranges_stay_valid_for_every_insurance_scheme(setup):
    cfg = setup.config
    for lever in levers_for(cfg):
        if lever.key.startswith("ratio_"):
            for end in (lever.low, lever.high):      # both ends of the slider pass the policy's own check
                setup.plan({**setup.defaults(), lever.key: end})


def test_every_lever_has_a_label_in_every_language(setup):
    for lever in levers_for(setup.config):
        assert all(LEVER_LABELS[lever.key][lang] for lang in LANGS)


def test_the_dashboard_model_is_the_command_lines_model_of_the_saved_experiment(setup, tmp_path):
    levers = {**setup.defaults(), "physicians_sent_down": 4, "capitation": True}
    dash = DashboardModel(setup, levers)
    assert isinstance(dash, GradedCareModel) and dash.date == dash.config.horizon.start and dash.steps == 0
    for _ in range(10):
        dash.step()
    path = save_experiment(setup, levers, tmp_path)
    plan = plan_experiment(path, replications=1, scale=SCALE, uncertainty=False)
    task = next(t for t in iter_tasks(plan, tmp_path) if t["scenario"] == "dashboard")
    cfg, policies, _ = run_inputs(task)
    cli = GradedCareModel(cfg, seed=task["seed"], scale=SCALE, policies=policies, patient_agents=False)
    for _ in range(cli.warmup_days + 10):
        cli.step()
    for key in ("served", "rejected", "bed_days", "fund"):
        assert np.array_equal(dash.records[key], cli.records[key]), key
    assert {type(a).__name__ for a in dash.agents} <= {"Facility", "MedicalCommunity"}    # no Patient agents


def test_a_lever_changes_the_model_from_the_first_day_of_the_horizon(setup):
    base = DashboardModel(setup, setup.defaults())
    sent = DashboardModel(setup, {**setup.defaults(), "physicians_sent_down": 5})
    lead = base.facilities.index("county_people")
    assert base.facilities.physicians[lead] == sent.facilities.physicians[lead]     # not yet: warm-up only
    base.step(), sent.step()
    assert sent.facilities.physicians[lead] == base.facilities.physicians[lead] - 5
    campus = DashboardModel(setup, {**setup.defaults(), "branch_campus": True})
    assert len(campus.facilities) == len(base.facilities) + 1


def test_weekly_charts_and_map_measures(setup):
    model = DashboardModel(setup, setup.defaults())
    assert charts.weekly_indicators(model).empty
    for _ in range(15):
        model.step()
    weeks = charts.weekly_indicators(model)
    assert len(weeks) == 2 and (weeks.index[1] - weeks.index[0]).days == 7
    shares = weeks[[f"outpatient_share_{t}" for t in model.tier_names]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    for _ in range(7):
        model.step()
    later = charts.weekly_indicators(model)
    assert len(later) == 3 and later.iloc[:2].equals(weeks)          # finished weeks do not change
    for key in charts.RATE_KEYS:
        assert ((weeks[key] >= 0) & (weeks[key] <= 1)).all()
    load = facility_load(model)
    d = model.day - 1
    assert np.allclose(load, model.records["served"][d, :, 0] / model.scale + model.records["bed_days"][d, :, 1])
    for measure in VILLAGE_MEASURES:
        v = village_measure(model, measure)
        assert v.shape == (model.county.village_position.shape[0],)
        assert np.nanmin(v) >= 0 and np.nanmax(v) <= 1 and np.isfinite(v).sum() > 0
    png = charts.charts_png(weeks, model.tier_names, charts.bed_tiers(model), "zh")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_saved_experiment_runs_through_the_command_line(setup, tmp_path):
    from sim.cli import main
    path = save_experiment(setup, every_lever_on(setup), tmp_path / "out")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [s["name"] for s in raw["scenarios"]] == ["baseline", "dashboard"]
    assert not Path(raw["config"]).is_absolute()
    assert main(["check", str(path)]) == 0
    again = save_experiment(setup, setup.defaults(), tmp_path / "out")
    assert again != path and yaml.safe_load(again.read_text())["scenarios"][1].get("policies") == []


def test_a_bad_source_is_refused_before_anything_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconfig: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not found"):
        Setup.from_source(str(bad))
    pytest.importorskip("solara", reason="the dashboard extra is not installed: pip install -e \".[dashboard]\"")
    from sim.cli import main
    assert main(["dashboard", str(bad), "--no-browser"]) == 2


def test_a_port_in_use_is_refused(capsys):
    pytest.importorskip("solara", reason="the dashboard extra is not installed: pip install -e \".[dashboard]\"")
    import socket
    from sim.cli import main
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", EXPERIMENT, "--port", str(port), "--no-browser"]) == 2
    assert f"port {port} is already in use" in capsys.readouterr().err


def test_without_the_dashboard_packages_the_command_says_what_to_install(monkeypatch, capsys):
    from sim.cli import main
    monkeypatch.setitem(sys.modules, "solara", None)          # import solara -> ImportError
    monkeypatch.delitem(sys.modules, "sim.dashboard.app", raising=False)
    assert main(["dashboard", "--no-browser"]) == 2
    assert 'pip install -e ".[dashboard]"' in capsys.readouterr().err


# ---------------------------------------------------------------- in a real browser
def _browser_or_skip():
    missing = []
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        missing.append("Chromium (Debian: apt-get install chromium)")
    for module, what in (("playwright", "playwright"), ("solara", "solara"), ("solara_assets", "solara-assets")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{what} (pip install -e \".[test,dashboard]\")")
    if missing:
        pytest.skip("browser tests need " + ", ".join(missing))
    return Path(CHROMIUM) if Path(CHROMIUM).exists() else Path(shutil.which("chromium"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium = _browser_or_skip()
    from sim.dashboard.app import free_port
    folder = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", EXPERIMENT, "--port", str(port),
                             "--scale", str(SCALE), "--save-dir", str(folder), "--no-browser"],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"the dashboard server stopped: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the dashboard server did not answer within 5 minutes")
        yield url, folder, chromium
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def _wait_text(page, selector: str, predicate, timeout_s: float = 180) -> str:
    """Poll an element's text until predicate(text) holds (the machine may be slow: generous time)."""
    end = time.time() + timeout_s
    text = ""
    while time.time() < end:
        el = page.query_selector(selector)
        text = el.inner_text().strip() if el else ""
        if predicate(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"{selector}: text still {text!r} after {timeout_s:.0f} s")


def test_in_a_browser_step_and_play_move_the_charts_a_lever_restarts_and_the_save_validates(server):
    from playwright.sync_api import sync_playwright
    url, folder, chromium = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=180_000)
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-01"))
            assert "0.03" in _text(page, ".gradsim-scale") or "3%" in _text(page, ".gradsim-scale")
            assert page.query_selector(".gradsim-chart-image img, img.gradsim-chart-image") is None

            page.get_by_role("button", name="Step").click()
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-08"))
            _wait_text(page, ".gradsim-week", lambda t: t.endswith("2022-01-01"))
            first = _chart_src(page)
            before = page.locator(".gradsim-map img").get_attribute("src")
            page.locator(".measure-out_of_county_admission_rate").click()      # villages by the other measure
            _wait_until(lambda: page.locator(".gradsim-map img").get_attribute("src") != before)
            page.get_by_role("button", name="Step").click()
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-15"))
            _wait_text(page, ".gradsim-week", lambda t: t.endswith("2022-01-08"))
            assert _chart_src(page) != first, "the charts did not change after a week"

            page.get_by_role("button", name="▶").click()
            _wait_text(page, ".gradsim-date", lambda t: t[-10:] >= "2022-01-29")
            page.get_by_role("button", name="❚❚").click()
            played = _chart_src(page)
            assert played != first

            page.locator(".lever-capitation label").click()
            _wait_text(page, ".gradsim-policies", lambda t: "chronic_capitation" in t)
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-01"))     # restarted
            _wait_text(page, ".gradsim-week", lambda t: "Step" in t)                   # no week yet
            page.get_by_role("button", name="Step").click()
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-08"))

            thumb = page.locator(".lever-physicians_sent_down [role=slider]")       # the keyboard moves a slider
            thumb.focus()
            for _ in range(4):
                thumb.press("ArrowRight")
            _wait_text(page, ".lever-physicians_sent_down", lambda t: t.splitlines()[0].endswith(": 4"))
            _wait_text(page, ".gradsim-policies", lambda t: "send_down_physicians" in t and "chronic_capitation" in t)
            _wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-01"))

            page.get_by_role("button", name="Save as experiment").click()
            saved = _wait_text(page, ".gradsim-saved", lambda t: t.startswith("saved: "))
            path = Path(saved.split("saved: ", 1)[1].split(" (run it", 1)[0])
            assert path.parent == folder and path.is_file()
            plan = plan_experiment(path)
            policies = plan.scenarios[-1].policies
            assert [p["policy"] for p in policies] == ["send_down_physicians", "chronic_capitation"]
            assert sum(m["physicians"] for m in policies[0]["params"]["moves"]) == 4
        finally:
            browser.close()


def _wait_until(condition, timeout_s: float = 120) -> None:
    end = time.time() + timeout_s
    while not condition():
        if time.time() > end:
            raise AssertionError("the page did not change")
        time.sleep(0.25)


def _chart_src(page) -> str:
    img = page.query_selector(".gradsim-chart-image img") or page.query_selector("img.gradsim-chart-image")
    assert img is not None, "no chart image on the page"
    return img.get_attribute("src") or ""
