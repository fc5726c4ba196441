"""The demo data set: `fundflow demo` loads it, so a new user can sign in and see real work.

Everything here is made through the services and moved through the engine
(`transitions.fire`, along `lifecycle.ROAD`), as the real actors would, so
every row has a true history on the audit chain; no state column is written.
Names come from the plan (国科发计〔2011〕381号): its partner mechanisms, priority
fields, base types and channels. The same seed gives the same data set; only
timestamps follow the clock, and call windows and milestone dates are set
relative to today so that open calls are open and running projects run.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Iterator, NamedTuple

from flask import current_app
from sqlalchemy import select

from . import db
from .errors import InvalidInput
from .lifecycle import ROAD, Cast
from .models import Application, Milestone, User
from .permissions import SYSTEM, Actor
from .services import accounts, registry
from .services import applications as apps
from .services.transitions import fire

DEMO_PASSWORD = "fundflow-demo"
# One account per role; the README lists them and `fundflow demo` prints them.
DEMO_ACCOUNTS = [(role, f"{role}@demo.fundflow.cn", DEMO_PASSWORD)
                 for role in ("applicant", "recommender", "reviewer", "officer", "admin")]
DEMO_EMAIL = {role: email for role, email, _ in DEMO_ACCOUNTS}

# --- reference data -------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    """An institution; `applies` is False for the think tanks that only lend reviewers.

    `fields` are the priority fields it works in: it files only there (each topic
    in TOPICS names which of them take it up). `home` is the country a
    foreign-invested enterprise's investor or a foreign institution comes from:
    its projects are with partners from there.
    """

    key: str
    name: str
    name_en: str
    kind: str
    province: str
    fields: tuple[str, ...] = ()
    applies: bool = True
    home: str | None = None


INSTITUTIONS = (
    Org("tongji", "同济大学", "Tongji University", "university", "上海",
        ("ecology_environment", "public_safety", "space_ocean", "energy_resources", "new_materials_manufacturing",
         "climate_change")),
    Org("tsinghua", "清华大学", "Tsinghua University", "university", "北京",
        ("energy_resources", "information_networks", "climate_change", "ecology_environment",
         "new_materials_manufacturing", "public_safety")),
    Org("zju", "浙江大学", "Zhejiang University", "university", "浙江",
        ("modern_agriculture", "information_networks", "biology_health", "major_diseases", "energy_resources",
         "new_materials_manufacturing", "ecology_environment")),
    Org("fudan", "复旦大学", "Fudan University", "university", "上海",
        ("biology_health", "major_diseases", "ecology_environment")),
    Org("hit", "哈尔滨工业大学", "Harbin Institute of Technology", "university", "黑龙江",
        ("new_materials_manufacturing", "space_ocean", "information_networks", "public_safety")),
    Org("whu", "武汉大学", "Wuhan University", "university", "湖北",
        ("space_ocean", "information_networks", "public_safety")),
    Org("cau", "中国农业大学", "China Agricultural University", "university", "北京",
        ("modern_agriculture", "food_security", "climate_change", "energy_resources", "public_safety")),
    Org("gxu", "广西大学", "Guangxi University", "university", "广西",
        ("modern_agriculture", "food_security", "energy_resources")),
    Org("dicp", "中国科学院大连化学物理研究所", "Dalian Institute of Chemical Physics, CAS", "institute", "辽宁",
        ("energy_resources", "climate_change")),
    Org("sioc", "中国科学院上海有机化学研究所", "Shanghai Institute of Organic Chemistry, CAS", "institute",
        "上海", ("biology_health", "major_diseases", "new_materials_manufacturing")),
    Org("egi", "中国科学院新疆生态与地理研究所", "Xinjiang Institute of Ecology and Geography, CAS",
        "institute", "新疆", ("ecology_environment", "climate_change", "modern_agriculture", "food_security")),
    Org("nieer", "中国科学院西北生态环境资源研究院",
        "Northwest Institute of Eco-Environment and Resources, CAS", "institute", "甘肃",
        ("climate_change", "ecology_environment")),
    Org("xtbg", "中国科学院西双版纳热带植物园", "Xishuangbanna Tropical Botanical Garden, CAS", "institute",
        "云南", ("ecology_environment", "biology_health")),
    Org("qdio", "中国科学院海洋研究所", "Institute of Oceanology, CAS", "institute", "山东",
        ("space_ocean", "ecology_environment", "modern_agriculture")),
    Org("asipp", "中国科学院合肥物质科学研究院等离子体物理研究所",
        "Institute of Plasma Physics, Hefei Institutes of Physical Science, CAS", "institute", "安徽",
        ("energy_resources",)),
    Org("ihep", "中国科学院高能物理研究所", "Institute of High Energy Physics, CAS", "institute", "北京",
        ("new_materials_manufacturing",)),
    Org("caas", "中国农业科学院作物科学研究所", "Institute of Crop Sciences, CAAS", "institute", "北京",
        ("modern_agriculture", "food_security")),
    Org("jinglan", "江苏晶澜光伏科技股份有限公司", "Jiangsu Jinglan Photovoltaic Technology Co., Ltd.",
        "enterprise", "江苏", ("energy_resources",)),
    Org("huarui", "深圳华睿通信技术有限公司", "Shenzhen Huarui Communication Technology Co., Ltd.",
        "enterprise", "广东", ("information_networks",)),
    Org("fenghe", "山东丰禾种业股份有限公司", "Shandong Fenghe Seed Industry Co., Ltd.", "enterprise", "山东",
        ("modern_agriculture", "food_security")),
    Org("dongfang", "上海东方医药创新有限公司", "Shanghai Dongfang Pharmaceutical Innovation Co., Ltd.",
        "enterprise", "上海", ("biology_health", "major_diseases")),
    Org("taicang", "中德（太仓）精密制造有限公司", "Sino-German (Taicang) Precision Manufacturing Co., Ltd.",
        "foreign_invested_enterprise", "江苏", ("new_materials_manufacturing",), home="DE"),
    Org("yirui", "上海意瑞新材料有限公司", "Shanghai Yirui Advanced Materials Co., Ltd. (Sino-Italian)",
        "foreign_invested_enterprise", "上海", ("new_materials_manufacturing",), home="IT"),
    Org("novakang", "广州诺康生物医药有限公司", "Guangzhou Novakang Biopharma Co., Ltd. (US-invested)",
        "foreign_invested_enterprise", "广东", ("biology_health", "major_diseases"), home="US"),
    Org("fraunhofer", "弗劳恩霍夫协会北京代表处", "Fraunhofer-Gesellschaft Representative Office Beijing",
        "foreign_institution", "北京", ("energy_resources", "new_materials_manufacturing", "information_networks"),
        home="DE"),
    Org("cnrs", "法国国家科学研究中心北京代表处", "CNRS Representative Office in China", "foreign_institution",
        "北京", ("climate_change", "ecology_environment", "space_ocean"), home="FR"),
    Org("casted", "中国科学技术发展战略研究院", "Chinese Academy of Science and Technology for Development",
        "institute", "北京", applies=False),
    Org("istic", "中国科学技术信息研究所", "Institute of Scientific and Technical Information of China",
        "institute", "北京", applies=False),
)
ORGS = {org.key: org for org in INSTITUTIONS}
DEMO_INSTITUTION = "tongji"


@dataclass(frozen=True)
class BodySpec:
    """A recommending body; `serves` names what routes an application to it: its first
    partner's country (commissions, embassies), the applicant's province (provincial
    departments), or the field, the institution's kind or the institution (ministries)."""

    key: str
    name: str
    name_en: str
    channel: str
    kind: str
    serves: tuple[str, ...]


def _commission(key, name, name_en, *countries):
    return BodySpec(key, name, name_en, "intergovernmental", "bilateral_commission", countries)


def _ministry(key, name, name_en, *serves):
    return BodySpec(key, name, name_en, "inter_agency", "ministry_department", serves)


def _province(key, name, name_en, province):
    return BodySpec(key, name, name_en, "ministry_province", "provincial_department", (province,))


def _embassy(key, name, name_en, *countries):
    return BodySpec(key, name, name_en, "embassy", "embassy_section", countries)


BODIES = (
    _commission("us_jc", "中美科技合作联合委员会中方秘书处",
                "Chinese Secretariat, China–US Joint Commission on S&T Cooperation", "US"),
    _commission("ru_sub", "中俄总理定期会晤委员会科技合作分委会中方秘书处",
                "Chinese Secretariat, S&T Subcommission of the China–Russia Prime Ministers' Regular "
                "Meeting Commission", "RU"),
    _commission("eu_sc", "中欧科技合作指导委员会中方秘书处",
                "Chinese Secretariat, China–EU S&T Cooperation Steering Committee",
                "DE", "FR", "IT", "NL", "FI", "DK"),
    _commission("cjk", "中日韩科技部长会议中方秘书处",
                "Chinese Secretariat, China–Japan–Korea S&T Ministers' Meeting", "JP", "KR"),
    _commission("in_sc", "中印科技合作指导委员会中方秘书处",
                "Chinese Secretariat, China–India S&T Cooperation Steering Committee", "IN"),
    _commission("cosban", "中巴高层协调与合作委员会科技创新分委会中方秘书处",
                "Chinese Secretariat, S&T and Innovation Subcommission of COSBAN (China–Brazil)", "BR"),
    _commission("asean_jc", "中国—东盟科技联委会中方秘书处",
                "Chinese Secretariat, China–ASEAN Joint Committee on S&T Cooperation",
                "SG", "TH", "VN", "PH", "ID", "MY", "KH"),
    _commission("za_jc", "中国—南非科技合作联委会中方秘书处",
                "Chinese Secretariat, China–South Africa Joint Committee on S&T Cooperation", "ZA"),
    _commission("eg_jc", "中国—埃及科技合作联委会中方秘书处",
                "Chinese Secretariat, China–Egypt Joint Committee on S&T Cooperation", "EG"),
    _commission("sco", "上海合作组织成员国科技部长会议中方秘书处",
                "Chinese Secretariat, Meeting of S&T Ministers of the SCO Member States",
                "KZ", "UZ", "KG", "TJ"),
    _ministry("moe", "教育部科学技术与信息化司",
              "Department of Science, Technology and Informatization, Ministry of Education", "university"),
    _ministry("cas", "中国科学院国际合作局", "Bureau of International Cooperation, Chinese Academy of Sciences",
              "dicp", "sioc", "egi", "nieer", "xtbg", "qdio", "asipp", "ihep"),
    _ministry("miit", "工业和信息化部科技司", "Department of Science and Technology, MIIT",
              "information_networks", "new_materials_manufacturing"),
    _ministry("moa", "农业农村部科技教育司",
              "Department of Science, Technology and Education, Ministry of Agriculture and Rural Affairs",
              "modern_agriculture", "food_security"),
    _ministry("nhc", "国家卫生健康委员会科技教育司",
              "Department of Science, Technology and Education, National Health Commission",
              "biology_health", "major_diseases"),
    _ministry("mee", "生态环境部科技与财务司",
              "Department of Science, Technology and Finance, Ministry of Ecology and Environment",
              "ecology_environment", "climate_change"),
    _ministry("nea", "国家能源局能源节约和科技装备司",
              "Department of Energy Conservation, Science and Technology Equipment, National Energy "
              "Administration", "energy_resources"),
    _ministry("mnr", "自然资源部科技发展司",
              "Department of Science and Technology Development, Ministry of Natural Resources", "space_ocean"),
    _ministry("mem", "应急管理部科技和信息化司",
              "Department of Science, Technology and Informatization, Ministry of Emergency Management",
              "public_safety"),
    _province("beijing", "北京市科学技术委员会", "Beijing Municipal Science and Technology Commission", "北京"),
    _province("shanghai", "上海市科学技术委员会", "Science and Technology Commission of Shanghai Municipality",
              "上海"),
    _province("jiangsu", "江苏省科学技术厅", "Department of Science and Technology of Jiangsu Province", "江苏"),
    _province("zhejiang", "浙江省科学技术厅", "Department of Science and Technology of Zhejiang Province", "浙江"),
    _province("guangdong", "广东省科学技术厅", "Department of Science and Technology of Guangdong Province",
              "广东"),
    _province("shandong", "山东省科学技术厅", "Department of Science and Technology of Shandong Province",
              "山东"),
    _province("liaoning", "辽宁省科学技术厅", "Department of Science and Technology of Liaoning Province",
              "辽宁"),
    _province("heilongjiang", "黑龙江省科学技术厅",
              "Department of Science and Technology of Heilongjiang Province", "黑龙江"),
    _province("guangxi", "广西壮族自治区科学技术厅",
              "Department of Science and Technology of Guangxi Zhuang Autonomous Region", "广西"),
    _province("hubei", "湖北省科学技术厅", "Department of Science and Technology of Hubei Province", "湖北"),
    _province("anhui", "安徽省科学技术厅", "Department of Science and Technology of Anhui Province", "安徽"),
    _province("yunnan", "云南省科学技术厅", "Department of Science and Technology of Yunnan Province", "云南"),
    _province("gansu", "甘肃省科学技术厅", "Department of Science and Technology of Gansu Province", "甘肃"),
    _province("xinjiang", "新疆维吾尔自治区科学技术厅",
              "Department of Science and Technology of Xinjiang Uygur Autonomous Region", "新疆"),
    _embassy("emb_us", "中国驻美国大使馆科技处", "S&T Section, Embassy of China in the United States", "US"),
    _embassy("emb_ru", "中国驻俄罗斯联邦大使馆科技处", "S&T Section, Embassy of China in the Russian Federation",
             "RU"),
    _embassy("emb_de", "中国驻德国大使馆科技处", "S&T Section, Embassy of China in Germany", "DE"),
    _embassy("emb_fr", "中国驻法国大使馆科技处", "S&T Section, Embassy of China in France", "FR"),
    _embassy("mission_eu", "中国驻欧盟使团科技处", "S&T Section, Mission of China to the European Union",
             "IT", "NL", "FI", "DK"),
    _embassy("emb_jp", "中国驻日本大使馆科技处", "S&T Section, Embassy of China in Japan", "JP"),
    _embassy("cg_osaka", "中国驻大阪总领事馆科技组", "S&T Section, Consulate-General of China in Osaka", "JP"),
    _embassy("emb_kr", "中国驻韩国大使馆科技处", "S&T Section, Embassy of China in the Republic of Korea", "KR"),
    _embassy("emb_in", "中国驻印度大使馆科技处", "S&T Section, Embassy of China in India", "IN"),
    _embassy("emb_br", "中国驻巴西大使馆科技处", "S&T Section, Embassy of China in Brazil", "BR"),
    _embassy("emb_th", "中国驻泰国大使馆科技处", "S&T Section, Embassy of China in Thailand", "TH"),
    _embassy("emb_za", "中国驻南非大使馆科技处", "S&T Section, Embassy of China in South Africa", "ZA"),
    _embassy("emb_ke", "中国驻肯尼亚大使馆科技处", "S&T Section, Embassy of China in Kenya", "KE"),
    _embassy("emb_eg", "中国驻埃及大使馆科技处", "S&T Section, Embassy of China in Egypt", "EG"),
    _embassy("emb_kz", "中国驻哈萨克斯坦大使馆科技处", "S&T Section, Embassy of China in Kazakhstan", "KZ"),
)
DEMO_BODY = "shanghai"  # the demo recommender's; the demo institution is in Shanghai too


