"""The report's sheets and fields as data (deliverable.md §report.xlsx).

One place for the standard field codes, their Chinese names (中文), types and code lists,
so that the report parser maps headers and the table schemas judge values from the same
definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "str",  # free text
    "code",  # fixed-length code text (ZDDM, BDCDYH, HH …): kept as written
    "date",
    "int",
    "area",  # m², > 0, 2 dp
    "length",  # m, > 0, 2 dp
    "coord",  # m, 3 dp
    "ratio",  # 6 dp coefficient, >= 0
    "number",  # any real
    "enum",  # value of a code list
]


@dataclass(frozen=True, slots=True)
class Field:
    code: str
    name: str
    kind: Kind = "str"
    required: bool = True
    codelist: str | None = None
    length: int | None = None  # exact length for "code" fields
    minimum: float | None = None  # inclusive lower bound for int fields (RPT-007)


@dataclass(frozen=True, slots=True)
class Sheet:
    key: str  # English identifier used in code
    name: str  # the sheet name as written in the workbook
    fields: tuple[Field, ...]
    required: bool = True
    keys: tuple[tuple[str, ...], ...] = ()  # unique keys (RPT-006)
    long_form: bool = False  # 项目信息: one field per row (字段 | 值)
    refs: tuple[tuple[str, str, str], ...] = field(default=())  # (column, target sheet key, target column) RPT-009

    def field(self, code: str) -> Field:
        return next(f for f in self.fields if f.code == code)


F = Field

PROJECT = Sheet(
    "project",
    "项目信息",
    (
        F("XMBH", "项目编号"),
        F("XMMC", "项目名称"),
        F("ZL", "坐落"),
        F("JSDW", "建设单位"),
        F("CHDW", "测绘单位"),
        F("CHZZ", "测绘资质证书编号"),
        F("CLRQ", "测量日期", "date"),
        F("ZBX", "坐标系", required=False),  # its absence is CRS-001, not RPT-004
        F("GCJZ", "高程基准", required=False),
        F("FCMJJD", "房产面积精度等级", "enum", codelist="JD"),
        F("JZDJD", "界址点精度等级", "enum", codelist="JD"),
        F("GHXKZH", "建设工程规划许可证号"),
    ),
    long_form=True,
)

PARCEL = Sheet(
    "parcel",
    "宗地",
    (
        F("ZDDM", "宗地代码", "code"),
        F("BDCDYH", "不动产单元号", "code"),
        F("QLR", "权利人", required=False),
        F("ZL", "坐落"),
        F("ZDMJ", "宗地面积", "area"),
        F("YT", "土地用途", "enum", codelist="YT"),
        F("QLLX", "权利类型", "enum", codelist="QLLX"),
        F("QLXZ", "权利性质", "enum", codelist="QLXZ"),
    ),
    keys=(("ZDDM",),),
)

BOUNDARY_POINT = Sheet(
    "boundary_point",
    "界址点",
    (
        F("ZDDM", "宗地代码", "code"),
        F("JZDH", "界址点号"),
        F("SXH", "顺序号", "int", minimum=1),
        F("XZBZ", "X坐标", "coord"),
        F("YZBZ", "Y坐标", "coord"),
        F("JBLX", "界标类型", required=False),
    ),
    keys=(("ZDDM", "JZDH"),),
    refs=(("ZDDM", "parcel", "ZDDM"),),
)

BOUNDARY_LINE = Sheet(
    "boundary_line",
    "界址线",
    (
        F("ZDDM", "宗地代码", "code"),
        F("QSJZDH", "起始界址点号"),
        F("ZZJZDH", "终止界址点号"),
        F("JZXCD", "勘丈边长", "length"),
    ),
    required=False,
    refs=(("ZDDM", "parcel", "ZDDM"),),
)

BUILDING = Sheet(
    "building",
    "自然幢",
    (
        F("ZRZH", "自然幢号", "code"),
        F("ZDDM", "宗地代码", "code"),
        F("JZWMC", "建筑物名称"),
        F("FWJG", "房屋结构", "enum", codelist="FWJG"),
        F("ZCS", "总层数", "int", minimum=1),
        F("DSCS", "地上层数", "int", minimum=1),
        F("DXCS", "地下层数", "int", minimum=0),
        F("JZWGD", "建筑物高度", "length"),
        F("ZZDMJ", "幢占地面积", "area"),
        F("SCJZMJ", "实测建筑面积", "area"),
    ),
    keys=(("ZRZH",),),
    refs=(("ZDDM", "parcel", "ZDDM"),),
)

FLOOR = Sheet(
    "floor",
    "层",
    (
        F("ZRZH", "自然幢号", "code"),
        F("SJC", "实际层", "int"),
        F("CG", "层高", "length"),
    ),
    keys=(("ZRZH", "SJC"),),
    refs=(("ZRZH", "building", "ZRZH"),),
)

UNIT = Sheet(
    "unit",
    "户",
    (
        F("BDCDYH", "不动产单元号", "code"),
        F("ZRZH", "自然幢号", "code"),
        F("SJC", "所在实际层", "int"),
        F("HH", "户号", "code"),
        F("SHBW", "室号部位", required=False),
        F("FWYT", "房屋用途", "enum", codelist="FWYT"),
        F("SCTNJZMJ", "实测套内建筑面积", "area"),
        F("SCFTJZMJ", "实测分摊建筑面积", "area"),
        F("SCJZMJ", "实测建筑面积", "area"),
        F("SCFTXS", "实测分摊系数", "ratio"),
        F("YCJZMJ", "预测建筑面积", "area", required=False),
    ),
    keys=(("BDCDYH",),),
    refs=(("ZRZH", "building", "ZRZH"),),
)

SHARED_PART = Sheet(
    "shared_part",
    "共有部位",
    (
        F("ZRZH", "自然幢号", "code"),
        F("SJC", "所在层", "int"),
        F("MC", "名称"),
        F("MJ", "面积", "area"),
    ),
    refs=(("ZRZH", "building", "ZRZH"),),
)

PLANNING_INDICATOR = Sheet(
    "planning_indicator",
    "规划指标",
    (
        F("ZBDM", "指标代码", "enum", codelist="ZBDM"),
        F("FW", "范围"),
        F("GHZ", "规划许可值", "number"),
        F("SCZ", "实测值", "number"),
        F("DW", "单位", required=False),
    ),
    keys=(("ZBDM", "FW"),),
)

SETBACK = Sheet(
    "setback",
    "退让",
    (
        F("ZRZH", "自然幢号", "code"),
        F("DX", "退让对象", "enum", codelist="DX"),
        F("GHYQ", "规划要求最小距离", "length"),
        F("SCZ", "实测距离", "number"),
    ),
    keys=(("ZRZH", "DX"),),
    refs=(("ZRZH", "building", "ZRZH"),),
)

SHEETS: tuple[Sheet, ...] = (
    PROJECT,
    PARCEL,
    BOUNDARY_POINT,
    BOUNDARY_LINE,
    BUILDING,
    FLOOR,
    UNIT,
    SHARED_PART,
    PLANNING_INDICATOR,
    SETBACK,
)
SHEETS_BY_KEY = {s.key: s for s in SHEETS}
SHEETS_BY_NAME = {s.name: s for s in SHEETS}

# Code lists of deliverable.md (v1). A profile may extend them.
CODE_LISTS: dict[str, dict[str, str]] = {
    "JD": {"一级": "一级", "二级": "二级", "三级": "三级"},
    "FWJG": {
        "1": "钢结构",
        "2": "钢和钢筋混凝土结构",
        "3": "钢筋混凝土结构",
        "4": "混合结构",
        "5": "砖木结构",
        "6": "其它结构",
    },
    "FWYT": {
        "10": "住宅", "11": "成套住宅", "111": "别墅", "112": "高档公寓", "12": "非成套住宅",
        "13": "集体宿舍", "20": "工业、交通、仓储", "21": "工业", "22": "公共设施", "23": "铁路",
        "24": "民航", "25": "航运", "26": "公共运输", "27": "仓储", "30": "商业、金融、信息",
        "31": "商业服务", "32": "经营", "33": "旅游", "34": "金融保险", "35": "电讯信息",
        "40": "教育、医疗、卫生、科研", "41": "教育", "42": "医疗卫生", "43": "科研",
        "50": "文化、娱乐、体育", "51": "文化", "52": "新闻", "53": "娱乐", "54": "园林绿化",
        "55": "体育", "60": "办公", "70": "军事", "80": "其它", "81": "涉外", "82": "宗教",
        "83": "监狱", "84": "物管用房", "85": "车位",
    },
    # 不动产登记数据库标准 权利类型 1–23
    "QLLX": {
        "1": "集体土地所有权", "2": "国家土地所有权", "3": "国有建设用地使用权",
        "4": "国有建设用地使用权/房屋（构筑物）所有权", "5": "宅基地使用权",
        "6": "宅基地使用权/房屋（构筑物）所有权", "7": "集体建设用地使用权",
        "8": "集体建设用地使用权/房屋（构筑物）所有权", "9": "土地承包经营权",
        "10": "土地承包经营权/森林、林木所有权", "11": "林地使用权",
        "12": "林地使用权/森林、林木使用权", "13": "草原使用权", "14": "水域滩涂养殖权",
        "15": "海域使用权", "16": "海域使用权/构（建）筑物所有权", "17": "无居民海岛使用权",
        "18": "无居民海岛使用权/构（建）筑物所有权", "19": "地役权", "20": "取水权",
        "21": "探矿权", "22": "采矿权", "23": "其他权利",
    },
    "QLXZ": {
        "100": "国有土地", "101": "划拨", "102": "出让", "103": "作价出资（入股）", "104": "租赁",
        "105": "授权经营", "200": "集体土地", "201": "家庭承包", "202": "其它方式承包",
        "203": "批准拨用", "204": "入股", "205": "联营",
    },
    # GB/T 21010-2017 (level 1 and level 2 classes, and the 05H1-style urban codes)
    "YT": {
        "01": "耕地", "0101": "水田", "0102": "水浇地", "0103": "旱地",
        "02": "园地", "0201": "果园", "0202": "茶园", "0203": "橡胶园", "0204": "其他园地",
        "03": "林地", "0301": "乔木林地", "0302": "竹林地", "0303": "红树林地", "0304": "森林沼泽",
        "0305": "灌木林地", "0306": "灌丛沼泽", "0307": "其他林地",
        "04": "草地", "0401": "天然牧草地", "0402": "沼泽草地", "0403": "人工牧草地", "0404": "其他草地",
        "05": "商服用地", "0501": "零售商业用地", "0502": "批发市场用地", "0503": "餐饮用地",
        "0504": "旅馆用地", "0505": "商务金融用地", "0506": "娱乐用地", "0507": "其他商服用地",
        "05H1": "商业服务业设施用地",
        "06": "工矿仓储用地", "0601": "工业用地", "0602": "采矿用地", "0603": "盐田", "0604": "仓储用地",
        "07": "住宅用地", "0701": "城镇住宅用地", "0702": "农村宅基地",
        "08": "公共管理与公共服务用地", "0801": "机关团体用地", "0802": "新闻出版用地",
        "0803": "教育用地", "0804": "科研用地", "0805": "医疗卫生用地", "0806": "社会福利用地",
        "0807": "文化设施用地", "0808": "体育用地", "0809": "公用设施用地", "0810": "公园与绿地",
        "08H1": "机关团体新闻出版用地", "08H2": "科教文卫用地",
        "09": "特殊用地", "10": "交通运输用地", "1001": "铁路用地", "1002": "轨道交通用地",
        "1003": "公路用地", "1004": "城镇村道路用地", "1005": "交通服务场站用地",
        "1006": "农村道路", "1007": "机场用地", "1008": "港口码头用地", "1009": "管道运输用地",
        "11": "水域及水利设施用地", "12": "其他土地",
    },
    "ZBDM": {
        "YDMJ": "用地面积", "ZJZMJ": "总建筑面积", "JRMJ": "计容建筑面积", "RJL": "容积率",
        "JZMD": "建筑密度", "LDL": "绿地率", "JDMJ": "基底面积", "JZGD": "建筑高度",
        "DSCS": "地上层数", "DXCS": "地下层数", "JDCW": "机动车位",
    },
    "DX": {"用地红线": "用地红线", "道路红线": "道路红线"},
}

MAX_NAME_CHARS = 256  # a header or sheet name longer than this is not matched (RPT-002 / RPT-001)
_BRACKETS_OPEN = "(（"
_BRACKETS_CLOSE = ")）"
_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def split_name_code(text: str, *, digits: bool = True) -> tuple[str, str] | None:
    """``名称(CODE)`` → (名称, CODE) with white space around each part dropped; full-width
    brackets too. None when ``text`` is not of that form (the name holds no bracket; the
    code is ASCII letters, ``_`` and, with ``digits``, digits). Linear in ``len(text)``:
    string scans only, no backtracking pattern (a header ``a`` + 60 000 spaces + ``b`` took
    34 s with the regular expression this replaces)."""
    text = text.strip()
    if not text or text[-1] not in _BRACKETS_CLOSE:
        return None
    opening = max(text.rfind(b) for b in _BRACKETS_OPEN)
    if opening < 0:
        return None
    name, code = text[:opening], text[opening + 1 : -1].strip()
    if not code or any(b in name for b in _BRACKETS_OPEN + _BRACKETS_CLOSE):
        return None
    allowed = _CODE_CHARS if digits else _CODE_CHARS - frozenset("0123456789")
    if not set(code) <= allowed:
        return None
    return name.strip(), code


def header_to_code(sheet: Sheet, header: object) -> str | None:
    """Map a header cell (code, Chinese name, or ``名称(CODE)``) to the field code.

    Matching ignores surrounding white space, letter case of the code and full-width
    brackets. Returns None for extra columns, which are kept and ignored, and for a header
    longer than :data:`MAX_NAME_CHARS` (no field is named so; its column is then missing).
    """
    if header is None:
        return None
    text = str(header)
    if len(text) > MAX_NAME_CHARS:
        return None
    text = text.strip().replace("\u3000", "")
    if not text:
        return None
    by_code = {f.code: f.code for f in sheet.fields}
    by_name = {f.name: f.code for f in sheet.fields}
    both = split_name_code(text)
    if both:
        code = both[1].upper()
        if code in by_code:
            return code
        text = both[0]
    if text.upper() in by_code:
        return text.upper()
    return by_name.get(text)
