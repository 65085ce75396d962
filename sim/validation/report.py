"""The validation table: printed (check, expected, simulated, pass/fail) and as docs/validation.md."""
from __future__ import annotations

import datetime as dt

from .checks import Check


def text_table(checks: list[Check]) -> str:
    rows = [("check", "expected", "simulated", "verdict")] + [(c.name, c.expected, c.simulated, c.verdict)
                                                               for c in checks]
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(4)]
    lines, group = [], None
    for c, row in zip([None] + checks, rows):
        if c is not None and c.group != group:
            group = c.group
            lines.append(f"-- {group}")
        lines.append("  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths)))
    return "\n".join(lines)


def markdown(checks: list[Check], facts: dict, command: str) -> str:
    passed = sum(c.passed is True for c in checks)
    judged = sum(c.passed is not None for c in checks)
    head = [f"# Validation of `{facts['config']}`", "",
            f"Written by `{command}` on {dt.date.today()} (scale {facts['scale']:g}, {facts['replications']} "
            f"replications on common random numbers). **{passed} of {judged} checks pass.** Failing checks are "
            "reported as they are: nothing was tuned to pass them. How each check is built: docs/validation-suite.md.",
            ""]
    if "fitted" in facts:
        n_p, n_t, file = facts["fitted"]
        head += [f"Calibration: {n_p} parameters fitted to {n_t} targets ({file}).", ""]
    head += ["Changes: mean (95% Monte Carlo interval) [95% prediction interval, with 10+ replications and "
             "uncertain parameters drawn].", ""]
    body, group = [], None
    for c in checks:
        if c.group != group:
            group = c.group
            body += ["", f"## {group[0].upper()}{group[1:]}", "", "| check | expected | simulated | verdict | source |",
                     "|---|---|---|---|---|"]
        verdict = "pass" if c.passed else "**FAIL**" if c.passed is False else "(reported)"
        body.append(f"| {c.name} | {c.expected} | {c.simulated} | {verdict} | {c.source} |")
    return "\n".join(head + body) + "\n"
