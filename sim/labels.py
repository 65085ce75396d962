"""Display names of tiers and indicators in English and Chinese, and one colour per tier.

Every figure, report, table and the dashboard take their words from here, so a tier or an
indicator reads the same everywhere. Chinese names follow county-facts.md (indicator definitions).
"""
from __future__ import annotations

import re

LANGS = ("en", "zh")

TIER_LABELS: dict[str, dict[str, str]] = {
    "village": {"en": "village clinics", "zh": "村卫生室"},
    "township": {"en": "township centres", "zh": "乡镇卫生院"},
    "county": {"en": "county hospitals", "zh": "县级医院"},
    "in_province": {"en": "in province, outside the county", "zh": "县外省内"},
    "out_of_province": {"en": "out of province", "zh": "省外"},
}

TIER_COLOURS: dict[str, str] = {
    "village": "#4daf4a",
    "township": "#377eb8",
    "county": "#984ea3",
    "in_province": "#ff7f00",
    "out_of_province": "#e41a1c",
}

CARE_LABELS = {"outpatient": {"en": "visits", "zh": "门诊"}, "inpatient": {"en": "admissions", "zh": "住院"}}

# indicator -> (English, Chinese, unit): unit "share" is a fraction shown in percent.
INDICATOR_LABELS: dict[str, tuple[str, str, str]] = {
    "primary_care_share": ("primary-care visit share", "基层诊疗量占比", "share"),
    "in_county_visit_rate": ("in-county visit rate", "县域内就诊率", "share"),
    "in_county_admission_rate": ("in-county admission rate", "县域内住院率", "share"),
    "out_of_county_admission_rate": ("out-of-county admission share", "县外住院人次占比", "share"),
    "out_of_province_rate": ("out-of-province rate (visits and admissions)", "省外就诊率（门诊与住院）", "share"),
    "out_of_province_admission_rate": ("out-of-province admission rate", "省外就诊率（住院）", "share"),
    "out_of_province_outpatient_rate": ("out-of-province visit rate", "省外门诊率", "share"),
    "effective_reimbursement_ratio": ("fund payment share of spending", "医保基金支付占比", "share"),
    "in_county_fund_share": ("in-county share of fund payments", "县域内基金支出占比", "share"),
    "oop_per_capita": ("out-of-pocket cost per resident", "人均自付费用", "yuan"),
    "fund_spending_per_capita": ("fund spending per resident", "人均医保基金支出", "yuan"),
    "spending_per_capita": ("medical spending per resident", "人均医疗费用", "yuan"),
    "catastrophic_spending_share": ("households with catastrophic spending", "灾难性卫生支出发生率", "share"),
    "displaced_episodes": ("episodes turned away by full facilities", "因床满转诊人次", "per year"),
    "unmet_episodes": ("episodes left without care", "未获治疗人次", "per year"),
    "referrals_up": ("referrals up", "上转人次", "per year"),
    "referrals_down": ("referrals down", "下转人次", "per year"),
    "in_county_outpatient_visits": ("residents' visits in the county", "县域内门诊人次", "per year"),
    "in_county_admissions": ("residents' admissions in the county", "县域内住院人次", "per year"),
    "outpatient_visits": ("residents' visits", "门诊人次", "per year"),
    "admissions": ("residents' admissions", "住院人次", "per year"),
    "hospitalization_rate": ("admissions per resident", "住院率", "per resident"),
    "nonresident_visits_in_county": ("non-residents' visits in the county", "县外患者门诊人次", "per year"),
    "nonresident_admissions_in_county": ("non-residents' admissions in the county", "县外患者住院人次", "per year"),
    "visits_delivered_in_county": ("visits delivered in the county", "县域医疗机构门诊人次", "per year"),
    "admissions_delivered_in_county": ("admissions delivered in the county", "县域医疗机构住院人次", "per year"),
}

_PATTERNS: list[tuple[str, tuple[str, str], str]] = [
    (r"outpatient_share_(\w+)", ("share of visits: {t}", "门诊占比：{t}"), "share"),
    (r"inpatient_share_(\w+)", ("share of admissions: {t}", "住院占比：{t}"), "share"),
    (r"bed_occupancy_(\w+)", ("bed occupancy: {t}", "床位使用率：{t}"), "share"),
    (r"mean_wait_days_(\w+)", ("mean wait: {t}", "平均等待：{t}"), "days"),
    (r"mean_los_days_(\w+)", ("mean length of stay: {t}", "平均住院日：{t}"), "days"),
]

UNIT_LABELS = {
    "share": {"en": "%", "zh": "%"},
    "points": {"en": "percentage points", "zh": "百分点"},
    "yuan": {"en": "yuan", "zh": "元"},
    "days": {"en": "days", "zh": "天"},
    "per year": {"en": "per year", "zh": "每年"},
    "per resident": {"en": "per resident", "zh": "每人"},
}


def check_lang(lang: str) -> str:
    """The language code, or a ValueError naming the allowed ones."""
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}': allowed are {', '.join(LANGS)}")
    return lang


def tier_label(tier: str, lang: str = "en") -> str:
    """Display name of a tier; an unknown tier keeps its key."""
    return TIER_LABELS.get(tier, {}).get(check_lang(lang), tier)


def care_label(care: str, lang: str = "en") -> str:
    """'visits' / 'admissions' (门诊 / 住院) for a care type."""
    return CARE_LABELS.get(care, {}).get(check_lang(lang), care)


def indicator_unit(key: str) -> str:
    """'share', 'yuan', 'days', 'per year' or 'per resident'; '' for an unknown indicator."""
    if key in INDICATOR_LABELS:
        return INDICATOR_LABELS[key][2]
    for pattern, _, unit in _PATTERNS:
        if re.fullmatch(pattern, key):
            return unit
    return ""


def indicator_label(key: str, lang: str = "en") -> str:
    """Display name of an indicator (tier-indexed ones name their tier); unknown keys stay as they are."""
    i = LANGS.index(check_lang(lang))
    if key in INDICATOR_LABELS:
        return INDICATOR_LABELS[key][i]
    for pattern, texts, _ in _PATTERNS:
        m = re.fullmatch(pattern, key)
        if m:
            return texts[i].format(t=tier_label(m.group(1), lang))
    return key


def unit_label(unit: str, lang: str = "en") -> str:
    """Display name of a unit."""
    return UNIT_LABELS.get(unit, {}).get(check_lang(lang), unit)
