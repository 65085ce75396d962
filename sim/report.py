"""report.md and report.html of a results folder: what was run, a plain-language summary of the
headline changes with their intervals, the summary table, every figure with its caption, caveats.

The HTML is self-contained (images embedded as base64) so it opens offline and can be mailed.
Both are made from one list of blocks, so they always say the same.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ConfigError
from .figures import Figure, make_figures
from .figures.data import Results
from .labels import HEADLINE_INDICATORS, INDICATOR_GROUPS, indicator_label, indicator_unit, text, unit_label
from .results import atomic_write_text

TABLE_INDICATORS = INDICATOR_GROUPS["where"][2] + INDICATOR_GROUPS["money"][2][:3] + INDICATOR_GROUPS["capacity"][2][:2]


def _num(value: float, indicator: str, signed: bool) -> str:
    """A level or change as read: shares in % (changes in points), yuan and counts without decimals."""
    if not np.isfinite(value):
        return "–"
    sign = "+" if signed else ""
    if indicator_unit(indicator) == "share":
        return f"{value * 100:{sign}.{2 if signed else 1}f}" + ("" if signed else "%")
    digits = 0 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
    return f"{value:{sign},.{digits}f}"


def _cell(row: pd.Series, indicator: str, change: bool) -> str:
    p = "diff_" if change else ""
    mean = row[f"{p}mean"]
    cell = _num(mean, indicator, change)
    half = (row[f"{p}ci_high"] - row[f"{p}ci_low"]) / 2
    if np.isfinite(half):
        cell += f" ±{_num(half, indicator, change).lstrip('+').rstrip('%')}"
    lo, hi = row.get(f"{p}prediction_low", np.nan), row.get(f"{p}prediction_high", np.nan)
    if np.isfinite(lo) and np.isfinite(hi):
        cell += f" [{_num(lo, indicator, change)}, {_num(hi, indicator, change)}]"
    return cell


def summary_table(res: Results, lang: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows: the baseline's level and each other scenario's change, main indicators."""
    period = res.final_period
    s = res.summary[(res.summary["period"].astype(str) == period) & (res.summary["sample"] == 0)]
    others = [x for x in res.scenarios if x != res.baseline]
    header = [text("indicator", lang), res.baseline] + [f"Δ {x}" for x in others]
    rows = []
    for key in TABLE_INDICATORS:
        d = s[s["indicator"] == key].set_index("scenario")
        if res.baseline not in d.index:
            continue
        unit = indicator_unit(key)
        name = indicator_label(key, lang) + (f" ({unit_label(unit, lang)})" if unit not in ("share", "") else "")
        rows.append([name, _cell(d.loc[res.baseline], key, False)]
                    + [_cell(d.loc[x], key, True) if x in d.index else "–" for x in others])
    return header, rows


def summary_paragraph(res: Results, lang: str) -> str:
    """The headline changes in words, each with its 95% interval (and prediction interval)."""
    if res.design:
        return _sweep_paragraph(res, lang)
    period = res.final_period
    s = res.summary[(res.summary["period"].astype(str) == period) & (res.summary["sample"] == 0)]
    sentences = []
    for scenario in [x for x in res.scenarios if x != res.baseline]:
        clear, unclear = [], []
        for key in HEADLINE_INDICATORS:
            r = s[(s["indicator"] == key) & (s["scenario"] == scenario)]
            b = s[(s["indicator"] == key) & (s["scenario"] == res.baseline)]
            if r.empty or b.empty:
                continue
            r = r.iloc[0]
            if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0:
                unit = " " + unit_label("points", lang) if indicator_unit(key) == "share" else ""
                pred = ""
                if np.isfinite(r["diff_prediction_low"]) and np.isfinite(r["diff_prediction_high"]):
                    pred = text("sum_pred", lang, low=_num(r["diff_prediction_low"], key, True),
                                high=_num(r["diff_prediction_high"], key, True))
                clear.append(text("sum_change", lang, scenario=scenario,
                                  verb=text("sum_up" if r["diff_mean"] > 0 else "sum_down", lang),
                                  indicator=indicator_label(key, lang), change=_num(abs(r["diff_mean"]), key, True)
                                  .lstrip("+") + unit, low=_num(r["diff_ci_low"], key, True),
                                  high=_num(r["diff_ci_high"], key, True), pred=pred,
                                  level=_num(b.iloc[0]["mean"], key, False)))
            else:
                unclear.append(indicator_label(key, lang))
        if unclear:
            clear.append(text("sum_none", lang, scenario=scenario, indicators=("、" if lang == "zh" else ", ")
                              .join(unclear)))
        sentences += clear
    end = "。" if lang == "zh" else ". "
    return text("sum_intro", lang, period=period, baseline=res.baseline) + end.join(sentences) + end.strip()


