"""A naive Mesa implementation of the illness-and-choice core, the baseline for benchmarks/bench.py.

Classic Mesa style: one `mesa.Agent` per resident holding its own attributes, every agent stepped
every day with `model.agents.shuffle_do("step")`, and each agent doing its own work in Python:

  1. fall ill today? (outpatient and inpatient rates by age band and chronic status, the same
     chronic multipliers and seasonality as sim.illness);
  2. if ill: draw severity (and, for an admission, the psychiatric programme), compute the
     multinomial-logit utility of every facility in its village's choice set (the config's
     choice parameters; the county's choice_set and travel_hours from sim.county.build_county;
     out-of-pocket cost after the scheme's deductible, ratio, unfiled penalty and annual cap),
     draw a facility, and take it if a daily outpatient slot or a bed is free, else drop that
     facility and choose again (up to `choice.max_tries_per_day` times);
  3. pay (log-normal cost around the mean, the same insurance rules) and, if admitted, hold the
     bed for a drawn log-normal length of stay.

Capacity is kept in plain dicts and counters. Draws come from the model's `random.Random(seed)`.
Left out on purpose (not part of the core workload): referral up and down, trust, waiting lists
across days, expected-wait learning, serving order by severity, prevention policies and the
per-facility daily records. All per-resident work is plain Python arithmetic: no numpy over agents.
"""
from __future__ import annotations

import bisect
import datetime as dt
import gc
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import mesa
import numpy as np

from sim.choice import choice_params
from sim.config import PROGRAMS, SEVERITY_LEVELS, CountyConfig
from sim.county import build_county
from sim.insurance import FEN, benefit_tables

OUTPATIENT, INPATIENT = 0, 1


@dataclass
class NaiveFacility:
    """One facility as plain Python values (not an agent: it has nothing to do each day)."""
    fid: int
    tier: int
    primary: bool
    capability: float
    mean_cost: list[list[list[float]]]   # [care][program][severity - 1] -> yuan
    cost_sd: float
    mean_los: list[list[float]]          # [program][severity - 1] -> days
    offers: list[list[bool]]             # [care][program]
    serves_band: list[bool]              # [age band]
    daily_slots: float                   # outpatient visits a day (scaled); inf = unlimited
    beds: float                          # beds (scaled); inf = unlimited


class NaiveResident(mesa.Agent):
    """A resident with its own attributes; `step` decides illness and care for today."""

    def __init__(self, model: "NaiveMesaModel", age_band: int, chronic: bool, scheme: int,
                 income_band: int, village: int, contracted: bool) -> None:
        super().__init__(model)
        self.age_band = age_band
        self.chronic = chronic
        self.scheme = scheme
        self.income_band = income_band
        self.village = village
        self.contracted = contracted
        rate_out, rate_in = model.annual_rates[age_band][int(chronic)]
        self.p_out = rate_out / 365.0
        self.p_in = rate_in / 365.0
        self.fund_ytd = [0, 0]           # fen paid by the fund this year, [outpatient, inpatient]
        self.oop_ytd = 0

    def step(self) -> None:
        """Fall ill today with the seasonal daily probability; if so, seek care."""
        model = self.model
        u = model.random.random()
        season = model.season_today
        p_out = self.p_out * season
        if u < p_out:
            self.seek_care(OUTPATIENT)
        elif u < p_out + self.p_in * season:
            self.seek_care(INPATIENT)

    def new_year(self) -> None:
        """Reset the annual insurance accounts (1 January)."""
        self.fund_ytd = [0, 0]
        self.oop_ytd = 0

    def _fund(self, cost_fen: int, care: int, tier: int, filed: bool) -> int:
        """Fund payment (fen) under the scheme's deductible, ratio, unfiled penalty and annual cap."""
        deductible, ratio, penalty = self.model.benefit[self.scheme][care][tier]
        if not filed:
            ratio = min(1.0, max(0.0, ratio - penalty))
        fund = math.floor(max(cost_fen - deductible, 0) * ratio)
        cap_left = self.model.annual_cap[self.scheme][care] - self.fund_ytd[care]
        return min(fund, max(cap_left, 0))

    def seek_care(self, care: int) -> None:
        """Draw the episode, choose a facility by logit (retrying when full) and be served."""
        model = self.model
        rng = model.random
        p = model.params
        severity = 1 + bisect.bisect_left(model.severity_cum[care], rng.random())
        program = 1 if care == INPATIENT and rng.random() < model.psychiatric_share else 0
        filed = rng.random() < 0.5            # the vectorised model decides filing; a coin flip costs the same here
        group = p["group"][severity - 1]
        beta = p["beta"][care][group]
        income = p["income_factor"][self.income_band]
        constant, travel = p["constant"][care], p["travel"][care][group]
        premium, shortfall = p["capability"][care][group], p["shortfall"][care]

        options: list[NaiveFacility] = []
        utility: list[float] = []
        for fid, hours in model.village_options[self.village]:
            fac = model.facilities[fid]
            if not fac.offers[care][program] or not fac.serves_band[self.age_band]:
                continue
            cost_fen = round(fac.mean_cost[care][program][severity - 1] * FEN)
            oop_yuan = (cost_fen - self._fund(cost_fen, care, fac.tier, filed)) / FEN
            yuan = (constant[fac.tier] + premium * fac.capability - shortfall * max(0.0, severity - fac.capability)
                    - travel * hours - income * oop_yuan)
            if self.contracted and fac.primary:
                yuan += p["contract_primary"][care]
            u = beta * yuan
            options.append(fac)
            utility.append(u)

        for _ in range(model.max_tries):
            if not options:
                break
            top = max(utility)
            weights = [math.exp(u - top) for u in utility]
            draw = rng.random() * sum(weights)
            pick, acc = len(weights) - 1, 0.0
            for i, w in enumerate(weights):
                acc += w
                if draw < acc:
                    pick = i
                    break
            fac = options[pick]
            if model.has_room(fac, care):
                self._serve(fac, care, program, severity, filed)
                return
            del options[pick], utility[pick]
        model.unmet[care] += 1

    def _serve(self, fac: NaiveFacility, care: int, program: int, severity: int, filed: bool) -> None:
        """Pay for the episode and, if admitted, hold a bed for a drawn length of stay."""
        model = self.model
        rng = model.random
        sd = fac.cost_sd
        mean = fac.mean_cost[care][program][severity - 1] * FEN
        cost_fen = max(1, round(mean * rng.lognormvariate(-0.5 * sd * sd, sd)))
        fund = self._fund(cost_fen, care, fac.tier, filed)
        self.fund_ytd[care] += fund
        self.oop_ytd += cost_fen - fund
        model.cost_fen += cost_fen
        if care == OUTPATIENT:
            model.slots_left[fac.fid] -= 1
            model.visits[fac.tier] += 1
        else:
            mu = math.log(fac.mean_los[program][severity - 1]) - 0.5 * model.los_sd ** 2
            los = min(model.max_los, max(1, round(rng.lognormvariate(mu, model.los_sd))))
            model.occupied[fac.fid] += 1
            model.discharges[model.day + los][fac.fid] += 1
            model.admissions[fac.tier] += 1


