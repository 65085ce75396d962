"""The stationary start (`horizon.start_state: steady`): the state a long warm-up builds, drawn from
its stationary distribution instead of simulated day by day (issue 13 item 2; docs/performance.md,
"No warm-up cost").

What the warm-up builds, and how it is drawn here (all on the model's own "steady" stream, so every
other stream draws exactly what it would draw without it):

1. Expected flows. A pool of episodes from the illness model (`IllnessModel.draw` at POOL_EPISODES
   episodes' worth of today's rates) goes through the model's own choice code (`ChoiceTables.utilities`,
   `choice.probabilities`, `nearest_capable` for emergencies) in expectation instead of by draws:
   each alternative's probability, referral up at the door (probability min(1, shortfall x up_slope),
   the child choosing again among more capable facilities), a full facility's rejections choosing
   again without it, an outpatient served below its severity continuing upwards. Prevention thins
   by weight (inpatient risk). Result: expected simulated arrivals per facility and care type a day,
   and the expected admissions by (episode, facility).
2. Beds. Each facility's offered load is rho = sum of admissions a day x mean stay, over the
   simulated admissions, the background residents of a reduced-scale run ((1 - s) / s times them,
   sim.background) and the patients from outside the county. Occupied beds ~ min(Poisson(rho),
   capacity) (Little's law, M/G/inf, capped); each occupied bed's type is drawn in proportion to its
   admissions x mean stay (length bias) and its remaining stay from the equilibrium residual
   distribution P(R = r) = P(L > r) / E[L] of that type's discrete stay distribution (the same
   rounded log-normal as sim.capacity.draw_los). Beds are admitted into `Beds` on their discharge
   days; a simulated patient referred down at discharge gets the follow-up the model would give.
   A facility's acceptance share a = min(1, capacity / rho) (fluid approximation) feeds back into
   step 1 (rejections choose again elsewhere); FIXED_POINT_ROUNDS rounds.
3. Background and waits. The background's smoothed simulated arrivals (both care types, season
   divided out; outpatients only at reduced scale, where they are used), their bias weights and its
   stay memories are set to their expected values, so the background stream is right from the first
   day (the warm-up learns inpatient arrivals only; outpatient ones start cold). Expected waits
   start at 0: they hold only the wait capacity causes (a fixed wait outside the county is added
   by the choice itself), and capacity binds on few days (docs/calibration.md).
4. What is left is simulated: STEADY_WARMUP_DAYS days of the ordinary warm-up (pending episodes,
   queues, the discharges of the first days). Trust is left at its initial values: 120 warm-up
   days move it by 0.0003 on average (6 % of residents, by 0.005 each; seed county, scale 0.05).
   Insurance accounts start at zero, as they do on 1 January after a warm-up; a horizon starting
   mid-year starts them at zero too, where a warm-up would carry its inpatient-only spending.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from . import choice as choice_rules
from .deferred import special
from .illness import N_RN

STEADY_WARMUP_DAYS = 7        # simulated days after the fill: pending episodes and waits (assumption)
POOL_EPISODES = 6_000         # expected pool size per care type (a hospital's rate within a few per cent)
FIXED_POINT_ROUNDS = 2        # at most: acceptance shares of full facilities and waits (step 2 -> step 1)
RARE_CHOICE = 1e-4            # alternatives chosen less often are left out (at most K x 1e-4 of the flow)
MAX_LEVELS = 8                # referral and displacement generations followed at most
NEGLIGIBLE = 1e-3             # shares not followed: a referral or displacement below this of its episode,
                              # a generation below this of the pool


def simulated_warmup_days(horizon) -> int:
    """Days the model simulates before `horizon.start`: all of warmup_days, or a few after a steady fill."""
    if getattr(horizon, "start_state", "warmup") == "steady":
        return min(horizon.warmup_days, STEADY_WARMUP_DAYS)
    return horizon.warmup_days


def los_pmf(mean: np.ndarray, sd_log: float, max_days: int) -> np.ndarray:
    """(..., max_days + 1) probabilities of each whole stay 0..max_days under sim.capacity.draw_los."""
    mu = np.log(np.asarray(mean, dtype=float))[..., None] - 0.5 * sd_log ** 2
    edges = np.log(np.arange(1, max_days) + 0.5)               # rint boundaries between l and l + 1
    cdf = special.ndtr((edges - mu) / sd_log) if sd_log > 0 else (edges >= mu).astype(float)
    inner = np.diff(cdf, axis=-1, prepend=0.0, append=1.0)      # P(L = 1..max_days)
    return np.concatenate([np.zeros(inner.shape[:-1] + (1,)), inner], axis=-1)


def seasonal_stays(pmf: np.ndarray, past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For stays with distribution `pmf` (n, M + 1) and admissions proportional to `past` (M,) k days before
    the eve (k = 0..M-1): the beds occupied at the end of the eve per admission a day, sum_k past_k P(L > k),
    and the weights of their remaining stays r = 0..M-1 (discharged on day r), sum_k past_k P(L = r + k + 1)."""
    q = pmf[:, 1:]
    m = q.shape[1]
    n = 2 * m
    full = np.fft.irfft(np.fft.rfft(q, n, axis=1) * np.fft.rfft(past[::-1], n)[None, :], n, axis=1)
    weights = np.maximum(full[:, m - 1:2 * m - 1], 0.0)      # the correlation of q with past, by FFT
    return weights.sum(axis=1), weights


