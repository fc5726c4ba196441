"""A national-scale data set (`fundflow generate`): ten years of calls, driven through the engine in batches.

What it holds: four calls a year for ten years (the general call, the priority fields, global challenges
and big science, the S&T Partnership Programme), the demo's institutions, bodies, bases and partner
mechanisms (workflow/demo.py) with more of the country's universities, institutes, enterprises and
provincial departments, a reviewer pool scaled to the number of applications, and N applications, each
with a life planned from its own seeded random stream: filed, routed, screened, reviewed, decided,
and, when approved, signed and followed milestone by milestone to close-out. Old calls are decided
and their projects closed; recent ones are still being reviewed; the last is open.

How: every state change goes through `services.transitions.fire_in` as the actor who makes it (the
applicant, the recommender of the application's body, the program officer, the assigned expert, the
system for the scan's overdue milestones and for the quorum), at the moment the plan gives it (`now=`),
so the data is exactly what the engine makes and the audit chain is in time order. Drafts, uploads
and review assignments are written as their services write them (the rows and their audit events), by
the plan, whose panels keep the conflict-of-interest rules; reference data is inserted in bulk with the
audit events its services record, dated before the first call. Those rows get their ids here, in the
order the database would give them, so none of them costs a flush.

Steps of all applications run in time order, many to one write transaction (a batch): fire_in for
each, then `audit.seal`, then the follow-ups, then commit, as `services.transitions.fire` does for one.
One session serves every batch, so an application stays loaded while its next step is near; it is
let go when its next step is months away and loaded again then. A row that fires a second time in a
batch is flushed first, so that each firing is its own version-checked write, as when each commits
alone.

Follow-ups (notices, numbered decision documents) are staged in the outbox as the engine stages them
and left pending (`follow_ups="pending"`): a served app's background thread or a worker drains them
afterwards, rendering every decision document. `follow_ups="none"` leaves them out, for benchmark data
sets: no notices and no documents then exist.

Attachments are small valid PDFs; every attachment of a kind shares one file's bytes (hard links), so a
100,000-application set costs no more disk for its files than a few. The same seed and the same
`as_of` day give the same data set, ids, hashes and file names included.
"""
from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import hashlib
import heapq
import itertools
import math
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from . import audit, outbox
from .demo import (
    BASES,
    BODIES,
    CALLS,
    COOPERATION,
    COUNTRY_PREFIX,
    DECLINES,
    FOREIGN_KIND_NAMES,
    GIVEN_NAMES,
    INELIGIBLE_FOREIGN,
    INSTITUTIONS,
    MECHANISMS,
    OPINIONS,
    PROGRAMMES,
    REASONS,
    REPORTS,
    SENSITIVE_FIELDS,
    SURNAMES,
    TOPICS,
    BodySpec,
    CallSpec,
    Mechanism,
    Org,
    Programme,
    Topic,
    _guide,
    agreement_terms,
)
from .engine import workflow
from .errors import InvalidInput
from .guards import add_months
from .lifecycle import minimal_pdf
from .models import (
    OUTCOME_KEYS,
    Application,
    Attachment,
    Body,
    Call,
    CooperationBase,
    Event,
    ExpertProfile,
    Institution,
    Outbox,
    Partner,
    Review,
    Rubric,
    User,
)
from .permissions import SYSTEM, Actor
from .services import conflicts, rubrics
from .services.transitions import fire_in

PASSWORD = "fundflow-generated"  # every generated account's; the command prints one account per role
DOMAIN = "generated.fundflow.cn"
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
UTC = dt.timezone.utc
YEARS = 10
FOLLOW_UPS = ("pending", "none")
DEFAULT_BATCH = 2000
# An application whose next step is further off than this is let go after its batch and loaded again
# when that step comes: the session holds the applications under way, not ten years of them.
HORIZON = dt.timedelta(days=45)
LOAD_CHUNK = 500
LINKS_PER_FILE = 50_000  # below ext4's 65,000 hard links per file

# --- more of the country than the demo holds --------------------------------------------------------

E, M, I, A, B, C = ("energy_resources", "new_materials_manufacturing", "information_networks",
                    "modern_agriculture", "biology_health", "ecology_environment")
S, P, CL, F, D = "space_ocean", "public_safety", "climate_change", "food_security", "major_diseases"


def _uni(key, name, name_en, province, *fields) -> Org:
    return Org(key, name, name_en, "university", province, fields)


def _inst(key, name, name_en, province, *fields) -> Org:
    return Org(key, name, name_en, "institute", province, fields)


MORE_UNIVERSITIES = (
    _uni("pku", "北京大学", "Peking University", "北京", B, D, I, C, CL),
    _uni("sjtu", "上海交通大学", "Shanghai Jiao Tong University", "上海", M, S, B, E, I),
    _uni("nju", "南京大学", "Nanjing University", "江苏", C, CL, M, I),
    _uni("ustc", "中国科学技术大学", "University of Science and Technology of China", "安徽", I, M, E),
    _uni("xjtu", "西安交通大学", "Xi'an Jiaotong University", "陕西", E, M, B),
    _uni("hust", "华中科技大学", "Huazhong University of Science and Technology", "湖北", M, I, B, E),
    _uni("sysu", "中山大学", "Sun Yat-sen University", "广东", B, D, S, C),
    _uni("scu", "四川大学", "Sichuan University", "四川", B, D, M, P),
    _uni("sdu", "山东大学", "Shandong University", "山东", B, E, I, M),
    _uni("jlu", "吉林大学", "Jilin University", "吉林", M, A, B, E),
    _uni("nankai", "南开大学", "Nankai University", "天津", M, B, C),
    _uni("tju", "天津大学", "Tianjin University", "天津", E, M, C, S),
    _uni("seu", "东南大学", "Southeast University", "江苏", I, P, M),
    _uni("xmu", "厦门大学", "Xiamen University", "福建", S, C, E, B),
    _uni("dlut", "大连理工大学", "Dalian University of Technology", "辽宁", M, E, S, P),
    _uni("buaa", "北京航空航天大学", "Beihang University", "北京", S, M, I),
    _uni("bit", "北京理工大学", "Beijing Institute of Technology", "北京", M, I, P),
    _uni("nwpu", "西北工业大学", "Northwestern Polytechnical University", "陕西", S, M),
    _uni("scut", "华南理工大学", "South China University of Technology", "广东", M, E, I, B),
    _uni("csu", "中南大学", "Central South University", "湖南", M, D, E, P),
    _uni("cqu", "重庆大学", "Chongqing University", "重庆", E, P, M),
    _uni("lzu", "兰州大学", "Lanzhou University", "甘肃", C, CL, A),
    _uni("uestc", "电子科技大学", "University of Electronic Science and Technology of China", "四川", I, P),
    _uni("ouc", "中国海洋大学", "Ocean University of China", "山东", S, C, A, CL),
    _uni("nwafu", "西北农林科技大学", "Northwest A&F University", "陕西", A, F, C),
    _uni("hzau", "华中农业大学", "Huazhong Agricultural University", "湖北", A, F, B),
    _uni("njau", "南京农业大学", "Nanjing Agricultural University", "江苏", A, F, CL),
    _uni("cug", "中国地质大学（武汉）", "China University of Geosciences (Wuhan)", "湖北", E, C, P),
    _uni("bnu", "北京师范大学", "Beijing Normal University", "北京", C, CL, P),
    _uni("cumt", "中国矿业大学", "China University of Mining and Technology", "江苏", E, P),
    _uni("hhu", "河海大学", "Hohai University", "江苏", C, P, CL),
    _uni("ynu", "云南大学", "Yunnan University", "云南", C, B, A),
    _uni("xju", "新疆大学", "Xinjiang University", "新疆", C, E, A),
    _uni("hainu", "海南大学", "Hainan University", "海南", A, F, S),
    _uni("shzu", "石河子大学", "Shihezi University", "新疆", A, F),
    _uni("imu", "内蒙古大学", "Inner Mongolia University", "内蒙古", C, A, B),
    _uni("gzu", "贵州大学", "Guizhou University", "贵州", A, C),
    _uni("fzu", "福州大学", "Fuzhou University", "福建", M, I),
    _uni("zzu", "郑州大学", "Zhengzhou University", "河南", B, D, M),
    _uni("hnu", "湖南大学", "Hunan University", "湖南", M, I, E),
)
CAS_INSTITUTES = (
    _inst("iop", "中国科学院物理研究所", "Institute of Physics, CAS", "北京", M, E, I),
    _inst("ict", "中国科学院计算技术研究所", "Institute of Computing Technology, CAS", "北京", I),
    _inst("ia", "中国科学院自动化研究所", "Institute of Automation, CAS", "北京", I, P),
    _inst("imr", "中国科学院金属研究所", "Institute of Metal Research, CAS", "辽宁", M),
    _inst("sic", "中国科学院上海硅酸盐研究所", "Shanghai Institute of Ceramics, CAS", "上海", M, E),
    _inst("ciac", "中国科学院长春应用化学研究所", "Changchun Institute of Applied Chemistry, CAS", "吉林", M, E),
    _inst("igsnrr", "中国科学院地理科学与资源研究所",
          "Institute of Geographic Sciences and Natural Resources Research, CAS", "北京", C, CL, F),
    _inst("iap", "中国科学院大气物理研究所", "Institute of Atmospheric Physics, CAS", "北京", CL, C, P),
    _inst("im", "中国科学院微生物研究所", "Institute of Microbiology, CAS", "北京", B, D),
    _inst("simm", "中国科学院上海药物研究所", "Shanghai Institute of Materia Medica, CAS", "上海", B, D),
    _inst("wiv", "中国科学院武汉病毒研究所", "Wuhan Institute of Virology, CAS", "湖北", D, B),
    _inst("scsio", "中国科学院南海海洋研究所", "South China Sea Institute of Oceanology, CAS", "广东", S, C),
    _inst("aircas", "中国科学院空天信息创新研究院", "Aerospace Information Research Institute, CAS", "北京",
          S, I, P, C),
    _inst("giec", "中国科学院广州能源研究所", "Guangzhou Institute of Energy Conversion, CAS", "广东", E, CL),
    _inst("nimte", "中国科学院宁波材料技术与工程研究所",
          "Ningbo Institute of Materials Technology and Engineering, CAS", "浙江", M, E),
    _inst("sia", "中国科学院沈阳自动化研究所", "Shenyang Institute of Automation, CAS", "辽宁", M, S),
    _inst("qibebt", "中国科学院青岛生物能源与过程研究所",
          "Qingdao Institute of Bioenergy and Bioprocess Technology, CAS", "山东", E, B),
    _inst("kib", "中国科学院昆明植物研究所", "Kunming Institute of Botany, CAS", "云南", C, B),
    _inst("issas", "中国科学院南京土壤研究所", "Institute of Soil Science, CAS", "江苏", A, F, C),
    _inst("siat", "中国科学院深圳先进技术研究院", "Shenzhen Institute of Advanced Technology, CAS", "广东", I, B),
)
MORE_INSTITUTES = (
    _inst("cams", "中国医学科学院", "Chinese Academy of Medical Sciences", "北京", B, D),
    _inst("caf", "中国林业科学研究院", "Chinese Academy of Forestry", "北京", C, CL),
    _inst("catas", "中国热带农业科学院", "Chinese Academy of Tropical Agricultural Sciences", "海南", A, F),
    _inst("ysfri", "中国水产科学研究院黄海水产研究所", "Yellow Sea Fisheries Research Institute, CAFS", "山东", A, S),
    _inst("igp_cea", "中国地震局地球物理研究所", "Institute of Geophysics, China Earthquake Administration",
          "北京", P),
    _inst("cams_met", "中国气象科学研究院", "Chinese Academy of Meteorological Sciences", "北京", CL, P),
    _inst("chinacdc", "中国疾病预防控制中心", "Chinese Center for Disease Control and Prevention", "北京", D, P),
)
MORE_FOREIGN = (
    Org("nissin_sz", "苏州日新精密传感技术有限公司", "Suzhou Nisshin Precision Sensing Co., Ltd. (Japanese-invested)",
        "foreign_invested_enterprise", "江苏", (I,), home="JP"),
    Org("hanxin_wx", "无锡韩新先进材料有限公司", "Wuxi Hanxin Advanced Materials Co., Ltd. (Korean-invested)",
        "foreign_invested_enterprise", "江苏", (M,), home="KR"),
    Org("farun_tj", "天津法润水务技术有限公司", "Tianjin Farun Water Technology Co., Ltd. (Sino-French)",
        "foreign_invested_enterprise", "天津", (C,), home="FR"),
)
# Enterprises of every field, named as Chinese firms are: city, brand, trade, form.
CITIES = (("苏州", "Suzhou", "江苏"), ("合肥", "Hefei", "安徽"), ("成都", "Chengdu", "四川"), ("武汉", "Wuhan", "湖北"),
          ("西安", "Xi'an", "陕西"), ("宁波", "Ningbo", "浙江"), ("青岛", "Qingdao", "山东"), ("厦门", "Xiamen", "福建"),
          ("长沙", "Changsha", "湖南"), ("天津", "Tianjin", "天津"), ("重庆", "Chongqing", "重庆"),
          ("深圳", "Shenzhen", "广东"), ("杭州", "Hangzhou", "浙江"), ("南京", "Nanjing", "江苏"),
          ("郑州", "Zhengzhou", "河南"), ("沈阳", "Shenyang", "辽宁"), ("昆明", "Kunming", "云南"),
          ("南宁", "Nanning", "广西"), ("北京", "Beijing", "北京"), ("上海", "Shanghai", "上海"))