@dataclass(frozen=True)
class BaseSpec:
    """A cooperation base, hosted by an institution or standing on its own for a mechanism;
    an application links it only in the base's `fields` (any field where there are none)."""

    key: str
    name: str
    name_en: str
    kind: str
    host: str | None
    mechanism: str | None
    fields: tuple[str, ...] = ()


BASES = (
    BaseSpec("tianjin_park", "中新天津生态城国际创新园", "Sino-Singapore Tianjin Eco-City International "
             "Innovation Park", "innovation_park", None, "asean",
             ("ecology_environment", "energy_resources", "information_networks")),
    BaseSpec("zhangjiang_park", "张江中欧国际创新园", "Zhangjiang China–EU International Innovation Park",
             "innovation_park", None, "eu",
             ("biology_health", "major_diseases", "information_networks", "new_materials_manufacturing")),
    BaseSpec("cerc", "中美清洁能源联合研究中心", "U.S.–China Clean Energy Research Center",
             "joint_research_center", "tsinghua", "us", ("energy_resources", "climate_change")),
    BaseSpec("ru_materials", "中俄先进材料国际联合研究中心",
             "China–Russia International Joint Research Center for Advanced Materials",
             "joint_research_center", "hit", "ru", ("new_materials_manufacturing",)),
    BaseSpec("sino_italian", "中意联合设计中心", "Sino-Italian Design Center", "joint_research_center",
             "tongji", "eu", ("new_materials_manufacturing", "climate_change")),
    BaseSpec("central_asia", "中国—中亚科技合作中心", "China–Central Asia S&T Cooperation Center",
             "joint_research_center", "egi", "central_asia"),
    BaseSpec("asean_ttc", "中国—东盟技术转移中心", "China–ASEAN Technology Transfer Center",
             "technology_transfer_center", None, "asean"),
    BaseSpec("arab_ttc", "中国—阿拉伯国家技术转移中心", "China–Arab States Technology Transfer Center",
             "technology_transfer_center", None, "arab"),
    BaseSpec("south_asia_ttc", "中国—南亚技术转移中心", "China–South Asia Technology Transfer Center",
             "technology_transfer_center", None, "in"),
    BaseSpec("asean_agri", "中国—东盟农业示范基地", "China–ASEAN Agricultural Demonstration Base",
             "demonstration_base", "gxu", "asean", ("modern_agriculture", "food_security")),
    BaseSpec("zju_demo", "浙江大学示范型国际科技合作基地",
             "Zhejiang University Demonstration Base for International S&T Cooperation", "demonstration_base",
             "zju", None),
    BaseSpec("africa_agri", "中非农业技术示范型国际科技合作基地",
             "China–Africa Agricultural Technology Demonstration Base", "demonstration_base", "cau", "africa",
             ("modern_agriculture", "food_security")),
)
class Counterpart(NamedTuple):
    """A foreign partner a mechanism brings, with the priority fields it works in."""

    name: str
    country: str  # ISO 3166
    kind: str
    fields: tuple[str, ...]


def _cp(name: str, country: str, kind: str, *fields: str) -> Counterpart:
    return Counterpart(name, country, kind, fields)


@dataclass(frozen=True)
class Mechanism:
    """A partner mechanism of the plan, with the counterparts applicants find through it."""

    key: str
    name: str  # how a summary names it
    prefix: str  # of a multilateral project's title
    prefix_en: str
    fields: tuple[str, ...]
    partners: tuple[Counterpart, ...]
    developing: bool = False  # served by the S&T Partnership Programme


MECHANISMS = (
    Mechanism("us", "中美科技合作联委会机制", "中美", "Sino-US",
              ("energy_resources", "climate_change", "modern_agriculture", "ecology_environment",
               "biology_health", "major_diseases"),
              (_cp("Lawrence Berkeley National Laboratory", "US", "institute",
                   "energy_resources", "climate_change", "ecology_environment"),
               _cp("University of Michigan", "US", "university",
                   "energy_resources", "ecology_environment", "biology_health"),
               _cp("Purdue University", "US", "university", "modern_agriculture", "energy_resources"),
               _cp("West Virginia University", "US", "university"),  # CCUS only: see TOPICS
               _cp("Johns Hopkins University", "US", "university", "biology_health", "major_diseases"))),
    Mechanism("ru", "中俄总理定期会晤机制科技合作分委会", "中俄", "Sino-Russian",
              ("space_ocean", "new_materials_manufacturing", "energy_resources", "information_networks",
               "public_safety"),
              (_cp("Lomonosov Moscow State University", "RU", "university",
                   "space_ocean", "information_networks", "public_safety"),
               _cp("Siberian Branch of the Russian Academy of Sciences", "RU", "institute",
                   "energy_resources", "new_materials_manufacturing", "space_ocean", "public_safety"),
               _cp("Bauman Moscow State Technical University", "RU", "university",
                   "new_materials_manufacturing", "space_ocean", "information_networks"),
               _cp("Skolkovo Institute of Science and Technology", "RU", "university",
                   "energy_resources", "information_networks", "new_materials_manufacturing"))),
    Mechanism("eu", "中欧科技伙伴计划", "中欧", "China–EU", (),
              (_cp("Fraunhofer Institute for Solar Energy Systems ISE", "DE", "institute", "energy_resources"),
               _cp("Technical University of Munich", "DE", "university", "new_materials_manufacturing",
                   "information_networks", "energy_resources", "public_safety", "modern_agriculture"),
               _cp("Charité – Universitätsmedizin Berlin", "DE", "university", "biology_health",
                   "major_diseases"),
               _cp("French National Centre for Scientific Research (CNRS)", "FR", "institute",
                   "climate_change", "ecology_environment", "space_ocean", "biology_health"),
               _cp("Institut Pasteur", "FR", "institute", "major_diseases", "biology_health"),
               _cp("Politecnico di Milano", "IT", "university", "new_materials_manufacturing", "energy_resources",
                   "information_networks", "public_safety"),
               _cp("University of Milan", "IT", "university", "modern_agriculture", "food_security"),
               _cp("Delft University of Technology", "NL", "university", "space_ocean", "energy_resources",
                   "new_materials_manufacturing", "ecology_environment", "public_safety"),
               _cp("Wageningen University & Research", "NL", "university", "modern_agriculture",
                   "food_security", "ecology_environment"),
               _cp("VTT Technical Research Centre of Finland", "FI", "institute", "new_materials_manufacturing",
                   "energy_resources", "information_networks"),
               _cp("Technical University of Denmark", "DK", "university", "energy_resources", "biology_health",
                   "food_security"))),
    Mechanism("jpkr", "中日韩科技部长会议机制", "中日韩", "China–Japan–Korea",
              ("ecology_environment", "new_materials_manufacturing", "biology_health", "information_networks",
               "public_safety"),
              (_cp("The University of Tokyo", "JP", "university", "ecology_environment",
                   "new_materials_manufacturing", "biology_health", "information_networks"),
               _cp("National Institute of Advanced Industrial Science and Technology", "JP", "institute",
                   "new_materials_manufacturing", "information_networks", "ecology_environment"),
               _cp("Osaka University", "JP", "university", "biology_health", "new_materials_manufacturing"),
               _cp("Tohoku University", "JP", "university", "public_safety", "new_materials_manufacturing"),
               _cp("Korea Advanced Institute of Science and Technology", "KR", "university",
                   "information_networks", "new_materials_manufacturing", "biology_health"),
               _cp("Korea Institute of Science and Technology", "KR", "institute",
                   "new_materials_manufacturing", "biology_health", "ecology_environment"))),
    Mechanism("in", "中印科技合作指导委员会机制", "中印", "Sino-Indian",
              ("biology_health", "modern_agriculture", "information_networks", "food_security", "major_diseases"),
              (_cp("Indian Institute of Science", "IN", "university", "biology_health", "information_networks"),
               _cp("Indian Council of Agricultural Research", "IN", "government",
                   "modern_agriculture", "food_security"),
               _cp("Indian Council of Medical Research", "IN", "government", "major_diseases", "biology_health"),
               _cp("Indian Institute of Technology Bombay", "IN", "university", "information_networks")),
              developing=True),
    Mechanism("latam", "中国—拉美创新论坛", "中拉", "China–Latin America",
              ("modern_agriculture", "food_security", "energy_resources", "space_ocean", "ecology_environment"),
              (_cp("Brazilian Agricultural Research Corporation (Embrapa)", "BR", "government",
                   "modern_agriculture", "food_security"),
               _cp("University of São Paulo", "BR", "university", "energy_resources", "ecology_environment",
                   "modern_agriculture"),
               _cp("University of Chile", "CL", "university", "space_ocean", "ecology_environment"),
               _cp("National Autonomous University of Mexico", "MX", "university", "ecology_environment",
                   "space_ocean", "energy_resources"),
               _cp("National Institute of Agricultural Technology (INTA)", "AR", "government",
                   "modern_agriculture", "food_security")), developing=True),
    Mechanism("asean", "中国—东盟（10+3）科技合作机制", "中国—东盟", "China–ASEAN",
              ("modern_agriculture", "food_security", "major_diseases", "biology_health", "ecology_environment",
               "public_safety", "information_networks"),
              (_cp("National University of Singapore", "SG", "university", "information_networks",
                   "ecology_environment", "major_diseases", "public_safety"),
               _cp("Kasetsart University", "TH", "university", "modern_agriculture", "food_security"),
               _cp("Mahidol University", "TH", "university", "major_diseases", "biology_health"),
               _cp("Vietnam Academy of Science and Technology", "VN", "institute", "ecology_environment",
                   "public_safety"),
               _cp("International Rice Research Institute", "PH", "international_organization",
                   "modern_agriculture", "food_security"),
               _cp("Bandung Institute of Technology", "ID", "university", "information_networks",
                   "public_safety"),
               _cp("University of Malaya", "MY", "university", "major_diseases", "ecology_environment"),
               _cp("Royal University of Agriculture", "KH", "university", "modern_agriculture",
                   "food_security")), developing=True),
    Mechanism("africa", "中非科技伙伴计划", "中非", "China–Africa",
              ("modern_agriculture", "food_security", "major_diseases", "ecology_environment", "energy_resources"),
              (_cp("Council for Scientific and Industrial Research (CSIR)", "ZA", "institute",
                   "energy_resources", "ecology_environment"),
               _cp("University of Nairobi", "KE", "university", "modern_agriculture", "ecology_environment",
                   "major_diseases"),
               _cp("Kenya Medical Research Institute (KEMRI)", "KE", "government", "major_diseases"),
               _cp("Ethiopian Institute of Agricultural Research", "ET", "government",
                   "modern_agriculture", "food_security"),
               _cp("Obafemi Awolowo University", "NG", "university", "modern_agriculture", "food_security",
                   "major_diseases")), developing=True),
    Mechanism("arab", "中国—阿拉伯国家合作论坛", "中阿", "China–Arab States",
              ("energy_resources", "ecology_environment", "food_security", "information_networks",
               "climate_change"),
              (_cp("King Abdulaziz City for Science and Technology", "SA", "government",
                   "energy_resources", "information_networks", "ecology_environment"),
               _cp("Khalifa University", "AE", "university", "energy_resources", "information_networks"),
               _cp("Cairo University", "EG", "university", "food_security", "ecology_environment"),
               _cp("Mohammed VI Polytechnic University", "MA", "university", "energy_resources",
                   "food_security", "ecology_environment")), developing=True),
    Mechanism("central_asia", "上海合作组织科技合作机制", "中国—中亚", "China–Central Asia",
              ("ecology_environment", "modern_agriculture", "energy_resources", "public_safety", "climate_change"),
              (_cp("Al-Farabi Kazakh National University", "KZ", "university", "ecology_environment",
                   "modern_agriculture"),
               _cp("Academy of Sciences of the Republic of Uzbekistan", "UZ", "institute",
                   "ecology_environment", "modern_agriculture", "public_safety"),
               _cp("Kyrgyz State Technical University", "KG", "university", "energy_resources", "public_safety"),
               _cp("Central Asian Institute for Applied Geosciences", "KG", "institute", "public_safety"),
               _cp("National Academy of Sciences of Tajikistan", "TJ", "institute", "ecology_environment",
                   "energy_resources", "public_safety")), developing=True),
    Mechanism("big_science", "国际大科学计划", "", "International",
              ("energy_resources", "new_materials_manufacturing", "space_ocean", "climate_change"), ()),
)
COUNTERPARTS = {p.name: p for m in MECHANISMS for p in m.partners}


