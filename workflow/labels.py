"""Display labels (Chinese, English) for the codes fundflow stores."""
from __future__ import annotations

CHANNELS = {
    "intergovernmental": ("政府间合作", "Intergovernmental cooperation"),
    "inter_agency": ("部际协调", "Inter-agency coordination"),
    "ministry_province": ("部省会商", "Ministry-province consultation"),
    "embassy": ("驻外使领馆推荐", "Embassy and consulate recommendation"),
}
FIELDS = {
    "energy_resources": ("能源与资源", "Energy and resources"),
    "new_materials_manufacturing": ("新材料与先进制造", "New materials and advanced manufacturing"),
    "information_networks": ("信息网络", "Information networks"),
    "modern_agriculture": ("现代农业", "Modern agriculture"),
    "biology_health": ("生物与健康", "Biology and health"),
    "ecology_environment": ("生态与环境", "Ecology and environment"),
    "space_ocean": ("空间与海洋", "Space and ocean"),
    "public_safety": ("公共安全", "Public safety"),
    "climate_change": ("气候变化", "Climate change"),
    "food_security": ("粮食安全", "Food security"),
    "major_diseases": ("重大疾病", "Major diseases"),
}
COOPERATION_TYPES = {
    "joint_rnd": ("联合研发", "Joint research and development"),
    "technology_introduction": ("技术引进", "Technology introduction"),
    "talent_introduction": ("人才引进", "Talent introduction"),
    "base_construction": ("基地建设", "Base construction"),
    "big_science": ("参与国际大科学计划", "Big-science participation"),
    "st_partnership": ("科技伙伴计划", "S&T partnership (developing countries)"),
}
INSTITUTION_KINDS = {
    "university": ("高等院校", "University"),
    "institute": ("科研院所", "Research institute"),
    "enterprise": ("企业", "Enterprise"),
    "foreign_invested_enterprise": ("在华外资企业", "Foreign-invested enterprise in China"),
    "foreign_institution": ("在华外国机构", "Foreign institution in China"),
}
BODY_KINDS = {
    "ministry_department": ("部委司局", "Ministry department"),
    "provincial_department": ("省级科技厅（委、局）", "Provincial S&T department"),
    "embassy_section": ("驻外使领馆科技处（组）", "Embassy or consulate S&T section"),
    "bilateral_commission": ("双边科技合作委员会秘书处", "Bilateral commission secretariat"),
}
BASE_KINDS = {
    "innovation_park": ("国际创新园", "International innovation park"),
    "joint_research_center": ("国际联合研究中心", "International joint research center"),
    "technology_transfer_center": ("国际技术转移中心", "International technology transfer center"),
    "demonstration_base": ("示范型国际科技合作基地", "Demonstration base of international S&T cooperation"),
}
OUTCOMES = {
    "papers": ("论文（篇）", "Papers"),
    "patents": ("专利（项）", "Patents"),
    "standards": ("标准（项）", "Standards"),
    "technologies_transferred": ("转移转化技术（项）", "Technologies transferred"),
    "experts_engaged": ("引进外国专家（人）", "Foreign experts engaged"),
    "researchers_trained": ("培养青年科研人员（人）", "Young researchers trained"),
}
ROLES = {
    "applicant": ("申报单位", "Applicant"),
    "recommender": ("推荐单位", "Recommending body"),
    "reviewer": ("评审专家", "Reviewer"),
    "officer": ("项目主管", "Program officer"),
    "admin": ("系统管理员", "Administrator"),
    "system": ("系统", "System"),
}
PARTNER_KINDS = {
    "university": ("大学", "University"),
    "institute": ("研究机构", "Research institute"),
    "enterprise": ("企业", "Enterprise"),
    "government": ("政府部门", "Government agency"),
    "international_organization": ("国际组织", "International organisation"),
}
RECOMMENDATIONS = {
    "fund": ("建议资助", "Fund"),
    "fund_with_changes": ("修改后资助", "Fund with changes"),
    "do_not_fund": ("不建议资助", "Do not fund"),
}
ATTACHMENT_KINDS = {
    "proposal": ("项目申报书", "Proposal"),
    "cooperation_agreement": ("国际合作协议", "International cooperation agreement"),
    "signed_agreement": ("项目任务书（已签署）", "Signed project agreement"),
    "milestone_report": ("里程碑报告", "Milestone report"),
    "final_report": ("结题报告", "Final report"),
}
CHANGE_KINDS = {
    "extension": ("延期", "Extension"),
    "budget_reallocation": ("预算调整", "Budget reallocation"),
    "partner_change": ("合作方变更", "Partner change"),
    "pi_change": ("项目负责人变更", "Change of principal investigator"),
}
DOCUMENT_KINDS = {
    "decision_notice": ("立项通知书", "Decision notice"),
    "rejection_notice": ("不予立项通知书", "Rejection notice"),
    "termination_notice": ("终止通知书", "Termination notice"),
    "acceptance_opinion": ("验收意见", "Acceptance opinion"),
}
# The partner countries the plan's cooperation mechanisms name most; others show their ISO code.
COUNTRIES = {
    "US": "美国", "RU": "俄罗斯", "DE": "德国", "FR": "法国", "GB": "英国", "IT": "意大利", "ES": "西班牙",
    "NL": "荷兰", "BE": "比利时", "SE": "瑞典", "FI": "芬兰", "DK": "丹麦", "AT": "奥地利", "CH": "瑞士",
    "PL": "波兰", "CZ": "捷克", "HU": "匈牙利", "IE": "爱尔兰", "PT": "葡萄牙", "GR": "希腊", "NO": "挪威",
    "JP": "日本", "KR": "韩国", "IN": "印度", "BR": "巴西", "AR": "阿根廷", "MX": "墨西哥", "CL": "智利",
    "CU": "古巴", "PE": "秘鲁", "ID": "印度尼西亚", "TH": "泰国", "VN": "越南", "MY": "马来西亚",
    "SG": "新加坡", "PH": "菲律宾", "KH": "柬埔寨", "LA": "老挝", "MM": "缅甸", "BN": "文莱", "ZA": "南非",
    "EG": "埃及", "KE": "肯尼亚", "NG": "尼日利亚", "ET": "埃塞俄比亚", "TZ": "坦桑尼亚", "MA": "摩洛哥",
    "SA": "沙特阿拉伯", "AE": "阿联酋", "IL": "以色列", "IR": "伊朗", "TR": "土耳其", "JO": "约旦",
    "KZ": "哈萨克斯坦", "UZ": "乌兹别克斯坦", "KG": "吉尔吉斯斯坦", "TJ": "塔吉克斯坦", "MN": "蒙古",
    "PK": "巴基斯坦", "AU": "澳大利亚", "NZ": "新西兰", "CA": "加拿大", "UA": "乌克兰", "BY": "白俄罗斯",
    "RS": "塞尔维亚", "CN": "中国",
}


def zh(table: dict, code: str | None) -> str:
    return table[code][0] if code in table else (code or "")


def en(table: dict, code: str | None) -> str:
    return table[code][1] if code in table else (code or "")


def country(code: str) -> str:
    return COUNTRIES.get(code, code)