BRANDS = (("瀚海", "Hanhai"), ("科睿", "Kerui"), ("华拓", "Huatuo"), ("中源", "Zhongyuan"), ("恒信", "Hengxin"),
          ("博远", "Boyuan"), ("天衡", "Tianheng"), ("正泰", "Zhengtai"), ("启明", "Qiming"), ("鼎盛", "Dingsheng"),
          ("海纳", "Haina"), ("卓越", "Zhuoyue"), ("蓝海", "Lanhai"), ("新锐", "Xinrui"), ("长风", "Changfeng"),
          ("云帆", "Yunfan"), ("金桥", "Jinqiao"), ("和光", "Heguang"), ("思创", "Sichuang"), ("安泰", "Antai"),
          ("润禾", "Runhe"), ("远景", "Yuanjing"), ("星河", "Xinghe"), ("同创", "Tongchuang"))
TRADES = {  # field -> (Chinese trade, English trade, the related field it also works in)
    E: (("新能源科技", "New Energy Technology", CL), ("储能技术", "Energy Storage Technology", E),
        ("氢能科技", "Hydrogen Technology", CL)),
    M: (("新材料", "Advanced Materials", M), ("精密机械", "Precision Machinery", M),
        ("增材制造技术", "Additive Manufacturing", M)),
    I: (("通信技术", "Communication Technology", I), ("信息技术", "Information Technology", P)),
    A: (("种业", "Seed Industry", F), ("农业科技", "Agricultural Technology", F)),
    B: (("生物医药", "Biopharmaceutical", D), ("生物技术", "Biotechnology", B), ("医疗器械", "Medical Devices", D)),
    C: (("环保科技", "Environmental Technology", CL), ("水务科技", "Water Technology", C)),
    S: (("海洋装备", "Marine Equipment", S), ("卫星导航技术", "Satellite Navigation Technology", P)),
    P: (("安全技术", "Safety Technology", P), ("应急装备", "Emergency Equipment", P)),
}
ENTERPRISES = 60
# What the newer institutions take up within their fields: words of the topics (and programmes) they file on.
# An institution without an entry files on any topic of its fields.
TAKES_UP = {
    "iop": ("钙钛矿", "液流电池", "稀土永磁", "功能涂层", "量子密钥", "聚变"),
    "ict": ("第六代", "工业互联网", "机器翻译", "农村信息化"),
    "ia": ("机器翻译", "遥感影像", "工业互联网", "城市轨道", "重大基础设施"),
    "imr": ("高温合金", "碳纤维", "高速列车", "稀土永磁", "功能涂层"),
    "sic": ("钙钛矿", "功能涂层", "液流电池", "碳纤维"),
    "ciac": ("含氟", "功能涂层", "碳纤维", "液流电池", "氢燃料"),
    "igsnrr": ("荒漠化", "生物多样性监测", "流域", "冰川", "区域气候", "城市低碳", "盐碱地", "地球观测"),
    "iap": ("大气细颗粒物", "区域气候", "冰川", "森林火灾", "农业温室", "城市低碳", "地球观测"),
    "im": ("生物基", "单克隆", "结核病", "疟疾", "新发传染病"),
    "simm": ("创新药物", "单克隆", "肿瘤免疫", "疟疾", "传统医药", "艾滋病"),
    "wiv": ("新发传染病", "艾滋病", "结核病", "疟疾"),
    "scsio": ("深海", "海底", "海洋防灾", "近海赤潮", "大洋"),
    "aircas": ("遥感", "卫星导航", "极地", "森林火灾", "海洋防灾", "伽利略", "地球观测"),
    "giec": ("钙钛矿", "液流", "智能电网", "沼气", "离网", "碳捕集", "二氧化碳", "城市低碳"),
    "nimte": ("钙钛矿", "稀土永磁", "功能涂层", "碳纤维", "含氟", "氢燃料", "液流"),
    "sia": ("工业机器人", "精密数控", "深海探测", "海底"),
    "qibebt": ("生物基", "沼气", "氢燃料"),
    "kib": ("生物多样性", "热带森林", "传统医药"),
    "issas": ("盐碱地", "节水灌溉", "水稻", "小麦", "流域水污染", "荒漠化"),
    "siat": ("医学影像", "干细胞", "工业互联网", "第六代", "机器翻译"),
    "cams": ("肿瘤", "单克隆", "干细胞", "创新药物", "结核病", "新发传染病", "艾滋病", "疟疾", "基层医疗"),
    "caf": ("荒漠化", "生物多样性", "热带森林", "城市低碳", "区域气候"),
    "catas": ("热带作物", "甘蔗", "杂交水稻", "粮食产后", "海水健康养殖"),
    "ysfri": ("海水健康养殖", "海洋防灾"),
    "igp_cea": ("地震预警", "重大基础设施"),
    "cams_met": ("区域气候", "冰川", "森林火灾", "农业温室", "城市低碳", "地球观测"),
    "chinacdc": ("结核病", "新发传染病", "艾滋病", "疟疾", "食品安全"),
    "nwafu": ("小麦", "节水灌溉", "奶牛", "盐碱地", "耐旱玉米", "荒漠化", "农产品", "粮食产后"),
    "hzau": ("水稻", "奶牛", "农产品冷链", "杂交水稻", "生物基", "粮食产后", "热带作物"),
    "njau": ("水稻", "小麦", "农业温室", "盐碱地", "粮食产后", "耐旱玉米"),
    "cug": ("碳捕集", "地震预警", "荒漠化", "流域水污染", "冰川", "重大基础设施"),
    "cumt": ("碳捕集", "重大基础设施", "危险化学品", "沼气"),
    "hhu": ("流域水污染", "城市低碳", "重大基础设施", "区域气候", "地震预警"),
    "ouc": ("海水健康养殖", "深海", "海底", "极地", "近海赤潮", "海洋防灾", "区域气候", "大洋"),
    "lzu": ("荒漠化", "冰川", "节水灌溉", "生物多样性", "区域气候"),
    "xju": ("荒漠化", "节水灌溉", "冰川", "盐碱地", "离网", "智能电网"),
    "shzu": ("节水灌溉", "盐碱地", "耐旱玉米", "奶牛", "小麦"),
    "imu": ("荒漠化", "奶牛", "生物多样性", "节水灌溉", "干细胞"),
    "hainu": ("热带作物", "甘蔗", "海水健康养殖", "杂交水稻", "海洋防灾"),
    "ynu": ("生物多样性", "热带森林", "传统医药", "热带作物"),
    "gzu": ("热带作物", "生物多样性", "流域水污染", "小麦"),
    "uestc": ("第六代", "量子", "工业互联网", "遥感影像", "城市轨道"),
    "bnu": ("生物多样性", "荒漠化", "区域气候", "城市低碳", "森林火灾", "地震预警", "地球观测"),
    "xmu": ("近海赤潮", "海底", "深海", "海洋防灾", "液流", "钙钛矿", "生物多样性", "肿瘤", "大洋"),
    "nwpu": ("卫星导航", "深海探测", "极地", "高温合金", "碳纤维", "伽利略"),
    "buaa": ("卫星导航", "极地", "高温合金", "碳纤维", "工业机器人", "第六代", "量子", "伽利略"),
    "ustc": ("量子", "第六代", "钙钛矿", "液流", "稀土永磁", "对撞机", "聚变"),
    "pku": ("肿瘤", "干细胞", "创新药物", "新发传染病", "大气细颗粒物", "生物多样性", "区域气候", "量子",
            "对撞机"),
    "sjtu": ("深海", "海底", "高温合金", "精密数控", "工业机器人", "肿瘤", "干细胞", "医学影像", "氢燃料",
             "智能电网", "对撞机"),
}
# Enterprises take up what their trade is about.
TRADE_TAKES_UP = {
    "新能源科技": ("钙钛矿", "智能电网", "离网", "氢燃料", "碳捕集", "城市低碳"),
    "储能技术": ("液流电池", "智能电网", "离网"),
    "氢能科技": ("氢燃料", "二氧化碳加氢", "碳捕集"),
    "新材料": ("碳纤维", "稀土永磁", "功能涂层", "含氟"),
    "精密机械": ("精密数控", "工业机器人", "高速列车"),
    "增材制造技术": ("高温合金", "高速列车"),
    "通信技术": ("第六代", "量子", "农村信息化"),
    "信息技术": ("工业互联网", "机器翻译", "遥感影像", "农村信息化", "城市轨道", "重大基础设施"),
    "种业": ("水稻", "小麦", "耐旱玉米", "杂交水稻", "甘蔗"),
    "农业科技": ("节水灌溉", "奶牛", "农产品冷链", "热带作物", "粮食产后", "盐碱地"),
    "生物医药": ("单克隆", "创新药物", "肿瘤", "新发传染病", "疟疾", "艾滋病"),
    "生物技术": ("生物基", "干细胞", "单克隆"),
    "医疗器械": ("医学影像", "结核病", "基层医疗"),
    "环保科技": ("流域水污染", "大气细颗粒物", "固体废物", "城市低碳", "农业温室"),
    "水务科技": ("流域水污染",),
    "海洋装备": ("深海探测", "海底", "海洋防灾"),
    "卫星导航技术": ("卫星导航", "森林火灾", "海洋防灾"),
    "安全技术": ("城市轨道", "重大基础设施", "危险化学品", "食品安全"),
    "应急装备": ("危险化学品", "森林火灾", "地震预警"),
}
MORE_PROVINCES = (
    ("tianjin", "天津市科学技术局", "Tianjin Municipal Science and Technology Bureau", "天津"),
    ("chongqing", "重庆市科学技术局", "Chongqing Municipal Science and Technology Bureau", "重庆"),
    ("sichuan", "四川省科学技术厅", "Department of Science and Technology of Sichuan Province", "四川"),
    ("shaanxi", "陕西省科学技术厅", "Department of Science and Technology of Shaanxi Province", "陕西"),
    ("jilin", "吉林省科学技术厅", "Department of Science and Technology of Jilin Province", "吉林"),
    ("hunan", "湖南省科学技术厅", "Department of Science and Technology of Hunan Province", "湖南"),
    ("fujian", "福建省科学技术厅", "Department of Science and Technology of Fujian Province", "福建"),
    ("henan", "河南省科学技术厅", "Department of Science and Technology of Henan Province", "河南"),
    ("hainan", "海南省科学技术厅", "Department of Science and Technology of Hainan Province", "海南"),
    ("guizhou", "贵州省科学技术厅", "Department of Science and Technology of Guizhou Province", "贵州"),
    ("neimenggu", "内蒙古自治区科学技术厅",
     "Department of Science and Technology of Inner Mongolia Autonomous Region", "内蒙古"),
)
MORE_GIVEN_NAMES = ("伟", "芳", "静", "磊", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚", "桂英",
                    "建国", "春梅", "海涛", "永强", "晓燕", "卫东", "立军", "红梅", "宏伟", "雅琴", "浩然", "梓涵")