@dataclass(frozen=True)
class Programme:
    """A big-science programme the plan names, its counterpart, its field, the part a Chinese
    team takes in it, and the institutions that take that part."""

    counterpart: tuple[str, str, str]  # name, ISO 3166 country, partner kind
    field: str
    name: str
    name_en: str
    by: tuple[str, ...]


PROGRAMMES = (
    Programme(("ITER Organization", "FR", "international_organization"), "energy_resources",
              "ITER聚变堆包层模块研制", "ITER fusion blanket module development", ("asipp",)),
    Programme(("Generation IV International Forum", "FR", "international_organization"), "energy_resources",
              "第四代核能系统高温气冷堆关键技术", "key technologies of Generation IV very-high-temperature reactors",
              ("tsinghua",)),
    Programme(("CERN", "CH", "international_organization"), "new_materials_manufacturing",
              "大型强子对撞机探测器关键部件研制", "key detector components for the Large Hadron Collider",
              ("ihep", "tsinghua")),
    Programme(("International Ocean Discovery Program (IODP)", "US", "international_organization"),
              "space_ocean", "国际大洋发现计划南海钻探岩芯分析", "analysis of IODP South China Sea drilling cores",
              ("tongji", "qdio")),
    Programme(("EU Agency for the Space Programme (Galileo)", "CZ", "government"), "space_ocean",
              "北斗与伽利略卫星导航系统兼容互操作", "BeiDou–Galileo compatibility and interoperability",
              ("whu", "hit")),
    Programme(("Group on Earth Observations (GEO) Secretariat", "CH", "international_organization"),
              "climate_change", "全球综合地球观测系统气候数据共享",
              "climate data sharing in the Global Earth Observation System of Systems", ("tsinghua", "nieer")),
)


# A bilateral project's title names the two countries: 中德…, Sino-German ….
COUNTRY_PREFIX = {
    "US": ("中美", "Sino-US"), "RU": ("中俄", "Sino-Russian"), "DE": ("中德", "Sino-German"),
    "FR": ("中法", "Sino-French"), "IT": ("中意", "Sino-Italian"), "NL": ("中荷", "Sino-Dutch"),
    "FI": ("中芬", "Sino-Finnish"), "DK": ("中丹", "Sino-Danish"), "JP": ("中日", "Sino-Japanese"),
    "KR": ("中韩", "Sino-Korean"), "IN": ("中印", "Sino-Indian"), "BR": ("中巴", "Sino-Brazilian"),
    "CL": ("中智", "Sino-Chilean"), "MX": ("中墨", "Sino-Mexican"), "AR": ("中国—阿根廷", "China–Argentina"),
    "SG": ("中新", "Sino-Singaporean"), "TH": ("中泰", "Sino-Thai"), "VN": ("中越", "Sino-Vietnamese"),
    "PH": ("中菲", "Sino-Philippine"), "ID": ("中印尼", "China–Indonesia"), "MY": ("中马", "Sino-Malaysian"),
    "KH": ("中柬", "Sino-Cambodian"), "ZA": ("中南", "China–South Africa"), "KE": ("中肯", "Sino-Kenyan"),
    "ET": ("中国—埃塞俄比亚", "China–Ethiopia"), "NG": ("中国—尼日利亚", "China–Nigeria"),
    "SA": ("中沙", "Sino-Saudi"), "AE": ("中国—阿联酋", "China–UAE"), "EG": ("中埃", "Sino-Egyptian"),
    "MA": ("中摩", "Sino-Moroccan"),
    "KZ": ("中哈", "Sino-Kazakh"), "UZ": ("中乌", "Sino-Uzbek"), "KG": ("中吉", "Sino-Kyrgyz"),
    "TJ": ("中塔", "Sino-Tajik"),
}

# Fields where sensitive technology (plan: national security) is most often declared.
SENSITIVE_FIELDS = ("information_networks", "space_ocean", "public_safety")

@dataclass(frozen=True)
class Topic:
    """A research topic: its field, its reach, the institutions that take it up (`by`), and,
    where a field's counterparts are too broad a match, the counterparts that work on it.

    Reach "A" is frontier work with advanced partners; "D" answers developing countries'
    needs with proven, affordable technology (适用技术), as the S&T Partnership Programme
    does; "" suits anyone.
    """

    field: str
    name: str
    name_en: str
    reach: str
    by: tuple[str, ...]
    partners: tuple[str, ...] = ()  # Counterpart names; none: any of the mechanism's in the field


def _topics(field_: str, *rows: tuple) -> tuple[Topic, ...]:
    return tuple(Topic(field_, *row) for row in rows)


GLACIER_PARTNERS = ("Al-Farabi Kazakh National University", "Central Asian Institute for Applied Geosciences",
                    "National Academy of Sciences of Tajikistan", "University of Milan",
                    "French National Centre for Scientific Research (CNRS)")

