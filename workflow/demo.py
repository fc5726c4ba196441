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
from typing import Callable, ContextManager, Iterator

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

    `home` is the country a foreign-invested enterprise's investor or a foreign
    institution comes from: its projects are with partners from there.
    """

    key: str
    name: str
    name_en: str
    kind: str
    province: str
    applies: bool = True
    home: str | None = None


INSTITUTIONS = (
    Org("tongji", "同济大学", "Tongji University", "university", "上海"),
    Org("tsinghua", "清华大学", "Tsinghua University", "university", "北京"),
    Org("zju", "浙江大学", "Zhejiang University", "university", "浙江"),
    Org("hit", "哈尔滨工业大学", "Harbin Institute of Technology", "university", "黑龙江"),
    Org("cau", "中国农业大学", "China Agricultural University", "university", "北京"),
    Org("gxu", "广西大学", "Guangxi University", "university", "广西"),
    Org("dicp", "中国科学院大连化学物理研究所", "Dalian Institute of Chemical Physics, CAS", "institute", "辽宁"),
    Org("sioc", "中国科学院上海有机化学研究所", "Shanghai Institute of Organic Chemistry, CAS", "institute",
        "上海"),
    Org("egi", "中国科学院新疆生态与地理研究所", "Xinjiang Institute of Ecology and Geography, CAS",
        "institute", "新疆"),
    Org("qdio", "中国科学院海洋研究所", "Institute of Oceanology, CAS", "institute", "山东"),
    Org("caas", "中国农业科学院作物科学研究所", "Institute of Crop Sciences, CAAS", "institute", "北京"),
    Org("jinglan", "江苏晶澜光伏科技股份有限公司", "Jiangsu Jinglan Photovoltaic Technology Co., Ltd.",
        "enterprise", "江苏"),
    Org("huarui", "深圳华睿通信技术有限公司", "Shenzhen Huarui Communication Technology Co., Ltd.",
        "enterprise", "广东"),
    Org("fenghe", "山东丰禾种业股份有限公司", "Shandong Fenghe Seed Industry Co., Ltd.", "enterprise", "山东"),
    Org("dongfang", "上海东方医药创新有限公司", "Shanghai Dongfang Pharmaceutical Innovation Co., Ltd.",
        "enterprise", "上海"),
    Org("taicang", "中德（太仓）精密制造有限公司", "Sino-German (Taicang) Precision Manufacturing Co., Ltd.",
        "foreign_invested_enterprise", "江苏", home="DE"),
    Org("yirui", "上海意瑞新材料有限公司", "Shanghai Yirui Advanced Materials Co., Ltd. (Sino-Italian)",
        "foreign_invested_enterprise", "上海", home="IT"),
    Org("novakang", "广州诺康生物医药有限公司", "Guangzhou Novakang Biopharma Co., Ltd. (US-invested)",
        "foreign_invested_enterprise", "广东", home="US"),
    Org("fraunhofer", "弗劳恩霍夫协会北京代表处", "Fraunhofer-Gesellschaft Representative Office Beijing",
        "foreign_institution", "北京", home="DE"),
    Org("cnrs", "法国国家科学研究中心北京代表处", "CNRS Representative Office in China", "foreign_institution",
        "北京", home="FR"),
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
              "dicp", "sioc", "egi", "qdio"),
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
    """A cooperation base, hosted by an institution or standing on its own for a mechanism."""

    key: str
    name: str
    name_en: str
    kind: str
    host: str | None
    mechanism: str | None


BASES = (
    BaseSpec("tianjin_park", "中新天津生态城国际创新园", "Sino-Singapore Tianjin Eco-City International "
             "Innovation Park", "innovation_park", None, "asean"),
    BaseSpec("zhangjiang_park", "张江中欧国际创新园", "Zhangjiang China–EU International Innovation Park",
             "innovation_park", None, "eu"),
    BaseSpec("cerc", "中美清洁能源联合研究中心", "U.S.–China Clean Energy Research Center",
             "joint_research_center", "tsinghua", "us"),
    BaseSpec("ru_materials", "中俄先进材料国际联合研究中心",
             "China–Russia International Joint Research Center for Advanced Materials",
             "joint_research_center", "hit", "ru"),
    BaseSpec("sino_italian", "中意联合设计中心", "Sino-Italian Design Center", "joint_research_center",
             "tongji", "eu"),
    BaseSpec("central_asia", "中国—中亚科技合作中心", "China–Central Asia S&T Cooperation Center",
             "joint_research_center", "egi", "central_asia"),
    BaseSpec("asean_ttc", "中国—东盟技术转移中心", "China–ASEAN Technology Transfer Center",
             "technology_transfer_center", None, "asean"),
    BaseSpec("arab_ttc", "中国—阿拉伯国家技术转移中心", "China–Arab States Technology Transfer Center",
             "technology_transfer_center", None, "arab"),
    BaseSpec("south_asia_ttc", "中国—南亚技术转移中心", "China–South Asia Technology Transfer Center",
             "technology_transfer_center", None, "in"),
    BaseSpec("asean_agri", "中国—东盟农业示范基地", "China–ASEAN Agricultural Demonstration Base",
             "demonstration_base", "gxu", "asean"),
    BaseSpec("zju_demo", "浙江大学示范型国际科技合作基地",
             "Zhejiang University Demonstration Base for International S&T Cooperation", "demonstration_base",
             "zju", None),
    BaseSpec("africa_agri", "中非农业技术示范型国际科技合作基地",
             "China–Africa Agricultural Technology Demonstration Base", "demonstration_base", "cau", "africa"),
)


@dataclass(frozen=True)
class Mechanism:
    """A partner mechanism of the plan, with the counterparts applicants find through it."""

    key: str
    name: str  # how a summary names it
    prefix: str  # of a multilateral project's title
    prefix_en: str
    fields: tuple[str, ...]
    partners: tuple[tuple[str, str, str], ...]  # name, ISO 3166 country, partner kind
    developing: bool = False  # served by the S&T Partnership Programme


MECHANISMS = (
    Mechanism("us", "中美科技合作联委会机制", "中美", "Sino-US",
              ("energy_resources", "climate_change", "modern_agriculture", "ecology_environment",
               "biology_health"),
              (("Lawrence Berkeley National Laboratory", "US", "institute"),
               ("University of Michigan", "US", "university"),
               ("Purdue University", "US", "university"),
               ("West Virginia University", "US", "university"))),
    Mechanism("ru", "中俄总理定期会晤机制科技合作分委会", "中俄", "Sino-Russian",
              ("space_ocean", "new_materials_manufacturing", "energy_resources", "information_networks",
               "public_safety"),
              (("Lomonosov Moscow State University", "RU", "university"),
               ("Siberian Branch of the Russian Academy of Sciences", "RU", "institute"),
               ("Bauman Moscow State Technical University", "RU", "university"),
               ("Skolkovo Institute of Science and Technology", "RU", "university"))),
    Mechanism("eu", "中欧科技伙伴计划", "中欧", "China–EU", (),
              (("Fraunhofer Institute for Solar Energy Systems ISE", "DE", "institute"),
               ("Technical University of Munich", "DE", "university"),
               ("French National Centre for Scientific Research (CNRS)", "FR", "institute"),
               ("Politecnico di Milano", "IT", "university"),
               ("Delft University of Technology", "NL", "university"),
               ("VTT Technical Research Centre of Finland", "FI", "institute"),
               ("Technical University of Denmark", "DK", "university"))),
    Mechanism("jpkr", "中日韩科技部长会议机制", "中日韩", "China–Japan–Korea",
              ("ecology_environment", "new_materials_manufacturing", "biology_health", "information_networks",
               "public_safety"),
              (("The University of Tokyo", "JP", "university"),
               ("National Institute of Advanced Industrial Science and Technology", "JP", "institute"),
               ("Osaka University", "JP", "university"),
               ("Korea Advanced Institute of Science and Technology", "KR", "university"),
               ("Korea Institute of Science and Technology", "KR", "institute"))),
    Mechanism("in", "中印科技合作指导委员会机制", "中印", "Sino-Indian",
              ("biology_health", "modern_agriculture", "information_networks", "food_security", "major_diseases"),
              (("Indian Institute of Science", "IN", "university"),
               ("Indian Council of Agricultural Research", "IN", "government"),
               ("Indian Institute of Technology Bombay", "IN", "university")), developing=True),
    Mechanism("latam", "中国—拉美创新论坛", "中拉", "China–Latin America",
              ("modern_agriculture", "food_security", "energy_resources", "space_ocean", "ecology_environment"),
              (("Brazilian Agricultural Research Corporation (Embrapa)", "BR", "government"),
               ("University of São Paulo", "BR", "university"),
               ("University of Chile", "CL", "university"),
               ("National Autonomous University of Mexico", "MX", "university"),
               ("National Institute of Agricultural Technology (INTA)", "AR", "government")), developing=True),
    Mechanism("asean", "中国—东盟（10+3）科技合作机制", "中国—东盟", "China–ASEAN",
              ("modern_agriculture", "food_security", "major_diseases", "ecology_environment", "public_safety",
               "information_networks"),
              (("National University of Singapore", "SG", "university"),
               ("Kasetsart University", "TH", "university"),
               ("Vietnam Academy of Science and Technology", "VN", "institute"),
               ("International Rice Research Institute", "PH", "international_organization"),
               ("Bandung Institute of Technology", "ID", "university"),
               ("University of Malaya", "MY", "university"),
               ("Royal University of Agriculture", "KH", "university")), developing=True),
    Mechanism("africa", "中非科技伙伴计划", "中非", "China–Africa",
              ("modern_agriculture", "food_security", "major_diseases", "ecology_environment", "energy_resources"),
              (("Council for Scientific and Industrial Research (CSIR)", "ZA", "institute"),
               ("University of Nairobi", "KE", "university"),
               ("Ethiopian Institute of Agricultural Research", "ET", "government"),
               ("Obafemi Awolowo University", "NG", "university")), developing=True),
    Mechanism("arab", "中国—阿拉伯国家合作论坛", "中阿", "China–Arab States",
              ("energy_resources", "ecology_environment", "food_security", "information_networks",
               "climate_change"),
              (("King Abdulaziz City for Science and Technology", "SA", "government"),
               ("Khalifa University", "AE", "university"),
               ("Cairo University", "EG", "university"),
               ("Mohammed VI Polytechnic University", "MA", "university")), developing=True),
    Mechanism("central_asia", "上海合作组织科技合作机制", "中国—中亚", "China–Central Asia",
              ("ecology_environment", "modern_agriculture", "energy_resources", "public_safety", "climate_change"),
              (("Al-Farabi Kazakh National University", "KZ", "university"),
               ("Academy of Sciences of the Republic of Uzbekistan", "UZ", "institute"),
               ("Kyrgyz State Technical University", "KG", "university"),
               ("National Academy of Sciences of Tajikistan", "TJ", "institute")), developing=True),
    Mechanism("big_science", "国际大科学计划", "", "International",
              ("energy_resources", "new_materials_manufacturing", "space_ocean", "climate_change"), ()),
)

# The big-science programmes the plan names (ITER, GIF, CERN, IODP, Galileo, GEOSS):
# each with its counterpart, its field and what a Chinese team does in it.
PROGRAMMES = (
    (("ITER Organization", "FR", "international_organization"), "energy_resources",
     ("ITER聚变堆包层模块研制", "ITER fusion blanket module development")),
    (("Generation IV International Forum", "FR", "international_organization"), "energy_resources",
     ("第四代核能系统钠冷快堆关键材料", "key materials for Generation IV sodium-cooled fast reactors")),
    (("CERN", "CH", "international_organization"), "new_materials_manufacturing",
     ("大型强子对撞机探测器关键部件研制", "key detector components for the Large Hadron Collider")),
    (("International Ocean Discovery Program (IODP)", "US", "international_organization"), "space_ocean",
     ("国际大洋发现计划南海钻探岩芯分析", "analysis of IODP South China Sea drilling cores")),
    (("EU Agency for the Space Programme (Galileo)", "CZ", "government"), "space_ocean",
     ("北斗与伽利略卫星导航系统兼容互操作", "BeiDou–Galileo compatibility and interoperability")),
    (("Group on Earth Observations (GEO) Secretariat", "CH", "international_organization"), "climate_change",
     ("全球综合地球观测系统气候数据共享", "climate data sharing in the Global Earth Observation System of Systems")),
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

# field -> research topics: (中文, English, reach). Reach "A" is frontier work with
# advanced partners; "D" answers developing countries' needs with proven, affordable
# technology (适用技术), as the S&T Partnership Programme does; "" suits anyone.
TOPICS = {
    "energy_resources": (
        ("高效钙钛矿光伏电池", "high-efficiency perovskite solar cells", "A"),
        ("大规模液流电池储能", "large-scale flow-battery energy storage", "A"),
        ("可再生能源智能电网并网", "grid integration of renewables in smart grids", "A"),
        ("页岩气高效开采", "efficient shale gas extraction", "A"),
        ("离网光伏微电网", "off-grid solar micro-grids", "D"),
        ("农村沼气综合利用", "integrated use of rural biogas", "D"),
    ),
    "new_materials_manufacturing": (
        ("高温合金增材制造", "additive manufacturing of superalloys", "A"),
        ("碳纤维复合材料", "carbon-fibre composites", "A"),
        ("高速列车轻量化车体", "lightweight car bodies for high-speed trains", "A"),
        ("精密数控机床", "precision CNC machine tools", "A"),
        ("稀土永磁材料", "rare-earth permanent magnets", "A"),
    ),
    "information_networks": (
        ("第六代移动通信关键技术", "key technologies for 6G mobile communication", "A"),
        ("量子密钥分发网络", "quantum key distribution networks", "A"),
        ("工业互联网安全", "industrial internet security", "A"),
        ("多语种机器翻译", "multilingual machine translation", ""),
        ("农村信息化服务平台", "rural information service platforms", "D"),
    ),
    "modern_agriculture": (
        ("水稻分子设计育种", "molecular design breeding of rice", "A"),
        ("热带作物病虫害绿色防控", "green control of tropical crop pests", ""),
        ("节水灌溉与旱作农业", "water-saving irrigation and dryland farming", ""),
        ("奶牛高效健康养殖", "efficient and healthy dairy farming", ""),
        ("农产品冷链保鲜", "cold-chain preservation of farm produce", ""),
    ),
    "biology_health": (
        ("肿瘤免疫治疗新靶点", "new targets for cancer immunotherapy", "A"),
        ("干细胞与再生医学", "stem cells and regenerative medicine", "A"),
        ("医学影像人工智能诊断", "AI diagnosis in medical imaging", "A"),
        ("生物基化学品绿色合成", "green synthesis of bio-based chemicals", "A"),
        ("传统医药资源保护与利用", "conservation and use of traditional medicine resources", "D"),
        ("基层医疗卫生适宜技术", "appropriate technologies for primary health care", "D"),
    ),
    "ecology_environment": (
        ("流域水污染综合治理", "integrated control of river-basin water pollution", ""),
        ("荒漠化防治与生态修复", "desertification control and ecological restoration", ""),
        ("大气细颗粒物来源解析", "source apportionment of fine particulate matter", "A"),
        ("生物多样性监测", "biodiversity monitoring", ""),
        ("城市固体废物资源化", "resource recovery from urban solid waste", ""),
    ),
    "space_ocean": (
        ("深海探测装备", "deep-sea exploration equipment", "A"),
        ("卫星导航增强系统", "satellite navigation augmentation", ""),
        ("极地海冰遥感观测", "remote sensing of polar sea ice", "A"),
        ("海洋防灾减灾遥感应用", "remote sensing for marine disaster reduction", ""),
    ),
    "public_safety": (
        ("地震预警", "earthquake early warning", ""),
        ("城市轨道交通安全监测", "safety monitoring of urban rail transit", "A"),
        ("危险化学品泄漏应急处置", "emergency response to hazardous chemical leaks", "A"),
        ("食品安全快速检测", "rapid food-safety testing", ""),
        ("森林火灾监测预警", "forest fire monitoring and early warning", ""),
    ),
    "climate_change": (
        ("碳捕集利用与封存", "carbon capture, utilisation and storage", "A"),
        ("气候变化对山地冰川的影响", "climate-change impacts on mountain glaciers", ""),
        ("区域气候模式与极端事件预估", "regional climate models and extreme-event projections", "A"),
        ("农业温室气体减排", "greenhouse-gas mitigation in agriculture", ""),
    ),
    "food_security": (
        ("耐旱玉米品种选育", "breeding of drought-tolerant maize", ""),
        ("粮食产后减损", "post-harvest grain loss reduction", "D"),
        ("杂交水稻高产栽培", "high-yield cultivation of hybrid rice", "D"),
        ("盐碱地改良利用", "reclamation of saline-alkali land", ""),
    ),
    "major_diseases": (
        ("疟疾防控与新药研发", "malaria control and drug discovery", "D"),
        ("结核病快速诊断", "rapid diagnosis of tuberculosis", ""),
        ("新发传染病疫苗", "vaccines against emerging infectious diseases", "A"),
        ("艾滋病综合防治", "integrated HIV/AIDS prevention and treatment", ""),
    ),
}

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

    def next_of(self, key: object, items) -> object:
        """Deal `items` round-robin in a shuffled order, so every one of them gets used."""
        if key not in self.cycles:
            items = list(items)
            self.rng.shuffle(items)
            self.cycles[key] = itertools.cycle(items)
        return next(self.cycles[key])

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
            "grace_days": 30}


def _close_calls(world: World) -> None:
    for call in CALLS:
        if call.closed:
            closes = _midnight(world.today + dt.timedelta(days=call.closes))
            registry.update_call(world.admin, world.calls[call.key], {"closes_at": closes})


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def _register_people(world: World) -> None:
    for local, name in OFFICERS:
        world.officers.append(_user(f"{local}@demo.fundflow.cn", "officer", name))
    for number, (name, org) in enumerate(REVIEWERS, start=1):
        email = DEMO_EMAIL["reviewer"] if number == 1 else f"reviewer.{number:02d}@demo.fundflow.cn"
        world.reviewers.append((_user(email, "reviewer", name, institution_id=world.institutions[org]), org))
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
    """Choose who files what with whom, through which body: the draft's data and its body's key."""
    rng = world.rng
    call = next(c for c in CALLS if c.key == spec.call)
    org = _applicant_org(world, spec)
    mechanism = _mechanism(world, call, org)
    sensitive_kind = spec.who == "foreign_sensitive"
    kind = _cooperation_type(rng, call, mechanism)
    field_, topic, partners = _subject(world, call, mechanism, kind, org, sensitive_kind)
    body = _route(world, spec, org, mechanism, field_, partners)
    title, title_en = _titles(world, mechanism, partners, topic, kind)
    central = rng.randrange(50, call.max_central // 10_000 + 1) * 10_000
    duration = rng.choice((18, 24)) if call.key == "C" else rng.choice((24, 36, 36, 48))
    foreign = ORGS[org].kind in ("foreign_invested_enterprise", "foreign_institution")
    sensitive = sensitive_kind or (not foreign and field_ in SENSITIVE_FIELDS and rng.random() < 0.4)
    experts, young = rng.randint(1, 8), rng.randint(2, 12)
    channel = _body_spec(body).channel
    data = {
        "call_id": world.calls[call.key], "title": title, "title_en": title_en,
        "summary": _summary(org, mechanism, partners, topic, kind, experts, young),
        "field": field_, "cooperation_type": kind, "channel": channel,
        "body_id": world.bodies[body], "base_id": _base(world, org, mechanism),
        "partners": partners, "budget": _budget(rng, call, central, channel, ORGS[org].kind),
        "duration_months": duration, "sensitive_technology": sensitive,
        "foreign_experts": experts, "young_researchers": young,
    }
    return Draft(spec, call, org, partners, central, duration), data, body


def _applicant_org(world: World, spec: Spec) -> str:
    if spec.who in ("applicant", "both"):
        return DEMO_INSTITUTION
    if spec.who == "body":  # the demo body is a provincial department: it routes its province's institutions
        province = ORGS[DEMO_INSTITUTION].province
        local = [o.key for o in INSTITUTIONS if o.province == province and o.key != DEMO_INSTITUTION]
        return world.next_of("local", local)
    if spec.who == "foreign_sensitive":
        return world.next_of("foreign", [o.key for o in INSTITUTIONS
                                         if o.kind in ("foreign_invested_enterprise", "foreign_institution")])
    return world.next_of("orgs", [o.key for o in INSTITUTIONS if o.applies and o.key != DEMO_INSTITUTION])


def _mechanism(world: World, call: CallSpec, org: str) -> Mechanism:
    """A mechanism with counterparts in the call's fields (developing countries for the partnership call);
    a foreign applicant's is its home country's, where the call allows."""
    eligible = [m for m in MECHANISMS
                if (not call.partnership or m.developing)
                and (not call.fields or not m.fields or set(call.fields) & set(m.fields))]
    home = [m for m in eligible if any(country == ORGS[org].home for _, country, _ in m.partners)]
    return home[0] if home else world.next_of(("mechanism", call.key), eligible)


def _subject(world: World, call: CallSpec, mechanism: Mechanism, kind: str, org: str,
             sensitive: bool) -> tuple[str, tuple, list[dict]]:
    """Field, topic and partners: a big-science programme's own, or drawn from the mechanism's."""
    def allowed(field_: str) -> bool:
        return (not call.fields or field_ in call.fields) and (not sensitive or field_ in SENSITIVE_FIELDS)

    if mechanism.key == "big_science":
        partner, field_, topic = world.next_of(("programme", call.key), [p for p in PROGRAMMES if allowed(p[1])])
        return field_, topic, [_partner(*partner), *_domestic(world, org)]
    reach = _reach(kind, mechanism)
    topics = {f: [t for t in TOPICS[f] if t[2] in reach] for f in TOPICS}
    fields = [f for f in TOPICS if allowed(f) and topics[f]]
    # The mechanism's own fields where it has any in the call; a foreign applicant's may not.
    fields = [f for f in fields if f in mechanism.fields] or fields
    field_ = world.rng.choice(fields)
    topic = world.next_of((field_, *sorted(reach)), topics[field_])
    count = world.rng.choice((1, 1, 2, 3 if mechanism.developing else 2))
    foreign = world.rng.sample(mechanism.partners, min(count, len(mechanism.partners)))
    home = [p for p in mechanism.partners if p[1] == ORGS[org].home]
    if home and not any(p in home for p in foreign):  # a foreign applicant works with its home country
        foreign[0] = world.rng.choice(home)
    return field_, topic, [*(_partner(*p) for p in foreign), *_domestic(world, org)]


def _reach(kind: str, mechanism: Mechanism) -> set[str]:
    """Which topics (TOPICS' reach) suit a project of this kind with partners of this mechanism."""
    if kind == "st_partnership":
        return {"", "D"}
    if mechanism.developing:  # joint research with India, Brazil or the Gulf reaches the frontier too
        return {"", "D", "A"}
    return {"", "A"}


def _partner(name: str, country: str, kind: str) -> dict:
    return {"name": name, "country": country, "kind": kind}


def _domestic(world: World, org: str) -> list[dict]:
    """Now and then a domestic university or institute joins the consortium (产学研结合)."""
    if world.rng.random() >= 0.35:
        return []
    other = world.rng.choice([o for o in INSTITUTIONS
                              if o.applies and o.key != org and o.kind in ("university", "institute")])
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


def _titles(world: World, mechanism: Mechanism, partners: list[dict], topic: tuple, kind: str) -> tuple[str, str]:
    """中德…联合研究 / Sino-German joint research on …; a repeated title becomes the project's next phase."""
    countries = {p["country"] for p in partners if p["country"] != "CN"}
    if len(countries) == 1 and mechanism.key != "big_science":
        prefix, prefix_en = COUNTRY_PREFIX[countries.pop()]
    else:
        prefix, prefix_en = mechanism.prefix, mechanism.prefix_en
    suffix, phrase_en, _ = COOPERATION[kind]
    title = f"{prefix}{topic[0]}{suffix}".replace("技术技术", "技术")  # …关键技术 + 技术引进…
    title_en = f"{prefix_en} {phrase_en} {topic[1]}"
    for phase, phase_en in (("", ""), ("（二期）", " (phase II)"), ("（三期）", " (phase III)")):
        if title + phase not in world.titles:
            break
    world.titles.add(title + phase)
    return title + phase, title_en + phase_en


def _summary(org: str, mechanism: Mechanism, partners: list[dict], topic: tuple, kind: str,
             experts: int, young: int) -> str:
    names = "、".join(p["name"] for p in partners)
    return (f"依托{mechanism.name}，{ORGS[org].name}联合{names}，围绕{topic[0]}开展"
            f"{COOPERATION[kind][2]}。项目拟邀请外方专家{experts}人次来华工作，培养青年科研人员{young}名，"
            "形成具有自主知识产权的技术成果，并在国内示范推广，促进国际科技合作成果转化。")


def _base(world: World, org: str, mechanism: Mechanism) -> int | None:
    """A base the applicant hosts or that serves the mechanism, for most applications that have one."""
    candidates = [b.key for b in BASES if b.host == org or (b.host is None and b.mechanism == mechanism.key)]
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


def _assign(job: Job, reviewer: Actor) -> int:
    due = job.world.today + dt.timedelta(days=21)
    return apps.assign_reviewer(job.cast.officer, job.app_id, reviewer.id, due_date=due).id


def _submit_review(job: Job, reviewer: Actor, review_id: int, score: float) -> None:
    recommendation = "fund" if score >= 85 else "fund_with_changes" if score >= 75 else "do_not_fund"
    fire(reviewer, "review", review_id, "submit_review", payload={
        "score": score, "opinion": job.rng.choice(OPINIONS[recommendation]), "recommendation": recommendation})


def _maybe_decline(job: Job, panel: list[Actor]) -> None:
    """Now and then an expert is assigned, finds a conflict the records do not show, and declines."""
    if job.rng.random() >= 0.25:
        return
    spare = [r for r in _free_reviewers(job) if r not in panel]
    if spare:
        reviewer = job.rng.choice(spare)
        fire(reviewer, "review", _assign(job, reviewer), "decline", comment=job.rng.choice(DECLINES))


def _score(job: Job) -> float:
    low, high = (55, 76) if job.draft.spec.state == "rejected" else (72, 95)
    return job.rng.randint(low * 2, high * 2) / 2


def _expert_review(job: Job) -> None:
    """A full panel: the review that completes the quorum closes expert review by itself."""
    panel = _panel(job, job.draft.call.quorum)
    _maybe_decline(job, panel)
    reviews = [(reviewer, _assign(job, reviewer)) for reviewer in panel]
    for reviewer, review_id in reviews:
        _submit_review(job, reviewer, review_id, _score(job))


def _review_under_way(job: Job) -> None:
    """A panel short of its quorum, with the demo reviewer's review still open."""
    demo_reviewer = job.world.reviewers[0][0]
    panel = _panel(job, job.draft.call.quorum, first=demo_reviewer)
    _maybe_decline(job, panel)
    reviews = [(reviewer, _assign(job, reviewer)) for reviewer in panel]
    done = job.rng.randint(0, job.draft.call.quorum - 1)
    for reviewer, review_id in [r for r in reviews if r[0] != demo_reviewer][:done]:
        _submit_review(job, reviewer, review_id, _score(job))


def _approve(job: Job) -> None:
    share = job.rng.choice((0.8, 0.85, 0.9, 0.95, 1.0))
    amount = max(10_000, int(job.draft.central * share) // 10_000 * 10_000)
    job.cast.fire(job.cast.officer, job.app_id, "approve", payload={"approved_amount": amount})


def _sign(job: Job) -> None:
    """Sign the agreement, its milestones dated from when the call's decisions were made."""
    call = job.draft.call
    start = job.world.today + dt.timedelta(days=call.closes + 90)
    months = [3, *range(12, job.draft.duration_months + 1, 12)]
    if months[-1] != job.draft.duration_months:
        months.append(job.draft.duration_months)
    milestones = [{"title": _milestone_title(i, m, months), "due_date": _add_months(start, m).isoformat()}
                  for i, m in enumerate(months)]
    job.cast.upload(job.app_id, "signed_agreement")
    job.cast.fire(job.cast.applicant, job.app_id, "sign_agreement", payload={"milestones": milestones})
    if "suspension" in job.draft.spec.detours:
        _reasoned("suspend", "officer")(job)
        _reasoned("resume", "officer")(job)


def _milestone_title(index: int, month: int, months: list[int]) -> str:
    if index == 0:
        return "合作协议备案与联合研究启动"
    if month == months[-1]:
        return "成果集成、技术转移与项目总结"
    return f"第{month // 12}年度联合研究与人员交流任务"


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
    rng = job.rng
    outcomes = {"papers": rng.randint(2, 15), "patents": rng.randint(0, 6), "standards": rng.randint(0, 2),
                "technologies_transferred": rng.randint(0, 4), "experts_engaged": rng.randint(2, 12),
                "researchers_trained": rng.randint(3, 20)}
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
    """Up to date with its milestones; some report the next one early, for the officer to accept."""
    _keep_up(job)
    upcoming = [m for m in _milestones(job.app_id) if m.state == "planned"]
    if upcoming and job.rng.random() < 0.5:
        _report(job, upcoming[0].id)


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