def _sweep_paragraph(res: Results, lang: str) -> str:
    sweep = res.manifest["sweep"]
    names = ", ".join(p["key"] for p in sweep["parameters"])
    out = text("sum_sweep", lang, design=sweep["design"], samples=sweep.get("samples"), names=names,
               replications=res.manifest["replications"])
    if res.design == "grid":
        s = res.summary[(res.summary["scenario"] == res.baseline) & (res.summary["period"].astype(str) == "all")]
        for key in HEADLINE_INDICATORS:
            v = s.loc[s["indicator"] == key, "mean"]
            if len(v):
                out += " " + text("sum_grid_range", lang, indicator=indicator_label(key, lang),
                                  low=_num(v.min(), key, False), high=_num(v.max(), key, False))
    return out


def run_facts(res: Results, lang: str) -> list[str]:
    """What was run, one line each."""
    m = res.manifest
    v = m.get("versions", {})
    n_unc = len((m.get("uncertainty") or {}).get("parameters") or {})
    facts = [f"{text('run_experiment', lang)}: {m['experiment']} ({m.get('experiment_file') or '–'})",
             f"{text('run_county', lang)}: {res.county}",
             f"{text('run_baseline', lang)}: {res.baseline}",
             f"{text('run_replications', lang)}: {m['replications']}; {text('run_seed', lang)}: "
             f"{m.get('experiment_seed')}",
             f"{text('run_scale', lang)}: " + (text("run_scale_part", lang, scale=m.get("scale"))
                                               if (m.get("scale") or 1) < 1 else text("run_scale_full", lang, scale=m.get("scale"))),
             f"{text('run_horizon', lang)}: " + (text("run_whole_years", lang) if m.get("periods_note") ==
                                                 text("run_whole_years", "en") else m.get("periods_note", "")),
             f"{text('run_uncertainty', lang)}: " + (text("run_uncertainty_on", lang, n=n_unc) if res.uncertainty
                                                     and n_unc else text("run_uncertainty_off", lang))]
    if m.get("sweep"):
        sw = m["sweep"]
        facts.append(f"{text('run_sweep', lang)}: " + text("run_sweep_text", lang, design=sw["design"],
                                                           samples=sw.get("samples"),
                                                           names=", ".join(p["key"] for p in sw["parameters"])))
    facts += [f"{text('run_versions', lang)}: gradsim {v.get('gradsim')}, Mesa {v.get('mesa')}, "
              f"Python {v.get('python')}, numpy {v.get('numpy')}, pandas {v.get('pandas')}",
              f"{text('run_commit', lang)}: {m.get('git_commit') or '–'}",
              f"{text('run_when', lang)}: {m.get('started_at')} – {m.get('finished_at')}"]
    return facts


def caveats(res: Results, lang: str, figure_lang: str) -> list[str]:
    m = res.manifest
    out = [text("cav_scale", lang, scale=m.get("scale")) if (m.get("scale") or 1) < 1 else text("cav_full", lang),
           text("cav_reps", lang, n=m["replications"])]
    has_pred = res.summary["prediction_low"].notna().any() if "prediction_low" in res.summary else False
    out.append(text("cav_pred" if has_pred else "cav_nopred", lang))
    out.append(text("cav_model", lang))
    if m.get("failed_runs"):
        out.append(text("cav_failed", lang, n=m["failed_runs"]))
    if figure_lang != lang:
        out.append(text("cav_font", lang))
    return out