TOPICS = (
    *_topics("energy_resources",
             ("高效钙钛矿光伏电池", "high-efficiency perovskite solar cells", "A",
              ("jinglan", "dicp", "zju", "fraunhofer")),
             ("大规模液流电池储能", "large-scale flow-battery energy storage", "A", ("dicp", "tsinghua")),
             ("可再生能源智能电网并网", "grid integration of renewables in smart grids", "A",
              ("tsinghua", "zju", "fraunhofer")),
             ("氢燃料电池汽车动力系统", "fuel-cell vehicle powertrains", "A", ("tongji", "dicp", "tsinghua"),
              ("University of Michigan", "Lawrence Berkeley National Laboratory", "Technical University of Munich",
               "Politecnico di Milano", "Fraunhofer Institute for Solar Energy Systems ISE",
               "Technical University of Denmark", "Skolkovo Institute of Science and Technology",
               "Council for Scientific and Industrial Research (CSIR)", "University of São Paulo")),
             ("离网光伏微电网", "off-grid solar micro-grids", "D", ("jinglan", "zju")),
             ("农村沼气综合利用", "integrated use of rural biogas", "D", ("cau", "gxu"),
              ("Council for Scientific and Industrial Research (CSIR)", "University of Nairobi",
               "Ethiopian Institute of Agricultural Research", "Cairo University", "University of São Paulo",
               "National Autonomous University of Mexico", "National Academy of Sciences of Tajikistan"))),
    *_topics("new_materials_manufacturing",
             ("高温合金增材制造", "additive manufacturing of superalloys", "A",
              ("hit", "tsinghua", "taicang", "fraunhofer")),
             ("碳纤维复合材料", "carbon-fibre composites", "A", ("yirui", "hit")),
             ("高速列车轻量化车体", "lightweight car bodies for high-speed trains", "A", ("tongji", "yirui")),
             ("精密数控机床", "precision CNC machine tools", "A", ("taicang", "hit", "tsinghua")),
             ("工业机器人精密传动部件", "precision drive components for industrial robots", "A",
              ("taicang", "hit")),
             ("稀土永磁材料", "rare-earth permanent magnets", "A", ("zju", "hit")),
             ("高性能功能涂层与薄膜", "high-performance functional coatings and films", "A", ("yirui", "tongji")),
             ("含氟功能材料", "fluorinated functional materials", "A", ("sioc", "yirui"))),
    *_topics("information_networks",
             ("第六代移动通信关键技术", "key technologies for 6G mobile communication", "A",
              ("huarui", "tsinghua", "zju", "fraunhofer")),
             ("量子密钥分发网络", "quantum key distribution networks", "A", ("tsinghua", "huarui")),
             ("工业互联网安全", "industrial internet security", "A", ("huarui", "hit", "fraunhofer")),
             ("多语种机器翻译", "multilingual machine translation", "", ("hit", "tsinghua")),
             ("遥感影像智能解译", "intelligent interpretation of remote-sensing imagery", "", ("whu", "zju")),
             ("农村信息化服务平台", "rural information service platforms", "D", ("huarui", "zju"))),
    *_topics("modern_agriculture",
             ("水稻分子设计育种", "molecular design breeding of rice", "A", ("caas", "zju", "fenghe"),
              ("International Rice Research Institute", "Kasetsart University",
               "Indian Council of Agricultural Research", "Brazilian Agricultural Research Corporation (Embrapa)",
               "Wageningen University & Research", "Purdue University")),
             ("小麦高产优质品种选育", "breeding of high-yield, high-quality wheat", "", ("caas", "fenghe"),
              ("Purdue University", "Technical University of Munich",
               "Brazilian Agricultural Research Corporation (Embrapa)",
               "National Institute of Agricultural Technology (INTA)", "Indian Council of Agricultural Research",
               "Ethiopian Institute of Agricultural Research", "Al-Farabi Kazakh National University",
               "Academy of Sciences of the Republic of Uzbekistan")),
             ("热带作物病虫害绿色防控", "green control of tropical crop pests", "", ("gxu",),
              ("Kasetsart University", "International Rice Research Institute", "Royal University of Agriculture",
               "Brazilian Agricultural Research Corporation (Embrapa)", "Indian Council of Agricultural Research",
               "University of Nairobi", "Obafemi Awolowo University",
               "Ethiopian Institute of Agricultural Research")),
             ("甘蔗良种繁育与机械化生产", "sugarcane seed multiplication and mechanised production", "", ("gxu",),
              ("Kasetsart University", "Brazilian Agricultural Research Corporation (Embrapa)",
               "University of São Paulo", "Indian Council of Agricultural Research")),
             ("节水灌溉与旱作农业", "water-saving irrigation and dryland farming", "", ("cau", "egi")),
             ("奶牛高效健康养殖", "efficient and healthy dairy farming", "", ("cau",),
              ("Purdue University", "Wageningen University & Research", "Technical University of Munich",
               "Brazilian Agricultural Research Corporation (Embrapa)",
               "National Institute of Agricultural Technology (INTA)", "Indian Council of Agricultural Research",
               "University of Nairobi", "Kasetsart University")),
             ("海水健康养殖", "healthy mariculture", "", ("qdio",),
              ("Wageningen University & Research", "Kasetsart University",
               "Brazilian Agricultural Research Corporation (Embrapa)")),
             ("农产品冷链保鲜", "cold-chain preservation of farm produce", "", ("cau", "zju"))),
    *_topics("biology_health",
             ("肿瘤免疫治疗新靶点", "new targets for cancer immunotherapy", "A", ("dongfang", "novakang", "fudan")),
             ("单克隆抗体药物研发", "monoclonal antibody drug development", "A", ("novakang", "dongfang")),
             ("创新药物分子设计与合成", "design and synthesis of innovative drug molecules", "A",
              ("sioc", "dongfang")),
             ("干细胞与再生医学", "stem cells and regenerative medicine", "A", ("fudan", "zju")),
             ("医学影像人工智能诊断", "AI diagnosis in medical imaging", "A", ("zju", "fudan")),
             ("生物基化学品绿色合成", "green synthesis of bio-based chemicals", "A", ("sioc",),
              ("Technical University of Denmark", "Korea Advanced Institute of Science and Technology",
               "Osaka University", "Korea Institute of Science and Technology", "Indian Institute of Science")),
             ("传统医药资源保护与利用", "conservation and use of traditional medicine resources", "D",
              ("xtbg", "dongfang")),
             ("基层医疗卫生适宜技术", "appropriate technologies for primary health care", "D", ("fudan", "zju"))),
    *_topics("ecology_environment",
             ("流域水污染综合治理", "integrated control of river-basin water pollution", "",
              ("tongji", "tsinghua", "zju")),
             ("荒漠化防治与生态修复", "desertification control and ecological restoration", "", ("egi", "nieer"),
              ("Al-Farabi Kazakh National University", "Academy of Sciences of the Republic of Uzbekistan",
               "National Academy of Sciences of Tajikistan", "Cairo University",
               "Mohammed VI Polytechnic University", "King Abdulaziz City for Science and Technology",
               "Council for Scientific and Industrial Research (CSIR)", "University of Nairobi")),
             ("大气细颗粒物来源解析", "source apportionment of fine particulate matter", "A",
              ("tsinghua", "fudan", "cnrs")),
             ("生物多样性监测", "biodiversity monitoring", "", ("fudan", "egi", "cnrs"),
              ("French National Centre for Scientific Research (CNRS)", "Wageningen University & Research",
               "The University of Tokyo", "University of Chile", "Al-Farabi Kazakh National University",
               "Academy of Sciences of the Republic of Uzbekistan", "National Academy of Sciences of Tajikistan")),
             ("热带森林生物多样性监测", "biodiversity monitoring in tropical forests", "", ("xtbg",),
              ("National University of Singapore", "Vietnam Academy of Science and Technology",
               "University of Malaya", "University of São Paulo", "National Autonomous University of Mexico",
               "University of Nairobi")),
             ("近海赤潮灾害监测与防控", "monitoring and control of coastal harmful algal blooms", "", ("qdio",),
              ("The University of Tokyo", "National University of Singapore",
               "Vietnam Academy of Science and Technology", "University of Chile")),
             ("城市固体废物资源化", "resource recovery from urban solid waste", "", ("tongji", "tsinghua"))),
    *_topics("space_ocean",
             ("深海探测装备", "deep-sea exploration equipment", "A", ("qdio", "hit")),
             ("海底科学观测网", "seafloor observatory networks", "A", ("tongji", "qdio")),
             ("卫星导航增强系统", "satellite navigation augmentation", "", ("whu", "hit")),
             ("极地海冰遥感观测", "remote sensing of polar sea ice", "A", ("whu", "cnrs"),
              ("French National Centre for Scientific Research (CNRS)", "Delft University of Technology",
               "Lomonosov Moscow State University")),
             ("海洋防灾减灾遥感应用", "remote sensing for marine disaster reduction", "", ("qdio", "whu", "tongji"))),
    *_topics("public_safety",
             ("地震预警", "earthquake early warning", "", ("tongji", "hit"),
              ("Tohoku University", "Central Asian Institute for Applied Geosciences",
               "National Academy of Sciences of Tajikistan", "Academy of Sciences of the Republic of Uzbekistan",
               "Bandung Institute of Technology", "Vietnam Academy of Science and Technology",
               "Siberian Branch of the Russian Academy of Sciences", "Politecnico di Milano")),
             ("城市轨道交通安全监测", "safety monitoring of urban rail transit", "A", ("tongji",),
              ("Technical University of Munich", "Politecnico di Milano", "Delft University of Technology",
               "Tohoku University", "Lomonosov Moscow State University", "National University of Singapore")),
             ("重大基础设施结构健康监测", "structural health monitoring of major infrastructure", "A",
              ("tongji", "hit")),
             ("危险化学品泄漏应急处置", "emergency response to hazardous chemical leaks", "A", ("tsinghua",)),
             ("食品安全快速检测", "rapid food-safety testing", "", ("cau",),
              ("Technical University of Denmark", "Wageningen University & Research", "Kasetsart University",
               "National University of Singapore")),
             ("森林火灾遥感监测预警", "forest fire monitoring and early warning by remote sensing", "", ("whu",),
              ("Siberian Branch of the Russian Academy of Sciences", "Bandung Institute of Technology"))),
    *_topics("climate_change",
             ("碳捕集利用与封存", "carbon capture, utilisation and storage", "A", ("dicp", "tsinghua"),
              ("Lawrence Berkeley National Laboratory", "West Virginia University",
               "King Abdulaziz City for Science and Technology", "Khalifa University")),
             ("二氧化碳加氢制甲醇", "methanol from CO2 hydrogenation", "A", ("dicp",),
              ("Fraunhofer Institute for Solar Energy Systems ISE", "Lawrence Berkeley National Laboratory",
               "King Abdulaziz City for Science and Technology", "Khalifa University")),
             ("气候变化对山地冰川的影响", "climate-change impacts on mountain glaciers", "", ("nieer", "egi"),
              GLACIER_PARTNERS),
             ("冰川融水与干旱区水资源", "glacier meltwater and water resources in arid regions", "", ("egi", "nieer"),
              GLACIER_PARTNERS),
             ("区域气候模式与极端事件预估", "regional climate models and extreme-event projections", "A",
              ("tsinghua", "cnrs"),
              ("French National Centre for Scientific Research (CNRS)", "Lawrence Berkeley National Laboratory")),
             ("农业温室气体减排", "greenhouse-gas mitigation in agriculture", "", ("cau",),
              ("Wageningen University & Research", "Purdue University", "University of Milan",
               "Mohammed VI Polytechnic University")),
             ("城市低碳转型与气候适应规划", "urban low-carbon transition and climate adaptation planning", "",
              ("tongji", "tsinghua"),
              ("University of Michigan", "Delft University of Technology", "Politecnico di Milano",
               "Khalifa University"))),
    *_topics("food_security",
             ("耐旱玉米品种选育", "breeding of drought-tolerant maize", "", ("cau", "caas", "fenghe"),
              ("Brazilian Agricultural Research Corporation (Embrapa)",
               "National Institute of Agricultural Technology (INTA)", "Indian Council of Agricultural Research",
               "Ethiopian Institute of Agricultural Research", "Obafemi Awolowo University",
               "University of Nairobi", "Kasetsart University", "University of Milan", "Cairo University")),
             ("粮食产后减损", "post-harvest grain loss reduction", "D", ("cau",)),
             ("杂交水稻高产栽培", "high-yield cultivation of hybrid rice", "D", ("gxu", "caas"),
              ("International Rice Research Institute", "Kasetsart University", "Royal University of Agriculture",
               "Indian Council of Agricultural Research", "Obafemi Awolowo University", "Cairo University",
               "Brazilian Agricultural Research Corporation (Embrapa)")),
             ("盐碱地改良利用", "reclamation of saline-alkali land", "", ("cau", "egi"),
              ("Wageningen University & Research", "Cairo University", "Mohammed VI Polytechnic University",
               "Indian Council of Agricultural Research", "International Rice Research Institute",
               "Ethiopian Institute of Agricultural Research"))),
    *_topics("major_diseases",
             ("疟疾防控与新药研发", "malaria control and drug discovery", "D", ("sioc", "dongfang")),
             ("结核病快速诊断", "rapid diagnosis of tuberculosis", "", ("fudan", "zju")),
             ("新发传染病疫苗", "vaccines against emerging infectious diseases", "A",
              ("zju", "novakang", "fudan", "dongfang")),
             ("艾滋病综合防治", "integrated HIV/AIDS prevention and treatment", "", ("fudan", "zju"))),
)

Subject = Topic | Programme  # what an application is about

COOPERATION = {  # cooperation type -> (title suffix, English phrase, what the summary calls it)
    "joint_rnd": ("联合研究", "joint research on", "联合研发"),
    "technology_introduction": ("技术引进与示范", "technology introduction and demonstration:",
                                "先进技术引进、消化吸收与示范"),
    "talent_introduction": ("人才引进与联合培养", "talent introduction and joint training:",
                            "高层次人才引进与青年人才联合培养"),
    "base_construction": ("国际联合实验室建设", "joint laboratory for", "国际联合实验室共建"),
    "big_science": ("国际大科学合作研究", "big-science collaboration on", "国际大科学计划合作研究"),
    "st_partnership": ("技术示范与培训", "S&T partnership: demonstration and training in",
                       "适用技术示范推广与技术培训"),
}


@dataclass(frozen=True)
class CallSpec:
    """A call; days are counted from today. A closed call is built open and closed at the end."""

    key: str
    title: str  # {year} is filled in
    title_en: str
    opens: int
    closes: int
    fields: tuple[str, ...]
    total_budget: int
    quorum: int
    min_matching_ratio: float
    max_central: int
    partnership: bool = False  # the S&T Partnership Programme for developing countries

    @property
    def closed(self) -> bool:
        return self.closes <= 0


CALLS = (
    CallSpec("C", "{year}年度国际科技合作专项项目指南", "International S&T Cooperation Special Fund: {year} call",
             -800, -710, (), 600_000_000, 4, 0.5, 10_000_000),
    CallSpec("B1", "{year}年度国际科技合作专项重点领域项目",
             "International S&T Cooperation Special Fund: {year} priority fields",
             -520, -430, ("energy_resources", "new_materials_manufacturing", "information_networks",
                          "modern_agriculture", "biology_health", "ecology_environment", "public_safety"),
             400_000_000, 3, 0.5, 8_000_000),
    CallSpec("B2", "{year}年度全球性问题与国际大科学合作项目",
             "Global challenges and big-science cooperation: {year} call",
             -150, -60, ("climate_change", "food_security", "major_diseases", "space_ocean", "energy_resources"),
             200_000_000, 3, 0.3, 6_000_000),
    CallSpec("A", "{year}年度国际科技合作专项项目指南", "International S&T Cooperation Special Fund: {year} call",
             -45, 75, (), 500_000_000, 3, 0.5, 8_000_000),
    CallSpec("G", "{year}年度应对气候变化、粮食安全与重大疾病国际合作项目",
             "Climate change, food security and major diseases: {year} call",
             -30, 90, ("climate_change", "food_security", "major_diseases"), 150_000_000, 3, 0.3, 5_000_000),
    CallSpec("P", "{year}年度发展中国家科技伙伴计划项目",
             "S&T Partnership Programme with developing countries: {year} call",
             -20, 100, ("modern_agriculture", "food_security", "ecology_environment", "biology_health",
                        "energy_resources"), 80_000_000, 2, 0.2, 3_000_000, partnership=True),
)

# The guides (申报指南) the demo calls publish on /public/calls, drawn from the plan's priorities.
_GUIDE_COMMON = (
    "申报要求：申报单位须为在中国境内注册、具有独立法人资格的高等学校、科研院所或企业，并与外方合作单位签有"
    "有效的国际科技合作协议或合作意向书；鼓励以企业为主体、产学研用结合的联合申报。境内注册的外资企业和外国机构"
    "可以申报，但涉及国家安全和敏感技术领域的项目除外，申报时须如实填写敏感技术声明。\n"
    "经费要求：项目经费由中央财政经费、地方配套经费和单位自筹经费构成，地方配套与自筹经费合计不低于中央财政经费的"
    "规定比例。项目执行期一般为三年。\n"
    "申报方式：申报单位通过本系统在线填报申报书，上传项目申报书及国际合作协议（PDF），经所属推荐渠道审核推荐后，"
    "提交专项办公室进行形式审查和专家评审。")
_GUIDE_COMMON_EN = (
    "Who may apply: universities, research institutes and enterprises registered in China with their own legal "
    "personality, holding a valid international cooperation agreement or letter of intent with their foreign "
    "partner; consortia of industry, academia and users are encouraged. Foreign-invested enterprises and foreign "
    "institutions registered in China may apply, except in national-security and sensitive-technology areas; "
    "every application carries the sensitive-technology declaration.\n"
    "Funding: central funds, local matching and self-raised funds; local matching and self-raised funds together "
    "must reach the call's minimum share of central funds. Projects usually run for three years.\n"
    "How to apply: file the proposal online, upload the proposal and the cooperation agreement (PDF); the "
    "recommending body of your channel endorses it before formal review and expert review by the fund.")
