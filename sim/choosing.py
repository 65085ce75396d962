"""The choice step of the day: per-village tables of everything in the utility that is fixed within
a day, and the utilities, filing probabilities and emergency routing of a batch of episodes.

Split out of the model (which owns the state) so that the day in sim/model.py stays readable;
the rules themselves are the pure functions of sim/choice.py and sim/filing.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import choice as rules
from . import insurance
from .config import PROGRAMS, SEVERITY_LEVELS, CARE_TYPES
from .filing import expected_cost
from .illness import ATTEMPTS, N_RN, RN_CHOICE

if TYPE_CHECKING:
    from .episodes import Batch
    from .model import GradedCareModel


class ChoiceTables:
    """Rows of K alternatives per village (x care x programme x severity), addressed by one flat
    key, so a batch gathers whole rows: much faster than indexing several axes element by element."""

    def __init__(self, model: "GradedCareModel") -> None:
        self.model = model
        self._built_from: dict[str, tuple[np.ndarray, ...]] = {}
        self.rebuild()

    def rebuild(self) -> None:
        m = self.model
        fac, p, b = m.facilities, m.choice_params, m.benefits
        alt = m.county.choice_set
        valid = alt >= 0
        a = np.where(valid, alt, 0)
        tier = fac.tier[a]
        V, K = alt.shape
        S, P = SEVERITY_LEVELS, len(PROGRAMS)
        care = np.arange(2)[None, :, None, None, None]
        sev = np.arange(1, S + 1)[None, None, None, :, None]
        cap_p = fac.capability_by_program()[a]                                     # (V, K, P)
        cap5 = np.moveaxis(cap_p, 2, 1)[:, None, :, None, :]                        # (V, 1, P, 1, K)
        hours = self.hours_to(a)[:, None, None, None, :]
        if m.emergency_hours is not None:         # severe episodes reach care faster (emergency network)
            severe = (np.arange(1, S + 1) >= m.emergency_from_severity)[None, None, None, :, None]
            hours = np.where(severe, m.emergency_hours[np.arange(V)[:, None], a][:, None, None, None, :], hours)
        self.alt_hours = np.broadcast_to(hours, (V, 1, 1, S, K))[:, 0, 0]          # (V, S, K)
        cells = self._changed_cells(tier, cap_p, self.alt_hours)
        if cells is None:
            static = rules.static_utility(p, care, sev, tier[:, None, None, None, :], cap5, hours)   # (V, 2, P, S, K)
            self.row_static_u = np.ascontiguousarray(np.broadcast_to(static, (V, 2, P, S, K))).reshape(-1, K)
        elif cells[0].size:
            self._restate(cells, tier, cap_p)
        if not self._unchanged("access", alt, m.offers, fac.serves_band):
            offers = np.moveaxis(m.offers[a], 1, 3)                               # (V, care, P, K)
            self.row_allowed = (valid[:, None, None, :] & offers).reshape(-1, K)
            self.row_serves = np.moveaxis(fac.serves_band[a], 1, 2).reshape(-1, K)    # (V * bands, K)
        if not self._unchanged("money", a, tier, m.mean_cost_fen, b.deductible, b.ratio, b.covered,
                               b.unfiled_penalty):
            self._money_tables(a, tier)
        self.n_bands = fac.serves_band.shape[1]
        self.alt_safe = a
        self.alt_tier = tier
        self.alt_primary = m.tier_primary[tier]
        self.alt_capability = cap_p.transpose(0, 2, 1).reshape(-1, K)             # (V * P, K)
        self.alt_in_county = m.tier_in_county[tier]
        self.hassle = np.array([m.config.referral.filing_hassle[c] for c in CARE_TYPES])
        self._no_person = np.zeros(1, dtype=bool)

    def _money_tables(self, a: np.ndarray, tier: np.ndarray) -> None:
        """Each row's mean bill and the fund's share of it before the annual cap, per scheme and filing."""
        m, b = self.model, self.model.benefits
        V, K = a.shape
        S, P = SEVERITY_LEVELS, len(PROGRAMS)
        cost = np.rint(np.moveaxis(m.mean_cost_fen[a], 1, 4)).astype(np.int64)    # (V, care, P, S, K)
        self.row_cost = cost.reshape(-1, K)
        n_s = b.ratio.shape[0]
        fund = np.zeros((V, 2, P, S, n_s, 2, K), dtype=np.int64)
        for s_ in range(n_s):
            d5 = np.moveaxis(b.deductible[s_][:, tier], 0, 1)[:, :, None, None, :]   # (V, care, 1, 1, K)
            c5 = np.moveaxis(b.covered[s_][:, tier], 0, 1)[:, :, None, None, :]
            for filed in (0, 1):
                ratio = insurance.effective_ratio(b.ratio[s_][:, tier], b.unfiled_penalty[s_][tier], bool(filed))
                r5 = np.moveaxis(ratio, 0, 1)[:, :, None, None, :]
                fund[:, :, :, :, s_, filed, :], _ = insurance.reimburse(cost, d5, r5, np.iinfo(np.int64).max, c5)
        self.row_fund_nocap = fund.reshape(-1, K)
        self.penalised = np.moveaxis(b.unfiled_penalty[:, tier] > 0, 0, 1).reshape(-1, K)   # (V * schemes, K)
        self.n_schemes = n_s

    def _changed_cells(self, tier: np.ndarray, cap_p: np.ndarray,
                       hours: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The (village, alternative) cells whose tier, capability or travel hours differ from the last
        build, or None when the whole static table must be built (first build, other choice parameters,
        another shape of choice set). A ramping lever moves a few facilities' capability every day."""
        p = self.model.choice_params
        same_params = self._unchanged("static", p.constant, p.capability, p.shortfall, p.travel, p.beta, p.group)
        last = self._built_from.get("static cells")
        self._built_from["static cells"] = (tier.copy(), cap_p.copy(), hours.copy())
        if not same_params or last is None or any(x.shape != y.shape for x, y in zip(last, (tier, cap_p, hours))):
            return None
        return np.nonzero((tier != last[0]) | (cap_p != last[1]).any(axis=2) | (hours != last[2]).any(axis=1))

    def _restate(self, cells: tuple[np.ndarray, np.ndarray], tier: np.ndarray, cap_p: np.ndarray) -> None:
        """Recompute the static utility at the changed (village, alternative) cells only, in a new
        table: static_utility is elementwise, so each cell gets the bits a full build gives it."""
        p = self.model.choice_params
        v, k = cells
        S, P = SEVERITY_LEVELS, len(PROGRAMS)
        care = np.arange(2)[None, :, None, None]
        sev = np.arange(1, S + 1)[None, None, None, :]
        part = rules.static_utility(p, care, sev, tier[v, k][:, None, None, None], cap_p[v, k][:, None, :, None],
                                    self.alt_hours[v, :, k][:, None, None, :])          # (cells, 2, P, S)
        table = self.row_static_u.copy()
        table.reshape(-1, 2, P, S, table.shape[1])[v, :, :, :, k] = part
        self.row_static_u = table

    def _unchanged(self, part: str, *inputs: np.ndarray) -> bool:
        """Whether a part's inputs equal, value and type, those it was last built from (then its tables
        stand: policies refresh the tables daily while a ramp moves one facility's capability, and the
        bills and fund shares are most of a rebuild's cost); remembers them otherwise."""
        last = self._built_from.get(part)
        if last is not None and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(last, inputs)):
            return True
        self._built_from[part] = tuple(np.array(x, copy=True) for x in inputs)
        return False

    def hours_to(self, alt: np.ndarray) -> np.ndarray:
        """(V, K) travel hours from each village to its alternatives."""
        return self.model.county.travel_hours[np.arange(alt.shape[0])[:, None], alt]

    def utilities(self, b: "Batch") -> tuple[np.ndarray, ...]:
        """Alternatives (E, K), their tiers, the allowed mask, systematic utilities and the probability
        of filing at each alternative (0 where there is nothing to decide): the compiled kernel, or
        the numpy reference path when the model's engine is "numpy"."""
        if self.model.engine == "numpy":
            return self.utilities_numpy(b)
        return self.utilities_fast(b)

    def utilities_fast(self, b: "Batch", shifted: bool = False) -> tuple[np.ndarray, ...]:
        """sim.kernels.utilities on this batch: the same numbers as utilities_numpy, in one loop; with
        `shifted`, the utilities come as the logit's exponents: minus the row's maximum, -inf where not allowed."""
        from .kernels import utilities
        m = self.model
        pop, p = m.population, m.choice_params
        none2 = np.zeros((1, 2))
        return utilities(
            b.person, b.care, b.severity, b.program, b.ref_capability, b.filed, b.excluded, b.referred_up,
            b.referred_down, b.emergency, pop.village, pop.scheme, pop.income_band, pop.age_band, pop.fund_ytd,
            pop.trust, pop.contracted,
            none2 if pop.extra_hassle is None else pop.extra_hassle, pop.extra_hassle is not None,
            self._no_person if pop.in_county_referral is None else pop.in_county_referral,
            pop.in_county_referral is not None,
            m.county.choice_set, self.alt_tier, self.alt_safe, self.alt_primary, self.alt_in_county,
            self.alt_capability, self.row_allowed, self.row_serves, self.row_cost, self.row_fund_nocap,
            self.penalised, self.row_static_u, m.benefits.annual_cap, p.income_factor, p.beta, p.group,
            self.hassle, m.expected_wait + m.facilities.fixed_wait, p.wait, p.trust, np.float32(p.trust_reference),
            p.contract_primary, p.referral_follow, len(PROGRAMS), SEVERITY_LEVELS, self.n_schemes, self.n_bands,
            shifted)

    def utilities_numpy(self, b: "Batch") -> tuple[np.ndarray, ...]:
        """The numpy reference path. Gathers use ndarray.take (several times faster than fancy
        indexing for row gathers)."""
        m = self.model
        pop, p = m.population, m.choice_params
        S, P = SEVERITY_LEVELS, len(PROGRAMS)
        person = b.person
        v = pop.village.take(person).astype(np.int64)
        care = b.care.astype(np.int64)
        sev = b.severity.astype(np.int64)
        vcp = (v * 2 + care) * P + b.program
        row = vcp * S + sev - 1
        scheme = pop.scheme.take(person).astype(np.int64)
        alt = m.county.choice_set.take(v, axis=0)
        tier = self.alt_tier.take(v, axis=0)
        K = alt.shape[1]
        meets = self.alt_capability.take(v * P + b.program, axis=0) > b.ref_capability[:, None]
        allowed = (self.row_allowed.take(vcp, axis=0)
                   & self.row_serves.take(v * self.n_bands + pop.age_band.take(person), axis=0) & meets)
        if b.excluded.any():
            allowed &= ((b.excluded[:, None] >> np.arange(K)[None, :]) & 1) == 0
        cost = self.row_cost.take(row, axis=0)
        base = (row * self.n_schemes + scheme) * 2
        cap_left = np.maximum(m.benefits.annual_cap.ravel().take(scheme * 2 + care)
                              - pop.fund_ytd.ravel().take(person * 2 + care), 0)[:, None]
        weight = p.income_factor.take(pop.income_band.take(person))[:, None] / insurance.FEN
        oop_unfiled = (cost - np.minimum(self.row_fund_nocap.take(base, axis=0), cap_left)) * weight
        oop_filed = (cost - np.minimum(self.row_fund_nocap.take(base + 1, axis=0), cap_left)) * weight
        beta = rules.beta_of(p, care, sev)
        decides = self.penalised.take(v * self.n_schemes + scheme, axis=0) & ~b.filed[:, None]
        settled = np.where(b.filed[:, None], oop_filed, oop_unfiled)
        hassle = self.hassle[care]
        if pop.extra_hassle is not None:            # approval by a medical community (referral management)
            hassle = hassle + np.where(b.emergency, 0.0, pop.extra_hassle.ravel().take(person * 2 + care))
        cost_yuan, p_file = expected_cost(beta[:, None], oop_filed, settled, hassle[:, None], decides)
        primary = self.alt_primary.take(v, axis=0)
        follows = np.where(b.referred_down[:, None], primary, meets & b.referred_up[:, None])
        if pop.in_county_referral is not None:    # referral routed within the county (policies)
            follows &= self.alt_in_county.take(v, axis=0) | ~pop.in_county_referral.take(person)[:, None]
        n_t = pop.trust.shape[1]
        trust = pop.trust.take(person, axis=0).ravel().take(np.arange(person.size)[:, None] * n_t + tier)
        safe = self.alt_safe.take(v, axis=0)
        wait = m.expected_wait.take(safe) + m.facilities.fixed_wait.take(safe)
        u = self.row_static_u.take(row, axis=0) + rules.dynamic_utility(
            p, care, beta, cost_yuan, wait, trust, pop.contracted.take(person)[:, None] & primary, follows)
        return alt, tier, allowed, u, p_file

    def nearest_capable(self, b: "Batch", alt: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Position of the nearest allowed alternative that can treat the episode's severity (the
        most capable allowed one if none can); -1 where nothing is allowed. For emergencies."""
        m = self.model
        v = m.population.village.take(b.person).astype(np.int64)
        P = len(PROGRAMS)
        capability = self.alt_capability.take(v * P + b.program, axis=0)
        hours = self.alt_hours[v, b.severity.astype(np.int64) - 1]
        capable = allowed & (capability >= b.severity[:, None])
        nearest = np.argmin(np.where(capable, hours, np.inf), axis=1)
        best = np.argmax(np.where(allowed, capability, -np.inf), axis=1)
        pick = np.where(capable.any(axis=1), nearest, best)
        return np.where(allowed.any(axis=1), pick, -1)


class ChoiceStep:
    """The round's choice on the model (a mixin of GradedCareModel): the logit pick with the episodes'
    own random numbers, and emergencies to the nearest capable facility."""

    def _choose(self, b: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The round's choice, shared by both engines: utilities, the logit pick (-1: nothing allowed)
        and, on a first attempt, emergencies sent to the nearest capable facility (ODD §3.3.3).
        Returns alternatives, filing probabilities, the attempt before this round and the pick."""
        if self.engine != "numpy" and not self.choice_params.nested:
            return self._choose_fast(b)
        alt, alt_tier, allowed, u, p_file = self.chooser.utilities(b)
        attempt = b.attempt.copy()
        b.attempt = np.minimum(attempt + 1, 127).astype(np.int8)
        pick = self._pick(u, allowed, alt_tier, self._uniforms(b, attempt, RN_CHOICE, "rechoice"))
        first_emergency = (attempt == 0) & b.emergency
        if first_emergency.any():
            idx = np.flatnonzero(first_emergency)
            pick[idx] = self.chooser.nearest_capable(b.take(idx), alt[idx], allowed[idx])
        return alt, p_file, attempt, pick

    def _choose_fast(self, b: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """_choose compiled: the utility kernel returns the logit's exponents, numpy takes their exp, one
        kernel draws with the episodes' own numbers, another routes emergencies; the same numbers."""
        from . import kernels
        alt, _, allowed, x, p_file = self.chooser.utilities_fast(b, shifted=True)
        attempt = b.attempt.copy()
        b.attempt = np.minimum(attempt + 1, 127).astype(np.int8)
        n_later = int(np.count_nonzero(attempt >= ATTEMPTS))
        later = self.streams["rechoice"].random(n_later) if n_later else np.zeros(0)
        pick = kernels.draw_own(np.exp(x, out=x), b.rn, attempt, RN_CHOICE, later, ATTEMPTS)
        first_emergency = (attempt == 0) & b.emergency
        if first_emergency.any():
            ch = self.chooser
            kernels.nearest_capable(np.flatnonzero(first_emergency), pick, b.person, b.program, b.severity,
                                    self.population.village, ch.alt_capability, ch.alt_hours, allowed, len(PROGRAMS))
        return alt, p_file, attempt, pick

    def _pick(self, u: np.ndarray, allowed: np.ndarray, alt_tier: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """The logit draw (sim.choice); the fast engine's is in _choose_fast."""
        return rules.draw(rules.choice_weights(self.choice_params, u, allowed, alt_tier), uniform)

    def _uniforms(self, b: Batch, attempt: np.ndarray, column: int, stream: str) -> np.ndarray:
        """The episode's own number for this attempt (common random numbers); a stream's after ATTEMPTS."""
        own = attempt < ATTEMPTS
        out = np.empty(len(b))
        out[own] = b.rn[own, column + 3 * attempt[own]]
        later = np.flatnonzero(~own)
        if later.size:
            out[later] = self.streams[stream].random(later.size)
        return out

    def _with_child_block(self, own: np.ndarray) -> np.ndarray:
        """A derived episode's numbers: the block its parent kept for it, and a new child block."""
        return np.hstack([own, self.streams["rechoice"].random((own.shape[0], N_RN))])