def blocks(res: Results, figures: list[Figure], lang: str, figure_lang: str) -> list[tuple]:
    """The report as blocks: ('h1'|'h2'|'p', text), ('ul', items), ('table', header, rows), ('fig', file, caption)."""
    m = res.manifest
    scen_rows = [[s, res.description(s) or text("no_description", lang)] for s in res.scenarios]
    out: list[tuple] = [("h1", text("report_title", lang, name=m["experiment"]))]
    if m.get("description"):
        out.append(("p", m["description"]))
    out += [("h2", text("what_was_run", lang)), ("ul", run_facts(res, lang)),
            ("table", [text("scenario", lang), text("description", lang)], scen_rows),
            ("h2", text("summary", lang)), ("p", summary_paragraph(res, lang))]
    if not res.design:
        header, rows = summary_table(res, lang)
        out += [("h2", f"{text('table', lang)} ({res.final_period})"), ("table", header, rows, True),
                ("p", text("table_note", lang))]
    out.append(("h2", text("figures", lang)))
    for i, f in enumerate(figures, 1):
        out.append(("fig", f.files[0], f"{i}. {f.caption}"))
    out += [("h2", text("caveats", lang)), ("ul", caveats(res, lang, figure_lang))]
    return out


def to_markdown(blocks_: list[tuple], folder: Path) -> str:
    lines = []
    for b in blocks_:
        if b[0] == "h1":
            lines += [f"# {b[1]}", ""]
        elif b[0] == "h2":
            lines += [f"## {b[1]}", ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "ul":
            lines += [f"- {x}" for x in b[1]] + [""]
        elif b[0] == "table":
            esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
            lines += ["| " + " | ".join(map(esc, b[1])) + " |", "|" + "---|" * len(b[1])]
            lines += ["| " + " | ".join(map(esc, r)) + " |" for r in b[2]] + [""]
        elif b[0] == "fig":
            rel = Path(b[1]).relative_to(folder).as_posix()
            lines += [f"![{b[2]}]({rel})", "", f"*{b[2]}*", ""]
    return "\n".join(lines)


CSS = """body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",system-ui,sans-serif;
max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left}table.numbers td,table.numbers th{text-align:right}table.numbers td:first-child,
table.numbers th:first-child{text-align:left}figure{margin:1.5rem 0}img{max-width:100%;
height:auto;border:1px solid #eee}figcaption{font-size:.9rem;color:#444}"""


def _data_uri(path: Path) -> str:
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_html(blocks_: list[tuple], lang: str) -> str:
    e = html.escape
    body = []
    title = next(b[1] for b in blocks_ if b[0] == "h1")
    for b in blocks_:
        if b[0] in ("h1", "h2"):
            body.append(f"<{b[0]}>{e(b[1])}</{b[0]}>")
        elif b[0] == "p":
            body.append(f"<p>{e(b[1])}</p>")
        elif b[0] == "ul":
            body.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in b[1]) + "</ul>")
        elif b[0] == "table":
            head = "".join(f"<th>{e(str(c))}</th>" for c in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b[2])
            numeric = ' class="numbers"' if len(b) > 3 and b[3] else ""
            body.append(f"<table{numeric}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b[0] == "fig":
            body.append(f'<figure><img src="{_data_uri(Path(b[1]))}" alt="{e(b[2])}">'
                        f"<figcaption>{e(b[2])}</figcaption></figure>")
    code = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{code}"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def plot_results(folder: str | Path, lang: str = "en", formats: tuple[str, ...] = ("png",),
                 target: tuple[str, float] | None = None) -> list[Path]:
    """Write figures/, report.md and report.html into a finished results folder; the files written."""
    folder = Path(folder)
    if target is not None:
        known = set(pd.read_csv(folder / "summary.csv", usecols=["indicator"])["indicator"])
        if target[0] not in known:
            raise ConfigError(f"--target {target[0]}: no such indicator in summary.csv (e.g. in_county_admission_rate, "
                              "primary_care_share; all: docs/indicators.md)", folder, "--target")
    figures, drawn_in = make_figures(folder, lang, formats, target)
    res = Results.open(folder)
    b = blocks(res, figures, lang, drawn_in)
    atomic_write_text(to_markdown(b, folder), folder / "report.md")
    atomic_write_text(to_html(b, lang), folder / "report.html")
    return [p for f in figures for p in f.files] + [folder / "report.md", folder / "report.html"]
