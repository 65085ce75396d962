"""Refresh docs/figures/dashboard.png: start `gradsim dashboard`, pull two levers, run ten weeks in
headless Chromium (the system's, as the tests use), take a screenshot.

    .venv/bin/python scripts/dashboard_screenshot.py [--lang zh] [--out docs/figures/dashboard.png]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from sim.dashboard.app import free_port  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def wait_text(page, selector: str, predicate, timeout_s: float = 300) -> str:
    end = time.time() + timeout_s
    while time.time() < end:
        el = page.query_selector(selector)
        if el and predicate(el.inner_text().strip()):
            return el.inner_text().strip()
        time.sleep(0.25)
    raise SystemExit(f"{selector} never showed the expected text")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="en", choices=["en", "zh"])
    ap.add_argument("--out", default=str(ROOT / "docs" / "figures" / "dashboard.png"))
    ap.add_argument("--weeks", type=int, default=10)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sim", "dashboard", "experiments/medical_community_reform.yaml",
                               "--port", str(port), "--scale", "0.05", "--lang", args.lang, "--save-dir", "/tmp",
                               "--no-browser"], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1050})
            page.goto(url, timeout=180_000)
            wait_text(page, ".gradsim-date", lambda t: t.endswith("2022-01-01"))
            for lever in ("capitation", "branch_campus"):
                page.locator(f".lever-{lever} label").click()
                wait_text(page, ".gradsim-policies", lambda t, lever=lever: lever.split("_")[-1] in t)
            step = page.locator("button", has_text="Step")
            for _ in range(args.weeks):
                before = page.inner_text(".gradsim-date")
                step.click()
                wait_text(page, ".gradsim-date", lambda t, before=before: t != before.strip())
            time.sleep(2)
            page.locator(".v-navigation-drawer__content").first.evaluate("e => e.scrollTo(0, 0)")
            time.sleep(0.5)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
