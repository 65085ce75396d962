"""GradedCareModel: the Mesa model that wires county, residents, illness, choice, capacity,
insurance, referral, trust and records. One step is one day; the order of the day is below.

Daily order (ARCHITECTURE.md §1; tested in tests/test_engine.py):
  1. policies starting (or ending) today take effect (`apply` / `revert`; a policy that started before
     the first simulated day is applied on it), then every active policy's `daily` hook runs (ramps,
     rotations, periodic visits); on 1 January annual insurance accounts reset;
  2. discharges free beds; patients referred down at discharge become follow-up episodes;
  3. illness: today's new episodes;
  4. up to `choice.max_tries_per_day` rounds of: choice (logit) -> referral up at the door for
     inpatient episodes a facility cannot treat -> rationing by capacity in serving order ->
     served episodes pay (insurance rules), take a bed for a drawn stay, update trust; an
     outpatient visit at a facility below the severity refers the patient up (a new, filed
     episode); displaced episodes choose again without that facility;
  5. episodes still not served wait for tomorrow if within their patience, else are unmet;
  6. records: daily counts per facility and care type.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import warnings
import zlib

import numpy as np
import pandas as pd

from . import choice as choice_rules
from . import insurance
from .background import BackgroundLoad
from .capacity import Beds, draw_los, ration
from .choosing import ChoiceStep, ChoiceTables
from .config import PROGRAMS, SEVERITY_LEVELS, CountyConfig
from .county import County, build_county
from .episodes import Batch
from .illness import (ATTEMPTS, N_RN, RN_CHOICE, RN_COST, RN_DOOR, RN_DOWN, RN_FILING, RN_LOS, RN_ORDER, IllnessModel,
                      thin_by_risk)
from .deferred import mesa
from .patient import create_patient_agents
from .population import Population, synthesize
from .records import KERNEL_COUNTS, DayRecords, new_records
from .serving import Serving
from .steady import simulated_warmup_days

ENGINES = ("fast", "numpy")
STREAMS = ("population", "illness", "choice", "rechoice", "order", "referral", "cost", "los",
           "prevention", "policy", "background", "steady")


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent named generators from one seed; a name's stream never depends on the others."""
    return {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),)))
            for name in STREAMS}


class Facility(mesa.Agent):
    """A village clinic, township centre, county hospital or out-of-county destination.

    Attributes are views on the model's facility columns, so a policy that sets
    `facility.physicians` changes what the daily step uses.
    """

    def __init__(self, model: "GradedCareModel", fid: int) -> None:
        super().__init__(model)
        self.fid = fid

    @property
    def name(self) -> str:
        return self.model.facilities.name[self.fid]

    @property
    def tier(self) -> str:
        return self.model.config.tiers[self.model.facilities.tier[self.fid]].name

    def _get(self, column: str) -> float:
        return float(getattr(self.model.facilities, column)[self.fid])

    def _set(self, column: str, value: float) -> None:
        getattr(self.model.facilities, column)[self.fid] = value
        self.model.refresh_facilities()

    physicians = property(lambda self: self._get("physicians"), lambda self, v: self._set("physicians", v))
    beds = property(lambda self: self._get("beds"), lambda self, v: self._set("beds", v))
    capability = property(lambda self: self._get("capability"), lambda self, v: self._set("capability", v))
    price_multiplier = property(lambda self: self._get("price_multiplier"),
                                lambda self, v: self._set("price_multiplier", v))

    @property
    def occupied_beds(self) -> float:
        return float(self.model.beds.occupied[self.fid])

    @property
    def daily_slots(self) -> float:
        return float(self.model.daily_slots[self.fid])


PATHS = ("self_referred", "referred_up", "referred_out", "referred_down")   # how a served episode got there


def whole_beds(raw: np.ndarray) -> np.ndarray:
    """Whole beds per facility summing to round(total): floors, plus one for the largest remainders.

    Configured beds are whole and nothing changes; beds a policy adds in fractions (a ramp) keep the
    county's bed total, which rounding each facility on its own would not do.
    """
    base = np.floor(raw + 1e-9)
    extra = int(round(raw.sum() - base.sum()))
    if extra > 0:
        base[np.argsort(-(raw - base), kind="stable")[:extra]] += 1
    return base