GUIDES = {
    "C": ("围绕国家重点科技任务，支持在能源资源开发利用、新材料与先进制造、信息网络、现代农业、生物与健康、生态环境保护、"
          "空间和海洋等重点领域，通过政府间合作、部际协调、部省会商和驻外使领馆推荐等渠道开展的国际科技合作项目，"
          "着力解决关键技术瓶颈、填补国内空白。\n",
          "Projects in the plan's priority fields (energy and resources, new materials and advanced manufacturing, "
          "information networks, modern agriculture, biology and health, ecology and environment, space and ocean), "
          "found through the intergovernmental, inter-agency, ministry-province and embassy channels, that resolve "
          "key technical bottlenecks and fill domestic gaps.\n"),
    "B1": ("本批次聚焦重点领域的联合研究与技术引进，优先支持依托国际创新园、国际联合研究中心、国际技术转移中心和"
           "示范型国际科技合作基地开展的项目，推动“项目—人才—基地”相结合。\n",
           "This round funds joint research and technology introduction in the priority fields, first of all "
           "projects carried by international innovation parks, joint research centers, technology transfer "
           "centers and demonstration bases, tying project, talent and base together.\n"),
    "B2": ("支持参与应对气候变化、粮食安全、重大疾病防控等全球性问题的联合研发，以及参与国际热核聚变实验堆（ITER）、"
           "伽利略计划、综合大洋钻探计划（IODP）、第四代核能系统国际论坛（GIF）、全球综合地球观测系统（GEOSS）等"
           "国际大科学计划和大科学工程的合作研究。\n",
           "Joint research on global challenges (climate change, food security, control of major diseases) and "
           "cooperation in the big-science programmes: ITER, Galileo, IODP, GIF and GEOSS.\n"),
    "A": ("本年度重点支持战略性新兴产业和国家科技重大专项急需的国际合作，鼓励引进关键技术和高层次人才并消化吸收再创新；"
          "中美、中俄、中欧、中日韩、中印等双边和多边科技合作机制下的项目，经相应渠道推荐后申报。\n",
          "This year the fund supports cooperation that strategic emerging industries and the national science "
          "and technology major projects need most, and the introduction, absorption and re-innovation of key "
          "technologies and high-level talent; projects under the bilateral and multilateral mechanisms with the "
          "US, Russia, the EU, Japan and Korea and India apply through their channels.\n"),
    "G": ("针对气候变化、粮食安全和重大疾病等全球性和区域性热点问题，支持与相关国家和国际组织开展联合攻关，"
          "鼓励争取多边资金机制支持在华开展合作项目。\n",
          "Joint work with partner countries and international organisations on climate change, food security and "
          "major diseases, global and regional concerns; projects that also draw multilateral funding to China "
          "are welcome.\n"),
    "P": ("实施面向发展中国家的“科技伙伴计划”：在非洲、拉美、东南亚和中亚等地区建立国际技术转移示范点，通过技术示范与"
          "推广、技术培训、技术服务、联合研发和政策研究等形式，推广适用技术，促进伙伴国家可持续发展。\n",
          "The S&T Partnership Programme with developing countries: technology transfer demonstration sites in "
          "Africa, Latin America, South-East Asia and Central Asia, with demonstration, training, technical "
          "services, joint research and policy studies that spread suitable technologies and serve the partners' "
          "sustainable development.\n"),
}


def _guide(call_key: str) -> tuple[str, str]:
    zh, en = GUIDES[call_key]
    return zh + _GUIDE_COMMON, en + _GUIDE_COMMON_EN


REVIEWERS = (  # (name, institution); the first is the demo reviewer, from a think tank nobody applies from
    ("王立新", "casted"), ("陈思远", "istic"), ("李海燕", "tsinghua"), ("周振宇", "zju"), ("刘国栋", "hit"),
    ("赵雪梅", "cau"), ("孙文博", "dicp"), ("马建华", "qdio"),
)
OFFICERS = (("officer", "张立群"), ("officer.02", "吴佳怡"))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN_NAMES = ("建华", "晓明", "丽娟", "志强", "海燕", "文博", "思远", "雪梅", "国栋", "慧敏", "振宇", "子轩",
               "立新", "秀英", "明哲", "婉清")

# --- what to build --------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One demo application: where it ends, in which call, and what it went through.

    `who` ties it to the demo accounts: "applicant" (the demo institution files it),
    "body" (the demo body routes it), "both", or "foreign_sensitive" (a foreign
    applicant declaring sensitive technology: screened out). `via` is the state it
    left for its final one when that is off lifecycle.ROAD's road. `detours` are
    round trips on the way: "revision" (returned and resubmitted), "suspension"
    (suspended and resumed), "overdue" (a milestone fell overdue).
    """

    state: str
    call: str
    who: str | None = None
    via: str | None = None
    detours: tuple[str, ...] = ()


PLAN = (
    # Open calls: proposals being written, routed, screened and reviewed.
    Spec("draft", "A", "applicant"),
    Spec("draft", "G", "applicant"),
    Spec("draft", "A"),
    Spec("draft", "P"),
    Spec("pending_recommendation", "A", "both"),
    Spec("pending_recommendation", "G", "body"),
    Spec("pending_recommendation", "A", "body"),
    Spec("pending_recommendation", "P"),
    Spec("pending_recommendation", "A"),
    Spec("revision_requested", "A", "both"),
    Spec("revision_requested", "G", via="formal_review"),
    Spec("revision_requested", "P"),
    Spec("not_recommended", "A", "body"),
    Spec("not_recommended", "P"),
    Spec("withdrawn", "A"),
    Spec("withdrawn", "G", via="pending_recommendation"),
    Spec("withdrawn", "A", "applicant", via="formal_review"),
    Spec("formal_review", "A", "body", detours=("revision",)),
    Spec("formal_review", "G"),
    Spec("formal_review", "P"),
    Spec("formal_review", "A", "applicant"),
    Spec("ineligible", "A", "foreign_sensitive"),
    Spec("ineligible", "G"),
    Spec("expert_review", "A", "applicant"),
    Spec("expert_review", "A", "body"),
    Spec("expert_review", "G"),
    Spec("expert_review", "P"),
    Spec("expert_review", "A", detours=("revision",)),
    # The call closed two months ago: decisions are being taken.
    Spec("decision_pending", "B2", "body"),
    Spec("decision_pending", "B2"),
    Spec("decision_pending", "B2"),
    Spec("rejected", "B2", "applicant"),
    Spec("rejected", "B2"),
    Spec("rejected", "B2"),
    Spec("approved", "B2", "applicant"),
    Spec("approved", "B2", "body"),
    Spec("approved", "B2"),
    # Last year's call: the cooperation agreements are being performed.
    Spec("in_progress", "B1", "both"),
    Spec("in_progress", "B1", "body", detours=("revision",)),
    Spec("in_progress", "B1"),
    Spec("in_progress", "B1", detours=("suspension",)),
    Spec("in_progress", "B1"),
    Spec("in_progress", "B1"),
    Spec("suspended", "B1", detours=("overdue",)),
    Spec("suspended", "B1", "applicant"),
    Spec("terminated", "B1", via="suspended", detours=("overdue",)),
    # The call of two years ago: projects closing out.
    Spec("terminated", "C"),
    Spec("closeout_review", "C", "applicant"),
    Spec("closeout_review", "C"),
    Spec("closeout_review", "C", "body"),
    Spec("completed", "C", "both"),
    Spec("completed", "C", "body"),
    Spec("completed", "C"),
    Spec("completed", "C"),
    Spec("completed", "C", detours=("revision",)),
    Spec("failed_acceptance", "C"),
    Spec("failed_acceptance", "C"),
)

REASONS = {  # trigger -> comments its actors give, picked at random
    "recommend": ("符合本渠道推荐条件，同意推荐。", "项目与双边政府间合作重点方向一致，同意推荐。",
                  "合作基础扎实，外方合作意向明确，同意推荐。", "符合部省会商确定的重点合作领域，地方配套资金已落实，同意推荐。"),
    "return_for_revision": ("请补充外方合作单位签署的合作意向书。", "预算编制不符合指南要求，请核减设备费并说明地方配套来源。",
                            "考核指标不够具体，请补充可量化的成果指标。"),
    "decline_recommendation": ("与本渠道年度重点合作方向不符。", "外方合作单位资质证明不足，本年度不予推荐。",
                               "本单位本批次申报项目超出推荐限额。"),
    "reject_ineligible": ("申报材料不符合形式审查要求：合作协议未经中外双方签署。",
                          "项目负责人在研国际科技合作专项项目超过限项规定。"),
    "reject": ("综合专家评审意见，创新性不足，本年度不予立项。", "预算合理性不足，中外双方分工不清晰，不予立项。",
               "评审得分未达到立项线，不予立项。"),
    "suspend": ("外方合作单位发生重大调整，须补充新的合作协议后恢复执行。", "中期检查发现经费使用不规范，暂停执行并限期整改。"),
    "resume": ("已补充新的合作协议，恢复执行。", "整改到位，恢复执行。"),
    "terminate": ("外方合作单位退出合作，项目无法继续执行。", "限期整改未落实，终止项目执行并收回剩余经费。"),
    "fail_closeout": ("主要考核指标未完成，技术转移成果不足。", "经费决算与任务书不符，验收不予通过。"),
    "accept_closeout": ("完成任务书规定的各项考核指标，同意通过验收。", "合作成果显著，形成可推广的技术转移模式，通过验收。"),
    "withdraw": ("外方合作单位调整合作计划，申请撤回。", "项目负责人工作变动，申请撤回。"),
    "return": ("请补充外方合作单位出具的阶段性成果确认函。", "经费执行情况说明不完整，请补充后重新报告。"),
}
INELIGIBLE_FOREIGN = "申报单位为{kind}，项目涉及国家安全和敏感技术领域，按规定不得申报。"
FOREIGN_KIND_NAMES = {"foreign_invested_enterprise": "外商投资企业", "foreign_institution": "在华外国机构"}
OPINIONS = {
    "fund": ("研究目标明确，中外双方优势互补，合作基础扎实，建议立项。",
             "技术路线可行，外方投入实质性资源，预期成果转化前景良好，建议立项。"),
    "fund_with_changes": ("项目总体可行，建议压缩设备费并细化年度考核指标。",
                          "合作内容较充实，但知识产权归属条款需进一步明确。"),
    "do_not_fund": ("创新性不足，与国内已有项目内容重复。", "外方合作的实质内容不清晰，预算偏高。"),
}
DECLINES = ("本人近三年与项目负责人合作发表论文，申请回避。", "本人曾参与该项目前期论证，申请回避。")
REPORTS = ("按合作协议完成本阶段联合实验与人员互访。", "完成样机研制，并在外方合作单位完成联合测试。",
           "双方联合发表论文两篇，互派研究人员四人次。", "完成技术方案联合评审，进入中试阶段。")

# --- the world being built ------------------------------------------------------


@dataclass
class World:
    """Ids of the reference rows, the people who act, and the one random stream."""

    rng: random.Random
    admin: Actor
    today: dt.date
    institutions: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, int] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    officers: list[Actor] = field(default_factory=list)
    reviewers: list[tuple[Actor, str]] = field(default_factory=list)  # with their institution's key
    applicants: dict[str, Actor] = field(default_factory=dict)
    recommenders: dict[str, Actor] = field(default_factory=dict)
    cycles: dict[object, Iterator] = field(default_factory=dict)
    titles: set[str] = field(default_factory=set)
    filed: set[tuple[str, str]] = field(default_factory=set)  # (institution or mechanism, topic) so far

    def next_of(self, key: object, items) -> object:
        """Deal `items` round-robin in a shuffled order, so every one of them gets used."""
        if key not in self.cycles:
            items = list(items)
            self.rng.shuffle(items)
            self.cycles[key] = itertools.cycle(items)
        return next(self.cycles[key])

    def next_fit(self, key: object, items, fits: Callable[[object], bool]) -> object:
        """The next of `items` dealt round-robin (as `next_of`) that `fits`; one of them must."""
        items = list(items)
        for _ in items:
            item = self.next_of(key, items)
            if fits(item):
                return item
        raise ValueError(f"nothing fits for {key!r}")

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_NAMES)

    def applicant(self, org: str) -> Actor:
        """The institution's international-cooperation officer; created when first needed."""
        if org not in self.applicants:
            email = DEMO_EMAIL["applicant"] if org == DEMO_INSTITUTION else f"applicant.{org}@demo.fundflow.cn"
            self.applicants[org] = _user(email, "applicant", self.person(), institution_id=self.institutions[org])
        return self.applicants[org]

    def recommender(self, body: str) -> Actor:
        if body not in self.recommenders:
            email = DEMO_EMAIL["recommender"] if body == DEMO_BODY else f"recommender.{body}@demo.fundflow.cn"
            self.recommenders[body] = _user(email, "recommender", self.person(), body_id=self.bodies[body])
        return self.recommenders[body]