class NaiveMesaModel(mesa.Model):
    """County, residents as agents and facilities; one step is one day.

    config: a CountyConfig (sim.load_config); seed: seeds `self.random` (random.Random);
    scale: fraction of the population simulated, capacities scaled with it;
    start: first simulated date (default: the config's horizon start, i.e. no warm-up).
    """

    def __init__(self, config: CountyConfig, seed: int = 1, scale: float = 1.0,
                 start: dt.date | None = None) -> None:
        super().__init__(seed=int(seed))
        if not 0 < scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        self.config = config
        self.scale = float(scale)
        self.start_date = start or config.horizon.start
        self.date = self.start_date
        self.day = 0
        self._tables(config)
        self.slots_left: dict[int, float] = {}
        self.occupied: Counter[int] = Counter()
        self.discharges: defaultdict[int, Counter[int]] = defaultdict(Counter)
        self.visits: Counter[int] = Counter()
        self.admissions: Counter[int] = Counter()
        self.unmet = [0, 0]
        self.cost_fen = 0
        self.season_today = 1.0
        self.n_residents = max(1, int(round(config.population.size * self.scale)))
        self._create_residents(self.n_residents)

    # ------------------------------------------------------------------ set-up
    def _tables(self, cfg: CountyConfig) -> None:
        """Config and county as plain Python lists and dicts."""
        county = build_county(cfg)
        fac = county.facilities
        tiers = cfg.tiers
        S = SEVERITY_LEVELS
        self.tier_names = cfg.tier_names()
        self.facilities: list[NaiveFacility] = []
        for f in range(len(fac)):
            spec = tiers[int(fac.tier[f])]
            price = float(fac.price_multiplier[f])
            psych = cfg.care.psychiatric
            out_cost = [c * price for c in spec.outpatient_cost]
            in_cost = [c * price for c in spec.inpatient_cost] if spec.inpatient_cost else [1.0] * S
            los = list(spec.los_days) if spec.los_days else [1.0] * S
            unlimited = bool(fac.unlimited[f])
            slots = math.inf if unlimited else float(fac.physicians[f] * fac.visits_per_physician_day[f]) * self.scale
            beds = math.inf if unlimited else float(fac.beds[f]) * self.scale
            programs = [bool(x) for x in fac.programs[f]]
            self.facilities.append(NaiveFacility(
                fid=f, tier=int(fac.tier[f]), primary=spec.primary_care, capability=float(fac.capability[f]),
                mean_cost=[[out_cost, out_cost], [in_cost, [psych.cost_per_admission * price] * S]],
                cost_sd=spec.cost_sd_log, mean_los=[los, [psych.los_days] * S],
                offers=[[slots > 0, False], [beds > 0 and programs[i] for i in range(len(PROGRAMS))]],
                serves_band=[bool(x) for x in fac.serves_band[f]], daily_slots=slots, beds=beds))
        self.village_options: list[list[tuple[int, float]]] = [
            [(int(f), float(county.travel_hours[v, f])) for f in county.choice_set[v] if f >= 0]
            for v in range(county.choice_set.shape[0])]
        self.village_cum = _cumulative([float(w) for w in county.village_weight])

        pop, ill = cfg.population, cfg.illness
        self.age_cum = _cumulative([b.share for b in pop.age_bands])
        self.prevalence = [b.chronic_prevalence for b in pop.age_bands]
        self.contract_rate = [[b.contract_rate["other"], b.contract_rate["chronic"]] for b in pop.age_bands]
        self.income_cum = _cumulative([b.share for b in pop.income_bands])
        schemes = list(cfg.insurance.schemes)
        self.scheme_cum = _cumulative([pop.scheme_shares.get(s, 0.0) for s in schemes])
        self.annual_rates = [
            [(b.outpatient_rate * (ill.chronic_multiplier["outpatient"] if chronic else 1.0),
              b.inpatient_rate * (ill.chronic_multiplier["inpatient"] if chronic else 1.0)) for chronic in (0, 1)]
            for b in pop.age_bands]
        self.severity_cum = [_cumulative(ill.severity["outpatient"])[:-1], _cumulative(ill.severity["inpatient"])[:-1]]
        self.psychiatric_share = ill.psychiatric_share
        self.season = ill.seasonality

        cp = choice_params(cfg)
        self.params = {
            "beta": cp.beta.tolist(), "group": cp.group.tolist(), "constant": cp.constant.tolist(),
            "income_factor": cp.income_factor.tolist(), "travel": cp.travel.tolist(),
            "capability": cp.capability.tolist(), "shortfall": cp.shortfall.tolist(),
            "contract_primary": cp.contract_primary.tolist()}
        bt = benefit_tables(cfg)
        self.benefit = [[[(int(bt.deductible[s, c, t]), float(bt.ratio[s, c, t]), float(bt.unfiled_penalty[s, t]))
                          for t in range(len(tiers))] for c in range(2)] for s in range(len(schemes))]
        self.annual_cap = bt.annual_cap.tolist()
        self.max_tries = cfg.choice.max_tries_per_day
        self.los_sd = cfg.care.los_sd_log
        self.max_los = cfg.care.max_los_days

    def _create_residents(self, n: int) -> None:
        """Draw each resident's attributes in Python and create its agent (GC paused, as in sim)."""
        rng = self.random
        enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(n):
                age = bisect.bisect_right(self.age_cum, rng.random() * self.age_cum[-1])
                chronic = rng.random() < self.prevalence[age]
                scheme = bisect.bisect_right(self.scheme_cum, rng.random() * self.scheme_cum[-1])
                income = bisect.bisect_right(self.income_cum, rng.random() * self.income_cum[-1])
                village = bisect.bisect_right(self.village_cum, rng.random() * self.village_cum[-1])
                contracted = rng.random() < self.contract_rate[age][int(chronic)]
                NaiveResident(self, age, chronic, scheme, income, village, contracted)
        finally:
            if enabled:
                gc.enable()

    # ------------------------------------------------------------------ the day
    def has_room(self, fac: NaiveFacility, care: int) -> bool:
        """A free outpatient slot today, or a free bed."""
        if care == OUTPATIENT:
            return self.slots_left[fac.fid] >= 1
        return fac.beds - self.occupied[fac.fid] >= 1

    def step(self) -> None:
        """Free today's discharges, reset slots, then step every resident in random order."""
        if self.date.month == 1 and self.date.day == 1 and self.day > 0:
            self.agents.do("new_year")
        for fid, n in self.discharges.pop(self.day, Counter()).items():
            self.occupied[fid] -= n
        self.slots_left = {f.fid: f.daily_slots for f in self.facilities}
        doy = self.date.timetuple().tm_yday
        s = self.season
        self.season_today = 1.0 + s.amplitude * math.cos(2.0 * math.pi * (doy - s.peak_day_of_year) / 365.25)
        self.agents.shuffle_do("step")
        self.day += 1
        self.date += dt.timedelta(days=1)

    def run_days(self, days: int) -> "NaiveMesaModel":
        for _ in range(days):
            self.step()
        return self

    def totals_per_year(self) -> dict[str, float]:
        """Outpatient visits and admissions so far, annualised (x 365 / days) at full population."""
        k = 365.0 / max(self.day, 1) / self.scale
        return {"outpatient_visits": sum(self.visits.values()) * k,
                "admissions": sum(self.admissions.values()) * k,
                "unmet_episodes": sum(self.unmet) * k,
                "by_tier_outpatient": {self.tier_names[t]: n * k for t, n in sorted(self.visits.items())},
                "by_tier_admissions": {self.tier_names[t]: n * k for t, n in sorted(self.admissions.items())}}

    def release(self) -> None:
        """Free Mesa 3.3's per-model id counter (it keeps the model alive otherwise)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)


def _cumulative(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