class GradedCareModel(ChoiceStep, Serving, DayRecords, mesa.Model):
    """The county, its residents and facilities, one day per step.

    config: a validated CountyConfig (sim.load_config); seed: the replication's seed;
    scale: fraction of the population simulated (facilities keep full capacity and the rest of
    the population is background load, sim.background; counts are reported scaled back up);
    policies: Policy objects (sim.policies), validated as a set; patient_agents: whether the
    Patient Mesa agents (one per resident, views on the columns) may exist. They are built the first
    time something reads `agents`, `agents_by_type` or `agent_types` (a DataCollector, the
    dashboard, a notebook), never by the daily step, so batch runs do not pay for them.
    engine: "fast" (compiled loops, sim.kernels) or "numpy" (the reference path, for tests); both give
    the same numbers (docs/performance.md). Default: the GRADSIM_ENGINE environment variable, else "fast".
    With `horizon.start_state: steady` the warm-up's state is drawn on the first day (sim.steady) and only
    a few warm-up days are simulated (`warmup_days` is then that number).
    """

    def __init__(self, config: CountyConfig, seed: int = 0, scale: float = 1.0,
                 policies: list | None = None, patient_agents: bool = True, engine: str | None = None) -> None:
        super().__init__(rng=int(seed))
        if not 0 < scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        engine = engine or os.environ.get("GRADSIM_ENGINE") or "fast"
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        if engine == "fast":
            try:
                from . import kernels  # noqa: F401
            except ImportError as exc:      # no numba for this platform: the same numbers, computed by numpy
                warnings.warn(f"numba is not available ({exc}); using the numpy engine", RuntimeWarning, stacklevel=2)
                engine = "numpy"
        self.engine = engine
        self.config = config
        self.seed = int(seed)
        self.scale = float(scale)
        self.streams = spawn_streams(self.seed)
        self.tier_names = config.tier_names()
        self.tier_in_county = np.array([t.in_county for t in config.tiers])
        self.tier_primary = np.array([t.primary_care for t in config.tiers])
        self.policies = list(policies or [])
        self.active_policies: list = []
        self.policy_state: dict = {}         # per-policy state kept on the model (sim.policies.common)
        self.attached: list = []             # levers whose books this model keeps (keep_books_for)
        self.emergency_hours: np.ndarray | None = None   # (V, F) travel hours for severe episodes (policies)
        self.emergency_from_severity = SEVERITY_LEVELS + 1
        self.communities: list = []          # medical communities holding budgets (sim.community, capitation)
        self.admission_screen: tuple | None = None   # (per-resident probability, facility mask): cost containment

        self.county: County = build_county(config)
        for policy in self.policies:
            policy.prepare(self)
        self.facilities = self.county.facilities
        n = int(round(config.population.size * self.scale))
        if n < 1:
            raise ValueError(f"scale {scale:g} leaves no resident of {config.population.size:,} to simulate")
        self.population: Population = synthesize(config, self.county, n, self.streams["population"])
        self.illness = IllnessModel(config, self.population)
        self.benefits = insurance.benefit_tables(config)
        self.choice_params = choice_rules.choice_params(config)
        self.referral_down = np.array([config.referral.down_probability.get(t, 0.0) for t in self.tier_names])
        self.tier_hospital = self.tier_in_county & ~self.tier_primary     # referring from here = referring out
        self.beds = Beds(len(self.facilities), config.care.max_los_days, compiled=engine == "fast")
        self.background = BackgroundLoad(len(self.facilities), self.scale, config.care.los_sd_log,
                                         config.care.max_los_days, self.facilities.nonresident)
        self.expected_wait = np.zeros(len(self.facilities))
        self.slot_carry = np.zeros(len(self.facilities))
        self.refresh_facilities()

        h = config.horizon
        self.warmup_days = simulated_warmup_days(h)
        self.steady_start = h.start_state == "steady"   # drawn on the first day (sim.steady), after policies
        self._steady_pending = self.steady_start
        self.start_date = h.start - dt.timedelta(days=self.warmup_days)
        self.n_days = self.warmup_days + (h.end - h.start).days + 1
        self.day = 0
        self.date = self.start_date
        self.records = new_records(self.n_days, len(self.facilities))
        self.daily = {k: np.zeros((self.n_days, 2), dtype=np.int64) for k in (
            "new", "followups", "continuations", "unmet", "displaced", "pending")}
        self.beds_open = np.zeros((self.n_days, len(self.facilities)))
        self.record_years = sorted({(h.start + dt.timedelta(days=i)).year for i in range(self.n_days - self.warmup_days)})
        self.village_served = np.zeros((len(self.record_years), len(self.county.village_weight),
                                        len(self.tier_names), 2), dtype=np.int64)   # by residence (sim.places)
        self.flows = np.zeros((len(self.record_years), len(self.tier_names), 2, len(PROGRAMS), SEVERITY_LEVELS,
                               len(PATHS), 2), dtype=np.int64)   # served: year x tier x care x programme x severity x path x filed
        self.catastrophic: dict[int, float] = {}
        self.pending = Batch.new(*(np.zeros(0, dtype=np.int64) for _ in range(4)), 0, np.zeros(0, dtype=bool),
                                 np.zeros((0, 2 * N_RN)))
        self.followup_day = np.zeros(0, dtype=np.int64)      # discharged patients referred down:
        self.followup_person = np.zeros(0, dtype=np.int64)   # their follow-up starts on followup_day,
        self.followup_rn = np.zeros((0, N_RN))               # with the numbers their episode kept for it
        self.running = True

        for fid in range(len(self.facilities)):
            Facility(self, fid)
        self.keep_books_for(self.policies)
        self._patients_pending = bool(patient_agents)

    def _ensure_patients(self) -> None:
        if getattr(self, "_patients_pending", False):
            self._patients_pending = False
            create_patient_agents(self, len(self.population))

    @property
    def agents(self) -> mesa.agent.AgentSet:
        self._ensure_patients()
        return super().agents

    @agents.setter
    def agents(self, value) -> None:
        mesa.Model.agents.fset(self, value)

    @property
    def agents_by_type(self) -> dict:
        self._ensure_patients()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._ensure_patients()
        return super().agent_types

    # ------------------------------------------------------------------ derived tables
    def refresh_facilities(self) -> None:
        """Recompute daily capacity and price/length-of-stay tables from the facility columns."""
        fac, cfg = self.facilities, self.config
        self.daily_slots = np.where(fac.unlimited, np.inf, fac.physicians * fac.visits_per_physician_day)
        staffed = np.where(np.isfinite(fac.beds_per_physician),
                           np.minimum(fac.beds, fac.physicians * np.where(np.isfinite(fac.beds_per_physician),
                                                                          fac.beds_per_physician, 0.0)), fac.beds)
        self.bed_capacity = np.where(fac.unlimited, np.inf, whole_beds(np.where(fac.unlimited, 0.0, staffed)))
        S, P = SEVERITY_LEVELS, len(PROGRAMS)
        tier_cost = np.zeros((len(cfg.tiers), 2, P, S))     # by tier: cost per care type, programme, severity
        tier_los = np.ones((len(cfg.tiers), P, S))
        for t, spec in enumerate(cfg.tiers):
            tier_cost[t, 0] = spec.outpatient_cost
            if spec.inpatient_cost is not None:
                tier_cost[t, 1, 0] = spec.inpatient_cost
                tier_los[t, 0] = spec.los_days
        tier_cost[:, 1, 1] = cfg.care.psychiatric.cost_per_admission
        tier_los[:, 1] = cfg.care.psychiatric.los_days
        cost, los = tier_cost[fac.tier], tier_los[fac.tier]
        self.mean_cost_fen = cost * fac.price_multiplier[:, None, None, None] * insurance.FEN
        if fac.care_price_multiplier is not None:                 # per care type (policies)
            self.mean_cost_fen *= fac.care_price_multiplier[:, :, None, None]
        self.mean_los = los
        offers = np.zeros((len(fac), 2, len(PROGRAMS)), dtype=bool)
        offers[:, 0, 0] = self.daily_slots > 0
        offers[:, 1, :] = (self.bed_capacity > 0)[:, None] & fac.programs
        self.offers = offers
        self.capability_p = fac.capability_by_program()            # (F, programmes)
        self.cost_sd = np.array([t.cost_sd_log for t in cfg.tiers])
        if hasattr(self, "chooser"):
            self.chooser.rebuild()
        elif hasattr(self, "choice_params"):
            self.chooser = ChoiceTables(self)

    def refresh_rules(self) -> None:
        """Rebuild insurance and choice tables from the (possibly policy-changed) config."""
        self.benefits = insurance.benefit_tables(self.config)
        self.choice_params = choice_rules.choice_params(self.config)
        self.referral_down = np.array([self.config.referral.down_probability.get(t, 0.0) for t in self.tier_names])
        self.chooser.rebuild()

    # ------------------------------------------------------------------ choice
    def choice_probabilities(self, row: int, care: str = "outpatient", severity: int = 1) -> dict[str, float]:
        """Choice probabilities of one resident for a new episode (the Patient view calls this)."""
        c = 0 if care == "outpatient" else 1
        b = Batch.new(np.array([row]), np.array([c]), np.array([severity]), np.array([0]), self.day,
                      np.array([False]), np.zeros((1, 2 * N_RN)))
        alt, tier, allowed, u, _ = self.chooser.utilities(b)
        p = choice_rules.probabilities(u, allowed, self.choice_params, tier)[0]
        return {self.facilities.name[f]: float(q) for f, q in zip(alt[0], p) if f >= 0 and q > 0}

    # ------------------------------------------------------------------ the day
    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        d, date = self.day, self.date
        for policy in self.policies:
            if policy.start == date or (d == 0 and policy.start < date and (policy.end is None or policy.end > date)):
                policy.apply(self)
                self.active_policies.append(policy)
            if policy.end is not None and policy.end == date and policy in self.active_policies:
                policy.revert(self)
                self.active_policies.remove(policy)
        for policy in self.active_policies:
            policy.daily(self)
        if self._steady_pending:
            from .steady import fill
            self._steady_pending = False
            fill(self)
        if date.month == 1 and date.day == 1 and d > 0:
            self._close_year(date.year - 1)

        self.beds.discharge(d)
        parts = [self.pending]
        due = self.followup_day == d
        follow = self.followup_person[due]
        if follow.size:
            n = follow.size
            rn = self._with_child_block(self.followup_rn[due])
            self.followup_day, self.followup_person = self.followup_day[~due], self.followup_person[~due]
            self.followup_rn = self.followup_rn[~due]
            self.daily["followups"][d, 0] = n
            parts.append(Batch.new(follow, np.zeros(n), np.ones(n), np.zeros(n), d, np.zeros(n, dtype=bool), rn,
                                   referred_down=np.ones(n, dtype=bool)))
        new = thin_by_risk(self.illness.draw(date, self.streams["illness"], inpatient_only=d < self.warmup_days),
                           self.population.inpatient_risk, self.streams["prevention"])
        parts.append(Batch.new(new.person, new.care, new.severity, new.program, d, np.zeros(new.person.size, bool),
                               new.rn, emergency=new.emergency))
        np.add.at(self.daily["new"][d], new.care, 1)
        batch = Batch.concat(parts)
        batch.excluded[:] = 0

        slots = self._todays_slots()
        beds_free = self.bed_capacity - self.beds.occupied
        season = self.illness.season_factor(date)
        self._background_demand = (self.background.draw_demand(np.concatenate([slots, beds_free]), season,
                                                               self.streams["background"])
                                   if self.background.active else None)
        self._log: dict[str, list] = {}
        n_f = len(self.facilities)
        self._day_counts = np.zeros((len(KERNEL_COUNTS), n_f, 2), dtype=np.int64)   # sim.kernels.bill
        self._day_wait = np.zeros((n_f, 2))
        for _ in range(self.config.choice.max_tries_per_day):
            if len(batch) == 0:
                break
            batch = (self._one_round(batch, d, slots, beds_free)
                     if self.engine == "numpy" or self.admission_screen is not None
                     else self._one_round_fast(batch, d, slots, beds_free))
        if self._background_demand is not None:
            self._background_share(np.zeros(0, dtype=np.int64), np.concatenate([slots, beds_free]), slots, beds_free, d)
        self._end_of_day(batch, d)
        self._close_day(d, season)
        self.day += 1
        self.date = self.date + dt.timedelta(days=1)
        if self.day >= self.n_days:
            self._close_year(self.date.year if self.date.month > 1 or self.date.day > 1 else self.date.year - 1)
            self.running = False

    def _todays_slots(self) -> np.ndarray:
        """Whole outpatient slots for today; fractions carry over, so the mean is exact at any scale."""
        finite = np.isfinite(self.daily_slots)
        self.slot_carry[finite] += self.daily_slots[finite]
        today = np.floor(self.slot_carry + 1e-9)
        self.slot_carry -= today
        return np.where(finite, today, np.inf)

    def _background_share(self, key: np.ndarray, capacity: np.ndarray, slots: np.ndarray, beds_free: np.ndarray,
                          d: int) -> np.ndarray:
        """Today's background patients (reduced scale) take their places beside the first round's
        simulated arrivals; returns the capacity left to ration among the simulated ones."""
        rng, n_f = self.streams["background"], slots.size
        residents, outsiders = self._background_demand
        mine, served = self.background.share(key, capacity, residents + outsiders, rng)
        self._background_demand = None
        if outsiders.any():
            self.records["nonresident_served"][d] += self.background.outsiders_served(
                served, residents, outsiders, rng).reshape(2, n_f).T
        slots -= served[:n_f]
        beds_free -= served[n_f:]
        fac, los = self.background.stays(served[n_f:], rng, self.mean_los[:, 0, 1])
        self.beds.admit(fac, los, d)
        return mine

    def _one_round(self, b: Batch, d: int, slots: np.ndarray, beds_free: np.ndarray) -> Batch:
        """One round of choice, filing, referral at the door, rationing and service; returns who is left."""
        fac, cfg = self.facilities, self.config
        alt, p_file, attempt, pick = self._choose(b)
        stuck = pick < 0
        left_over = []
        if stuck.any():
            left_over.append(b.take(np.flatnonzero(stuck)))
            go = np.flatnonzero(~stuck)
            b, pick, alt, p_file, attempt = b.take(go), pick[go], alt[go], p_file[go], attempt[go]
        pos = pick
        rows = np.arange(pos.size)
        f = alt[rows, pos]
        b.filed |= self._uniforms(b, attempt, RN_FILING, "referral") < p_file[rows, pos]
        care = b.care.astype(np.int64)
        self._tally("arrivals", f, care)

        tier = fac.tier[f]
        capability = self.capability_p[f, b.program]
        shortfall = np.maximum(0.0, b.severity - capability) * cfg.referral.up_slope
        ref_draw = self._uniforms(b, attempt, RN_DOOR, "referral")
        door = (care == 1) & (ref_draw < shortfall)
        if door.any():
            idx = np.flatnonzero(door)
            left_over.append(self._refer_up_at_door(b.take(idx), f[idx], tier[idx], capability[idx]))
            rest = np.flatnonzero(~door)
            b, f, pos, care, tier, ref_draw, shortfall, capability = (
                b.take(rest), f[rest], pos[rest], care[rest], tier[rest], ref_draw[rest], shortfall[rest],
                capability[rest])
        if self.admission_screen is not None:    # a budget-holding community admits fewer minor cases
            b, f, pos, care, tier, ref_draw, shortfall = self._screen_admissions(
                b, f, pos, care, tier, ref_draw, shortfall, left_over, d)

        capacity = np.concatenate([slots, beds_free])
        key = f + care * len(fac)
        if self._background_demand is not None:
            capacity = self._background_share(key, capacity, slots, beds_free, d)
        waited = d - b.onset
        served = ration(key, capacity, b.severity, waited, b.rn[:, RN_ORDER])

        rej = np.flatnonzero(~served)
        if rej.size:
            left_over.append(self._displace(b.take(rej), f[rej], care[rej], tier[rej], pos[rej], d))

        s = np.flatnonzero(served)
        if s.size == served.size:
            self._serve(b, f, care, tier, waited, d, slots, beds_free)
        elif s.size:
            self._serve(b.take(s), f[s], care[s], tier[s], waited[s], d, slots, beds_free)
        if s.size:
            out_ref = np.flatnonzero(served & (care == 0) & (ref_draw < shortfall))
            if out_ref.size:
                self._tally("referred_up_at", f[out_ref], 0)
                self._trust(b.person[out_ref], tier[out_ref], cfg.trust.referred_up)
                left_over.append(self._continue_up(b.person[out_ref], b.care[out_ref], b.severity[out_ref],
                                                   b.program[out_ref], b.rn[out_ref], capability[out_ref],
                                                   tier[out_ref], d))
        return Batch.concat(left_over) if left_over else b.take(np.zeros(0, dtype=np.int64))

    def _one_round_fast(self, b: Batch, d: int, slots: np.ndarray, beds_free: np.ndarray) -> Batch:
        """_one_round in three compiled calls (sim.kernels: utilities, choose_arrive, serve_round) with the
        episodes addressed by index; numpy takes the exponentials and normal quantiles between them, and
        the streams are drawn in the same order, so the numbers are _one_round's."""
        from . import kernels
        from .serving import _normal
        fac, cfg, pop, ch, t = self.facilities, self.config, self.population, self.chooser, self.benefits
        counts = self._day_counts
        trust_rate, up_signal = np.float32(cfg.trust.learning_rate), np.float32(cfg.trust.referred_up)
        alt, alt_tier, allowed, x, p_file = ch.utilities_fast(b, shifted=not self.choice_params.nested)
        weights = (choice_rules.choice_weights(self.choice_params, x, allowed, alt_tier) if self.choice_params.nested
                   else np.exp(x, out=x))
        attempt = b.attempt.copy()
        b.attempt = np.minimum(attempt + 1, 127).astype(np.int8)
        stuck, up, up_tier, up_capability, go, f, tier, care, capability, shortfall, ref_draw, pos = kernels.choose_arrive(
            weights, b.rn, attempt, b.emergency, b.person, b.program, b.severity, b.care, b.filed, pop.village,
            ch.alt_capability, ch.alt_hours, allowed, alt, p_file, fac.tier, self.capability_p,
            float(cfg.referral.up_slope), len(PROGRAMS), ATTEMPTS, RN_CHOICE, RN_FILING, RN_DOOR,
            self.streams["rechoice"], self.streams["referral"], counts[KERNEL_COUNTS.index("arrivals")],
            counts[KERNEL_COUNTS.index("referred_up_at")], pop.trust, up_signal, trust_rate)

        capacity = np.concatenate([slots, beds_free])
        key = f + care * len(fac)
        if self._background_demand is not None:
            capacity = self._background_share(key, capacity, slots, beds_free, d)
        waited = d - b.onset.take(go)
        # cost noise and stays for every arrival, the served keep theirs: numpy's exp gives an element the same bits
        sd = self.cost_sd[tier]
        noise = np.exp(sd * _normal(b.rn[go, RN_COST]) - 0.5 * sd ** 2)
        los = draw_los(self.mean_los[f, b.program.take(go), b.severity.take(go).astype(np.int64) - 1],
                       cfg.care.los_sd_log, cfg.care.max_los_days, _normal(b.rn[go, RN_LOS]))
        extra_down = pop.extra_down
        year = self.date.year - self.record_years[0]
        served, e, fund, home, home_los, out_ref = kernels.serve_round(
            key, capacity, go, f, care, tier, waited, shortfall, ref_draw, noise, los, b.person, b.program, b.severity,
            b.ref_tier, b.referred_down, b.filed, b.displaced, b.rn, RN_ORDER, RN_DOWN, self.mean_cost_fen, pop.scheme,
            t.deductible, t.ratio, t.covered, t.unfiled_penalty, t.annual_cap, pop.fund_ytd, pop.oop_ytd, slots,
            beds_free, d >= self.warmup_days, pop.village, self.village_served[year], self.flows[year],
            self.tier_hospital, fac.fixed_wait, counts, self._day_wait, pop.trust, float(cfg.trust.served), float(cfg.trust.per_wait_day), trust_rate,
            np.float32(cfg.trust.rejected), up_signal, counts[KERNEL_COUNTS.index("rejected")],
            counts[KERNEL_COUNTS.index("referred_up_at")], counts[KERNEL_COUNTS.index("los_days"), :, 1],
            self.daily["displaced"][d], self.beds.occupied, self.beds.calendar, d, self.referral_down,
            self.tier_primary, np.zeros(1) if extra_down is None else extra_down, extra_down is not None)
        for community in self.communities:
            community.charge(d, b.person.take(e), fund, self.tier_in_county[tier[served]])
        if home.size:
            self._follow_up(d + home_los, b.person.take(home), b.rn[home, N_RN:])
        cont = None
        if out_ref.size:
            i = go[out_ref]
            cont = self._continue_up(b.person.take(i), b.care.take(i), b.severity.take(i), b.program.take(i),
                                     b.rn[i], capability[out_ref], tier[out_ref], d)
        # who is left, in _one_round's order (stuck, referred up at the door, displaced, continuations), in one copy
        rej = np.flatnonzero(~served)
        away = go[rej]
        left = b.take(np.concatenate([stuck, up, away]) if up.size or away.size else stuck)
        if up.size:
            at = slice(stuck.size, stuck.size + up.size)
            left.ref_capability[at] = up_capability
            left.ref_tier[at] = up_tier
            left.referred_up[at] = True
            left.filed[at] = True
        if away.size:
            at = slice(stuck.size + up.size, None)
            left.displaced[at] = True
            left.excluded[at] |= np.left_shift(1, pos[rej]).astype(np.int64)
        return Batch.concat([left, cont]) if cont is not None else left

    def _end_of_day(self, b: Batch, d: int) -> None:
        patience = np.array([self.config.choice.patience_days["outpatient"],
                             self.config.choice.patience_days["inpatient"]])
        waited = d - b.onset
        keep = waited < patience[b.care]
        np.add.at(self.daily["unmet"][d], b.care[~keep], 1)
        self.pending = b.take(np.flatnonzero(keep))
        self.pending.excluded[:] = 0
        np.add.at(self.daily["pending"][d], self.pending.care, 1)

    # ------------------------------------------------------------------ running and results
    def fork(self, policies: list) -> "GradedCareModel":
        """A copy of this model as it stands before today's step, going on under `policies`: the same
        numbers as a model built with them, when none starts before today or acts before its start
        (sim.shared_prefix runs the days before the first start once for several scenarios).
        Levers that keep books from the first day take the books this model kept for them along (and
        this model stops keeping them); the copy drops those it kept for other levers."""
        early = [p for p in policies if p.start < self.date or p.acts_before_start()]
        if early:
            raise ValueError(f"cannot fork on {self.date}: {early[0].name} starts {early[0].start} or acts before it")
        unkept = [p for p in policies if p.keeps_books() and not _among(p, self.attached)]
        if unkept:
            raise ValueError(f"cannot fork for {unkept[0].name}: this model did not keep its books from the first "
                             "day (keep_books_for)")
        twin = copy.deepcopy(self, {id(p): p for p in policies})      # the levers themselves are not copied
        twin.policies = list(policies)
        for model, keep in ((twin, True), (self, False)):
            for p in model.attached:
                if _among(p, policies) != keep:
                    p.detach(model)
            model.attached = [p for p in model.attached if _among(p, policies) == keep]
        return twin

    def keep_books_for(self, policies: list) -> None:
        """Attach levers (`Policy.attach`: books from the first day, no effect on results): this model's
        own, or those of runs that will fork from it at their start (sim.shared_prefix)."""
        if self.day != 0:
            raise ValueError(f"books are kept from the first day; this model is on day {self.day}")
        for policy in policies:
            policy.attach(self)
            self.attached.append(policy)

    def run(self, progress=None) -> "GradedCareModel":
        """Run the whole horizon (warm-up included)."""
        while self.running:
            self.step()
            if progress is not None:
                progress(1)
        return self

    @property
    def dates(self) -> list[dt.date]:
        """Every simulated date, warm-up included (built once: results tables index it day by day)."""
        cached = getattr(self, "_dates", None)
        if cached is None or len(cached) != self.n_days or cached[0] != self.start_date:
            cached = self._dates = [self.start_date + dt.timedelta(days=i) for i in range(self.n_days)]
        return cached

    def indicators(self) -> pd.DataFrame:
        """Contract indicators per period ("2022", ..., "all") as a DataFrame (period x indicator)."""
        from .indicators import compute_indicators
        return compute_indicators(self)

    def timeseries(self) -> pd.DataFrame:
        """Daily counts per tier and care type over the recorded horizon (counts at full scale)."""
        from .indicators import daily_timeseries
        return daily_timeseries(self)

    def release(self) -> None:
        """Free Mesa's per-model id counter (Mesa 3.3 keeps every model alive through it)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)


def _among(policy, policies: list) -> bool:
    return any(policy is p for p in policies)
