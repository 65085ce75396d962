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

# The dashboard's levers (sim/dashboard/levers.py); the words on its screen are in TEXT (dash_*).
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


def check_lang(lang: str) -> str:
    """The language code, or a ValueError naming the allowed ones."""
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}': allowed are {', '.join(LANGS)}")
    return lang


def tier_label(tier: str, lang: str = "en") -> str:
    """Display name of a tier; an unknown tier keeps its key."""
    return word(TIER_LABELS, tier, lang)


def care_label(care: str, lang: str = "en") -> str:
    """'visits' / 'admissions' (门诊 / 住院) for a care type."""
    return word(CARE_LABELS, care, lang)


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
    return word(UNIT_LABELS, unit, lang)


# Indicator groups of the change-from-baseline figures and the report (one figure per group).
INDICATOR_GROUPS: dict[str, tuple[str, str, list[str]]] = {
    "where": ("Where residents get care", "患者流向", [
        "primary_care_share", "in_county_visit_rate", "in_county_admission_rate", "out_of_county_admission_rate",
        "out_of_province_admission_rate", "out_of_province_rate"]),
    "money": ("Money: the fund and households", "费用与医保基金", [
        "effective_reimbursement_ratio", "in_county_fund_share", "oop_per_capita", "fund_spending_per_capita",
        "spending_per_capita", "catastrophic_spending_share"]),
    "capacity": ("Capacity: beds, waits and patients turned away", "服务能力：床位、等待与未获服务", [
        "bed_occupancy_township", "bed_occupancy_county", "mean_wait_days_township", "mean_wait_days_county",
        "displaced_episodes", "unmet_episodes"]),
    "volume": ("Volumes and referrals", "服务量与转诊", [
        "visits_delivered_in_county", "admissions_delivered_in_county", "referrals_up", "referrals_down"]),
}

# The headline indicators of the monthly figure and the report's summary paragraph.
HEADLINE_INDICATORS = ["out_of_county_admission_rate", "out_of_province_admission_rate", "in_county_visit_rate",
                       "primary_care_share"]

PATH_LABELS = {
    "self_referred": {"en": "went on their own, not filed", "zh": "自行前往未备案"},
    "referred_up": {"en": "referred up", "zh": "上转"},
    "referred_out": {"en": "referred out of the county", "zh": "转往县外"},
    "filed": {"en": "went on their own, referral filed", "zh": "自行前往并备案"},
    "referred_down": {"en": "referred down", "zh": "下转"},
}

COMMUNITY_LABELS = {
    "budget": {"en": "budget", "zh": "预算"},
    "spending_in_county": {"en": "fund spending in the county", "zh": "县域内基金支出"},
    "spending_outside": {"en": "fund spending outside the county", "zh": "县域外基金支出"},
    "surplus": {"en": "surplus (deficit if negative)", "zh": "结余（负值为超支）"},
}

SENSITIVITY_LABELS = {
    "S1": {"en": "first-order Sobol index S1", "zh": "一阶Sobol指数 S1"},
    "ST": {"en": "total-order Sobol index ST", "zh": "总Sobol指数 ST"},
    "mu_star": {"en": "Morris mu* (mean absolute effect)", "zh": "Morris mu*（平均绝对效应）"},
    "SRC": {"en": "standardised regression coefficient", "zh": "标准化回归系数"},
    "PRCC": {"en": "partial rank correlation", "zh": "偏秩相关系数"},
}