FOREIGN_EXPERT_NAMES = {"DE": ("Katrin Hoffmann", "Jonas Becker", "Miriam Schulz", "Lukas Wagner"),
                        "FR": ("Jean-Luc Moreau", "Claire Dubois", "Élodie Martin", "Pierre Lefèvre"),
                        "JP": ("Sato Haruki", "Tanaka Yui"), "KR": ("Kim Min-jun", "Lee Seo-yeon")}
TITLES = ("研究员", "教授", "研究员", "教授", "副研究员", "副教授", "正高级工程师")
OFFICERS = ("张立群", "吴佳怡", "李建国", "陈晓燕", "王海涛", "刘雅琴", "赵卫东", "孙春梅", "周浩然", "黄立军",
            "徐红梅", "马宏伟")

# --- the calls of a year -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallKind:
    """One of the year's calls: the demo call whose title, fields and rules it takes, and its window."""

    key: str
    demo: str
    opens: tuple[int, int]  # (month, day), Beijing
    closes: tuple[int, int]
    share: float  # of the year's applications
    durations: tuple[int, ...]  # months a project may run


CALL_KINDS = (
    CallKind("A", "A", (3, 1), (4, 30), 0.34, (24, 36, 36, 48)),
    CallKind("B", "B1", (5, 20), (7, 20), 0.26, (24, 36, 36, 48)),
    CallKind("G", "B2", (8, 25), (10, 15), 0.22, (36, 36, 48)),
    CallKind("P", "P", (10, 20), (12, 20), 0.18, (24, 24, 36)),
)
DECISION_AFTER = dt.timedelta(days=100)  # the decision meeting, after a call closes


@dataclass
class CallPlan:
    """One call of the data set: when it opens, closes and decides, and how many apply to it."""

    index: int
    kind: CallKind
    spec: CallSpec
    year: int
    opens: dt.datetime
    closes: dt.datetime
    created: dt.datetime
    filing_ends: dt.datetime  # the last moment a draft is opened: before the deadline, and before the cutoff
    count: int = 0
    first_no: int = 0  # the number of its first application in the data set
    total_budget: int = 0
    row: Call | None = None

    @property
    def code(self) -> str:
        return f"GJHZ-{self.year}-{self.kind.key}"

    @property
    def decision_day(self) -> dt.date:
        return (self.closes + DECISION_AFTER).astimezone(BEIJING).date()


def _beijing(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), BEIJING).astimezone(UTC)


def _calls(count: int, cutoff: dt.datetime) -> list[CallPlan]:
    """Four calls a year for the ten years up to the cutoff, each with its share of `count` applications.

    A call not yet open at the cutoff takes none; the fund grows a little each year.
    """
    last = cutoff.astimezone(BEIJING).year
    specs = {c.key: c for c in CALLS}
    calls: list[CallPlan] = []
    for year in range(last - YEARS + 1, last + 1):
        for kind in CALL_KINDS:
            opens = _beijing(dt.date(year, *kind.opens), 9)
            closes = _beijing(dt.date(year, *kind.closes), 17)
            created = opens - dt.timedelta(days=10)
            if created < cutoff:
                ends = min(closes - dt.timedelta(days=3), cutoff - dt.timedelta(hours=12))
                calls.append(CallPlan(len(calls), kind, specs[kind.demo], year, opens, closes, created, ends))
    weights = [(1 + 0.1 * (c.year - last + YEARS - 1)) * c.kind.share * _elapsed(c) for c in calls]
    _share_out(calls, weights, count)
    no = 1
    for call in calls:
        call.first_no, no = no, no + call.count
    return calls


def _elapsed(call: CallPlan) -> float:
    """How much of its filing window a call has had by the cutoff: an open call has had only part of its share."""
    if call.filing_ends <= call.opens:
        return 0.0
    return (call.filing_ends - call.opens) / (call.closes - dt.timedelta(days=3) - call.opens)


def _share_out(calls: list[CallPlan], weights: list[float], count: int) -> None:
    """Whole numbers in proportion to `weights` that add up to `count` (largest remainders)."""
    total = sum(weights) or 1.0
    exact = [count * w / total for w in weights]
    for call, share in zip(calls, exact):
        call.count = int(share)
    left = count - sum(c.count for c in calls)
    for i in sorted(range(len(calls)), key=lambda i: (int(exact[i]) - exact[i], i))[:left]:
        calls[i].count += 1


# --- a life: when each step happens, and how the application fares ---------------------------------

# Turns of a life; `BIAS` forces some of them, to cover every state in a small data set.
EARLY_EXITS = frozenset({"abandon", "withdraw_draft", "withdraw_pending", "revise", "decline", "ineligible",
                         "screened_out", "withdraw_formal", "withdraw_expert", "withdraw_decision"})
TROUBLE = frozenset({"terminate", "terminate_suspended", "fail", "very_late", "detour"})
BIAS: dict[str, tuple[frozenset, frozenset]] = {  # state at the cutoff -> (turns taken, turns not taken)
    "draft": (frozenset({"abandon"}), frozenset()),
    "withdrawn": (frozenset({"withdraw_draft"}), frozenset({"abandon"})),
    "revision_requested": (frozenset({"revise", "linger"}),
                           frozenset({"abandon", "withdraw_draft", "withdraw_pending"})),
    "not_recommended": (frozenset({"decline"}),
                        frozenset({"abandon", "withdraw_draft", "withdraw_pending", "revise"})),
    "ineligible": (frozenset({"ineligible"}), EARLY_EXITS - {"ineligible"}),
    "pending_recommendation": (frozenset(), EARLY_EXITS),
    "formal_review": (frozenset(), EARLY_EXITS),
    "expert_review": (frozenset(), EARLY_EXITS),
    "decision_pending": (frozenset(), EARLY_EXITS),
    "rejected": (frozenset(), EARLY_EXITS | {"approve"}),
    "approved": (frozenset({"approve"}), EARLY_EXITS | TROUBLE),
    "in_progress": (frozenset({"approve"}), EARLY_EXITS | TROUBLE),
    "closeout_review": (frozenset({"approve"}), EARLY_EXITS | TROUBLE),
    "completed": (frozenset({"approve"}), EARLY_EXITS | TROUBLE),
    "suspended": (frozenset({"approve", "very_late"}), EARLY_EXITS | {"terminate", "terminate_suspended"}),
    "terminated": (frozenset({"approve", "terminate"}), EARLY_EXITS | {"fail"}),
    "failed_acceptance": (frozenset({"approve", "fail"}), EARLY_EXITS | {"terminate", "very_late"}),
}
GRACE_DAYS = 30  # every generated call's: the scan suspends a project this long after a milestone falls due


@dataclass(frozen=True)
class PlannedMilestone:
    seq: int
    months: int
    title: str
    kind: str
    evidence: str
    due: dt.date


@dataclass
class Life:
    """One application's life as planned: its steps in time order, and what they rest on.

    Steps are tuples (when, kind, *args): ("create",), ("upload", attachment kind), ("fire", who,
    trigger, *about), ("assign", slot, slot it replaces), ("review", slot, trigger, closes expert review),
    ("ms", milestone seq, who, trigger).
    """

    steps: list[tuple]
    duration: int
    screened_out: bool  # a foreign applicant declaring sensitive technology: formal review stops it
    slots: int = 0  # review assignments, a replacement included
    merit: float = 0.0
    share: float = 1.0  # of the central funds requested that an approval grants
    milestones: list[PlannedMilestone] = field(default_factory=list)
    signed_on: dt.date | None = None

    @property
    def approved(self) -> bool:
        return any(s[1] == "fire" and s[3] == "approve" for s in self.steps)


class _Timeline:
    """Steps appended in time order: a step never comes before the one before it."""

    def __init__(self, rng: random.Random):
        self.rng, self.steps, self.t = rng, [], None

    def add(self, when: dt.datetime, *step) -> None:
        if self.t is not None and when <= self.t:
            when = self.t + dt.timedelta(seconds=self.rng.randint(20, 600))
        self.steps.append((when, *step))
        self.t = when

    def day(self) -> dt.date:
        return self.t.astimezone(BEIJING).date()