def _pool(model, care: int, rng: np.random.Generator, date: dt.date):
    """A pool of new episodes of one care type and each one's expected count a day, season divided out."""
    from .episodes import Batch
    ill = model.illness
    season = ill.season_factor(date)
    per_day = float((ill.annual_rates[:, care] * ill.sizes).sum()) * season / 365.0
    days = POOL_EPISODES / max(per_day, 1e-12)
    ep = ill.draw(date, rng, inpatient_only=care == 1, days=days)
    keep = np.flatnonzero(ep.care == care)
    weight = np.full(keep.size, 1.0 / (days * season))
    person = ep.person[keep]
    if care == 1 and model.population.inpatient_risk is not None:
        weight = weight * model.population.inpatient_risk[person]
    b = Batch.new(person, ep.care[keep], ep.severity[keep], ep.program[keep], 0, np.zeros(keep.size, dtype=bool),
                  ep.rn[keep], emergency=ep.emergency[keep])
    return b, weight


def expected_flows(model, b, weight: np.ndarray, accept: np.ndarray):
    """Expected arrivals (F, 2) the background observes (served + rejected) and the inpatient demand for
    beds (pool episode, facility, expected count a day before rationing) of a pool, following referrals
    and displacements. accept: (F,) share of inpatient arrivals a facility admits (1 where beds are free)."""
    from .episodes import Batch
    F = len(model.facilities)
    fac, slope = model.facilities, float(model.config.referral.up_slope)
    arrivals = np.zeros((F, 2))
    adm_e, adm_f, adm_w = [], [], []
    origin = np.arange(len(b))
    floor = NEGLIGIBLE * float(weight.mean()) if weight.size else 0.0
    total = float(weight.sum())
    for level in range(MAX_LEVELS):
        if len(b) == 0 or weight.sum() < NEGLIGIBLE * total:
            break
        alt, tier, allowed, u, _ = model.chooser.utilities(b)
        p = choice_rules.probabilities(u, allowed, model.choice_params, tier)
        if level == 0 and b.emergency.any():
            i = np.flatnonzero(b.emergency)
            pick = model.chooser.nearest_capable(b.take(i), alt[i], allowed[i])
            p[i] = 0.0
            ok = pick >= 0
            p[i[ok], pick[ok]] = 1.0
        e, k = np.nonzero(p > RARE_CHOICE)
        f = alt[e, k]
        w = weight[e] * p[e, k]
        care = b.care[e].astype(np.int64)
        capability = model.capability_p[f, b.program[e]]
        s = np.minimum(1.0, np.maximum(0.0, b.severity[e] - capability) * slope)
        inp = care == 1
        seen = np.where(inp, w * (1.0 - s), w)
        arrivals += np.bincount(f * 2 + care, weights=seen, minlength=2 * F).reshape(F, 2)
        a = np.where(inp, accept[f], 1.0)
        adm = inp & (a > 0)
        adm_e.append(origin[e[adm]])
        adm_f.append(f[adm])
        adm_w.append((w * (1.0 - s))[adm])
        children, child_w, child_o = [], [], []
        up = np.flatnonzero(s > 0)
        if up.size:
            c = b.take(e[up])
            n = up.size
            children.append(Batch(c.person, c.care, c.severity, c.program, c.onset, capability[up].astype(float),
                                  np.ones(n, dtype=bool), np.ones(n, dtype=bool), np.zeros(n, dtype=bool),
                                  np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), c.attempt, c.emergency,
                                  fac.tier[f[up]].astype(np.int8), c.rn))
            child_w.append(w[up] * s[up])
            child_o.append(origin[e[up]])
        away = np.flatnonzero(inp & (a < 1.0))
        if away.size:
            c = b.take(e[away])
            c.displaced[:] = True
            c.excluded = c.excluded | np.left_shift(1, k[away]).astype(np.int64)
            children.append(c)
            child_w.append(w[away] * (1.0 - s[away]) * (1.0 - a[away]))
            child_o.append(origin[e[away]])
        if not children:
            break
        b, weight, origin = Batch.concat(children), np.concatenate(child_w), np.concatenate(child_o)
        live = np.flatnonzero(weight > floor)
        b, weight, origin = b.take(live), weight[live], origin[live]
    return arrivals, np.concatenate(adm_e), np.concatenate(adm_f), np.concatenate(adm_w)


