"""`send_down_physicians` (下沉): physicians move from named county hospitals to named township
centres; their outpatient capacity and their capability move with them.

Mechanism (docs/policies.md):
- capacity: the hospital loses N physicians; the centre gains the same daily outpatient slots
  (N x the hospital's visits per physician-day), i.e. a seconded physician keeps his own
  throughput. The centre's physician count therefore rises by N x vpd_hospital / vpd_centre
  physician-equivalents.
- capability: a facility's capability is read as the physician-weighted mean of its physicians'
  skill. N physicians of the hospital's capability joining P physicians of the centre raise the
  centre's capability by weight x N x (cap_hospital - cap_centre) / (P + N), reached linearly over
  `ramp_days` (teams, equipment and referral habits take time). The hospital keeps its capability
  (it loses a small share of its staff, not of its skill mix).
- revert: the physicians return and the capability gain is withdrawn.
"""
from __future__ import annotations

from pydantic import ConfigDict, Field

from .base import Params, Policy, register
from .common import allowed, fid, hospital_names, ramp, township_names


class Move(Params):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", description="county hospital sending the physicians")
    to: str = Field(description="township centre receiving them")
    physicians: int = Field(ge=1, description="physicians moved")


class SendDownParams(Params):
    moves: list[Move] = Field(min_length=1)
    ramp_days: int = Field(90, ge=0, description="days until the capability gain is complete")
    capability_weight: float = Field(1.0, ge=0.0, le=1.0,
                                     description="share of the physicians' skill counted in the centre's capability")


@register
class SendDownPhysicians(Policy):
    name = "send_down_physicians"
    Params = SendDownParams

    def touched_facilities(self, config):
        return list(dict.fromkeys(name for m in self.params.moves for name in (m.from_, m.to)))

    def check(self, config):
        problems = []
        hospitals = hospital_names(config, in_county=True)
        towns = township_names(config)
        sent: dict[str, int] = {}
        staff = {h.name: h.physicians for h in config.facilities.hospitals}
        for i, m in enumerate(self.params.moves):
            if m.from_ not in hospitals:
                problems.append((f"moves.{i}.from", f"unknown county hospital '{m.from_}'; allowed: {allowed(hospitals)}"))
                continue
            if m.to not in towns:
                problems.append((f"moves.{i}.to", f"unknown township centre '{m.to}'; allowed: {allowed(towns)}"))
                continue
            sent[m.from_] = sent.get(m.from_, 0) + m.physicians
            if sent[m.from_] > staff[m.from_]:
                problems.append((f"moves.{i}.physicians",
                                 f"{m.from_} has {staff[m.from_]:g} physicians; cannot send {sent[m.from_]}"))
        return problems

    def apply(self, model):
        fac, st = model.facilities, self.state(model)
        gains: dict[int, list] = {}
        for m in self.params.moves:
            a, b = fid(model, m.from_), fid(model, m.to)
            equivalents = m.physicians * fac.visits_per_physician_day[a] / fac.visits_per_physician_day[b]
            gains.setdefault(b, []).append((a, m.physicians, equivalents))
        st["moves"], st["full_gain"], st["applied"] = [], {}, {}
        for b, moves in gains.items():
            base_phys, base_cap = fac.physicians[b], fac.capability[b]
            n = sum(k for _, k, _ in moves)
            skill = sum(k * max(0.0, fac.capability[a] - base_cap) for a, k, _ in moves)
            st["full_gain"][b] = self.params.capability_weight * skill / (base_phys + n) if base_phys + n > 0 else 0.0
            st["applied"][b] = 0.0
            for a, k, eq in moves:
                fac.physicians[a] -= k
                fac.physicians[b] += eq
                st["moves"].append((a, b, k, eq))
        self._capability(model)
        model.refresh_facilities()

    def _capability(self, model) -> bool:
        st, fac = self.state(model), model.facilities
        progress = ramp(self.days_active(model), self.params.ramp_days)
        changed = False
        for b, full in st["full_gain"].items():
            target = full * progress
            if target != st["applied"][b]:
                fac.capability[b] += target - st["applied"][b]
                st["applied"][b] = target
                changed = True
        return changed

    def daily(self, model):
        if self._capability(model):
            model.refresh_facilities()

    def revert(self, model):
        st, fac = self.state(model), model.facilities
        for a, b, k, eq in st["moves"]:
            fac.physicians[a] += k
            fac.physicians[b] -= eq
        for b, applied in st["applied"].items():
            fac.capability[b] -= applied
            st["applied"][b] = 0.0
        model.refresh_facilities()