def _office(day: dt.date, r: random.Random) -> dt.datetime:
    """A moment of office hours on `day`, or on the Monday after when it falls on a weekend."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    minute = r.randint(8 * 60 + 30, 17 * 60 + 50)
    return _beijing(day, minute // 60, minute % 60) + dt.timedelta(seconds=r.randrange(60))


def _anytime(day: dt.date, r: random.Random) -> dt.datetime:
    """When an applicant or an expert works: any day, early morning to late evening."""
    minute = r.randint(7 * 60 + 30, 23 * 60 + 20)
    return _beijing(day, minute // 60, minute % 60) + dt.timedelta(seconds=r.randrange(60))


def _days(day: dt.date, low: int, high: int, r: random.Random) -> dt.date:
    return day + dt.timedelta(days=r.randint(low, high))


def plan_life(seed: int, no: int, call: CallPlan, salt: int = 0, bias: str | None = None) -> Life:
    """The whole life of application `no` of `call`, from its own random stream (the cutoff cuts it later)."""
    r = random.Random(f"{seed}/{no}/{salt}")
    taken, not_taken = BIAS.get(bias, (frozenset(), frozenset()))

    def chance(turn: str, p: float) -> bool:
        return True if turn in taken else False if turn in not_taken else r.random() < p

    life = Life([], r.choice(call.kind.durations), chance("screened_out", 0.012))
    tl = _Timeline(r)
    for phase in (_filing, _routing, _screening, _review, _decision, _project):
        if not phase(life, tl, call, chance):
            break
    life.steps = tl.steps
    return life


def _filing(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """Drafted within the window (later rather than sooner), the two attachments uploaded, submitted by the
    deadline, most of them in its last weeks."""
    r = tl.rng
    span = max(0.0, (call.filing_ends - call.opens).total_seconds())
    created = call.opens + dt.timedelta(seconds=span * r.betavariate(1.4, 1.2))
    created = min(max(_anytime(created.astimezone(BEIJING).date(), r), call.opens + dt.timedelta(minutes=5)),
                  call.filing_ends)
    tl.add(created, "create")
    tl.add(tl.t + dt.timedelta(minutes=r.randint(5, 240)), "upload", "proposal")
    tl.add(tl.t + dt.timedelta(minutes=r.randint(5, 600)), "upload", "cooperation_agreement")
    if chance("abandon", 0.012):
        return False
    if chance("withdraw_draft", 0.008):
        tl.add(_anytime(_days(tl.day(), 1, 20, r), r), "fire", "applicant", "withdraw")
        return False
    closes_day = call.closes.astimezone(BEIJING).date()
    days_left = max(0, (closes_day - tl.day()).days - 1)
    submit_day = tl.day() + dt.timedelta(days=round(days_left * r.betavariate(2.2, 1.0)))
    submit = min(_anytime(submit_day, r), call.closes - dt.timedelta(minutes=r.randint(5, 300)))
    tl.add(max(submit, tl.t + dt.timedelta(minutes=30)), "fire", "applicant", "submit")
    return True


def _routing(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """The body returns some for revision while the call is still open (resubmitted before it closes),
    declines some (quotas, fit) and recommends the rest, mostly in the weeks after the deadline."""
    r = tl.rng
    if chance("withdraw_pending", 0.006):
        tl.add(_anytime(_days(tl.day(), 1, 10, r), r), "fire", "applicant", "withdraw")
        return False
    returned = _office(_days(tl.day(), 1, 6, r), r)
    if returned + dt.timedelta(days=4) < call.closes and chance("revise", 0.09):
        tl.add(returned, "fire", "recommender", "return_for_revision")
        if chance("linger", 0.04):
            return False
        if chance("withdraw_revision", 0.08):
            tl.add(_anytime(_days(tl.day(), 1, 10, r), r), "fire", "applicant", "withdraw")
            return False
        room = max(1, min(10, (call.closes - tl.t).days - 1))
        tl.add(min(_anytime(_days(tl.day(), 1, room, r), r), call.closes - dt.timedelta(minutes=30)),
               "fire", "applicant", "resubmit")
    closes_day = call.closes.astimezone(BEIJING).date()
    decided = _office(max(_days(tl.day(), 2, 18, r), _days(closes_day, 1, 20, r)), r)
    if chance("decline", 0.2):
        tl.add(decided, "fire", "recommender", "decline_recommendation")
        return False
    tl.add(decided, "fire", "recommender", "recommend")
    return True


def _screening(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """Formal review: the officer screens out the incomplete and, always, a foreign applicant's declared
    sensitive technology."""
    r = tl.rng
    closes_day = call.closes.astimezone(BEIJING).date()
    screened = _office(max(_days(tl.day(), 3, 20, r), _days(closes_day, 20, 55, r)), r)
    if life.screened_out or chance("ineligible", 0.07):
        tl.add(screened, "fire", "officer", "reject_ineligible")
        return False
    if chance("withdraw_formal", 0.004):
        tl.add(_anytime(_days(tl.day(), 1, 8, r), r), "fire", "applicant", "withdraw")
        return False
    tl.add(screened, "fire", "officer", "pass_formal_review")
    return True


def _review(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """A panel of the call's quorum, each expert declaring no conflict and scoring within the three weeks
    allowed; now and then one declines and the officer assigns another. The review that completes the
    quorum closes expert review (the engine does that, as the system)."""
    r = tl.rng
    if chance("withdraw_expert", 0.004):
        tl.add(_anytime(_days(tl.day(), 1, 3, r), r), "fire", "applicant", "withdraw")
        return False
    quorum = call.spec.quorum
    assigned = _office(_days(tl.day(), 1, 6, r), r)
    declines = r.randrange(quorum) if chance("review_decline", 0.12) else None
    life.slots = quorum + (declines is not None)
    steps: list[tuple] = []
    for slot in range(quorum):
        at = assigned + dt.timedelta(minutes=2 * slot)
        steps.append((at, "assign", slot, None))
        if slot == declines:
            gone = max(_anytime(_days(at.astimezone(BEIJING).date(), 0, 3, r), r), at + dt.timedelta(hours=1))
            steps.append((gone, "review", slot, "decline"))
            at = max(_office(_days(gone.astimezone(BEIJING).date(), 1, 3, r), r), gone + dt.timedelta(hours=1))
            steps.append((at, "assign", quorum, slot))
            steps += _scoring(at, quorum, r)
        else:
            steps += _scoring(at, slot, r)
    steps.sort(key=lambda s: s[0])
    last = max(i for i, s in enumerate(steps) if s[1] == "review" and s[3] == "submit_review")
    for i, step in enumerate(steps):
        if step[1] == "review":
            step = (*step, i == last)  # whether this review completes the quorum
        tl.add(*step)
    return True


def _scoring(assigned: dt.datetime, slot: int, r: random.Random) -> list[tuple]:
    day = assigned.astimezone(BEIJING).date()
    declared = max(_anytime(_days(day, 0, 4, r), r), assigned + dt.timedelta(minutes=30))
    submitted = _anytime(_days(declared.astimezone(BEIJING).date(), 1, 14, r), r)
    submitted = min(max(submitted, declared + dt.timedelta(hours=2)), _beijing(day + dt.timedelta(days=20), 22))
    return [(declared, "review", slot, "declare_no_conflict"), (submitted, "review", slot, "submit_review")]


def _decision(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """Decided at the call's decision meeting (or soon after a late panel closes): about a third approved."""
    r = tl.rng
    if chance("withdraw_decision", 0.003):
        tl.add(_anytime(_days(tl.day(), 1, 10, r), r), "fire", "applicant", "withdraw")
        return False
    day = max(_days(call.decision_day, 0, 10, r), _days(tl.day(), 3, 10, r))
    approve = chance("approve", 0.32)
    life.merit = r.uniform(78, 93) if approve else r.uniform(56, 80)
    if not approve:
        tl.add(_office(day, r), "fire", "officer", "reject")
        return False
    life.share = r.choice((0.8, 0.85, 0.9, 0.95, 1.0))
    tl.add(_office(day, r), "fire", "officer", "approve")
    return True


