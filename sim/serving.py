"""Serving a round's episodes, a concern of the model's day split out of sim/model.py: billing and
settlement, beds and stays, down-referral follow-ups, the flow tables, displacement, referral up at
the door, and trust. `Serving` is a mixin of GradedCareModel; the state stays on the model.
"""
from __future__ import annotations

import numpy as np

from . import insurance
from .capacity import draw_los
from .deferred import special
from .episodes import Batch
from .illness import N_RN, RN_COST, RN_DOWN, RN_LOS


def _normal(u: np.ndarray) -> np.ndarray:
    """Standard normal numbers from an episode's uniform ones (kept off the 0 and 1 edges)."""
    return special.ndtri(np.minimum(np.maximum(u, 1e-12), 1.0 - 1e-12))


class Serving:
    """Served, turned away or referred up: what happens to an episode at the facility it chose."""

    def _screen_admissions(self, b, f, pos, care, tier, ref_draw, shortfall, left_over, d):
        """Minor (severity 1-2) admissions of covered residents that a community's facilities turn
        away under budget pressure: like a displacement, they choose again elsewhere."""
        prob, facilities = self.admission_screen
        candidate = (care == 1) & (b.severity <= 2) & facilities[f]
        turned = candidate & (self.streams["policy"].random(len(b)) < prob[b.person])
        if not turned.any():
            return b, f, pos, care, tier, ref_draw, shortfall
        idx = np.flatnonzero(turned)
        left_over.append(self._displace(b.take(idx), f[idx], care[idx], tier[idx], pos[idx], d, felt=False))
        rest = np.flatnonzero(~turned)
        return b.take(rest), f[rest], pos[rest], care[rest], tier[rest], ref_draw[rest], shortfall[rest]

    def _serve(self, b: Batch, f: np.ndarray, care: np.ndarray, tier: np.ndarray, waited: np.ndarray,
               d: int, slots: np.ndarray, beds_free: np.ndarray) -> None:
        pop, cfg = self.population, self.config
        self._tally("served", f, care)
        after = b.displaced
        self._tally("served_after_displacement", f[after], care[after])
        self._tally("wait_days", f, care, waited + self.facilities.fixed_wait[f])
        out = care == 0
        if self.engine == "numpy":
            n_f = slots.size
            slots -= np.bincount(f[out], minlength=n_f)
            beds_free -= np.bincount(f[~out], minlength=n_f)
            if d >= self.warmup_days:
                self._record_flows(b, care, tier)
        else:
            from .kernels import serve_books
            year = self.date.year - self.record_years[0]
            serve_books(f, care, tier, b.person, b.program, b.severity, b.ref_tier, b.referred_down, b.filed, slots,
                        beds_free, d >= self.warmup_days, pop.village, self.village_served[year], self.flows[year],
                        self.tier_hospital)

        sev = b.severity.astype(np.int64) - 1
        sd = self.cost_sd[tier]
        noise = np.exp(sd * _normal(b.rn[:, RN_COST]) - 0.5 * sd ** 2)
        if self.engine == "numpy":
            cost = np.maximum(1, np.rint(self.mean_cost_fen[f, care, b.program, sev] * noise)).astype(np.int64)
        else:
            from .kernels import costs
            cost = costs(self.mean_cost_fen, f, care, b.program, b.severity, noise)
        scheme = pop.scheme[b.person].astype(np.int64)
        if self.engine == "numpy":
            fund, oop = insurance.settle(self.benefits, scheme, care, tier, b.filed, cost, b.person, pop.fund_ytd)
            np.add.at(pop.fund_ytd, (b.person, care), fund)
            np.add.at(pop.oop_ytd, b.person, oop)
        else:
            from .kernels import settle
            t = self.benefits
            fund, oop = settle(t.deductible, t.ratio, t.covered, t.unfiled_penalty, t.annual_cap, scheme, care, tier,
                               b.filed, cost, b.person, pop.fund_ytd, pop.oop_ytd)
        self._tally("fund", f, care, fund)
        self._tally("oop", f, care, oop)
        self._tally("cost", f, care, cost)
        for community in self.communities:
            community.charge(d, b.person, fund, self.tier_in_county[tier])

        inp = np.flatnonzero(~out)
        if inp.size:
            self._admit(b, inp, f[inp], tier[inp], d)
        signal = cfg.trust.served + cfg.trust.per_wait_day * waited
        self._trust(b.person, tier, np.minimum(np.maximum(signal, 0.0), 1.0))

    def _admit(self, b: Batch, rows: np.ndarray, f: np.ndarray, tier: np.ndarray, d: int) -> None:
        """Served admissions (rows of the batch, at facilities f of tiers tier) take a bed for a drawn stay;
        those referred down at discharge get a follow-up visit on that day, with the numbers kept for it."""
        cfg = self.config
        person = b.person.take(rows)
        los = draw_los(self.mean_los[f, b.program.take(rows), b.severity.take(rows).astype(np.int64) - 1],
                       cfg.care.los_sd_log, cfg.care.max_los_days, _normal(b.rn[rows, RN_LOS]))
        self.beds.admit(f, los, d)
        self._tally("los_days", f, 1, los)
        down = b.rn[rows, RN_DOWN] < self._down_probability(tier, person)
        if down.any():
            self._follow_up(d + los[down], person[down], b.rn[rows[down], N_RN:])

    def _follow_up(self, day: np.ndarray, person: np.ndarray, rn: np.ndarray) -> None:
        """Book the follow-up visits of inpatients referred down at discharge, with the numbers kept for them."""
        self.followup_day = np.concatenate([self.followup_day, day])
        self.followup_person = np.concatenate([self.followup_person, person])
        self.followup_rn = np.concatenate([self.followup_rn, rn])

    def _continue_up(self, person: np.ndarray, care: np.ndarray, severity: np.ndarray, program: np.ndarray,
                     rn: np.ndarray, capability: np.ndarray, tier: np.ndarray, d: int) -> Batch:
        """Outpatients served where capability falls short, continuing up the same day as filed referrals
        that remember where they came from: child episodes with the block of numbers kept for them."""
        n = person.size
        self.daily["continuations"][d, 0] += n
        return Batch.new(person, care, severity, program, d, np.ones(n, dtype=bool),
                         self._with_child_block(rn[:, N_RN:]), referred_up=np.ones(n, dtype=bool),
                         ref_capability=capability, ref_tier=tier)

    def _down_probability(self, tier: np.ndarray, person: np.ndarray) -> np.ndarray:
        """Probability that an inpatient discharged from `tier` is referred down for follow-up: the
        tier's, plus what a budget-holding community adds for its residents at hospitals."""
        p_down = self.referral_down[tier]
        extra = self.population.extra_down
        return p_down if extra is None else p_down + np.where(self.tier_primary[tier], 0.0, extra[person])

    def _record_flows(self, b: Batch, care: np.ndarray, tier: np.ndarray) -> None:
        """Served episodes by village of residence (sim.places) and by tier x care x programme x severity x
        path x filed."""
        pop, year = self.population, self.date.year - self.record_years[0]
        V, T = self.village_served.shape[1:3]
        where = (pop.village.take(b.person).astype(np.int64) * T + tier) * 2 + care
        self.village_served[year] += np.bincount(where, minlength=V * T * 2).reshape(V, T, 2)
        ref = b.ref_tier.astype(np.int64)
        path = np.where(b.referred_down, 3, np.where(ref < 0, 0, np.where(self.tier_hospital[ref], 2, 1)))
        shape = self.flows.shape[1:]
        cell = np.ravel_multi_index((tier, care, b.program.astype(np.int64), b.severity.astype(np.int64) - 1, path,
                                     b.filed.astype(np.int64)), shape)
        self.flows[year] += np.bincount(cell, minlength=int(np.prod(shape))).reshape(shape)

    def _displace(self, again: "Batch", facility: np.ndarray, care: np.ndarray, tier: np.ndarray,
                  pos: np.ndarray, d: int, felt: bool = True) -> "Batch":
        """Episodes a facility turned away: counted (once per episode as displaced), felt in trust when a
        full facility turned them away (`felt`; not a community's screen), and sent to choose again
        without that facility."""
        self._tally("rejected", facility, care)
        if felt:
            self._trust(again.person, tier, self.config.trust.rejected)
        first = ~again.displaced
        np.add.at(self.daily["displaced"][d], again.care[first], 1)
        again.displaced[:] = True
        again.excluded |= np.left_shift(1, pos).astype(np.int64)
        return again

    def _refer_up_at_door(self, up: "Batch", facility: np.ndarray, tier: np.ndarray,
                          capability: np.ndarray) -> "Batch":
        """Episodes a facility cannot treat, referred up at its door: counted, felt in trust, and sent to
        choose again as filed referrals that remember where they came from."""
        self._tally("referred_up_at", facility, 1)
        self._trust(up.person, tier, self.config.trust.referred_up)
        up.ref_capability = capability.astype(float)
        up.ref_tier = tier.astype(np.int8)
        up.referred_up[:] = True
        up.filed[:] = True
        return up

    def _trust(self, person: np.ndarray, tier: np.ndarray, signal) -> None:
        """Move trust towards the experience signal (exponential smoothing)."""
        if person.size == 0:
            return
        lr = np.float32(self.config.trust.learning_rate)
        if self.engine != "numpy":
            from .kernels import learn_trust
            signal = (np.full(person.size, signal, dtype=np.float32) if np.ndim(signal) == 0
                      else np.asarray(signal, dtype=np.float32))
            learn_trust(self.population.trust, person, np.asarray(tier, dtype=np.int64), signal, lr)
            return
        flat = self.population.trust.reshape(-1)
        idx = person * self.population.trust.shape[1] + tier
        old = flat.take(idx)
        flat.put(idx, old + lr * (np.asarray(signal, dtype=np.float32) - old))
