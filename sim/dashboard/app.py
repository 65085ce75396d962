"""The dashboard page (Mesa's SolaraViz around a DashboardModel) and the server that shows it.

`gradsim dashboard` runs `serve`, which starts Solara's server on this module; each browser tab
gets its own model. Mesa's SolaraViz gives Step (one simulated week: its render interval is 7
days), ▶/❚❚ and Reset; this module adds the county map, the weekly charts, the lever panel and the
save button. Everything is drawn on the server (PNG), and the page's scripts come from the
solara-assets package, so nothing is fetched from the internet.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

ENV = "GRADSIM_DASHBOARD"          # JSON of the Setup the server was started with


def _offline_environment() -> None:
    """Solara's settings for a machine without internet: no telemetry."""
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")


_offline_environment()

import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402

from ..config import ConfigError  # noqa: E402
from ..labels import indicator_label, text  # noqa: E402
from . import charts  # noqa: E402
from .controls import LeverPanel, SavePanel  # noqa: E402
from .map import VILLAGE_MEASURES, map_png  # noqa: E402
from .model import DashboardModel, Setup  # noqa: E402
from .style import figure_lang  # noqa: E402

_SETUP: Setup | None = None


def setup_from_env() -> Setup:
    """The Setup `serve` put in the environment (read once per server process)."""
    global _SETUP
    if _SETUP is None:
        raw = json.loads(os.environ.get(ENV) or "{}")
        _SETUP = Setup.from_source(raw.get("source", "configs/seed_county.yaml"), raw.get("scale", 0.1),
                                   raw.get("lang", "en"), raw.get("save_dir", "."))
    return _SETUP


def scale_text(model: DashboardModel, lang: str) -> str:
    """How many residents are simulated, of how many (shown on screen)."""
    total = model.config.population.size
    return text("dash_scale", lang, n=len(model.population), pct=round(100 * model.scale, 3), total=total)


def status_text(model: DashboardModel, lang: str) -> str:
    return f"{text('dash_date', lang)}: {model.date:%Y-%m-%d}"


def make_map(measure: solara.Reactive, lang: str, fig_lang: str):
    """The map component: status line, village measure choice, the map."""
    def MapView(model: DashboardModel):
        with solara.Column(classes=["gradsim-map"]) as view:
            solara.Text(status_text(model, lang), classes=["gradsim-date"], style={"font-weight": "bold"})
            solara.Text(scale_text(model, lang), classes=["gradsim-scale"], style={"font-size": "0.85em"})
            with solara.Row():
                solara.Text(text("dash_map_villages", lang), style={"font-size": "0.85em"})
                for key in VILLAGE_MEASURES:
                    solara.Button(indicator_label(key, lang), on_click=lambda key=key: measure.set(key), small=True,
                                  outlined=key != measure.value, color="primary", classes=[f"measure-{key}"])
            solara.Image(map_png(model, measure.value, fig_lang), format="png", width="100%")
        return view
    return MapView


def make_charts(lang: str, fig_lang: str):
    """The weekly charts component (a note until the first week is done)."""
    def ChartsView(model: DashboardModel):
        weeks = charts.weekly_indicators(model)
        with solara.Column(classes=["gradsim-charts"]) as view:
            solara.Text(f"{text('dash_week', lang)}: {weeks.index[-1]:%Y-%m-%d}" if len(weeks)
                        else text("dash_no_week", lang), classes=["gradsim-week"])
            if len(weeks):
                solara.Image(charts.charts_png(weeks, model.tier_names, charts.bed_tiers(model), fig_lang), format="png",
                             width="100%", classes=["gradsim-chart-image"])
        return view
    return ChartsView


@solara.component
def Page():
    """One browser tab: its own levers and model."""
    setup = solara.use_memo(setup_from_env, [])
    levers = solara.use_memo(setup.defaults, [])          # this tab's levers (mutated by LeverPanel)
    first = solara.use_memo(lambda: DashboardModel(setup, levers), [])
    model = solara.use_reactive(first)
    measure = solara.use_reactive(VILLAGE_MEASURES[0])
    lang = setup.lang
    fig_lang = solara.use_memo(lambda: figure_lang(lang), [])    # English figures if no CJK font
    SolaraViz(model, components=[(make_map(measure, lang, fig_lang), 0), (make_charts(lang, fig_lang), 0)],
              model_params={"setup": setup, "levers": levers}, name=text("dash_title", lang),
              play_interval=150, render_interval=charts.WEEK)
    with solara.Sidebar():
        LeverPanel(model, levers, setup)
        SavePanel(levers, setup)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(source: str, port: int = 8765, scale: float = 0.1, lang: str = "en", save_dir: str = ".",
          host: str = "127.0.0.1", open_browser: bool = True) -> None:
    """Check the county, then run Solara's server on this module until interrupted."""
    setup = Setup.from_source(source, scale, lang, save_dir)
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            raise ConfigError(f"port {port} is already in use on {host}: choose another with --port", None,
                              "--port") from None
    os.environ[ENV] = json.dumps({"source": str(Path(setup.source).resolve()), "scale": setup.scale,
                                  "lang": setup.lang, "save_dir": str(Path(setup.save_dir).resolve())})
    from solara.__main__ import run
    args = [__name__, "--host", host, "--port", str(port), "--production",
            "--open" if open_browser else "--no-open", "--no-check-version"]
    run.main(args=args, standalone_mode=False)