@dataclass
class Draft:
    """What was chosen for one application, kept for the steps that follow its creation."""

    spec: Spec
    call: CallSpec
    org: str
    partners: list[dict]
    central: int
    duration_months: int
    subject: Topic | Programme


@dataclass
class Job:
    """One application on its way through the engine."""

    world: World
    draft: Draft
    cast: Cast
    app_id: int

    @property
    def rng(self) -> random.Random:
        return self.world.rng

    def reason(self, trigger: str) -> str:
        return self.rng.choice(REASONS[trigger])


# --- loading --------------------------------------------------------------------


def load_demo(seed: int = 2026, progress: Callable[[str, int], ContextManager] | None = None) -> None:
    """Load the demo data set into an empty database, every row through the services."""
    _refuse_if_loaded()
    progress = progress or _silent
    now = dt.datetime.now(dt.timezone.utc)
    with _cheap_password_hashes():
        admin = _user(DEMO_EMAIL["admin"], "admin", "系统管理员")
        world = World(rng=random.Random(seed), admin=admin, today=now.date())
        _register_reference_data(world)
        _register_people(world)
        with progress("building demo applications", len(PLAN)) as bar:
            for spec in PLAN:
                _build(world, spec)
                bar.update(1)
    _close_calls(world)


@contextlib.contextmanager
def _cheap_password_hashes() -> Iterator[None]:
    """Hash the demo users' passwords with a cheap method, then restore the app's own.

    Every demo user signs in with the password the README publishes, so a costly
    hash (scrypt: about 0.1 s a user, half the load time) protects nothing here.
    """
    config = current_app.config
    configured = config["PASSWORD_HASH_METHOD"]
    config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1000"
    try:
        yield
    finally:
        config["PASSWORD_HASH_METHOD"] = configured


@contextlib.contextmanager
def _silent(label: str, total: int):
    yield _NoBar()


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _refuse_if_loaded() -> None:
    emails = list(DEMO_EMAIL.values())
    if db.session().scalar(select(User.id).where(User.email.in_(emails)).limit(1)) is not None:
        raise InvalidInput("the demo data set is already loaded in this database",
                           {"email": ["demo accounts already exist"]})


def _user(email: str, role: str, name: str, **affiliation) -> Actor:
    return Actor.of(accounts.create_user(email, DEMO_PASSWORD, role, name=name, **affiliation))


def _register_reference_data(world: World) -> None:
    admin = world.admin
    for org in INSTITUTIONS:
        row = registry.create_institution(admin, {"name": org.name, "name_en": org.name_en, "kind": org.kind,
                                                  "province": org.province})
        world.institutions[org.key] = row.id
    for body in BODIES:
        row = registry.create_body(admin, {"name": body.name, "name_en": body.name_en, "channel": body.channel,
                                           "kind": body.kind})
        world.bodies[body.key] = row.id
    for base in BASES:
        host = world.institutions[base.host] if base.host else None
        row = registry.create_base(admin, {"name": base.name, "name_en": base.name_en, "kind": base.kind,
                                           "institution_id": host})
        world.bases[base.key] = row.id
    for call in CALLS:
        world.calls[call.key] = registry.create_call(admin, _call_data(world, call)).id


def _call_data(world: World, call: CallSpec) -> dict:
    opens = _midnight(world.today + dt.timedelta(days=call.opens))
    # A call to be closed is created open, takes its applications, and is closed by _close_calls.
    closes = _midnight(world.today + dt.timedelta(days=max(call.closes, 1)))
    year = opens.year
    return {"code": f"GJHZ-{year}-{call.key}", "title": call.title.format(year=year),
            "title_en": call.title_en.format(year=year), "opens_at": opens, "closes_at": closes,
            "fields": list(call.fields), "total_budget": call.total_budget, "quorum": call.quorum,
            "min_matching_ratio": call.min_matching_ratio, "max_central_per_project": call.max_central,
            "grace_days": 30, **dict(zip(("guide", "guide_en"), _guide(call.key)))}


def _close_calls(world: World) -> None:
    for call in CALLS:
        if call.closed:
            closes = _midnight(world.today + dt.timedelta(days=call.closes))
            registry.update_call(world.admin, world.calls[call.key], {"closes_at": closes})


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


# Each demo expert's pool profile: (title, fields of expertise, languages); all of them in China.
EXPERT_PROFILES = {
    "王立新": ("研究员", ("climate_change", "energy_resources", "ecology_environment"), ("zh", "en")),
    "陈思远": ("研究员", ("information_networks", "public_safety"), ("zh", "en")),
    "李海燕": ("教授", ("energy_resources", "new_materials_manufacturing"), ("zh", "en")),
    "周振宇": ("教授", ("biology_health", "major_diseases"), ("zh", "en", "de")),
    "刘国栋": ("教授", ("space_ocean", "new_materials_manufacturing"), ("zh", "en", "ru")),
    "赵雪梅": ("教授", ("modern_agriculture", "food_security"), ("zh", "en")),
    "孙文博": ("研究员", ("energy_resources", "new_materials_manufacturing"), ("zh", "en", "ja")),
    "马建华": ("研究员", ("space_ocean", "ecology_environment", "climate_change"), ("zh", "en")),
}
# Foreign experts of the pool, from the registry's foreign institutions in China; they sit on no demo
# panel, so the officer meets them among the suggestions. (name, e-mail, institution, country, title,
# fields, languages, active)
FOREIGN_EXPERTS = (
    ("Katrin Hoffmann", "k.hoffmann", "fraunhofer", "DE", "Senior Scientist",
     ("energy_resources", "new_materials_manufacturing"), ("de", "en"), True),
    ("Jean-Luc Moreau", "jl.moreau", "cnrs", "FR", "Directeur de recherche",
     ("ecology_environment", "climate_change"), ("fr", "en"), True),
    ("Claire Dubois", "c.dubois", "cnrs", "FR", "Chargée de recherche",
     ("biology_health", "major_diseases"), ("fr", "en", "zh"), True),
    ("Thomas Weber", "t.weber", "fraunhofer", "DE", "Head of Department",
     ("new_materials_manufacturing", "information_networks"), ("de", "en"), False),
)


def _register_people(world: World) -> None:
    from .services import pool

    for local, name in OFFICERS:
        world.officers.append(_user(f"{local}@demo.fundflow.cn", "officer", name))
    for number, (name, org) in enumerate(REVIEWERS, start=1):
        email = DEMO_EMAIL["reviewer"] if number == 1 else f"reviewer.{number:02d}@demo.fundflow.cn"
        title, fields_, languages = EXPERT_PROFILES[name]
        user = pool.create_expert(world.admin, {"email": email, "name": name, "password": DEMO_PASSWORD,
                                                "institution_id": world.institutions[org], "title": title,
                                                "fields": list(fields_), "country": "CN",
                                                "languages": list(languages)})
        world.reviewers.append((Actor.of(user), org))
    for name, local, org, country, title, fields_, languages, active in FOREIGN_EXPERTS:
        pool.create_expert(world.admin, {"email": f"{local}@demo.fundflow.cn", "name": name,
                                         "password": DEMO_PASSWORD, "institution_id": world.institutions[org],
                                         "title": title, "fields": list(fields_), "country": country,
                                         "languages": list(languages), "active": active})
    # The demo applicant and recommender exist before any application needs them.
    world.applicant(DEMO_INSTITUTION)
    world.recommender(DEMO_BODY)


# --- one application ------------------------------------------------------------


def _build(world: World, spec: Spec) -> None:
    draft, data, body = _compose(world, spec)
    applicant = world.applicant(draft.org)
    app = apps.create_application(applicant, data)
    # Most files are handled by the demo officer, some by the second one.
    officer = world.officers[0] if world.rng.random() < 0.75 else world.officers[1]
    cast = Cast(applicant=applicant, recommender=world.recommender(body), officer=officer, reviewers=[])
    job = Job(world, draft, cast, app.id)
    end = spec.via or spec.state
    for reached, step in _road(end):
        OWN_STEPS.get(reached, _lifecycle_step(step))(job)
    if spec.via:
        _leave(job, spec.state)
    FINISHING.get(spec.state, lambda job: None)(job)


def _road(state: str) -> list[tuple[str, Callable]]:
    """lifecycle.ROAD from draft to `state`: (state reached, step) pairs, in order."""
    steps = []
    while state != "draft":
        before, step = ROAD[state]
        steps.append((state, step))
        state = before
    return steps[::-1]


def _lifecycle_step(step: Callable[[Cast, int], None]) -> Callable[[Job], None]:
    return lambda job: step(job.cast, job.app_id)


