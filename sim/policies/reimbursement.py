"""`reimbursement`: change deductibles, ratios, covered shares and caps per tier and care type,
and the referral-filing rule (points lost without a filed referral; how often patients file).

Mechanism: the insurance schedule in the model's (copied) config is changed and the benefit and
choice tables rebuilt, so both what patients expect to pay (choice) and what they pay (settlement)
change. Reverting restores exactly the entries this policy changed.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..config import CARE_TYPES, Benefit
from .base import Params, Policy, register
from .common import check_names, check_tier_names, own_config


class BenefitChange(Params):
    deductible: float | None = Field(None, ge=0.0, description="起付线 per episode, yuan")
    ratio: float | None = Field(None, ge=0.0, le=1.0, description="new 报销比例")
    ratio_change: float | None = Field(None, ge=-1.0, le=1.0, description="points added to the ratio (0.05 = +5)")
    covered_share: float | None = Field(None, ge=0.0, le=1.0, description="share of the bill within policy scope")


class ReimbursementParams(Params):
    schemes: list[str] | None = Field(None, description="insurance schemes changed (default: all)")
    inpatient: dict[str, BenefitChange] = Field(default_factory=dict, description="per tier")
    outpatient: dict[str, BenefitChange] = Field(default_factory=dict, description="per tier")
    inpatient_annual_cap: float | None = Field(None, ge=0.0)
    outpatient_annual_cap: float | None = Field(None, ge=0.0)
    unfiled_penalty: dict[str, float] = Field(default_factory=dict,
                                              description="per tier: ratio points lost without a filed referral")
    filing_hassle: dict[Literal["outpatient", "inpatient"], Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=dict, description="yuan-equivalent hassle of filing a referral (转诊备案), per care type")


@register
class Reimbursement(Policy):
    name = "reimbursement"
    Params = ReimbursementParams

    def _schemes(self, config) -> list[str]:
        return self.params.schemes if self.params.schemes is not None else list(config.insurance.schemes)

    def check(self, config):
        p = self.params
        problems = check_names(p.schemes, list(config.insurance.schemes), "schemes", "insurance scheme")
        problems += check_tier_names(p.inpatient, config, "inpatient")
        problems += check_tier_names(p.outpatient, config, "outpatient")
        problems += check_tier_names(p.unfiled_penalty, config, "unfiled_penalty")
        for tier, v in p.unfiled_penalty.items():
            if not 0.0 <= v <= 1.0:
                problems.append((f"unfiled_penalty.{tier}", f"must be a fraction in [0, 1] (got {v})"))
        if problems:
            return problems
        for care in CARE_TYPES:
            for tier, ch in getattr(p, care).items():
                here = f"{care}.{tier}"
                if ch.ratio is not None and ch.ratio_change is not None:
                    problems.append((here, "give either ratio or ratio_change, not both"))
                for s in self._schemes(config):
                    old = getattr(config.insurance.schemes[s], care).get(tier)
                    if old is None and ch.ratio is None:
                        problems.append((here, f"scheme '{s}' has no {care} benefit for tier '{tier}': "
                                               "a new benefit needs an absolute `ratio`"))
                    elif old is not None and ch.ratio_change is not None \
                            and not 0.0 <= old.ratio + ch.ratio_change <= 1.0:
                        problems.append((f"{here}.ratio_change",
                                         f"scheme '{s}', {care} tier '{tier}': {old.ratio:.0%} "
                                         f"{ch.ratio_change:+.0%} = {old.ratio + ch.ratio_change:.0%}, outside "
                                         "0-100%; allowed here: "
                                         f"{-old.ratio:+.2f} to {1 - old.ratio:+.2f}"))
        return problems

    def apply(self, model):
        own_config(model)
        p, cfg = self.params, model.config
        saved = self.state(model)
        saved["benefits"], saved["caps"], saved["penalty"] = {}, {}, {}
        for s in self._schemes(cfg):
            sched = cfg.insurance.schemes[s]
            for care in CARE_TYPES:
                table = getattr(sched, care)
                for tier, ch in getattr(p, care).items():
                    old = table.get(tier)
                    saved["benefits"][(s, care, tier)] = old
                    new = old.model_copy() if old is not None else Benefit(ratio=ch.ratio)
                    if ch.deductible is not None:
                        new.deductible = ch.deductible
                    if ch.ratio is not None:
                        new.ratio = ch.ratio
                    if ch.ratio_change is not None:
                        new.ratio = min(1.0, max(0.0, new.ratio + ch.ratio_change))
                    if ch.covered_share is not None:
                        new.covered_share = ch.covered_share
                    table[tier] = new
            for cap in ("inpatient_annual_cap", "outpatient_annual_cap"):
                if getattr(p, cap) is not None:
                    saved["caps"][(s, cap)] = getattr(sched, cap)
                    setattr(sched, cap, getattr(p, cap))
            for tier, v in p.unfiled_penalty.items():
                saved["penalty"][(s, tier)] = sched.unfiled_penalty.get(tier)
                sched.unfiled_penalty[tier] = v
        if p.filing_hassle:
            saved["hassle"] = dict(cfg.referral.filing_hassle)
            cfg.referral.filing_hassle.update(p.filing_hassle)
        model.refresh_rules()

    def revert(self, model):
        own_config(model)
        saved, cfg = self.state(model), model.config
        for (s, care, tier), old in saved["benefits"].items():
            table = getattr(cfg.insurance.schemes[s], care)
            if old is None:
                table.pop(tier, None)
            else:
                table[tier] = old
        for (s, cap), old in saved["caps"].items():
            setattr(cfg.insurance.schemes[s], cap, old)
        for (s, tier), old in saved["penalty"].items():
            if old is None:
                cfg.insurance.schemes[s].unfiled_penalty.pop(tier, None)
            else:
                cfg.insurance.schemes[s].unfiled_penalty[tier] = old
        if "hassle" in saved:
            cfg.referral.filing_hassle = saved["hassle"]
        model.refresh_rules()
