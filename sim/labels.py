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

# The dashboard's levers (sim/dashboard/levers.py) and the words on its screen.
LEVER_LABELS: dict[str, dict[str, str]] = {
    "ratio_township": {"en": "inpatient reimbursement, township centres (change, points)",
                       "zh": "乡镇卫生院住院报销比例（调整，百分点）"},
    "ratio_county": {"en": "inpatient reimbursement, county hospitals (change, points)",
                     "zh": "县级医院住院报销比例（调整，百分点）"},
    "ratio_in_province": {"en": "inpatient reimbursement, in province outside the county (change, points)",
                          "zh": "县外省内住院报销比例（调整，百分点）"},
    "ratio_out_of_province": {"en": "inpatient reimbursement, out of province (change, points)",
                              "zh": "省外住院报销比例（调整，百分点）"},
    "unfiled_penalty": {"en": "filing penalty: points lost outside the county without a filed referral",
                        "zh": "未转诊备案县外就医报销比例降低（百分点）"},
    "physicians_sent_down": {"en": "physicians sent down to township centres", "zh": "下沉乡镇卫生院的医生（人）"},
    "contract_rate": {"en": "family-doctor contract rate, chronic patients and 65+ (0 = today's)",
                      "zh": "家庭医生签约率：慢病患者与65岁以上（0 = 现状）"},
    "capitation": {"en": "chronic-disease capitation, whole county", "zh": "全县慢病按人头总额付费"},
    "capability_gain": {"en": "lead county hospital capability (levels added)", "zh": "县级龙头医院能力提升（级）"},
    "branch_campus": {"en": "branch campus of a township centre (一院多区)", "zh": "乡镇卫生院分院（一院多区）"},
}

DASHBOARD_TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "gradsim: county graded care", "zh": "gradsim：县域分级诊疗"},
    "levers": {"en": "Policy levers (a change restarts the model)", "zh": "政策杠杆（调整后模型重新开始）"},
    "scale": {"en": "simulated residents: {n:,} ({pct:g}% of {total:,}); counts scaled to the full county",
              "zh": "模拟居民：{n:,}人（全县{total:,}人的{pct:g}%）；人次已换算为全县"},
    "date": {"en": "date", "zh": "日期"},
    "week": {"en": "week starting", "zh": "周起始日"},
    "map": {"en": "County map: facilities sized by today's load", "zh": "县域地图：机构大小表示当日负荷"},
    "map_villages": {"en": "villages coloured by", "zh": "村庄颜色表示"},
    "since": {"en": "since {date}", "zh": "自{date}起"},
    "load": {"en": "today's visits + occupied beds", "zh": "当日门诊人次 + 占用床位"},
    "shares": {"en": "Share of visits by tier, weekly", "zh": "各级机构门诊占比（每周）"},
    "rates": {"en": "Admissions outside the county, weekly", "zh": "县外住院（每周）"},
    "occupancy": {"en": "Bed occupancy, weekly", "zh": "床位使用率（每周）"},
    "waits": {"en": "Mean wait, weekly", "zh": "平均等待（每周）"},
    "no_week": {"en": "charts start after the first simulated week: press Step or ▶",
                "zh": "模拟满一周后显示图表：请按 Step 或 ▶"},
    "save": {"en": "Save as experiment", "zh": "保存为实验文件"},
    "saved": {"en": "saved: {path} (run it: gradsim run {path})", "zh": "已保存：{path}（运行：gradsim run {path}）"},
    "save_failed": {"en": "could not save: {error}", "zh": "保存失败：{error}"},
    "lever_error": {"en": "lever not applied: {error}", "zh": "杠杆未生效：{error}"},
    "no_change": {"en": "no lever changed: the baseline", "zh": "未调整杠杆：基线"},
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


def lever_label(key: str, lang: str = "en") -> str:
    """Display name of a dashboard lever; an unknown lever keeps its key."""
    return LEVER_LABELS.get(key, {}).get(check_lang(lang), key)


def dashboard_text(key: str, lang: str = "en", **values) -> str:
    """A phrase of the dashboard's screen in the language, with {placeholders} filled."""
    return DASHBOARD_TEXT[key][check_lang(lang)].format(**values)