def _compose(world: World, spec: Spec) -> tuple[Draft, dict, str]:
    """Choose who files what with whom, through which body: the draft's data and its body's key.

    The institution comes first, then a mechanism and a topic it works on (TOPICS' `by`),
    then counterparts of that mechanism who work on the topic."""
    rng = world.rng
    call = next(c for c in CALLS if c.key == spec.call)
    sensitive_kind = spec.who == "foreign_sensitive"
    org = _applicant_org(world, spec, call)
    # An institution files each topic once while it has others left, and with a mechanism nobody has yet
    # taken it to while there are others: few repeated titles, and no phase II of another's project.
    options = _options(call, org, sensitive_kind)
    options = [o for o in options if (org, o[1].name) not in world.filed] or options
    options = [o for o in options if (o[0].key, o[1].name) not in world.filed] or options
    mechanism = world.next_fit(("mechanism", call.key), MECHANISMS, lambda m: any(o[0] is m for o in options))
    kind = _cooperation_type(rng, call, mechanism)
    subject, kind = _subject(world, options, mechanism, kind, org)
    field_ = subject.field
    world.filed |= {(org, subject.name), (mechanism.key, subject.name)}
    partners = [*_counterparts(world, mechanism, subject, org), *_domestic(world, org, subject)]
    body = _route(world, spec, org, mechanism, field_, partners)
    title, title_en = _titles(world, mechanism, partners, subject, kind)
    central = rng.randrange(50, call.max_central // 10_000 + 1) * 10_000
    duration = rng.choice((18, 24)) if call.key == "C" else rng.choice((24, 36, 36, 48))
    foreign = ORGS[org].kind in ("foreign_invested_enterprise", "foreign_institution")
    sensitive = sensitive_kind or (not foreign and field_ in SENSITIVE_FIELDS and rng.random() < 0.4)
    experts, young = rng.randint(1, 8), rng.randint(2, 12)
    channel = _body_spec(body).channel
    data = {
        "call_id": world.calls[call.key], "title": title, "title_en": title_en,
        "summary": _summary(org, mechanism, partners, subject, kind, experts, young),
        "field": field_, "cooperation_type": kind, "channel": channel,
        "body_id": world.bodies[body], "base_id": _base(world, org, mechanism, field_),
        "partners": partners, "budget": _budget(rng, call, central, channel, ORGS[org].kind),
        "duration_months": duration, "sensitive_technology": sensitive,
        "foreign_experts": experts, "young_researchers": young,
    }
    return Draft(spec, call, org, partners, central, duration, subject), data, body


def _applicant_org(world: World, spec: Spec, call: CallSpec) -> str:
    """The demo institution, one the demo body routes, a foreign applicant, or any other: always one
    that works in a field the call is open to, with counterparts to work with."""
    def fits(org: str) -> bool:
        return bool(_options(call, org, spec.who == "foreign_sensitive"))

    if spec.who in ("applicant", "both"):
        assert fits(DEMO_INSTITUTION), f"the demo institution has nothing to file in call {call.key}"
        return DEMO_INSTITUTION
    if spec.who == "body":  # the demo body is a provincial department: it routes its province's institutions
        province = ORGS[DEMO_INSTITUTION].province
        local = [o.key for o in INSTITUTIONS if o.province == province and o.key != DEMO_INSTITUTION]
        return world.next_fit("local", local, fits)
    if spec.who == "foreign_sensitive":
        return world.next_fit("foreign", [o.key for o in INSTITUTIONS
                                          if o.kind in ("foreign_invested_enterprise", "foreign_institution")],
                              fits)
    return world.next_fit("orgs", [o.key for o in INSTITUTIONS if o.applies and o.key != DEMO_INSTITUTION], fits)



def _options(call: CallSpec, org: str, sensitive: bool) -> list[tuple[Mechanism, Subject]]:
    """What `org` can file in `call`: (mechanism, topic or programme) pairs where the institution works on
    the topic, the call takes its field, and the mechanism has counterparts who work on it too. A foreign
    applicant's are with its home country's counterparts."""
    def allowed(field_: str) -> bool:
        return (not call.fields or field_ in call.fields) and (not sensitive or field_ in SENSITIVE_FIELDS)

    home = ORGS[org].home
    options: list[tuple[Mechanism, Subject]] = []
    for mechanism in MECHANISMS:
        if call.partnership and not mechanism.developing:
            continue
        if mechanism.key == "big_science":
            if not home:  # a foreign applicant works with its home country, not a programme
                options += [(mechanism, p) for p in PROGRAMMES if org in p.by and allowed(p.field)]
            continue
        reach = {"", "D"} if call.partnership else {"", "D", "A"} if mechanism.developing else {"", "A"}
        for topic in TOPICS:
            if (org in topic.by and allowed(topic.field) and topic.reach in reach
                    and (not mechanism.fields or topic.field in mechanism.fields)):
                fitting = _fitting(mechanism, topic)
                if fitting and (not home or any(p.country == home for p in fitting)):
                    options.append((mechanism, topic))
    return options


def _fitting(mechanism: Mechanism, topic: Topic) -> list[Counterpart]:
    """The mechanism's counterparts who work on the topic: those it names, or else those in its field."""
    if topic.partners:
        return [p for p in mechanism.partners if p.name in topic.partners]
    return [p for p in mechanism.partners if topic.field in p.fields]


def _subject(world: World, options: list[tuple[Mechanism, Subject]], mechanism: Mechanism, kind: str,
             org: str) -> tuple[Subject, str]:
    """The topic (or programme) of the application, and its cooperation type: a developing country's
    frontier topic is joint research, not a partnership demonstration."""
    subjects = [s for m, s in options if m is mechanism]
    if mechanism.key == "big_science":
        return world.next_fit(("programme", org), PROGRAMMES, lambda p: p in subjects), kind
    if not any(t.reach in _reach(kind, mechanism) for t in subjects):
        kind = "joint_rnd"
    reach = _reach(kind, mechanism)
    return world.next_fit(("topic", org), TOPICS, lambda t: t in subjects and t.reach in reach), kind


def _counterparts(world: World, mechanism: Mechanism, subject: Subject, org: str) -> list[dict]:
    """A big-science programme's own counterpart, or one to three of the mechanism's who work on the topic;
    a foreign applicant's include one from its home country."""
    if isinstance(subject, Programme):
        return [_partner(*subject.counterpart)]
    fitting = _fitting(mechanism, subject)
    count = world.rng.choice((1, 1, 2, 3 if mechanism.developing else 2))
    chosen = world.rng.sample(fitting, min(count, len(fitting)))
    home = [p for p in fitting if p.country == ORGS[org].home]
    if home and not any(p in home for p in chosen):
        chosen[0] = world.rng.choice(home)
    return [_partner(p.name, p.country, p.kind) for p in chosen]


def _reach(kind: str, mechanism: Mechanism) -> set[str]:
    """Which topics (TOPICS' reach) suit a project of this kind with partners of this mechanism."""
    if kind == "st_partnership":
        return {"", "D"}
    if mechanism.developing:  # joint research with India, Brazil or the Gulf reaches the frontier too
        return {"", "D", "A"}
    return {"", "A"}


def _partner(name: str, country: str, kind: str) -> dict:
    return {"name": name, "country": country, "kind": kind}


def _domestic(world: World, org: str, subject: Subject) -> list[dict]:
    """Now and then a domestic university or institute on the same topic joins the consortium (产学研结合)."""
    if world.rng.random() >= 0.35:
        return []
    others = [ORGS[o] for o in subject.by if o != org and ORGS[o].kind in ("university", "institute")]
    if not others:
        return []
    other = world.rng.choice(others)
    return [_partner(other.name, "CN", other.kind)]


def _route(world: World, spec: Spec, org: str, mechanism: Mechanism, field_: str, partners: list[dict]) -> str:
    """The recommending body: by the channel the applicant chose and what that channel serves."""
    if spec.who in ("body", "both"):
        return DEMO_BODY
    rng = world.rng
    keys = {ORGS[org].province, field_, ORGS[org].kind, org}
    if mechanism.key != "big_science":  # programmes are joined through ministries and provinces
        keys.add(partners[0]["country"])
    by_channel: dict[str, list[str]] = {}
    for body in BODIES:
        if keys & set(body.serves):
            by_channel.setdefault(body.channel, []).append(body.key)
    weights = {"intergovernmental": 3, "inter_agency": 2, "ministry_province": 2, "embassy": 3}
    channels = sorted(by_channel)
    candidates = by_channel[rng.choices(channels, weights=[weights[c] for c in channels])[0]]
    # Applications gather at the bodies already active: a demo of many small queues shows little.
    active = [b for b in candidates if b in world.recommenders]
    return rng.choice(active if active and rng.random() < 0.7 else candidates)


def _body_spec(key: str) -> BodySpec:
    return next(b for b in BODIES if b.key == key)


def _cooperation_type(rng: random.Random, call: CallSpec, mechanism: Mechanism) -> str:
    """Technology and talent are introduced from advanced partners; developing ones get partnership."""
    if mechanism.key == "big_science":
        return "big_science"
    if call.partnership:
        return "st_partnership"
    if mechanism.developing:
        return rng.choice(("joint_rnd", "joint_rnd", "base_construction", "st_partnership"))
    return rng.choice(("joint_rnd", "joint_rnd", "joint_rnd", "technology_introduction", "talent_introduction",
                       "base_construction"))


def _titles(world: World, mechanism: Mechanism, partners: list[dict], topic: Subject, kind: str) -> tuple[str, str]:
    """中德…联合研究 / Sino-German joint research on …; a repeated title becomes the project's next phase."""
    countries = {p["country"] for p in partners if p["country"] != "CN"}
    if len(countries) == 1 and mechanism.key != "big_science":
        prefix, prefix_en = COUNTRY_PREFIX[countries.pop()]
    else:
        prefix, prefix_en = mechanism.prefix, mechanism.prefix_en
    suffix, phrase_en, _ = COOPERATION[kind]
    title = f"{prefix}{topic.name}{suffix}".replace("技术技术", "技术")  # …关键技术 + 技术引进…
    title_en = f"{prefix_en} {phrase_en} {topic.name_en}"
    for phase, phase_en in (("", ""), ("（二期）", " (phase II)"), ("（三期）", " (phase III)")):
        if title + phase not in world.titles:
            break
    world.titles.add(title + phase)
    return title + phase, title_en + phase_en


def _summary(org: str, mechanism: Mechanism, partners: list[dict], topic: Subject, kind: str,
             experts: int, young: int) -> str:
    names = "、".join(p["name"] for p in partners)
    return (f"依托{mechanism.name}，{ORGS[org].name}联合{names}，围绕{topic.name}开展"
            f"{COOPERATION[kind][2]}。项目拟邀请外方专家{experts}人次来华工作，培养青年科研人员{young}名，"
            "形成具有自主知识产权的技术成果，并在国内示范推广，促进国际科技合作成果转化。")


def _base(world: World, org: str, mechanism: Mechanism, field_: str) -> int | None:
    """A base in the field that the applicant hosts or that serves the mechanism (a hosted base of a
    mechanism serves only that one), for most applications that have one."""
    candidates = [b.key for b in BASES
                  if (not b.fields or field_ in b.fields)
                  and (b.mechanism == mechanism.key if b.host != org else b.mechanism in (None, mechanism.key))
                  and (b.host in (None, org))]
    if not candidates or world.rng.random() < 0.3:
        return None
    return world.bases[world.rng.choice(candidates)]


def _budget(rng: random.Random, call: CallSpec, central: int, channel: str, kind: str) -> dict:
    """Whole yuan, in 10,000s; matching funds meet the call's minimum ratio with some to spare."""
    ratio = call.min_matching_ratio + rng.choice((0.0, 0.1, 0.2, 0.3, 0.5, 0.8))
    matching = math.ceil(central * ratio / 10_000) * 10_000
    # Ministry-province projects are matched by the province; enterprises raise their own.
    local_share = 0.7 if channel == "ministry_province" else 0.1 if "enterprise" in kind else 0.3
    local = round(matching * local_share / 10_000) * 10_000
    return {"central": central, "local_matching": local, "self_raised": matching - local}


# --- steps that give the demo its variety ---------------------------------------
# They replace lifecycle.ROAD's fixed steps where the data should differ from one
# application to the next: reasons, scores, amounts, milestone dates, outcomes.


def _reasoned(trigger: str, who: str) -> Callable[[Job], None]:
    def step(job: Job) -> None:
        job.cast.fire(getattr(job.cast, who), job.app_id, trigger, comment=job.reason(trigger))
    return step


def _recommend(job: Job) -> None:
    if "revision" in job.draft.spec.detours:
        _revision_round(job)
    _reasoned("recommend", "recommender")(job)


def _revision_round(job: Job) -> None:
    """Returned by the body, edited and resubmitted: a timeline with a round trip in it."""
    c = job.cast
    c.fire(c.recommender, job.app_id, "return_for_revision", comment=job.reason("return_for_revision"))
    apps.update_application(c.applicant, job.app_id, {"summary": _reload(job.app_id).summary
                                                      + "（已按推荐单位意见补充外方合作意向书并调整预算说明。）"})
    c.upload(job.app_id, "proposal")
    c.fire(c.applicant, job.app_id, "resubmit")


def _ineligible(job: Job) -> None:
    if job.draft.spec.who == "foreign_sensitive":  # what the screening guard keeps out, said in the notice
        comment = INELIGIBLE_FOREIGN.format(kind=FOREIGN_KIND_NAMES[ORGS[job.draft.org].kind])
    else:
        comment = job.reason("reject_ineligible")
    job.cast.fire(job.cast.officer, job.app_id, "reject_ineligible", comment=comment)


def _free_reviewers(job: Job) -> list[Actor]:
    """Reviewers without a conflict of interest: not of the applicant, not of a consortium partner."""
    partner_names = {p["name"] for p in job.draft.partners}
    return [actor for actor, org in job.world.reviewers
            if org != job.draft.org and ORGS[org].name not in partner_names]


def _panel(job: Job, size: int, first: Actor | None = None) -> list[Actor]:
    """`size` reviewers free of conflicts, chosen at random; `first` among them when it is free too."""
    free = _free_reviewers(job)
    if first in free:
        return [first, *job.rng.sample([r for r in free if r != first], size - 1)]
    return job.rng.sample(free, size)


def _clear_panel(job: Job, size: int, first: Actor | None = None, exclude: tuple[Actor, ...] = ()) -> list[Actor]:
    """`size` experts the fund's rules let through, as the officer would take them: the pool's suggestions
    (conflict-free by institution, partners, history and declarations; field match, load, spread);
    `first` among them when it is free too."""
    from .services import conflicts, pool

    s = db.session()
    s.expire_all()
    app = s.get(Application, job.app_id)
    chosen = [first] if first is not None and conflicts.conflict_of(s, s.get(User, first.id), app) is None else []
    picks = pool.suggestions(s, app, size - len(chosen), exclude=[a.id for a in (*chosen, *exclude)])
    return chosen + [Actor.of(s.get(User, p.reviewer_id)) for p in picks]


def _assign(job: Job, reviewer: Actor) -> int:
    due = job.world.today + dt.timedelta(days=21)
    return apps.assign_reviewer(job.cast.officer, job.app_id, reviewer.id, due_date=due).id


def _submit_review(job: Job, reviewer: Actor, review_id: int, score: float,
                   recommendation: str | None = None) -> None:
    """The expert declares no conflict, then scores each criterion of the call's rubric around `score`."""
    recommendation = recommendation or ("fund" if score >= 85 else "fund_with_changes" if score >= 75
                                        else "do_not_fund")
    fire(reviewer, "review", review_id, "declare_no_conflict")
    review = _reload_review(review_id)
    body = {"opinion": job.rng.choice(OPINIONS[recommendation]), "recommendation": recommendation}
    if review.rubric is None:
        body["score"] = score
    else:  # experts differ a little from one criterion to the next
        body["scores"] = {c["key"]: _points(c, score / 100 + job.rng.uniform(-0.06, 0.06))
                          for c in review.rubric.criteria}
    fire(reviewer, "review", review_id, "submit_review", payload=body)


def _points(criterion: dict, share: float) -> float:
    low, high = criterion["min"], criterion["max"]
    return round((low + (high - low) * max(0.0, min(1.0, share))) * 2) / 2


def _reload_review(review_id: int):
    from .models import Review

    s = db.session()
    s.expire_all()
    return s.get(Review, review_id)


def _maybe_decline(job: Job, panel: list[Actor]) -> None:
    """Now and then an expert is assigned, finds a conflict the records do not show, and declines."""
    if job.rng.random() >= 0.25:
        return
    spare = _clear_panel(job, 1, exclude=tuple(panel))
    if spare:
        reviewer = job.rng.choice(spare)
        fire(reviewer, "review", _assign(job, reviewer), "decline", comment=job.rng.choice(DECLINES))


def _score(job: Job, merit: float) -> float:
    """One expert's total for an application of `merit`: experts on a panel mostly agree, within a few points."""
    return max(0.0, min(100.0, round((merit + job.rng.uniform(-5, 5)) * 2) / 2))


def _merit(job: Job) -> float:
    """How good the application is, as its panel will broadly find it."""
    low, high = (58, 74) if job.draft.spec.state == "rejected" else (75, 93)
    return job.rng.uniform(low, high)


def _expert_review(job: Job) -> None:
    """A full panel: the review that completes the quorum closes expert review by itself.

    One application awaiting the decision splits its panel (two for, one firmly against), so the
    ranking shows a disagreement to the decision meeting.
    """
    panel = _clear_panel(job, job.draft.call.quorum)
    _maybe_decline(job, panel)
    reviews = [(reviewer, _assign(job, reviewer)) for reviewer in panel]
    # world.cycles holds the demo's take-once sequences: this one yields True for the first taker only.
    split = job.draft.spec.state == "decision_pending" and next(
        job.world.cycles.setdefault("split_panel", iter([True])), False)
    merit = _merit(job)
    for i, (reviewer, review_id) in enumerate(reviews):
        if split and i == len(reviews) - 1:
            _submit_review(job, reviewer, review_id, job.rng.randint(110, 124) / 2, "do_not_fund")
        elif split:
            _submit_review(job, reviewer, review_id, job.rng.randint(176, 186) / 2, "fund")
        else:
            _submit_review(job, reviewer, review_id, _score(job, merit))
    if len(panel) < job.draft.call.quorum:  # too few experts free of conflicts: the officer closes, saying why
        job.cast.fire(job.cast.officer, job.app_id, "close_review",
                      comment=f"本领域无利益冲突的专家不足{job.draft.call.quorum}位，依{len(panel)}份评审意见提交立项审议。")


def _review_under_way(job: Job) -> None:
    """A panel short of its quorum, with the demo reviewer's review still open."""
    demo_reviewer = job.world.reviewers[0][0]
    panel = _clear_panel(job, job.draft.call.quorum, first=demo_reviewer)
    _maybe_decline(job, panel)
    reviews = [(reviewer, _assign(job, reviewer)) for reviewer in panel]
    done = job.rng.randint(0, job.draft.call.quorum - 1)
    merit = _merit(job)
    for reviewer, review_id in [r for r in reviews if r[0] != demo_reviewer][:done]:
        _submit_review(job, reviewer, review_id, _score(job, merit))


def _approve(job: Job) -> None:
    share = job.rng.choice((0.8, 0.85, 0.9, 0.95, 1.0))
    amount = max(10_000, int(job.draft.central * share) // 10_000 * 10_000)
    job.cast.fire(job.cast.officer, job.app_id, "approve", payload={"approved_amount": amount})


def _sign(job: Job) -> None:
    """Sign the agreement, its milestones dated from when the call's decisions were made."""
    call = job.draft.call
    start = job.world.today + dt.timedelta(days=call.closes + 90)
    duration = job.draft.duration_months
    milestones = [{"title": title, "kind": kind, "evidence": evidence, "due_date": _add_months(start, m).isoformat()}
                  for m, title, kind, evidence in _agreement_milestones(duration)]
    job.cast.upload(job.app_id, "signed_agreement")
    job.cast.fire(job.cast.applicant, job.app_id, "sign_agreement",
                  payload={"agreement": _agreement(job, start), "milestones": milestones})
    if "suspension" in job.draft.spec.detours:
        _reasoned("suspend", "officer")(job)
        _reasoned("resume", "officer")(job)


def _agreement(job: Job, signed_on: dt.date) -> dict:
    """The international cooperation agreement the project rests on, signed with its partners."""
    app = _reload(job.app_id)
    return agreement_terms(app.institution.name, app.title, job.draft.partners, signed_on,
                           _add_months(signed_on, job.draft.duration_months + 12))


def agreement_terms(institution: str, title: str, partners: list[dict], signed_on: dt.date,
                    valid_until: dt.date) -> dict:
    """sign_agreement's agreement: the institution's with its lead foreign partner."""
    lead = next(p["name"] for p in partners if p["country"] != "CN")
    return {
        "title": f"{institution}与{lead}关于“{title}”的合作协议",
        "partners": [{"name": p["name"], "country": p["country"]} for p in partners],
        "signed_on": signed_on.isoformat(), "valid_from": signed_on.isoformat(),
        "valid_until": valid_until.isoformat(),
        "commitments_domestic": f"{institution}负责项目总体协调，提供联合研究所需的实验条件和配套经费，"
                                "每年派出科研人员赴外方开展合作研究，负责成果集成与国内转化。",
        "commitments_foreign": f"{lead}提供关键技术、数据和实验平台，接收中方科研人员交流访问，"
                               "派遣专家来华开展合作研究，与中方共享联合研究成果和知识产权。",
    }


def _agreement_milestones(duration: int) -> list[tuple[int, str, str, str]]:
    """(month, title, kind, evidence) of the milestones a cooperation agreement of `duration` months sets."""
    rows = [(3, "合作协议备案与联合研究启动", "joint_research_output", "合作协议备案回执、联合研究启动会纪要"),
            (9, "中外科研人员互访交流", "personnel_exchange", "出访与来访人员名单、交流日程及总结报告")]
    if duration > 18:
        rows.append((15, "外国专家来华合作研究", "foreign_experts_engaged", "外国专家聘用协议及来华工作报告"))
    rows += [(m, f"第{m // 12}年度执行情况报告", "annual_report", "年度执行报告及经费使用情况说明")
             for m in range(12, duration, 12)]
    middle = duration // 2 if duration // 2 % 12 else duration // 2 + 1
    rows.append((middle, "项目中期检查", "mid_term_report", "中期检查报告及外方合作单位评价意见"))
    rows.append((duration, "成果集成、技术转移与项目总结", "technology_transfer",
                 "技术转移合同或成果转化证明、联合发表论文清单"))
    return sorted(rows)


def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + year, month + 1, min(day.day, 28))


def _report(job: Job, milestone_id: int) -> None:
    fire(job.cast.applicant, "milestone", milestone_id, "report", payload={"report": job.rng.choice(REPORTS)})


def _keep_up(job: Job) -> None:
    """Report every milestone already due; the officer accepts each, sending one back now and then."""
    for milestone in _milestones(job.app_id):
        if milestone.due_date >= job.world.today or milestone.state == "accepted":
            continue
        _report(job, milestone.id)
        if job.rng.random() < 0.25:
            fire(job.cast.officer, "milestone", milestone.id, "return", comment=job.reason("return"))
            _report(job, milestone.id)
        fire(job.cast.officer, "milestone", milestone.id, "accept")


def _perform(job: Job) -> None:
    """Every milestone reported and accepted, the final report attached, close-out requested."""
    _keep_up(job)
    for milestone in _milestones(job.app_id):
        if milestone.state != "accepted":
            _report(job, milestone.id)
            fire(job.cast.officer, "milestone", milestone.id, "accept")
    rng, app = job.rng, _reload(job.app_id)
    outcomes = {"papers": rng.randint(2, 15), "patents": rng.randint(0, 6), "standards": rng.randint(0, 2),
                "technologies_transferred": rng.randint(0, 4),
                "experts_engaged": max(app.foreign_experts, rng.randint(2, 12)),
                "researchers_trained": max(app.young_researchers, rng.randint(3, 20))}
    if app.base_id:  # 项目—基地—人才: a base-construction project built its base, others strengthened theirs
        outcomes.update(base="built" if app.cooperation_type == "base_construction" else "strengthened",
                        base_id=app.base_id)
    job.cast.upload(job.app_id, "final_report")
    job.cast.fire(job.cast.applicant, job.app_id, "request_closeout", payload={"outcomes": outcomes})


def _suspend(job: Job) -> None:
    """Suspended for a compliance problem, or because a milestone fell overdue unreported."""
    if "overdue" not in job.draft.spec.detours:
        _keep_up(job)
        _reasoned("suspend", "officer")(job)
        return
    first = _milestones(job.app_id)[0]
    fire(SYSTEM, "milestone", first.id, "mark_overdue")  # what the periodic scan does
    job.cast.fire(job.cast.officer, job.app_id, "suspend",
                  comment=f"第{first.seq}项里程碑“{first.title}”逾期未报告，已超过宽限期，暂停执行。")


def _terminate(job: Job) -> None:
    _keep_up(job)
    _reasoned("terminate", "officer")(job)


OWN_STEPS: dict[str, Callable[[Job], None]] = {  # state reached -> the step that reaches it
    "revision_requested": _reasoned("return_for_revision", "recommender"),
    "not_recommended": _reasoned("decline_recommendation", "recommender"),
    "formal_review": _recommend,
    "ineligible": _ineligible,
    "decision_pending": _expert_review,
    "rejected": _reasoned("reject", "officer"),
    "approved": _approve,
    "in_progress": _sign,
    "suspended": _suspend,
    "terminated": _terminate,
    "closeout_review": _perform,
    "completed": _reasoned("accept_closeout", "officer"),
    "failed_acceptance": _reasoned("fail_closeout", "officer"),
    "withdrawn": _reasoned("withdraw", "applicant"),
}


def _leave(job: Job, state: str) -> None:
    """The last move, from `via` to `state`, where that is off lifecycle.ROAD."""
    if state == "revision_requested":  # the officer returns it from formal review
        _reasoned("return_for_revision", "officer")(job)
    elif state == "withdrawn":
        _reasoned("withdraw", "applicant")(job)
    elif state == "terminated":
        _reasoned("terminate", "officer")(job)
    else:
        raise ValueError(f"no way to {state} from {job.draft.spec.via} in the demo")


def _running(job: Job) -> None:
    """Up to date with its milestones; some report the next one early, for the officer to accept.

    The demo accounts' own project also shows the rest of 协议履约: an extension approved
    (the open due dates move), a report sent back with the officer's reason, and a budget
    reallocation waiting for the officer's decision.
    """
    _keep_up(job)
    upcoming = [m for m in _milestones(job.app_id) if m.state == "planned"]
    if job.draft.spec.who == "both":
        _follow_up_of_the_demo_project(job, upcoming)
    elif upcoming and job.rng.random() < 0.5:
        _report(job, upcoming[0].id)


def _follow_up_of_the_demo_project(job: Job, upcoming: list[Milestone]) -> None:
    from .services import changes

    applicant, officer = job.cast.applicant, job.cast.officer
    change = changes.request_change(applicant, job.app_id, "extension", "外方合作单位大型实验装置升级改造，"
                                    "联合实验推迟约半年，申请延长执行期6个月。", {"extend_months": 6})
    fire(officer, "change_request", change.id, "approve", comment="外方装置改造属实，同意延期6个月。")
    if upcoming:
        _report(job, upcoming[0].id)
        fire(officer, "milestone", upcoming[0].id, "return", comment=job.reason("return"))
    app = _reload(job.app_id)
    central = app.approved_amount or app.budget_central
    shifted = min(app.budget_self_raised, max(app.budget_self_raised // 3, 10_000))
    changes.request_change(applicant, job.app_id, "budget_reallocation", "地方配套资金到位增加，相应调减自筹经费，"
                           "中央财政经费保持不变。", {"budget": {
                               "central": central, "local_matching": app.budget_local_matching + shifted,
                               "self_raised": app.budget_self_raised - shifted}})


FINISHING: dict[str, Callable[[Job], None]] = {  # final touches by the state an application ends in
    "expert_review": _review_under_way,
    "in_progress": _running,
}


def _reload(app_id: int) -> Application:
    s = db.session()
    s.expire_all()
    return s.get(Application, app_id)


def _milestones(app_id: int) -> list[Milestone]:
    s = db.session()
    s.expire_all()
    return list(s.scalars(select(Milestone).where(Milestone.application_id == app_id).order_by(Milestone.seq)))