def _residuals(weights: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Remaining stays r with P(r) proportional to weights[row, r] (see seasonal_stays)."""
    u = rng.random(row.size)
    out = np.zeros(row.size, dtype=np.int64)
    cdf = np.cumsum(weights, axis=-1)
    for r in np.unique(row):
        i = np.flatnonzero(row == r)
        out[i] = np.minimum(np.searchsorted(cdf[r], u[i] * cdf[r, -1], side="right"), cdf.shape[1] - 1)
    return out


def fill(model) -> None:
    """Put the model in its stationary state on the eve of its first simulated day (see the module)."""
    model.steady_expected = expected_state(model, model.streams["steady"])
    _occupy(model, model.steady_expected, model.streams["steady"])


def expected_state(model, rng: np.random.Generator) -> dict:
    """Expected daily flows on the eve of the first day: arrivals the background observes (F, 2, season
    divided out), simulated admissions and mean stays, offered bed load (steps 1 and 2 of the module).
    Expected waits stay at 0 (step 3)."""
    cfg, bg = model.config, model.background
    F = len(model.facilities)
    eve = model.start_date - dt.timedelta(days=1)
    sd, max_los = cfg.care.los_sd_log, cfg.care.max_los_days
    pool_in, w_in = _pool(model, 1, rng, eve)

    cap = model.bed_capacity
    limited = np.isfinite(cap)
    ratio = bg.ratio if bg.active else 0.0
    past = np.array([model.illness.season_factor(eve - dt.timedelta(days=k)) for k in range(max_los)])
    means, stay_type = np.unique(model.mean_los.reshape(-1), return_inverse=True)  # a few distinct mean stays
    pmf_table = los_pmf(means, sd, max_los)
    mean_table = pmf_table @ np.arange(max_los + 1.0)
    load_table, residual_table = seasonal_stays(pmf_table, past)
    accept = np.ones(F)
    model.expected_wait[:] = 0.0
    for _ in range(FIXED_POINT_ROUNDS):
        arr_in, e, f, demand = expected_flows(model, pool_in, w_in, accept)
        stay_key = stay_type.reshape(-1)[(f * model.mean_los.shape[1] + pool_in.program[e]) * model.mean_los.shape[2]
                                         + pool_in.severity[e].astype(np.int64) - 1]
        admitted = demand * accept[f]                                  # carried; offered = demand
        lam_sim = np.bincount(f, weights=admitted, minlength=F)        # a day, season divided out
        sim_stay = np.divide(np.bincount(f, weights=admitted * mean_table[stay_key], minlength=F), lam_sim,
                             out=model.mean_los[:, 0, 1].astype(float).copy(), where=lam_sim > 1e-12)
        lam_bg = np.where(limited, ratio * arr_in[:, 1] + bg.nonresident_daily[:, 1], 0.0)
        loaded = np.flatnonzero(lam_bg > 0)                            # background stays (sim.background.stays)
        bg_load, bg_residual = np.zeros(F), np.zeros((F, max_los))
        bg_load[loaded], bg_residual[loaded] = seasonal_stays(los_pmf(np.maximum(sim_stay[loaded], 1.0), sd, max_los),
                                                              past)
        rho_sim = np.bincount(f, weights=demand * load_table[stay_key], minlength=F)
        rho = rho_sim + lam_bg * bg_load                               # offered: beds at the end of the eve
        before = accept
        accept = np.where(limited & (rho > 0),
                          np.minimum(1.0, np.where(limited, cap, 0.0) / np.maximum(rho, 1e-12)), 1.0)
        if np.allclose(accept, before, rtol=0.0, atol=1e-3):
            break
    arr_out = expected_flows(model, *_pool(model, 0, rng, eve), np.ones(F))[0] if ratio > 0 else np.zeros((F, 2))
    return dict(arrivals=np.stack([arr_out[:, 0], arr_in[:, 1]], axis=1), admitted=lam_sim * past[0],
                sim_stay=sim_stay, rho=rho, rho_sim=rho_sim, residual_table=residual_table, bg_residual=bg_residual,
                stay_key=stay_key, demand=demand, facility=f, person=pool_in.person[e],
                load=load_table[stay_key], accept=accept, background=lam_bg, wait=model.expected_wait.copy())


def _occupy(model, x: dict, rng: np.random.Generator) -> None:
    """Draw occupied beds, their discharge days and follow-ups; set the background's memories (steps 2, 3)."""
    fac, bg, beds = model.facilities, model.background, model.beds
    F = len(fac)
    cap = model.bed_capacity
    limited = np.isfinite(cap)
    rho, rho_sim, f, demand, stay_key = x["rho"], x["rho_sim"], x["facility"], x["demand"], x["stay_key"]
    n_beds = rng.poisson(rho)
    n_beds = np.where(limited, np.minimum(n_beds, np.where(limited, cap, 0)), n_beds).astype(np.int64)
    n_sim = rng.binomial(n_beds, np.divide(rho_sim, rho, out=np.zeros(F), where=rho > 0))
    n_bg = n_beds - n_sim

    # simulated beds: an admission type in proportion to admissions x mean stay, then its remaining stay
    order = np.argsort(f, kind="stable")
    cum = np.cumsum((demand * x["load"])[order])
    bounds = np.searchsorted(f[order], np.arange(F + 1))
    bed_fac = np.repeat(np.arange(F), n_sim)
    first, last = bounds[bed_fac], bounds[bed_fac + 1] - 1
    lo = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0.0)
    target = lo + rng.random(bed_fac.size) * (cum[np.maximum(last, 0)] - lo)
    pick = order[np.clip(np.searchsorted(cum, target, side="right"), first, np.maximum(last, first))]
    residual = _residuals(x["residual_table"], stay_key[pick], rng)
    person = x["person"][pick]

    bg_fac = np.repeat(np.arange(F), n_bg)
    bg_residual = _residuals(x["bg_residual"], bg_fac, rng)

    stays = np.concatenate([residual, bg_residual])
    where = np.concatenate([bed_fac, bg_fac])
    staying = stays >= 1                                   # R = 0 leave at the first day's discharges
    beds.admit(where[staying], stays[staying], 0)

    tier = fac.tier[bed_fac]
    down = rng.random(person.size) < model._down_probability(tier, person)
    model.followup_day = np.concatenate([model.followup_day, residual[down].astype(np.int64)])
    model.followup_person = np.concatenate([model.followup_person, person[down]])
    model.followup_rn = np.concatenate([model.followup_rn, rng.random((int(down.sum()), N_RN))])

    if bg.active:
        bg.arrivals[:] = x["arrivals"]
        bg.weight[:] = 1.0
        bg.stay_admissions[:] = x["admitted"]
        bg.stay_days[:] = x["admitted"] * x["sim_stay"]
