"""The lever panel and the save button (Solara components).

A lever changed restarts the model at the first day of the horizon with the new values: the
model is rebuilt by DashboardModel (the command line's path) and put in the reactive model that
Mesa's SolaraViz shows. The same `levers` mapping is what SolaraViz's Reset rebuilds with.
"""
from __future__ import annotations

import json

import solara
import solara.lab

from ..config import ConfigError
from ..labels import lever_label, text
from .levers import Lever, levers_for
from .model import DashboardModel, Setup
from .save import save_experiment


def value_text(lever: Lever, value) -> str:
    """The lever's value as the analyst reads it (ratio changes signed, rates in percent)."""
    if lever.key.startswith("ratio_"):
        return f"{int(value):+d}"
    if lever.key == "contract_rate":
        return f"{int(value)}%"
    return f"{value:g}"


@solara.component
def LeverPanel(model: solara.Reactive, levers: dict, setup: Setup) -> None:
    """One control per lever. The values on screen are rebuilt into a model in the background, the
    latest values only (a slider dragged across ten values restarts the model once, not ten times);
    a set the policies refuse is not applied, and the panel says why."""
    lang = setup.lang
    wanted = solara.use_reactive(dict(levers))

    def rebuild() -> None:
        values = dict(wanted.value)
        if values == levers and model.value.levers == values:
            return
        rebuilt = DashboardModel(setup, values)
        if wanted.value != values:           # superseded while building
            return
        levers.clear()
        levers.update(values)
        model.value = rebuilt

    task = solara.lab.use_task(rebuild, dependencies=[json.dumps(wanted.value, sort_keys=True)], raise_error=False)

    def change(key: str, value) -> None:
        wanted.value = {**wanted.value, key: value}

    with solara.Card(text("dash_levers", lang), classes=["gradsim-levers"]):
        for lever in levers_for(setup.config):
            label = lever_label(lever.key, lang)
            value = wanted.value[lever.key]
            on_value = (lambda v, key=lever.key: change(key, v))
            with solara.Div(classes=[f"lever-{lever.key}"]):
                if lever.kind == "bool":
                    solara.Checkbox(label=label, value=bool(value), on_value=on_value)
                    continue
                solara.Text(f"{label}: {value_text(lever, value)}", style={"font-size": "0.85em"})
                if lever.kind == "int":
                    solara.SliderInt("", value=int(value), min=int(lever.low), max=int(lever.high),
                                     step=int(lever.step), on_value=on_value, thumb_label=True)
                else:
                    solara.SliderFloat("", value=float(value), min=lever.low, max=lever.high,
                                       step=lever.step, on_value=on_value, thumb_label=True)
        specs = model.value.lever_specs
        names = ", ".join(dict.fromkeys(p["policy"] for p in specs)) or text("dash_no_change", lang)
        solara.Text(names, classes=["gradsim-policies"])
        if task.pending:
            solara.Text(text("dash_restarting", lang), classes=["gradsim-restarting"])
        elif task.error:
            solara.Error(text("dash_lever_error", lang, error=task.exception), classes=["gradsim-lever-error"])


@solara.component
def SavePanel(levers: dict, setup: Setup) -> None:
    """A button that writes the levers as an experiment YAML, and the path written."""
    message = solara.use_reactive("")
    lang = setup.lang

    def save() -> None:
        try:
            path = save_experiment(setup, levers)
        except (ConfigError, OSError, ValueError) as exc:
            message.value = text("dash_save_failed", lang, error=exc)
            return
        message.value = text("dash_saved", lang, path=path.resolve())

    with solara.Card(classes=["gradsim-save"]):
        solara.Button(text("dash_save", lang), on_click=save, color="primary", classes=["gradsim-save-button"])
        if message.value:
            solara.Text(message.value, classes=["gradsim-saved"])