# Words of figures and reports: key -> (English, Chinese); `{name}` fields are filled by text().
TEXT: dict[str, tuple[str, str]] = {
    # figure titles and axes
    "shares_title": ("Where residents get care, {period}: share of visits and admissions by tier",
                     "{period}年患者就诊流向：各级机构门诊与住院占比"),
    "share_axis": ("share of residents' {care} (%)", "居民{care}占比（%）"),
    "monthly_title": ("Headline indicators month by month", "主要指标逐月变化"),
    "month": ("month", "月份"),
    "starts": ("{policy} starts", "{policy}启动"),
    "n_policies": ("{n} policies start", "{n}项政策启动"),
    "band_mc": ("95% Monte Carlo interval (precision of the mean; {scenarios})", "95%蒙特卡洛区间（均值精度；{scenarios}）"),
    "band_pred": ("95% prediction interval (uncertain behaviour; {scenarios})",
                  "95%预测区间（行为参数不确定性；{scenarios}）"),
    "changes_title": ("{group}: change from '{baseline}' in {period}", "{group}：{period}年相对“{baseline}”的变化"),
    "changes_note": ("dot: mean over replications; thick bar: 95% Monte Carlo interval; thin bar: 95% prediction "
                     "interval. Blue: above 0, red: below 0, grey: includes 0",
                     "点：各次重复的均值；粗线：95%蒙特卡洛区间；细线：95%预测区间。蓝：高于0，红：低于0，灰：含0"),
    "changes_note_bars": ("numbers in the bars: share in % ± half-width of its 95% Monte Carlo interval, [95% prediction "
                          "interval] when parameters are uncertain; shares below 7% are not labelled (summary.csv)",
                          "条内数字：占比（%）± 95%蒙特卡洛区间半宽，参数不确定时另给[95%预测区间]；小于7%的不标注（见 summary.csv）"),
    "episodes_a_year": ("episodes a year", "人次/年"),
    "change_in": ("change ({unit})", "变化（{unit}）"),
    "baseline_level": ("(baseline {level})", "（基线 {level}）"),
    "below_resolution": ("no change larger than {res} {unit}\nin any scenario (not drawn)",
                         "各情景变化均小于 {res} {unit}\n（不绘制）"),
    "outflow_title": ("Care outside the county, {period}: by severity, by path and by destination (per year)",
                      "{period}年县外就医：按病情严重程度、就医路径与去向（每年人次）"),
    "outflow_axis": ("{care} outside the county per year", "每年县外{care}人次"),
    "by_severity": ("by severity (1 = mildest)", "按病情严重程度（1为最轻）"),
    "by_path": ("by path", "按就医路径"),
    "by_destination": ("by destination", "按去向"),
    "severity": ("severity {s}", "严重程度{s}"),
    "facilities_title": ("Bed occupancy and waiting, {period}", "{period}年床位使用率与等待时间"),
    "occupancy_axis": ("bed occupancy (%)", "床位使用率（%）"),
    "wait_axis": ("mean wait (days)", "平均等待（天）"),
    "facilities_note": ("left: one colour per tier; right: one colour per scenario; whiskers: 95% Monte Carlo "
                        "interval over replications", "左：每个级别一种颜色；右：每个情景一种颜色；须线：95%蒙特卡洛区间"),
    "waits_negligible": ("every mean wait is below 0.01 days:\npatients are served the day they come",
                         "平均等待均小于0.01天：\n患者当天即获服务"),
    "by_tier": ("by tier", "按机构级别"),
    "per_hospital": ("per county hospital", "各县级医院"),
    "community_title": ("Medical community budget and spending, by year", "医共体预算与支出（按年）"),
    "yuan_per_year": ("million yuan per budget year", "百万元/预算年度"),
    "community_note": ("a first or last year cut by the simulated period holds only its days; surplus: mean [95% "
                       "Monte Carlo interval]", "被模拟时段截断的首末年度仅含其天数；结余：均值[95%蒙特卡洛区间]"),
    "community_panel": ("scenario '{scenario}', community '{community}'", "情景“{scenario}”，医共体“{community}”"),
    "heatmap_title": ("Indicators over the grid of swept parameters (scenario {scenario}, period {period}; mean "
                      "over replications)", "指标随扫描参数网格的变化（情景{scenario}，时期{period}；各次重复的均值）"),
    "target_contour": ("dashed line: the target {value}", "虚线：目标值 {value}"),
    "averaged_over": ("averaged over {names}", "对{names}取平均"),
    "sensitivity_title": ("What drives {quantity} ({scenario}, {period}): {method}",
                          "{quantity}的主要影响参数（{scenario}，{period}）：{method}"),
    "level": ("the level", "指标水平"),
    "all_periods": ("whole horizon", "全时段"),
    "change": ("the change from baseline", "相对基线的变化"),
    "map_title": ("The county: facilities and villages, {period}", "县域地图：医疗机构与村庄（{period}年）"),
    "map_baseline": ("{scenario}: {measure} by village", "{scenario}：各村{measure}"),
    "map_difference": ("{scenario} minus {baseline}", "{scenario}减{baseline}"),
    "km": ("km", "公里"),
    "villages_dots": ("villages (filled; size: residents; grey: no episodes)", "村庄（实心点，大小表示人口；灰色：无病例）"),
    "facility_size": ("circle area: visits + admissions a year", "圆面积：每年门诊加住院人次"),
    "difference_pp": ("difference (percentage points)", "差值（百分点）"),
    "compare_title": ("{group}: {b} minus {a} (period {period})", "{group}：{b} 减 {a}（时期 {period}）"),
    # captions
    "cap_shares": ("Share of residents' visits and admissions by tier in each scenario, with 95% intervals.",
                   "各情景居民门诊与住院在各级机构的占比及95%区间。"),
    "cap_monthly": ("Headline indicators month by month; bands (baseline and the first other scenario): 95% Monte "
                    "Carlo interval, dotted: 95% prediction interval; dashed lines: policy starts.",
                    "主要指标逐月变化；阴影（基线与第一个其他情景）：95%蒙特卡洛区间，点线：95%预测区间；虚线：政策启动时间。"),
    "cap_changes": ("{group}: each scenario's change from the baseline with both 95% intervals.",
                    "{group}：各情景相对基线的变化及两种95%区间。"),
    "cap_outflow": ("Care outside the county per year by severity, by path and by destination.",
                    "每年县外就医人次：按严重程度、就医路径和去向。"),
    "cap_facilities": ("Bed occupancy and mean wait by tier and per county hospital.",
                       "各级机构及各县级医院的床位使用率与平均等待时间。"),
    "cap_community": ("The medical community's budget against its fund spending in and outside the county, by year.",
                      "医共体每年预算与县域内外基金支出。"),
    "cap_map": ("The county: facilities sized by volume, villages coloured by primary-care share and out-of-county "
                "admission rate; right: {scenario} minus the baseline.",
                "县域地图：机构大小表示服务量，村庄颜色表示基层诊疗占比与县外住院占比；右：{scenario}减基线。"),
    "cap_heatmap": ("Indicators over the grid of swept parameters; the dashed line marks the target.",
                    "指标随扫描参数网格的变化；虚线为目标值。"),
    "cap_sensitivity": ("Sensitivity indices ({index}) of the headline indicators with 95% intervals.",
                        "主要指标的敏感性指数（{index}）及95%区间。"),
    # compare
    "compare_heading": ("Two results folders compared: B minus A", "两个结果目录比较：B 减 A"),
    "period": ("period", "时期"),
    "a_level": ("(A: {level})", "（A：{level}）"),
    # report
    "report_title": ("Results: {name}", "结果报告：{name}"),
    "what_was_run": ("What was run", "运行内容"),
    "summary": ("Summary", "要点"),
    "table": ("Summary table", "汇总表"),
    "figures": ("Figures", "图"),
    "caveats": ("Caveats", "注意事项"),
    "scenario": ("scenario", "情景"),
    "description": ("description", "说明"),
    "indicator": ("indicator", "指标"),
    "no_description": ("(no description)", "（无说明）"),
    "run_experiment": ("experiment", "实验"),
    "run_county": ("county config", "县域配置"),
    "run_scenarios": ("scenarios", "情景"),
    "run_replications": ("replications", "重复次数"),
    "run_seed": ("seed", "随机种子"),
    "run_scale": ("scale", "规模"),
    "run_horizon": ("periods", "时期"),
    "run_scale_part": ("{scale} (runs simulate {scale} of the population; counts are scaled back up to the full "
                       "population)", "{scale}（模拟全县人口的{scale}，人次等计数已换算为全县）"),
    "run_scale_full": ("{scale} (the full population)", "{scale}（全县人口）"),
    "run_uncertainty": ("uncertain parameters", "不确定参数"),
    "run_uncertainty_on": ("{n}, drawn per replication (prediction intervals with 10 or more replications)",
                           "{n}个，每次重复抽样（重复10次及以上时给出预测区间）"),
    "run_whole_years": ("every period is a whole calendar year", "每个时期均为完整日历年"),
    "run_uncertainty_off": ("held at their central values", "取中心值"),
    "run_sweep": ("sweep", "参数扫描"),
    "run_sweep_text": ("{design} design, {samples} samples over {names}", "{design}设计，{samples}个样本，参数：{names}"),
    "run_versions": ("versions", "软件版本"),
    "run_commit": ("git commit", "代码版本（git commit）"),
    "run_when": ("run", "运行时间"),
    "run_baseline": ("baseline scenario", "基线情景"),
    "sum_change": ("{scenario} {verb} the {indicator} by {change} (95% interval {low} to {high}{pred}) from "
                   "{level}", "{scenario}使{indicator}{verb}{change}（95%区间 {low} 至 {high}{pred}），基线为{level}"),
    "sum_pred": ("; prediction interval {low} to {high}", "；预测区间 {low} 至 {high}"),
    "sum_up": ("raised", "提高"),
    "sum_down": ("lowered", "降低"),
    "sum_none": ("{scenario} left the {indicators} without a clear change (every 95% interval includes zero)",
                 "{scenario}对{indicators}无明确影响（95%区间均包含0）"),
    "sum_intro": ("In {period}, compared with '{baseline}': ", "{period}年与“{baseline}”相比："),
    "sum_sweep": ("A {design} sweep of {samples} samples over {names}; each sample ran {replications} "
                  "replication(s) of every scenario. The figures show how the headline indicators respond.",
                  "对{names}进行{design}扫描，共{samples}个样本，每个样本的每个情景重复{replications}次。图中给出主要指标的响应。"),
    "sum_grid_range": ("Over the grid, {indicator} ranges from {low} to {high}.", "在参数网格上，{indicator}介于{low}与{high}之间。"),
    "table_note": ("Baseline: level, mean over replications ± half-width of the 95% Monte Carlo interval, [95% "
                   "prediction interval]. Other scenarios: paired change from the baseline (shares in percentage "
                   "points). Every indicator, year and interval: summary.csv.",
                   "基线：指标水平，各次重复的均值 ± 95%蒙特卡洛区间半宽，[95%预测区间]。其他情景：相对基线的配对变化"
                   "（占比以百分点计）。全部指标、年份与区间见 summary.csv。"),
    "cav_scale": ("The runs simulate {scale} of the population; counts are scaled back up to the full population, "
                  "so small counts carry more noise than at full scale.",
                  "模拟人口为全县的{scale}，计数已按比例放大到全县，小计数的随机误差大于全规模运行。"),
    "cav_full": ("The runs simulate the full population.", "按全县人口模拟。"),
    "cav_reps": ("{n} replication(s): the Monte Carlo interval (±) says how precisely they pin down the mean and "
                 "narrows with more replications; it does not cover what the model leaves out.",
                 "共{n}次重复：蒙特卡洛区间（±）表示均值的精度，重复越多越窄；它不包含模型未涵盖的因素。"),
    "cav_pred": ("The prediction interval [ ] covers the uncertain behavioural parameters and effect sizes drawn "
                 "from their ranges; it does not narrow with more replications.",
                 "预测区间[ ]反映行为参数与政策效应取值的不确定性，不随重复次数增加而变窄。"),
    "cav_nopred": ("No prediction interval: parameters were held at their central values or there were fewer than "
                   "10 replications.", "无预测区间：参数取中心值，或重复少于10次。"),
    "cav_model": ("The county is a model calibrated to published figures (docs/calibration.md); compare scenarios "
                  "with each other rather than reading levels as forecasts.",
                  "县域为依据公开数据校准的模型（docs/calibration.md）；宜比较情景之间的差异，而非将水平值视为预测。"),
    "cav_failed": ("{n} run(s) failed and are left out (manifest.json).", "{n}次运行失败，未计入（见 manifest.json）。"),
    "cav_font": ("Figures are labelled in English: no Chinese font was found (install fonts-noto-cjk).",
                 "图中标注为英文：未找到中文字体（请安装 fonts-noto-cjk）。"),
    # the dashboard's screen (sim/dashboard)
    "dash_title": ('gradsim: county graded care', 'gradsim：县域分级诊疗'),
    "dash_levers": ('Policy levers (a change restarts the model)', '政策杠杆（调整后模型重新开始）'),
    "dash_scale": ('simulated residents: {n:,} ({pct:g}% of {total:,}); counts scaled to the full county', '模拟居民：{n:,}人（全县{total:,}人的{pct:g}%）；人次已换算为全县'),
    "dash_date": ('date', '日期'),
    "dash_week": ('week starting', '周起始日'),
    "dash_map": ("County map: facilities sized by today's load", '县域地图：机构大小表示当日负荷'),
    "dash_map_villages": ('villages coloured by', '村庄颜色表示'),
    "dash_load": ("today's visits + occupied beds", '当日门诊人次 + 占用床位'),
    "dash_shares": ('Share of visits by tier, weekly', '各级机构门诊占比（每周）'),
    "dash_rates": ('Admissions outside the county, weekly', '县外住院（每周）'),
    "dash_occupancy": ('Bed occupancy, weekly', '床位使用率（每周）'),
    "dash_waits": ('Mean wait, weekly', '平均等待（每周）'),
    "dash_no_week": ('charts start after the first simulated week: press Step or ▶', '模拟满一周后显示图表：请按 Step 或 ▶'),
    "dash_save": ('Save as experiment', '保存为实验文件'),
    "dash_saved": ('saved: {path} (run it: gradsim run {path})', '已保存：{path}（运行：gradsim run {path}）'),
    "dash_save_failed": ('could not save: {error}', '保存失败：{error}'),
    "dash_lever_error": ('lever not applied: {error}', '杠杆未生效：{error}'),
    "dash_no_change": ('no lever changed: the baseline', '未调整杠杆：基线'),
    "dash_restarting": ('restarting the model with these levers ...', '正在按新杠杆重新开始模型……'),
}


def text(key: str, lang: str = "en", **fields) -> str:
    """A figure or report phrase in the language, with its {fields} filled."""
    return TEXT[key][LANGS.index(check_lang(lang))].format(**fields)


def group_label(group: str, lang: str = "en") -> str:
    """Display name of an indicator group."""
    return INDICATOR_GROUPS[group][LANGS.index(check_lang(lang))]


def word(table: dict[str, dict[str, str]], key: str, lang: str = "en") -> str:
    """A display name from one of the small tables above (PATH_LABELS, ...); unknown keys stay as they are."""
    return table.get(key, {}).get(check_lang(lang), key)


def lever_label(key: str, lang: str = "en") -> str:
    """Display name of a dashboard lever; an unknown lever keeps its key."""
    return word(LEVER_LABELS, key, lang)
