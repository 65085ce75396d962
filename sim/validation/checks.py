"""The validation checks as pure functions of numbers: each returns a Check (expected, simulated,
pass/fail). The suite (suite.py) runs the model and feeds them; tests break each on purpose."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

MC_HALF_WIDTH = 0.005          # 0.5 points: the Monte Carlo precision a headline share should reach
MAX_PRACTICAL_REPLICATIONS = 200


@dataclass
class Check:
    group: str
    name: str
    expected: str
    simulated: str
    passed: bool | None          # None: reported, not judged
    source: str = ""

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "FAIL" if self.passed is False else "(reported)"


@dataclass
class Paired:
    """A change between scenarios over replicates: mean, 95% Monte Carlo and prediction intervals."""
    mean: float
    ci_low: float
    ci_high: float
    pred_low: float = math.nan
    pred_high: float = math.nan
    n: int = 0

    @classmethod
    def of(cls, diffs: Sequence[float], prediction: bool = False) -> "Paired":
        d = np.asarray(diffs, dtype=float)
        m = float(d.mean())
        half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan
        lo, hi = (np.percentile(d, [2.5, 97.5]) if prediction and len(d) >= 10 else (math.nan, math.nan))
        return cls(m, m - half, m + half, float(lo), float(hi), len(d))

    def text(self, fmt: str) -> str:
        out = fmt.format(self.mean)
        if math.isfinite(self.ci_low):
            out += f" ({fmt.format(self.ci_low)}, {fmt.format(self.ci_high)})"
        if math.isfinite(self.pred_low):
            out += f" [{fmt.format(self.pred_low)}, {fmt.format(self.pred_high)}]"
        return out


def within(group: str, name: str, value: float, low: float, high: float, fmt: str, source: str,
           expected: str | None = None) -> Check:
    """A level that should lie in [low, high] (an unfitted statistic)."""
    ok = bool(math.isfinite(value) and low <= value <= high)
    return Check(group, name, expected or f"{fmt.format(low)} – {fmt.format(high)}", fmt.format(value), ok, source)


def target_holds(name: str, observed: float, scale: float, acceptable: float, value: float, kind: str,
                 matched: bool, fmt: str = "{:.4g}", source: str = "") -> Check:
    """A calibration target: within `acceptable` × its tolerance (or se); an unmatched one is reported."""
    r = (value - observed) / scale
    ok = bool(math.isfinite(r) and abs(r) <= acceptable) if matched else None
    unit = "tolerance" if kind == "tolerance" else "se"
    expected = f"{fmt.format(observed)} ± {acceptable:g} {unit} ({fmt.format(acceptable * scale)})"
    note = "" if matched else " (declared a structural miss: not matched)"
    return Check("calibration target", name, expected, f"{fmt.format(value)} (residual {r:+.2f})", ok, source + note)


def direction(group: str, name: str, sign: int, change: Paired, fmt: str, source: str,
              size: float | None = None, upper_bound: bool = False) -> Check:
    """A change that should go the way `sign` says (its 95% MC interval on that side of zero); with a
    published `size`, that size must lie in the model's prediction interval (or MC interval without
    one); an `upper_bound` size must not be exceeded."""
    expected = ("up" if sign > 0 else "down")
    if not math.isfinite(change.mean):
        return Check(group, name, expected, "not applicable (nothing to change in this county)", None, source)
    lo, hi = (change.ci_low, change.ci_high) if math.isfinite(change.ci_low) else (change.mean, change.mean)
    ok = (lo > 0) if sign > 0 else (hi < 0)
    if size is not None:
        band = (change.pred_low, change.pred_high) if math.isfinite(change.pred_low) else (lo, hi)
        if upper_bound:
            ok = ok and abs(change.mean) <= abs(size)
            expected += f", at most {fmt.format(size)}"
        else:
            ok = ok and band[0] <= size <= band[1]
            expected += f", {fmt.format(size)} within the model's interval"
    return Check(group, name, expected, change.text(fmt), bool(ok), source)


def no_response(name: str, largest_change: float, source: str = "") -> Check:
    """A lever that never starts must change nothing (common random numbers: exactly nothing)."""
    return Check("face validity", name, "no change", f"largest |change| {largest_change:.3g}",
                 bool(largest_change == 0.0), source)


def replications_needed(name: str, values: Sequence[float], have: int, half_width: float = MC_HALF_WIDTH,
                        pred_width: float = math.nan) -> Check:
    """How many replications give a 95% MC interval narrower than ±half_width (normal approximation)."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    need = math.ceil((1.96 * sd / half_width) ** 2) if math.isfinite(sd) else math.inf
    ok = bool(math.isfinite(need) and need <= MAX_PRACTICAL_REPLICATIONS)
    shown = f"{need} replications (sd {sd * 100:.2f} pt over {have})" if math.isfinite(need) else "unknown (one run)"
    if math.isfinite(pred_width):
        shown += f"; prediction interval {pred_width * 100:.1f} pt wide"
    return Check("stochastic stability", name, f"MC interval < ±{half_width * 100:g} pt within "
                 f"{MAX_PRACTICAL_REPLICATIONS} replications", shown, ok, "")
