"""The lever panel and the save button (Solara components).

A lever changed restarts the model at the first day of the horizon with the new values: the
model is rebuilt by DashboardModel (the command line's path) and put in the reactive model that
Mesa's SolaraViz shows. The same `levers` mapping is what SolaraViz's Reset rebuilds with.
"""
from __future__ import annotations

import solara

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
    """One control per lever; a change rebuilds the model (an invalid set is refused, with the reason)."""
    error = solara.use_reactive(None)
    lang = setup.lang

    def change(key: str, value) -> None:
        new = {**levers, key: value}
        try:
            rebuilt = DashboardModel(setup, new)
        except (ConfigError, ValueError) as exc:
            error.value = text("dash_lever_error", lang, error=exc)
            return
        levers.clear()
        levers.update(new)
        error.value = None
        model.value = rebuilt

    with solara.Card(text("dash_levers", lang), classes=["gradsim-levers"]):
        for lever in levers_for(setup.config):
            label = lever_label(lever.key, lang)
            on_value = (lambda v, key=lever.key: change(key, v))
            with solara.Div(classes=[f"lever-{lever.key}"]):
                if lever.kind == "bool":
                    solara.Checkbox(label=label, value=bool(levers[lever.key]), on_value=on_value)
                    continue
                solara.Text(f"{label}: {value_text(lever, levers[lever.key])}", style={"font-size": "0.85em"})
                if lever.kind == "int":
                    solara.SliderInt("", value=int(levers[lever.key]), min=int(lever.low), max=int(lever.high),
                                     step=int(lever.step), on_value=on_value, thumb_label=True)
                else:
                    solara.SliderFloat("", value=float(levers[lever.key]), min=lever.low, max=lever.high,
                                       step=lever.step, on_value=on_value, thumb_label=True)
        specs = model.value.lever_specs
        names = ", ".join(dict.fromkeys(p["policy"] for p in specs)) or text("dash_no_change", lang)
        solara.Text(names, classes=["gradsim-policies"])
        if error.value:
            solara.Error(error.value, classes=["gradsim-lever-error"])


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