def milestone_plan(duration: int, signed_on: dt.date) -> list[PlannedMilestone]:
    """The cooperation agreement's milestones: start-up, each year's report, the mid-term check, the end."""
    rows = [(3, "合作协议备案与联合研究启动", "joint_research_output", "合作协议备案回执、联合研究启动会纪要")]
    rows += [(m, f"第{m // 12}年度执行情况报告", "annual_report", "年度执行报告及经费使用情况说明")
             for m in range(12, duration, 12)]
    if (duration // 2) % 12:
        rows.append((duration // 2, "项目中期检查", "mid_term_report", "中期检查报告及外方合作单位评价意见"))
    rows.append((duration, "成果集成、技术转移与项目总结", "technology_transfer",
                 "技术转移合同或成果转化证明、联合发表论文清单"))
    return [PlannedMilestone(seq, m, title, kind, evidence, add_months(signed_on, m))
            for seq, (m, title, kind, evidence) in enumerate(sorted(rows), start=1)]


def _project(life: Life, tl: _Timeline, call: CallPlan, chance) -> bool:
    """The signed agreement and its milestones, each reported (some late, a few very late) and accepted
    (some returned first); a rare suspension or termination; the close-out."""
    r = tl.rng
    tl.add(_anytime(_days(tl.day(), 12, 45, r), r), "upload", "signed_agreement")
    tl.add(tl.t + dt.timedelta(minutes=r.randint(10, 120)), "fire", "applicant", "sign_agreement")
    life.signed_on = tl.day()
    life.milestones = milestone_plan(life.duration, life.signed_on)
    count = len(life.milestones)
    terminate_before = r.randrange(1, count) if chance("terminate", 0.03) else None
    very_late = r.randrange(count - 1) if chance("very_late", 0.04) else None
    detour_after = r.randrange(count - 1) if chance("detour", 0.05) else None
    for i, m in enumerate(life.milestones):
        if i == terminate_before:
            tl.add(_office(_days(tl.day(), 15, 60, r), r), "fire", "officer", "terminate")
            return True
        if not _milestone(tl, m, i == very_late, chance, r):
            return True
        if i == detour_after:
            _detour(tl, life.milestones[i + 1].due, r)
    tl.add(_anytime(_days(tl.day(), 5, 30, r), r), "upload", "final_report")
    tl.add(tl.t + dt.timedelta(minutes=r.randint(10, 200)), "fire", "applicant", "request_closeout")
    verdict = "fail_closeout" if chance("fail", 0.05) else "accept_closeout"
    tl.add(_office(_days(tl.day(), 30, 90, r), r), "fire", "officer", verdict)
    return True


def _milestone(tl: _Timeline, m: PlannedMilestone, very_late: bool, chance, r: random.Random) -> bool:
    """Report, maybe returned and reported again, accepted. False when the project ends here (terminated)."""
    state = {"state": "planned", "since": tl.t, "suspended": False}
    if very_late:
        report_day = m.due + dt.timedelta(days=GRACE_DAYS + r.randint(5, 40))
    elif chance("late", 0.10):
        report_day = m.due + dt.timedelta(days=r.randint(1, GRACE_DAYS - 5))
    else:
        report_day = m.due - dt.timedelta(days=r.randint(1, 25))
    report_day = max(report_day, _days(tl.day(), 1, 3, r))
    if not _report(tl, m, _anytime(report_day, r), state, chance, r):
        return False
    if chance("returned", 0.12):
        tl.add(_office(_days(tl.day(), 4, 15, r), r), "ms", m.seq, "officer", "return")
        state.update(state="returned", since=tl.t)
        if not _report(tl, m, _anytime(_days(tl.day(), 2, 12, r), r), state, chance, r):
            return False
    tl.add(_office(_days(tl.day(), 5, 25, r), r), "ms", m.seq, "officer", "accept")
    return True


def _report(tl: _Timeline, m: PlannedMilestone, when: dt.datetime, state: dict, chance, r: random.Random) -> bool:
    """The applicant reports at `when`, after what the hourly scan (workflow/scan.py) would have done by
    then: mark the milestone overdue the day after it fell due, and suspend the project once the grace
    period has passed; the officer then resumes it, or terminates it (False)."""
    if state["state"] in ("planned", "returned"):
        marked = max(_beijing(m.due + dt.timedelta(days=1), 0, r.randint(5, 55)),
                     state["since"] + dt.timedelta(hours=1))
        if when > marked:
            tl.add(marked, "ms", m.seq, "system", "mark_overdue")
            state.update(state="overdue", since=tl.t)
    if state["state"] == "overdue" and not state["suspended"]:
        suspended = _beijing(m.due + dt.timedelta(days=GRACE_DAYS + 1), 1, r.randint(0, 50))
        if when > suspended:
            tl.add(suspended, "fire", "system", "suspend", m.seq)
            state["suspended"] = True
            if chance("terminate_suspended", 0.4):
                tl.add(_office(_days(tl.day(), 10, 60, r), r), "fire", "officer", "terminate")
                return False
            tl.add(_office(max(when.astimezone(BEIJING).date(), _days(tl.day(), 7, 20, r)), r),
                   "fire", "officer", "resume")
            when = tl.t + dt.timedelta(minutes=r.randint(30, 300))
    tl.add(when, "ms", m.seq, "applicant", "report")
    state.update(state="reported", since=tl.t)
    return True


def _detour(tl: _Timeline, next_due: dt.date, r: random.Random) -> None:
    """Suspended for a compliance problem between two milestones, and resumed well before the next one."""
    start = _days(tl.day(), 10, 30, r)
    end = _days(start, 30, 90, r)
    if (next_due - end).days >= 30:
        tl.add(_office(start, r), "fire", "officer", "suspend")
        tl.add(_office(end, r), "fire", "officer", "resume")


APPLICATION = "application"


def kept(life: Life, cutoff: dt.datetime) -> list[tuple]:
    """The steps taken before the cutoff."""
    return life.steps[:bisect.bisect_left([s[0] for s in life.steps], cutoff)]


def state_at(steps: list[tuple]) -> str | None:
    """The state these steps leave the application in (None: no draft yet)."""
    wf = workflow(APPLICATION)
    state = None
    for _when, kind, *args in steps:
        if kind == "create":
            state = wf.initial
        elif kind == "fire":
            state = wf.transition(args[1], state).dest
        elif kind == "review" and args[2]:
            state = "decision_pending"
    return state


# --- who and what: the application's facts --------------------------------------------------------


@dataclass
class Draft:
    """What one application is, chosen when its call is created, and how far its life has run."""

    no: int
    call: CallPlan
    life: Life
    org: Org
    mechanism: Mechanism
    subject: Topic | Programme
    partners: list[dict]
    body: BodySpec
    base: str | None
    kind: str  # cooperation type
    title: str
    title_en: str
    central: int
    sensitive: bool
    experts: int
    young: int
    pi: str
    say: random.Random  # comments, opinions, scores, outcomes: drawn as the steps run
    applicant: Actor | None = None
    recommender: Actor | None = None
    officer: Actor | None = None
    panel: list[int] = field(default_factory=list)  # the expert (user id) of each review slot
    spare: list[int] = field(default_factory=list)  # others free of conflicts, should one be refused
    app_id: int | None = None
    review_ids: dict[int, int] = field(default_factory=dict)  # slot -> review id
    index: int = 0  # of the next step to run

    @property
    def field(self) -> str:
        return self.subject.field

    @property
    def amount(self) -> int:
        return max(10_000, int(self.central * self.life.share) // 10_000 * 10_000)


_KIND_WEIGHT = {"university": 6.0, "institute": 4.0, "enterprise": 1.5, "foreign_invested_enterprise": 0.7,
                "foreign_institution": 0.5}
_FIELD_ORDER = ("energy_resources", "new_materials_manufacturing", "information_networks", "modern_agriculture",
                "biology_health", "ecology_environment", "space_ocean", "public_safety", "climate_change",
                "food_security", "major_diseases")
FOREIGN_KINDS = ("foreign_invested_enterprise", "foreign_institution")


class World:
    """The reference data and its ids, the people who act, and the one stream of choices made for all."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(f"{seed}/world")
        orgs = (*INSTITUTIONS, *MORE_UNIVERSITIES, *CAS_INSTITUTES, *MORE_INSTITUTES, *MORE_FOREIGN)
        self.orgs: dict[str, Org] = {o.key: o for o in orgs}
        self.takes_up: dict[str, tuple[str, ...]] = dict(TAKES_UP)
        for org, words in _enterprises(self.rng, {o.name for o in orgs}):
            self.orgs[org.key] = org
            self.takes_up[org.key] = words
        self.curated = {o.key for o in INSTITUTIONS}  # the demo's own file only the topics that name them
        cas = next(b for b in BODIES if b.key == "cas")
        self.bodies: dict[str, BodySpec] = {b.key: b for b in BODIES}
        self.bodies["cas"] = replace(cas, serves=(*cas.serves, *(o.key for o in CAS_INSTITUTES)))
        for key, name, name_en, province in MORE_PROVINCES:
            self.bodies[key] = BodySpec(key, name, name_en, "ministry_province", "provincial_department",
                                        (province,))
        self.size = {k: self.rng.uniform(0.5, 2.0) * _KIND_WEIGHT[o.kind] for k, o in self.orgs.items()}
        # Registry rows by key (held, so the session keeps them loaded; a draft not yet flushed is given
        # them, not only their ids, for its guards to read).
        self.institutions: dict[str, Institution] = {}
        self.body_rows: dict[str, Body] = {}
        self.bases: dict[str, CooperationBase] = {}
        self.inst_ids: dict[str, int] = {}
        self.admin: Actor | None = None
        self.officers: list[Actor] = []
        self.applicants: dict[str, list[Actor]] = {}
        self.recommenders: dict[str, list[Actor]] = {}
        self.experts: dict[str, list[tuple[int, int]]] = {}  # field -> [(user id, institution id)]
        self.reviewers: dict[int, Actor] = {}
        self.names: dict[str, set[int]] = {}  # normalised institution name -> ids, as conflicts reads them
        self.cache: dict[tuple, Any] = {}
        self.titles: Counter = Counter()
        self.cycles: dict[object, Iterator] = {}
        self.rows: list[Any] = []  # reference rows, held so that the session keeps them loaded

    def next_of(self, key: object, items: list) -> Any:
        """Deal `items` round-robin in a shuffled order, so that each of them is used."""
        if key not in self.cycles:
            items = list(items)
            self.rng.shuffle(items)
            self.cycles[key] = itertools.cycle(items)
        return next(self.cycles[key])

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES + MORE_GIVEN_NAMES)

    def registry_match(self, name: str) -> int | None:
        """The one registry institution `name` reads as, or None (services.conflicts.registry_match)."""
        found = self.names.get(conflicts.normalise_name(name), ())
        return next(iter(found)) if len(found) == 1 else None


def _enterprises(rng: random.Random, taken: set[str]) -> list[tuple[Org, tuple[str, ...]]]:
    """Enterprises of every field across the provinces, named as Chinese firms are, each with what its
    trade takes up."""
    found: list[tuple[Org, tuple[str, ...]]] = []
    fields = list(TRADES)
    while len(found) < ENTERPRISES:
        field_ = fields[len(found) % len(fields)]
        city, city_en, province = rng.choice(CITIES)
        brand, brand_en = rng.choice(BRANDS)
        trade, trade_en, also = rng.choice(TRADES[field_])
        form, form_en = rng.choice((("股份有限公司", "Co., Ltd."), ("有限公司", "Co., Ltd."),
                                    ("集团有限公司", "Group Co., Ltd.")))
        name = f"{city}{brand}{trade}{form}"
        if name in taken:
            continue
        taken.add(name)
        key = f"ent{len(found) + 1:03d}"
        found.append((Org(key, name, f"{city_en} {brand_en} {trade_en} {form_en}", "enterprise", province,
                          tuple(dict.fromkeys((field_, also)))), TRADE_TAKES_UP[trade]))
    return found


def _options(world: World, spec: CallSpec, org: Org, sensitive: bool) -> list[tuple[Mechanism, Topic | Programme]]:
    """What `org` can file in a call: (mechanism, topic or programme) where it works on the topic, the call
    takes the field and the mechanism has counterparts in it; a foreign applicant's are with its home
    country's counterparts (the demo's rules, workflow/demo.py)."""
    key = ("options", spec.key, org.key, sensitive)
    if key in world.cache:
        return world.cache[key]

    def allowed(field_: str) -> bool:
        return (not spec.fields or field_ in spec.fields) and (not sensitive or field_ in SENSITIVE_FIELDS)

    def takes_up(subject) -> bool:
        if org.key in world.curated:
            return org.key in subject.by
        words = world.takes_up.get(org.key)
        if words is not None:
            return subject.field in org.fields and any(w in subject.name for w in words)
        return subject.field in org.fields and isinstance(subject, Topic)

    found: list[tuple[Mechanism, Topic | Programme]] = []
    for mechanism in MECHANISMS:
        if spec.partnership and not mechanism.developing:
            continue
        if mechanism.key == "big_science":
            if not org.home:  # a foreign applicant works with its home country, not a programme
                found += [(mechanism, p) for p in PROGRAMMES if takes_up(p) and allowed(p.field)]
            continue
        reach = {"", "D"} if spec.partnership else {"", "D", "A"} if mechanism.developing else {"", "A"}
        for topic in TOPICS:
            if (takes_up(topic) and allowed(topic.field) and topic.reach in reach
                    and (not mechanism.fields or topic.field in mechanism.fields)):
                fitting = _fitting(mechanism, topic)
                if fitting and (not org.home or any(p.country == org.home for p in fitting)):
                    found.append((mechanism, topic))
    world.cache[key] = found
    return found


def _fitting(mechanism: Mechanism, topic: Topic) -> list:
    """The mechanism's counterparts who work on the topic: those it names, or else those in its field."""
    if topic.partners:
        return [p for p in mechanism.partners if p.name in topic.partners]
    return [p for p in mechanism.partners if topic.field in p.fields]


def _filers(world: World, spec: CallSpec, sensitive: bool) -> tuple[list[str], list[float]]:
    """The institutions that can file in a call (foreign ones declaring sensitive technology, when asked),
    with cumulative weights: the larger ones file more."""
    key = ("filers", spec.key, sensitive)
    if key not in world.cache:
        keys = [k for k, o in world.orgs.items() if o.applies and (not sensitive or o.kind in FOREIGN_KINDS)
                and _options(world, spec, o, sensitive)]
        world.cache[key] = (keys, list(itertools.accumulate(world.size[k] for k in keys)))
    return world.cache[key]


def compose(world: World, call: CallPlan, no: int, life: Life) -> Draft:
    """Who files what with whom, through which body: the institution first, then a mechanism and a topic it
    works on, then counterparts of that mechanism who work on the topic."""
    rng, spec = world.rng, call.spec
    screened = life.screened_out and bool(_filers(world, spec, True)[0])
    keys, weights = _filers(world, spec, screened)
    org = world.orgs[rng.choices(keys, cum_weights=weights)[0]]
    mechanism, subject = rng.choice(_options(world, spec, org, screened))
    kind = _cooperation_type(rng, spec, mechanism, subject)
    partners = [*_counterparts(rng, mechanism, subject, org), *_domestic(world, org, subject)]
    body = _route(world, org, mechanism, subject.field, partners)
    title, title_en = _titles(world, org, mechanism, partners, subject, kind)
    central = rng.randrange(50, spec.max_central // 10_000 + 1) * 10_000
    sensitive = screened or (org.kind not in FOREIGN_KINDS and subject.field in SENSITIVE_FIELDS
                             and rng.random() < 0.3)
    draft = Draft(no, call, life, org, mechanism, subject, partners, body, _base(world, org, mechanism, subject),
                  kind, title, title_en, central, sensitive, rng.randint(1, 8), rng.randint(2, 12), world.person(),
                  random.Random(f"{world.seed}/{no}/say"))
    draft.applicant = world.next_of(("applicant", org.key), world.applicants[org.key])
    draft.recommender = world.next_of(("recommender", body.key), world.recommenders[body.key])
    draft.officer = world.officers[_FIELD_ORDER.index(subject.field) % len(world.officers)]
    _choose_panel(world, draft)
    return draft


def _cooperation_type(rng: random.Random, spec: CallSpec, mechanism: Mechanism, subject) -> str:
    """Technology and talent come from advanced partners; developing ones get demonstration and training."""
    if isinstance(subject, Programme):
        return "big_science"
    kinds = (("st_partnership",) if spec.partnership else
             ("joint_rnd", "joint_rnd", "base_construction", "st_partnership") if mechanism.developing else
             ("joint_rnd", "joint_rnd", "joint_rnd", "technology_introduction", "talent_introduction",
              "base_construction"))
    kind = rng.choice(kinds)
    return "joint_rnd" if kind == "st_partnership" and subject.reach == "A" else kind


def _counterparts(rng: random.Random, mechanism: Mechanism, subject, org: Org) -> list[dict]:
    """A programme's own counterpart, or one to three of the mechanism's who work on the topic; a foreign
    applicant's include one from its home country."""
    if isinstance(subject, Programme):
        name, country, kind = subject.counterpart
        return [{"name": name, "country": country, "kind": kind}]
    fitting = _fitting(mechanism, subject)
    chosen = rng.sample(fitting, min(rng.choice((1, 1, 2, 3 if mechanism.developing else 2)), len(fitting)))
    home = [p for p in fitting if p.country == org.home]
    if home and not any(p in home for p in chosen):
        chosen[0] = rng.choice(home)
    return [{"name": p.name, "country": p.country, "kind": p.kind} for p in chosen]


def _domestic(world: World, org: Org, subject) -> list[dict]:
    """Now and then a domestic university or institute of the field joins the consortium (产学研结合)."""
    if world.rng.random() >= 0.3:
        return []
    key = ("domestic", subject.field)
    if key not in world.cache:
        world.cache[key] = [o for o in world.orgs.values() if o.kind in ("university", "institute") and o.applies
                            and subject.field in o.fields]
    others = [o for o in world.cache[key] if o.key != org.key]
    if not others:
        return []
    other = world.rng.choice(others)
    return [{"name": other.name, "country": "CN", "kind": other.kind}]


_CHANNEL_WEIGHT = {"intergovernmental": 3, "inter_agency": 2, "ministry_province": 3, "embassy": 2}


def _route(world: World, org: Org, mechanism: Mechanism, field_: str, partners: list[dict]) -> BodySpec:
    """The recommending body, by the channel the applicant chose and what the bodies of that channel serve:
    the partner's country, the applicant's province, the field, the kind of institution."""
    keys = {org.province, field_, org.kind, org.key}
    if mechanism.key != "big_science":  # programmes are joined through ministries and provinces
        keys.add(partners[0]["country"])
    by_channel: dict[str, list[BodySpec]] = {}
    for body in world.bodies.values():
        if keys & set(body.serves):
            by_channel.setdefault(body.channel, []).append(body)
    channels = sorted(by_channel)
    channel = world.rng.choices(channels, weights=[_CHANNEL_WEIGHT[c] for c in channels])[0]
    return world.rng.choice(by_channel[channel])


def _titles(world: World, org: Org, mechanism: Mechanism, partners: list[dict], topic, kind: str) -> tuple[str, str]:
    """中德…联合研究 / Sino-German joint research on …; an institution's second and third on one title are
    its next phases."""
    countries = sorted({p["country"] for p in partners if p["country"] != "CN"})
    if len(countries) == 1 and mechanism.key != "big_science":
        prefix, prefix_en = COUNTRY_PREFIX[countries[0]]
    else:
        prefix, prefix_en = mechanism.prefix, mechanism.prefix_en
    suffix, phrase_en, _ = COOPERATION[kind]
    title = f"{prefix}{topic.name}{suffix}".replace("技术技术", "技术")
    title_en = f"{prefix_en} {phrase_en} {topic.name_en}".strip()
    seen = world.titles[(org.key, title)]
    world.titles[(org.key, title)] += 1
    phase, phase_en = (("", ""), ("（二期）", " (phase II)"), ("（三期）", " (phase III)"), ("", ""))[min(seen, 3)]
    return title + phase, title_en + phase_en


def _base(world: World, org: Org, mechanism: Mechanism, subject) -> str | None:
    """A base in the field that the applicant hosts or that serves the mechanism, for most that have one."""
    candidates = [b.key for b in BASES
                  if (not b.fields or subject.field in b.fields)
                  and (b.mechanism == mechanism.key if b.host != org.key else b.mechanism in (None, mechanism.key))
                  and b.host in (None, org.key)]
    if not candidates or world.rng.random() < 0.35:
        return None
    return world.rng.choice(candidates)


def _choose_panel(world: World, draft: Draft) -> None:
    """Experts of the field, none of the applicant institution nor of a registry partner (DESIGN §2)."""
    if not draft.life.slots:
        return
    barred = {world.inst_ids[draft.org.key]}
    for p in draft.partners:
        found = world.names.get(conflicts.normalise_name(p["name"]), set())
        barred |= found if len(found) == 1 else set()
    pool = world.experts[draft.field]
    picks = world.rng.sample(range(len(pool)), min(len(pool), draft.life.slots + 6))
    free = [pool[i][0] for i in picks if pool[i][1] not in barred]
    if len(free) < draft.life.slots:
        raise RuntimeError(f"too few experts in {draft.field} for a panel of {draft.life.slots}")
    draft.panel, draft.spare = free[:draft.life.slots], free[draft.life.slots:]


def _budget(drafts: list[Draft]) -> int:
    """A call's total budget: what its approvals in the data set grant, with a margin, in ten millions."""
    approved = sum(d.amount for d in drafts if d.life.approved)
    return max(50_000_000, math.ceil(approved * 1.2 / 10_000_000) * 10_000_000)


def _budget_lines(d: Draft) -> dict:
    """Whole yuan, in 10,000s; local matching and self-raised funds meet the call's minimum ratio."""
    ratio = d.call.spec.min_matching_ratio + d.say.choice((0.0, 0.1, 0.2, 0.3, 0.5, 0.8))
    matching = math.ceil(d.central * ratio / 10_000) * 10_000
    local_share = 0.7 if d.body.channel == "ministry_province" else 0.1 if d.org.kind.endswith("enterprise") else 0.3
    local = round(matching * local_share / 10_000) * 10_000
    return {"central": d.central, "local_matching": local, "self_raised": matching - local}


def _summary_text(d: Draft) -> str:
    names = "、".join(p["name"] for p in d.partners)
    return (f"依托{d.mechanism.name}，{d.org.name}联合{names}，围绕{d.subject.name}开展{COOPERATION[d.kind][2]}。"
            f"项目拟邀请外方专家{d.experts}人次来华工作，培养青年科研人员{d.young}名，形成具有自主知识产权的技术成果，"
            "并在国内示范推广，促进国际科技合作成果转化。")


# --- what the actors say and send with a trigger ----------------------------------------------------


def _comment(d: Draft, trigger: str, who: str, about: tuple) -> str | None:
    if trigger == "reject_ineligible" and d.sensitive and d.org.kind in FOREIGN_KINDS:
        return INELIGIBLE_FOREIGN.format(kind=FOREIGN_KIND_NAMES[d.org.kind])
    if trigger == "suspend" and who == "system":
        m = d.life.milestones[about[0] - 1]
        return f"里程碑“{m.title}”（{m.due}）逾期超过宽限期 {GRACE_DAYS} 天，暂停执行。"
    reasons = REASONS.get(trigger)
    return d.say.choice(reasons) if reasons else None


def _payload(d: Draft, app: Application, trigger: str) -> dict | None:
    if trigger == "approve":
        return {"approved_amount": d.amount}
    if trigger == "sign_agreement":
        return {"agreement": _agreement(d, app), "milestones": [
            {"title": m.title, "kind": m.kind, "evidence": m.evidence, "due_date": m.due.isoformat()}
            for m in d.life.milestones]}
    if trigger == "request_closeout":
        return {"outcomes": _outcomes(d, app)}
    return None


def _agreement(d: Draft, app: Application) -> dict:
    """The international cooperation agreement the project rests on, as the demo's is made."""
    signed = d.life.signed_on
    return agreement_terms(d.org.name, app.title, d.partners, signed, add_months(signed, d.life.duration + 12))


def _outcomes(d: Draft, app: Application) -> dict:
    r = d.say
    outcomes = {"papers": r.randint(2, 15), "patents": r.randint(0, 6), "standards": r.randint(0, 2),
                "technologies_transferred": r.randint(0, 4), "experts_engaged": max(d.experts, r.randint(2, 12)),
                "researchers_trained": max(d.young, r.randint(3, 20))}
    assert set(outcomes) == set(OUTCOME_KEYS)
    if app.base_id:  # 项目—基地—人才: a base-construction project built its base, others strengthened theirs
        outcomes.update(base="built" if d.kind == "base_construction" else "strengthened", base_id=app.base_id)
    return outcomes


def _scores(d: Draft) -> dict:
    """One expert's review: around the application's merit, each criterion of the call's rubric a little apart."""
    r = d.say
    total = max(0.0, min(100.0, d.life.merit + r.uniform(-5, 5)))
    recommendation = "fund" if total >= 85 else "fund_with_changes" if total >= 75 else "do_not_fund"
    scores = {}
    for c in rubrics.DEFAULT_CRITERIA:
        share = max(0.0, min(1.0, total / 100 + r.uniform(-0.06, 0.06)))
        scores[c["key"]] = round((c["min"] + (c["max"] - c["min"]) * share) * 2) / 2
    return {"scores": scores, "opinion": r.choice(OPINIONS[recommendation]), "recommendation": recommendation}


# --- files ------------------------------------------------------------------------------------------

_FILENAMES = {"proposal": "项目申报书.pdf", "cooperation_agreement": "国际科技合作协议.pdf",
              "signed_agreement": "项目任务书（签署版）.pdf", "final_report": "项目结题报告.pdf"}
_PDFS = {kind: (content, hashlib.sha256(content).hexdigest())
         for kind, content in ((k, minimal_pdf(f"fundflow {k}")) for k in _FILENAMES)}


class _Files:
    """The attachments' files: the first of a kind written, the others hard links to it (a copy where the
    file system has none, and a new first file every LINKS_PER_FILE links)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.sources: dict[str, tuple[Path, int]] = {}

    def put(self, kind: str, stored: str) -> None:
        target = self.folder / stored
        source, links = self.sources.get(kind, (None, LINKS_PER_FILE))
        if links < LINKS_PER_FILE:
            try:
                os.link(source, target)
                self.sources[kind] = (source, links + 1)
                return
            except OSError:
                pass
        self.folder.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_PDFS[kind][0])
        self.sources[kind] = (target, 1)


# --- writing ----------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What a run wrote and how fast."""

    applications: int
    events: int  # the audit chain's length
    transitions: int  # state changes the engine made (the quorum's own closes of expert review among them)
    seconds: float
    states: dict[str, int]
    follow_ups: str
    pending: int  # outbox rows left for a worker
    accounts: list[tuple[str, str, str]]

    @property
    def transitions_per_s(self) -> float:
        return self.transitions / self.seconds if self.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _no_progress(label: str, total: int) -> ContextManager:
    return contextlib.nullcontext(_NoBar())


def generate(count: int, *, seed: int = 2026, as_of: dt.date | None = None, follow_ups: str = "pending",
             batch: int = DEFAULT_BATCH, progress: Callable[[str, int], ContextManager] | None = None) -> Summary:
    """Write a data set of `count` applications into the app's (empty) database; see the module's text."""
    as_of = as_of or dt.datetime.now(BEIJING).date()
    return Generator(count, seed=seed, as_of=as_of, follow_ups=follow_ups, batch=batch, progress=progress).run()


class Generator:
    """One run: the plan of every life, the reference data, then every step in time order, in batches."""

    def __init__(self, count: int, *, seed: int, as_of: dt.date, follow_ups: str, batch: int,
                 progress: Callable[[str, int], ContextManager] | None):
        if follow_ups not in FOLLOW_UPS:
            raise InvalidInput("follow_ups is pending or none", {"follow_ups": [f"one of {', '.join(FOLLOW_UPS)}"]})
        if count < 1:
            raise InvalidInput("at least one application", {"applications": ["at least 1"]})
        if batch < 1:
            raise InvalidInput("at least one step per batch", {"batch": ["at least 1"]})
        self.count, self.seed, self.follow_ups, self.batch = count, seed, follow_ups, batch
        self.cutoff = _beijing(as_of, 0)  # the data set is the fund as it stood at the start of `as_of`
        self.progress = progress or _no_progress
        self.world = World(seed)
        self.calls = _calls(count, self.cutoff)
        self.overrides: dict[int, tuple[int, str]] = {}  # application number -> (salt, bias)
        self.heap: list[tuple] = []
        self.drafts: dict[int, Draft] = {}
        self.live: dict[int, Application] = {}  # the applications the session keeps loaded
        self.next_ids: dict[str, int] = {}
        self.files = _Files(Path(current_app.config["DATA_DIR"]) / "attachments")
        self.session: Session = current_app.extensions["fundflow.write_sessions"]()

    def run(self) -> Summary:
        started = time.perf_counter()
        thresholds = gc.get_threshold()
        try:
            self._refuse_if_not_empty()
            total = self._plan_all()
            with self.progress("generating", total) as bar:
                with self.session.begin():
                    _SetUp(self).run()
                    audit.seal(self.session)
                    self._advance_sequences()
                # The reference data lives as long as the run: the collector need not look at it again, and
                # looks less often at the rows coming and going.
                gc.freeze()
                gc.set_threshold(50_000, 20, 20)
                for call in self.calls:
                    heapq.heappush(self.heap, (call.created, -1, call.index))
                while self.heap:
                    self._batch(self._take(), bar)
        finally:
            self.session.close()
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        return self._summary(time.perf_counter() - started)

    def _refuse_if_not_empty(self) -> None:
        s = self.session
        with s.begin():
            if s.scalar(select(User.id).limit(1)) is not None or s.scalar(select(Event.id).limit(1)) is not None:
                raise InvalidInput("the database is not empty: a data set is generated into a new one",
                                   {"database": ["not empty: users or audit events exist"]})

    # -- the plan --

    def _plan_all(self) -> int:
        """Plan every life once to learn the state each application is in at the cutoff; where a state of
        the lifecycle would be missing (a small data set), plan one application so that it is there.
        Returns how many steps the run takes."""
        found: dict[str, int] = {}
        steps: dict[int, int] = {}
        for call in self.calls:
            for no in range(call.first_no, call.first_no + call.count):
                taken = kept(plan_life(self.seed, no, call), self.cutoff)
                steps[no] = len(taken)
                found.setdefault(state_at(taken), no)
        for state in workflow(APPLICATION).states:
            if state not in found:
                covered = self._cover(state, set(self.overrides) | set(found.values()))
                if covered is not None:
                    no, salt, count = covered
                    self.overrides[no] = (salt, state)
                    steps[no] = count
                    found[state] = no
        return sum(steps.values()) + len(self.calls)

    def _cover(self, state: str, taken: set[int]) -> tuple[int, int, int] | None:
        """An application (and a salt for its random stream) whose life, biased to `state`, is there at the
        cutoff: the latest calls first for a state on the way, the oldest first for a final one."""
        order = self.calls if workflow(APPLICATION).is_final(state) else self.calls[::-1]
        for salt in range(1, 30):
            for call in order:
                for no in range(call.first_no, call.first_no + call.count):
                    if no not in taken:
                        life = kept(plan_life(self.seed, no, call, salt, state), self.cutoff)
                        if state_at(life) == state:
                            return no, salt, len(life)
        return None

    def _life(self, no: int, call: CallPlan) -> Life:
        salt, bias = self.overrides.get(no, (0, None))
        life = plan_life(self.seed, no, call, salt, bias)
        life.steps = kept(life, self.cutoff)
        return life

    def _plan_call(self, call: CallPlan) -> None:
        """A call's applications, what each is and who acts on it, when the call is created."""
        drafts = [compose(self.world, call, no, self._life(no, call))
                  for no in range(call.first_no, call.first_no + call.count)]
        call.total_budget = _budget(drafts)
        for d in drafts:
            if d.life.steps:
                self.drafts[d.no] = d
                heapq.heappush(self.heap, (d.life.steps[0][0], d.no, 0))

    # -- batches --

    def _take(self) -> list[tuple[Draft | CallPlan, tuple]]:
        """The next steps in time order (a call's applications join the queue when the call is created)."""
        batch: list[tuple[Draft | CallPlan, tuple]] = []
        while self.heap and len(batch) < self.batch:
            when, no, index = heapq.heappop(self.heap)
            if no == -1:
                call = self.calls[index]
                batch.append((call, (when, "call")))
                self._plan_call(call)
                continue
            draft = self.drafts[no]
            batch.append((draft, draft.life.steps[index]))
            draft.index = index + 1
            if draft.index < len(draft.life.steps):
                heapq.heappush(self.heap, (draft.life.steps[draft.index][0], no, draft.index))
        return batch

    def _batch(self, batch: list[tuple[Draft | CallPlan, tuple]], bar) -> None:
        """One write transaction: the steps, then the chain sealed and the follow-ups staged, as
        services.transitions.fire does for one firing."""
        s = self.session
        with s.begin():
            self._load([d for d, _ in batch if isinstance(d, Draft) and d.app_id is not None
                        and d.no not in self.live])
            for subject, step in batch:
                if isinstance(subject, CallPlan):
                    self._create_call(subject, step[0])
                else:
                    getattr(self, f"_{step[1]}")(subject, step[0], *step[2:])
            audit.seal(s)
            if self.follow_ups == "pending":
                outbox.stage_deferred(s)
            else:
                s.info.pop("deferred_jobs", None)
            self._advance_sequences()
        self._let_go(batch)
        bar.update(len(batch))

    def _load(self, drafts: list[Draft]) -> None:
        """Load again the applications these steps move that the session let go, with what guards read."""
        by_id = {d.app_id: d for d in drafts}
        ids = sorted(by_id)
        for i in range(0, len(ids), LOAD_CHUNK):
            rows = self.session.scalars(
                select(Application).where(Application.id.in_(ids[i:i + LOAD_CHUNK]))
                .options(selectinload(Application.partners), selectinload(Application.attachments),
                         selectinload(Application.reviews), selectinload(Application.milestones))).all()
            for row in rows:
                self.live[by_id[row.id].no] = row

    def _let_go(self, batch: list[tuple[Draft | CallPlan, tuple]]) -> None:
        """Forget the applications done, and let go of those whose next step is far off (the session's
        identity map holds rows weakly: they are freed)."""
        now = batch[-1][1][0]
        for draft in {d.no: d for d, _ in batch if isinstance(d, Draft)}.values():
            if draft.index >= len(draft.life.steps):
                self.live.pop(draft.no, None)
                self.drafts.pop(draft.no, None)
            elif draft.life.steps[draft.index][0] - now > HORIZON:
                self.live.pop(draft.no, None)

    def _advance_sequences(self) -> None:
        """PostgreSQL hands out ids from sequences: move them past the ids written here."""
        s = self.session
        if s.get_bind().dialect.name != "postgresql":
            return
        for table, next_id in self.next_ids.items():
            s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"), {"last": next_id - 1})

    def id_for(self, table: str) -> int:
        """The next id of `table`: rows written here know theirs without a flush (ids in creation order, as the
        database would give them)."""
        if table not in self.next_ids:
            self.next_ids[table] = (self.session.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    # -- the steps --

    def _create_call(self, call: CallPlan, when: dt.datetime) -> None:
        """The call with the plan's default rubric, as services.registry.create_call writes it."""
        admin, spec = self.world.admin, call.spec
        zh, en = _guide(spec.key)
        data = {"code": call.code, "title": spec.title.format(year=call.year),
                "title_en": spec.title_en.format(year=call.year), "opens_at": call.opens, "closes_at": call.closes,
                "fields": list(spec.fields), "total_budget": call.total_budget, "quorum": spec.quorum,
                "min_matching_ratio": spec.min_matching_ratio, "max_central_per_project": spec.max_central,
                "grace_days": GRACE_DAYS, "guide": zh, "guide_en": en}
        row = Call(id=self.id_for("calls"), created_at=when, **data)
        row.rubrics = [Rubric(id=self.id_for("rubrics"), version=1, criteria=rubrics.default_criteria(),
                              created_by_id=admin.id, created_at=when)]
        self.session.add(row)
        call.row = row
        audit.record(self.session, application_id=None, subject="calls", subject_id=row.id, trigger="create",
                     from_state=None, to_state=None, actor_id=admin.id, role=admin.role, created_at=when,
                     comment=None, data={"after": data})

    def _create(self, d: Draft, when: dt.datetime) -> None:
        """The draft and its `create` event, as services.applications.create_application writes them."""
        s, world, wf = self.session, self.world, workflow(APPLICATION)
        budget = _budget_lines(d)
        call, institution, body = d.call.row, world.institutions[d.org.key], world.body_rows[d.body.key]
        base = world.bases[d.base] if d.base else None
        app = Application(
            id=self.id_for("applications"), call_id=call.id, call=call, institution_id=institution.id,
            institution=institution, created_by_id=d.applicant.id, state=wf.initial, workflow_version=wf.version,
            title=d.title, title_en=d.title_en, summary=_summary_text(d), field=d.field, cooperation_type=d.kind,
            channel=d.body.channel, body_id=body.id, body=body, base_id=base.id if base else None, base=base,
            budget_central=budget["central"],
            budget_local_matching=budget["local_matching"], budget_self_raised=budget["self_raised"],
            duration_months=d.life.duration, sensitive_technology=d.sensitive, principal_investigator=d.pi,
            foreign_experts=d.experts, young_researchers=d.young, created_at=when, updated_at=when)
        # Each partner linked to the registry institution its name reads as (services.conflicts.link_partners,
        # with the registry's names read once): conflicts of interest are then checked by id.
        app.partners = [Partner(id=self.id_for("partners"), institution_id=world.registry_match(p["name"]), **p)
                        for p in d.partners]
        # A new row's collections are known to be empty: what is added later joins them, and no guard reading
        # them goes back to the database (which would flush the whole batch so far first).
        app.attachments, app.reviews, app.milestones = [], [], []
        s.add(app)
        d.app_id = app.id
        self.live[d.no] = app
        audit.record(s, application_id=app.id, subject="application", subject_id=app.id, trigger="create",
                     from_state=None, to_state=app.state, actor_id=d.applicant.id, role=d.applicant.role,
                     created_at=when, comment=None, data={"workflow_version": wf.version})

    def _upload(self, d: Draft, when: dt.datetime, kind: str) -> None:
        """An attachment, its file and its `upload` event, as services.applications.add_attachment writes them."""
        app = self.live[d.no]
        content, digest = _PDFS[kind]
        stored = f"{uuid.UUID(int=d.say.getrandbits(128), version=4).hex}.pdf"
        self.files.put(kind, stored)
        att = Attachment(id=self.id_for("attachments"), kind=kind, filename=_FILENAMES[kind], stored_name=stored,
                         size=len(content), sha256=digest, uploaded_by_id=d.applicant.id, created_at=when)
        att.application = app
        self.session.add(att)
        audit.record(self.session, application_id=app.id, subject="attachment", subject_id=att.id,
                     trigger="upload", from_state=None, to_state=None, actor_id=d.applicant.id,
                     role=d.applicant.role, created_at=when, comment=None,
                     data={"kind": kind, "filename": att.filename, "sha256": digest, "size": len(content)})

    def _fire(self, d: Draft, when: dt.datetime, who: str, trigger: str, *about) -> None:
        """A trigger on the application, by its applicant, its body's recommender, its officer or the system."""
        app = self.live[d.no]
        actor = SYSTEM if who == "system" else getattr(d, who)
        if trigger == "sign_agreement":
            self.session.flush()  # the signed agreement's upload first: the agreement row names it by key only
        self._fire_in(actor, app, trigger, when, _comment(d, trigger, who, about), _payload(d, app, trigger))
        app.updated_at = when
        if trigger == "sign_agreement":
            for row in self.session.new:  # the milestones and the agreement the trigger made, dated by it
                if getattr(row, "created_at", False) is None:
                    row.created_at = when

    def _assign(self, d: Draft, when: dt.datetime, slot: int, replaces: int | None) -> None:
        """The officer assigns an expert: the assignment and its `assign` (or `replace`) event, as
        services.applications.add_review writes them, and the expert's notice staged (assign_reviewer).

        The plan's panel is free of conflicts by the rules add_review applies: none of the applicant
        institution or of a registry partner, and an expert who declined is never assigned to the
        application again. Where the fund sets a cooling-off period, each expert is checked by
        services.conflicts as add_review checks them.
        """
        s, app, wf = self.session, self.live[d.no], workflow("review")
        due = when.astimezone(BEIJING).date() + dt.timedelta(days=int(current_app.config.get("REVIEW_DUE_DAYS", 21)))
        replaces_id = d.review_ids[replaces] if replaces is not None else None
        reviewer_id = d.panel[slot]
        if current_app.config.get("REVIEW_COOLING_OFF_YEARS"):
            reviewer_id = next((r for r in (reviewer_id, *d.spare)
                                if conflicts.conflict_of(s, s.get(User, r), app, when) is None), None)
            if reviewer_id is None:
                raise RuntimeError(f"no expert without a conflict is left for application {app.id}")
            if reviewer_id in d.spare:
                d.spare.remove(reviewer_id)
        review = Review(id=self.id_for("reviews"), application_id=app.id, reviewer_id=reviewer_id,
                        assigned_by_id=d.officer.id, state=wf.initial, workflow_version=wf.version, due_date=due,
                        replaces_id=replaces_id, created_at=when)
        review.application = app
        s.add(review)
        d.review_ids[slot] = review.id
        data = {"reviewer_id": reviewer_id, "due_date": due, **({"replaces_id": replaces_id} if replaces_id else {})}
        audit.record(s, application_id=app.id, subject="review", subject_id=review.id,
                     trigger="replace" if replaces_id else "assign", from_state=None, to_state=review.state,
                     actor_id=d.officer.id, role=d.officer.role, created_at=when, comment=None, data=data)
        if self.follow_ups == "pending":
            outbox.stage(s, "notify_review_assigned", review_id=review.id)
            if replaces_id is not None:
                outbox.stage(s, "notify_review_replaced", review_id=review.id)

    def _review(self, d: Draft, when: dt.datetime, slot: int, trigger: str, closes: bool) -> None:
        """The assigned expert declares no conflict, scores, or declines."""
        app = self.live[d.no]
        review = next(r for r in app.reviews if r.id == d.review_ids[slot])
        comment = d.say.choice(DECLINES) if trigger == "decline" else None
        payload = _scores(d) if trigger == "submit_review" else None
        self._fire_in(self.world.reviewers[review.reviewer_id], review, trigger, when, comment, payload)
        if closes:  # the review that completed the quorum closed expert review: the application moved too
            app.updated_at = when

    def _ms(self, d: Draft, when: dt.datetime, seq: int, who: str, trigger: str) -> None:
        """A milestone reported, returned, accepted, or marked overdue by the scan."""
        milestone = self.live[d.no].milestones[seq - 1]
        actor = SYSTEM if who == "system" else getattr(d, who)
        comment = d.say.choice(REASONS["return"]) if trigger == "return" else None
        payload = ({"report": d.say.choice(REPORTS)} if trigger == "report" else
                   {"as_of": when.astimezone(BEIJING).date()} if trigger == "mark_overdue" else None)
        self._fire_in(actor, milestone, trigger, when, comment, payload)

    def _fire_in(self, actor: Actor, row, trigger: str, when: dt.datetime, comment, payload) -> None:
        # A row fired more than once in a batch is written once; fire_in counts each change in its version.
        fire_in(self.session, actor, row, trigger, comment=comment, payload=payload, now=when)

    # -- the end --

    def _summary(self, seconds: float) -> Summary:
        s = current_app.extensions["fundflow.sessions"]()
        try:
            states = dict(s.execute(select(Application.state, func.count()).group_by(Application.state)).all())
            events = audit.head(s)[0]
            transitions = s.scalar(select(func.count(Event.id)).where(Event.from_state.is_not(None)))
            pending = s.scalar(select(func.count(Outbox.id)).where(Outbox.done_at.is_(None))) or 0
        finally:
            s.close()
        w = self.world
        reviewer = w.reviewers[w.experts[_FIELD_ORDER[0]][0][0]]
        accounts = [(a.role, a.email, PASSWORD) for a in (
            w.applicants["tsinghua"][0], w.recommenders["shanghai"][0], reviewer, w.officers[0], w.admin)]
        return Summary(sum(states.values()), events, transitions, seconds, states, self.follow_ups, pending,
                       accounts)


class _SetUp:
    """The reference data: institutions, bodies, bases, the fund's staff, applicants, recommenders and the
    reviewer pool, with the audit events their services record, a few seconds apart in the first days of
    the first year."""

    def __init__(self, gen: Generator):
        self.gen, self.world, self.s = gen, gen.world, gen.session
        self.clock = itertools.count()
        self.start = _beijing(dt.date(gen.calls[0].year, 1, 4), 9)
        # Every generated account signs in with PASSWORD (published, like the demo's): hashed once.
        self.password_hash = generate_password_hash(PASSWORD, method=current_app.config["PASSWORD_HASH_METHOD"])

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=7 * next(self.clock))

    def run(self) -> None:
        w = self.world
        w.admin = self.user(f"admin@{DOMAIN}", "admin", "系统管理员", by=None)
        for org in w.orgs.values():
            w.institutions[org.key] = self.registry(Institution, "institutions", name=org.name,
                                                    name_en=org.name_en, kind=org.kind, province=org.province)
            w.inst_ids[org.key] = w.institutions[org.key].id
        for inst_id, name, name_en in ((w.inst_ids[o.key], o.name, o.name_en) for o in w.orgs.values()):
            for n in {conflicts.normalise_name(name), conflicts.normalise_name(name_en)} - {""}:
                w.names.setdefault(n, set()).add(inst_id)
        for body in w.bodies.values():
            w.body_rows[body.key] = self.registry(Body, "bodies", name=body.name, name_en=body.name_en,
                                                  channel=body.channel, kind=body.kind)
        for base in BASES:
            host = w.inst_ids[base.host] if base.host else None
            w.bases[base.key] = self.registry(CooperationBase, "bases", name=base.name, name_en=base.name_en,
                                              kind=base.kind, institution_id=host)
        w.officers = [self.user(f"officer.{i:02d}@{DOMAIN}", "officer", name) for i, name in
                      enumerate(OFFICERS[:len(_FIELD_ORDER)], start=1)]
        per_org = 1 if self.gen.count < 20_000 else 2
        for org in (o for o in w.orgs.values() if o.applies):
            w.applicants[org.key] = [
                self.user(f"applicant.{org.key}{'' if k == 1 else f'.{k}'}@{DOMAIN}", "applicant", w.person(),
                          institution_id=w.inst_ids[org.key]) for k in range(1, per_org + 1)]
        for body in w.bodies.values():
            w.recommenders[body.key] = [self.user(f"recommender.{body.key}@{DOMAIN}", "recommender", w.person(),
                                                  body_id=w.body_rows[body.key].id)]
        self.pool()

    def registry(self, model, table: str, **data):
        """A registry row and its `create` event, as services.registry writes them."""
        when, admin = self.now(), self.world.admin
        row = model(id=self.gen.id_for(table), created_at=when, **data)
        self.s.add(row)
        self.world.rows.append(row)
        audit.record(self.s, application_id=None, subject=table, subject_id=row.id, trigger="create",
                     from_state=None, to_state=None, actor_id=admin.id, role=admin.role, created_at=when,
                     comment=None, data={"after": data})
        return row

    def user(self, email: str, role: str, name: str, by: Actor | None | bool = True, **affiliation) -> Actor:
        """An account and its `create` event, as services.accounts.create_user writes them (the first
        administrator by no one: the system)."""
        by = self.world.admin if by is True else by
        when = self.now()
        row = User(id=self.gen.id_for("users"), email=email, name=name, password_hash=self.password_hash,
                   role=role, active=True, created_at=when, **affiliation)
        self.s.add(row)
        self.world.rows.append(row)
        after = {"email": email, "name": name, "role": role, "institution_id": row.institution_id,
                 "body_id": row.body_id, "active": True}
        audit.record(self.s, application_id=None, subject="user", subject_id=row.id, trigger="create",
                     from_state=None, to_state=None, actor_id=by.id if by else None,
                     role=by.role if by else SYSTEM.role, created_at=when, comment=None, data={"after": after})
        return Actor(row.id, role, email, row.institution_id, row.body_id, name)

    def pool(self) -> None:
        """The reviewer pool: experts of the universities, institutes and think tanks in every field, a few
        from the foreign institutions in China; as services.pool.create_expert writes them."""
        w, rng = self.world, self.world.rng
        size = max(60, min(1500, self.gen.count // 60))
        homes = [o for o in w.orgs.values() if o.kind in ("university", "institute")]
        foreign = [o for o in w.orgs.values() if o.kind == "foreign_institution"]
        for n in range(1, size + 1):
            org = rng.choice(foreign) if rng.random() < 0.04 else rng.choice(homes)
            fields_ = list(org.fields) or rng.sample(_FIELD_ORDER, 3)
            fields_ = rng.sample(fields_, min(len(fields_), rng.randint(1, 3)))
            self.expert(n, org, fields_)
        for field_ in _FIELD_ORDER:  # every field has enough experts for a panel free of conflicts
            while len(w.experts.get(field_, ())) < 12:
                size += 1
                self.expert(size, rng.choice([o for o in homes if field_ in o.fields] or homes), [field_])

    def expert(self, n: int, org: Org, fields_: list[str]) -> None:
        w, rng = self.world, self.world.rng
        when = self.now()
        country = org.home or "CN"
        name = rng.choice(FOREIGN_EXPERT_NAMES[country]) if country in FOREIGN_EXPERT_NAMES else w.person()
        languages = ["zh", "en"] if country == "CN" else [_LANGUAGE[country], "en"]
        if country == "CN" and rng.random() < 0.25:
            languages.append(rng.choice(("de", "fr", "ja", "ru", "ko", "es")))
        email = f"reviewer.{n:04d}@{DOMAIN}"
        user = User(id=self.gen.id_for("users"), email=email, name=name, password_hash=self.password_hash,
                    role="reviewer", institution_id=w.inst_ids[org.key], active=True, created_at=when)
        profile = ExpertProfile(user_id=user.id, fields=fields_, country=country, languages=languages,
                                title=rng.choice(TITLES) if country == "CN" else "Professor", active=True,
                                created_at=when, updated_at=when)
        self.s.add_all([user, profile])
        w.rows += [user, profile]
        audit.record(self.s, application_id=None, subject="expert", subject_id=user.id, trigger="create",
                     from_state=None, to_state=None, actor_id=w.admin.id, role=w.admin.role, created_at=when,
                     comment=None, data={"email": email, "institution_id": user.institution_id, "fields": fields_,
                                         "country": country, "languages": languages, "title": profile.title,
                                         "active": True})
        w.reviewers[user.id] = Actor(user.id, "reviewer", email, user.institution_id, None, name)
        for field_ in fields_:
            w.experts.setdefault(field_, []).append((user.id, user.institution_id))


_LANGUAGE = {"DE": "de", "FR": "fr", "JP": "ja", "KR": "ko"}
